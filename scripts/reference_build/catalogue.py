"""The characteristics catalogue: what the library needs to pick a table for an audit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reference_build.labels import (
    DISABILITY,
    ECONOMIC_ACTIVITY,
    ENGLISH_PROFICIENCY,
    ETHNIC_GROUP,
    ETHNIC_GROUP_BROAD,
    GENDER_IDENTITY,
    GENDER_IDENTITY_CAVEAT,
    HOUSEHOLD_DEPRIVATION,
    LEGAL_PARTNERSHIP,
    NI_ETHNIC_GROUP,
    NI_RELIGION,
    NI_SEXUAL_ORIENTATION,
    RELIGION,
    SEX,
    SEXUAL_ORIENTATION,
    TENURE,
    TENURE_PERSONS,
    UNPAID_CARE,
    UNPAID_CARE_BROAD,
)


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
            # Issue 12: detailed categories fitted to an age-matched margin where one exists.
            "age_matching": {
                "method": "iterative proportional fitting",
                "margin": "ethnic_group_broad",
                "tables": ["ts021_ethnic_group"],
                "note": (
                    "For eligible ages from 16, the 19 categories (all usual residents, TS021) "
                    "are rescaled by iterative proportional fitting so that each of the 5 "
                    "high-level groups adds up to its total for residents aged 16+ (ONS custom "
                    "dataset); the groups nest, so one pass fits exactly. Done when the audit "
                    "runs, from these committed tables."
                ),
            },
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
