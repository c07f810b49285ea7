"""Columns and answers onto the reference's categories: exact knowledge, never fuzzy."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inclusion_audit.errors import RegisterError
from inclusion_audit.ingest.harmonise import (
    AnswerPlacer,
    assign_columns,
    birth_answer_age,
    check_categories,
    harmonise_column,
)
from inclusion_audit.ingest.mapping import UserMapping
from inclusion_audit.vocab.ages import parse_age_band
from inclusion_audit.vocab.folding import normalise

SEX = ["Female", "Male"]
ETHNIC_BROAD = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("female", "Female"), ("  FEMALE ", "Female"), ("F", "Female"), ("Femal", None)],
)
def test_answers_are_placed_exactly_after_folding(answer: str, expected: str | None) -> None:
    placement = AnswerPlacer("sex", SEX).place(answer)
    assert placement.category == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("17", "Under 18"),
        ("18", "18-24"),
        ("24", "18-24"),
        ("25.0", "25-64"),
        ("64", "25-64"),
        ("65", "65+"),
        ("101", "65+"),
        ("18 to 24", "18-24"),
        ("18–24", "18-24"),
        ("Aged 65 and over", "65+"),
        ("121", None),
        ("18-30", None),
    ],
)
def test_age_answers_in_years_or_bands(answer: str, expected: str | None) -> None:
    placement = AnswerPlacer("age", ["Under 18", "18-24", "25-64", "65+"]).place(answer)
    assert placement.category == expected


def test_dates_of_birth_become_ages_on_the_event_date() -> None:
    placer = AnswerPlacer(
        "age", ["16-24", "25+"], dates_of_birth=True, event_date=dt.date(2025, 6, 1)
    )
    assert placer.place("2000-06-02").category == "16-24"
    assert placer.place("01/06/2000").category == "25+"
    assert birth_answer_age("1999", dt.date(2025, 1, 1)) == 26


@pytest.mark.parametrize(
    "label",
    [
        "Prefer not to say",
        "prefer not to say.",
        "Rather not say",
        "Not stated",
        "I'd rather not say",
        "I\u2019d rather not say",
        "Don't know",
    ],
)
def test_declined_answers_are_unknown(label: str) -> None:
    result = harmonise_column([(label, 4)], AnswerPlacer("sex", SEX))
    assert (result.n_declined, result.n_known, result.unmatched) == (4, 0, {})


def test_unplaced_answers_are_counted_by_why() -> None:
    answers = [
        (None, 2),
        ("   ", 1),
        ("White British", 3),
        ("BAME", 2),
        ("Mixed race", 1),
        ("Whyte", 1),
    ]
    placer = AnswerPlacer(
        "ethnic_group",
        [
            "White: English, Welsh, Scottish, Northern Irish or British",
            "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
        ],
    )
    result = harmonise_column(answers, placer)
    assert (result.n_blank, result.n_known, result.n_unplaceable, result.n_broad_only) == (
        3,
        3,
        2,
        1,
    )
    assert (
        result.unplaceable["BAME"][0] == 2
        and "several ethnic groups" in result.unplaceable["BAME"][1]
    )
    assert result.unmatched == {"Whyte": 1}
    assert result.n_known + result.n_unknown + 1 == sum(count for _, count in answers)


def test_a_mapping_file_has_the_last_word() -> None:
    mapping = UserMapping(
        answers={"sex": {"femal": "Female", "x": "unplaceable", "n/k": "declined"}}, source="m.toml"
    )
    placer = AnswerPlacer("sex", SEX, mapping=mapping)
    assert placer.place("Femal").category == "Female"
    assert placer.place("X").kind == "unplaceable"
    result = harmonise_column([("X", 2)], placer)
    assert "X" not in result.unplaceable  # a user's call may hide free text: not named


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["Female", "male", "", "Other", "Prefer not to say", "F", "Non-binary"]
            ),
            st.integers(0, 50),
        )
    )
)
def test_every_answer_is_accounted_for(pairs: list[tuple[str, int]]) -> None:
    result = harmonise_column(pairs, AnswerPlacer("sex", SEX))
    total = sum(count for _, count in pairs)
    assert result.n_known + result.n_unknown + sum(result.unmatched.values()) == total


def test_columns_are_found_by_name_or_question() -> None:
    headers = ["Name", "Email", "What is your ethnic group?", "SEX", "Date of birth", "Comments"]
    assigned = assign_columns(
        headers, ["ethnic_group", "sex", "age", "religion"], None, source="r.csv"
    )
    assert {k: v.column for k, v in assigned.items()} == {
        "ethnic_group": "What is your ethnic group?",
        "sex": "SEX",
        "age": "Date of birth",
    }
    assert assigned["age"].dates_of_birth


def test_approximate_questions_are_flagged_and_exact_ones_preferred() -> None:
    assigned = assign_columns(
        ["Do you consider yourself to be disabled?"], ["disability"], None, source="r.csv"
    )
    assert assigned["disability"].approximate
    assigned = assign_columns(["Age", "Date of birth"], ["age"], None, source="r.csv")
    assert assigned["age"].column == "Age"


def test_two_columns_for_one_characteristic_is_an_error() -> None:
    with pytest.raises(RegisterError, match="several columns for 'sex'"):
        assign_columns(["Sex", "sex "], ["sex"], None, source="r.csv")


def test_the_mapping_file_chooses_and_ignores_columns() -> None:
    mapping = UserMapping(columns={"Sex": "ignore", "Q7": "sex"})
    assigned = assign_columns(["Sex", "Q7"], ["sex"], mapping, source="r.csv")
    assert assigned["sex"].column == "Q7"


def test_reference_categories_are_checked() -> None:
    problems = check_categories(["Female", "female", "Prefer not to say"])
    assert len(problems) == 2


def test_normalise_folds_dashes_and_ampersands() -> None:
    assert normalise("A\u2013B & C") == normalise("a-b and c")


def test_age_band_parsing() -> None:
    assert parse_age_band("30-20") is None
    assert parse_age_band("34") is None
