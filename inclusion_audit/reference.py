"""Reference populations: what the register is compared with.

A reference gives, for each characteristic, the population count (or share)
of every category. It comes from a user's CSV file (``--reference``), which is
how a custom question or a sortition target is audited, or from the shipped
Census 2021 tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from .errors import FileReadError, ReferenceFileError
from .harmonise import check_categories, column_key
from .readers import collect, read_table

REQUIRED_COLUMNS = ("characteristic", "category", "count")


@dataclass(frozen=True)
class ReferenceCharacteristic:
    """The population distribution of one characteristic.

    ``categories`` keeps the reference's own order (ONS order for census
    tables) and may hold fractional counts such as percentages.
    """

    name: str
    categories: dict[str, float]
    base: str
    universe: str
    source: str
    table: str | None = None
    unit: str = "persons"
    not_answered: float | None = None
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotAvailable:
    """A characteristic the reference cannot provide, with the reason."""

    name: str
    reason: str


class ReferenceSource(Protocol):
    """Anything that can give population distributions for an audit."""

    @property
    def description(self) -> str:
        """What the reference is, for reports: "Lambeth, residents aged 16+"."""
        ...

    def characteristic_names(self) -> list[str]:
        """Characteristics this reference may provide."""
        ...

    def profile(self, name: str, answers: Sequence[str]) -> ReferenceCharacteristic | NotAvailable:
        """The distribution of one characteristic.

        ``answers`` are the register's distinct answers for it, so a census
        reference can follow the register's own age bands.
        """
        ...


@dataclass(frozen=True)
class CustomReference:
    """A reference population read from a ``characteristic,category,count`` file."""

    description: str
    characteristics: dict[str, ReferenceCharacteristic] = field(default_factory=dict)

    def characteristic_names(self) -> list[str]:
        """Characteristics in the file, in file order."""
        return list(self.characteristics)

    def profile(self, name: str, answers: Sequence[str]) -> ReferenceCharacteristic | NotAvailable:
        """The file's distribution for ``name``; answers do not change it."""
        found = self.characteristics.get(name)
        if found is None:
            return NotAvailable(name, "the reference file has no rows for it")
        return found


def read_reference_csv(path: str | Path) -> CustomReference:
    """Read and check a reference population file.

    The file has the columns ``characteristic,category,count`` (any order,
    any case; other columns are ignored). Counts may be fractional, such as
    percentages, but not negative. Each characteristic needs at least two
    categories and a total above zero. A category with count 0 is kept: the
    audit reports it without testing it.
    """
    path = Path(path)
    try:
        table = read_table(path, what="reference")
    except FileReadError as error:
        raise ReferenceFileError(str(error)) from error
    by_key = {column_key(c): c for c in table.columns}
    missing = [c for c in REQUIRED_COLUMNS if c not in by_key]
    if missing:
        found = ", ".join(repr(c) for c in table.columns)
        raise ReferenceFileError(
            f"reference file {path} lacks the column(s) {', '.join(missing)} (found {found}). "
            "It needs the columns characteristic,category,count."
        )
    try:
        frame = collect(
            table, table.frame.select(pl.col(by_key[c]).alias(c) for c in REQUIRED_COLUMNS)
        )
    except FileReadError as error:
        raise ReferenceFileError(str(error)) from error
    if frame.height == 0:
        raise ReferenceFileError(f"reference file {path} has a header but no rows.")

    characteristics: dict[str, dict[str, float]] = {}
    header_line = 1
    for offset, (name, category, raw_count) in enumerate(frame.iter_rows()):
        line = header_line + offset + 1
        name, category = (name or "").strip(), (category or "").strip()
        if not name or not category:
            which = "characteristic" if not name else "category"
            raise ReferenceFileError(
                f"reference file {path}, line {line}: the {which} is blank. "
                "Fill it in or delete the row."
            )
        count = _parse_count(raw_count, path, line)
        categories = characteristics.setdefault(name, {})
        if category in categories:
            raise ReferenceFileError(
                f"reference file {path}, line {line}: {name!r} lists the category "
                f"{category!r} twice. Keep one row per category."
            )
        categories[category] = count

    result: dict[str, ReferenceCharacteristic] = {}
    for name, categories in characteristics.items():
        _check_distribution(name, categories, path)
        result[name] = ReferenceCharacteristic(
            name=name,
            categories=categories,
            base=f"the population given in the reference file {path.name}",
            universe="custom reference population",
            source=path.name,
        )
    return CustomReference(description=f"reference file {path.name}", characteristics=result)


def _parse_count(raw: str | None, path: Path, line: int) -> float:
    text = (raw or "").strip().replace(",", "").removesuffix("%").strip()
    try:
        value = float(text)
    except ValueError:
        raise ReferenceFileError(
            f"reference file {path}, line {line}: the count {raw!r} is not a number. "
            "Use a count such as 1234 or a percentage such as 12.5."
        ) from None
    if not math.isfinite(value):
        raise ReferenceFileError(
            f"reference file {path}, line {line}: the count {raw!r} is not a finite number."
        )
    if value < 0:
        raise ReferenceFileError(
            f"reference file {path}, line {line}: the count {raw!r} is negative. "
            "Population counts must be 0 or more."
        )
    return value


def _check_distribution(name: str, categories: dict[str, float], path: Path) -> None:
    if len(categories) < 2:
        only = next(iter(categories))
        raise ReferenceFileError(
            f"reference file {path}: {name!r} has a single category ({only!r}). "
            "A comparison needs every category of the question, at least two."
        )
    if sum(categories.values()) <= 0:
        raise ReferenceFileError(
            f"reference file {path}: the counts for {name!r} add up to 0. "
            "Give the population count or share of each category."
        )
    problems = check_categories(list(categories))
    if problems:
        raise ReferenceFileError(f"reference file {path}: {name!r}: {problems[0]}.")
