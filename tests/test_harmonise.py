"""Placing answers in categories: exact after folding, never fuzzy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inclusion_audit.errors import RegisterError
from inclusion_audit.harmonise import (
    CategoryMatcher,
    check_categories,
    harmonise_column,
    match_columns,
    normalise,
    parse_age_band,
)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("female", "Female"),
        ("  FEMALE ", "Female"),
        ("Femal", None),
        ("Mixed & multiple", "Mixed and multiple"),
        ("Mixed – multiple", None),
    ],
)
def test_matching_is_exact_after_folding(answer: str, expected: str | None) -> None:
    matcher = CategoryMatcher(["Female", "Male", "Mixed and multiple"])
    assert matcher.match(answer) == expected


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
        ("-3", None),
        ("18-30", None),
    ],
)
def test_age_answers_in_years_or_bands(answer: str, expected: str | None) -> None:
    matcher = CategoryMatcher(["Under 18", "18-24", "25-64", "65+"])
    assert matcher.is_age
    assert matcher.match(answer) == expected


def test_years_are_not_placed_when_categories_are_not_age_bands() -> None:
    assert CategoryMatcher(["Female", "Male"]).match("34") is None


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
    result = harmonise_column([(label, 4)], CategoryMatcher(["Female", "Male"]))
    assert (result.n_declined, result.n_known, result.unmatched) == (4, 0, {})


def test_blank_answers_are_counted_apart() -> None:
    result = harmonise_column([(None, 2), ("   ", 1), ("Male", 3)], CategoryMatcher(["Male", "X"]))
    assert (result.n_blank, result.n_known, result.counts) == (3, 3, {"Male": 3, "X": 0})


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Female", "male", "", "Other", "Prefer not to say"]),
            st.integers(0, 50),
        )
    )
)
def test_every_answer_is_accounted_for(pairs: list[tuple[str, int]]) -> None:
    result = harmonise_column(pairs, CategoryMatcher(["Female", "Male"]))
    total = sum(count for _, count in pairs)
    assert result.n_known + result.n_unknown + sum(result.unmatched.values()) == total


def test_columns_match_by_folded_name() -> None:
    mapping = match_columns(
        ["Name", "Ethnic Group", "SEX"], ["ethnic_group", "sex", "age"], source="r.csv"
    )
    assert mapping == {"ethnic_group": "Ethnic Group", "sex": "SEX"}


def test_two_columns_for_one_characteristic_is_an_error() -> None:
    with pytest.raises(RegisterError, match="several columns for 'sex'"):
        match_columns(["Sex", "sex "], ["sex"], source="r.csv")


def test_reference_categories_are_checked() -> None:
    problems = check_categories(["Female", "female", "Prefer not to say"])
    assert len(problems) == 2


def test_normalise_folds_dashes_and_ampersands() -> None:
    assert normalise("A\u2013B & C") == normalise("a-b and c")


def test_age_band_parsing_rejects_reversed_ranges() -> None:
    assert parse_age_band("30-20") is None
