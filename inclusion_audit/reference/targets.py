"""Quota and target files: a Sortition-Foundation-style quota file (``category,name,min,max``)
or a target population, read into quotas and the population they imply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from inclusion_audit.errors import FileReadError, ReferenceFileError
from inclusion_audit.ingest.readers import collect, read_table
from inclusion_audit.reference.profiles import (
    CustomReference,
    ReferenceCharacteristic,
    read_reference_csv,
)
from inclusion_audit.vocab.folding import column_key, normalise

QUOTA_COLUMNS = ("category", "name", "min", "max")


@dataclass(frozen=True)
class Quota:
    """One quota: between ``minimum`` and ``maximum`` panel members in a category."""

    characteristic: str
    category: str
    minimum: int
    maximum: int


def is_quota_file(path: str | Path) -> bool:
    """Whether a targets file is in the quota layout rather than a population."""
    try:
        columns = {column_key(c) for c in read_table(path, what="targets").columns}
    except FileReadError as error:
        raise ReferenceFileError(str(error)) from error
    return set(QUOTA_COLUMNS) <= columns


def read_targets(path: str | Path) -> tuple[CustomReference, list[Quota]]:
    """Read a targets file: a population (characteristic,category,count) or quotas.

    A quota file also yields a population, the quotas' midpoints, so a panel can
    be audited against its own targets when no other reference is given.
    """
    if not is_quota_file(path):
        return read_reference_csv(path), []
    quotas = read_quotas(path)
    by_characteristic: dict[str, dict[str, float]] = {}
    for quota in quotas:
        midpoint = (quota.minimum + quota.maximum) / 2
        by_characteristic.setdefault(quota.characteristic, {})[quota.category] = midpoint
    name = Path(path).name
    reference = CustomReference(
        description=f"the quota targets in {name}",
        characteristics={
            characteristic: ReferenceCharacteristic(
                name=characteristic,
                categories=categories,
                base=f"the midpoints of the quotas in {name}",
                universe="quota targets",
                source=name,
            )
            for characteristic, categories in by_characteristic.items()
            if len(categories) >= 2 and sum(categories.values()) > 0
        },
    )
    return reference, quotas


def read_quotas(path: str | Path) -> list[Quota]:
    """Read and check a ``category,name,min,max`` quota file."""
    path = Path(path)
    try:
        table = read_table(path, what="targets")
        by_key = {column_key(c): c for c in table.columns}
        frame = collect(
            table, table.frame.select(pl.col(by_key[c]).alias(c) for c in QUOTA_COLUMNS)
        )
    except FileReadError as error:
        raise ReferenceFileError(str(error)) from error
    quotas: list[Quota] = []
    seen: set[tuple[str, str]] = set()  # folded, as the register's answers will be
    for offset, (characteristic, category, low, high) in enumerate(frame.iter_rows()):
        line = offset + 2
        characteristic, category = (characteristic or "").strip(), (category or "").strip()
        if not characteristic or not category:
            raise ReferenceFileError(
                f"targets file {path}, line {line}: the category or name is blank. "
                "Fill it in or delete the row."
            )
        minimum, maximum = _whole(low, path, line, "min"), _whole(high, path, line, "max")
        if minimum > maximum:
            raise ReferenceFileError(
                f"targets file {path}, line {line}: min {minimum} is above max {maximum}. "
                "Swap them."
            )
        key = (column_key(characteristic), normalise(category))
        if key in seen:
            raise ReferenceFileError(
                f"targets file {path}, line {line}: the quota {characteristic}/{category} "
                "appears twice. Keep one row."
            )
        seen.add(key)
        quotas.append(Quota(characteristic, category, minimum, maximum))
    if not quotas:
        raise ReferenceFileError(f"targets file {path} has a header but no quotas.")
    return quotas


def _whole(raw: str | None, path: Path, line: int, column: str) -> int:
    text = (raw or "").strip()
    if not text:
        raise ReferenceFileError(
            f"targets file {path}, line {line}: {column} is blank. Give a whole number of people."
        )
    try:
        value = float(text)
    except ValueError:
        raise ReferenceFileError(
            f"targets file {path}, line {line}: {column} {raw!r} is not a number."
        ) from None
    if value < 0 or not value.is_integer():
        raise ReferenceFileError(
            f"targets file {path}, line {line}: {column} {raw!r} must be a whole number of "
            "people, 0 or more."
        )
    return int(value)
