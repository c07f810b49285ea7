"""Build ``reference_data/`` from the raw ONS and NISRA Census 2021 files.

Usage::

    python scripts/build_reference_data.py --raw ../shared/census2021/raw --out reference_data
    python scripts/build_reference_data.py --knowledge-only --out reference_data

The raw files are the ones described in ``../shared/census2021/PROVENANCE.md``:
ONS outputs collected from public GitHub repositories. The package never reads
them; it reads only what this script writes: tidy long Parquet tables (zstd), a
manifest with per-table provenance, licence, row counts and sha256 checksums, and
a README. The output is deterministic (sorted rows, no timestamps), so a rebuild
from the same raw files gives the same tables and ``tests/test_reference_build.py``
can check the committed copy against a fresh build.

It also writes two files made from the package's own curated knowledge rather
than from the raw files, so that an audit need not parse that knowledge each
time: ``answer_knowledge.json`` (the classification TOML files, checked and
folded) and ``barriers.json`` (``reference_data/barriers.yaml`` as JSON). Each
records the sha256 of what it was made from, and the package reads the curated
files themselves once they no longer match.

Every check below fails the build loudly rather than writing a table that
silently disagrees with the published figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

# The package of this checkout, not whichever one is installed: the knowledge files
# below are made by the code that will read them.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inclusion_audit.barriers import KNOWLEDGE_BASE_FILE, compile_knowledge_base  # noqa: E402
from inclusion_audit.census import area_name_key  # noqa: E402
from inclusion_audit.classifications import write_knowledge_index  # noqa: E402

SCHEMA_VERSION = 1

VINTAGE = "Census 2021 (Census Day 21 March 2021)"
OGL = "Open Government Licence v3.0"
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
ONS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0"
)
NISRA_ATTRIBUTION = (
    "Source: Northern Ireland Statistics and Research Agency (NISRA) licensed under the "
    "Open Government Licence v.3.0"
)
MYSOCIETY_ATTRIBUTION = (
    "Local authority name variants: mySociety uk_local_authority_names_and_codes, "
    "licensed under CC BY 4.0"
)

# Source repositories and commits, as recorded in PROVENANCE.md.
REPOS: dict[str, dict[str, str]] = {
    "lrowleyabel_Census-2021": {
        "repo": "https://github.com/lrowleyabel/Census-2021",
        "commit": "b612754288914e7b64f9ea05288907cb5cdcae98",
        "repo_licence": "none stated (data files only; no code copied)",
    },
    "humaniverse_demographr": {
        "repo": "https://github.com/humaniverse/demographr",
        "commit": "d0417101e5cad5fe1eca059ac60859e9157a29d2",
        "repo_licence": "MIT (package); .rda converted to CSV with pyreadr 0.5.8",
    },
    "humaniverse_geographr": {
        "repo": "https://github.com/humaniverse/geographr",
        "commit": "c026be5cc76cb576358082b53f1f13d69ab577ae",
        "repo_licence": "MIT; .rda converted to CSV with pyreadr 0.5.8",
    },
    "mysociety_uk_local_authority_names_and_codes": {
        "repo": "https://github.com/mysociety/uk_local_authority_names_and_codes",
        "commit": "67ef8b118938678401a452f4f19f669a7221cc73",
        "repo_licence": "data CC BY 4.0, code MIT",
    },
    "nrennie_rainbowR-VisLGBTQ": {
        "repo": "https://github.com/nrennie/rainbowR-VisLGBTQ",
        "commit": "8378f55ab45cadf9c379decc6b5e6da86e3c254f",
        "repo_licence": "none stated (data files only; no code copied)",
    },
}

# Raw files, relative to --raw. Keys are used in the manifest's ``sources`` lists.
F_TS007_LTLA = "lrowleyabel_Census-2021/census2021-ts007-ltla.csv"
F_TS007_RGN = "lrowleyabel_Census-2021/census2021-ts007-rgn.csv"
F_TS007_CTRY = "lrowleyabel_Census-2021/census2021-ts007-ctry.csv"
F_TS039_MSOA = "lrowleyabel_Census-2021/msoa_provision_of_unpaid_care_2021_data.csv"
F_MSOA_NAMES = "lrowleyabel_Census-2021/msoa_age_by_single_year_2021_data.csv"
D = "humaniverse_demographr/csv/"
F_TS021_LTLA = D + "ethnicity21_ltla21.csv"
F_TS021_LSOA = D + "ethnicity21_lsoa21.csv.gz"
F_TS038_LSOA = D + "disability21_lsoa21_ew.csv.gz"
F_TS030_LSOA = D + "religion21_lsoa21.csv.gz"
F_TS054_LSOA = D + "household_tenure21_lsoa21.csv.gz"
F_TS011_LSOA = D + "household_deprivation21_lsoa21.csv.gz"
F_TS077_MSOA = D + "sexualorientation21_msoa21_ew.csv"
F_TS029_MSOA = D + "proficiency21_msoa21.csv"
F_TS009_LTLA = D + "age_gender21_ltla21_ew.csv"
F_NI_AGE_SEX = D + "age_gender_ltla21_ni.csv"
F_NI_ETHNIC = D + "ethnicity21_ltla21_ni.csv"
F_NI_RELIGION = D + "religion21_lgd21_ni.csv"
F_NI_SO = D + "sexualorientation21_lgd21_ni.csv"
G = "humaniverse_geographr/csv/"
F_LK_LSOA = G + "lookup_lsoa11_lsoa21_ltla22.csv.gz"
F_LK_WARD = G + "lookup_lsoa21_ward24_ltla24.csv.gz"
F_LK_REGION21 = G + "lookup_ltla21_region21.csv"
F_LK_REGION23 = G + "lookup_ltla23_region23.csv"
F_LK_LTLA23 = G + "lookup_ltla22_ltla23.csv"
F_LK_MSOA = G + "lookup_msoa11_msoa21_ltla22.csv"
F_LA_NAMES = "mysociety_uk_local_authority_names_and_codes/uk_local_authorities_future.csv"
R = "nrennie_rainbowR-VisLGBTQ/England and Wales/"
F_RM_SO_GI = R + "sexual_genmod.csv"
F_RM_AGE_SEX = R + "Gender modality/genmod_age_sex.csv"
F_RM_RELIGION = R + "Gender modality/genmod_religion.csv"
F_RM_ETHNIC = R + "Gender modality/genmod_ethnic_group.csv"
F_RM_ECON = R + "Gender modality/genmod_economic_activity.csv"
F_RM_DISABILITY = R + "Sexual orientation/sexual_disability.csv"
F_RM_LEGAL = R + "Sexual orientation/sexual_legal_partnership.csv"
F_RM_CARE = R + "Sexual orientation/sexual_unpaid_carer.csv"
F_RM_TENURE = R + "Sexual orientation/sexual_tenure.csv"
F_NI_SO_AGE = "nrennie_rainbowR-VisLGBTQ/Northern Ireland/sexual_age_ni.csv"

# Where each file sits in its source repository (PROVENANCE.md).
REPO_PATHS: dict[str, str] = {
    F_TS007_LTLA: "Data/2021/Other/Age by single year/census2021-ts007-ltla.csv",
    F_TS007_RGN: "Data/2021/Other/Age by single year/census2021-ts007-rgn.csv",
    F_TS007_CTRY: "Data/2021/Other/Age by single year/census2021-ts007-ctry.csv",
    F_TS039_MSOA: "Data/2021/MSOA Data/msoa_provision_of_unpaid_care_2021_data.csv",
    F_MSOA_NAMES: "Data/2021/MSOA Data/msoa_age_by_single_year_2021_data.csv",
    F_LA_NAMES: "data/packages/uk_la_future/uk_local_authorities_future.csv",
}


def repo_path(raw_rel: str) -> str:
    """The file's path in its source repository (``.rda`` for the R data packages)."""
    if raw_rel in REPO_PATHS:
        return REPO_PATHS[raw_rel]
    top, _, rest = raw_rel.partition("/")
    if top.startswith("humaniverse_"):
        stem = Path(rest).name.removesuffix(".gz").removesuffix(".csv")
        return f"data/{stem}.rda"
    if top.startswith("nrennie_"):
        return f"data/raw-data/{rest}"
    return rest


# ---------------------------------------------------------------------------
# Category labels, in ONS (or NISRA) order. These are the exact published labels.

ETHNIC_GROUP = [
    "Asian, Asian British or Asian Welsh: Bangladeshi",
    "Asian, Asian British or Asian Welsh: Chinese",
    "Asian, Asian British or Asian Welsh: Indian",
    "Asian, Asian British or Asian Welsh: Pakistani",
    "Asian, Asian British or Asian Welsh: Other Asian",
    "Black, Black British, Black Welsh, Caribbean or African: African",
    "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    "Black, Black British, Black Welsh, Caribbean or African: Other Black",
    "Mixed or Multiple ethnic groups: White and Asian",
    "Mixed or Multiple ethnic groups: White and Black African",
    "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
    "White: English, Welsh, Scottish, Northern Irish or British",
    "White: Irish",
    "White: Gypsy or Irish Traveller",
    "White: Roma",
    "White: Other White",
    "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group",
]
ETHNIC_GROUP_BROAD = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
]
# The 16+ custom dataset uses an 8-category ethnic group with White split three ways.
ETHNIC_8_TO_BROAD = {
    "Asian, Asian British or Asian Welsh": "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African": (
        "Black, Black British, Black Welsh, Caribbean or African"
    ),
    "Mixed or Multiple ethnic groups": "Mixed or Multiple ethnic groups",
    "White: English, Welsh, Scottish, Northern Irish or British": "White",
    "White: Irish": "White",
    "White: Gypsy or Irish Traveller, Roma or Other White": "White",
    "Other ethnic group": "Other ethnic group",
}
DISABILITY = ["Disabled under the Equality Act", "Not disabled under the Equality Act"]
DISABILITY_4_TO_2 = {
    "Disabled under the Equality Act: Day-to-day activities limited a lot": DISABILITY[0],
    "Disabled under the Equality Act: Day-to-day activities limited a little": DISABILITY[0],
    "Not disabled under the Equality Act": DISABILITY[1],
}
RELIGION = [
    "No religion",
    "Christian",
    "Buddhist",
    "Hindu",
    "Jewish",
    "Muslim",
    "Sikh",
    "Other religion",
    "Not answered",
]
TENURE = [
    "Owned: Owns outright",
    "Owned: Owns with a mortgage or loan",
    "Shared ownership: Shared ownership",
    "Social rented: Rents from council or Local Authority",
    "Social rented: Other social rented",
    "Private rented: Private landlord or letting agency",
    "Private rented: Other private rented",
    "Lives rent free",
]
TENURE_PERSONS = [
    "Owned: Owns outright",
    "Owned: Owns with a mortgage or loan or shared ownership",
    "Rented: Social rented",
    "Private rented or lives rent free",
]
HOUSEHOLD_DEPRIVATION = [
    "Household is not deprived in any dimension",
    "Household is deprived in one dimension",
    "Household is deprived in two dimensions",
    "Household is deprived in three dimensions",
    "Household is deprived in four dimensions",
]
UNPAID_CARE = [
    "Provides no unpaid care",
    "Provides 9 hours or less unpaid care a week",
    "Provides 10 to 19 hours unpaid care a week",
    "Provides 20 to 34 hours unpaid care a week",
    "Provides 35 to 49 hours unpaid care a week",
    "Provides 50 or more hours unpaid care a week",
]
UNPAID_CARE_BROAD = [
    "Provides no unpaid care",
    "Provides 19 or less hours unpaid care a week",
    "Provides 20 to 49 hours unpaid care a week",
    "Provides 50 or more hours unpaid care a week",
]
UNPAID_CARE_TO_BROAD = dict(
    zip(
        UNPAID_CARE,
        [UNPAID_CARE_BROAD[i] for i in (0, 1, 1, 2, 2, 3)],
        strict=True,
    )
)
ENGLISH_PROFICIENCY = [
    "Main language is English (English or Welsh in Wales)",
    "Main language is not English (English or Welsh in Wales): Can speak English very well",
    "Main language is not English (English or Welsh in Wales): Can speak English well",
    "Main language is not English (English or Welsh in Wales): Cannot speak English well",
    "Main language is not English (English or Welsh in Wales): Cannot speak English",
]
SEXUAL_ORIENTATION = [
    "Straight or Heterosexual",
    "Gay or Lesbian",
    "Bisexual",
    "All other sexual orientations",
    "Not answered",
]
GENDER_IDENTITY = [
    "Gender identity the same as sex registered at birth",
    "Gender identity different from sex registered at birth but no specific identity given",
    "Trans woman",
    "Trans man",
    "All other gender identities",
    "Not answered",
]
ECONOMIC_ACTIVITY = [
    "Economically active (excluding full-time students): In employment",
    "Economically active (excluding full-time students): Unemployed: Seeking work or waiting "
    "to start a job already obtained: Available to start working within 2 weeks",
    "Economically active and a full-time student: In employment",
    "Economically active and a full-time student: Unemployed: Seeking work or waiting to "
    "start a job already obtained: Available to start working within 2 weeks",
    "Economically inactive: Retired",
    "Economically inactive: Student",
    "Economically inactive: Looking after home or family",
    "Economically inactive: Long-term sick or disabled",
    "Economically inactive: Other",
]
LEGAL_PARTNERSHIP = [
    "Never married and never registered a civil partnership",
    "Married",
    "In a registered civil partnership",
    "Separated, but still legally married or still legally in a civil partnership",
    "Divorced or formerly in a civil partnership which is now legally dissolved",
    "Widowed or surviving partner from a civil partnership",
]
SEX = ["Female", "Male"]
ALL_PERSONS = "All persons"

# NISRA labels are kept as NISRA publishes them. demographr renamed the MS-B01
# column headers; this maps its names back to the NISRA headers (its data-raw script
# lists both).
NI_ETHNIC_FROM_DEMOGRAPHR = {
    "White": "White",
    "White: Irish Traveller": "Irish Traveller",
    "White: Roma": "Roma",
    "Asian: Indian": "Indian",
    "Asian: Chinese": "Chinese",
    "Asian: Filipino": "Filipino",
    "Asian: Pakistani": "Pakistani",
    "Arab": "Arab",
    "Other Asian": "Other Asian",
    "Black: African": "Black African",
    "Other Black": "Black Other",
    "Mixed ethnic groups": "Mixed",
    "Other ethnicities": "Other ethnicities",
}
NI_ETHNIC_GROUP = list(NI_ETHNIC_FROM_DEMOGRAPHR.values())
NI_RELIGION = [
    "Catholic",
    "Presbyterian Church in Ireland",
    "Church of Ireland",
    "Methodist Church in Ireland",
    "Other Christian (including Christian related)",
    "Other religions",
    "No religion",
    "Religion not stated",
]
NI_SEXUAL_ORIENTATION = [
    "Straight or heterosexual",
    "Gay or lesbian",
    "Bisexual",
    "Other sexual orientation",
    "Prefer not to say",
    "Not stated",
]

GENDER_IDENTITY_CAVEAT = (
    "Census 2021 gender identity estimates were reclassified as 'official statistics in "
    "development' in September 2024 (OSR review; ONS guidance of 26 March 2025): some "
    "respondents, notably those with lower English proficiency, may have misread the "
    "question. Use headline comparisons only, not sub-category shares as precise denominators."
)

EW_COUNTRY = "K04000001"
ENGLAND = "E92000001"
WALES = "W92000004"
NI = "N92000002"

# ---------------------------------------------------------------------------
# Small helpers


class BuildError(RuntimeError):
    """The raw files do not look as PROVENANCE.md describes them."""


def check(condition: bool, message: str) -> None:
    """Fail the build with a message naming the file and what was expected."""
    if not condition:
        raise BuildError(message)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large inputs stay cheap."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_csv(raw: Path, rel: str, **kwargs: Any) -> pl.DataFrame:
    """Read one raw CSV (gzip or plain), failing with the missing path."""
    path = raw / rel
    check(path.is_file(), f"raw file missing: {path}")
    return pl.read_csv(path, **kwargs)


def tidy(frame: pl.DataFrame, characteristic: str, category_col: str = "category") -> pl.DataFrame:
    """Return the long ``area_code, characteristic, category, count`` shape."""
    return frame.select(
        pl.col("area_code"),
        pl.lit(characteristic).alias("characteristic"),
        pl.col(category_col).alias("category"),
        pl.col("count").round(0).cast(pl.Int64),
    )


def sum_by(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Group and sum ``count`` (the frame's only value column)."""
    return frame.group_by(list(keys)).agg(pl.col("count").sum())


def collapse(frame: pl.DataFrame, mapping: dict[str, str]) -> pl.DataFrame:
    """Map categories through ``mapping`` and add up the merged ones."""
    missing = set(frame["category"].unique().to_list()) - set(mapping)
    check(not missing, f"categories without a mapping: {sorted(missing)}")
    mapped = frame.with_columns(pl.col("category").replace_strict(mapping))
    return sum_by(mapped, ["area_code", "characteristic", "category"])


def expect_categories(frame: pl.DataFrame, expected: Sequence[str], what: str) -> None:
    """Every area must carry exactly the expected category set."""
    found = set(frame["category"].unique().to_list())
    check(
        found == set(expected),
        f"{what}: categories {sorted(found ^ set(expected))} differ from the ONS list",
    )
    per_area = frame.group_by("area_code").agg(pl.col("category").n_unique().alias("n"))
    check(
        per_area["n"].min() == len(expected),
        f"{what}: some areas miss categories",
    )


def max_row_gap(frame: pl.DataFrame, parts: Sequence[str], total: str) -> int:
    """Largest absolute difference between a row's parts and its total column."""
    gap = frame.select((pl.sum_horizontal(list(parts)) - pl.col(total)).abs().max())
    return int(gap.item())


def order_rows(frame: pl.DataFrame, orders: dict[str, Sequence[str]]) -> pl.DataFrame:
    """Sort by area, characteristic, then the ONS category order (deterministic)."""
    rank = {(c, cat): i for c, cats in orders.items() for i, cat in enumerate(cats)}
    keys = pl.DataFrame(
        {
            "characteristic": [k[0] for k in rank],
            "category": [k[1] for k in rank],
            "_rank": list(rank.values()),
        },
        schema={"characteristic": pl.String, "category": pl.String, "_rank": pl.Int64},
    )
    joined = frame.join(keys, on=["characteristic", "category"], how="left")
    check(joined["_rank"].null_count() == 0, "a category is missing from the order list")
    return joined.sort(["area_code", "characteristic", "_rank"]).drop("_rank")


# ---------------------------------------------------------------------------
# Geography


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


# ---------------------------------------------------------------------------
# Tables


@dataclass
class Table:
    """One output table plus the manifest facts about it."""

    name: str
    frame: pl.DataFrame
    meta: dict[str, Any]


def lsoa_source(
    raw: Path,
    rel: str,
    category_col: str,
    total_col: str,
    expected: Sequence[str],
) -> pl.DataFrame:
    """Read an LSOA21 table (long: code, total, category, n) and check it adds up."""
    frame = read_csv(raw, rel).select(
        pl.col("lsoa21_code"),
        pl.col(total_col).alias("total"),
        pl.col(category_col).alias("category"),
        pl.col("n").alias("count"),
    )
    check(frame["lsoa21_code"].n_unique() == 35672, f"{rel}: expected 35,672 LSOAs")
    check(set(frame["category"].unique().to_list()) == set(expected), f"{rel}: categories")
    sums = frame.group_by("lsoa21_code").agg(
        (pl.col("count").sum() - pl.col("total").first()).abs().alias("gap")
    )
    check(sums["gap"].max() == 0, f"{rel}: categories do not add up to the LSOA total")
    return frame


def from_lsoa(
    frame: pl.DataFrame, characteristic: str, geo: Geography, wards: bool
) -> pl.DataFrame:
    """Aggregate an LSOA table to LTLA (exact nesting), higher levels and best-fit wards."""
    joined = frame.join(geo.lsoa, on="lsoa21_code", how="left")
    check(joined["ltla_code"].null_count() == 0, f"{characteristic}: LSOA not in lookup")
    ltla = sum_by(joined.rename({"ltla_code": "area_code"}), ["area_code", "category"])
    parts = [with_higher_levels(ltla, geo)]
    if wards:
        parts.append(sum_by(joined.rename({"ward_code": "area_code"}), ["area_code", "category"]))
    return tidy(
        pl.concat([p.select("area_code", "category", "count") for p in parts]), characteristic
    )


def from_msoa(frame: pl.DataFrame, characteristic: str, geo: Geography) -> pl.DataFrame:
    """Aggregate an MSOA21 table (msoa21_code, category, count) to LTLA and above."""
    joined = frame.join(geo.msoa, on="msoa21_code", how="left")
    check(joined["ltla_code"].null_count() == 0, f"{characteristic}: MSOA not in lookup")
    ltla = sum_by(joined.rename({"ltla_code": "area_code"}), ["area_code", "category"])
    return tidy(with_higher_levels(ltla, geo), characteristic)


def custom_margin(raw: Path, rel: str, dimension_prefix: str) -> pl.DataFrame:
    """One margin of an ONS custom-dataset cross-tab (LTLA, usual residents aged 16+).

    The other dimension is summed out. "Does not apply" (-8) rows are dropped; in
    these downloads they are all zero because the population base is already 16+.
    """
    frame = read_csv(raw, rel, infer_schema_length=0)
    cols = frame.columns
    label_cols = [c for c in cols[2:-1] if not c.endswith(" Code")]
    target = [c for c in label_cols if c.startswith(dimension_prefix)]
    check(len(target) == 1, f"{rel}: no single column starting {dimension_prefix!r}")
    code_col = target[0] + " Code"
    dropped = frame.filter(pl.col(code_col) == "-8")
    check(
        dropped["Observation"].cast(pl.Int64).sum() == 0,
        f"{rel}: 'Does not apply' rows are not all zero",
    )
    check(frame[cols[0]].n_unique() == 331, f"{rel}: expected 331 LTLAs")
    return sum_by(
        frame.filter(pl.col(code_col) != "-8").select(
            pl.col(cols[0]).alias("area_code"),
            pl.col(target[0]).alias("category"),
            pl.col("Observation").cast(pl.Int64).alias("count"),
        ),
        ["area_code", "category"],
    )


def source_entry(raw_rel: str, note: str | None = None) -> dict[str, str]:
    """Manifest entry for one raw input: repository, commit, path and local file."""
    top = raw_rel.partition("/")[0]
    entry = {
        "repo": REPOS[top]["repo"],
        "commit": REPOS[top]["commit"],
        "repo_path": repo_path(raw_rel),
        "raw_file": raw_rel,
        "repo_licence": REPOS[top]["repo_licence"],
    }
    if note:
        entry["note"] = note
    return entry


def licence(nisra: bool = False, extra: Iterable[str] = ()) -> dict[str, Any]:
    """The OGL block every table carries; NISRA tables get NISRA's attribution."""
    lines = [NISRA_ATTRIBUTION if nisra else ONS_ATTRIBUTION, *extra]
    return {"name": OGL, "url": OGL_URL, "attribution": lines}


EW_LEVELS = ["ltla", "region", "country (England, Wales, England and Wales)"]


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


# ---------------------------------------------------------------------------
# Areas


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


# ---------------------------------------------------------------------------
# Characteristics catalogue: what the library needs to pick a table for an audit.


def catalogue() -> dict[str, Any]:
    """Per characteristic: label, voluntary flag, caveats and its variants by universe.

    ``variants`` are tried in order; the library picks the one that covers every
    requested area and best matches the eligible age (see docs/reference-data.md).
    """

    def variant(
        table: str,
        universe: str,
        min_age: int | None,
        ons: str,
        categories: Sequence[str],
        not_answered: Sequence[str] = (),
        unit: str = "persons",
        nation: str = "England and Wales",
        caveats: Sequence[str] = (),
    ) -> dict[str, Any]:
        return {
            "table": table,
            "universe": universe,
            "min_age": min_age,
            "ons_table": ons,
            "categories": [c for c in categories if c not in not_answered],
            "not_answered": list(not_answered),
            "unit": unit,
            "nation": nation,
            "caveats": list(caveats),
        }

    custom = "custom_16plus"
    aged16 = "Usual residents aged 16+"
    msoa_note = "Aggregated from MSOA figures, so LTLA totals carry small perturbation noise."
    ni_note = (
        "Northern Ireland figures are NISRA's, with NISRA's own categories "
        "(Census 2021, Northern Ireland)."
    )
    return {
        "age": {
            "label": "Age",
            "voluntary": False,
            "table": "age_sex",
            "caveats": [],
        },
        "sex": {
            "label": "Sex",
            "voluntary": False,
            "table": "age_sex",
            "categories": SEX,
            "caveats": [],
        },
        "ethnic_group": {
            "label": "Ethnic group",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant("ts021_ethnic_group", "All usual residents", 0, "TS021", ETHNIC_GROUP),
                variant(
                    "nisra_northern_ireland",
                    "All usual residents",
                    0,
                    "NISRA MS-B01",
                    NI_ETHNIC_GROUP,
                    nation="Northern Ireland",
                    caveats=[ni_note],
                ),
            ],
        },
        "ethnic_group_broad": {
            "label": "Ethnic group (5 high-level groups)",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant(
                    "ts021_ethnic_group", "All usual residents", 0, "TS021", ETHNIC_GROUP_BROAD
                ),
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Ethnic group (8 categories) by Gender identity "
                    "(4 categories)",
                    ETHNIC_GROUP_BROAD,
                ),
            ],
        },
        "disability": {
            "label": "Disability (Equality Act)",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant("ts038_disability", "All usual residents", 0, "TS038", DISABILITY),
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Disability (4 categories) by Sexual orientation "
                    "(6 categories)",
                    DISABILITY,
                ),
            ],
        },
        "religion": {
            "label": "Religion",
            "voluntary": True,
            "caveats": [],
            "variants": [
                variant(
                    "ts030_religion",
                    "All usual residents",
                    0,
                    "TS030",
                    RELIGION,
                    ["Not answered"],
                ),
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Religion (10 categories) by Gender identity "
                    "(4 categories)",
                    RELIGION,
                    ["Not answered"],
                ),
                variant(
                    "nisra_northern_ireland",
                    "All usual residents",
                    0,
                    "NISRA religion (LGD table)",
                    NI_RELIGION,
                    ["Religion not stated"],
                    nation="Northern Ireland",
                    caveats=[ni_note],
                ),
            ],
        },
        "sexual_orientation": {
            "label": "Sexual orientation",
            "voluntary": True,
            "caveats": [],
            "variants": [
                variant(
                    "ts077_sexual_orientation",
                    aged16,
                    16,
                    "TS077",
                    SEXUAL_ORIENTATION,
                    ["Not answered"],
                    caveats=[msoa_note],
                ),
                variant(
                    "nisra_northern_ireland",
                    aged16,
                    16,
                    "NISRA MS-C01",
                    NI_SEXUAL_ORIENTATION,
                    ["Prefer not to say", "Not stated"],
                    nation="Northern Ireland",
                    caveats=[ni_note],
                ),
            ],
        },
        "gender_identity": {
            "label": "Gender identity",
            "voluntary": True,
            "caveats": [GENDER_IDENTITY_CAVEAT],
            "variants": [
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Gender identity (7 categories) by Sexual orientation "
                    "(4 categories) (TS078 equivalent, with Non-binary inside 'All other "
                    "gender identities')",
                    GENDER_IDENTITY,
                    ["Not answered"],
                ),
            ],
        },
        "unpaid_care": {
            "label": "Provision of unpaid care",
            "voluntary": False,
            "caveats": ["Unpaid care excludes paid care and the care of healthy children."],
            "variants": [
                variant(
                    "ts039_unpaid_care",
                    "Usual residents aged 5+",
                    5,
                    "TS039",
                    UNPAID_CARE,
                    caveats=[msoa_note],
                ),
            ],
        },
        "unpaid_care_broad": {
            "label": "Provision of unpaid care (4 categories)",
            "voluntary": False,
            "caveats": ["Unpaid care excludes paid care and the care of healthy children."],
            "variants": [
                variant(
                    "ts039_unpaid_care",
                    "Usual residents aged 5+",
                    5,
                    "TS039",
                    UNPAID_CARE_BROAD,
                    caveats=[msoa_note],
                ),
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Unpaid care (5 categories) by Sexual orientation "
                    "(6 categories)",
                    UNPAID_CARE_BROAD,
                ),
            ],
        },
        "english_proficiency": {
            "label": "Proficiency in English",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant(
                    "ts029_english_proficiency",
                    "Usual residents aged 3+",
                    3,
                    "TS029",
                    ENGLISH_PROFICIENCY,
                    caveats=[msoa_note],
                ),
            ],
        },
        "tenure": {
            "label": "Tenure (households)",
            "voluntary": False,
            "caveats": [
                "Counts are households, not people: compare with households, or use "
                "tenure_persons for people aged 16+.",
                "ONS advises adding the two social-rented categories together (council and "
                "housing association renting are confused by respondents).",
            ],
            "variants": [
                variant("ts054_tenure", "Households", None, "TS054", TENURE, unit="households"),
            ],
        },
        "tenure_persons": {
            "label": "Tenure of household (people aged 16+)",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant(
                    custom,
                    "Usual residents aged 16+ in households",
                    16,
                    "ONS custom dataset: Tenure of household (5 categories) by Sexual "
                    "orientation (6 categories)",
                    TENURE_PERSONS,
                ),
            ],
        },
        "household_deprivation": {
            "label": "Household deprivation (dimensions)",
            "voluntary": False,
            "caveats": ["Counts are households, not people."],
            "variants": [
                variant(
                    "ts011_household_deprivation",
                    "Households",
                    None,
                    "TS011",
                    HOUSEHOLD_DEPRIVATION,
                    unit="households",
                ),
            ],
        },
        "economic_activity": {
            "label": "Economic activity status",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Economic activity status (10 categories) by Gender "
                    "identity (4 categories)",
                    ECONOMIC_ACTIVITY,
                ),
            ],
        },
        "legal_partnership_status": {
            "label": "Legal partnership status",
            "voluntary": False,
            "caveats": [],
            "variants": [
                variant(
                    custom,
                    aged16,
                    16,
                    "ONS custom dataset: Marital and civil partnership status (7 categories) "
                    "by Sexual orientation (6 categories)",
                    LEGAL_PARTNERSHIP,
                ),
            ],
        },
    }


# ---------------------------------------------------------------------------
# Output


def write_table(table: Table, out: Path) -> dict[str, Any]:
    """Write one Parquet file and return its manifest entry."""
    path = out / f"{table.name}.parquet"
    table.frame.write_parquet(path, compression="zstd", compression_level=19, statistics=False)
    meta = dict(table.meta)
    # 'population_base' in the metas is the detailed universe; the manifest keeps both:
    # the ONS population base (persons or households) and that universe.
    universe = meta.pop("population_base")
    meta["population_base"] = "Households" if meta["unit"] == "households" else "Usual residents"
    meta["universe"] = universe
    raw_files = meta.pop("raw_files")
    nisra = meta.pop("nisra", False)
    extra = meta.pop("extra_attribution", [])
    attribution_extra = [*extra]
    if nisra and table.name != "nisra_northern_ireland":
        attribution_extra.append(NISRA_ATTRIBUTION)
    entry: dict[str, Any] = {
        "file": path.name,
        **meta,
        "vintage": VINTAGE,
        "licence": licence(nisra=table.name == "nisra_northern_ireland", extra=attribution_extra),
        "sources": [source_entry(f) for f in raw_files],
        "rows": table.frame.height,
        "bytes": path.stat().st_size,
        "sha256": sha256_of(path),
    }
    entry.setdefault(
        "columns",
        {
            "area_code": "GSS code (see areas.parquet)",
            "characteristic": "characteristic name (see 'characteristics')",
            "category": "exact ONS (or NISRA) category label",
            "count": "persons or households, see 'unit'",
        },
    )
    return entry


README = """\
# reference_data/

Census 2021 tables the package reads at run time. **Generated** by
`scripts/build_reference_data.py` (`make reference-data`) from the raw files in
`../shared/census2021/raw` (see `../shared/census2021/PROVENANCE.md`); do not edit by hand.
`manifest.json` gives, for each table, the ONS table code, geography levels, population
base, vintage, source repository/file/commit, licence, row count and sha256, plus the
characteristics catalogue the library uses. `docs/reference-data.md` explains the choices.

| file | what | rows |
|---|---|---|
{rows}

`barriers.yaml` is not generated: it is the curated barrier → groups → actions knowledge
base the recommendations come from, edited by hand, with a source for every entry.

`answer_knowledge.json` and `barriers.json` are generated from the package's curated
knowledge (`inclusion_audit/classifications/*.toml` and `barriers.yaml`), not from the raw
files, so that an audit need not parse it: each records the sha256 of its sources, and the
package reads the sources themselves when they have changed since. After editing those,
`make knowledge-data` rewrites just these two, without the raw files.

Licence: {ogl}. {ons}. Northern Ireland figures: {nisra}. {mysociety}.
"""


def write_knowledge(out: Path) -> list[Path]:
    """Write the files made from the package's curated knowledge (no raw files needed)."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        write_knowledge_index(out),
        compile_knowledge_base(ROOT / "reference_data" / KNOWLEDGE_BASE_FILE, out),
    ]


def build(raw: Path, out: Path) -> dict[str, Any]:
    """Build every table into ``out`` and return the manifest (also written there)."""
    check(raw.is_dir(), f"--raw {raw} is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    geo = build_geography(raw)
    tables = build_tables(raw, geo)
    tables.insert(0, build_areas(raw, geo, tables))
    entries = {t.name: write_table(t, out) for t in tables}
    write_knowledge(out)
    all_raw = sorted({f for t in tables for f in t.meta["raw_files"]})
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "title": "inclusion-audit reference data: Census 2021 (England and Wales, Northern "
        "Ireland)",
        "vintage": VINTAGE,
        "built_by": "scripts/build_reference_data.py --raw ../shared/census2021/raw "
        "--out reference_data",
        "licence": {
            "name": OGL,
            "url": OGL_URL,
            "attribution": [ONS_ATTRIBUTION, NISRA_ATTRIBUTION, MYSOCIETY_ATTRIBUTION],
        },
        "tables": entries,
        "characteristics": catalogue(),
        "raw_inputs": {f: sha256_of(raw / f) for f in all_raw},
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    rows = "\n".join(f"| `{e['file']}` | {e['title']} | {e['rows']:,} |" for e in entries.values())
    (out / "README.md").write_text(
        README.format(
            rows=rows,
            ogl=OGL,
            ons=ONS_ATTRIBUTION,
            nisra=NISRA_ATTRIBUTION,
            mysociety=MYSOCIETY_ATTRIBUTION,
        ),
        encoding="utf-8",
    )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints a one-line-per-table summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--raw", type=Path, help="raw Census files directory")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--knowledge-only",
        action="store_true",
        help="only rewrite answer_knowledge.json and barriers.json, after editing the "
        "classification TOML files or barriers.yaml (needs no raw files)",
    )
    args = parser.parse_args(argv)
    if args.knowledge_only:
        for path in write_knowledge(args.out):
            print(f"{path.name:32} {path.stat().st_size / 1024:>22.1f} KiB")
        return 0
    if args.raw is None:
        parser.error("--raw is required (unless --knowledge-only)")
    started = time.perf_counter()
    try:
        manifest = build(args.raw, args.out)
    except BuildError as exc:
        print(f"build_reference_data: {exc}", file=sys.stderr)
        return 1
    total = 0
    for name, entry in manifest["tables"].items():
        total += entry["bytes"]
        print(f"{name:32} {entry['rows']:>8,} rows {entry['bytes'] / 1024:>8.1f} KiB")
    print(f"{'total':32} {'':>13} {total / 1024:>8.1f} KiB in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
