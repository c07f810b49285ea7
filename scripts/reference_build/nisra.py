"""Northern Ireland's tables, from NISRA's Census 2021 outputs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from reference_build.helpers import check, expect_categories, order_rows, read_csv, sum_by, tidy
from reference_build.labels import (
    NI,
    NI_ETHNIC_FROM_DEMOGRAPHR,
    NI_ETHNIC_GROUP,
    NI_RELIGION,
    NI_SEXUAL_ORIENTATION,
)
from reference_build.sources import F_NI_ETHNIC, F_NI_RELIGION, F_NI_SO
from reference_build.tables_common import Table


def build_nisra(raw: Path) -> Table:
    """Northern Ireland (NISRA) ethnic group, religion and sexual orientation by LGD."""
    eth = read_csv(raw, F_NI_ETHNIC).filter(pl.col("ethnic_group").str.ends_with(" (number)"))
    eth = eth.select(
        pl.col("ltla21_code").alias("area_code"),
        pl.col("ethnic_group")
        .str.strip_suffix(" (number)")
        .replace_strict(NI_ETHNIC_FROM_DEMOGRAPHR)
        .alias("category"),
        pl.col("value").alias("count"),
    )
    rel = read_csv(raw, F_NI_RELIGION).select(
        pl.col("lgd21_code").alias("area_code"),
        pl.col("religion").alias("category"),
        pl.col("count"),
    )
    so = read_csv(raw, F_NI_SO).select(
        pl.col("lgd21_code").alias("area_code"),
        pl.col("sexual_orientation").alias("category"),
        pl.col("count"),
    )
    parts = []
    for char, frame, cats in (
        ("ethnic_group", eth, NI_ETHNIC_GROUP),
        ("religion", rel, NI_RELIGION),
        ("sexual_orientation", so, NI_SEXUAL_ORIENTATION),
    ):
        expect_categories(frame, cats, f"NISRA {char}")
        check(frame["area_code"].n_unique() == 11, f"NISRA {char}: expected 11 LGDs")
        long = tidy(frame, char)
        total = sum_by(
            long.with_columns(area_code=pl.lit(NI)), ["area_code", "characteristic", "category"]
        )
        parts.extend([long, total.select(long.columns)])
    frame = order_rows(
        pl.concat(parts),
        {
            "ethnic_group": NI_ETHNIC_GROUP,
            "religion": NI_RELIGION,
            "sexual_orientation": NI_SEXUAL_ORIENTATION,
        },
    )
    return Table(
        "nisra_northern_ireland",
        frame,
        {
            "title": "Northern Ireland: ethnic group, religion, sexual orientation (NISRA)",
            "ons_table": "NISRA MS-B01 (ethnic group); NISRA religion, LGD sheet (table code "
            "not recorded in source repository); NISRA MS-C01 (sexual orientation)",
            "characteristics": ["ethnic_group", "religion", "sexual_orientation"],
            "geography_levels": ["lgd", "country (Northern Ireland, sum of the 11 LGDs)"],
            "population_base": "All usual residents (ethnic group, religion); usual "
            "residents aged 16 and over (sexual orientation)",
            "unit": "persons",
            "notes": (
                "NISRA categories and labels, not ONS's: do not mix with England and Wales "
                "areas. demographr's renamed MS-B01 headers are mapped back to NISRA's "
                "('Black African', 'Black Other', 'Mixed', ...). For sexual orientation both "
                "'Prefer not to say' and 'Not stated' are non-response."
            ),
            "released": "NISRA Census 2021 main statistics (release dates not recorded in the "
            "source repository)",
            "raw_files": [F_NI_ETHNIC, F_NI_RELIGION, F_NI_SO],
            "nisra": True,
        },
    )
