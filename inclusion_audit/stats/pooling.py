"""Pooling events: the pooled count as a sum of independent binomials.

At event ``e`` with ``n_e`` participants with a known answer and population
share ``π_e``, a group's count is ``X_e ~ Binomial(n_e, ρ·π_e)``, where ``ρ``
is the pooled representation ratio (1 when the group takes part in line with
its share everywhere). The pooled count ``S = Σ_e X_e`` then has the exact
distribution of the convolution of those binomials (a Poisson-binomial sum of
blocks), computed here by convolving each binomial's probabilities over the
range that holds all but 10⁻³⁰ of them (numpy: direct convolution for short
arrays, FFT for long ones). Then, with ``O`` the observed pooled count and
``E = Σ_e n_e π_e``:

* ``ratio = O / E`` (indirect standardisation, as a standardised ratio);
  the expected count is ``E`` itself;
* the two-sided equal-tailed exact test of ``ρ = 1``:
  ``p = min(1, 2 · min(P(S ≤ O), P(S ≥ O)))``;
* its inversion: the interval of ``ρ`` whose tests do not reject, i.e.
  ``P_ρL(S ≥ O) = α/2`` and ``P_ρU(S ≤ O) = α/2``.

With one event this is exactly the audit's test and Clopper-Pearson interval,
so a review of one event gives each group its audit's status.

**Long sums.** Events with the same share are merged first (one binomial per
share). When the shares still differ so much that the convolution would be long
(``convolution_cost`` above ``_EXACT_COST``: hundreds of events, each at its own
share), the tails come from the saddlepoint approximation instead
(``saddlepoint_tails``, Lugannani-Rice with Daniels' continuity correction),
whose relative error there is below 10⁻³ (tested against exact convolutions and
mpmath), while an FFT convolution's own rounding leaves it no digits below
~10⁻¹⁴. The choice depends on the events, not the ratio, so the test and the
interval inverting it always use one model. A review of 1,000 events, each at
its own share, takes milliseconds per group instead of seconds.

numpy is imported only here, and only when two or more events are pooled.

Counts are attendances: regulars come back, so events are not independent
draws of people and their counts vary more than binomials would. The Pearson
dispersion statistic over events, with ``p̃_e = ρ̂ π_e``::

    φ = 1/(k − 1) · Σ_e (x_e − n_e p̃_e)² / (n_e p̃_e (1 − p̃_e))

is about 1 without over-dispersion. When ``φ > 1`` the evidence is discounted
as in quasi-likelihood (McCullagh and Nelder, 1989, §4.5): the test's normal
deviate is divided by ``√φ``,
``p_φ = erfc(z / √(2φ))`` with ``z = Φ⁻¹(1 − p/2)``, and the interval is the
exact interval at the level that corresponds, so it widens by about ``√φ`` and
still excludes 1 exactly when ``p_φ ≤ α``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING

from inclusion_audit.stats.binomial import (
    binomial_cdf,
    binomial_sf,
    binomial_test_central,
    clopper_pearson_interval,
)
from inclusion_audit.stats.special import log_binomial_pmf

if TYPE_CHECKING:
    import numpy as np

_SPREAD = 12.0
"""Each binomial is kept within its mean ± 12 standard deviations + 10, all but ~10⁻²⁵ of it."""
_DIRECT = 4096
"""Arrays shorter than this are convolved directly, longer ones through the FFT."""
_EXACT_COST = 200_000
"""Above this ``convolution_cost`` (a few milliseconds a convolution), tails come from
the saddlepoint approximation: an interval needs about 40 of them per group."""
_SADDLEPOINT_VARIANCE = 100.0
"""The smallest variance of the pooled count the saddlepoint is used at: from there on its
tails are within 10⁻³ (relative) of the exact ones (tests)."""


def sum_of_binomials(ns: Sequence[int], ps: Sequence[float]) -> tuple[int, np.ndarray]:
    """The distribution of ``Σ X_e``, ``X_e ~ Binomial(n_e, p_e)``: ``(offset, probabilities)``.

    ``probabilities[i]`` is ``P(S = offset + i)``.
    """
    import numpy as np

    offset = 0
    total = np.ones(1)
    blocks = []
    for n, p in zip(ns, ps, strict=True):
        start, block = _binomial_block(n, p)
        offset += start
        blocks.append(block)
    length = sum(len(b) for b in blocks) - len(blocks) + 1
    if length <= _DIRECT:
        for block in blocks:
            total = np.convolve(total, block)
    else:
        size = 1 << (length - 1).bit_length()
        spectrum = np.ones(size // 2 + 1, dtype=complex)
        for block in blocks:
            spectrum *= np.fft.rfft(block, size)
        total = np.clip(np.fft.irfft(spectrum, size)[:length], 0.0, None)
    return offset, total


def _binomial_block(n: int, p: float) -> tuple[int, np.ndarray]:
    import numpy as np

    if n == 0 or p <= 0:
        return 0, np.ones(1)
    if p >= 1:
        return n, np.ones(1)
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    low = max(0, math.floor(mean - _SPREAD * sd - 10))
    high = min(n, math.ceil(mean + _SPREAD * sd + 10))
    mode = min(max(math.floor((n + 1) * p), low), high)
    i = np.arange(low, high + 1, dtype=float)
    # log P(i + 1) − log P(i) = log((n − i)/(i + 1)) + log(p/q), summed out from the mode.
    step = np.log((n - i[:-1]) / (i[:-1] + 1)) + (math.log(p) - math.log1p(-p))
    log_pmf = np.empty_like(i)
    at = mode - low
    log_pmf[at] = log_binomial_pmf(mode, n, p)
    log_pmf[at + 1 :] = log_pmf[at] + np.cumsum(step[at:])
    log_pmf[:at] = log_pmf[at] - np.cumsum(step[:at][::-1])[::-1]
    return low, np.exp(log_pmf)


def convolution_cost(ns: Sequence[int], ps: Sequence[float]) -> float:
    """Work of the exact convolution: the blocks' total length times their number.

    >>> convolution_cost([100, 100], [0.5, 0.5])
    404.0
    """
    total = 0.0
    for n, p in zip(ns, ps, strict=True):
        sd = math.sqrt(n * p * (1 - p)) if 0 < p < 1 else 0.0
        total += min(n, 2 * (_SPREAD * sd + 10)) + 1
    return total * len(ns)


def collapse(ns: Sequence[int], shares: Sequence[float]) -> tuple[list[int], list[float]]:
    """Events with the same share as one: ``Σ Binomial(n_e, p) = Binomial(Σ n_e, p)`` exactly.

    Events in one area with the same eligible ages share every population
    share, so a review of a year of weekly events is one binomial per share.

    >>> collapse([10, 20, 5], [0.2, 0.3, 0.2])
    ([15, 20], [0.2, 0.3])
    """
    totals: dict[float, int] = {}
    for n, s in zip(ns, shares, strict=True):
        totals[s] = totals.get(s, 0) + n
    return list(totals.values()), list(totals)


def pooled_tails(
    observed: int, ns: Sequence[int], shares: Sequence[float], ratio: float
) -> tuple[float, float]:
    """``(P(S ≤ O), P(S ≥ O))`` when every event's share is ``ratio × π_e``.

    Exact (one binomial, or the convolution) unless the convolution would be long
    (``convolution_cost`` of the shares above ``_EXACT_COST``): then by the
    saddlepoint method (``saddlepoint_tails``). The choice depends on the events
    only, not on ``ratio``, so a test and the interval inverting it use one model.
    """
    ns, shares = collapse(ns, shares)
    return _tails(observed, ns, shares, ratio, _saddlepoint(ns, shares))


def _saddlepoint(ns: Sequence[int], shares: Sequence[float]) -> bool:
    """Whether to use the saddlepoint: a long convolution, and a variance where its error
    is known to be small (``_SADDLEPOINT_VARIANCE``)."""
    if len(ns) < 2 or convolution_cost(ns, shares) <= _EXACT_COST:
        return False
    variance = math.fsum(n * s * (1 - s) for n, s in zip(ns, shares, strict=True))
    return variance >= _SADDLEPOINT_VARIANCE


def _tails(
    observed: int,
    ns: Sequence[int],
    shares: Sequence[float],
    ratio: float,
    saddlepoint: bool,
    which: int | None = None,
) -> tuple[float, float]:
    """``pooled_tails`` of collapsed events; with ``which`` (0 lower, 1 upper) only that
    tail is computed where that saves work (the other is then NaN)."""
    ps = [min(1.0, ratio * s) for s in shares]
    if len(ns) == 1:
        return binomial_cdf(observed, ns[0], ps[0]), binomial_sf(observed - 1, ns[0], ps[0])
    if saddlepoint:
        return saddlepoint_tails(observed, ns, ps, which)
    offset, probabilities = sum_of_binomials(ns, ps)
    at = observed - offset
    if at < 0:
        return 0.0, 1.0
    if at >= len(probabilities):
        return 1.0, 0.0
    below = float(probabilities[: at + 1].sum())
    above = float(probabilities[at:].sum())
    return min(1.0, below), min(1.0, above)


def pooled_test(observed: int, ns: Sequence[int], shares: Sequence[float]) -> float:
    """Equal-tailed exact test of a pooled ratio of 1 (see the module docstring)."""
    ns, shares = collapse(ns, shares)
    if len(ns) == 1:
        return binomial_test_central(observed, ns[0], shares[0])
    below, above = _tails(observed, ns, shares, 1.0, _saddlepoint(ns, shares))
    return min(1.0, 2 * min(below, above))


def pooled_interval(
    observed: int,
    ns: Sequence[int],
    shares: Sequence[float],
    confidence: float,
    phi: float = 1.0,
) -> tuple[float, float]:
    """Interval of the pooled ratio ``ρ`` by inverting the equal-tailed exact test.

    With ``phi > 1`` (over-dispersion) the tails are those of the level whose
    normal deviate is ``√φ`` times larger (``discounted_confidence``), so the
    interval widens by about ``√φ`` and agrees with ``discounted_p``.
    """
    ns, shares = collapse(ns, shares)
    if len(ns) == 1 and phi <= 1:
        low, high = clopper_pearson_interval(observed, ns[0], confidence)
        return low / shares[0], high / shares[0]
    alpha = 1 - confidence
    if phi > 1:
        z = NormalDist().inv_cdf(1 - alpha / 2)
        alpha = math.erfc(z * math.sqrt(phi) / math.sqrt(2))
    tail = alpha / 2
    ceiling = 1 / max(shares)
    if tail < 1e-300:
        return 0.0, ceiling
    expected = math.fsum(n * s for n, s in zip(ns, shares, strict=True))
    estimate = observed / expected
    saddlepoint = _saddlepoint(ns, shares)
    low = 0.0
    if observed > 0:
        low = _solve(
            lambda r: _tails(observed, ns, shares, r, saddlepoint, 1)[1], tail, 0.0, estimate, True
        )
    high = ceiling
    if observed < sum(ns):
        high = _solve(
            lambda r: _tails(observed, ns, shares, r, saddlepoint, 0)[0],
            tail,
            estimate,
            ceiling,
            False,
        )
    return low, high


def _solve(
    function: Callable[[float], float], target: float, low: float, high: float, increasing: bool
) -> float:
    """Root of ``log function(r) = log target`` in ``[low, high]``: Illinois regula falsi."""
    log_target = math.log(target)

    def gap(r: float) -> float:
        value = function(r)
        g = (math.log(value) if value > 0 else -745.0) - log_target
        return g if increasing else -g

    a, b = low, high
    fa, fb = gap(a) if a > 0 else -math.inf, gap(b)
    if not math.isfinite(fa):
        # Find a finite lower end by halving from the top.
        a = b / 2
        fa = gap(a)
        while fa > 0 and a > 1e-300:
            b, fb = a, fa
            a /= 2
            fa = gap(a)
    if fa >= 0:
        return a
    if fb <= 0:
        return b
    side = 0
    for _ in range(200):
        c = (a * fb - b * fa) / (fb - fa)
        if not a < c < b:
            c = (a + b) / 2
        fc = gap(c)
        if fc == 0 or (b - a) <= 1e-12 * b:
            return c
        if fc < 0:
            a, fa = c, fc
            if side == -1:
                fb /= 2
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa /= 2
            side = 1
    return (a + b) / 2


def dispersion(counts: Sequence[int], ns: Sequence[int], shares: Sequence[float]) -> float | None:
    """Pearson's dispersion statistic over events (module docstring); None under two events."""
    used = [(x, n, s) for x, n, s in zip(counts, ns, shares, strict=True) if n > 0 and 0 < s < 1]
    if len(used) < 2:
        return None
    expected = math.fsum(n * s for _, n, s in used)
    if expected <= 0:
        return None
    ratio = sum(x for x, _, _ in used) / expected
    statistic = 0.0
    for x, n, s in used:
        p = min(ratio * s, 1.0)
        variance = n * p * (1 - p)
        if variance <= 0:
            continue
        statistic += (x - n * p) ** 2 / variance
    return statistic / (len(used) - 1)


def discounted_p(p_value: float, phi: float) -> float:
    """A p-value with its normal deviate divided by ``√φ``: ``erfc(z / √(2φ))``."""
    if phi <= 1 or p_value <= 0 or p_value >= 1:
        return p_value
    z = -NormalDist().inv_cdf(p_value / 2)
    return math.erfc(z / math.sqrt(2 * phi))


def discounted_confidence(confidence: float, phi: float) -> float:
    """The exact interval's level that widens a ``confidence`` interval by ``√φ``."""
    if phi <= 1:
        return confidence
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return 1 - math.erfc(z * math.sqrt(phi) / math.sqrt(2))


# ---------------------------------------------------------------------------
# Saddlepoint tails, for sums too long to convolve exactly


def saddlepoint_tails(
    observed: int, ns: Sequence[int], ps: Sequence[float], which: int | None = None
) -> tuple[float, float]:
    """``(P(S ≤ O), P(S ≥ O))`` for ``S = Σ Binomial(n_e, p_e)`` by the saddlepoint method.

    The Lugannani-Rice formula with Daniels' second continuity correction for a
    lattice variable (Daniels, 1987; Butler, 2007, *Saddlepoint Approximations
    with Applications*, §1.2.3). With the cumulant generating function
    ``K(t) = Σ n_e log(1 − p_e + p_e eᵗ)`` and, for the upper tail,
    ``k⁻ = O − 1/2``, ``K'(t̃) = k⁻``::

        w = sign(t̃) √(2 (t̃ k⁻ − K(t̃))),   u = 2 sinh(t̃ / 2) √K''(t̃)
        P(S ≥ O) ≈ 1 − Φ(w) + φ(w) (1/u − 1/w)

    and the mirror image with ``k⁺ = O + 1/2`` for ``P(S ≤ O)``; ``which`` (0 or
    1) computes only that tail, the other is NaN. Its relative
    error falls as ``1 / Σ n_e p_e (1 − p_e)``: below 10⁻³ in the tails over
    the sums the review hands it (variance ``_SADDLEPOINT_VARIANCE`` and up), checked in
    tests against exact convolutions (scipy) and mpmath. Worked example: 40
    events of 50 at shares evenly from 0.10 to 0.30 (400 expected), 300
    observed: ``P(S ≤ 300)`` is 3.07073 × 10⁻⁹ against the exact 3.07078 × 10⁻⁹
    (scipy, by convolution), a relative error of 2 × 10⁻⁵.

    >>> shares = [0.1 + 0.2 * i / 39 for i in range(40)]
    >>> below, above = saddlepoint_tails(300, [50] * 40, shares)
    >>> f"{below:.4e}"
    '3.0707e-09'
    """
    import numpy as np

    n = np.asarray(ns, dtype=float)
    p = np.asarray(ps, dtype=float)
    # A block with p = 1 is a fixed count, one with p = 0 adds nothing.
    observed -= int(n[p >= 1].sum())
    varying = (p > 0) & (p < 1)
    n, p = n[varying], p[varying]
    if n.size == 0:
        return (1.0 if observed >= 0 else 0.0), (1.0 if observed <= 0 else 0.0)
    total = float(n.sum())
    if observed <= 0:
        below = math.exp(float(np.sum(n * np.log1p(-p))))
        return (below if observed == 0 else 0.0), 1.0
    if observed >= total:
        above = math.exp(float(np.sum(n * np.log(p))))
        return 1.0, (above if observed == total else 0.0)
    below = _lattice_tail(observed + 0.5, n, p, upper=False) if which != 1 else math.nan
    above = _lattice_tail(observed - 0.5, n, p, upper=True) if which != 0 else math.nan
    return below, above


def _lattice_tail(x: float, n: np.ndarray, p: np.ndarray, *, upper: bool) -> float:
    """``P(S ≥ x + 1/2)`` (``upper``) or ``P(S ≤ x − 1/2)`` at the corrected point ``x``."""
    import numpy as np

    logit = np.log(p) - np.log1p(-p)
    log_q = np.log1p(-p)

    def derivatives(t: float) -> tuple[float, float, float]:
        s = 0.5 * (1 + np.tanh((t + logit) / 2))  # p eᵗ / (1 − p + p eᵗ)
        cgf = float(np.sum(n * (log_q + np.logaddexp(0.0, t + logit))))
        return cgf, float(np.sum(n * s)), float(np.sum(n * s * (1 - s)))

    mean = float(np.sum(n * p))
    variance = float(np.sum(n * p * (1 - p)))
    t = (x - mean) / variance
    low, high = -math.inf, math.inf
    for _ in range(200):
        cgf, first, second = derivatives(t)
        gap = first - x
        if gap > 0:
            high = t
        else:
            low = t
        step = gap / second if second > 0 else math.nan
        candidate = t - step
        if not low < candidate < high:
            if math.isinf(low) or math.isinf(high):
                candidate = t - math.copysign(1.0, gap) * max(1.0, abs(t))
            else:
                candidate = (low + high) / 2
        if abs(candidate - t) <= 1e-14 * max(1.0, abs(t)):
            t = candidate
            break
        t = candidate
    cgf, _, second = derivatives(t)
    w = math.copysign(math.sqrt(max(2 * (t * x - cgf), 0.0)), t)
    u = 2 * math.sinh(t / 2) * math.sqrt(second)
    if abs(w) < 1e-3 or abs(u) < 1e-3:
        # Near the mean the formula is 0/0: its limit, 1/2 less the skewness term, and
        # the normal density's slope (error of order w²).
        skew = float(np.sum(n * p * (1 - p) * (1 - 2 * p))) / (variance * math.sqrt(variance))
        z = (x - mean) / math.sqrt(variance)
        centre = 0.5 - skew / (6 * math.sqrt(2 * math.pi)) - z / math.sqrt(2 * math.pi)
        return centre if upper else 1 - centre
    if not upper:
        w, u = -w, -u
    # P = Q(w) + φ(w)(1/u − 1/w), Q the normal upper tail. Deep in the tail (w ≥ 5),
    # as φ(w)·(R(w) − 1/w + 1/u) with R = Q/φ (Mills' ratio, by Laplace's continued
    # fraction), so the two terms neither cancel nor underflow early.
    log_density = -w * w / 2 - 0.5 * math.log(2 * math.pi)
    if w < 5:
        tail = 0.5 * math.erfc(w / math.sqrt(2)) + math.exp(log_density) * (1 / u - 1 / w)
        return min(1.0, max(0.0, tail))
    fraction = 0.0
    for k in range(80, 0, -1):
        fraction = k / (w + fraction)
    bracket = 1 / (w + fraction) - 1 / w + 1 / u
    if bracket <= 0:
        return 0.0
    return min(1.0, math.exp(log_density + math.log(bracket)))
