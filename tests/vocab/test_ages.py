"""Ages as people type them: whole years in any common form are ages, ranges are bands."""

from __future__ import annotations

import pytest

from inclusion_audit.vocab.ages import (
    band_label,
    parse_age_band,
    parse_age_span,
    parse_age_years,
    uncovered_spans,
)


@pytest.mark.parametrize(
    ("answer", "age"),
    [
        ("34", 34),
        ("34.0", 34),
        ("34 years", 34),
        ("34 Years", 34),
        ("34 yrs", 34),
        ("34yo", 34),
        ("34 y/o", 34),
        ("34 years old", 34),
        ("aged 34", 34),
        ("Age: 34", 34),
        ("Aged 34 years", 34),
        ("0", 0),
        ("120", 120),
    ],
)
def test_whole_years_in_any_common_form_are_ages(answer: str, age: int) -> None:
    assert parse_age_years(answer) == age
    assert parse_age_band(answer) is None  # a single year is never a band


@pytest.mark.parametrize(
    ("answer", "band"),
    [
        ("25-34", (25, 34)),
        ("25 – 34", (25, 34)),
        ("25 to 34", (25, 34)),
        ("Aged 25 to 34 years", (25, 34)),
        ("16 - 24 yrs", (16, 24)),
        ("75+", (75, None)),
        ("75 plus", (75, None)),
        ("65 and over", (65, None)),
        ("Aged 75 years and over", (75, None)),
        ("Under 18", (0, 17)),
        ("Aged 15 years and under", (0, 15)),
    ],
)
def test_ranges_are_bands(answer: str, band: tuple[int, int | None]) -> None:
    assert parse_age_band(answer) == band
    assert parse_age_years(answer) is None


@pytest.mark.parametrize("answer", ["121", "1990", "34.5", "Over 65", "thirty", "18-", "-5"])
def test_what_is_not_an_age(answer: str) -> None:
    assert parse_age_span(answer) is None


def test_labels_the_audit_makes_read_back_as_their_ages() -> None:
    for span in [(0, 15), (16, 24), (17, 17), (75, None), (0, 0)]:
        assert parse_age_span(band_label(*span)) == span


def test_uncovered_ages_are_cut_at_the_standard_bands() -> None:
    assert uncovered_spans([(18, 24), (25, 34)], 16, None) == [
        (16, 17),
        (35, 44),
        (45, 54),
        (55, 64),
        (65, 74),
        (75, None),
    ]
    assert uncovered_spans([(0, 15), (16, None)], 0, None) == []
    assert uncovered_spans([(20, 29)], 18, 40, ()) == [(18, 19), (30, 40)]
