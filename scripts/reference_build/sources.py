"""Where the raw files are, what they are, and the licence and attribution lines of each source."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
