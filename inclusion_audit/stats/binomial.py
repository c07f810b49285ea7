"""Binomial statistics for one group: the exact test, the Wilson interval and the distribution.

For ``x`` of ``n`` participants in a group whose population share is ``π``.
"""

from __future__ import annotations

import math

from inclusion_audit.stats.special import betainc, check_count, first_index, last_index

# Relative tolerance used by R's binom.test and scipy.stats.binomtest to decide
# which outcomes are "as or less likely" than the observed one.
RELATIVE_TOLERANCE = 1 + 1e-7


def binomial_pmf(k: int, n: int, p: float) -> float:
    """Binomial probability ``P(X = k) = C(n, k) p^k (1 − p)^(n − k)``.

    Computed in log space with ``lgamma`` so it stays finite for registers of
    millions of rows.

    >>> round(binomial_pmf(3, 15, 0.1), 6)
    0.128505
    """
    if k < 0 or k > n:
        return 0.0
    if p == 0:
        return 1.0 if k == 0 else 0.0
    if p == 1:
        return 1.0 if k == n else 0.0
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    return math.exp(log_pmf)


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
    return betainc(n - k, k + 1, 1 - p)


def binomial_sf(k: int, n: int, p: float) -> float:
    """Binomial upper tail ``P(X > k)``, as ``I_p(k + 1, n − k)``.

    >>> round(binomial_sf(3, 15, 0.1), 6)
    0.055556
    """
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return betainc(k + 1, n - k, p)


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
    check_count(count, n)
    if n == 0:
        raise ValueError("the binomial test needs at least one participant (n >= 1)")
    if not 0 <= p <= 1:
        raise ValueError(f"the population share must be between 0 and 1, got {p}")
    if p == 0:
        return 1.0 if count == 0 else 0.0
    if p == 1:
        return 1.0 if count == n else 0.0
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
