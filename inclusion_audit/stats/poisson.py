"""Poisson statistics for pooled counts: the exact test and the exact (Garwood) interval."""

from __future__ import annotations

import math
from statistics import NormalDist

from inclusion_audit.stats.binomial import RELATIVE_TOLERANCE
from inclusion_audit.stats.special import first_index, gammainc, gammaincc, last_index


def poisson_pmf(k: int, mu: float) -> float:
    """Poisson probability ``P(X = k) = μ^k e^(−μ) / k!``, in log space.

    >>> round(poisson_pmf(3, 8.0), 6)
    0.028626
    """
    if k < 0:
        return 0.0
    if mu == 0:
        return 1.0 if k == 0 else 0.0
    return math.exp(_poisson_log_pmf(k, mu))


def poisson_cdf(k: int, mu: float) -> float:
    """Poisson lower tail ``P(X ≤ k) = Q(k + 1, μ)`` (regularised upper incomplete gamma).

    >>> round(poisson_cdf(3, 8.0), 6)
    0.04238
    """
    if k < 0:
        return 0.0
    if mu == 0:
        return 1.0
    return gammaincc(k + 1, mu)


def poisson_sf(k: int, mu: float) -> float:
    """Poisson upper tail ``P(X > k) = P(k + 1, μ)`` (regularised lower incomplete gamma).

    >>> round(poisson_sf(12, 8.0), 6)
    0.063797
    """
    if k < 0:
        return 1.0
    if mu == 0:
        return 0.0
    return gammainc(k + 1, mu)


def poisson_test(count: int, expected: float) -> float:
    """Two-sided exact Poisson test of an observed count against an expected one.

    ``X ~ Poisson(E)`` under the null hypothesis that the group takes part in
    line with its population share (pooled ratio 1). The p-value is the total
    probability of every count that is no more likely than the one observed::

        p = Σ P(X = i)  over all i with  P(X = i) ≤ P(X = O) · (1 + 10⁻⁷)

    the convention of R's ``poisson.test`` (and of ``binomial_test``). The two
    tails are incomplete gamma functions, found by bisection on the
    probabilities, so the cost does not grow with the count. Worked example: 3
    participants from a group where 8 were expected; counts of 14 and more are
    as unlikely as 3, so ``p = P(X ≤ 3) + P(X ≥ 14)``.

    >>> round(poisson_test(3, 8.0), 6)
    0.076561
    """
    if count < 0:
        raise ValueError(f"the observed count must be 0 or more, got {count}")
    if not expected >= 0 or math.isinf(expected):
        raise ValueError(f"the expected count must be a finite number, 0 or more, got {expected}")
    if expected == 0:
        return 1.0 if count == 0 else 0.0
    if count == expected:
        return 1.0
    threshold = _poisson_log_pmf(count, expected) + math.log(RELATIVE_TOLERANCE)

    def as_unlikely(i: int) -> bool:
        return _poisson_log_pmf(i, expected) <= threshold

    if count < expected:
        top = max(math.ceil(2 * expected - count), 1)
        while not as_unlikely(top):
            top *= 2
        first = first_index(as_unlikely, math.ceil(expected), top)
        upper = poisson_sf(first - 1, expected) if first is not None else 0.0
        return min(1.0, poisson_cdf(count, expected) + upper)
    last = last_index(as_unlikely, 0, math.floor(expected))
    lower = poisson_cdf(last, expected) if last is not None else 0.0
    return min(1.0, lower + poisson_sf(count - 1, expected))


def poisson_interval(count: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood, 1936) confidence interval for the mean of a Poisson count.

    With ``α = 1 − confidence`` and ``O`` the observed count, the limits are
    the means under which ``O`` sits exactly on the edge of the ``α/2`` tail::

        lower L:  P(X ≥ O | L) = α/2,  i.e.  L = ½ χ²(α/2; 2O)       (0 when O = 0)
        upper U:  P(X ≤ O | U) = α/2,  i.e.  U = ½ χ²(1 − α/2; 2O + 2)

    Dividing both by an expected count ``E`` gives the interval of a
    standardised ratio ``O / E`` (as for an SMR). Each limit is a root of an
    incomplete gamma function, found by Newton's method from the
    Wilson-Hilferty approximation, kept inside a bracket by bisection. Worked
    example, R's own (``example(poisson.test)``): 137 deaths among Welsh nickel
    workers where 24.19893 were expected.

    >>> low, high = poisson_interval(137)
    >>> round(low / 24.19893, 6), round(high / 24.19893, 6)
    (4.753125, 6.692709)
    """
    if count < 0:
        raise ValueError(f"the observed count must be 0 or more, got {count}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    tail = (1 - confidence) / 2
    low = 0.0 if count == 0 else _gamma_quantile(count, tail)
    return low, _gamma_quantile(count + 1, 1 - tail)


def _gamma_quantile(a: float, probability: float) -> float:
    """The ``x`` with ``P(a, x) = probability``: the quantile of a Gamma(a, 1) variable."""
    upper = probability > 0.5

    def excess(x: float) -> float:
        # Work in whichever tail is smaller, where the function keeps its digits.
        if upper:
            return (1 - probability) - gammaincc(a, x)
        return gammainc(a, x) - probability

    z = NormalDist().inv_cdf(probability)
    x = a * (1 - 1 / (9 * a) + z / (3 * math.sqrt(a))) ** 3
    x = x if x > 0 else a * probability ** (1 / a)
    low, high = 0.0, math.inf
    for _ in range(200):
        value = excess(x)
        if value == 0:
            return x
        if value < 0:
            low = x
        else:
            high = x
        density = math.exp((a - 1) * math.log(x) - x - math.lgamma(a))
        candidate = x - value / density if density > 0 else math.nan
        if not low < candidate < high:
            candidate = (low + high) / 2 if math.isfinite(high) else 2 * x
        # The incomplete gamma functions carry about 13 significant digits at large a,
        # so asking Newton for more would only make it wander.
        if abs(candidate - x) <= 1e-13 * x:
            return candidate
        x = candidate
    return x


def _poisson_log_pmf(k: int, mu: float) -> float:
    return k * math.log(mu) - mu - math.lgamma(k + 1)
