"""Where participants live: postcodes to 2021 LSOAs, wards and deprivation deciles.

A register's postcodes are looked up in ``reference_data/postcodes.parquet``
(the National Statistics Postcode Lookup, August 2024), which keeps each
postcode as its outward code and a 16-bit number for its inward code, pointing
at a row of ``small_areas.parquet``: one row per 2021 LSOA of England and Wales
(local authority, best-fit 2024 ward, MSOA, residents, IMD 2019 or WIMD 2019
decile, postcode-gap flag), then pseudo-places for the rest of the UK. The
lookup is a polars join on the register's *distinct* postcodes, never a Python
loop over rows. No postcode leaves this module: callers get counts by decile
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

import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from inclusion_audit.reference.ages import AgeRange
from inclusion_audit.reference.census_data import Area, data_store
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


def normalise_postcodes(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add ``outward``, ``inward`` (its number, null when malformed) and ``ok`` (well formed).

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
    """Each ward's label → the deciles ("1" … "10") of its LSOAs."""
    found = frame.drop_nulls("decile").group_by("ward_code").agg(pl.col("decile").unique())
    return {
        ward_names[code]: tuple(str(d) for d in sorted(deciles))
        for code, deciles in found.iter_rows()
    }


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


def _lookup(outward: pl.Series) -> pl.DataFrame:
    """``outward, inward, lsoa`` of every postcode in the given districts.

    The postcode table holds only the inward number and LSOA row of each postcode,
    sorted by outward code; ``postcode_districts`` says which rows hold each
    district. Reading two small integer columns is about 20 ms where the outward
    codes as text took 150 ms or more, and only the districts a register uses are
    gathered.
    """
    spans = (
        data_store()
        .table(DISTRICTS_TABLE)
        .filter(pl.col("outward").is_in(outward.implode()))
        .select(
            "outward",
            pl.int_ranges("start", pl.col("start") + pl.col("count"), dtype=pl.UInt32).alias("row"),
        )
        .explode("row")
    )
    codes = data_store().table(POSTCODES_TABLE)
    return codes.select(pl.all().gather(spans["row"])).with_columns(spans["outward"])


def count_places(answers: Sequence[tuple[str | None, int]], place: PlaceReference) -> PlaceCounts:
    """Look up a register's distinct postcodes (with their counts) and count by place.

    One join of the distinct postcodes against the lookup, filtered first to the
    outward codes the register uses; everything else works on a few thousand
    distinct LSOAs.
    """
    frame = pl.DataFrame(
        {"answer": [a for a, _ in answers], "count": [c for _, c in answers]},
        schema={"answer": pl.String, "count": pl.Int64},
    )
    blank_rows = frame["answer"].is_null() | (frame["answer"].str.strip_chars() == "")
    blank = int(frame.filter(blank_rows)["count"].sum())
    given = normalise_postcodes(frame.filter(~blank_rows), "answer")
    well_formed = given.filter("ok")
    # The districts' postcodes (tens of thousands) cut to the register's inward codes
    # first, and the small areas to the LSOAs found: each join then hashes hundreds.
    lookup = _lookup(well_formed["outward"].unique())
    lookup = lookup.filter(pl.col("inward").is_in(well_formed["inward"].unique().implode()))
    joined = given.join(lookup, on=["outward", "inward"], how="left")
    small = data_store().table(SMALL_AREAS_TABLE)
    codes = sorted(place.leaves)
    by_lsoa = (
        joined.filter(pl.col("lsoa").is_not_null()).group_by("lsoa").agg(pl.col("count").sum())
    )
    found = by_lsoa.join(
        small.filter(pl.col("lsoa").is_in(by_lsoa["lsoa"].implode())), on="lsoa", how="left"
    ).with_columns(
        (pl.col("ltla_code").is_in(codes) | pl.col("ward_code").is_in(codes))
        .fill_null(False)
        .alias("inside")
    )
    inside = found.filter("inside")
    nowhere = found.filter(pl.col("place") == _NO_LOCATION_PLACE)
    outside = found.filter(~pl.col("inside") & (pl.col("place") != _NO_LOCATION_PLACE))
    missing = joined.filter(pl.col("lsoa").is_null()).with_columns(
        pl.when(~pl.col("ok"))
        .then(pl.lit(MALFORMED))
        .when(pl.col("outward").str.contains(GAP_DISTRICTS))
        .then(pl.lit(KNOWN_GAP))
        .otherwise(pl.lit(NOT_IN_LOOKUP))
        .alias("reason")
    )
    not_found = dict.fromkeys(NOT_FOUND_REASONS, 0)
    for reason, count in missing.group_by("reason").agg(pl.col("count").sum()).iter_rows():
        not_found[reason] = int(count)
    not_found[NO_LOCATION] = int(nowhere["count"].sum())
    by_decile = {
        str(decile): int(count)
        for decile, count in inside.group_by("decile").agg(pl.col("count").sum()).iter_rows()
    }
    by_ward: dict[str, int] = {}
    for code, count in inside.group_by("ward_code").agg(pl.col("count").sum()).iter_rows():
        label = place.ward_names.get(code)
        if label is not None:
            by_ward[label] = by_ward.get(label, 0) + int(count)
    unfound_lsoas = nowhere["lsoa"].to_list()
    unfound = [
        *missing["answer"].to_list(),
        *joined.filter(pl.col("lsoa").is_in(unfound_lsoas))["answer"].to_list(),
    ]
    return PlaceCounts(
        read=int(given["count"].sum()),
        matched=int(inside["count"].sum()),
        outside_area=int(outside["count"].sum()),
        blank=blank,
        not_found=not_found,
        by_decile=by_decile,
        by_ward=by_ward,
        unfound=tuple(unfound),
    )
