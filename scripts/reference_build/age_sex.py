"""The age and sex table: single-year counts by sex for every area, checked against TS007."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from reference_build.geography import Geography, read_ts007_wide, with_higher_levels
from reference_build.helpers import check, max_row_gap, read_csv, sum_by
from reference_build.labels import ALL_PERSONS, NI, SEX
from reference_build.sources import (
    F_NI_AGE_SEX,
    F_NI_SO_AGE,
    F_RM_AGE_SEX,
    F_TS007_CTRY,
    F_TS007_LTLA,
    F_TS007_RGN,
    F_TS009_LTLA,
)
from reference_build.tables_common import EW_LEVELS, Table


def build_age_sex(raw: Path, geo: Geography) -> Table:
    """Age (single year, TS007), sex (TS009 totals), age x sex 16+ and NISRA age bands."""
    parts: list[pl.DataFrame] = []

    def single_years(rel: str, keep: Callable[[pl.Series], pl.Series]) -> pl.DataFrame:
        wide = read_ts007_wide(raw, rel)
        wide = wide.filter(keep(wide["area_code"]))
        return wide.unpivot(
            index="area_code", on=[str(a) for a in range(101)], variable_name="age"
        ).select(
            "area_code",
            pl.lit("ts007").alias("source"),
            pl.lit(ALL_PERSONS).alias("sex"),
            pl.col("age").cast(pl.Int64).alias("age_low"),
            pl.when(pl.col("age").cast(pl.Int64) == 100)
            .then(None)
            .otherwise(pl.col("age").cast(pl.Int64))
            .alias("age_high"),
            pl.col("value").cast(pl.Int64).alias("count"),
        )

    # Published region and country tables are used as they are, not LTLA sums.
    parts.append(single_years(F_TS007_LTLA, lambda s: s.is_not_null()))
    parts.append(single_years(F_TS007_RGN, lambda s: s.str.starts_with("E12")))
    parts.append(single_years(F_TS007_CTRY, lambda s: s.is_not_null()))

    # TS009 sex totals. demographr's younger/working/older columns are mis-summed
    # (under-1s counted twice, 75+ dropped), so only the sex totals are used.
    ts009 = read_csv(raw, F_TS009_LTLA)
    check(ts009.height == 331, f"{F_TS009_LTLA}: expected 331 LTLAs")
    check(
        max_row_gap(ts009, ["total_females", "total_males"], "total_population") == 0,
        f"{F_TS009_LTLA}: females + males != total",
    )
    sex = ts009.unpivot(
        index="ltla21_code", on=["total_females", "total_males"], variable_name="sex"
    ).select(
        pl.col("ltla21_code").alias("area_code"),
        pl.col("sex").replace_strict({"total_females": "Female", "total_males": "Male"}),
        pl.col("value").cast(pl.Int64).alias("count"),
    )
    sex = with_higher_levels(sex, geo).select(
        "area_code",
        pl.lit("ts009").alias("source"),
        "sex",
        pl.lit(0, pl.Int64).alias("age_low"),
        pl.lit(None, pl.Int64).alias("age_high"),
        "count",
    )
    parts.append(sex)

    # Age (8 bands) x sex for usual residents aged 16+ (custom dataset, gender identity
    # summed out).
    rm = read_csv(raw, F_RM_AGE_SEX, infer_schema_length=0)
    check(rm[rm.columns[0]].n_unique() == 331, f"{F_RM_AGE_SEX}: expected 331 LTLAs")
    bands = {
        "Aged 16 to 24 years": (16, 24),
        "Aged 25 to 34 years": (25, 34),
        "Aged 35 to 44 years": (35, 44),
        "Aged 45 to 54 years": (45, 54),
        "Aged 55 to 64 years": (55, 64),
        "Aged 65 to 74 years": (65, 74),
        "Aged 75 years and over": (75, None),
    }
    under16 = rm.filter(pl.col("Age (D) (8 categories)") == "Aged 15 years and under")
    check(under16["Observation"].cast(pl.Int64).sum() == 0, f"{F_RM_AGE_SEX}: under-16s")
    age_sex = sum_by(
        rm.filter(
            pl.col("Age (D) (8 categories)").is_in(list(bands)),
            pl.col("Gender identity (4 categories) Code") != "-8",
        ).select(
            pl.col(rm.columns[0]).alias("area_code"),
            pl.col("Age (D) (8 categories)").alias("band"),
            pl.col("Sex (2 categories)").alias("sex"),
            pl.col("Observation").cast(pl.Int64).alias("count"),
        ),
        ["area_code", "band", "sex"],
    )
    age_sex = with_higher_levels(age_sex, geo).select(
        "area_code",
        pl.lit("custom_age_sex_16plus").alias("source"),
        "sex",
        pl.col("band").replace_strict({k: v[0] for k, v in bands.items()}).alias("age_low"),
        pl.col("band")
        .replace_strict({k: v[1] for k, v in bands.items()}, return_dtype=pl.Int64)
        .alias("age_high"),
        "count",
    )
    parts.append(age_sex)

    # NISRA MS-A08 via demographr: younger = 0-19, working age = 20-64, older = 65+
    # (its data-raw script sums those five-year bands), by sex.
    ni = read_csv(raw, F_NI_AGE_SEX)
    check(ni.height == 11, f"{F_NI_AGE_SEX}: expected 11 LGDs")
    ni_cols = {
        "younger_females": ("Female", 0, 19),
        "working_age_females": ("Female", 20, 64),
        "older_females": ("Female", 65, None),
        "younger_males": ("Male", 0, 19),
        "working_age_males": ("Male", 20, 64),
        "older_males": ("Male", 65, None),
    }
    check(
        max_row_gap(ni, list(ni_cols), "total_population") == 0,
        f"{F_NI_AGE_SEX}: age bands do not add to the total",
    )
    ni_long = ni.unpivot(index="ltla21_code", on=list(ni_cols), variable_name="col").select(
        pl.col("ltla21_code").alias("area_code"),
        pl.lit("nisra_ms_a08").alias("source"),
        pl.col("col").replace_strict({k: v[0] for k, v in ni_cols.items()}).alias("sex"),
        pl.col("col")
        .replace_strict({k: v[1] for k, v in ni_cols.items()}, return_dtype=pl.Int64)
        .alias("age_low"),
        pl.col("col")
        .replace_strict({k: v[2] for k, v in ni_cols.items()}, return_dtype=pl.Int64)
        .alias("age_high"),
        pl.col("value").cast(pl.Int64).alias("count"),
    )
    ni_total = sum_by(
        ni_long.with_columns(area_code=pl.lit(NI)),
        ["area_code", "source", "sex", "age_low", "age_high"],
    )
    parts.extend([ni_long, ni_total.select(ni_long.columns)])

    # NISRA sexual orientation by age: "All" rows give usual residents 16+ in four bands.
    so_age = read_csv(raw, F_NI_SO_AGE).filter(pl.col("sexual_orientation") == "All")
    ni_bands = {
        "Usual residents aged 16-24 years": (16, 24),
        "Usual residents aged 25-39 years": (25, 39),
        "Usual residents aged 40-64 years": (40, 64),
        "Usual residents aged 65+ years": (65, None),
    }
    so_age = so_age.filter(pl.col("age").is_in(list(ni_bands)))
    check(so_age.height == 12 * 4, f"{F_NI_SO_AGE}: expected 12 areas x 4 age bands")
    parts.append(
        so_age.select(
            pl.col("area_code"),
            pl.lit("nisra_so_by_age").alias("source"),
            pl.lit(ALL_PERSONS).alias("sex"),
            pl.col("age").replace_strict({k: v[0] for k, v in ni_bands.items()}).alias("age_low"),
            pl.col("age")
            .replace_strict({k: v[1] for k, v in ni_bands.items()}, return_dtype=pl.Int64)
            .alias("age_high"),
            pl.col("count").cast(pl.Int64),
        )
    )

    frame = (
        pl.concat([p.select(parts[0].columns) for p in parts])
        .with_columns(pl.col("age_low").cast(pl.Int64), pl.col("age_high").cast(pl.Int64))
        .sort(["area_code", "source", "sex", "age_low"])
    )
    sources = {
        "ts007": {
            "ons_table": "TS007",
            "title": "Age by single year",
            "universe": "All usual residents",
            "sex": [ALL_PERSONS],
            "bands": "single years 0..99 and 100 (= 100 and over)",
            "geography_levels": [*EW_LEVELS],
            "released": "2 November 2022",
            "notes": (
                "Region and country rows are ONS's own published TS007 figures, not sums "
                "of LTLAs (the LTLA sum for England and Wales is 59,597,608; ONS's figure "
                "is 59,597,546; headline 59,597,542)."
            ),
            "raw_files": [F_TS007_LTLA, F_TS007_RGN, F_TS007_CTRY],
        },
        "ts009": {
            "ons_table": "TS009",
            "title": "Sex by single year of age (sex totals only)",
            "universe": "All usual residents",
            "sex": SEX,
            "bands": "all ages (age_low 0, age_high null)",
            "geography_levels": [*EW_LEVELS],
            "released": "2 November 2022",
            "notes": (
                "Only the Female and Male totals are used: demographr's age-group columns "
                "for this table double-count under-1s and omit ages 75+."
            ),
            "raw_files": [F_TS009_LTLA],
        },
        "custom_age_sex_16plus": {
            "ons_table": "ONS custom dataset: Age (D) (8 categories) by Sex by Gender "
            "identity (4 categories), gender identity summed out",
            "title": "Age (7 bands from 16) by sex, usual residents aged 16+",
            "universe": "Usual residents aged 16+",
            "sex": SEX,
            "bands": "16-24, 25-34, 35-44, 45-54, 55-64, 65-74, 75+",
            "geography_levels": [*EW_LEVELS],
            "released": "ONS 'Create a custom dataset' service (download date not recorded)",
            "raw_files": [F_RM_AGE_SEX],
        },
        "nisra_ms_a08": {
            "ons_table": "NISRA MS-A08",
            "title": "Age (0-19, 20-64, 65+) by sex, Northern Ireland",
            "universe": "All usual residents",
            "sex": SEX,
            "bands": "0-19, 20-64, 65+ (demographr's 'younger', 'working age', 'older')",
            "geography_levels": ["lgd", "country (Northern Ireland, sum of LGDs)"],
            "raw_files": [F_NI_AGE_SEX],
        },
        "nisra_so_by_age": {
            "ons_table": "NISRA Census 2021 sexual orientation by age (table code not "
            "recorded in source repository)",
            "title": "Usual residents aged 16+ by age band, Northern Ireland",
            "universe": "Usual residents aged 16+",
            "sex": [ALL_PERSONS],
            "bands": "16-24, 25-39, 40-64, 65+",
            "geography_levels": ["lgd", "country (Northern Ireland, as published)"],
            "raw_files": [F_NI_SO_AGE],
        },
    }
    meta = {
        "title": "Age and sex: single-year age (E&W), sex totals, age x sex 16+, NI age bands",
        "ons_table": "TS007; TS009; ONS custom dataset; NISRA MS-A08",
        "columns": {
            "area_code": "GSS code (see areas.parquet)",
            "source": "key into this entry's 'age_sources'",
            "sex": "'All persons', 'Female' or 'Male'",
            "age_low": "first age in the band (inclusive)",
            "age_high": "last age in the band (inclusive); null = open-ended",
            "count": "usual residents",
        },
        "population_base": "All usual residents (TS007, TS009, MS-A08); usual residents "
        "aged 16+ (custom dataset, NISRA sexual orientation by age)",
        "unit": "persons",
        "released": "per source, see 'age_sources'",
        "geography_levels": [*EW_LEVELS, "lgd", "country (Northern Ireland)"],
        "age_sources": sources,
        "raw_files": sorted({f for s in sources.values() for f in s["raw_files"]}),
        "nisra": True,
    }
    return Table("age_sex", frame, meta)
