"""Binomial statistics for one group: the exact tests, the exact interval and the distribution.

For ``x`` of ``n`` participants in a group whose population share is ``π``.
Probabilities are computed in Loader's (2000) saddle-point form and the tails
as incomplete beta functions with ``x`` and ``1 − x`` carried apart (see
``special.betainc_pair``), so they keep about 12 significant digits up to
``n = 10⁸`` (tested against mpmath).
"""

from __future__ import annotations

import functools
import math

from inclusion_audit.stats.special import (
    betainc_pair,
    check_count,
    first_index,
    last_index,
    log_binomial_pmf,
    solve_monotone,
    z_value,
)

# Relative tolerance used by R's binom.test and scipy.stats.binomtest to decide
# which outcomes are "as or less likely" than the observed one.
RELATIVE_TOLERANCE = 1 + 1e-7


def binomial_pmf(k: int, n: int, p: float) -> float:
    """Binomial probability ``P(X = k) = C(n, k) p^k (1 − p)^(n − k)``.

    Computed in log space in Loader's form (``special.log_binomial_pmf``), not
    as a difference of ``lgamma`` values of order ``n log n`` that cancel, so it
    keeps its digits for registers of 10⁸ rows.

    >>> round(binomial_pmf(3, 15, 0.1), 6)
    0.128505
    """
    if k < 0 or k > n:
        return 0.0
    if p == 0:
        return 1.0 if k == 0 else 0.0
    if p == 1:
        return 1.0 if k == n else 0.0
    return math.exp(log_binomial_pmf(k, n, p))


def binomial_cdf(k: int, n: int, p: float) -> float:
    """Binomial lower tail ``P(X ≤ k)``, as ``I_{1−p}(n − k, k + 1)``.

    ``I`` is the regularised incomplete beta function (see ``betainc``).

    >>> round(binomial_cdf(3, 15, 0.1), 6)
    0.944444
    """
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return betainc_pair(n - k, k + 1, 1 - p, p)


def binomial_sf(k: int, n: int, p: float) -> float:
    """Binomial upper tail ``P(X > k)``, as ``I_p(k + 1, n − k)``.

    >>> round(binomial_sf(3, 15, 0.1), 6)
    0.055556
    """
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return betainc_pair(k + 1, n - k, p, 1 - p)


def binomial_test(count: int, n: int, p: float) -> float:
    """Two-sided exact binomial test of ``x`` successes in ``n`` at probability ``π``.

    The p-value is the total probability of every outcome that is no more
    likely than the one observed::

        p = Σ P(X = i)  over all i with  P(X = i) ≤ P(X = x) · (1 + 10⁻⁷)

    This is the convention of R's ``binom.test`` and ``scipy.stats.binomtest``
    (the small relative tolerance stops rounding from splitting ties). The
    tails are summed with the incomplete beta function, so the cost does not
    grow with ``n``. Worked example from scipy's documentation, one-sided there:
    3 of 15 cars unsafe against a claimed 10%, two-sided here.

    >>> round(binomial_test(3, 15, 0.1), 6)
    0.184061
    """
    certain = _checked_test(count, n, p)
    if certain is not None:
        return certain
    return _two_sided_test(int(count), int(n), float(p))


@functools.lru_cache(maxsize=4096)
def _two_sided_test(count: int, n: int, p: float) -> float:
    # Remembered like the interval: groups of one audit share counts and bases.
    expected = p * n
    if count == expected:
        return 1.0
    d = binomial_pmf(count, n, p) * RELATIVE_TOLERANCE
    if count < expected:
        # First index above the mode whose probability is at most d.
        first = first_index(lambda i: binomial_pmf(i, n, p) <= d, math.ceil(expected), n)
        upper = binomial_sf(first - 1, n, p) if first is not None else 0.0
        p_value = binomial_cdf(count, n, p) + upper
    else:
        # Last index below the mode whose probability is at most d.
        last = last_index(lambda i: binomial_pmf(i, n, p) <= d, 0, math.floor(expected))
        lower = binomial_cdf(last, n, p) if last is not None else 0.0
        p_value = lower + binomial_sf(count - 1, n, p)
    return min(1.0, p_value)


def _checked_test(count: int, n: int, p: float) -> float | None:
    """Check a test's arguments; the p-value where ``π`` is 0 or 1 (certain), else None."""
    check_count(count, n)
    if n == 0:
        raise ValueError("the binomial test needs at least one participant (n >= 1)")
    if not 0 <= p <= 1:
        raise ValueError(f"the population share must be between 0 and 1, got {p}")
    if p == 0:
        return 1.0 if count == 0 else 0.0
    if p == 1:
        return 1.0 if count == n else 0.0
    return None


def binomial_test_central(count: int, n: int, p: float) -> float:
    """Two-sided exact binomial test with equal tails: the test a verdict uses.

    Formula::

        p = min(1, 2 · min(P(X ≤ x), P(X ≥ x))),   X ~ Binomial(n, π)

    (R's ``binom.test`` sums the outcomes no more likely than the one observed
    instead: ``binomial_test``.) Inverting this test gives the Clopper-Pearson
    interval exactly: the interval at level ``1 − a`` leaves out ``π`` exactly
    when ``p ≤ a``, so a verdict and its interval cannot disagree. Worked
    example: 45 of 100 participants where the population share is 60%:
    ``P(X ≤ 45) = 0.00171``, so ``p = 0.00342``.

    >>> round(binomial_test_central(45, 100, 0.6), 6)
    0.003422
    """
    certain = _checked_test(count, n, p)
    if certain is not None:
        return certain
    return _central_test(int(count), int(n), float(p))


@functools.lru_cache(maxsize=4096)
def _central_test(count: int, n: int, p: float) -> float:
    # Remembered like the interval: groups of one audit share counts and bases.
    # The tail on the observed side first: when it is below 1/2 it is the smaller one
    # (the other is at least 1 minus it), so the other need not be computed.
    if count < n * p:
        first = binomial_cdf(count, n, p)
        if first < 0.5:
            return 2 * first
        return min(1.0, 2 * min(first, binomial_sf(count - 1, n, p)))
    first = binomial_sf(count - 1, n, p)
    if first < 0.5:
        return 2 * first
    return min(1.0, 2 * min(binomial_cdf(count, n, p), first))


def clopper_pearson_interval(count: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval for a proportion: the inverted equal-tailed test.

    With ``α = 1 − confidence`` the limits solve::

        lower L:  P(X ≥ x | L) = α/2      (0 when x = 0)
        upper U:  P(X ≤ x | U) = α/2      (1 when x = n)

    i.e. the ``α/2`` and ``1 − α/2`` quantiles of Beta(x, n − x + 1) and
    Beta(x + 1, n − x) (Clopper and Pearson, 1934). Each is found by Newton's
    method on the log tail, started from the Wilson interval and kept in a
    bracket by bisection. Remembered (the last 4,096 arguments): within one
    audit many groups share a count and base (wards with nobody or one
    participant), and each costs about 0.2 ms. Worked example: 1 of 107 participants.

    >>> low, high = clopper_pearson_interval(1, 107)
    >>> round(low, 6), round(high, 6)
    (0.000237, 0.050973)
    """
    check_count(count, n)
    if n == 0:
        raise ValueError("the interval needs at least one participant (n >= 1)")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return _clopper_pearson(int(count), int(n), float(confidence))


@functools.lru_cache(maxsize=4096)
def _clopper_pearson(count: int, n: int, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    z = z_value(confidence)
    z2 = z * z
    centre = (count + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(count * (n - count) / n + z2 / 4)
    low = 0.0
    if count > 0:
        # P(X ≥ x | t) rises with t; its slope is n · P(Binomial(n − 1, t) = x − 1).
        low = solve_monotone(
            lambda t: binomial_sf(count - 1, n, t),
            lambda t: n * math.exp(log_binomial_pmf(count - 1, n - 1, t)),
            tail,
            0.0,
            count / n,
            max(centre - half, 0.0),
            increasing=True,
        )
    high = 1.0
    if count < n:
        # P(X ≤ x | t) falls with t; its slope is −n · P(Binomial(n − 1, t) = x).
        high = solve_monotone(
            lambda t: binomial_cdf(count, n, t),
            lambda t: -n * math.exp(log_binomial_pmf(count, n - 1, t)),
            tail,
            count / n,
            1.0,
            min(centre + half, 1.0),
            increasing=False,
        )
    return low, high
