"""Where participants live: postcodes to 2021 LSOAs, wards and deprivation deciles.

A register's postcodes are looked up in ``reference_data/postcodes.parquet``
(the National Statistics Postcode Lookup, August 2024), which keeps each
postcode as its outward code and a 16-bit number for its inward code, pointing
at a row of ``small_areas.parquet``: one row per 2021 LSOA of England and Wales
(local authority, best-fit 2024 ward, MSOA, residents, IMD 2019 or WIMD 2019
decile, postcode-gap flag), then pseudo-places for the rest of the UK. The
lookup works on the register's *distinct* postcodes, vectorised: one binary
search per postal district over that district's rows, never a Python loop over
rows or postcodes. No postcode leaves this module: callers get counts by decile
and ward, and counts of postcodes not found by reason.

Postcodes are normalised before the lookup: upper case, every space removed,
outward code = all but the last three characters. In the inward code (digit,
letter, letter) an ``O`` or ``I`` in the digit position is read as ``0`` or
``1``: that position only ever holds a digit, so the reading is unambiguous.
Nothing else is corrected.

Design choices (details in ``docs/reference-data.md``):

* A participant's ward is the best-fit 2024 ward of their postcode's 2021 LSOA,
  the same LSOAs the ward's population adds up, so numerator and denominator
  cover the same ground.
* England's IMD 2019 and Wales's WIMD 2019 rank different areas; an audited area
  spanning both gets no deprivation comparison, rather than a pooled one.
* Census 2021 LSOA populations are for all ages. For an event with eligible
  ages, each LSOA's residents are scaled by the share of its MSOA's residents in
  those ages (MSOA single years of age, TS007), and the base says so.
"""

from __future__ import annotations

import bisect
import string
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TypeVar

import polars as pl

from inclusion_audit.reference.ages import AgeRange
from inclusion_audit.reference.census_data import Area, DataStore, data_store
from inclusion_audit.reference.profiles import NotAvailable, ReferenceCharacteristic

__all__ = [
    "DEPRIVATION",
    "KNOWN_GAP",
    "MALFORMED",
    "NOT_FOUND_REASONS",
    "NOT_IN_LOOKUP",
    "NO_LOCATION",
    "WARD",
    "NotAvailable",
    "PlaceCounts",
    "PlaceReference",
    "count_places",
    "normalise_postcodes",
    "place_reference",
]

DEPRIVATION = "imd_decile"
WARD = "ward"
PLACES = (DEPRIVATION, WARD)
"""The characteristics a postcode column gives."""

POSTCODES_TABLE = "postcodes"
DISTRICTS_TABLE = "postcode_districts"
SMALL_AREAS_TABLE = "small_areas"
MSOA_AGE_TABLE = "msoa_age"

# Why a postcode was not found, in report order.
MALFORMED = "malformed"
KNOWN_GAP = "known_gap"
NOT_IN_LOOKUP = "not_in_lookup"
NO_LOCATION = "no_location"
NOT_FOUND_REASONS = (MALFORMED, KNOWN_GAP, NOT_IN_LOOKUP, NO_LOCATION)
_NO_LOCATION_PLACE = "no location"

DECILES = tuple(str(d) for d in range(1, 11))
# Beyond this many wards a ward table stops being readable (London has 680).
MAX_WARDS = 200

# Districts missing from the lookup (those ending in a letter, central London):
# a postcode in one is reported as in the known gap, not as unknown.
GAP_DISTRICTS = r"^(EC[1-4][A-Z]|WC[12][A-Z]|W1[A-Z]|SW1[A-Z]|E1W|N1C|N1P|NW1W|SE1P)$"
_OUTWARD = r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"
_INWARD = r"^[0-9][A-Z]{2}$"
_LETTERS = list(string.ascii_uppercase)
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
_LETTER_NUMBERS = [f"{i:02d}" for i in range(26)]

INDEX_TITLES = {
    "IMD 2019": "English Indices of Deprivation 2019 (IMD)",
    "WIMD 2019": "Welsh Index of Multiple Deprivation 2019 (WIMD)",
}
_NATION = {"IMD 2019": "England", "WIMD 2019": "Wales"}


def _inward_number(inward: pl.Expr) -> pl.Expr:
    """The inward code ("9AB") as one number: digit × 676 + letter × 26 + letter (A = 0)."""

    def letter(expr: pl.Expr) -> pl.Expr:
        return expr.str.replace_many(_LETTERS, _LETTER_NUMBERS).cast(pl.Int16, strict=False)

    return (
        inward.str.slice(0, 1).cast(pl.Int16, strict=False) * 676
        + letter(inward.str.slice(1, 1)) * 26
        + letter(inward.str.slice(2, 1))
    )


def normalise_postcodes(frame: FrameT, column: str) -> FrameT:
    """Add ``outward``, ``inward`` (its number, null when malformed) and ``ok`` (well formed).

    A lazy frame gets the same columns as a query, to run with others in one go.

    Done in stages, each column computed once: as one nested expression the
    written postcode was re-normalised for every use (70 ms instead of 5 ms for
    10,000 distinct postcodes).

    >>> frame = pl.DataFrame({"p": [" sw9 8qt", "SE27 OTX", "SW9", "SW1A 1AA"]})
    >>> normalise_postcodes(frame, "p").select("outward", "inward", "ok").rows()
    [('SW9', 5843, True), ('SE27', 517, True), ('', None, False), ('SW1A', 676, True)]
    """
    squeezed = pl.col("_squeezed")
    length = pl.col("_length")
    inward = pl.col("_inward")
    first = inward.str.slice(0, 1)
    return (
        frame.with_columns(
            pl.col(column).str.to_uppercase().str.replace_all(r"[\s\u00a0]+", "").alias("_squeezed")
        )
        .with_columns(squeezed.str.len_chars().alias("_length"))
        .with_columns(
            pl.when(length >= 5)
            .then(squeezed.str.slice(0, length - 3))
            .otherwise(pl.lit(""))
            .alias("outward"),
            squeezed.str.slice(-3).alias("_inward"),
        )
        .with_columns(
            pl.when(first == "O")
            .then(pl.lit("0") + inward.str.slice(1))
            .when(first == "I")
            .then(pl.lit("1") + inward.str.slice(1))
            .otherwise(inward)
            .alias("_inward")
        )
        .with_columns(
            (
                length.is_between(5, 7)
                & pl.col("outward").str.contains(_OUTWARD)
                & inward.str.contains(_INWARD)
            )
            .fill_null(False)
            .alias("ok")
        )
        .with_columns(pl.when("ok").then(_inward_number(inward)).alias("inward"))
        .drop("_squeezed", "_length", "_inward")
    )


@dataclass(frozen=True)
class PlaceReference:
    """The audited area's residents by deprivation decile and by ward.

    ``deprivation`` and ``wards`` are the reference distributions (or why there is
    none); ``ward_names`` maps ward codes to the labels used as categories, and
    ``gap_wards`` holds the labels of wards with an LSOA in the lookup's postcode
    gap, where a count of nobody cannot be told from missing postcodes.
    """

    leaves: frozenset[str]
    deprivation: ReferenceCharacteristic | NotAvailable
    wards: ReferenceCharacteristic | NotAvailable
    ward_names: dict[str, str]
    gap_wards: frozenset[str]
    index: str | None
    ward_deciles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Each ward's label → the deprivation deciles of its LSOAs (public geography: the
    disclosure step needs it, since a decile found in few wards ties their counts)."""


LOOKUP_TITLE = (
    "ONS National Statistics Postcode Lookup, August 2024 (postcode to LSOA 2021); "
    "LSOA 2021 to ward (May 2024) best fit"
)


def attribution() -> str:
    """The licence lines postcode and deprivation data need, in one sentence each."""
    return _attribution()


def _attribution() -> str:
    lines: list[str] = []
    places = data_store().manifest.get("place_tables", {})
    for name in (POSTCODES_TABLE, SMALL_AREAS_TABLE):
        for line in places[name]["licence"]["attribution"]:
            if not any(line in kept for kept in lines):
                lines.append(line)
    return " ".join(lines)


def _small_areas_in(leaves: frozenset[str]) -> pl.DataFrame:
    codes = sorted(leaves)
    return (
        data_store()
        .table(SMALL_AREAS_TABLE)
        .filter(
            (pl.col("ltla_code").is_in(codes) | pl.col("ward_code").is_in(codes)).fill_null(False)
        )
    )


def _with_base(frame: pl.DataFrame, eligible_age: AgeRange | None) -> pl.DataFrame:
    """Add ``base``: each LSOA's residents in the eligible ages, approximated.

    base = residents(LSOA) × residents of the eligible ages(MSOA) / residents(MSOA).
    Worked example: an LSOA of 1,500 residents in an MSOA of 8,000, of whom 6,400
    are aged 16+, has about 1,500 × 6,400 / 8,000 = 1,200 residents aged 16+.
    """
    if eligible_age is None or eligible_age.is_all_ages:
        return frame.with_columns(pl.col("residents").cast(pl.Float64).alias("base"))
    low = min(eligible_age.low, 101)
    high = 100 if eligible_age.high is None else min(eligible_age.high, 100)
    shares = (
        data_store()
        .table(MSOA_AGE_TABLE)
        .filter(pl.col("msoa21_code").is_in(frame["msoa21_code"].unique().to_list()))
        .group_by("msoa21_code")
        .agg(
            (
                pl.col("count").filter(pl.col("age").is_between(low, high)).sum()
                / pl.col("count").sum()
            ).alias("share")
        )
    )
    return frame.join(shares, on="msoa21_code", how="left").with_columns(
        (pl.col("residents") * pl.col("share").fill_null(0.0)).alias("base")
    )


def _ward_names(codes: Sequence[str]) -> dict[str, str]:
    """Ward labels: the ward name, with its authority when names would repeat."""
    areas = (
        data_store()
        .table("areas")
        .filter(pl.col("code").is_in(list(codes)))
        .select("code", "name", "display_name", "parent_code")
    )
    plain = dict(zip(areas["code"].to_list(), areas["name"].to_list(), strict=True))
    full = dict(zip(areas["code"].to_list(), areas["display_name"].to_list(), strict=True))
    one_authority = areas["parent_code"].n_unique() <= 1
    names = list(plain.values())
    unique = len(set(names)) == len(names)
    return {code: (plain[code] if one_authority and unique else full[code]) for code in codes}


def area_leaves(areas: Sequence[Area]) -> frozenset[str]:
    """The LTLA (2021) and ward codes that make up the areas."""
    index = data_store().areas
    found: set[str] = set()
    for area in areas:
        found |= index.leaves(area.code)
    return frozenset(found)


def place_reference(
    areas: Sequence[Area], eligible_age: AgeRange | None, source: str
) -> PlaceReference:
    """Residents of the area by deprivation decile and by ward, for the eligible ages.

    ``source`` describes the reference for reports ("Census 2021 for Lambeth ...").
    Worked out once per areas, ages and source (``DataStore.remember``); the
    caller gets its own copies of the dictionaries.
    """
    found = data_store().remember(
        ("place_reference", tuple(areas), eligible_age, source),
        lambda: _place_reference(areas, eligible_age, source),
    )
    return replace(
        found,
        deprivation=_copied(found.deprivation),
        wards=_copied(found.wards),
        ward_names=dict(found.ward_names),
        ward_deciles=dict(found.ward_deciles),
    )


def _ward_deciles(frame: pl.DataFrame, ward_names: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Each ward's label → the deciles ("1" … "10") of its LSOAs, wards in label order
    (so the result JSON is the same in every run)."""
    found = frame.drop_nulls("decile").group_by("ward_code").agg(pl.col("decile").unique())
    return dict(
        sorted(
            (ward_names[code], tuple(str(d) for d in sorted(deciles)))
            for code, deciles in found.iter_rows()
        )
    )


def _copied(
    profile: ReferenceCharacteristic | NotAvailable,
) -> ReferenceCharacteristic | NotAvailable:
    if isinstance(profile, ReferenceCharacteristic):
        return replace(profile, categories=dict(profile.categories))
    return profile


def _place_reference(
    areas: Sequence[Area], eligible_age: AgeRange | None, source: str
) -> PlaceReference:
    leaves = area_leaves(areas)
    frame = _small_areas_in(leaves)
    names = ", ".join(f"{a.name} ({a.code})" for a in areas)
    if frame.height == 0:
        reason = (
            "postcodes give places only in England and Wales: Scotland's SIMD and Northern "
            "Ireland's NIMDM rank other small areas, which the shipped postcode lookup does "
            "not reach"
        )
        missing = NotAvailable(DEPRIVATION, reason)
        return PlaceReference(leaves, missing, NotAvailable(WARD, reason), {}, frozenset(), None)
    frame = _with_base(frame, eligible_age)
    approximate = eligible_age is not None and not eligible_age.is_all_ages
    ages = eligible_age.label if approximate and eligible_age is not None else None
    who = f"residents aged {ages}" if ages else "all usual residents"
    age_caveat = (
        (
            (
                f"Residents aged {ages} are approximated: each LSOA's residents (Census 2021, "
                "all ages) are scaled by the share of its MSOA's residents in those ages "
                "(TS007 single years of age). Deprived areas are often younger, so this is "
                "closer than all ages, not exact."
            ),
        )
        if ages
        else ()
    )
    gap_lsoas = frame.filter("gap").height
    gap_caveat = (
        (
            f"{gap_lsoas} LSOA(s) of the area lie in the postcode lookup's known gap "
            "(central-London districts ending in a letter are missing), so participants "
            "living there cannot be placed; they are counted as not found.",
        )
        if gap_lsoas
        else ()
    )
    attribution = _attribution()
    indices = frame["index"].unique().to_list()
    index = indices[0] if len(indices) == 1 else None
    deprivation: ReferenceCharacteristic | NotAvailable
    if index is None:
        deprivation = NotAvailable(
            DEPRIVATION,
            "the area spans England and Wales, whose deprivation indices (IMD 2019, WIMD "
            "2019) rank different small areas and cannot be pooled; audit the English and "
            "Welsh parts separately",
        )
    else:
        by_decile = dict(frame.group_by("decile").agg(pl.col("base").sum()).iter_rows())
        nation = _NATION[index]
        deprivation = ReferenceCharacteristic(
            name=DEPRIVATION,
            categories={d: float(by_decile.get(int(d), 0.0)) for d in DECILES},
            base=f"{who} of {names}, by the {index} decile of their LSOA (1 = most "
            f"deprived 10% of LSOAs in {nation})",
            universe=f"{who.capitalize()} (LSOA 2021)",
            source=source,
            table=f"{index} by LSOA; Census 2021 TS021 (LSOA){', TS007 (MSOA)' if ages else ''}",
            caveats=(
                f"Deciles of the {INDEX_TITLES[index]}, ranked across {nation}: decile 1 is "
                f"the most deprived 10% of {nation}'s LSOAs. 2011 LSOAs are carried to 2021 "
                "ones through the ONS change codes (see docs/reference-data.md).",
                *age_caveat,
                *gap_caveat,
            ),
            attribution=attribution,
        )
    ward_base = frame.group_by("ward_code").agg(pl.col("base").sum(), pl.col("gap").any())
    codes = sorted(ward_base["ward_code"].to_list())
    ward_names = _ward_names(codes)
    gap_wards = frozenset(
        ward_names[code]
        for code, gap in zip(
            ward_base["ward_code"].to_list(), ward_base["gap"].to_list(), strict=True
        )
        if gap
    )
    wards: ReferenceCharacteristic | NotAvailable
    if len(codes) < 2:
        wards = NotAvailable(WARD, "the audited area is a single ward")
    elif len(codes) > MAX_WARDS:
        wards = NotAvailable(
            WARD,
            f"the area has {len(codes):,} wards, too many for a ward table; audit a local "
            "authority",
        )
    else:
        bases = dict(ward_base.select("ward_code", "base").iter_rows())
        ordered = sorted(codes, key=lambda c: ward_names[c])
        wards = ReferenceCharacteristic(
            name=WARD,
            categories={ward_names[c]: float(bases[c]) for c in ordered},
            base=f"{who} of each ward (May 2024 wards, best fit from 2021 LSOAs)",
            universe=f"{who.capitalize()} (LSOA 2021, best-fit wards)",
            source=source,
            table=f"Census 2021 TS021 (LSOA){', TS007 (MSOA)' if ages else ''}; ONS LSOA 2021 "
            "to ward 2024 best-fit lookup",
            caveats=(
                "Ward figures are approximate: they add up the LSOAs (2021) whose best fit is "
                "in the ward, and a participant's ward is that of their postcode's LSOA.",
                *age_caveat,
                *gap_caveat,
            ),
            attribution=attribution,
        )
    return PlaceReference(
        leaves=leaves,
        deprivation=deprivation,
        wards=wards,
        ward_names=ward_names,
        gap_wards=gap_wards,
        index=index,
        ward_deciles=_ward_deciles(frame, ward_names)
        if index is not None and isinstance(wards, ReferenceCharacteristic)
        else {},
    )


@dataclass(frozen=True)
class PlaceCounts:
    """How a register's postcodes fared, and the area's participants by decile and ward.

    Counts only: no postcode and no row. Participants whose postcode lies outside
    the area are counted in ``outside_area`` and left out of both comparisons.
    ``unfound`` is the register's own text of the postcodes not found, kept only so
    the caller can find their row numbers: it must never be written anywhere.
    """

    read: int
    matched: int
    outside_area: int
    blank: int
    not_found: dict[str, int]
    by_decile: dict[str, int]
    by_ward: dict[str, int]
    unfound: tuple[str, ...]

    @property
    def n_not_found(self) -> int:
        """Postcodes given but not placed, whatever the reason."""
        return sum(self.not_found.values())


def _district(start: int, count: int) -> tuple[array[int], array[int]]:
    """A district's inward numbers (sorted) and small areas, from the lookup's rows.

    Kept for the process (2 bytes a number: all 3,042 districts take 10 MB), so a
    service auditing one area again and again reads its districts once.
    """
    return _district_in(data_store(), start, count)


@lru_cache(maxsize=4096)
def _district_in(store: DataStore, start: int, count: int) -> tuple[array[int], array[int]]:
    table = store.table(POSTCODES_TABLE)
    return (
        array("h", table["inward"].slice(start, count).to_list()),
        array("H", table["lsoa"].slice(start, count).to_list()),
    )


def _small_areas_of(postcodes: list[tuple[int, int, int, int]]) -> dict[int, int]:
    """Each ``(row, start, count, inward)``'s small area (``lsoa`` number) by row; none if unknown.

    ``start`` and ``count`` are the rows of the postcode's district in the
    lookup, which is sorted by district, then inward number: a binary search in
    the district's own rows finds the postcode.
    """
    found: dict[int, int] = {}
    by_district: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for row, start, count, inward in postcodes:
        by_district.setdefault((start, count), []).append((row, inward))
    for (start, count), wanted in by_district.items():
        inwards, areas = _district(start, count)
        for row, inward in wanted:
            at = bisect.bisect_left(inwards, inward)
            if at < count and inwards[at] == inward:
                found[row] = areas[at]
    return found


def count_places(answers: Sequence[tuple[str | None, int]], place: PlaceReference) -> PlaceCounts:
    """Look up a register's distinct postcodes (with their counts) and count by place.

    One polars query normalises the distinct postcodes and finds their districts'
    rows in the lookup; a binary search in each district's rows finds each
    postcode's small area; the small areas found are read in one step. The
    counting is plain Python over the distinct postcodes: a register has at
    most a few hundred thousand, and on a few hundred each polars step would cost
    more than all of it (a service audits such registers many times a second).
    """
    frame = pl.DataFrame(
        {"answer": [a for a, _ in answers], "count": [c for _, c in answers]},
        schema={"answer": pl.String, "count": pl.Int64},
    ).lazy()
    blank = pl.col("answer").is_null() | (pl.col("answer").str.strip_chars() == "")
    districts = (
        data_store()
        .table(DISTRICTS_TABLE)
        .lazy()
        .select("outward", pl.col("start").alias("_start"), pl.col("count").alias("_rows"))
    )
    given = (
        normalise_postcodes(frame.with_columns(blank.alias("_blank")), "answer")
        .join(districts, on="outward", how="left", maintain_order="left")
        .select(
            "answer",
            "count",
            "_blank",
            (pl.col("ok") & ~pl.col("_blank")).alias("ok"),
            pl.col("outward").str.contains(GAP_DISTRICTS).fill_null(False).alias("_gap"),
            "_start",
            "_rows",
            "inward",
        )
        .collect()
        .rows()
    )
    areas = _small_areas_of(
        [
            (row, start, rows, inward)
            for row, (_, _, _, ok, _, start, rows, inward) in enumerate(given)
            if ok and start is not None
        ]
    )
    codes = sorted(place.leaves)
    known = sorted(set(areas.values()))
    about = dict(
        zip(
            known,
            data_store()
            .table(SMALL_AREAS_TABLE)[known]
            .select(
                "decile",
                "ward_code",
                (pl.col("place") == _NO_LOCATION_PLACE).fill_null(False),
                (pl.col("ltla_code").is_in(codes) | pl.col("ward_code").is_in(codes)).fill_null(
                    False
                ),
            )
            .rows(),
            strict=True,
        )
    )
    not_found = dict.fromkeys(NOT_FOUND_REASONS, 0)
    read = matched = outside = blanks = 0
    by_decile: dict[str, int] = {}
    by_ward: dict[str, int] = {}
    missing: list[str] = []
    nowhere: list[str] = []
    for row, (answer, count, is_blank, ok, gap, *_) in enumerate(given):
        if is_blank:
            blanks += count
            continue
        read += count
        area = areas.get(row)
        if area is None:
            reason = MALFORMED if not ok else KNOWN_GAP if gap else NOT_IN_LOOKUP
            not_found[reason] += count
            missing.append(answer)
            continue
        decile, ward, no_location, inside = about[area]
        if no_location:
            not_found[NO_LOCATION] += count
            nowhere.append(answer)
        elif inside:
            matched += count
            by_decile[str(decile)] = by_decile.get(str(decile), 0) + count
            label = place.ward_names.get(ward)
            if label is not None:
                by_ward[label] = by_ward.get(label, 0) + count
        else:
            outside += count
    return PlaceCounts(
        read=read,
        matched=matched,
        outside_area=outside,
        blank=blanks,
        not_found=not_found,
        by_decile=by_decile,
        by_ward=by_ward,
        unfound=(*missing, *nowhere),
    )
