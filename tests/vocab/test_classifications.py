"""Classification knowledge: columns recognised from headers, answers placed exactly.

The synonym tables are checked against the shipped Census labels (so a typo in the
data cannot silently create a category the reference does not have), the known
pitfalls are pinned, and property tests show that nothing is ever placed by a
near-miss guess.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inclusion_audit.ingest.readers import answer_counts, read_table
from inclusion_audit.reference import census
from inclusion_audit.vocab import classifications, columns
from inclusion_audit.vocab import knowledge as vocab_knowledge
from inclusion_audit.vocab.answer_keys import answer_key
from inclusion_audit.vocab.classifications import (
    BROADER_CHARACTERISTIC,
    PLACEMENT_KINDS,
    REFERENCE_CHARACTERISTIC,
    closest_categories,
    parse_age_span,
    place_answer,
    synonyms_for,
)
from inclusion_audit.vocab.columns import guess_column
from inclusion_audit.vocab.knowledge import (
    COLUMN_KINDS,
    INDEX_FILE,
    knowledge_index,
    write_knowledge_index,
)

from ..conftest import REPO

DATA = REPO / "inclusion_audit" / "vocab" / "data"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGISTERS = FIXTURES / "registers"

WB = "White: English, Welsh, Scottish, Northern Irish or British"
ASIAN = "Asian, Asian British or Asian Welsh"
BLACK = "Black, Black British, Black Welsh, Caribbean or African"
MIXED = "Mixed or Multiple ethnic groups"
OTHER = "Other ethnic group"
NOT_ENGLISH = "Main language is not English (English or Welsh in Wales)"


@cache
def categories(name: str) -> tuple[str, ...]:
    """The shipped Census categories of a characteristic, as the audit sees them."""
    reference = REFERENCE_CHARACTERISTIC.get(name, name)
    profile = census.census_profile(census.resolve_areas(["Lambeth"]), reference)
    return tuple(profile.categories)


def place(name: str, answer: str | None) -> tuple[str, str | None]:
    placement = place_answer(name, answer, categories(name))
    return placement.kind, placement.category


@cache
def synonym_data() -> dict[str, object]:
    return tomllib.loads((DATA / "synonyms.toml").read_text(encoding="utf-8"))


def curated_answers() -> Iterator[tuple[str, str, str]]:
    """(characteristic, answer as written in synonyms.toml, ONS label it maps to)."""
    sections = synonym_data()["synonym"]
    assert isinstance(sections, dict)
    for name, entries in sections.items():
        for entry in entries:
            for answer in [*entry.get("answers", []), *entry.get("codes", [])]:
                yield name, answer, entry["maps_to"]


SHIPPED = [
    "age",
    "sex",
    "ethnic_group",
    "ethnic_group_broad",
    "disability",
    "religion",
    "sexual_orientation",
    "gender_identity",
    "unpaid_care",
    "unpaid_care_broad",
    "english_proficiency",
    "tenure",
    "tenure_persons",
    "economic_activity",
    "legal_partnership_status",
    "household_deprivation",
]
WITH_SYNONYMS = [
    "sex",
    "ethnic_group",
    "disability",
    "religion",
    "sexual_orientation",
    "gender_identity",
    "trans_status",
    "unpaid_care",
    "english_proficiency",
    "tenure",
    "economic_activity",
    "legal_partnership_status",
]


# ---------------------------------------------------------------------------
# Columns


HEADERS: list[tuple[str, str, str | None, bool]] = [
    # (header, kind, characteristic, approximate)
    ("What is your ethnic group?", "characteristic", "ethnic_group", False),
    ("Ethnicity", "characteristic", "ethnic_group", False),
    ("Ethnic origin", "characteristic", "ethnic_group", False),
    ("Ethnic background", "characteristic", "ethnic_group", False),
    ("ethnic_group", "characteristic", "ethnic_group", False),
    ("Ethnic group broad", "characteristic", "ethnic_group_broad", False),
    ("Q5. What is your ethnic group? (optional)", "characteristic", "ethnic_group", False),
    ("Ethnic group - Please select one", "characteristic", "ethnic_group", False),
    (
        "What is your ethnic group? (Choose one option that best describes your ethnic group "
        "or background)",
        "characteristic",
        "ethnic_group",
        False,
    ),
    ("Ethnic Category Code", "characteristic", "ethnic_group", False),
    ("Grŵp ethnig", "characteristic", "ethnic_group", False),
    ("Grŵp ethnig / Ethnic group", "characteristic", "ethnic_group", False),
    (
        "Which of the following best describes your sexual orientation?",
        "characteristic",
        "sexual_orientation",
        False,
    ),
    ("Sexual orientation", "characteristic", "sexual_orientation", False),
    ("Sexuality", "characteristic", "sexual_orientation", False),
    ("Cyfeiriadedd rhywiol", "characteristic", "sexual_orientation", False),
    ("Age", "characteristic", "age", False),
    ("Age group", "characteristic", "age", False),
    ("age_band", "characteristic", "age", False),
    ("How old are you?", "characteristic", "age", False),
    ("What is your age?", "characteristic", "age", False),
    ("Age (years)", "characteristic", "age", False),
    ("Oedran", "characteristic", "age", False),
    ("3) Age range", "characteristic", "age", False),
    ("Sex", "characteristic", "sex", False),
    ("sex", "characteristic", "sex", False),
    ("What is your sex?", "characteristic", "sex", False),
    ("Rhyw", "characteristic", "sex", False),
    ("What was your sex at birth?", "characteristic", "sex", False),
    ("Gender", "characteristic", "sex", True),
    ("What is your gender?", "characteristic", "sex", True),
    ("What is your gender identity?", "characteristic", "sex", True),
    ("Sex / Gender", "characteristic", "sex", True),
    (
        "Is the gender you identify with the same as your sex registered at birth?",
        "characteristic",
        "gender_identity",
        False,
    ),
    ("Gender identity", "characteristic", "gender_identity", False),
    ("Are you trans?", "characteristic", "trans_status", False),
    ("Do you identify as trans?", "characteristic", "trans_status", False),
    (
        "Is your gender identity different from the sex you were assigned at birth?",
        "characteristic",
        "trans_status",
        False,
    ),
    ("Do you consider yourself to have a disability?", "characteristic", "disability", True),
    ("Do you consider yourself to be disabled?", "characteristic", "disability", True),
    ("Disabled?", "characteristic", "disability", True),
    ("Anabledd", "characteristic", "disability", True),
    ("Disability", "characteristic", "disability", False),
    (
        "Are your day-to-day activities limited because of a health problem or disability "
        "which has lasted, or is expected to last, at least 12 months? Include problems "
        "related to old age.",
        "characteristic",
        "disability",
        False,
    ),
    (
        "Do you have any physical or mental health conditions or illnesses lasting or expected "
        "to last 12 months or more?",
        "characteristic",
        "disability",
        True,
    ),
    ("Religion or belief", "characteristic", "religion", False),
    ("What is your religion?", "characteristic", "religion", False),
    ("Religion", "characteristic", "religion", False),
    ("Crefydd", "characteristic", "religion", False),
    ("Faith", "characteristic", "religion", False),
    (
        "Do you look after, or give any help or support to, anyone because they have long-term "
        "physical or mental health conditions or illnesses, or problems related to old age?",
        "characteristic",
        "unpaid_care",
        False,
    ),
    ("Do you have caring responsibilities?", "characteristic", "unpaid_care", True),
    ("Are you a carer?", "characteristic", "unpaid_care", True),
    ("Do you care for someone with a disability?", "characteristic", "unpaid_care", True),
    ("Housing tenure", "characteristic", "tenure", False),
    ("Do you own or rent your home?", "characteristic", "tenure", False),
    ("Tenure", "characteristic", "tenure", False),
    ("Employment status", "characteristic", "economic_activity", False),
    (
        "Which of the following best describes your current employment status?",
        "characteristic",
        "economic_activity",
        False,
    ),
    ("Marital status", "characteristic", "legal_partnership_status", False),
    ("Relationship status", "characteristic", "legal_partnership_status", True),
    ("How well can you speak English?", "characteristic", "english_proficiency", True),
    ("What is your main language?", "characteristic", "english_proficiency", True),
    ("Date of birth", "date_of_birth", None, False),
    ("DOB", "date_of_birth", None, False),
    ("Dyddiad geni", "date_of_birth", None, False),
    ("birthyear", "date_of_birth", None, True),
    ("Year of birth", "date_of_birth", None, True),
    ("Timestamp", "timestamp", None, False),
    ("Start time", "timestamp", None, False),
    ("Completion time", "timestamp", None, False),
    ("Last modified time", "timestamp", None, False),
    ("created_at", "timestamp", None, False),
    ("Submitted", "timestamp", None, False),
    ("Order Date", "timestamp", None, False),
    ("Session date", "event_date", None, False),
    ("Event", "event", None, False),
    ("Event name", "event", None, False),
    ("Session", "event", None, False),
    ("Workshop", "event", None, False),
    ("Which session did you attend?", "event", None, False),
    ("Email address", "identifying", None, False),
    ("Email", "identifying", None, False),
    ("E-bost", "identifying", None, False),
    ("What is your email address?", "identifying", None, False),
    ("Name", "identifying", None, False),
    ("First Name", "identifying", None, False),
    ("first_name", "identifying", None, False),
    ("Surname", "identifying", None, False),
    ("Last name", "identifying", None, False),
    ("Full name", "identifying", None, False),
    ("Enw", "identifying", None, False),
    ("Phone", "identifying", None, False),
    ("Telephone number", "identifying", None, False),
    ("Mobile", "identifying", None, False),
    ("Address", "identifying", None, False),
    ("Home address", "identifying", None, False),
    ("Postcode", "identifying", "postcode", False),
    ("What is your postcode?", "identifying", "postcode", False),
    ("Cod post", "identifying", "postcode", False),
    ("ID", "identifying", None, False),
    ("Eventbrite: Attendee #", "identifying", None, False),
    ("Attendee #", "identifying", None, False),
    ("Order #", "identifying", None, False),
    ("Barcode #", "identifying", None, False),
    ("Response ID", "identifying", None, False),
    ("Participant ID", "identifying", None, False),
    ("NHS Number", "identifying", None, False),
    ("domicile", "identifying", None, False),
    ("Any other comments?", "free_text", None, False),
    ("Please tell us more", "free_text", None, False),
    ("Comments", "free_text", None, False),
    ("If other, please specify", "free_text", None, False),
    ("What is your ethnic group? - Other (please specify)", "free_text", None, False),
    ("If you prefer to self-describe, please do so here", "free_text", None, False),
    ("Is there anything else you would like to tell us?", "free_text", None, False),
    ("Sylwadau", "free_text", None, False),
    ("education", "characteristic", "highest_qualification", False),
    ("How did you hear about this event?", "ignore", None, False),
    ("Ticket Type", "ignore", None, False),
    ("Favourite colour", "ignore", None, False),
    ("", "ignore", None, False),
]


@pytest.mark.parametrize(("header", "kind", "characteristic", "approximate"), HEADERS)
def test_guess_column(
    header: str, kind: str, characteristic: str | None, approximate: bool
) -> None:
    guess = guess_column(header)
    assert (guess.kind, guess.characteristic) == (kind, characteristic)
    assert (guess.approximate is not None) == approximate
    assert guess.kind in COLUMN_KINDS
    assert repr(header) in guess.reason


# Recognised so that they are reported as not audited (or audited against a
# population file), though the shipped Census data has no figures for them.
WITHOUT_CENSUS_FIGURES = {"highest_qualification", "welsh_language", "community_background"}


def test_every_guessed_characteristic_can_be_placed() -> None:
    """A column guess names a characteristic the knowledge (or age parsing) serves."""
    for header, kind, characteristic, _ in HEADERS:
        if kind == "characteristic" and characteristic not in WITHOUT_CENSUS_FIGURES:
            assert characteristic is not None
            assert characteristic == "age" or synonyms_for(characteristic), header


# ---------------------------------------------------------------------------
# The knowledge agrees with the shipped Census data


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_category_is_in_the_classification(name: str) -> None:
    if name == "age":
        assert all(parse_age_span(c) is not None for c in categories(name))
        return
    labels = set(synonyms_for(name).values())
    for category in categories(name):
        assert category in labels
        assert place(name, category) == ("category", category)


@pytest.mark.parametrize(
    ("name", "answer", "label"),
    list(curated_answers()),
    ids=lambda value: str(value)[:40],
)
def test_every_curated_synonym_places_in_the_shipped_labels(
    name: str, answer: str, label: str
) -> None:
    """Each wording lands on its label, or at the level the shipped table has it.

    A nation's own classification (``ethnic_group_ni``) is checked against that
    nation's table, through the characteristic it varies.
    """
    if name.endswith("_ni"):
        name = name.removesuffix("_ni")
        profile = census.census_profile(census.resolve_areas(["Belfast"]), name)
        shipped = tuple(profile.categories)
    else:
        shipped = categories(name)
    placement = place_answer(name, answer, shipped)
    assert placement.kind in {"category", "broad_only"}, placement
    if label in shipped:
        assert placement.category == label
    if placement.kind == "category":
        assert placement.category in shipped
    else:
        assert placement.category is None and placement.broad is not None
        assert placement.note


@pytest.mark.parametrize("name", WITH_SYNONYMS)
def test_every_synonym_key_is_placed_without_guessing(name: str) -> None:
    shipped = categories(name)
    table = synonyms_for(name)
    assert table
    for key, label in table.items():
        assert answer_key(key) == key
        placement = place_answer(name, key, shipped)
        assert placement.kind in {"category", "broad_only"}, (key, placement)
        if label in shipped:
            assert placement.category == label, key


@pytest.mark.parametrize("name", sorted(BROADER_CHARACTERISTIC))
def test_answers_that_are_broad_only_place_in_the_broader_reference(name: str) -> None:
    broader = BROADER_CHARACTERISTIC[name]
    detailed, coarse = categories(name), categories(broader)
    for key in synonyms_for(name):
        if place_answer(name, key, detailed).kind == "broad_only":
            assert place_answer(broader, key, coarse).kind in {"category", "broad_only"}


def test_synonym_counts_cover_every_form_characteristic() -> None:
    counts = {name: len(synonyms_for(name)) for name in WITH_SYNONYMS}
    assert all(count >= 10 for count in counts.values()), counts


def test_every_curated_entry_names_its_source() -> None:
    data = synonym_data()
    for section in ("synonym", "heading", "unplaceable"):
        block = data[section]
        assert isinstance(block, dict)
        for name, entries in block.items():
            for entry in entries:
                assert entry.get("source"), (section, name, entry)


# ---------------------------------------------------------------------------
# Pitfalls and exact labels


@pytest.mark.parametrize(
    ("name", "answer", "kind", "category"),
    [
        # Chinese is Asian in 2011 and 2021, whatever the NHS / 2001 scheme says.
        ("ethnic_group", "Chinese", "category", f"{ASIAN}: Chinese"),
        ("ethnic_group", "R", "category", f"{ASIAN}: Chinese"),
        ("ethnic_group", "Other Ethnic Groups - Chinese", "category", f"{ASIAN}: Chinese"),
        ("ethnic_group", "Asian/Asian British: Chinese", "category", f"{ASIAN}: Chinese"),
        # Arab is Other, not Asian.
        ("ethnic_group", "Arab", "category", "Other ethnic group: Arab"),
        ("ethnic_group", "Other ethnic group: Arab", "category", "Other ethnic group: Arab"),
        ("ethnic_group_broad", "Arab", "category", OTHER),
        ("ethnic_group", "BAME", "unplaceable", None),
        ("ethnic_group", "BME", "unplaceable", None),
        ("ethnic_group", "Ethnic minority", "unplaceable", None),
        ("ethnic_group", "Non-white", "unplaceable", None),
        ("ethnic_group", "Other", "unplaceable", None),
        ("ethnic_group", "Other (please specify)", "unplaceable", None),
        ("ethnic_group_broad", "Other", "unplaceable", None),
        ("ethnic_group", "British", "unplaceable", None),
        ("religion", "Other", "category", "Other religion"),
        ("religion", "Other (please specify)", "category", "Other religion"),
        ("religion", "Orthodox", "unplaceable", None),
        ("religion", "Greek Orthodox", "category", "Christian"),
        ("sex", "Non-binary", "unplaceable", None),
        ("sex", "Nonbinary", "unplaceable", None),
        ("sex", "unspecified", "unplaceable", None),
        ("gender_identity", "Non-binary", "category", "All other gender identities"),
        ("gender_identity", "Woman", "unplaceable", None),
        ("trans_status", "Yes", "broad_only", None),
        ("trans_status", "No", "category", "Gender identity the same as sex registered at birth"),
        (
            "gender_identity",
            "Yes",
            "category",
            "Gender identity the same as sex registered at birth",
        ),
        ("gender_identity", "No", "broad_only", None),
        ("gender_identity", "Trans woman", "category", "Trans woman"),
    ],
)
def test_pitfalls(name: str, answer: str, kind: str, category: str | None) -> None:
    assert place(name, answer) == (kind, category)


def test_unplaceable_answers_say_why() -> None:
    for name, answer in [
        ("ethnic_group", "BAME"),
        ("ethnic_group", "Other"),
        ("sex", "Non-binary"),
        ("tenure", "Renting"),
        ("legal_partnership_status", "Cohabiting"),
    ]:
        placement = place_answer(name, answer, categories(name))
        assert placement.kind == "unplaceable"
        assert placement.note and placement.category is None
    assert "gender identity" in (place_answer("sex", "Non-binary", categories("sex")).note or "")


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("White British", WB),
        ("White - English/Welsh/Scottish/Northern Irish/British", WB),
        ("White – English/Welsh/Scottish/Northern Irish/British", WB),
        ("White: English/Welsh/Scottish/Northern Irish/British", WB),
        ("White: Welsh, English, Scottish, Northern Irish or British", WB),
        ("WHITE - BRITISH", WB),
        ("A", WB),
        ("B", "White: Irish"),
        ("White Irish", "White: Irish"),
        ("Irish", "White: Irish"),
        ("Gypsy or Irish Traveller", "White: Gypsy or Irish Traveller"),
        ("White: Gypsy or Irish Traveller", "White: Gypsy or Irish Traveller"),
        ("Gypsy/Romany/Irish Traveller", "White: Gypsy or Irish Traveller"),
        ("Roma", "White: Roma"),
        ("Polish", "White: Other White"),
        ("Eastern European", "White: Other White"),
        ("White: Any other White background", "White: Other White"),
        ("White Other", "White: Other White"),
        ("C", "White: Other White"),
        ("D", f"{MIXED}: White and Black Caribbean"),
        ("E", f"{MIXED}: White and Black African"),
        ("F", f"{MIXED}: White and Asian"),
        ("G", f"{MIXED}: Other Mixed or Multiple ethnic groups"),
        (
            "Mixed/Multiple ethnic groups: White and Black Caribbean",
            f"{MIXED}: White and Black Caribbean",
        ),
        ("Mixed - White & Asian", f"{MIXED}: White and Asian"),
        (
            "Mixed/Multiple ethnic groups: Any other Mixed/Multiple ethnic background",
            f"{MIXED}: Other Mixed or Multiple ethnic groups",
        ),
        ("H", f"{ASIAN}: Indian"),
        ("Asian/Asian British: Indian", f"{ASIAN}: Indian"),
        ("Asian or Asian British - Indian", f"{ASIAN}: Indian"),
        ("J", f"{ASIAN}: Pakistani"),
        ("K", f"{ASIAN}: Bangladeshi"),
        ("Asian/Asian Welsh/Asian British: Bangladeshi", f"{ASIAN}: Bangladeshi"),
        ("Asian, Asian Welsh or Asian British: Bangladeshi", f"{ASIAN}: Bangladeshi"),
        ("L", f"{ASIAN}: Other Asian"),
        ("Asian/Asian British: Any other Asian background", f"{ASIAN}: Other Asian"),
        ("M", f"{BLACK}: Caribbean"),
        ("N", f"{BLACK}: African"),
        ("Black/African/Caribbean/Black British: African", f"{BLACK}: African"),
        ("Black African", f"{BLACK}: African"),
        ("Black or Black British – Caribbean", f"{BLACK}: Caribbean"),
        ("P", f"{BLACK}: Other Black"),
        (
            "Black/African/Caribbean/Black British: Any other Black/African/Caribbean background",
            f"{BLACK}: Other Black",
        ),
        ("S", "Other ethnic group: Any other ethnic group"),
        (
            "Other ethnic group: Any other ethnic group",
            "Other ethnic group: Any other ethnic group",
        ),
        ("Any other ethnic group (please describe)", "Other ethnic group: Any other ethnic group"),
    ],
)
def test_ethnic_group_wordings(answer: str, category: str) -> None:
    assert place("ethnic_group", answer) == ("category", category)


@pytest.mark.parametrize(
    ("answer", "broad"),
    [
        ("Asian/Asian British", ASIAN),
        ("Asian British", ASIAN),
        ("Black British", BLACK),
        ("Mixed race", MIXED),
        ("Dual heritage", MIXED),
        ("Mixed/Multiple ethnic groups", MIXED),
        ("White", "White"),
        ("White European", "White"),
        ("Gypsy/Roma", "White"),
        ("Other ethnic group", OTHER),
    ],
)
def test_answers_that_fit_only_a_high_level_group(answer: str, broad: str) -> None:
    detailed = place_answer("ethnic_group", answer, categories("ethnic_group"))
    assert (detailed.kind, detailed.category, detailed.broad) == ("broad_only", None, broad)
    assert detailed.note
    coarse = place_answer("ethnic_group_broad", answer, categories("ethnic_group_broad"))
    if broad in categories("ethnic_group_broad"):
        assert (coarse.kind, coarse.category) == ("category", broad)


def test_every_detailed_ethnic_group_has_its_high_level_group() -> None:
    broad_labels = categories("ethnic_group_broad")
    for category in categories("ethnic_group"):
        placement = place_answer("ethnic_group", category, categories("ethnic_group"))
        expected = category.split(": ", 1)[0]
        assert placement.broad == expected
        assert placement.broad in broad_labels
        assert place("ethnic_group_broad", category) == ("category", expected)
    arab = place_answer("ethnic_group", "Arab", categories("ethnic_group"))
    assert arab.broad == OTHER


@pytest.mark.parametrize(
    ("name", "answer", "kind", "category"),
    [
        ("religion", "Church of England", "category", "Christian"),
        ("religion", "Catholic", "category", "Christian"),
        ("religion", "Methodist", "category", "Christian"),
        ("religion", "Islam", "category", "Muslim"),
        ("religion", "Judaism", "category", "Jewish"),
        ("religion", "None", "category", "No religion"),
        ("religion", "Atheist", "category", "No religion"),
        ("religion", "Agnostic", "category", "No religion"),
        ("religion", "Humanist", "category", "No religion"),
        ("religion", "Pagan", "category", "Other religion"),
        ("religion", "Jain", "category", "Other religion"),
        ("religion", "Ravidassia", "category", "Other religion"),
        ("religion", "Rastafarian", "category", "Other religion"),
        ("religion", "Spiritual", "category", "Other religion"),
        ("sexual_orientation", "Heterosexual", "category", "Straight or Heterosexual"),
        ("sexual_orientation", "Straight", "category", "Straight or Heterosexual"),
        ("sexual_orientation", "Gay man", "category", "Gay or Lesbian"),
        ("sexual_orientation", "Gay woman/lesbian", "category", "Gay or Lesbian"),
        ("sexual_orientation", "Gay woman / Lesbian", "category", "Gay or Lesbian"),
        ("sexual_orientation", "Lesbian", "category", "Gay or Lesbian"),
        ("sexual_orientation", "Bi", "category", "Bisexual"),
        ("sexual_orientation", "Pan", "category", "All other sexual orientations"),
        ("sexual_orientation", "Pansexual", "category", "All other sexual orientations"),
        ("sexual_orientation", "Ace", "category", "All other sexual orientations"),
        ("sexual_orientation", "Asexual", "category", "All other sexual orientations"),
        ("sexual_orientation", "Queer", "category", "All other sexual orientations"),
        (
            "sexual_orientation",
            "Prefer to self-describe",
            "category",
            "All other sexual orientations",
        ),
        ("sexual_orientation", "Other", "category", "All other sexual orientations"),
        ("disability", "Yes", "category", "Disabled under the Equality Act"),
        ("disability", "No", "category", "Not disabled under the Equality Act"),
        ("disability", "Yes, limited a lot", "category", "Disabled under the Equality Act"),
        ("disability", "Yes, limited a little", "category", "Disabled under the Equality Act"),
        ("disability", "Not at all", "category", "Not disabled under the Equality Act"),
        ("sex", "F", "category", "Female"),
        ("sex", "M", "category", "Male"),
        ("sex", "Woman", "category", "Female"),
        ("sex", "Man", "category", "Male"),
        ("sex", "female", "category", "Female"),
        ("sex", "MALE", "category", "Male"),
        ("sex", "Benyw", "category", "Female"),
        (
            "tenure",
            "Council tenant",
            "category",
            "Social rented: Rents from council or Local Authority",
        ),
        ("tenure", "Housing association", "category", "Social rented: Other social rented"),
        ("tenure", "Owns outright", "category", "Owned: Owns outright"),
        ("tenure", "Own with a mortgage", "category", "Owned: Owns with a mortgage or loan"),
        ("tenure", "Shared ownership", "category", "Shared ownership: Shared ownership"),
        (
            "tenure",
            "Rent from a private landlord",
            "category",
            "Private rented: Private landlord or letting agency",
        ),
        ("tenure", "Lives here rent-free", "category", "Lives rent free"),
        ("tenure", "Homeowner", "broad_only", None),
        ("tenure", "Private renter", "broad_only", None),
        ("tenure", "Social housing", "broad_only", None),
        ("tenure", "Renting", "unplaceable", None),
        ("tenure_persons", "Council tenant", "category", "Rented: Social rented"),
        ("tenure_persons", "Housing association", "category", "Rented: Social rented"),
        ("tenure_persons", "Private renter", "category", "Private rented or lives rent free"),
        (
            "tenure_persons",
            "Shared ownership",
            "category",
            "Owned: Owns with a mortgage or loan or shared ownership",
        ),
        ("tenure_persons", "Homeowner", "broad_only", None),
        ("unpaid_care", "No", "category", "Provides no unpaid care"),
        ("unpaid_care", "Yes", "broad_only", None),
        (
            "unpaid_care",
            "Yes, 9 hours a week or less",
            "category",
            "Provides 9 hours or less unpaid care a week",
        ),
        (
            "unpaid_care",
            "Yes, 50 or more hours a week",
            "category",
            "Provides 50 or more hours unpaid care a week",
        ),
        ("unpaid_care", "Yes, 1-19 hours a week", "broad_only", None),
        (
            "unpaid_care_broad",
            "Yes, 1–19 hours a week",
            "category",
            "Provides 19 or less hours unpaid care a week",
        ),
        (
            "unpaid_care_broad",
            "Yes, 10 to 19 hours a week",
            "category",
            "Provides 19 or less hours unpaid care a week",
        ),
        (
            "english_proficiency",
            "English",
            "category",
            "Main language is English (English or Welsh in Wales)",
        ),
        (
            "english_proficiency",
            "Very well",
            "category",
            f"{NOT_ENGLISH}: Can speak English very well",
        ),
        ("english_proficiency", "Not at all", "category", f"{NOT_ENGLISH}: Cannot speak English"),
        ("economic_activity", "Retired", "category", "Economically inactive: Retired"),
        (
            "economic_activity",
            "Self-employed",
            "category",
            "Economically active (excluding full-time students): In employment",
        ),
        ("economic_activity", "Other", "unplaceable", None),
        (
            "legal_partnership_status",
            "Divorced",
            "category",
            "Divorced or formerly in a civil partnership which is now legally dissolved",
        ),
        (
            "legal_partnership_status",
            "Civil partnership",
            "category",
            "In a registered civil partnership",
        ),
        ("legal_partnership_status", "Married/civil partnership", "broad_only", None),
        ("legal_partnership_status", "Cohabiting", "unplaceable", None),
    ],
)
def test_other_characteristics(name: str, answer: str, kind: str, category: str | None) -> None:
    assert place(name, answer) == (kind, category)


@pytest.mark.parametrize(
    ("name", "answer", "approximate"),
    [
        ("disability", "Yes", True),
        ("disability", "No", True),
        ("disability", "Yes, limited a lot", False),
        ("sex", "Woman", True),
        ("sex", "Female", False),
        ("ethnic_group", "C", True),
        ("ethnic_group", "S", True),
        ("ethnic_group", "White: Any other White background", False),
        ("economic_activity", "Employed", True),
        ("economic_activity", "Retired", False),
        ("legal_partnership_status", "Single", True),
        ("legal_partnership_status", "Never married", False),
    ],
)
def test_approximate_mappings_carry_a_note(name: str, answer: str, approximate: bool) -> None:
    placement = place_answer(name, answer, categories(name))
    assert placement.kind == "category"
    assert (placement.note is not None) == approximate


# ---------------------------------------------------------------------------
# Non-response


@pytest.mark.parametrize(
    "answer",
    [
        "Prefer not to say",
        "prefer not to say ",
        "I'd prefer not to say",
        "I’d rather not say",
        "Rather not say",
        "Not stated",
        "Not known",
        "Don't know",
        "Don’t know",
        "Prefer not to answer",
        "N/A",
        "Gwell gennyf beidio â dweud",
        "Gwell gennyf beidio a dweud",
    ],
)
def test_prefer_not_to_say_family_is_declined(answer: str) -> None:
    for name in ["ethnic_group", "sex", "religion", "age", "a_custom_question"]:
        assert place_answer(name, answer, ["Yes", "No"]).kind == "declined"


def test_nhs_not_stated_codes_are_declined_only_for_ethnic_group() -> None:
    assert place("ethnic_group", "Z") == ("declined", None)
    assert place("ethnic_group", "99") == ("declined", None)
    assert place("ethnic_group_broad", "Z") == ("declined", None)
    assert place("age", "99") == ("category", "Aged 75 years and over")
    assert place("sex", "Z") == ("unknown", None)


@pytest.mark.parametrize("answer", [None, "", "   ", "\u00a0"])
def test_blank_answers(answer: str | None) -> None:
    assert place_answer("sex", answer, ["Female", "Male"]).kind == "blank"


# ---------------------------------------------------------------------------
# Ages

FORM_BANDS = ["Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]


@pytest.mark.parametrize(
    ("answer", "bands", "kind", "category"),
    [
        ("18-24", FORM_BANDS, "category", "18-24"),
        ("18 to 24", FORM_BANDS, "category", "18-24"),
        ("18–24", FORM_BANDS, "category", "18-24"),
        ("18 – 24", FORM_BANDS, "category", "18-24"),
        ("Aged 18 to 24 years", FORM_BANDS, "category", "18-24"),
        ("18-24 years", FORM_BANDS, "category", "18-24"),
        ("75+", FORM_BANDS, "category", "75+"),
        ("75 and over", FORM_BANDS, "category", "75+"),
        ("75 or over", FORM_BANDS, "category", "75+"),
        ("Aged 75 years and over", FORM_BANDS, "category", "75+"),
        ("Under 18", FORM_BANDS, "category", "Under 18"),
        ("17 and under", FORM_BANDS, "category", "Under 18"),
        ("34", FORM_BANDS, "category", "25-34"),
        ("34 years old", FORM_BANDS, "category", "25-34"),
        ("101", FORM_BANDS, "category", "75+"),
        ("18-30", FORM_BANDS, "unplaceable", None),
        ("16–24", list(categories("age")), "category", "Aged 16 to 24 years"),
        ("18-24", list(categories("age")), "category", "Aged 16 to 24 years"),
        ("Under 16", list(categories("age")), "category", "Aged 15 years and under"),
        ("75 or over", list(categories("age")), "category", "Aged 75 years and over"),
        ("121", FORM_BANDS, "unknown", None),
        ("Eighteen", FORM_BANDS, "unknown", None),
    ],
)
def test_age_bands_in_any_common_format(
    answer: str, bands: list[str], kind: str, category: str | None
) -> None:
    placement = place_answer("age", answer, bands)
    assert (placement.kind, placement.category) == (kind, category)


def test_age_outside_the_reference_is_unplaceable_with_a_note() -> None:
    placement = place_answer("age", "12", ["16-24", "25+"])
    assert placement.kind == "unplaceable"
    assert "outside" in (placement.note or "")


# ---------------------------------------------------------------------------
# Custom references and suggestions


def test_custom_labels_match_exactly_and_synonyms_do_not_invent_categories() -> None:
    assert place_answer("borough", "lambeth", ["Lambeth", "Southwark"]).category == "Lambeth"
    assert place_answer("borough", "Lambth", ["Lambeth", "Southwark"]).kind == "unknown"
    men_women = place_answer("sex", "Male", ["Men", "Women"])
    assert (men_women.kind, men_women.category) == ("unknown", None)
    assert "Male" in (men_women.note or "")
    own = place_answer("ethnic_group", "Other", ["White", "Other"])
    assert (own.kind, own.category) == ("category", "Other")


def test_closest_categories_only_suggests() -> None:
    shipped = categories("ethnic_group")
    assert closest_categories("Chineese", shipped)[0] == f"{ASIAN}: Chinese"
    assert place("ethnic_group", "Chineese") == ("unknown", None)
    assert closest_categories("Femal", ["Female", "Male"]) == ["Female", "Male"]
    assert len(closest_categories("White", shipped, limit=2)) <= 2
    assert closest_categories("zzzz", ["Female", "Male"]) == []


# ---------------------------------------------------------------------------
# Never a fuzzy guess

ALL_SYNONYMS = sorted(
    (name, key) for name in WITH_SYNONYMS for key in synonyms_for(name) if len(key) > 2
)


def allowed_keys(name: str) -> set[str]:
    return set(synonyms_for(name)) | {answer_key(c) for c in categories(name)}


@given(
    name=st.sampled_from(WITH_SYNONYMS),
    text=st.text(alphabet=st.sampled_from("abcehilnorstuwABW -–/:&,()'"), max_size=24),
)
def test_random_text_is_placed_only_when_it_is_a_known_wording(name: str, text: str) -> None:
    placement = place_answer(name, text, categories(name))
    assert placement.kind in PLACEMENT_KINDS
    if placement.kind == "category":
        assert answer_key(text) in allowed_keys(name)


@given(
    pick=st.sampled_from(ALL_SYNONYMS),
    position=st.integers(min_value=0, max_value=60),
    edit=st.sampled_from(["delete", "replace", "insert", "swap"]),
    letter=st.sampled_from("aeiousnrtxz"),
)
def test_a_near_miss_of_a_synonym_is_never_placed(
    pick: tuple[str, str], position: int, edit: str, letter: str
) -> None:
    name, key = pick
    i = position % len(key)
    if edit == "delete":
        typo = key[:i] + key[i + 1 :]
    elif edit == "replace":
        typo = key[:i] + letter + key[i + 1 :]
    elif edit == "insert":
        typo = key[:i] + letter + key[i:]
    else:
        typo = key[:i] + key[i + 1 : i + 2] + key[i : i + 1] + key[i + 2 :]
    if answer_key(typo) in allowed_keys(name):
        return  # the edit made another real wording (or changed nothing)
    assert place_answer(name, typo, categories(name)).kind != "category"


@given(st.text(max_size=40))
def test_answer_key_is_idempotent(text: str) -> None:
    assert answer_key(answer_key(text)) == answer_key(text)


# ---------------------------------------------------------------------------
# Fixtures imitating real exports

FIXTURE_COLUMNS: dict[str, list[tuple[str, str, str | None]]] = {
    "ms_forms.xlsx": [
        ("ID", "identifying", None),
        ("Start time", "timestamp", None),
        ("Completion time", "timestamp", None),
        ("Email", "identifying", None),
        ("Name", "identifying", None),
        ("Last modified time", "timestamp", None),
        ("What is your age?", "characteristic", "age"),
        ("What is your sex?", "characteristic", "sex"),
        (
            "What is your ethnic group? (Choose one option that best describes your ethnic "
            "group or background)",
            "characteristic",
            "ethnic_group",
        ),
        ("Do you consider yourself to be disabled?", "characteristic", "disability"),
        ("Any other comments?", "free_text", None),
    ],
    "excel_1252_semicolon.csv": [
        ("First name", "identifying", None),
        ("Surname", "identifying", None),
        ("Email", "identifying", None),
        ("Age", "characteristic", "age"),
        ("Gender", "characteristic", "sex"),
        ("Ethnicity", "characteristic", "ethnic_group"),
        ("Religion", "characteristic", "religion"),
        ("Postcode", "identifying", "postcode"),
        ("Comments", "free_text", None),
    ],
    "bom_utf8.csv": [
        ("Timestamp", "timestamp", None),
        ("Enw / Name", "identifying", None),
        ("E-bost / Email", "identifying", None),
        ("Oedran / Age", "characteristic", "age"),
        ("Rhyw / Sex", "characteristic", "sex"),
        ("Grŵp ethnig / Ethnic group", "characteristic", "ethnic_group"),
        ("Crefydd / Religion", "characteristic", "religion"),
        ("Cyfeiriadedd rhywiol / Sexual orientation", "characteristic", "sexual_orientation"),
        (
            "Is the gender you identify with the same as your sex registered at birth?",
            "characteristic",
            "gender_identity",
        ),
    ],
    "govocal_export.csv": [
        ("id", "identifying", None),
        ("email", "identifying", None),
        ("first_name", "identifying", None),
        ("last_name", "identifying", None),
        ("created_at", "timestamp", None),
        ("gender", "characteristic", "sex"),
        ("birthyear", "date_of_birth", None),
        ("domicile", "identifying", None),
        ("education", "characteristic", "highest_qualification"),
        ("What is your ethnic group?", "characteristic", "ethnic_group"),
        (
            "Which of the following best describes your sexual orientation?",
            "characteristic",
            "sexual_orientation",
        ),
        (
            "Are your day-to-day activities limited because of a health problem or disability "
            "which has lasted, or is expected to last, at least 12 months?",
            "characteristic",
            "disability",
        ),
        ("Do you own or rent your home?", "characteristic", "tenure"),
        (
            "Do you look after, or give any help or support to, anyone because they have "
            "long-term physical or mental health conditions or illnesses, or problems related "
            "to old age?",
            "characteristic",
            "unpaid_care",
        ),
    ],
    "nhs_codes.csv": [
        ("Participant ID", "identifying", None),
        ("Session", "event", None),
        ("Session date", "event_date", None),
        ("Ethnic Category Code", "characteristic", "ethnic_group"),
        ("Sex", "characteristic", "sex"),
        ("Age", "characteristic", "age"),
    ],
    "formula_cells.csv": [
        ("Name", "identifying", None),
        ("Email", "identifying", None),
        ("Age group", "characteristic", "age"),
        ("Sex", "characteristic", "sex"),
        ("Ethnic group", "characteristic", "ethnic_group"),
        ("Comments", "free_text", None),
    ],
}

# Answers in each fixture that are doubtful on purpose: they must be reported
# (unplaceable or broad-only), never placed in a category, never unknown.
DOUBTFUL: dict[str, dict[str, str]] = {
    "ms_forms.xlsx": {"Mixed race": "broad_only"},
    "excel_1252_semicolon.csv": {
        "Non-binary": "unplaceable",
        "BAME": "unplaceable",
        "Other": "unplaceable",
    },
    "bom_utf8.csv": {"No": "broad_only"},
    "govocal_export.csv": {
        "unspecified": "unplaceable",
        "Homeowner": "broad_only",
        "Renting": "unplaceable",
    },
    "nhs_codes.csv": {},
    "formula_cells.csv": {},
}

# Clear answers pinned to their exact ONS label: (characteristic, answer, label).
EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "ms_forms.xlsx": [
        ("age", "16–24", "Aged 16 to 24 years"),
        ("age", "75 or over", "Aged 75 years and over"),
        ("ethnic_group", "White: English/Welsh/Scottish/Northern Irish/British", WB),
        ("ethnic_group", "Asian/Asian British: Chinese", f"{ASIAN}: Chinese"),
        (
            "ethnic_group",
            "Black/African/Caribbean/Black British: Any other Black/African/Caribbean background",
            f"{BLACK}: Other Black",
        ),
        ("ethnic_group", "Other ethnic group: Arab", "Other ethnic group: Arab"),
        ("disability", "Yes", "Disabled under the Equality Act"),
    ],
    "excel_1252_semicolon.csv": [
        ("ethnic_group", "White – British", WB),
        ("ethnic_group", "Asian or Asian British – Pakistani", f"{ASIAN}: Pakistani"),
        ("ethnic_group", "Chinese", f"{ASIAN}: Chinese"),
        ("ethnic_group", "Other ethnic group – Arab", "Other ethnic group: Arab"),
        ("religion", "Church of England", "Christian"),
        ("religion", "None", "No religion"),
        ("religion", "Other", "Other religion"),
        ("sex", "Female", "Female"),
    ],
    "bom_utf8.csv": [
        ("ethnic_group", "White: Welsh, English, Scottish, Northern Irish or British", WB),
        ("ethnic_group", "Asian, Asian Welsh or Asian British: Indian", f"{ASIAN}: Indian"),
        ("religion", "Christian (all denominations)", "Christian"),
        ("sexual_orientation", "Pansexual", "All other sexual orientations"),
        ("age", "75 and over", "Aged 75 years and over"),
        ("gender_identity", "Yes", "Gender identity the same as sex registered at birth"),
    ],
    "govocal_export.csv": [
        ("sex", "female", "Female"),
        (
            "tenure",
            "Part-owns and part-rents (shared ownership)",
            "Shared ownership: Shared ownership",
        ),
        ("tenure", "Rent from council", "Social rented: Rents from council or Local Authority"),
        ("disability", "Yes, limited a little", "Disabled under the Equality Act"),
        ("unpaid_care", "Yes, 35 to 49 hours a week", "Provides 35 to 49 hours unpaid care a week"),
        ("sexual_orientation", "Queer", "All other sexual orientations"),
    ],
    "nhs_codes.csv": [
        ("ethnic_group", "A", WB),
        ("ethnic_group", "F", f"{MIXED}: White and Asian"),
        ("ethnic_group", "R", f"{ASIAN}: Chinese"),
        ("ethnic_group", "S", "Other ethnic group: Any other ethnic group"),
        ("sex", "F", "Female"),
    ],
    "formula_cells.csv": [
        ("ethnic_group", "White British", WB),
        ("ethnic_group", "Mixed White and Asian", f"{MIXED}: White and Asian"),
        ("age", "18-24", "Aged 16 to 24 years"),
        ("age", "75+", "Aged 75 years and over"),
    ],
}


@pytest.mark.parametrize("fixture", sorted(FIXTURE_COLUMNS))
def test_fixture_headers_are_all_guessed(fixture: str) -> None:
    table = read_table(REGISTERS / fixture)
    expected = FIXTURE_COLUMNS[fixture]
    assert list(table.columns) == [header for header, _, _ in expected]
    for header, kind, characteristic in expected:
        guess = guess_column(header)
        assert (guess.kind, guess.characteristic) == (kind, characteristic), header


@pytest.mark.parametrize("fixture", sorted(FIXTURE_COLUMNS))
def test_fixture_answers_are_placed_or_visibly_doubtful(fixture: str) -> None:
    table = read_table(REGISTERS / fixture)
    wanted = [
        h
        for h, kind, name in FIXTURE_COLUMNS[fixture]
        if kind == "characteristic" and name not in WITHOUT_CENSUS_FIGURES
    ]
    counts, rows = answer_counts(table, wanted)
    assert 30 <= rows <= 80
    placed: dict[tuple[str, str], str | None] = {}
    doubtful: dict[str, str] = {}
    for header in wanted:
        name = guess_column(header).characteristic
        assert name is not None
        for answer, _ in counts[header]:
            placement = place_answer(name, answer, categories(name))
            assert placement.kind != "unknown", (header, answer)
            if placement.kind in {"unplaceable", "broad_only"}:
                assert placement.note, answer
                doubtful[str(answer)] = placement.kind
            elif placement.kind == "category":
                assert placement.category in categories(name)
                placed[name, str(answer)] = placement.category
    assert doubtful == DOUBTFUL[fixture]
    for name, answer, label in EXPECTED[fixture]:
        assert placed[name, answer] == label, answer


def test_fixture_files_are_read_as_their_exports_wrote_them() -> None:
    excel = read_table(REGISTERS / "excel_1252_semicolon.csv")
    assert (excel.encoding, excel.delimiter) == ("cp1252", ";")
    raw = (REGISTERS / "excel_1252_semicolon.csv").read_bytes()
    assert b"\r\n" in raw and b"\x96" in raw  # CRLF and a cp1252 en dash
    bom = read_table(REGISTERS / "bom_utf8.csv")
    assert (REGISTERS / "bom_utf8.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert bom.columns[0] == "Timestamp"
    forms, _ = answer_counts(read_table(REGISTERS / "ms_forms.xlsx"), ["Start time"])
    stamps = [answer or "" for answer, _ in forms["Start time"]]
    assert all(re.fullmatch(r"2025-03-1[45] \d\d:\d\d:\d\d", stamp) for stamp in stamps)


def test_formula_like_cells_stay_inert_text() -> None:
    table = read_table(REGISTERS / "formula_cells.csv")
    counts, _ = answer_counts(table, ["Name", "Comments"])
    names = {answer for answer, _ in counts["Name"]}
    comments = {answer for answer, _ in counts["Comments"]}
    assert '=HYPERLINK("http://x","y")' in names
    assert "+cmd|' /C calc'!A0" in names | comments
    assert "@SUM(1)" in names | comments
    assert {guess_column(c).kind for c in ("Name", "Comments")} == {"identifying", "free_text"}


def test_fixtures_are_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUT = tmp_path
    module.main()
    for fixture in FIXTURE_COLUMNS:
        assert (tmp_path / fixture).read_bytes() == (REGISTERS / fixture).read_bytes(), fixture


# ---------------------------------------------------------------------------
# The prebuilt index in reference_data/


def test_the_shipped_index_is_what_the_data_files_give(tmp_path: Path) -> None:
    built = write_knowledge_index(tmp_path).read_bytes()
    assert built == (REPO / "reference_data" / INDEX_FILE).read_bytes(), (
        f"reference_data/{INDEX_FILE} is out of date: run `make knowledge-data`"
    )


def test_the_index_gives_the_knowledge_the_data_files_give() -> None:
    knowledge, common, aliases, _ = vocab_knowledge._checked_knowledge()
    table = classifications.knowledge_table()
    for name, expected in knowledge.items():
        found = table[name]
        assert list(found.synonyms.items()) == list(expected.synonyms.items()), name
        assert list(found.unplaceable.items()) == list(expected.unplaceable.items()), name
        assert found.declined == expected.declined, name
        assert list(found.tree.parent.items()) == list(expected.tree.parent.items()), name
        assert found.tree.children == expected.tree.children, name
    for alias, canonical in aliases.items():
        assert table[alias] is table[canonical]
    assert table["*"].declined == common
    assert columns._rules() == vocab_knowledge._checked_rules()


@pytest.fixture
def fresh_index() -> Iterator[None]:
    """Forget the loaded knowledge before and after, so each test reads the index again."""
    loaded = (vocab_knowledge.current_index, classifications.knowledge_table, columns._rules)
    for function in loaded:
        function.cache_clear()
    yield
    for function in loaded:
        function.cache_clear()


@pytest.mark.usefixtures("fresh_index")
@pytest.mark.parametrize("change", ["sources", "format", "missing", "not json"])
def test_an_index_the_data_files_moved_on_from_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    index = json.loads((REPO / "reference_data" / INDEX_FILE).read_text(encoding="utf-8"))
    del index["knowledge"]["ethnic_group"]["synonyms"]["white british"]
    if change == "sources":
        index["sources"]["synonyms.toml"] = "0" * 64
    elif change == "format":
        index["format"] += 1
    text = json.dumps(index) if change != "not json" else "{"
    if change != "missing":
        (tmp_path / INDEX_FILE).write_text(text, encoding="utf-8")
    monkeypatch.setattr(vocab_knowledge, "shipped_reference_data", lambda: tmp_path)
    assert vocab_knowledge.current_index() == knowledge_index()
    assert "white british" in synonyms_for("ethnic_group")


@pytest.mark.usefixtures("fresh_index")
def test_a_current_index_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = json.loads((REPO / "reference_data" / INDEX_FILE).read_text(encoding="utf-8"))
    del index["knowledge"]["ethnic_group"]["synonyms"]["white british"]
    (tmp_path / INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")
    monkeypatch.setattr(vocab_knowledge, "shipped_reference_data", lambda: tmp_path)
    assert "white british" not in synonyms_for("ethnic_group")
