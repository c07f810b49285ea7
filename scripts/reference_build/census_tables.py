"""The characteristic tables of England and Wales (TS0xx) and the 16+ custom datasets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from reference_build.age_sex import build_age_sex
from reference_build.geography import Geography, with_higher_levels
from reference_build.helpers import (
    check,
    collapse,
    expect_categories,
    max_row_gap,
    order_rows,
    read_csv,
    tidy,
)
from reference_build.labels import (
    DISABILITY,
    DISABILITY_4_TO_2,
    ECONOMIC_ACTIVITY,
    ENGLISH_PROFICIENCY,
    ETHNIC_8_TO_BROAD,
    ETHNIC_GROUP,
    ETHNIC_GROUP_BROAD,
    GENDER_IDENTITY,
    HOUSEHOLD_DEPRIVATION,
    LEGAL_PARTNERSHIP,
    RELIGION,
    SEXUAL_ORIENTATION,
    TENURE,
    TENURE_PERSONS,
    UNPAID_CARE,
    UNPAID_CARE_BROAD,
    UNPAID_CARE_TO_BROAD,
)
from reference_build.nisra import build_nisra
from reference_build.sources import (
    F_LK_LSOA,
    F_LK_MSOA,
    F_LK_WARD,
    F_MSOA_NAMES,
    F_RM_CARE,
    F_RM_DISABILITY,
    F_RM_ECON,
    F_RM_ETHNIC,
    F_RM_LEGAL,
    F_RM_RELIGION,
    F_RM_SO_GI,
    F_RM_TENURE,
    F_TS011_LSOA,
    F_TS021_LSOA,
    F_TS021_LTLA,
    F_TS029_MSOA,
    F_TS030_LSOA,
    F_TS038_LSOA,
    F_TS039_MSOA,
    F_TS054_LSOA,
    F_TS077_MSOA,
)
from reference_build.tables_common import (
    EW_LEVELS,
    Table,
    custom_margin,
    from_lsoa,
    from_msoa,
    lsoa_source,
)


def build_tables(raw: Path, geo: Geography) -> list[Table]:
    """Every output table except ``areas``; each table's meta feeds the manifest."""
    tables = [build_age_sex(raw, geo)]

    # TS021 ethnic group: 19 categories at LTLA (direct), 5 high-level groups at LTLA
    # (sum of the 19, so both agree) and at wards (LSOA broad table).
    eth = read_csv(raw, F_TS021_LTLA).filter(pl.col("ethnic_group").str.ends_with(" (number)"))
    eth = eth.select(
        pl.col("ltla21_code").alias("area_code"),
        pl.col("ethnic_group").str.strip_suffix(" (number)").alias("category"),
        pl.col("value").alias("count"),
    )
    expect_categories(eth, ETHNIC_GROUP, F_TS021_LTLA)
    check(eth["area_code"].n_unique() == 331, f"{F_TS021_LTLA}: expected 331 LTLAs")
    detailed = tidy(with_higher_levels(eth, geo), "ethnic_group")
    broad_map = {c: c.split(": ", 1)[0] for c in ETHNIC_GROUP}
    broad = collapse(detailed.with_columns(characteristic=pl.lit("ethnic_group_broad")), broad_map)
    lsoa_eth = lsoa_source(raw, F_TS021_LSOA, "ethnic_group", "total_residents", ETHNIC_GROUP_BROAD)
    ward_broad = from_lsoa(lsoa_eth, "ethnic_group_broad", geo, wards=True).filter(
        pl.col("area_code").str.starts_with("E05") | pl.col("area_code").str.starts_with("W05")
    )
    frame = order_rows(
        pl.concat([detailed, broad.select(detailed.columns), ward_broad]),
        {"ethnic_group": ETHNIC_GROUP, "ethnic_group_broad": ETHNIC_GROUP_BROAD},
    )
    tables.append(
        Table(
            "ts021_ethnic_group",
            frame,
            {
                "title": "Ethnic group",
                "ons_table": "TS021",
                "characteristics": ["ethnic_group", "ethnic_group_broad"],
                "geography_levels": [*EW_LEVELS, "ward (ethnic_group_broad only, approximate)"],
                "population_base": "All usual residents",
                "unit": "persons",
                "released": "29 November 2022",
                "notes": (
                    "LTLA figures for the 19 categories come from ONS's dvc2203 map download "
                    "(via demographr); ethnic_group_broad at LTLA and above is their sum. "
                    "Ward figures are sums of the LSOA 5-group table over best-fit LSOAs."
                ),
                "raw_files": [F_TS021_LTLA, F_TS021_LSOA, F_LK_LSOA, F_LK_WARD],
            },
        )
    )

    # LSOA-only tables: LTLA and above by exact nesting, wards by best fit.
    lsoa_tables = [
        (
            "ts038_disability",
            "disability",
            F_TS038_LSOA,
            "disability",
            "total_residents",
            DISABILITY,
            "TS038",
            "Disability (Equality Act)",
            "All usual residents",
            "persons",
            "19 January 2023",
        ),
        (
            "ts030_religion",
            "religion",
            F_TS030_LSOA,
            "religion",
            "total_residents",
            RELIGION,
            "TS030",
            "Religion",
            "All usual residents",
            "persons",
            "29 November 2022",
        ),
        (
            "ts054_tenure",
            "tenure",
            F_TS054_LSOA,
            "tenure",
            "total_households",
            TENURE,
            "TS054",
            "Tenure (households)",
            "All households (with at least one usual resident)",
            "households",
            "5 January 2023",
        ),
        (
            "ts011_household_deprivation",
            "household_deprivation",
            F_TS011_LSOA,
            "deprivation_dimensions",
            "total_households",
            HOUSEHOLD_DEPRIVATION,
            "TS011",
            "Households by deprivation dimensions",
            "All households (with at least one usual resident)",
            "households",
            "November 2022, Demography and migration topic summaries (day not verified)",
        ),
    ]
    for name, char, rel, col, total, cats, code, title, base, unit, released in lsoa_tables:
        frame = from_lsoa(lsoa_source(raw, rel, col, total, cats), char, geo, wards=True)
        tables.append(
            Table(
                name,
                order_rows(frame, {char: cats}),
                {
                    "title": title,
                    "ons_table": code,
                    "characteristics": [char],
                    "geography_levels": [*EW_LEVELS, "ward (approximate)"],
                    "population_base": base,
                    "unit": unit,
                    "released": released,
                    "notes": (
                        "Aggregated from LSOA21: LTLA by exact nesting (lookup deduplicated on "
                        "lsoa21_code); wards (May 2024) by the best-fit LSOA21-to-ward lookup."
                    ),
                    "raw_files": [rel, F_LK_LSOA, F_LK_WARD],
                },
            )
        )

    # MSOA-only tables.
    care = read_csv(raw, F_TS039_MSOA)
    care_cols = care.columns[3:]
    check(len(care_cols) == 6, f"{F_TS039_MSOA}: expected 6 care columns")
    check(
        max_row_gap(care, care_cols, "total") == 0,
        f"{F_TS039_MSOA}: categories do not add to the total",
    )
    care_long = care.unpivot(index="msoa21cd", on=care_cols, variable_name="col").select(
        pl.col("msoa21cd").alias("msoa21_code"),
        pl.col("col")
        .replace_strict(dict(zip(care_cols, UNPAID_CARE, strict=True)))
        .alias("category"),
        pl.col("value").alias("count"),
    )
    care_detail = from_msoa(care_long, "unpaid_care", geo)
    care_broad = collapse(
        care_detail.with_columns(characteristic=pl.lit("unpaid_care_broad")),
        UNPAID_CARE_TO_BROAD,
    )
    tables.append(
        Table(
            "ts039_unpaid_care",
            order_rows(
                pl.concat([care_detail, care_broad.select(care_detail.columns)]),
                {"unpaid_care": UNPAID_CARE, "unpaid_care_broad": UNPAID_CARE_BROAD},
            ),
            {
                "title": "Provision of unpaid care",
                "ons_table": "TS039",
                "characteristics": ["unpaid_care", "unpaid_care_broad"],
                "geography_levels": [*EW_LEVELS],
                "population_base": "Usual residents aged 5 and over",
                "unit": "persons",
                "released": "19 January 2023",
                "notes": (
                    "Aggregated from MSOA21 (7,264; MSOA-to-LTLA through LSOA21 names, checked "
                    "against geographr's MSOA lookup). unpaid_care_broad merges 9-or-less with "
                    "10-19 hours and 20-34 with 35-49 hours, matching the 16+ custom dataset."
                ),
                "raw_files": [F_TS039_MSOA, F_MSOA_NAMES, F_LK_LSOA, F_LK_MSOA],
            },
        )
    )

    prof = read_csv(raw, F_TS029_MSOA)
    check(prof.height == 7264, f"{F_TS029_MSOA}: expected 7,264 MSOAs")
    subtotal = "Main language is not English (English or Welsh in Wales)"
    check(
        max_row_gap(prof, ENGLISH_PROFICIENCY[1:], subtotal) == 0,
        f"{F_TS029_MSOA}: sub-categories do not add to 'Main language is not English'",
    )
    prof_long = prof.unpivot(
        index="msoa21_code", on=ENGLISH_PROFICIENCY, variable_name="category"
    ).rename({"value": "count"})
    tables.append(
        Table(
            "ts029_english_proficiency",
            order_rows(
                from_msoa(prof_long, "english_proficiency", geo),
                {"english_proficiency": ENGLISH_PROFICIENCY},
            ),
            {
                "title": "Proficiency in English",
                "ons_table": "TS029",
                "characteristics": ["english_proficiency"],
                "geography_levels": [*EW_LEVELS],
                "population_base": "Usual residents aged 3 and over",
                "unit": "persons",
                "released": "29 November 2022",
                "notes": "Aggregated from MSOA21. The 'Main language is not English' subtotal "
                "is dropped (it is the sum of the four categories under it).",
                "raw_files": [F_TS029_MSOA, F_MSOA_NAMES, F_LK_LSOA],
            },
        )
    )

    so = read_csv(raw, F_TS077_MSOA)
    so_long = so.select(
        "msoa21_code", pl.col("sexual_orientation").alias("category"), pl.col("n").alias("count")
    )
    so_gap = so.group_by("msoa21_code").agg(
        (pl.col("n").sum() - pl.col("total_residents").first()).abs().alias("gap")
    )
    check(so_gap["gap"].max() == 0, f"{F_TS077_MSOA}: categories do not add to the total")
    expect_categories(so_long.rename({"msoa21_code": "area_code"}), SEXUAL_ORIENTATION, "TS077")
    tables.append(
        Table(
            "ts077_sexual_orientation",
            order_rows(
                from_msoa(so_long, "sexual_orientation", geo),
                {"sexual_orientation": SEXUAL_ORIENTATION},
            ),
            {
                "title": "Sexual orientation",
                "ons_table": "TS077",
                "characteristics": ["sexual_orientation"],
                "geography_levels": [*EW_LEVELS],
                "population_base": "Usual residents aged 16 and over",
                "unit": "persons",
                "released": "6 January 2023",
                "notes": "Aggregated from MSOA21. TS077 has 4 categories plus 'Not answered' "
                "(Pansexual, Asexual and Queer are inside 'All other sexual orientations'; the "
                "detailed TS079 is not among the raw files).",
                "raw_files": [F_TS077_MSOA, F_MSOA_NAMES, F_LK_LSOA],
            },
        )
    )

    tables.append(build_custom_16plus(raw, geo))
    tables.append(build_nisra(raw))
    return tables


def build_custom_16plus(raw: Path, geo: Geography) -> Table:
    """Margins of the ONS custom-dataset cross-tabs: distributions for usual residents 16+.

    Each characteristic is taken from the cross-tab whose other dimension has the
    fewest non-empty categories, because every cell is perturbed separately and a
    margin adds up that many perturbed cells.
    """
    specs: list[tuple[str, str, str, Sequence[str], dict[str, str] | None, str]] = [
        (
            "gender_identity",
            F_RM_SO_GI,
            "Gender identity (7 categories)",
            GENDER_IDENTITY,
            None,
            "Usual residents aged 16+",
        ),
        (
            "religion",
            F_RM_RELIGION,
            "Religion (10 categories)",
            RELIGION,
            None,
            "Usual residents aged 16+",
        ),
        (
            "ethnic_group_broad",
            F_RM_ETHNIC,
            "Ethnic group (8 categories)",
            ETHNIC_GROUP_BROAD,
            ETHNIC_8_TO_BROAD,
            "Usual residents aged 16+",
        ),
        (
            "disability",
            F_RM_DISABILITY,
            "Disability",
            DISABILITY,
            DISABILITY_4_TO_2,
            "Usual residents aged 16+",
        ),
        (
            "economic_activity",
            F_RM_ECON,
            "Economic activity status (10 categories)",
            ECONOMIC_ACTIVITY,
            None,
            "Usual residents aged 16+",
        ),
        (
            "legal_partnership_status",
            F_RM_LEGAL,
            "Marital and civil partnership status",
            LEGAL_PARTNERSHIP,
            None,
            "Usual residents aged 16+",
        ),
        (
            "unpaid_care_broad",
            F_RM_CARE,
            "Unpaid care (5 categories)",
            UNPAID_CARE_BROAD,
            None,
            "Usual residents aged 16+",
        ),
        (
            "tenure_persons",
            F_RM_TENURE,
            "Tenure of household (5 categories)",
            TENURE_PERSONS,
            None,
            "Usual residents aged 16+ in households",
        ),
    ]
    parts = []
    orders: dict[str, Sequence[str]] = {}
    used: dict[str, dict[str, str]] = {}
    for char, rel, prefix, cats, mapping, universe in specs:
        margin = tidy(custom_margin(raw, rel, prefix), char)
        if mapping is not None:
            margin = collapse(margin, mapping).select(margin.columns)
        expect_categories(margin, cats, rel)
        parts.append(tidy(with_higher_levels(margin, geo), char))
        orders[char] = cats
        used[char] = {"raw_file": rel, "dimension": prefix, "universe": universe}
    frame = order_rows(pl.concat(parts), orders)
    return Table(
        "custom_16plus",
        frame,
        {
            "title": "Distributions for usual residents aged 16+ (ONS custom datasets)",
            "ons_table": ("ONS custom datasets (multivariate; see 'characteristic_sources')"),
            "characteristics": list(orders),
            "characteristic_sources": used,
            "geography_levels": [*EW_LEVELS],
            "population_base": "Usual residents aged 16+ (tenure_persons: those in households)",
            "unit": "persons",
            "released": "ONS 'Create a custom dataset' service (download date not recorded)",
            "notes": (
                "Each characteristic is one margin of a two-way LTLA cross-tab with gender "
                "identity or sexual orientation, taken from the cross-tab whose other "
                "dimension has the fewest categories (fewest perturbed cells per margin). "
                "'Does not apply' (-8) rows are dropped; they are all zero here. ethnic_group "
                "has 8 categories in these downloads and is collapsed to the 5 high-level "
                "groups; disability's two 'Disabled' categories are merged. gender_identity "
                "has 7 categories: 'Non-binary' is inside 'All other gender identities'."
            ),
            "raw_files": [u["raw_file"] for u in used.values()],
        },
    )
