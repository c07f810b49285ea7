"""Exact binomial arithmetic at any size, the equal-tailed test and its inverted interval.

References: mpmath at 40 digits (tails summed term by term), scipy's binomial
distribution and statsmodels' Clopper-Pearson ("beta") interval.
"""

from __future__ import annotations

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from inclusion_audit import stats


def mp_pmf(k: int, n: int, p: float) -> mpmath.mpf:
    with mpmath.workdps(40):
        q = mpmath.mpf(p)
        return mpmath.exp(
            mpmath.loggamma(n + 1)
            - mpmath.loggamma(k + 1)
            - mpmath.loggamma(n - k + 1)
            + k * mpmath.log(q)
            + (n - k) * mpmath.log1p(-q)
        )


def mp_tail(k: int, n: int, p: float, upper: bool) -> mpmath.mpf:
    """P(X ≤ k), or P(X ≥ k) when ``upper``, summed outwards from k until the terms vanish."""
    with mpmath.workdps(40):
        q = mpmath.mpf(p)
        term = mp_pmf(k, n, p)
        total, i = term, k
        while (i < n) if upper else (i > 0):
            if upper:
                term = term * (n - i) / (i + 1) * q / (1 - q)
                i += 1
            else:
                term = term * i / (n - i + 1) * (1 - q) / q
                i -= 1
            total += term
            if term < total * mpmath.mpf(10) ** -25:
                break
        return total


def mp_binom_test(count: int, n: int, p: float) -> float:
    """R's binom.test, the sum of outcomes no more likely than the observed one, with mpmath."""
    d = mp_pmf(count, n, p) * (1 + mpmath.mpf(10) ** -7)
    mean = n * p
    if count < mean:
        i = int(mean) + 1
        while mp_pmf(i, n, p) > d:
            i += 1  # the issue's cases sit a few hundred steps from the mode
        return float(mp_tail(count, n, p, upper=False) + mp_tail(i, n, p, upper=True))
    i = int(mean)
    while mp_pmf(i, n, p) > d:
        i -= 1
    return float(mp_tail(i, n, p, upper=False) + mp_tail(count, n, p, upper=True))


def test_the_issue_case_keeps_its_digits() -> None:
    # Issue 12, item 8: lgamma differences gave 2.1292657e-20; the exact value is 2.1292649e-20.
    ours = stats.binomial_test(2077, 87_136_732, 1.932133578677754e-05)
    assert ours == pytest.approx(2.1292649e-20, rel=1e-7)
    assert ours == pytest.approx(mp_binom_test(2077, 87_136_732, 1.932133578677754e-05), rel=1e-9)


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (2077, 87_136_732, 1.932133578677754e-05),
        (12, 10**8, 2e-7),
        (31, 10**8, 2e-7),
        (19_000, 10**8, 2e-4),
        (10**8 - 7, 10**8, 1 - 1e-7),
        (3, 15, 0.1),
        (45, 100, 0.6),
        (1, 107, 0.05),
    ],
)
def test_tails_and_probability_match_mpmath_up_to_1e8(k: int, n: int, p: float) -> None:
    assert stats.binomial_pmf(k, n, p) == pytest.approx(float(mp_pmf(k, n, p)), rel=1e-10)
    assert stats.binomial_cdf(k, n, p) == pytest.approx(float(mp_tail(k, n, p, False)), rel=1e-8)
    assert stats.binomial_sf(k, n, p) == pytest.approx(float(mp_tail(k + 1, n, p, True)), rel=1e-8)


@given(
    st.integers(min_value=5, max_value=8).flatmap(lambda e: st.just(10**e)),
    st.floats(min_value=1e-6, max_value=0.01),
    st.floats(min_value=-6, max_value=6),
)
@settings(max_examples=6, deadline=None)
def test_tails_match_mpmath_at_national_sizes(n: int, p: float, deviates: float) -> None:
    sd = (n * p * (1 - p)) ** 0.5
    k = min(n - 1, max(0, round(n * p + deviates * sd)))
    assert stats.binomial_cdf(k, n, p) == pytest.approx(float(mp_tail(k, n, p, False)), rel=1e-8)
    assert stats.binomial_sf(k, n, p) == pytest.approx(float(mp_tail(k + 1, n, p, True)), rel=1e-8)


counts_and_n = st.integers(min_value=1, max_value=3000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(counts_and_n, st.floats(min_value=1e-4, max_value=1 - 1e-4))
@settings(max_examples=200, deadline=None)
def test_central_test_matches_scipy(pair: tuple[int, int], p: float) -> None:
    count, n = pair
    theirs = min(
        1.0, 2 * min(scipy_stats.binom.cdf(count, n, p), scipy_stats.binom.sf(count - 1, n, p))
    )
    ours = stats.binomial_test_central(count, n, p)
    if theirs > 1e-200:
        assert ours == pytest.approx(theirs, rel=1e-8, abs=1e-300)


@given(counts_and_n, st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999, 0.99999]))
@settings(max_examples=200, deadline=None)
def test_clopper_pearson_matches_statsmodels(pair: tuple[int, int], confidence: float) -> None:
    count, n = pair
    low, high = stats.clopper_pearson_interval(count, n, confidence)
    their_low, their_high = proportion_confint(count, n, alpha=1 - confidence, method="beta")
    assert low == pytest.approx(their_low, rel=1e-9, abs=1e-15)
    assert high == pytest.approx(their_high, rel=1e-9, abs=1e-15)


@given(counts_and_n, st.floats(min_value=1e-3, max_value=1 - 1e-3), st.sampled_from([0.9, 0.95]))
@settings(max_examples=200, deadline=None)
def test_interval_excludes_the_share_exactly_when_the_test_rejects(
    pair: tuple[int, int], p: float, confidence: float
) -> None:
    count, n = pair
    low, high = stats.clopper_pearson_interval(count, n, confidence)
    p_value = stats.binomial_test_central(count, n, p)
    if abs(p_value - (1 - confidence)) > 1e-9:  # not on the edge itself
        assert (p_value < 1 - confidence) == (not low <= p <= high)


def test_clopper_pearson_at_national_size_matches_statsmodels() -> None:
    for count, n in [(2077, 87_136_732), (0, 10**8), (10**8, 10**8), (12, 10**8)]:
        low, high = stats.clopper_pearson_interval(count, n, 0.999)
        their_low, their_high = proportion_confint(count, n, alpha=0.001, method="beta")
        assert low == pytest.approx(their_low, rel=1e-8, abs=1e-15)
        assert high == pytest.approx(their_high, rel=1e-8)


def test_clopper_pearson_limits_take_a_few_newton_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    # Newton's last step can be one rounding error outside the bracket; it must end the
    # search, not start ~40 bisections towards the same point (0.5 ms an interval).
    from inclusion_audit.stats import binomial, special

    calls = 0
    exact = special.betainc_pair

    def counted(*args: float) -> float:
        nonlocal calls
        calls += 1
        return exact(*args)

    monkeypatch.setattr(binomial, "betainc_pair", counted)
    for count, n in [(30, 240), (120, 240), (60, 200), (239, 240)]:
        calls = 0
        low, high = binomial._clopper_pearson.__wrapped__(count, n, 0.95)
        assert calls <= 16, (count, n, calls)
        assert low == pytest.approx(scipy_stats.beta.ppf(0.025, count, n - count + 1), rel=1e-9)
        upper = scipy_stats.beta.ppf(0.975, count + 1, n - count) if count < n else 1.0
        assert high == pytest.approx(upper, rel=1e-9)
