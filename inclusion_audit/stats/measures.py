"""Measures of how far a characteristic's participants are from the population.

The representation ratio, the shortfall in people, Duncan's dissimilarity index and
the chi-square goodness-of-fit test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from inclusion_audit.stats.special import check_count, gammaincc

_SHORTFALL_TOLERANCE = 1e-9


def representation_ratio(share: float, population_share: float) -> float:
    """Representation ratio ``RR = p̂ / π``.

    1 means the group's share among participants equals its share of the
    population; 0.5 means it took part at half its population share.

    >>> representation_ratio(0.10, 0.20)
    0.5
    """
    if population_share <= 0:
        raise ValueError("the representation ratio needs a population share above 0")
    return share / population_share


def chi_square_goodness_of_fit(
    observed: Sequence[float], population_shares: Sequence[float]
) -> tuple[float, int, float]:
    """Pearson's chi-square goodness-of-fit test against census shares.

    Formula, with ``E_k = n · π_k`` and ``K`` categories::

        X² = Σ_k (O_k − E_k)² / E_k,   df = K − 1,   p = P(χ²_df ≥ X²)

    Shares are renormalised to sum to 1. Every share must be above 0 (a
    category nobody in the population belongs to has no expected count).
    Returns ``(statistic, df, p_value)``.

    >>> stat, df, p = chi_square_goodness_of_fit([30, 10], [0.5, 0.5])
    >>> stat, df, round(p, 6)
    (10.0, 1, 0.001565)
    """
    if len(observed) != len(population_shares):
        raise ValueError("observed counts and population shares differ in length")
    if len(observed) < 2:
        raise ValueError("the chi-square test needs at least two categories")
    total_share = math.fsum(population_shares)
    if any(s <= 0 for s in population_shares) or total_share <= 0:
        raise ValueError("every population share must be above 0")
    n = math.fsum(observed)
    if n <= 0:
        raise ValueError("the chi-square test needs at least one participant")
    statistic = 0.0
    for o, share in zip(observed, population_shares, strict=True):
        e = n * share / total_share
        statistic += (o - e) ** 2 / e
    df = len(observed) - 1
    return statistic, df, chi_square_sf(statistic, df)


def chi_square_sf(statistic: float, df: int) -> float:
    """Upper tail of the chi-square distribution, ``Q(df/2, X²/2)``.

    ``Q`` is the regularised upper incomplete gamma function.

    >>> round(chi_square_sf(3.841459, 1), 6)
    0.05
    """
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if statistic <= 0:
        return 1.0
    return gammaincc(df / 2, statistic / 2)


def dissimilarity_index(shares: Sequence[float], population_shares: Sequence[float]) -> float:
    """Duncan's dissimilarity index ``D = ½ Σ_k |p̂_k − π_k|``.

    The share of participants who would have to belong to another group for
    the participants to mirror the population: 0 is identical, 1 disjoint.
    Population shares are renormalised to sum to 1.

    >>> round(dissimilarity_index([0.7, 0.3], [0.5, 0.5]), 6)
    0.2
    """
    if len(shares) != len(population_shares):
        raise ValueError("participant and population shares differ in length")
    total = math.fsum(population_shares)
    if total <= 0:
        raise ValueError("population shares must sum to more than 0")
    return 0.5 * math.fsum(
        abs(s - ps / total) for s, ps in zip(shares, population_shares, strict=True)
    )


def shortfall(count: int, n: int, population_share: float, threshold: float) -> int:
    """How many more participants from a group lift its ratio to ``threshold``.

    Adding ``m`` participants from the group gives a share ``(x + m)/(n + m)``.
    The smallest whole ``m`` with ``(x + m)/(n + m) ≥ t·π`` is::

        m = ⌈(t·π·n − x) / (1 − t·π)⌉,  or 0 when the group already meets it.

    Worked example: 6 of 100 participants are aged 25-34 against a population
    share of 20%; to reach a ratio of 0.8 (a 16% share) needs 12 more people,
    since 18/112 = 16.07% while 17/111 = 15.3%.

    >>> shortfall(6, 100, 0.20, 0.8)
    12
    >>> shortfall(800, 10_000, 0.10, 0.8)  # exactly at the threshold
    0
    """
    check_count(count, n)
    target = threshold * population_share
    if target >= 1:
        raise ValueError("threshold × population share must be below 1 to be reachable")

    def enough(m: int) -> bool:
        # A relative tolerance keeps a group exactly at the threshold from needing one
        # more person because 0.8 × 0.1 is not exactly 0.08 in floating point.
        return count + m >= target * (n + m) * (1 - _SHORTFALL_TOLERANCE)

    if enough(0):
        return 0
    m = max(0, math.ceil((target * n - count) / (1 - target)))
    while m > 0 and enough(m - 1):
        m -= 1
    while not enough(m):
        m += 1
    return m


def dissimilarity_range(
    counts: Sequence[int | None],
    bounds: Sequence[tuple[int, int]],
    population_shares: Sequence[float],
    n: int,
    *,
    max_work: int = 400_000,
) -> tuple[float, float] | None:
    """The least and greatest dissimilarity index the known counts allow.

    Some counts are known (``counts[k]``) and some only within integer bounds
    (``counts[k] is None``, ``bounds[k] = (low, high)``), with the total ``n``
    known. Over every integer completion ``x`` with ``low_k ≤ x_k ≤ high_k`` and
    ``Σ x_k = n``::

        D(x) = ½ Σ_k |x_k / n − π_k|     (Duncan's index, π renormalised)

    its minimum and maximum, by dynamic programming over the running sum of the
    unknown counts (the index is separable, so the best completion of the first
    ``j`` unknowns for each partial sum is all that needs keeping). ``None`` when
    no completion exists or when the programme would exceed ``max_work`` steps.

    Worked example: counts 40 and 56 known, a third between 0 and 4, n = 100 and
    population shares 0.4, 0.5, 0.1: the third must be 4, so D = ½(0 + 0.06 +
    0.06) = 0.06 at both ends.

    >>> [round(d, 6) for d in dissimilarity_range([40, 56, None], [(0, 0), (0, 0), (0, 4)],
    ...                                           [0.4, 0.5, 0.1], 100)]
    [0.06, 0.06]
    >>> [round(d, 6) for d in dissimilarity_range([40, None, None], [(0, 0), (0, 60), (0, 60)],
    ...                                           [0.4, 0.5, 0.1], 100)]
    [0.0, 0.5]
    """
    if n <= 0 or len(counts) != len(bounds) or len(counts) != len(population_shares):
        return None
    total = math.fsum(population_shares)
    if total <= 0:
        return None
    pi = [p / total for p in population_shares]
    known = [k for k, c in enumerate(counts) if c is not None]
    base = math.fsum(abs(int(counts[k] or 0) / n - pi[k]) for k in known)
    rest = n - sum(int(counts[k] or 0) for k in known)
    unknown = [k for k, c in enumerate(counts) if c is None]
    if rest < 0:
        return None
    if not unknown:
        return (0.5 * base, 0.5 * base) if rest == 0 else None
    spans = [(max(0, bounds[k][0]), min(rest, bounds[k][1])) for k in unknown]
    if any(lo > hi for lo, hi in spans):
        return None
    if sum(hi - lo + 1 for lo, hi in spans) * (rest + 1) > max_work:
        return None
    # low[s] and high[s]: the least and greatest sum of costs over completions of the
    # unknowns so far whose counts add up to s. Only sums from which the remaining
    # unknowns can still reach ``rest`` are kept (the same values, far fewer states).
    still_low = [sum(lo for lo, _ in spans[j:]) for j in range(len(spans) + 1)]
    still_high = [sum(hi for _, hi in spans[j:]) for j in range(len(spans) + 1)]
    low: dict[int, float] = {0: 0.0}
    high: dict[int, float] = {0: 0.0}
    for j, (k, (lo, hi)) in enumerate(zip(unknown, spans, strict=True)):
        least, most = rest - still_high[j + 1], rest - still_low[j + 1]
        new_low: dict[int, float] = {}
        new_high: dict[int, float] = {}
        for s, cheapest in low.items():
            dearest = high[s]
            for x in range(max(lo, least - s), min(hi, most - s) + 1):
                cost = abs(x / n - pi[k])
                # Completions whose running sum was s now reach s + x.
                t = s + x
                if t not in new_low:
                    new_low[t], new_high[t] = cheapest + cost, dearest + cost
                else:
                    new_low[t] = min(new_low[t], cheapest + cost)
                    new_high[t] = max(new_high[t], dearest + cost)
        low, high = new_low, new_high
    if rest not in low:
        return None
    return 0.5 * (base + low[rest]), 0.5 * (base + high[rest])


def base_share_bounds(
    population_count: float, base_total: float, outside_eligible: float, outside_base: float
) -> tuple[float, float]:
    """The lowest and highest eligible share of a category whose base is not the eligible ages.

    A category has ``N`` of the base's ``T`` residents. ``X`` residents of the
    base are not eligible (aged 16-17 for an 18+ event compared with a 16+
    table) and ``Y`` eligible residents are outside the base. The eligible
    population is ``T − X + Y``, of whom the category holds between
    ``max(0, N − X)`` (all X in it, none of Y) and ``min(N + Y, T − X + Y)``
    (none of X, all of Y)::

        lowest  = max(0, N − X) / (T − X + Y)
        highest = min(N + Y, T − X + Y) / (T − X + Y)

    The stand-in share ``N / T`` lies between them (Manski, 2003, *Partial
    Identification of Probability Distributions*: bounds that assume nothing
    about the missing part). Worked example: a group of 2,000 in a 16+ base of
    100,000 with 3,000 aged 16-17, for an 18+ event: lowest 0 (all 16-17s could
    be in it), highest 2,000 / 97,000 = 2.06%, around the stand-in 2%.

    >>> low, high = base_share_bounds(2_000, 100_000, 3_000, 0)
    >>> low, round(high, 6)
    (0.0, 0.020619)
    """
    if min(population_count, base_total, outside_eligible, outside_base) < 0:
        raise ValueError("counts must not be negative")
    eligible = base_total - outside_eligible + outside_base
    if eligible <= 0:
        raise ValueError("the base leaves no eligible residents")
    low = max(0.0, population_count - outside_eligible) / eligible
    high = min(population_count + outside_base, eligible) / eligible
    return low, high
