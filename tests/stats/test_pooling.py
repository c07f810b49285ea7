"""Pooling events as a sum of binomials, against scipy and statsmodels (issue 12, item 5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from inclusion_audit import stats


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.floats(min_value=0.01, max_value=0.99)),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=40, deadline=None)
def test_sum_of_binomials_matches_full_convolution(blocks: list[tuple[int, float]]) -> None:
    ns, ps = [n for n, _ in blocks], [p for _, p in blocks]
    offset, ours = stats.sum_of_binomials(ns, ps)
    theirs = np.ones(1)
    for n, p in blocks:
        theirs = np.convolve(theirs, scipy_stats.binom.pmf(np.arange(n + 1), n, p))
    full = np.zeros(len(theirs))
    full[offset : offset + len(ours)] = ours
    assert np.allclose(full, theirs, rtol=1e-9, atol=1e-15)


def test_events_with_one_share_pool_into_one_binomial() -> None:
    """Equal shares: the sum is Binomial(Σ n, π), so the interval is Clopper-Pearson's."""
    ns, shares = [200_000] * 20, [0.1] * 20
    low, high = stats.pooled_interval(395_000, ns, shares, 0.95)
    their_low, their_high = proportion_confint(395_000, 4_000_000, alpha=0.05, method="beta")
    assert low * 0.1 == pytest.approx(their_low, rel=1e-9)
    assert high * 0.1 == pytest.approx(their_high, rel=1e-9)
    low, high = stats.pooled_interval(37, [50, 50, 60], [0.2, 0.2, 0.2], 0.99)
    their_low, their_high = proportion_confint(37, 160, alpha=0.01, method="beta")
    assert (low * 0.2, high * 0.2) == (pytest.approx(their_low), pytest.approx(their_high))
    p = stats.pooled_test(37, [50, 50, 60], [0.2, 0.2, 0.2])
    central = 2 * min(scipy_stats.binom.sf(36, 160, 0.2), scipy_stats.binom.cdf(37, 160, 0.2))
    assert p == pytest.approx(central, rel=1e-9)


def test_the_not_disabled_case_is_no_longer_too_cautious() -> None:
    """A common group: the binomial ceiling matters (Poisson gave p = 0.023 in the issue)."""
    ns, shares = [120, 150, 90, 200], [0.8, 0.82, 0.79, 0.81]
    counts = [108, 138, 82, 183]
    observed = sum(counts)
    exact = stats.pooled_test(observed, ns, shares)
    expected = sum(n * s for n, s in zip(ns, shares, strict=True))
    assert exact < stats.poisson_test(observed, expected)


def test_discounting_for_over_dispersion_agrees_with_the_widened_interval() -> None:
    ns, shares, observed = [100, 100, 100, 100], [0.3] * 4, 80
    for phi in (1.0, 2.0, 4.0):
        p = stats.discounted_p(stats.pooled_test(observed, ns, shares), phi)
        level = 1 - p  # the interval at exactly this level touches 1
        low, high = stats.pooled_interval(observed, ns, shares, level, phi)
        assert min(abs(low - 1), abs(high - 1)) < 1e-6
    assert stats.discounted_p(0.01, 4.0) == pytest.approx(
        2 * scipy_stats.norm.sf(scipy_stats.norm.isf(0.005) / 2)
    )
