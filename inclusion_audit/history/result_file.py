""""""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from inclusion_audit.errors import InputError
from inclusion_audit.result import SCHEMA_VERSION, Status

READABLE_SCHEMA_VERSIONS = ("1.0", SCHEMA_VERSION)
"""Results the store accepts: 1.0 has every count a review needs, and reviews judge
stored events from their counts under the current method anyway."""
_REQUIRED_KEYS = ("schema_version", "tool", "reference", "settings", "n_participants")


_REQUIRED_CHARACTERISTIC_KEYS = ("name", "n_known", "n_unknown", "groups")


FIRST_YEAR, LAST_YEAR = 1900, 2999


_STATUSES = tuple(status.value for status in Status)


_LARGEST_COUNT = 2**63 - 1


_REQUIRED_GROUP_KEYS = ("category", "count", "population_share", "expected_count", "status")


class ResultFileError(InputError):
    """A saved audit result (JSON) is malformed or of an unknown schema version."""


def read_result_file(path: Path) -> dict[str, Any]:
    """Read and validate a saved audit result (``audit --format json``).

    Raises ``ResultFileError`` naming the file and the first missing or wrong key.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ResultFileError(f"{path} does not exist.") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultFileError(
            f"{path} is not an audit result in JSON ({error}). Give the file written by "
            "`inclusion-audit audit ... --format json`."
        ) from error
    validate_result(data, str(path))
    assert isinstance(data, dict)
    return data


def validate_result(data: object, source: str) -> None:
    """Check an audit result's JSON form has what the store needs, of the right types.

    Refuses, with one message naming ``source`` and the key, anything that
    would poison a store or a later review: missing keys, wrong types,
    non-finite numbers, shares outside 0 to 1, counts that are negative, not
    whole or too big for the store, group counts that do not add up to the
    characteristic's ``n_known``, unknown statuses, and repeated characteristic
    or category names.
    """
    if not isinstance(data, dict):
        raise ResultFileError(f"{source} is not an audit result: expected a JSON object.")
    for key in _REQUIRED_KEYS:
        if key not in data:
            raise ResultFileError(f"{source} has no key {key!r}: it is not an audit result.")
    if data["schema_version"] not in READABLE_SCHEMA_VERSIONS:
        raise ResultFileError(
            f"{source} has schema_version {data['schema_version']!r}; this inclusion-audit "
            f"reads {' and '.join(repr(v) for v in READABLE_SCHEMA_VERSIONS)}. Audit the "
            "register again with this version."
        )
    tool = data["tool"]
    if not isinstance(tool, dict) or not isinstance(tool.get("version"), str):
        raise ResultFileError(f"{source}: key 'tool' needs a 'version' string.")
    _check_type(data, "reference", str, source)
    _check_type(data, "settings", dict, source)
    for key, value in data["settings"].items():
        if _is_number(value) and not math.isfinite(value):
            raise ResultFileError(f"{source}: key 'settings.{key}' is not a finite number.")
    _check_count(data, "n_participants", source)
    for key, fields in (("event", ("title", "date")), ("register", ("file",))):
        if data.get(key) is None:
            continue
        if not isinstance(data[key], dict):
            raise ResultFileError(f"{source}: key {key!r} is not an object.")
        for name in fields:
            value = data[key].get(name)
            if value is not None and not isinstance(value, str):
                raise ResultFileError(f"{source}: key '{key}.{name}' is not a string.")
    characteristics = data.get("characteristics")
    if not isinstance(characteristics, list):
        raise ResultFileError(f"{source} has no list 'characteristics': it is not an audit result.")
    for where, characteristic in _named_objects(
        characteristics,
        f"{source}: characteristics",
        _REQUIRED_CHARACTERISTIC_KEYS,
        "name",
        "characteristic's name",
    ):
        for key in ("n_known", "n_unknown"):
            _check_count(characteristic, key, where)
        for key in ("n_blank", "n_declined"):
            if characteristic.get(key) is not None:
                _check_count(characteristic, key, where)
        groups = characteristic["groups"]
        if not isinstance(groups, list):
            raise ResultFileError(f"{where}: key 'groups' is not a list.")
        for place, group in _named_objects(
            groups,
            f"{where}.groups",
            _REQUIRED_GROUP_KEYS,
            "category",
            "category of the same characteristic",
        ):
            _check_group(group, place, characteristic["n_known"])
        total = sum(group["count"] for group in groups)
        if total != characteristic["n_known"]:
            raise ResultFileError(
                f"{where}: key 'n_known' is {characteristic['n_known']}, but its groups' counts "
                f"add up to {total}."
            )


def _named_objects(
    items: list[Any], where: str, required: Sequence[str], name_key: str, repeated: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each item with where it is, once checked to be an object with the required keys
    and a string ``name_key`` no earlier item has."""
    names: set[str] = set()
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise ResultFileError(f"{place} is not an object.")
        for key in required:
            if key not in item:
                raise ResultFileError(f"{place} has no key {key!r}.")
        _check_type(item, name_key, str, place)
        if item[name_key] in names:
            raise ResultFileError(
                f"{place}: key {name_key!r} {item[name_key]!r} repeats an earlier {repeated}."
            )
        names.add(item[name_key])
        yield place, item


def _check_group(group: Mapping[str, Any], place: str, n_known: int) -> None:
    _check_type(group, "status", str, place)
    if group["status"] not in _STATUSES:
        raise ResultFileError(
            f"{place}: key 'status' {group['status']!r} is not one of {', '.join(_STATUSES)}."
        )
    _check_count(group, "count", place)
    if group["count"] > n_known:
        raise ResultFileError(
            f"{place}: key 'count' {group['count']} is more than the characteristic's "
            f"n_known ({n_known})."
        )
    for key in ("population_share", "expected_count"):
        if not _is_finite(group[key]) or group[key] < 0:
            raise ResultFileError(f"{place}: key {key!r} is not a finite number, 0 or more.")
    if group["population_share"] > 1:
        raise ResultFileError(f"{place}: key 'population_share' is not from 0 to 1.")
    if group.get("ratio") is not None and not _is_finite(group["ratio"]):
        raise ResultFileError(f"{place}: key 'ratio' is not a finite number.")


def _check_type(data: Mapping[str, Any], key: str, kind: type, where: str) -> None:
    if not isinstance(data.get(key), kind):
        raise ResultFileError(f"{where}: key {key!r} is not a {kind.__name__}.")


def _check_count(data: Mapping[str, Any], key: str, where: str) -> None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _LARGEST_COUNT:
        raise ResultFileError(
            f"{where}: key {key!r} is not a count (a whole number from 0 to {_LARGEST_COUNT})."
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    return _is_number(value) and math.isfinite(value)  # type: ignore[arg-type]
