"""The area index: every area's code, names (with aliases) and the tables that cover it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from inclusion_audit.reference.census_data import area_name_key
from reference_build.geography import Geography, read_ts007_wide
from reference_build.helpers import check, read_csv, sum_by
from reference_build.labels import ENGLAND, EW_COUNTRY, NI, WALES
from reference_build.sources import (
    F_LA_NAMES,
    F_LK_LTLA23,
    F_LK_REGION21,
    F_LK_REGION23,
    F_LK_WARD,
    F_NI_AGE_SEX,
    F_TS007_CTRY,
    F_TS007_LTLA,
    F_TS007_RGN,
    F_TS021_LSOA,
    MYSOCIETY_ATTRIBUTION,
)
from reference_build.tables_common import Table


def name_aliases(raw: Path, geo: Geography, codes: Iterable[str]) -> dict[str, list[str]]:
    """Other names people use for an authority.

    mySociety's official and everyday names, and ONS's own later (2024) names from
    the ward lookup: TS007 spells W06000016 "Rhondda Cynon Taff", ONS now "Taf".
    """
    wanted = set(codes)
    names = read_csv(raw, F_LA_NAMES, infer_schema_length=0)
    aliases: dict[str, set[str]] = {code: set() for code in wanted}
    for row in names.select("gss-code", "official-name", "nice-name").iter_rows():
        code, official, nice = row
        if code in wanted:
            aliases[code].update(n for n in (official, nice) if n)
    for code, name in geo.wards.select("parent_code", "parent_name").unique().iter_rows():
        if code in wanted:
            aliases[code].add(name)
    return {code: sorted(found) for code, found in aliases.items()}


def build_areas(raw: Path, geo: Geography, tables: list[Table]) -> Table:
    """All areas the library can resolve, with names, hierarchy and population."""
    age = next(t for t in tables if t.name == "age_sex").frame
    ts007 = age.filter(pl.col("source") == "ts007")
    population = sum_by(ts007.select("area_code", "count"), ["area_code"])
    pop = dict(population.iter_rows())

    region_names = dict(read_ts007_wide(raw, F_TS007_RGN).select("area_code", "name").iter_rows())
    country_names = dict(read_ts007_wide(raw, F_TS007_CTRY).select("area_code", "name").iter_rows())
    check(
        set(country_names) == {EW_COUNTRY, ENGLAND, WALES},
        f"{F_TS007_CTRY}: expected K04000001, E92000001, W92000004",
    )
    region_name = {**region_names, WALES: "Wales"}
    rows: list[dict[str, Any]] = []

    def add(
        code: str,
        name: str,
        type_: str,
        parent: str | None,
        region: str | None,
        nation: str,
        population: int | None,
        approximate: bool = False,
        components: list[str] | None = None,
        display: str | None = None,
    ) -> None:
        rows.append(
            {
                "code": code,
                "name": name,
                "display_name": display or name,
                "type": type_,
                "parent_code": parent,
                "region": region,
                "nation": nation,
                "population": population,
                "approximate": approximate,
                "components": components,
            }
        )

    add(
        EW_COUNTRY,
        country_names[EW_COUNTRY],
        "country",
        None,
        None,
        "England and Wales",
        pop[EW_COUNTRY],
    )
    add(ENGLAND, country_names[ENGLAND], "country", EW_COUNTRY, None, "England", pop[ENGLAND])
    add(WALES, country_names[WALES], "country", EW_COUNTRY, "Wales", "Wales", pop[WALES])
    for code, name in sorted(region_names.items()):
        if code.startswith("E12"):
            add(code, name, "region", ENGLAND, name, "England", pop[code])
    for code, name, region_code, country in geo.ltla.select(
        "ltla_code", "name", "region_code", "country_code"
    ).iter_rows():
        nation = "England" if country == ENGLAND else "Wales"
        add(code, name, "ltla", region_code, region_name[region_code], nation, pop[code])

    region23 = dict(read_csv(raw, F_LK_REGION23).select("ltla23_code", "region23_code").iter_rows())
    for (code, name), group in sorted(geo.ltla23.group_by(["ltla23_code", "name"])):
        components = sorted(group["ltla_code"].to_list())
        total = sum(pop[c] for c in components)
        add(
            str(code),
            str(name),
            "ltla23",
            region23[str(code)],
            region_name[region23[str(code)]],
            "England",
            total,
            components=components,
        )

    # Ward population: sum of the best-fit LSOAs' TS021 totals (no single-year age at LSOA).
    lsoa_pop = (
        read_csv(raw, F_TS021_LSOA)
        .unique("lsoa21_code")
        .select("lsoa21_code", pl.col("total_residents").cast(pl.Int64))
        .join(geo.lsoa, on="lsoa21_code")
        .group_by("ward_code")
        .agg(pl.col("total_residents").sum())
    )
    ward_pop = dict(lsoa_pop.iter_rows())
    ltla_region = {
        **dict(geo.ltla.select("ltla_code", "region_code").iter_rows()),
        **region23,
    }
    for code, name, parent, parent_name in geo.wards.sort("ward_code").iter_rows():
        region_code = ltla_region[parent]
        nation = "Wales" if code.startswith("W") else "England"
        add(
            code,
            name,
            "ward",
            parent,
            region_name[region_code],
            nation,
            ward_pop[code],
            approximate=True,
            display=f"{name}, {parent_name}",
        )

    ni = read_csv(raw, F_NI_AGE_SEX)
    for code, name, total in (
        ni.select("ltla21_code", "ltla21_name", pl.col("total_population").cast(pl.Int64))
        .sort("ltla21_code")
        .iter_rows()
    ):
        add(code, name, "lgd", NI, "Northern Ireland", "Northern Ireland", total)
    add(
        NI,
        "Northern Ireland",
        "country",
        None,
        "Northern Ireland",
        "Northern Ireland",
        int(ni["total_population"].sum()),
    )

    frame = pl.DataFrame(
        rows,
        schema={
            "code": pl.String,
            "name": pl.String,
            "display_name": pl.String,
            "type": pl.String,
            "parent_code": pl.String,
            "region": pl.String,
            "nation": pl.String,
            "population": pl.Int64,
            "approximate": pl.Boolean,
            "components": pl.List(pl.String),
        },
    )
    check(frame["code"].n_unique() == frame.height, "duplicate area codes")

    la_codes = frame.filter(pl.col("type").is_in(["ltla", "ltla23", "lgd"]))["code"].to_list()
    aliases = name_aliases(raw, geo, la_codes)
    alias_col: list[list[str]] = []
    for code, name, type_ in frame.select("code", "name", "type").iter_rows():
        found = set(aliases.get(code, []))
        # ONS names such as "Bristol, City of" are also known simply as "Bristol".
        match = re.fullmatch(r"(.+), (City|County) of", name)
        if match:
            found.add(match.group(1))
        found.discard(name)
        alias_col.append(sorted(found) if type_ != "ward" else [])
    frame = frame.with_columns(pl.Series("aliases", alias_col, dtype=pl.List(pl.String)))
    keys = [
        sorted({area_name_key(n) for n in (name, display, *others)})
        for name, display, others in frame.select("name", "display_name", "aliases").iter_rows()
    ]
    frame = frame.with_columns(pl.Series("name_keys", keys, dtype=pl.List(pl.String)))
    coverage: dict[str, set[str]] = {}
    for table in tables:
        column = "source" if table.name == "age_sex" else "characteristic"
        for key, code in table.frame.select(column, "area_code").unique().iter_rows():
            coverage.setdefault(code, set()).add(f"{table.name}:{key}")
    frame = frame.with_columns(
        pl.Series(
            "coverage",
            [sorted(coverage.get(code, ())) for code in frame["code"].to_list()],
            dtype=pl.List(pl.String),
        )
    )
    type_rank = {"country": 0, "region": 1, "ltla": 2, "ltla23": 3, "lgd": 4, "ward": 5}
    frame = (
        frame.with_columns(pl.col("type").replace_strict(type_rank).alias("_rank"))
        .sort(["_rank", "code"])
        .drop("_rank")
    )
    return Table(
        "areas",
        frame,
        {
            "title": "Areas: codes, names, hierarchy and population",
            "ons_table": "TS007 (population); ONS geography lookups",
            "columns": {
                "code": "GSS code",
                "name": "ONS (or NISRA) name",
                "display_name": "name, with the local authority for wards",
                "type": "country | region | ltla | ltla23 | lgd | ward",
                "parent_code": "region (ltla, ltla23), LTLA 2024 (ward), country (region)",
                "region": "English region name, 'Wales' or 'Northern Ireland'",
                "nation": "England, Wales, England and Wales, or Northern Ireland",
                "population": "all usual residents: TS007 total (ltla, region, country; "
                "ltla23 = sum of its 2021 components); sum of best-fit LSOA TS021 totals "
                "(ward, approximate); NISRA MS-A08 total (lgd, Northern Ireland)",
                "approximate": "true for wards (best-fit LSOA aggregation)",
                "components": "ltla23 only: the 2021 LTLA codes it is the sum of",
                "aliases": "other names accepted for the area (mySociety names, 'Bristol' "
                "for 'Bristol, City of')",
                "name_keys": "name, display_name and aliases folded as the library looks "
                "names up (case, accents, dashes, '&', spacing), so it need not fold them all",
                "coverage": "table:key for every table with rows for the area (key: the "
                "characteristic, or in age_sex the source), so the library need not scan the "
                "tables to choose one",
            },
            "geography_levels": [
                "country",
                "region (9 English)",
                "ltla (331, 2021 codes)",
                "ltla23 (4 authorities created April 2023)",
                "ward (May 2024 wards, best-fit from LSOA21)",
                "lgd (11 Northern Ireland LGDs)",
            ],
            "population_base": "All usual residents",
            "unit": "persons",
            "released": "2 November 2022 (TS007)",
            "raw_files": [
                F_TS007_LTLA,
                F_TS007_RGN,
                F_TS007_CTRY,
                F_LK_REGION21,
                F_LK_REGION23,
                F_LK_LTLA23,
                F_LK_WARD,
                F_TS021_LSOA,
                F_NI_AGE_SEX,
                F_LA_NAMES,
            ],
            "extra_attribution": [MYSOCIETY_ATTRIBUTION],
            "nisra": True,
        },
    )
