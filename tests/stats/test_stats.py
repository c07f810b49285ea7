"""Statistics against independent implementations (scipy, statsmodels) and R."""

from __future__ import annotations

import math
from fractions import Fraction
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from inclusion_audit import stats

counts_and_n = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
shares = st.floats(min_value=1e-4, max_value=1 - 1e-4, allow_nan=False)


def assert_same_p(ours: float, theirs: float) -> None:
    """Equal to 1 part in a million; in deep tails (below 1e-100), equal on the log scale.

    Deep tails come out of lgamma differences of numbers near n·log n, so their
    relative precision is lower; nobody reads a p-value of 1e-243 to 7 digits.
    """
    if theirs > 1e-100:
        assert ours == pytest.approx(theirs, rel=1e-6)
    else:
        # scipy itself drifts in deep tails (binomtest(975, 981, 0.53125) is off by 6e-4
        # relative; exact rational arithmetic sides with us), so there only both must be
        # tiny, and test_binomial_test_matches_exact_arithmetic checks the digits.
        assert ours < 1e-90


@given(counts_and_n, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_statsmodels(pair: tuple[int, int], confidence: float) -> None:
    count, n = pair
    low, high = stats.wilson_interval(count, n, confidence)
    expected = proportion_confint(count, n, alpha=1 - confidence, method="wilson")
    assert low == pytest.approx(expected[0], abs=1e-12)
    assert high == pytest.approx(expected[1], abs=1e-12)
    assert 0 <= low <= count / n <= high <= 1


@pytest.mark.parametrize(("count", "n"), [(0, 1), (1, 1), (0, 50), (50, 50)])
def test_wilson_edges_are_exact(count: int, n: int) -> None:
    low, high = stats.wilson_interval(count, n)
    assert (low == 0.0) == (count == 0)
    assert (high == 1.0) == (count == n)


def test_wilson_needs_participants() -> None:
    with pytest.raises(ValueError, match="at least one"):
        stats.wilson_interval(0, 0)


@given(counts_and_n, shares)
@settings(max_examples=300)
def test_binomial_test_matches_scipy(pair: tuple[int, int], p: float) -> None:
    count, n = pair
    ours = stats.binomial_test(count, n, p)
    assert_same_p(ours, scipy_stats.binomtest(count, n, p).pvalue)


@given(st.integers(min_value=0, max_value=10**7), shares)
@settings(max_examples=60)
def test_binomial_test_matches_scipy_for_national_registers(offset: int, p: float) -> None:
    n = 10**7
    count = min(n, max(0, int(n * p) + offset % 20001 - 10000))
    ours = stats.binomial_test(count, n, p)
    assert_same_p(ours, scipy_stats.binomtest(count, n, p).pvalue)


@given(
    st.integers(min_value=1, max_value=150).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    shares,
)
@settings(max_examples=80, deadline=None)
def test_binomial_test_matches_exact_arithmetic(pair: tuple[int, int], p: float) -> None:
    count, n = pair
    exact_p = Fraction(p)  # a float is a dyadic rational: this is the same p, exactly
    pmf = [comb(n, i) * exact_p**i * (1 - exact_p) ** (n - i) for i in range(n + 1)]
    limit = pmf[count] * Fraction(10**7 + 1, 10**7)
    exact = sum(x for x in pmf if x <= limit)
    ours = stats.binomial_test(count, n, p)
    if exact >= 1:
        assert ours == pytest.approx(1.0)
    elif exact < Fraction(1, 10**290):  # subnormal floats: only "tiny" is meaningful
        assert ours < 1e-280
    else:
        log_exact = math.log(exact.numerator) - math.log(exact.denominator)
        assert math.log(ours) == pytest.approx(log_exact, rel=1e-9, abs=1e-9)


def test_binomial_test_published_r_value() -> None:
    # R: binom.test(c(682, 243), p = 3/4) -> p-value = 0.3825 (Mendel's peas, R's own example)
    assert stats.binomial_test(682, 925, 0.75) == pytest.approx(0.3825, abs=5e-5)


@pytest.mark.parametrize(
    ("count", "n", "p", "expected"),
    [
        (0, 1, 0.5, 1.0),
        (1, 1, 0.5, 1.0),
        (0, 10, 0.0, 1.0),
        (3, 10, 0.0, 0.0),
        (10, 10, 1.0, 1.0),
        (9, 10, 1.0, 0.0),
        (5, 10, 0.5, 1.0),
    ],
)
def test_binomial_test_edges(count: int, n: int, p: float, expected: float) -> None:
    assert stats.binomial_test(count, n, p) == pytest.approx(expected)


@given(
    st.integers(min_value=0, max_value=400).flatmap(
        lambda n: st.tuples(st.integers(min_value=-2, max_value=n + 2), st.just(n))
    ),
    shares,
)
def test_binomial_tails_match_scipy(pair: tuple[int, int], p: float) -> None:
    k, n = pair
    for ours, theirs in [
        (stats.binomial_cdf(k, n, p), scipy_stats.binom.cdf(k, n, p)),
        (stats.binomial_sf(k, n, p), scipy_stats.binom.sf(k, n, p)),
        (stats.binomial_pmf(k, n, p), scipy_stats.binom.pmf(k, n, p)),
    ]:
        if theirs == 0:
            assert ours < 1e-280
        else:
            assert_same_p(ours, theirs)


@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=2, max_size=12).filter(
        lambda xs: sum(xs) > 0
    ),
    st.data(),
)
def test_chi_square_matches_scipy(observed: list[int], data: st.DataObject) -> None:
    weights = data.draw(
        st.lists(
            st.floats(min_value=0.01, max_value=100), min_size=len(observed), max_size=len(observed)
        )
    )
    statistic, df, p_value = stats.chi_square_goodness_of_fit(observed, weights)
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    reference = scipy_stats.chisquare(observed, expected)
    assert statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert df == len(observed) - 1
    assert p_value == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-300)


def test_chi_square_published_r_value() -> None:
    # R: chisq.test(c(30, 10)) -> X-squared = 10, df = 1, p-value = 0.001565
    statistic, df, p_value = stats.chi_square_goodness_of_fit([30, 10], [1, 1])
    assert (statistic, df) == (10.0, 1)
    assert p_value == pytest.approx(0.001565, abs=5e-7)


@given(st.floats(min_value=0, max_value=500), st.integers(min_value=1, max_value=80))
def test_chi_square_sf_matches_scipy(x: float, df: int) -> None:
    assert stats.chi_square_sf(x, df) == pytest.approx(
        scipy_stats.chi2.sf(x, df), rel=1e-8, abs=1e-300
    )


def test_chi_square_rejects_zero_shares() -> None:
    with pytest.raises(ValueError, match="above 0"):
        stats.chi_square_goodness_of_fit([1, 2], [0.0, 1.0])


@given(st.lists(st.floats(min_value=0.001, max_value=1), min_size=2, max_size=10), st.data())
def test_dissimilarity_is_total_variation_distance(
    weights: list[float], data: st.DataObject
) -> None:
    counts = data.draw(st.lists(st.integers(0, 100), min_size=len(weights), max_size=len(weights)))
    if sum(counts) == 0:
        counts[0] = 1
    shares = [c / sum(counts) for c in counts]
    population = [w / sum(weights) for w in weights]
    d = stats.dissimilarity_index(shares, weights)
    # Independent form: D = 1 - Σ min(p̂_k, π_k)
    assert d == pytest.approx(1 - math.fsum(map(min, shares, population)), abs=1e-12)
    assert 0 <= d <= 1 + 1e-12


@given(counts_and_n, shares, st.sampled_from([0.5, 0.8, 0.9]))
def test_shortfall_is_the_smallest_sufficient_number(
    pair: tuple[int, int], p: float, threshold: float
) -> None:
    count, n = pair
    m = stats.shortfall(count, n, p, threshold)
    target = threshold * p
    assert (count + m) / (n + m) >= target * (1 - 1e-9)
    if m > 0:
        assert (count + m - 1) / (n + m - 1) < target * (1 - 1e-12)


def test_shortfall_worked_example() -> None:
    assert stats.shortfall(6, 100, 0.20, 0.8) == 12
    assert stats.shortfall(30, 100, 0.20, 0.8) == 0


@given(
    st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1)), max_size=30),
    st.sampled_from(["bh", "holm"]),
)
def test_adjusted_p_values_match_statsmodels(p_values: list[float | None], method: str) -> None:
    ours = stats.adjust_p_values(p_values, method)
    present = [p for p in p_values if p is not None]
    assert [o is None for o in ours] == [p is None for p in p_values]
    if present:
        name = {"bh": "fdr_bh", "holm": "holm"}[method]
        theirs = iter(multipletests(present, method=name)[1])
        for adjusted in ours:
            if adjusted is not None:
                assert adjusted == pytest.approx(next(theirs), rel=1e-12, abs=1e-15)


def test_no_correction_returns_values_unchanged() -> None:
    assert stats.adjust_p_values([0.2, None, 0.01], "none") == [0.2, None, 0.01]


def test_unknown_correction_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown correction"):
        stats.adjust_p_values([0.1], "bonferroni")


@given(
    st.floats(min_value=0.01, max_value=1e5),
    st.floats(min_value=0.01, max_value=1e5),
    st.one_of(st.just(0.0), st.floats(min_value=1e-300, max_value=1, allow_subnormal=False)),
)
def test_betainc_matches_scipy(a: float, b: float, x: float) -> None:
    from scipy.special import betainc

    assert stats.betainc(a, b, x) == pytest.approx(betainc(a, b, x), rel=1e-8, abs=1e-14)


def r_poisson_test(x: int, m: float) -> float:
    """R's two-sided ``poisson.test(x, T = m)``, transcribed line by line onto scipy's Poisson."""
    import numpy as np

    poisson = scipy_stats.poisson
    if m == 0:
        return float(x == 0)
    if x == m:
        return 1.0
    d = poisson.pmf(x, m) * (1 + 1e-7)
    if x < m:
        big_n = math.ceil(2 * m - x)
        while poisson.pmf(big_n, m) > d:
            big_n *= 2
        y = int(np.sum(poisson.pmf(np.arange(math.ceil(m), big_n + 1), m) <= d))
        return float(poisson.cdf(x, m) + poisson.sf(big_n - y, m))
    y = int(np.sum(poisson.pmf(np.arange(0, math.floor(m) + 1), m) <= d))
    return float(poisson.cdf(y - 1, m) + poisson.sf(x - 1, m))


expected_counts = st.one_of(
    st.floats(min_value=0.01, max_value=50), st.floats(min_value=50, max_value=1e6)
)


@given(expected_counts, st.floats(min_value=0, max_value=3), st.integers(-30, 30))
@settings(max_examples=300, deadline=None)
def test_poisson_test_matches_r_algorithm_on_scipy(
    expected: float, scale: float, offset: int
) -> None:
    count = max(0, round(expected * scale) + offset)
    assert_same_p(stats.poisson_test(count, expected), r_poisson_test(count, expected))


def test_poisson_test_published_r_value() -> None:
    # R: poisson.test(137, 24.19893) (R's own example: SMR of Welsh nickel workers, from
    # the ISwR package) -> p-value < 2.2e-16, 95% CI 4.753125 6.692709, rate 5.661407.
    assert stats.poisson_test(137, 24.19893) < 2.2e-16
    low, high = stats.poisson_interval(137, 0.95)
    assert low / 24.19893 == pytest.approx(4.753125, abs=5e-7)
    assert high / 24.19893 == pytest.approx(6.692709, abs=5e-7)


@pytest.mark.parametrize(
    ("count", "expected", "p_value"),
    [(0, 0.0, 1.0), (2, 0.0, 0.0), (5, 5.0, 1.0)],
)
def test_poisson_test_edges(count: int, expected: float, p_value: float) -> None:
    assert stats.poisson_test(count, expected) == p_value


@given(
    st.one_of(st.integers(0, 200), st.integers(200, 10**7)),
    st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.999]),
)
@settings(max_examples=300, deadline=None)
def test_poisson_interval_matches_scipy_chi_square(count: int, confidence: float) -> None:
    alpha = 1 - confidence
    low, high = stats.poisson_interval(count, confidence)
    expected_low = scipy_stats.chi2.ppf(alpha / 2, 2 * count) / 2 if count else 0.0
    expected_high = scipy_stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    assert low == pytest.approx(expected_low, rel=1e-9, abs=1e-12)
    assert high == pytest.approx(expected_high, rel=1e-9)
    assert low <= count <= high


@given(
    st.integers(min_value=0, max_value=10**6),
    st.floats(min_value=0.01, max_value=2e6),
)
@settings(max_examples=200)
def test_poisson_tails_match_scipy(k: int, mu: float) -> None:
    poisson = scipy_stats.poisson
    assert stats.poisson_cdf(k, mu) == pytest.approx(poisson.cdf(k, mu), rel=1e-8, abs=1e-300)
    sf = stats.poisson_sf(k, mu)
    if sf != pytest.approx(poisson.sf(k, mu), rel=1e-8, abs=1e-300):
        # Far in the tail of a large mean scipy's own sf is off by ~1e-8 (k=999997,
        # mu=991849: scipy 8.5e-9 from the exact value, ours 2.5e-9): the exact value
        # (mpmath's regularised incomplete gamma, P(X > k) = P(k + 1, mu)) decides.
        import mpmath

        with mpmath.workdps(40):
            exact = float(mpmath.gammainc(k + 1, 0, mu, regularized=True))
        assert sf == pytest.approx(exact, rel=1e-8, abs=1e-300)
    assert stats.poisson_pmf(k, mu) == pytest.approx(poisson.pmf(k, mu), rel=1e-8, abs=1e-300)


@given(st.floats(min_value=0.01, max_value=1e5), st.floats(min_value=0, max_value=2e5))
def test_gammainc_matches_scipy(a: float, x: float) -> None:
    from scipy.special import gammainc

    assert stats.gammainc(a, x) == pytest.approx(gammainc(a, x), rel=1e-8, abs=1e-300)


def test_poisson_interval_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        stats.poisson_interval(3, 1.0)
