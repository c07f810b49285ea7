"""Verdicts: one method from test to status, so a status never contradicts its interval.

**Method version 2** (``result.METHOD_VERSION``). For each group the evidence is a
test of "the group takes part in line with its population share" (ratio 1)
and the interval obtained by inverting that same test:

* one audit: the equal-tailed exact binomial test,
  ``p = min(1, 2 · min(P(X ≤ x), P(X ≥ x)))`` with ``X ~ Binomial(n, π)``, and
  the Clopper-Pearson interval of the share divided by ``π``. The interval at
  level ``1 − a`` excludes 1 exactly when ``p ≤ a`` (Clopper and Pearson, 1934);
* a review: the same for the pooled count, a sum of independent binomials
  (``stats.pooling``).

**The family.** Only groups that can get a verdict are tested together: those
with a population share above 0 and at least ``min_expected`` expected
participants (a filter on ``n`` and the share only, so false-discovery-rate
control holds, as in independent filtering: Bourgon, Gentleman and Huber,
2010). A question with exactly two categories asks one question, so its two
groups count once. A broader view of a column audited in detail
(``ethnic_group_broad`` beside ``ethnic_group``) is not added to the family:
its groups are judged at the level the family reached.

**The level.** With ``m`` hypotheses, ``α = 1 − confidence``, and ``R`` of
them rejected by the correction:

* ``bh``: intervals at ``1 − max(R, 1)·α/m``, the false-coverage-rate
  adjusted intervals of Benjamini and Yekutieli (2005);
* ``holm``: intervals at ``1 − α/max(m − R, 1)``;
* ``none``: intervals at ``1 − α``.

A member of the family is rejected by the correction exactly when its
interval at that level excludes 1, so the adjusted p-value, the interval and
the status tell the same story.

**The status.** With ``t_u`` (0.8) and ``t_o`` (1.25) the thresholds:

* ``under``: ratio ``< t_u`` and the interval lies wholly below 1;
* ``possible_under``: ratio ``< t_u`` and the interval reaches 1;
* ``over`` / ``possible_over``: the mirror image, ratio ``> t_o``;
* ``ok``: ratio between the thresholds;
* ``insufficient_data``: no verdict (expected count below ``min_expected`` or
  a population share of 0); its interval is printed at ``confidence``.

So "firmly under" means: the best estimate of the ratio is below the
four-fifths threshold, and the data rule out parity at the family's level.

**Bases that stand in for the eligible ages.** Where no table is age-matched
(a ward's religion from all-ages figures, an 18+ event against a 16+ table),
the published number of residents in the ages that differ bounds the eligible
share: from all of them in the group to none of them
(``stats.base_share_bounds``). The same test and interval are run at both
ends, at the family's level; a firm status stands only if both ends give it,
otherwise it becomes the possible one (``under`` → ``possible_under``). The
printed interval is the union of the intervals at every share between the
bounds, ``[L / highest, U / lowest]``, so a firm status still has an interval
wholly on its side of 1; the ratio at each end is recorded beside it
(``BoundsVerdict``). The family and the p-value stay those of the stand-in
share.

Worked example: 1 of 107 participants where the population share is 5%
(expected 5.35). Alone in its family (``m = 1``), ``p = 0.0548`` and the 95%
interval of the ratio is 0.0047-1.019: ``possible_under``, since parity is
not ruled out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from inclusion_audit import stats
from inclusion_audit.config import AuditConfig
from inclusion_audit.result import Status
from inclusion_audit.vocab.classifications import BROADER_CHARACTERISTIC

# Shares are ratios of floats: 800/10,000 against 10% comes out at 0.7999…, and a
# group exactly at a threshold must not be flagged for the last bit of a double.
_TOLERANCE = 1e-9


class Evidence(Protocol):
    """What a verdict needs from a group's data: its test and the interval inverting it."""

    @property
    def ratio(self) -> float | None: ...

    @property
    def expected_count(self) -> float: ...

    def p_value(self) -> float:
        """Two-sided p-value of a ratio of 1."""
        ...

    def ratio_interval(self, confidence: float) -> tuple[float, float]:
        """The ratios the same test does not reject at level ``1 − confidence``."""
        ...


@dataclass(frozen=True)
class BinomialEvidence:
    """``count`` of ``n`` participants against a population share (one audit).

    ``share_bounds`` are the lowest and highest share the eligible population
    could have where the base stands in for the eligible ages
    (``stats.base_share_bounds``); the interval then spans the test's interval
    at both (``ratio_interval``).
    """

    count: int
    n: int
    population_share: float
    share_bounds: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        if self.n == 0 or self.population_share <= 0:
            return None
        return self.count / self.n / self.population_share

    @property
    def expected_count(self) -> float:
        return self.n * self.population_share

    def p_value(self) -> float:
        return stats.binomial_test_central(self.count, self.n, self.population_share)

    def ratio_interval(self, confidence: float) -> tuple[float, float]:
        """The Clopper-Pearson interval over the share; with ``share_bounds``, the union
        of the intervals at every share between them: ``[L / highest, U / lowest]``
        (``U / 0`` is infinite)."""
        low, high = stats.clopper_pearson_interval(self.count, self.n, confidence)
        if self.share_bounds is None:
            return low / self.population_share, high / self.population_share
        lowest, highest = self.share_bounds
        return low / highest, high / lowest if lowest > 0 else math.inf

    def bounds_verdict(self, confidence: float, config: AuditConfig) -> BoundsVerdict | None:
        """The verdict's test at the lowest and at the highest share (None without bounds)."""
        if self.share_bounds is None:
            return None
        low, high = stats.clopper_pearson_interval(self.count, self.n, confidence)
        at = [
            status_at_share(self.count, self.n, share, low, high, config)
            for share in (*self.share_bounds, self.population_share)
        ]
        return BoundsVerdict(self.share_bounds[0], self.share_bounds[1], *at)


def status_at_share(
    count: int, n: int, share: float, low: float, high: float, config: AuditConfig
) -> Status:
    """The status were the population share ``share``; ``low``-``high`` is the share's interval.

    At a share of 0, anyone in the group is infinitely over-represented.

    >>> status_at_share(5, 100, 0.1, 0.016, 0.113, AuditConfig())
    <Status.POSSIBLE_UNDER: 'possible_under'>
    >>> status_at_share(5, 100, 0.2, 0.016, 0.113, AuditConfig())
    <Status.UNDER: 'under'>
    """
    if share <= 0:
        return Status.OVER if count > 0 else Status.INSUFFICIENT_DATA
    return status_from_interval(count / n / share, low / share, high / share, config)


@dataclass(frozen=True)
class BoundsVerdict:
    """A verdict's test run at both ends of what the missing ages could make the share.

    A firm status holds at both when both ends give it; the status a group gets
    is firm only then (``judge``).
    """

    share_low: float
    share_high: float
    status_at_share_low: Status
    status_at_share_high: Status
    status_at_stand_in: Status
    """The status the stand-in share alone would give."""

    def holds(self, status: Status) -> bool:
        """Whether ``status`` is the status at both ends."""
        return self.status_at_share_low == status and self.status_at_share_high == status


@dataclass(frozen=True)
class Verdict:
    """A group's status with the test and interval it comes from."""

    status: Status
    p_value: float | None
    p_value_adjusted: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    ratio_ci_level: float | None
    in_family: bool
    bounds: BoundsVerdict | None = None
    """Where the base stands in for the eligible ages: the test at both bounds."""
    coarsened: bool = False
    """True when a firm status became the possible one because it did not hold at both."""


@dataclass(frozen=True)
class Question:
    """One characteristic's groups, in order; None where a group cannot be tested."""

    name: str
    groups: Sequence[Evidence | None]


def can_judge(evidence: Evidence | None, config: AuditConfig) -> bool:
    """A verdict is possible: a ratio exists and enough participants were expected."""
    return (
        evidence is not None
        and evidence.ratio is not None
        and evidence.expected_count > 0
        and evidence.expected_count >= config.min_expected
    )


def secondary_views(names: Sequence[str]) -> set[str]:
    """Characteristics that are a broader view of another audited one (not counted twice)."""
    present = set(names)
    return {
        broader
        for narrow, broader in BROADER_CHARACTERISTIC.items()
        if narrow in present and broader in present
    }


def family_level(adjusted: Sequence[float], config: AuditConfig) -> float:
    """The ``α`` of the intervals, from the family's adjusted p-values (module docstring)."""
    alpha = config.alpha
    m = len(adjusted)
    if m == 0 or config.correction == "none":
        return alpha
    rejected = sum(p < alpha for p in adjusted)
    if config.correction == "bh":
        return max(rejected, 1) * alpha / m
    return alpha / max(m - rejected, 1)


def judge(
    questions: Sequence[Question], config: AuditConfig, *, intervals: bool = True
) -> list[list[Verdict]]:
    """The verdict of every group of every question, with one family (module docstring).

    With ``intervals=False`` no interval is computed (the verdicts carry None):
    a firm status then comes from ``p_value_adjusted < alpha``, which is the same
    rule, since a member's interval at the family's level excludes 1 exactly when
    its adjusted p-value is below alpha. For judging stored events in bulk.
    """
    secondary = secondary_views([q.name for q in questions])
    members: list[tuple[int, int]] = []
    twin: dict[tuple[int, int], tuple[int, int]] = {}
    p_values: dict[tuple[int, int], float] = {}
    for qi, question in enumerate(questions):
        judged = [gi for gi, e in enumerate(question.groups) if can_judge(e, config)]
        for gi in judged:
            evidence = question.groups[gi]
            assert evidence is not None
            p_values[qi, gi] = evidence.p_value()
        if question.name in secondary:
            continue
        tested = [
            gi for gi, e in enumerate(question.groups) if e is not None and e.ratio is not None
        ]
        if (
            len(tested) == 2
            and judged == tested
            and math.isclose(p_values[qi, tested[0]], p_values[qi, tested[1]], rel_tol=1e-9)
        ):
            # Two complementary groups: one question, one test.
            members.append((qi, judged[0]))
            twin[qi, judged[1]] = (qi, judged[0])
        else:
            members.extend((qi, gi) for gi in judged)
    adjusted_list = stats.adjust_p_values([p_values[k] for k in members], config.correction)
    adjusted = {k: float(p) for k, p in zip(members, adjusted_list, strict=True) if p is not None}
    alpha_family = family_level(list(adjusted.values()), config)
    level = 1 - alpha_family
    verdicts: list[list[Verdict]] = []
    for qi, question in enumerate(questions):
        row: list[Verdict] = []
        for gi, evidence in enumerate(question.groups):
            key = (qi, gi)
            if evidence is None or evidence.ratio is None:
                row.append(Verdict(Status.INSUFFICIENT_DATA, None, None, None, None, None, False))
                continue
            if key not in p_values:
                low, high = evidence.ratio_interval(1 - config.alpha) if intervals else (None, None)
                row.append(
                    Verdict(
                        Status.INSUFFICIENT_DATA,
                        evidence.p_value(),
                        None,
                        low,
                        high,
                        1 - config.alpha,
                        False,
                    )
                )
                continue
            member = twin.get(key, key)
            # The two groups of a two-category question have one test (equal up to rounding).
            p_value = p_values[member]
            if member in adjusted:
                p_adjusted = adjusted[member]
            else:
                # A broader view: judged at the level the family reached.
                p_adjusted = min(1.0, p_value * config.alpha / alpha_family)
            bounds = None
            coarsened = False
            if intervals:
                low, high = evidence.ratio_interval(level)
                status = status_from_interval(evidence.ratio, low, high, config)
                bounds_of = getattr(evidence, "bounds_verdict", None)
                bounds = bounds_of(level, config) if bounds_of is not None else None
                if bounds is not None:
                    if status in _FIRM and not bounds.holds(status):
                        status = _FIRM[status]
                    coarsened = bounds.status_at_stand_in in _FIRM and status not in _FIRM
            else:
                low = high = None
                firm = p_adjusted < config.alpha
                status = status_from_interval(
                    evidence.ratio, 1.5 if firm else 0.0, 0.5 if firm else 2.0, config
                )
            row.append(
                Verdict(
                    status,
                    p_value,
                    p_adjusted,
                    low,
                    high,
                    level,
                    member in adjusted,
                    bounds,
                    coarsened,
                )
            )
        verdicts.append(row)
    return verdicts


_FIRM = {Status.UNDER: Status.POSSIBLE_UNDER, Status.OVER: Status.POSSIBLE_OVER}
"""Each firm status and the possible status it becomes when it does not hold at both bounds."""


def status_from_interval(ratio: float, low: float, high: float, config: AuditConfig) -> Status:
    """The status of a group with a verdict: direction from the ratio, firmness from the interval.

    >>> config = AuditConfig()
    >>> status_from_interval(0.5, 0.3, 0.8, config), status_from_interval(0.5, 0.3, 1.1, config)
    (<Status.UNDER: 'under'>, <Status.POSSIBLE_UNDER: 'possible_under'>)
    >>> status_from_interval((800 / 10_000) / 0.1, 0.75, 0.85, config)  # exactly 0.8
    <Status.OK: 'ok'>
    """
    if ratio < config.under_threshold * (1 - _TOLERANCE):
        return Status.UNDER if high < 1 else Status.POSSIBLE_UNDER
    if ratio > config.over_threshold * (1 + _TOLERANCE):
        return Status.OVER if low > 1 else Status.POSSIBLE_OVER
    return Status.OK


def robust_to_unknown(
    status: Status,
    population_share: float,
    share_if_all_in: float | None,
    share_if_none_in: float | None,
    config: AuditConfig,
) -> bool | None:
    """Whether a verdict survives every way the unknown answers could fall.

    The ratio ranges from ``share_if_none_in / π`` (no unknown answer is in the
    group) to ``share_if_all_in / π`` (all are). A verdict below the under
    threshold is robust when even the top of that range stays below it; above
    the over threshold, when even the bottom stays above it; ``ok``, when the
    whole range lies between the thresholds. None where there is no verdict.

    >>> robust_to_unknown(Status.UNDER, 0.2, 0.18, 0.10, AuditConfig())  # top ratio 0.9
    False
    >>> robust_to_unknown(Status.UNDER, 0.2, 0.12, 0.10, AuditConfig())  # top ratio 0.6
    True
    """
    if (
        status == Status.INSUFFICIENT_DATA
        or population_share <= 0
        or share_if_all_in is None
        or share_if_none_in is None
    ):
        return None
    top = share_if_all_in / population_share
    bottom = share_if_none_in / population_share
    under = config.under_threshold * (1 - _TOLERANCE)
    over = config.over_threshold * (1 + _TOLERANCE)
    if status in (Status.UNDER, Status.POSSIBLE_UNDER):
        return top < under
    if status in (Status.OVER, Status.POSSIBLE_OVER):
        return bottom > over
    return bottom >= under and top <= over


@dataclass(frozen=True)
class PooledEvidence:
    """A group's counts at several events, pooled as a sum of binomials (a review).

    Each event enters with its participants with a known answer (``ns``), its
    population share (``shares``) and the group's count; events where either
    is 0 carry no information and are left out. See ``stats.pooling``.
    """

    counts: tuple[int, ...]
    ns: tuple[int, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(
        cls, counts: Sequence[int], ns: Sequence[int], shares: Sequence[float]
    ) -> PooledEvidence:
        """The evidence of the events that can inform the pooled ratio."""
        kept = [(c, n, s) for c, n, s in zip(counts, ns, shares, strict=True) if n > 0 and s > 0]
        return cls(
            tuple(c for c, _, _ in kept), tuple(n for _, n, _ in kept), tuple(s for _, _, s in kept)
        )

    # Each figure is computed once: a review asks for them several times per group.
    @cached_property
    def observed(self) -> int:
        return sum(self.counts)

    @cached_property
    def expected_count(self) -> float:
        return math.fsum(n * s for n, s in zip(self.ns, self.shares, strict=True))

    @cached_property
    def ratio(self) -> float | None:
        expected = self.expected_count
        return self.observed / expected if expected > 0 else None

    @cached_property
    def dispersion(self) -> float | None:
        """Pearson's dispersion statistic across events; None under two events."""
        return stats.dispersion(self.counts, self.ns, self.shares)

    @cached_property
    def _collapsed(self) -> tuple[list[int], list[float]]:
        """Events with the same share merged (``stats.collapse``): one binomial per share."""
        return stats.collapse(self.ns, self.shares)

    def _phi(self) -> float:
        phi = self.dispersion
        return phi if phi is not None and phi > 1 else 1.0

    def p_value(self) -> float:
        ns, shares = self._collapsed
        return stats.discounted_p(stats.pooled_test(self.observed, ns, shares), self._phi())

    def ratio_interval(self, confidence: float) -> tuple[float, float]:
        ns, shares = self._collapsed
        return stats.pooled_interval(self.observed, ns, shares, confidence, self._phi())
