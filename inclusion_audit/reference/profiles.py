"""Reference populations: what the register is compared with.

A reference gives, for each characteristic, the population count (or share)
of every category. It comes from a user's CSV file (``--reference``), which is
how a custom question or a sortition target is audited, or from the shipped
Census 2021 tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import polars as pl

from inclusion_audit.errors import FileReadError, ReferenceFileError, RegisterError
from inclusion_audit.ingest.harmonise import check_categories
from inclusion_audit.ingest.readers import collect, read_table
from inclusion_audit.reference import census
from inclusion_audit.vocab.ages import (
    MAX_AGE,
    band_label,
    overlaps,
    parse_age_band,
    parse_age_years,
    span_text,
    within,
)
from inclusion_audit.vocab.classifications import BROADER_CHARACTERISTIC, place_answer
from inclusion_audit.vocab.folding import column_key, is_declined

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
    attribution: str | None = None
    base_gap: census.BaseGap | None = None
    """Where the base stands in for the eligible ages: the residents that differ."""


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

    @property
    def report_missing_columns(self) -> bool:
        """Whether a characteristic without a register column is worth a "not audited" line.

        True for a user's file, where every row is something they meant to audit;
        False for the Census, which offers far more than any one form asks.
        """
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
    report_missing_columns: bool = True
    joint: dict[str, ReferenceCharacteristic] = field(default_factory=dict)
    """Joint distributions of two characteristics (``age×sex``), for ``--intersect``."""

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
    joint: dict[str, ReferenceCharacteristic] = {}
    for name, categories in characteristics.items():
        _check_distribution(name, categories, path)
        distribution = ReferenceCharacteristic(
            name=name,
            categories=categories,
            base=f"the population given in the reference file {path.name}",
            universe="custom reference population",
            source=path.name,
        )
        # "age×sex" (or "age x sex") rows are a joint distribution, for --intersect.
        (joint if _JOINT_NAME.search(name) else result)[name] = distribution
    return CustomReference(
        description=f"reference file {path.name}", characteristics=result, joint=joint
    )


_JOINT_NAME = re.compile(r"\S\s*×\s*\S|\S\s+x\s+\S", re.IGNORECASE)


_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?%?$")
_DECIMAL_COMMA = re.compile(r"^\d+,\d+%?$")


def _parse_count(raw: str | None, path: Path, line: int) -> float:
    text = (raw or "").strip()
    if _DECIMAL_COMMA.match(text) and not _THOUSANDS.match(text):
        raise ReferenceFileError(
            f"reference file {path}, line {line}: the count {raw!r} uses a decimal comma. "
            "Write decimals with a point (51.5) and thousands without separators or with "
            "commas (1,234)."
        )
    text = text.replace(",", "").removesuffix("%").strip()
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
    if value > _LARGEST_COUNT:
        raise ReferenceFileError(
            f"reference file {path}, line {line}: the count {raw!r} is larger than any "
            f"population (at most {_LARGEST_COUNT:,.0f}). Check the column holds counts or "
            "percentages."
        )
    return value


_LARGEST_COUNT = 1e12
"""A thousand times the world's population: sums of counts stay exact and finite."""


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


@dataclass(frozen=True)
class CensusReference:
    """Census 2021 figures for one or more areas, optionally for eligible ages only."""

    areas: tuple[census.Area, ...]
    eligible_age: census.AgeRange | None = None
    report_missing_columns: bool = False
    age_bands: tuple[tuple[str, int, int | None], ...] = ()
    """Bands to place ages in (``--age-bands``) instead of the register's own."""

    @property
    def description(self) -> str:
        """E.g. "Census 2021 for Lambeth (E09000022), residents aged 16+"."""
        names = " + ".join(f"{a.name} ({a.code})" for a in self.areas)
        ages = ""
        if self.eligible_age is not None and not self.eligible_age.is_all_ages:
            ages = f", residents aged {self.eligible_age.label}"
        return f"Census 2021 for {names}{ages}"

    def characteristic_names(self) -> list[str]:
        """Every characteristic the reference data knows, so a register column for one
        the area lacks is reported as not audited, with the reason."""
        return census.known_characteristics()

    def profile(self, name: str, answers: Sequence[str]) -> ReferenceCharacteristic | NotAvailable:
        """The Census distribution, in the register's own age bands for age."""
        if name == "age":
            self._check_ages_eligible(answers)
        try:
            if name == "age":
                found = self._age(answers)
            elif name == "ethnic_group" and _fits_only_broad_groups(self.areas, answers):
                found = census.census_profile(self.areas, "ethnic_group_broad", self.eligible_age)
                found = _renamed(
                    found,
                    "ethnic_group",
                    "Compared at the 5 high-level ethnic "
                    "groups, because the register's answers use those groups.",
                )
            else:
                found = self._census_or_broader(name)
        except census.CharacteristicNotAvailableError as error:
            return NotAvailable(name, error.reason)
        return ReferenceCharacteristic(
            name=name,
            categories=found.categories,
            base=found.base,
            universe=found.universe,
            source=self.description,
            table=found.table,
            unit=found.unit,
            not_answered=found.not_answered,
            caveats=found.caveats,
            attribution=self.attribution,
            base_gap=found.base_gap,
        )

    def nation_gaps(self) -> list[tuple[str, str]]:
        """Characteristics the areas' nation has no figures for, each with why.

        Northern Ireland's Census (NISRA) is in the reference data only for age, sex,
        ethnic group, religion and sexual orientation, by council: an audit there says
        what it could not compare, whether or not the register asked it.
        """
        if not any(area.code.startswith("N") for area in self.areas):
            return []
        available = census.available_characteristics(self.areas)
        covered = ", ".join(name.replace("_", " ") for name in available)
        return [
            (
                name,
                "Northern Ireland's Census 2021 figures (NISRA) in the reference data do not "
                f"include it: they cover {covered}, for the 11 councils (no wards).",
            )
            for name in _NORTHERN_IRELAND_GAPS
            if name not in available
        ]

    def _age(self, answers: Sequence[str]) -> census.CensusProfile:
        """Age in the register's bands; ages in whole years in the area's published bands
        where the standard ones do not line up with them (Northern Ireland)."""
        bands = list(self.age_bands) or age_bands_for(answers)
        try:
            return census.age_profile(self.areas, bands, self.eligible_age)
        except census.CharacteristicNotAvailableError:
            if bands:
                raise
            return census.census_profile(self.areas, "age", self.eligible_age)

    def _census_or_broader(self, name: str) -> census.CensusProfile:
        """The Census profile, else (a ward) the broader level the area has, said so.

        Wards have ethnic group only at the 5 high-level groups (the LSOA table): a
        register's detailed answers are then compared at that level, not dropped.
        """
        try:
            return census.census_profile(self.areas, name, self.eligible_age)
        except census.CharacteristicNotAvailableError as error:
            broader = BROADER_CHARACTERISTIC.get(name)
            if broader is None:
                raise
            reason = error.reason
            try:
                found = census.census_profile(self.areas, broader, self.eligible_age)
            except census.CharacteristicNotAvailableError:
                raise error from None
        label = name.replace("_", " ")
        return _renamed(
            found,
            name,
            f"Compared at the broader level ({broader.replace('_', ' ')}): the Census "
            f"detailed {label} categories are not available here ({reason.rstrip('.')}), "
            "so every answer is counted in the broad group it belongs to.",
        )

    def _check_ages_eligible(self, answers: Sequence[str]) -> None:
        """Participants older or younger than the event allowed are an error, not a group.

        They would otherwise land in bands with no population and still count in
        every other characteristic's shares.
        """
        age = self.eligible_age
        if age is None or age.is_all_ages:
            return
        high = age.high if age.high is not None else 10_000
        outside = []
        for answer in answers:
            years = parse_age_years(answer)
            band = parse_age_band(answer) if years is None else (years, years)
            if band is None:
                continue
            low_answer, high_answer = band
            if low_answer > high or (high_answer is not None and high_answer < age.low):
                outside.append(answer.strip())
        if outside:
            shown = ", ".join(repr(a) for a in outside[:10])
            raise RegisterError(
                f"the register has ages outside the eligible ages {age.label}: {shown}. "
                "Check --eligible-age, or remove those participants from the register."
            )

    @property
    def attribution(self) -> str:
        """The licence line the Open Government Licence asks every use to carry."""
        lines = census.licence_attribution()
        ons, nisra = lines[0], lines[1]
        northern_ireland = [a.code.startswith("N") for a in self.areas]
        if all(northern_ireland):
            return str(nisra)
        return f"{ons} {nisra}" if any(northern_ireland) else str(ons)


# What an audit in Northern Ireland reports it could not compare (see nation_gaps).
_NORTHERN_IRELAND_GAPS = ("disability", "unpaid_care", "gender_identity", "tenure")


def age_bands_for(answers: Sequence[str]) -> list[tuple[str, int, int | None]]:
    """The age bands a register's answers use, so the Census is cut the same way.

    Each range ("18-24", "18 to 24", "75+", "Under 18") is a band, once, under its
    one canonical name (``band_label``: "18-24", never the register's "18 - 24
    yrs"); a range inside another ("18-24" inside "16-24") is not a band of its
    own, its answers go to the wider one. Whole years ("34", "34 years") are
    never bands: they are placed in the bands there are. The Census profile adds
    the eligible ages no band covers as groups of their own, so a register of
    whole years gets the standard bands.

    Raises:
        RegisterError: two ranges overlap without one containing the other, so
            people in the overlap could be in either band.

    >>> age_bands_for(["18-24", "18 to 24", "25-64", "20-24", "65+", "34 years", ""])
    [('18-24', 18, 24), ('25-64', 25, 64), ('65+', 65, None)]
    """
    found: dict[tuple[int, int | None], str] = {}
    for answer in answers:
        if not answer.strip() or is_declined(answer):
            continue
        band = parse_age_band(answer)
        if band is not None:
            found.setdefault(band, answer.strip())
    # Wider bands first among those starting together, so a nested one meets its container.
    ordered = sorted(found, key=lambda s: (s[0], -(MAX_AGE + 1 if s[1] is None else s[1])))
    kept: list[tuple[int, int | None]] = []
    for span in ordered:
        if any(within(span, band) for band in kept):
            continue
        clash = next((band for band in kept if overlaps(span, band)), None)
        if clash is not None:
            first, second = found[clash], found[span]
            raise RegisterError(
                f"the register's age answers {first!r} (ages {span_text(clash)}) and "
                f"{second!r} (ages {span_text(span)}) overlap, so people in both ranges could "
                "have chosen either and the Census cannot be cut to match. Say in a mapping "
                f"file where {second!r} belongs: a band that does not overlap, or "
                f'"unplaceable" ([answers.age] {second!r} = "unplaceable"; '
                "`inclusion-audit mapping suggest` writes one), or correct the register."
            )
        kept.append(span)
    return [(band_label(*span), span[0], span[1]) for span in kept]


def _fits_only_broad_groups(areas: Sequence[census.Area], answers: Sequence[str]) -> bool:
    """True when every placeable answer is one of the 5 high-level ethnic groups."""
    try:
        broad = census.census_categories(areas, "ethnic_group_broad")
        detailed = census.census_categories(areas, "ethnic_group")
    except census.CharacteristicNotAvailableError:
        return False
    # Every placeable answer names only a high-level group: compare at that level.
    detailed_kinds = {place_answer("ethnic_group", a, detailed).kind for a in answers}
    broad_kinds = {place_answer("ethnic_group", a, broad).kind for a in answers}
    return "category" not in detailed_kinds and "category" in broad_kinds


def _renamed(profile: census.CensusProfile, name: str, caveat: str) -> census.CensusProfile:
    return replace(profile, name=name, caveats=(caveat, *profile.caveats))
