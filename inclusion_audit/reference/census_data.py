"""The shipped Census data (``reference_data/``): its tables, the area index, the profile types.

Locating, checking and loading the tables, indexing the areas, and the types the
reference layer returns (``Area``, ``CensusProfile``) with its errors.

Tables are loaded lazily, checked against the sha256 in ``manifest.json`` on first
use (a corrupted checkout fails loudly rather than auditing against wrong numbers)
and cached per directory. ``$INCLUSION_AUDIT_REFERENCE_DATA`` points elsewhere.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from inclusion_audit.errors import (
    AreaNotFoundError,
    InputError,
    ReferenceDataError,
)
from inclusion_audit.paths import reference_data_candidates

if TYPE_CHECKING:
    from inclusion_audit.reference.base_gap import BaseGap

__all__ = [
    "ENV_VAR",
    "Area",
    "CensusProfile",
    "CharacteristicNotAvailableError",
    "area_name_key",
    "reference_data_dir",
    "reference_manifest",
]


ENV_VAR = "INCLUSION_AUDIT_REFERENCE_DATA"


AREAS_HINT = "List the areas with `inclusion-audit reference areas`."


# Ages the census publishes as one open-ended group ("Aged 100 years and over").
OPEN_AGE = 10_000


class CharacteristicNotAvailableError(InputError):
    """The reference data has no Census figures for this characteristic and area.

    ``reason`` is a sentence the caller can print next to "not audited".
    """

    def __init__(self, characteristic: str, areas: Sequence[Area], reason: str) -> None:
        self.characteristic = characteristic
        self.areas = tuple(areas)
        self.reason = reason
        names = ", ".join(f"{a.name} ({a.code})" for a in areas) or "no area"
        super().__init__(f"Census 2021 '{characteristic}' is not available for {names}: {reason}")


@dataclass(frozen=True)
class Area:
    """A Census area the reference data knows: a local authority, region, ward..."""

    code: str
    name: str
    type: str
    population: int | None
    approximate: bool = False


@dataclass(frozen=True)
class CensusProfile:
    """The Census distribution of one characteristic for one or more areas (summed)."""

    name: str
    base: str
    universe: str
    table: str
    categories: dict[str, float]
    not_answered: float | None
    caveats: tuple[str, ...]
    unit: str
    base_gap: BaseGap | None = None
    """``base_gap.BaseGap`` where the base stands in for the eligible ages, else None."""


def remembered_profile(key: tuple[Any, ...], compute: Callable[[], CensusProfile]) -> CensusProfile:
    """``compute()`` remembered by the reference data (``DataStore.remember``), as a copy
    whose categories the caller may change."""
    found = data_store().remember(key, compute)
    return replace(found, categories=dict(found.categories))


def reference_data_dir() -> Path:
    """The ``reference_data`` directory: ``$INCLUSION_AUDIT_REFERENCE_DATA``, else shipped.

    Looks in the installed wheel (``inclusion_audit/_data/reference_data``) and
    then in the repository checkout next to the package (editable install).

    Raises:
        ReferenceDataError: when no directory with a ``manifest.json`` is found.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override).expanduser()
        if not (path / "manifest.json").is_file():
            raise ReferenceDataError(
                f"{ENV_VAR} is set to {path}, which has no manifest.json. Point it at a "
                "directory built by scripts/build_reference_data.py, or unset it to use "
                "the shipped reference data."
            )
        return path
    candidates = reference_data_candidates()
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return candidate
    looked = " and ".join(str(c) for c in candidates)
    raise ReferenceDataError(
        f"The Census reference data is missing: no manifest.json in {looked}. Restore "
        "reference_data/ from git or rebuild it with `make reference-data`."
    )


def reference_manifest() -> dict[str, Any]:
    """The parsed ``manifest.json`` (a copy: callers may not change the cached one)."""
    return copy.deepcopy(data_store().manifest)


def licence_attribution() -> tuple[str, ...]:
    """The manifest's licence attribution lines (ONS first, then NISRA), uncopied."""
    return tuple(data_store().manifest["licence"]["attribution"])


T = TypeVar("T")

REMEMBERED = 256
"""How many profiles a reference data store remembers (see ``DataStore.remember``)."""


def data_store() -> DataStore:
    """The reference data in use: ``$INCLUSION_AUDIT_REFERENCE_DATA``'s, else the shipped.

    Found once per value of the variable (an audit asks for it hundreds of times,
    and each search looks at the file system).
    """
    return _data_store_for_setting(os.environ.get(ENV_VAR) or None)


@lru_cache(maxsize=8)
def _data_store_for_setting(setting: str | None) -> DataStore:
    return data_store_for(reference_data_dir().resolve())


@lru_cache(maxsize=4)
def data_store_for(directory: Path) -> DataStore:
    return DataStore(directory)


class DataStore:
    """One reference_data directory: manifest, lazily loaded tables and the area index."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        path = directory / "manifest.json"
        try:
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReferenceDataError(
                f"{path} cannot be read ({exc}). Restore it from git or rebuild it with "
                "`make reference-data`."
            ) from exc
        self.catalogue: dict[str, Any] = self.manifest["characteristics"]
        self._tables: dict[str, pl.DataFrame] = {}
        self._age_bands: dict[str, tuple[tuple[int, int], ...]] | None = None
        self._areas: AreaIndex | None = None
        self._remembered: dict[tuple[Any, ...], Any] = {}

    def remember(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, worked out once per ``key`` for this reference data.

        Profiles of the same areas and ages are asked for by every audit of them;
        they depend only on the key and these files, so a service answers the
        second audit of an area without re-reading its tables. A refusal
        (``CharacteristicNotAvailableError``) is remembered too. At most
        ``REMEMBERED`` keys are kept; past that the memory starts again.
        Callers get the value itself: they must copy what they change.
        """
        if key not in self._remembered:
            if len(self._remembered) >= REMEMBERED:
                self._remembered.clear()
            try:
                self._remembered[key] = (True, compute())
            except CharacteristicNotAvailableError as error:
                self._remembered[key] = (False, error)
        ok, value = self._remembered[key]
        if not ok:
            raise value.with_traceback(None)
        found: T = value
        return found

    def table(self, name: str) -> pl.DataFrame:
        """Load a table once, after checking its sha256 against the manifest."""
        if name not in self._tables:
            entry = self.manifest["tables"].get(name) or self.manifest.get("place_tables", {}).get(
                name
            )
            if entry is None:
                raise ReferenceDataError(
                    f"{self.directory / 'manifest.json'} lists no table '{name}'. Rebuild "
                    "reference_data/ with `make reference-data`."
                )
            path = self.directory / entry["file"]
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ReferenceDataError(
                    f"{path} cannot be read ({exc}). Restore it from git or rebuild it with "
                    "`make reference-data`."
                ) from exc
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry["sha256"]:
                raise ReferenceDataError(
                    f"{path} fails its checksum (sha256 {digest}, manifest says "
                    f"{entry['sha256']}). Restore it from git or rebuild reference_data/ "
                    "with `make reference-data`."
                )
            self._tables[name] = pl.read_parquet(io.BytesIO(data))
        return self._tables[name]

    def age_bands(self, source: str) -> tuple[tuple[int, int], ...]:
        """The age bands of a source in ``age_sex``, youngest first (``OPEN_AGE`` for no limit)."""
        if self._age_bands is None:
            # One query for every source: each age or sex profile asks for several.
            bands = (
                self.table("age_sex")
                .lazy()
                .select("source", "age_low", pl.col("age_high").fill_null(OPEN_AGE))
                .unique()
                .sort("source", "age_low", "age_high")
                .collect()
            )
            found: dict[str, list[tuple[int, int]]] = {}
            for key, low, high in bands.iter_rows():
                found.setdefault(key, []).append((int(low), int(high)))
            self._age_bands = {key: tuple(spans) for key, spans in found.items()}
        return self._age_bands.get(source, ())

    @property
    def areas(self) -> AreaIndex:
        if self._areas is None:
            frame = self.table("areas")
            missing = [c for c in ("name_keys", "coverage") if c not in frame.columns]
            if missing:
                raise ReferenceDataError(
                    f"{self.directory / 'areas.parquet'} has no {' or '.join(missing)} column: "
                    "it was built by an older scripts/build_reference_data.py. Rebuild "
                    "reference_data/ with `make reference-data`."
                )
            self._areas = AreaIndex(frame)
        return self._areas


@dataclass(frozen=True)
class AreaRecord:
    area: Area
    parent_code: str | None
    components: tuple[str, ...]
    aliases: tuple[str, ...]
    coverage: frozenset[str]
    """``table:key`` for every table with rows for the area (see ``AreaIndex.has_rows``)."""


def area_name_key(text: str) -> str:
    """Fold case, accents, dashes, apostrophes, '&' and spacing so names match loosely.

    ``scripts/build_reference_data.py`` stores every area name folded this way
    (``name_keys`` in ``areas.parquet``), so a name is looked up without folding
    all 15,000 names.

    >>> area_name_key("Brighton &  Hove"), area_name_key("Canolbarth Môn")
    ('brighton and hove', 'canolbarth mon')
    """
    if not text.isascii():  # most names are: skip the costly accent folding for them
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = text.casefold()
    text = text.replace("&", " and ").replace("’", "'").replace("‘", "'")
    text = _DASHES.sub("-", text)
    return " ".join(text.split())


_DASHES = re.compile(r"[‐-―]")


class AreaIndex:
    """Codes, names and aliases of every area, for resolution and listing.

    Built lazily: resolving one area by code or exact name touches a few rows, so
    records, the full name index and the membership tree are made only when used.
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame
        self._row_of = {code.upper(): i for i, code in enumerate(frame["code"].to_list())}
        self._built: dict[int, AreaRecord] = {}
        self._named: dict[str, list[AreaRecord]] = {}
        self.by_code = RecordsByCode(self)

    def at(self, row: int) -> AreaRecord:
        """The record of one row of the areas table."""
        record = self._built.get(row)
        if record is None:
            data = self._frame.row(row, named=True)
            record = AreaRecord(
                area=Area(
                    code=data["code"],
                    name=data["display_name"],
                    type=data["type"],
                    population=data["population"],
                    approximate=bool(data["approximate"]),
                ),
                parent_code=data["parent_code"],
                components=tuple(data["components"] or ()),
                aliases=tuple(data["aliases"] or ()),
                coverage=frozenset(data["coverage"]),
            )
            self._built[row] = record
        return record

    def row_of(self, code: str) -> int | None:
        return self._row_of.get(code.upper())

    def has_rows(self, code: str, table: str, key: str) -> bool:
        """Whether a table has rows for an area and a characteristic (in ``age_sex``, a source).

        Read from the ``coverage`` the build recorded: no table is read to find out.
        """
        record = self.by_code.get(code)
        return record is not None and f"{table}:{key}" in record.coverage

    @cached_property
    def records(self) -> list[AreaRecord]:
        return [self.at(row) for row in range(self._frame.height)]

    def named(self, key: str) -> list[AreaRecord]:
        """Areas with a name, display name or alias that folds to ``key``, in table order.

        Remembered per key (at most ``REMEMBERED``): a service resolves the same
        area names for every audit.
        """
        found = self._named.get(key)
        if found is None:
            if len(self._named) >= REMEMBERED:
                self._named.clear()
            found = self._named[key] = self._find_named(key)
        return list(found)

    def _find_named(self, key: str) -> list[AreaRecord]:
        rows = (
            self._frame.lazy()
            .select(pl.int_range(pl.len(), dtype=pl.Int64).alias("row"), "name_keys")
            .filter(pl.col("name_keys").list.contains(key))
            .collect()["row"]
            .to_list()
        )
        return [self.at(row) for row in rows]

    @cached_property
    def by_name(self) -> dict[str, list[AreaRecord]]:
        """Every folded name and its areas (for suggestions when nothing matches)."""
        found: dict[str, list[AreaRecord]] = {}
        for row, keys in enumerate(self._frame["name_keys"].to_list()):
            for key in keys:
                found.setdefault(key, []).append(self.at(row))
        return found

    @cached_property
    def children(self) -> dict[str, list[str]]:
        """Region and country membership, for the double-counting check."""
        kids = (
            self._frame.filter(
                pl.col("parent_code").is_not_null(),
                pl.col("type").is_in(["ltla", "region", "lgd", "country"]),
            )
            .group_by("parent_code", maintain_order=True)
            .agg("code")
        )
        return {parent: list(codes) for parent, codes in kids.iter_rows()}

    def record(self, area: Area) -> AreaRecord:
        record = self.by_code.get(area.code)
        if record is None:
            raise AreaNotFoundError(
                f"Area code '{area.code}' is not in the Census reference data. {AREAS_HINT}"
            )
        return record

    def data_codes(self, area: Area) -> tuple[str, ...]:
        """Codes whose table rows make up the area (a 2023 authority's 2021 parts)."""
        record = self.record(area)
        return record.components or (record.area.code,)

    def ward_authority(self, ward: Area) -> set[str]:
        """The LTLAs of a ward's (2024) local authority."""
        parent = self.record(ward).parent_code
        return self.leaves(parent) if parent else set()

    def leaves(self, code: str) -> set[str]:
        """The LTLAs or LGDs (or the ward itself) inside an area, for overlap checks."""
        record = self.by_code[code.upper()]
        if record.components:
            return set(record.components)
        # By type first: most audits are of one authority, which then never needs
        # the membership tree (a group-by over every area).
        if record.area.type in ("ltla", "lgd"):
            return {code}
        kids = self.children.get(code)
        if not kids:
            return {code}
        found: set[str] = set()
        for kid in kids:
            found |= self.leaves(kid)
        return found


class RecordsByCode:
    """``index.by_code[code]`` and ``.get(code)``, any case, building records on demand."""

    def __init__(self, index: AreaIndex) -> None:
        self._index = index

    def get(self, code: str) -> AreaRecord | None:
        row = self._index.row_of(code)
        return None if row is None else self._index.at(row)

    def __getitem__(self, code: str) -> AreaRecord:
        record = self.get(code)
        if record is None:
            raise KeyError(code)
        return record


def short_table(ons_table: str) -> str:
    """'TS021' stays; long custom-dataset descriptions shorten for the base sentence."""
    return "ONS custom dataset" if ons_table.startswith("ONS custom dataset") else ons_table


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
