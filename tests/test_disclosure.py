"""Disclosure control: nothing a reader could use to recover a small count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inclusion_audit.disclosure import suppress_small_counts


def result_with(counts: list[int]) -> dict:
    n = sum(counts)
    groups = [
        {
            "category": f"G{i}",
            "count": c,
            "share": c / n if n else None,
            "ratio": 1.0,
            "shortfall": 3,
        }
        for i, c in enumerate(counts)
    ]
    return {"characteristics": [{"groups": groups, "dissimilarity_index": 0.1, "chi_square": {}}]}


@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(2, 11))
def test_no_small_count_survives_and_none_can_be_recovered(
    counts: list[int], threshold: int
) -> None:
    shown = suppress_small_counts(result_with(counts), threshold)
    characteristic = shown["characteristics"][0]
    groups = characteristic["groups"]
    visible = [g["count"] for g in groups if not g["suppressed"]]
    hidden = [c for c, g in zip(counts, groups, strict=True) if g["suppressed"]]
    # Primary: every visible count is 0 or at least the threshold.
    assert all(c == 0 or c >= threshold for c in visible)
    # Secondary: a single hidden count would equal the total minus the visible ones.
    assert len(hidden) != 1 or len(counts) == 1
    for g in groups:
        if g["suppressed"]:
            assert g["share"] is None and g["ratio"] is None and g["shortfall"] % 5 == 0
    if hidden:
        assert (
            characteristic["dissimilarity_index"] is None and characteristic["chi_square"] is None
        )


def test_threshold_zero_shows_everything() -> None:
    shown = suppress_small_counts(result_with([1, 2, 30]), 0)
    assert [g["count"] for g in shown["characteristics"][0]["groups"]] == [1, 2, 30]


def test_input_is_not_modified() -> None:
    original = result_with([1, 30, 30])
    suppress_small_counts(original, 5)
    assert original["characteristics"][0]["groups"][0]["count"] == 1
