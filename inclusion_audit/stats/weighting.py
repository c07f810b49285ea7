"""Raking weights: participants weighted to a population's margins, with the diagnostics
survey statisticians read before trusting them.

Raking (iterative proportional fitting; Deming and Stephan, 1940) gives each
participant a weight so that, for every weighting characteristic, the weighted
shares of its categories equal the population's. Starting from ``w_i = 1`` it
cycles over the characteristics; for characteristic ``v`` and category ``k``::

    w_i ← w_i · t_vk · W_v / W_vk        for every participant i in category k

where ``t_vk`` is the population share of ``k``, ``W_vk`` the weighted count in
``k`` and ``W_v`` the weighted count of participants who answered ``v``. It stops
when the largest difference between a weighted share and its population share
is at most the tolerance. This is R's ``survey::rake`` and ``anesrake``.

**Unknown answers.** A participant whose answer on ``v`` is blank, declined or
not placeable is left out of ``v``'s step, so they are raked on the other
margins only, and ``v``'s shares are those among the participants who answered
it (as the audit's shares are). Each step keeps ``W_v``, so the weighted share of
unknown answers stays what it was after the earlier steps; it is reported.

**Categories nobody is in.** A population category without participants
cannot be reached by any weight; the other categories are raked to their shares
renormalised without it, and a warning names it (``--collapse`` merges it with a
neighbour). A category the population has nobody in gets weight 0.

**Trimming.** With a trim ratio ``r``, after every cycle weights above ``r``
times the mean weight are set to that cap and the excess is spread over the
others in proportion to their weight (repeated until none exceeds the cap);
raking then continues, so trimming is always followed by re-raking. Whatever
the outcome, every margin is either within the tolerance or named in a warning.

Everything is computed on cells (distinct combinations of answers), never
row by row, so a million participants cost what a few hundred cells cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

DEFAULT_MAX_ITERATIONS = 1000
DEFAULT_TOLERANCE = 1e-6
DESIGN_EFFECT_LIMIT = 2.0
"""A design effect above this halves the effective sample size or worse: warn."""
WARN_WEIGHT_RATIO = 5.0
"""Without ``--trim``, weights above this multiple of the mean are warned about (5× is
the usual trimming cap, e.g. the domain brief's)."""
SPARSE_BELOW = 5
"""A category with fewer known participants than this carries weights resting on a few people."""
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
_UNKNOWN = -1

Codes = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class RakingError(ValueError):
    """The margins cannot be raked to at all (no participant, no answer, bad ratio)."""


@dataclass(frozen=True)
class Margin:
    """One weighting characteristic: participants' categories and the population's.

    ``codes`` holds, per participant, the index of their category in
    ``categories`` or -1 when their answer is unknown. ``population`` holds
    counts or shares in the same order (only their proportions matter).
    """

    name: str
    categories: tuple[str, ...]
    population: tuple[float, ...]
    codes: Codes


@dataclass(frozen=True)
class MarginFit:
    """How well one category's weighted share meets its population share."""

    characteristic: str
    category: str
    participants: int
    population_share: float
    unweighted_share: float | None
    weighted_share: float | None
    error: float
    """|weighted share − population share| (the whole share when nobody is in it)."""


@dataclass(frozen=True)
class CharacteristicBalance:
    """Before and after weighting, for one characteristic."""

    name: str
    asmd_before: float
    asmd_after: float
    unknown: int
    unknown_share: float
    unknown_share_weighted: float


@dataclass(frozen=True)
class WeightWarning:
    """Something a reader of the weights must know. ``code`` is stable for pipelines."""

    code: str
    message: str
    characteristic: str | None = None
    category: str | None = None


@dataclass
class Raking:
    """Weights (one per participant, in register order, averaging 1) and their diagnostics."""

    weights: Floats
    iterations: int
    converged: bool
    tolerance: float
    trim_ratio: float | None
    trimmed: int
    """Participants whose weight was capped in the last cycle (re-raking may then move
    them a little below the cap)."""
    fits: list[MarginFit]
    balance: list[CharacteristicBalance]
    warnings: list[WeightWarning] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Participants weighted."""
        return int(self.weights.size)

    @property
    def largest_margin_error(self) -> float:
        """The largest |weighted share − population share| over every margin."""
        return max((f.error for f in self.fits), default=0.0)

    @property
    def effective_sample_size(self) -> float:
        """Kish's effective sample size ``(Σw)² / Σw²``."""
        return kish_effective_sample_size(self.weights)

    @property
    def design_effect(self) -> float:
        """Kish's design effect due to weighting, ``1 + CV²`` = n / effective sample size."""
        return design_effect(self.weights)

    def percentiles(self) -> dict[str, float]:
        """Weight percentiles (numpy's linear interpolation), keyed ``p1``, ``p5``…"""
        values = np.percentile(self.weights, PERCENTILES)
        return {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def kish_effective_sample_size(weights: Floats) -> float:
    """Kish's effective sample size, ``n_eff = (Σ w)² / Σ w²`` (Kish, 1965, *Survey Sampling*).

    Equal weights give ``n``; the more the weights vary, the fewer independent
    observations they are worth.

    >>> kish_effective_sample_size(np.array([1.0, 1.0, 1.0, 1.0]))
    4.0
    >>> kish_effective_sample_size(np.array([0.5, 0.5, 1.5, 1.5]))
    3.2
    """
    total = float(weights.sum())
    squares = float(np.square(weights).sum())
    return total * total / squares if squares > 0 else 0.0


def design_effect(weights: Floats) -> float:
    """Kish's design effect of unequal weights, ``deff = 1 + CV²`` with ``CV`` the
    coefficient of variation of the weights (population variance), which equals
    ``n / n_eff``.

    >>> design_effect(np.array([0.5, 0.5, 1.5, 1.5]))
    1.25
    """
    n_eff = kish_effective_sample_size(weights)
    return float(weights.size) / n_eff if n_eff > 0 else float("inf")


def standardised_mean_difference(share: float, population_share: float) -> float:
    """``SMD = (p̂ − π) / √((p̂(1 − p̂) + π(1 − π)) / 2)``, the domain brief's per-category form
    (pooled standard deviation of the two indicator variables; Austin, 2009). ``|SMD| > 0.1``
    is the usual imbalance flag. 0 when both shares are 0 or both 1.

    >>> round(standardised_mean_difference(0.30, 0.20), 4)
    0.2325
    """
    pooled = (share * (1 - share) + population_share * (1 - population_share)) / 2
    if pooled <= 0:
        return 0.0 if share == population_share else float("inf")
    return (share - population_share) / float(np.sqrt(pooled))


def rake(
    margins: Sequence[Margin],
    *,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    trim_ratio: float | None = None,
    base_weights: Floats | None = None,
) -> Raking:
    """Rake participants to the population margins; see the module docstring.

    ``base_weights`` (default all 1) are the starting weights; the result keeps
    their total. Raises ``RakingError`` when there is nothing to rake.

    Worked example: 6 participants, 4 women and 2 men, in a population half
    women. Women get 0.75 and men 1.5, so each sex weighs 3:

    >>> sex = Margin("sex", ("Female", "Male"), (50.0, 50.0), np.array([0, 0, 0, 0, 1, 1]))
    >>> r = rake([sex])
    >>> r.weights.tolist(), r.converged, round(r.design_effect, 4)
    ([0.75, 0.75, 0.75, 0.75, 1.5, 1.5], True, 1.125)
    """
    if not margins:
        raise RakingError("no characteristic to weight on.")
    n = int(margins[0].codes.size)
    if n == 0:
        raise RakingError("the register has no participants to weight.")
    if trim_ratio is not None and not trim_ratio > 1:
        raise RakingError(f"the trim ratio must be above 1 (the mean weight), got {trim_ratio}.")
    if max_iterations < 1:
        raise RakingError(f"the most iterations must be at least 1, got {max_iterations}.")
    if not tolerance > 0:
        raise RakingError(f"the tolerance must be above 0, got {tolerance}.")
    for margin in margins:
        if margin.codes.size != n:
            raise RakingError(f"{margin.name}: {margin.codes.size} codes for {n} participants.")
        if len(margin.categories) != len(margin.population) or not margin.categories:
            raise RakingError(f"{margin.name}: categories and population do not match.")
        if any(p < 0 or not np.isfinite(p) for p in margin.population) or not (
            sum(margin.population) > 0
        ):
            raise RakingError(f"{margin.name}: population counts must be 0 or more, total above 0.")

    base = np.ones(n) if base_weights is None else np.asarray(base_weights, dtype=np.float64)
    cells = _Cells.of(margins, base)
    targets, reachable = _targets(margins, cells)
    w = np.ones(cells.size)  # per-cell multiplier of the base weights
    cap = trim_ratio  # the multipliers average 1 (weighted by base weight)
    iterations, converged, capped = 0, False, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - read after the loop
        for v, margin in enumerate(margins):
            _rake_step(w, cells, v, len(margin.categories), targets[v])
        if cap is not None:
            capped = _cap(w, cells, cap)
        if _largest_error(w, cells, margins, targets) <= tolerance:
            converged = True
            break

    weights = w[cells.row_cell] * base
    result = Raking(
        weights=weights,
        iterations=iterations,
        converged=converged,
        tolerance=tolerance,
        trim_ratio=trim_ratio,
        trimmed=capped,
        fits=_fits(cells, w, margins, targets),
        balance=_balance(cells, w, margins),
    )
    result.warnings = _warnings(result, margins, reachable, cap)
    return result


@dataclass(frozen=True)
class _Cells:
    """Participants grouped by their combination of codes (unknown is its own code)."""

    codes: list[Codes]  # per margin, per cell (-1 unknown)
    totals: Floats  # base weight per cell
    counts: Codes  # participants per cell
    row_cell: Codes  # per participant, their cell

    @property
    def size(self) -> int:
        return int(self.totals.size)

    @classmethod
    def of(cls, margins: Sequence[Margin], base: Floats) -> _Cells:
        radices = [len(m.categories) + 1 for m in margins]
        combined = np.zeros(base.size, dtype=np.int64)
        for margin, radix in zip(margins, radices, strict=True):
            code = margin.codes.astype(np.int64, copy=False)
            code = np.where((code < 0) | (code >= radix - 1), radix - 1, code)
            combined = combined * radix + code
        space = int(np.prod(np.array(radices, dtype=np.float64)))
        if space <= 20_000_000:
            counts_all = np.bincount(combined, minlength=space)
            occupied = np.flatnonzero(counts_all)
            lookup = np.full(space, -1, dtype=np.int64)
            lookup[occupied] = np.arange(occupied.size)
            row_cell = lookup[combined]
            keys = occupied
        else:
            keys, row_cell = np.unique(combined, return_inverse=True)
        counts = np.bincount(row_cell, minlength=keys.size)
        totals = np.bincount(row_cell, weights=base, minlength=keys.size).astype(np.float64)
        codes: list[Codes] = []
        rest = keys.copy()
        for radix in reversed(radices):
            code = rest % radix
            codes.append(np.where(code == radix - 1, _UNKNOWN, code))
            rest //= radix
        codes.reverse()
        return cls(codes, totals, counts, row_cell)


def _targets(margins: Sequence[Margin], cells: _Cells) -> tuple[list[Floats], list[Codes]]:
    """Population shares renormalised over the categories participants are in."""
    targets: list[Floats] = []
    reachable: list[Codes] = []
    for v, margin in enumerate(margins):
        k = len(margin.categories)
        known = cells.codes[v] >= 0
        present = np.bincount(cells.codes[v][known], weights=cells.counts[known], minlength=k) > 0
        population = np.array(margin.population, dtype=np.float64)
        share = np.where(present, population, 0.0)
        total = share.sum()
        targets.append(share / total if total > 0 else share)
        reachable.append(np.flatnonzero(present))
    return targets, reachable


def _rake_step(w: Floats, cells: _Cells, v: int, k: int, target: Floats) -> None:
    codes = cells.codes[v]
    known = codes >= 0
    current = np.bincount(codes[known], weights=(w * cells.totals)[known], minlength=k)
    total = current.sum()
    if total <= 0:
        return
    factor = np.divide(target * total, current, out=np.ones(k), where=current > 0)
    w[known] *= factor[codes[known]]


def _cap(w: Floats, cells: _Cells, cap: float) -> int:
    """Cap the multipliers at ``cap``, spreading the excess over the others (total kept).

    With base weights of 1 (the command's case) the multipliers are the weights.
    Returns how many participants were capped.
    """
    total = float((w * cells.totals).sum())
    fixed = np.zeros(w.size, dtype=bool)
    for _ in range(100):
        over = (w > cap) & ~fixed
        if not over.any():
            break
        fixed |= over
        w[fixed] = cap
        free = ~fixed
        rest = total - float((w[fixed] * cells.totals[fixed]).sum())
        current = float((w[free] * cells.totals[free]).sum())
        if current <= 0 or rest <= 0:
            break
        w[free] *= rest / current
    return int(cells.counts[fixed].sum())


def _largest_error(
    w: Floats, cells: _Cells, margins: Sequence[Margin], targets: list[Floats]
) -> float:
    largest = 0.0
    for v, margin in enumerate(margins):
        codes = cells.codes[v]
        known = codes >= 0
        current = np.bincount(
            codes[known], weights=(w * cells.totals)[known], minlength=len(margin.categories)
        )
        total = current.sum()
        if total > 0:
            largest = max(largest, float(np.abs(current / total - targets[v]).max()))
    return largest


def _shares(codes: Codes, k: int, amounts: Floats) -> tuple[Floats, float, float]:
    """Shares among the known, the known total and the unknown total, from cells."""
    known = codes >= 0
    counts = np.bincount(codes[known], weights=amounts[known], minlength=k)
    total = float(counts.sum())
    unknown = float(amounts[~known].sum())
    shares = counts / total if total > 0 else np.zeros(k)
    return shares.astype(np.float64), total, unknown


def _fits(
    cells: _Cells, w: Floats, margins: Sequence[Margin], targets: Sequence[Floats]
) -> list[MarginFit]:
    """How far each category's weighted share is from what raking aims at.

    The aim is the population share renormalised over the categories participants
    are in (:func:`_targets`): a category nobody is in cannot be reached (it has a
    warning of its own), and measured against the raw shares every other category
    of that characteristic would read as a margin not met.
    """
    fits = []
    raw_amounts = cells.counts.astype(np.float64)
    weighted_amounts = w * cells.totals
    for v, margin in enumerate(margins):
        k = len(margin.categories)
        codes = cells.codes[v]
        population = np.array(margin.population, dtype=np.float64)
        population = population / population.sum()
        raw, raw_total, _ = _shares(codes, k, raw_amounts)
        weighted, weighted_total, _ = _shares(codes, k, weighted_amounts)
        counts = np.bincount(codes[codes >= 0], weights=raw_amounts[codes >= 0], minlength=k)
        for index, category in enumerate(margin.categories):
            fits.append(
                MarginFit(
                    characteristic=margin.name,
                    category=category,
                    participants=int(counts[index] + 0.5),
                    population_share=float(population[index]),
                    unweighted_share=float(raw[index]) if raw_total > 0 else None,
                    weighted_share=float(weighted[index]) if weighted_total > 0 else None,
                    error=abs(float(weighted[index]) - float(targets[v][index]))
                    if weighted_total > 0
                    else float(targets[v][index]),
                )
            )
    return fits


def _balance(cells: _Cells, w: Floats, margins: Sequence[Margin]) -> list[CharacteristicBalance]:
    balance = []
    raw_amounts = cells.counts.astype(np.float64)
    weighted_amounts = w * cells.totals
    n = float(raw_amounts.sum())
    weight_total = float(weighted_amounts.sum())
    for v, margin in enumerate(margins):
        k = len(margin.categories)
        population = np.array(margin.population, dtype=np.float64)
        population = population / population.sum()
        raw, _, unknown = _shares(cells.codes[v], k, raw_amounts)
        weighted, _, unknown_weight = _shares(cells.codes[v], k, weighted_amounts)
        balance.append(
            CharacteristicBalance(
                name=margin.name,
                asmd_before=_asmd(raw, population),
                asmd_after=_asmd(weighted, population),
                unknown=int(unknown + 0.5),
                unknown_share=unknown / n,
                unknown_share_weighted=unknown_weight / weight_total if weight_total > 0 else 0.0,
            )
        )
    return balance


def _asmd(shares: Floats, population: Floats) -> float:
    """Mean over categories of |SMD|."""
    values = [
        abs(standardised_mean_difference(float(s), float(p)))
        for s, p in zip(shares, population, strict=True)
    ]
    return float(np.mean(values)) if values else 0.0


def _warnings(
    result: Raking, margins: Sequence[Margin], reachable: list[Codes], cap: float | None
) -> list[WeightWarning]:
    warnings: list[WeightWarning] = []
    for v, margin in enumerate(margins):
        present = set(reachable[v].tolist())
        counts = [f.participants for f in result.fits if f.characteristic == margin.name]
        if not present:
            warnings.append(
                WeightWarning(
                    "characteristic_without_answers",
                    f"{margin.name}: no participant answered it, so it was not weighted on.",
                    margin.name,
                )
            )
            continue
        for index, category in enumerate(margin.categories):
            share = margin.population[index]
            if index not in present and share > 0:
                neighbour = _neighbour(margin.categories, index, present)
                warnings.append(
                    WeightWarning(
                        "category_without_participants",
                        f"{margin.name}: no participant is in {category!r}, so no weight can "
                        f"give it its population share; the other categories are weighted to "
                        f"the population without it. To weight it with a neighbouring "
                        f"category, add --collapse '{margin.name}:{category}|{neighbour}'.",
                        margin.name,
                        category,
                    )
                )
            elif index in present and share == 0:
                warnings.append(
                    WeightWarning(
                        "outside_population",
                        f"{margin.name}: the population has nobody in {category!r}, so its "
                        f"{int(counts[index])} participant(s) get weight 0.",
                        margin.name,
                        category,
                    )
                )
            elif 0 < counts[index] < SPARSE_BELOW:
                warnings.append(
                    WeightWarning(
                        "sparse_category",
                        f"{margin.name}: only {int(counts[index])} participant(s) in "
                        f"{category!r}; their weight stands for the whole category and rests "
                        "on very few people.",
                        margin.name,
                        category,
                    )
                )
    for fit in result.fits:
        if fit.error > result.tolerance and fit.participants > 0:
            warnings.append(
                WeightWarning(
                    "margin_not_met",
                    f"{fit.characteristic}: the weighted share of {fit.category!r} is "
                    f"{_pct(fit.weighted_share)} against a population share of "
                    f"{_pct(fit.population_share)}, outside the tolerance {result.tolerance:g}.",
                    fit.characteristic,
                    fit.category,
                )
            )
    if not result.converged:
        warnings.append(
            WeightWarning(
                "not_converged",
                f"raking stopped after {result.iterations} iterations without meeting every "
                f"margin within {result.tolerance:g} (largest difference "
                f"{result.largest_margin_error:.2g}); "
                + (
                    "the trim ratio may be too tight for these margins: loosen --trim"
                    if cap is not None
                    else "collapse sparse categories (--collapse) or allow more iterations"
                )
                + ".",
            )
        )
    largest = float(result.weights.max())
    ratio = result.trim_ratio if result.trim_ratio is not None else WARN_WEIGHT_RATIO
    mean = float(result.weights.mean())
    if largest > ratio * mean * (1 + 1e-9):
        over = int(np.count_nonzero(result.weights > ratio * mean * (1 + 1e-9)))
        warnings.append(
            WeightWarning(
                "weight_over_ratio",
                f"{over} participant(s) have a weight above {ratio:g} times the mean (largest "
                f"{largest:.3g})"
                + (
                    ": each stands for many people like them; consider --trim "
                    f"{WARN_WEIGHT_RATIO:g}."
                    if result.trim_ratio is None
                    else ", the trim ratio, after re-raking."
                ),
            )
        )
    if result.design_effect > DESIGN_EFFECT_LIMIT:
        warnings.append(
            WeightWarning(
                "design_effect_high",
                f"the design effect is {result.design_effect:.2f} (over {DESIGN_EFFECT_LIMIT:g}): "
                f"the weighted results are worth {result.effective_sample_size:.0f} "
                f"participants, not {result.n}.",
            )
        )
    return warnings


def _neighbour(categories: Sequence[str], index: int, present: set[int]) -> str:
    """The nearest category in reference order that has participants (the next first)."""
    for distance in range(1, len(categories)):
        for other in (index + distance, index - distance):
            if 0 <= other < len(categories) and other in present:
                return categories[other]
    return categories[index - 1 if index else 1]


def _pct(share: float | None) -> str:
    return "none" if share is None else f"{100 * share:.2f}%"


def effective_wilson_interval(
    share: float, effective_n: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for a weighted share, at Kish's effective sample size.

    The design-effect adjustment (Kish, 1965; Korn and Graubard, 1998): a weighted
    share ``p_w`` from ``n`` respondents with design effect ``deff`` is as precise
    as a simple random sample of ``n_eff = n / deff``, so the Wilson interval is
    computed with ``x = p_w · n_eff`` and ``n = n_eff``::

        centre = (x + z²/2) / (n_eff + z²)
        half   = z / (n_eff + z²) · √(x(n_eff − x)/n_eff + z²/4)

    It ignores the precision raking gains on the weighting characteristics
    themselves, so it errs on the wide side. Worked example: a weighted 48% from
    respondents worth 100 independent ones:

    >>> low, high = effective_wilson_interval(0.48, 100.0)
    >>> round(low, 4), round(high, 4)
    (0.3846, 0.5768)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if not effective_n > 0:
        raise ValueError("the interval needs an effective sample size above 0")
    share = min(max(share, 0.0), 1.0)
    z = float(NormalDist().inv_cdf(1 - (1 - confidence) / 2))
    z2 = z * z
    x = share * effective_n
    centre = (x + z2 / 2) / (effective_n + z2)
    half = (
        z
        / (effective_n + z2)
        * float(np.sqrt(max(x * (effective_n - x) / effective_n, 0.0) + z2 / 4))
    )
    low = 0.0 if share == 0 else max(0.0, centre - half)
    high = 1.0 if share == 1 else min(1.0, centre + half)
    return low, high
