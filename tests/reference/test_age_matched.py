"""Age-matched populations (issue 12, item 2): detailed categories fitted to a 16+ margin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inclusion_audit.reference import census
from inclusion_audit.reference.fitting import iterative_proportional_fit


@given(
    # Cells of ~1e-308 overflow the reference raking itself (margin / total: a
    # RuntimeWarning, an error here); populations are 0 or at least a millionth.
    st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e6)), min_size=6, max_size=6
    ),
    st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=2, max_size=2),
)
@settings(max_examples=50, deadline=None)
def test_fitting_matches_a_direct_numpy_raking(cells: list[float], margins: list[float]) -> None:
    names = [f"{'AB'[i // 3]}: {i}" for i in range(6)]
    fitted = iterative_proportional_fit(
        dict(zip(names, cells, strict=True)),
        {n: n[0] for n in names},
        {"A": margins[0], "B": margins[1]},
    )
    x = np.array(cells).reshape(2, 3)
    totals = x.sum(axis=1, keepdims=True)
    scale = np.divide(
        np.array(margins)[:, None], totals, out=np.ones_like(totals), where=totals > 0
    )
    expected = (x * scale).ravel()
    assert [fitted[n] for n in names] == pytest.approx(list(expected), rel=1e-9, abs=1e-9)


def test_leicester_mixed_groups_are_matched_to_residents_aged_16_and_over() -> None:
    """The issue's figures: 3.77% of all ages, 2.68% of residents aged 16+."""
    [leicester] = census.resolve_areas(["Leicester"])
    broad = census.census_profile([leicester], "ethnic_group_broad", census.parse_age_range("16+"))
    all_ages = census.census_profile([leicester], "ethnic_group")
    matched = census.census_profile([leicester], "ethnic_group", census.parse_age_range("16+"))

    def mixed(profile: census.CensusProfile) -> float:
        total = sum(profile.categories.values())
        return sum(v for k, v in profile.categories.items() if k.startswith("Mixed")) / total

    assert mixed(all_ages) == pytest.approx(0.0377, abs=5e-5)
    assert mixed(matched) == pytest.approx(0.0268, abs=5e-5)
    for group, total in broad.categories.items():
        fitted = sum(v for k, v in matched.categories.items() if k.startswith(group + ":"))
        assert fitted == pytest.approx(total, rel=1e-12)
    assert "iterative proportional fitting" in matched.base
    assert matched.universe == "Usual residents aged 16+"
    assert not any("stand in" in c for c in matched.caveats)
    # Within a high-level group the all-ages mix is kept.
    first, second = (
        "Mixed or Multiple ethnic groups: White and Asian",
        ("Mixed or Multiple ethnic groups: White and Black African"),
    )
    assert matched.categories[first] / matched.categories[second] == pytest.approx(
        all_ages.categories[first] / all_ages.categories[second]
    )
    # 18+: still fitted, and the 16+ stand-in is said.
    adults = census.census_profile([leicester], "ethnic_group", census.parse_age_range("18+"))
    assert mixed(adults) == pytest.approx(0.0268, abs=5e-5)
    assert any("stand in for the eligible ages 18+" in c for c in adults.caveats)
