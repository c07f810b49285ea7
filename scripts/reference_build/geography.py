"""Geography: areas, their parents and single-year populations, from the lookups and TS007."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from reference_build.helpers import check, max_row_gap, read_csv, sum_by
from reference_build.labels import ENGLAND, EW_COUNTRY, WALES
from reference_build.sources import (
    F_LK_LSOA,
    F_LK_LTLA23,
    F_LK_MSOA,
    F_LK_REGION21,
    F_LK_WARD,
    F_MSOA_NAMES,
    F_TS007_LTLA,
)


@dataclass(frozen=True)
class Geography:
    """Lookups shared by every table."""

    ltla: pl.DataFrame  # ltla_code, name, region_code (E12 or W92), country_code
    lsoa: pl.DataFrame  # lsoa21_code, ltla_code, ward_code
    msoa: pl.DataFrame  # msoa21_code, ltla_code
    ltla23: pl.DataFrame  # ltla23_code, name, ltla_code (component)
    wards: pl.DataFrame  # ward_code, name, parent_code, parent_name


def read_ts007_wide(raw: Path, rel: str) -> pl.DataFrame:
    """TS007 in Nomis bulk format: keep the 101 single-year columns, drop band subtotals."""
    frame = read_csv(raw, rel)
    single: dict[str, int] = {}
    for col in frame.columns:
        match = re.fullmatch(r"Age: Aged (under 1 year|\d+ years?|100 years and over); .*", col)
        if match:
            text = match.group(1)
            single[col] = 0 if text.startswith("under") else int(text.split()[0])
    check(sorted(single.values()) == list(range(101)), f"{rel}: expected ages 0..100+")
    total_col = "Age: Total; measures: Value"
    long = frame.select(
        pl.col("geography code").alias("area_code"),
        pl.col("geography").alias("name"),
        pl.col(total_col).alias("total"),
        *[pl.col(c).alias(str(age)) for c, age in single.items()],
    )
    check(
        max_row_gap(long, [str(a) for a in range(101)], "total") == 0,
        f"{rel}: single years do not add to the total",
    )
    return long


def build_geography(raw: Path) -> Geography:
    """Join the ONS lookups into the LTLA, LSOA, MSOA, 2023-authority and ward maps."""
    ts007 = read_ts007_wide(raw, F_TS007_LTLA)
    check(ts007.height == 331, f"{F_TS007_LTLA}: expected 331 LTLAs, found {ts007.height}")
    regions = read_csv(raw, F_LK_REGION21)
    ltla = (
        ts007.select("area_code", "name")
        .rename({"area_code": "ltla_code"})
        .join(
            regions.select(
                pl.col("ltla21_code").alias("ltla_code"),
                pl.col("region21_code").alias("region_code"),
            ),
            on="ltla_code",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("ltla_code").str.starts_with("W"))
            .then(pl.lit(WALES))
            .otherwise(pl.col("region_code"))
            .alias("region_code"),
            pl.when(pl.col("ltla_code").str.starts_with("W"))
            .then(pl.lit(WALES))
            .otherwise(pl.lit(ENGLAND))
            .alias("country_code"),
        )
        .sort("ltla_code")
    )
    check(ltla["region_code"].null_count() == 0, "an English LTLA has no region in the lookup")

    lsoa_lookup = read_csv(raw, F_LK_LSOA).unique("lsoa21_code", keep="first")
    check(lsoa_lookup.height == 35672, f"{F_LK_LSOA}: expected 35,672 LSOA21 codes")
    per_lsoa = lsoa_lookup.group_by("lsoa21_code").agg(pl.col("ltla22_code").n_unique())
    check(per_lsoa["ltla22_code"].max() == 1, f"{F_LK_LSOA}: an LSOA maps to two LTLAs")
    check(
        set(lsoa_lookup["ltla22_code"].to_list()) == set(ltla["ltla_code"].to_list()),
        f"{F_LK_LSOA}: LTLA22 codes differ from the 331 TS007 LTLA codes",
    )
    ward_lookup = read_csv(raw, F_LK_WARD)
    check(ward_lookup["lsoa21_code"].n_unique() == ward_lookup.height, "ward lookup: dup LSOA")
    lsoa = lsoa_lookup.select(
        "lsoa21_code", pl.col("ltla22_code").alias("ltla_code"), "lsoa21_name"
    ).join(
        ward_lookup.select("lsoa21_code", pl.col("ward24_code").alias("ward_code")),
        on="lsoa21_code",
        how="left",
    )
    check(lsoa["ward_code"].null_count() == 0, "an LSOA21 has no ward in the best-fit lookup")

    # MSOA21 -> LTLA: the geographr MSOA lookup misses 82 MSOA21 codes, so map by name:
    # an LSOA21 name is its MSOA21 name plus one letter, and LSOAs nest in LTLAs.
    msoa_names = read_csv(raw, F_MSOA_NAMES, columns=["msoa21nm", "msoa21cd"])
    by_name = (
        lsoa.select(
            pl.col("lsoa21_name").str.slice(0, pl.col("lsoa21_name").str.len_chars() - 1),
            "ltla_code",
        )
        .unique()
        .rename({"lsoa21_name": "msoa21nm"})
    )
    check(by_name["msoa21nm"].n_unique() == by_name.height, "an MSOA name spans two LTLAs")
    msoa = msoa_names.join(by_name, on="msoa21nm", how="left").select(
        pl.col("msoa21cd").alias("msoa21_code"), "ltla_code"
    )
    check(msoa.height == 7264 and msoa["ltla_code"].null_count() == 0, "MSOA21 names unmatched")
    msoa_lookup = read_csv(raw, F_LK_MSOA).unique(["msoa21_code", "ltla22_code"])
    disagree = msoa.join(msoa_lookup, on="msoa21_code").filter(
        pl.col("ltla_code") != pl.col("ltla22_code")
    )
    check(disagree.height == 0, f"{F_LK_MSOA}: disagrees with the LSOA-name mapping")

    merges = read_csv(raw, F_LK_LTLA23).filter(pl.col("ltla22_code") != pl.col("ltla23_code"))
    ltla23 = merges.select(
        pl.col("ltla23_code"), pl.col("ltla23_name").alias("name"), pl.col("ltla22_code")
    ).rename({"ltla22_code": "ltla_code"})
    check(ltla23["ltla23_code"].n_unique() == 4, "expected the four April 2023 authorities")

    wards = ward_lookup.select(
        pl.col("ward24_code").alias("ward_code"),
        pl.col("ward24_name").map_elements(repair_mojibake, return_dtype=pl.String).alias("name"),
        pl.col("ltla24_code").alias("parent_code"),
        pl.col("ltla24_name").alias("parent_name"),
    ).unique("ward_code", keep="first")
    check(wards["ward_code"].n_unique() == wards.height, "a ward has two names or parents")
    return Geography(ltla=ltla, lsoa=lsoa, msoa=msoa, ltla23=ltla23, wards=wards)


def repair_mojibake(name: str) -> str:
    """Undo UTF-8 text that was decoded as code page 437 somewhere upstream.

    One ward in the geographr lookup reads 'Llandyg├íi' for 'Llandygái'; box-drawing
    characters never occur in real ONS names, so their presence marks the damage.
    """
    if not re.search("[\u2500-\u257f]", name):
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def with_higher_levels(frame: pl.DataFrame, geo: Geography) -> pl.DataFrame:
    """Add region, country and England-and-Wales sums to LTLA-level rows.

    Sums of perturbed LTLA cells, not separately published tables: the totals differ
    from ONS's own regional figures by a few persons (cell-key perturbation).
    """
    keys = [c for c in frame.columns if c not in ("area_code", "count")]
    with_geo = frame.join(
        geo.ltla.select(pl.col("ltla_code").alias("area_code"), "region_code", "country_code"),
        on="area_code",
        how="left",
    )
    check(with_geo["country_code"].null_count() == 0, "rows for an unknown LTLA code")
    parts = [frame]
    english_regions = with_geo.filter(pl.col("region_code").str.starts_with("E12"))
    group = ["area_code", *keys]
    parts.append(sum_by(english_regions.with_columns(area_code=pl.col("region_code")), group))
    parts.append(sum_by(with_geo.with_columns(area_code=pl.col("country_code")), group))
    parts.append(sum_by(with_geo.with_columns(area_code=pl.lit(EW_COUNTRY)), group))
    return pl.concat([p.select(frame.columns) for p in parts])
