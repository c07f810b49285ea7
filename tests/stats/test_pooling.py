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


def exact_tails(observed: int, blocks: list[tuple[int, float]]) -> tuple[float, float]:
    """``(P(S ≤ O), P(S ≥ O))`` by direct convolution of scipy's binomial probabilities."""
    pmf = np.ones(1)
    for n, p in blocks:
        pmf = np.convolve(pmf, scipy_stats.binom.pmf(np.arange(n + 1), n, p))
    return float(pmf[: observed + 1].sum()), float(pmf[observed:].sum())


@given(
    st.lists(
        st.tuples(st.integers(5, 300), st.floats(min_value=0.01, max_value=0.6)),
        min_size=2,
        max_size=30,
    ),
    st.floats(min_value=-6, max_value=6),
)
@settings(max_examples=60, deadline=None)
def test_saddlepoint_tails_are_within_a_thousandth_of_the_exact_ones(
    blocks: list[tuple[int, float]], z: float
) -> None:
    ns, ps = [n for n, _ in blocks], [p for _, p in blocks]
    mean = sum(n * p for n, p in blocks)
    variance = sum(n * p * (1 - p) for n, p in blocks)
    if variance < 100:  # below what the review hands it (long sums only)
        return
    observed = max(0, min(sum(ns), round(mean + z * variance**0.5)))
    below, above = stats.saddlepoint_tails(observed, ns, ps)
    their_below, their_above = exact_tails(observed, blocks)
    assert below == pytest.approx(their_below, rel=1e-3, abs=1e-300)
    assert above == pytest.approx(their_above, rel=1e-3, abs=1e-300)


def test_saddlepoint_deep_tail_against_mpmath() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    blocks = [(400, 0.1), (300, 0.2), (500, 0.05)]  # mean 125
    observed = 60
    below = mpmath.mpf(0)
    pmfs = [
        [
            mpmath.binomial(n, k) * mpmath.mpf(p) ** k * (1 - mpmath.mpf(p)) ** (n - k)
            for k in range(n + 1)
        ]
        for n, p in blocks
    ]
    # P(S ≤ 60) = Σ over a + b + c ≤ 60.
    first, second, third = pmfs
    partial = [mpmath.fsum(third[: i + 1]) for i in range(observed + 1)]
    for a in range(observed + 1):
        for b in range(observed + 1 - a):
            below += first[a] * second[b] * partial[observed - a - b]
    ours, _ = stats.saddlepoint_tails(observed, [n for n, _ in blocks], [p for _, p in blocks])
    assert ours == pytest.approx(float(below), rel=1e-3)
    assert float(below) < 1e-9


def test_long_sums_use_the_saddlepoint_and_stay_consistent() -> None:
    """1,000 events, each at its own share: too long to convolve, fast by the saddlepoint,
    and the test still rejects exactly when the interval leaves out 1."""
    rng = np.random.default_rng(7)
    shares = list(rng.uniform(0.04, 0.07, 1000))
    ns = [100] * 1000
    assert stats.convolution_cost(ns, shares) > 200_000
    expected = sum(n * s for n, s in zip(ns, shares, strict=True))
    for observed in (round(expected * 0.9), round(expected * 0.95), round(expected)):
        p_value = stats.pooled_test(observed, ns, shares)
        for confidence in (0.9, 0.95, 0.99):
            low, high = stats.pooled_interval(observed, ns, shares, confidence)
            assert (p_value <= 1 - confidence) == (not low <= 1 <= high)
    # Against the exact convolution at ratio 1.
    observed = round(expected * 0.9)
    below, above = stats.pooled_tails(observed, ns, shares, 1.0)
    their_below, their_above = exact_tails(observed, list(zip(ns, shares, strict=True)))
    assert below == pytest.approx(their_below, rel=1e-3)
    assert above == pytest.approx(their_above, rel=1e-3)


def test_saddlepoint_handles_certain_and_empty_blocks() -> None:
    # A block at p = 1 is a fixed count of 10; one at p = 0 adds nothing.
    ns, ps = [10, 0, 200, 300], [1.0, 0.5, 0.1, 0.2]
    ns[1] = 50
    ps[1] = 0.0
    below, above = stats.saddlepoint_tails(90, ns, ps)
    their_below, their_above = exact_tails(80, [(200, 0.1), (300, 0.2)])
    assert below == pytest.approx(their_below, rel=1e-3)
    assert above == pytest.approx(their_above, rel=1e-3)
    assert stats.saddlepoint_tails(5, [10], [1.0]) == (0.0, 1.0)
