"""Barrier analysis: why groups may have been missed, from the event and the evidence.

An audit says *who* was missed; officers also need *why*, with reasons they can
defend. The reasons come from three places, weighed together for each
under-represented group:

* the knowledge base (``reference_data/barriers.yaml``, :mod:`.knowledge`): the 22 barriers of the
  domain brief, the groups research links to each, and the sources;
* the event's details (:mod:`inclusion_audit.action.event`): a Wednesday 10:00 start,
  no crèche, an online-only survey make particular barriers likely. An unknown
  detail is neither evidence for nor against, and the finding says it is not
  known;
* what participants said nearly stopped them, or their access needs.

The knowledge base is data, not code: its conditions are small declarative
expressions :mod:`.conditions` interprets (three-valued, so "not known" stays
distinct from "no"); nothing is ``eval``-ed. It is checked on load, so a typo
in a field name or a category label fails loudly instead of never firing.

Ranking (``BarrierFinding.strength``), in points::

    1                          the knowledge base links the barrier to a missed group
  + weight of each event condition that makes it likely (2 unless the entry says)
  + min(3, 30 × share of participants who reported it)   (10% reporting = 3)
  + 0.25 for each further named group it may explain, status under (at most 1)
  − weight of each measure the event already took against it (1 unless stated)

floored at 0.1. Findings come strongest first, then in knowledge-base order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inclusion_audit.action.conditions import ConditionContext, evaluate, unique
from inclusion_audit.action.event import (
    EventDetails,
)
from inclusion_audit.action.knowledge import (
    MISSED,
    AreaShare,
    Barrier,
    Clause,
    KnowledgeBase,
    OverRepresented,
    leaves,
)
from inclusion_audit.action.knowledge_loader import load_knowledge_base
from inclusion_audit.action.wording import NOT_KNOWN, describe_group, event_words, join_words
from inclusion_audit.config import DEFAULT_THRESHOLD
from inclusion_audit.result import AuditResult, CharacteristicResult, GroupResult, Status

__all__ = [
    "BarrierFinding",
    "analyse_barriers",
]


_BASE_POINTS = 1.0


_REPORTED_SCALE, _REPORTED_CAP = 30.0, 3.0


_BREADTH_POINTS, _BREADTH_CAP = 0.25, 1.0


_FLOOR = 0.1


@dataclass(frozen=True)
class BarrierFinding:
    """A barrier that may explain why some groups were missed, with the evidence.

    ``evidence`` holds clauses (lower case, no full stop, ready to join into a
    sentence), in this order: event conditions that make the barrier likely,
    participants' own reports, measures already taken (", which makes this less
    likely"), details that are not known, and last the knowledge base's evidence
    with its sources in brackets. ``why`` is what a recommendation quotes: the
    event conditions and reports when there are any, else the knowledge base's
    evidence. ``groups`` are the under or possibly under groups it may explain
    (empty when only participants' reports raise it). ``reported`` is the exact
    number of participants who reported it (evidence text hides counts below
    the disclosure threshold). ``actions`` are the ids of the knowledge base's
    actions for it that the event has not already taken, in order. ``why`` is
    never the research's general evidence when the event took measures against
    the barrier and nothing else points to it: then it says what was done. ``offered``
    says what the event already did against it (an action's ``offered`` text, or
    a mitigation's ``helped``). ``rank_strength`` is ``strength`` computed only
    from what a shared report publishes: participants' reports count only when
    at least ``suppress_below`` participants made them, so ranking on it cannot
    give a hidden count away.
    """

    barrier: str
    title: str
    evidence: tuple[str, ...]
    groups: tuple[tuple[str, str], ...]
    strength: float
    source: str
    reported: int = 0
    why: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    offered: tuple[str, ...] = ()
    rank_strength: float = 0.0


def analyse_barriers(
    result: AuditResult,
    event: EventDetails | None = None,
    reported: Mapping[str, int] | None = None,
    area_shares: Mapping[str, Mapping[str, float]] | None = None,
    *,
    suppress_below: int = DEFAULT_THRESHOLD,
    knowledge: KnowledgeBase | None = None,
) -> list[BarrierFinding]:
    """The barriers that may explain the under-represented groups, strongest first.

    ``reported`` maps controlled ids (see :func:`reported_barrier_answers`) to
    participants; an alias such as ``caring`` counts towards each barrier it
    names. ``area_shares`` maps a characteristic to the area's category shares
    or counts (see :func:`area_shares`); without it, conditions on the area are
    "not known". Counts of reporting participants from 1 to ``suppress_below``
    − 1 are written "fewer than N" in the text (0 writes them exactly).

    Raises:
        ValueError: ``reported`` has an id the knowledge base does not know.
    """
    knowledge = knowledge or load_knowledge_base()
    reported = dict(reported or {})
    unknown_ids = set(reported) - set(knowledge.controlled_ids)
    if unknown_ids:
        raise ValueError(
            f"reported barrier ids {sorted(unknown_ids)} are not in the knowledge base; "
            f"use ids from reported_barrier_answers ({', '.join(knowledge.controlled_ids)})"
        )
    context = ConditionContext(event, area_shares, result)
    words = event_words(event)
    missed = [(c, g) for c in result.characteristics for g in c.groups if g.status in MISSED]
    findings: list[tuple[float, int, BarrierFinding]] = []
    for order, barrier in enumerate(knowledge.barriers):
        if barrier.applies is not None and evaluate(barrier.applies, context).value is False:
            continue
        groups = [(c, g) for c, g in missed if barrier.explains_missing(c.name, g.category)]
        counts = _reported_counts(barrier, reported, knowledge)
        total_reported = sum(n for _, n in counts)
        if not groups and not total_reported:
            continue
        finding = _finding(
            barrier, groups, counts, context, words, result, suppress_below, knowledge
        )
        findings.append((-finding.strength, order, finding))
    return [finding for *_, finding in sorted(findings, key=lambda item: item[:2])]


def _reported_counts(
    barrier: Barrier, reported: Mapping[str, int], knowledge: KnowledgeBase
) -> list[tuple[str, int]]:
    """(label, participants) for the barrier itself and each alias naming it."""
    counts = [(barrier.reported_label, int(reported.get(barrier.id, 0)))]
    counts += [
        (alias.label, int(reported.get(alias.id, 0)))
        for alias in knowledge.aliases
        if barrier.id in alias.barriers
    ]
    return [(label, n) for label, n in counts if n > 0]


def _finding(
    barrier: Barrier,
    groups: list[tuple[CharacteristicResult, GroupResult]],
    counts: list[tuple[str, int]],
    context: ConditionContext,
    words: dict[str, str],
    result: AuditResult,
    suppress_below: int,
    knowledge: KnowledgeBase,
) -> BarrierFinding:
    pairs = [(c.name, g.category) for c, g in groups]

    def speaks_for(clause: Clause) -> bool:
        return not clause.groups or any(s.matches(*pair) for s in clause.groups for pair in pairs)

    likely: list[str] = []
    unknown: list[str] = []
    points = _BASE_POINTS if groups else 0.0
    for clause in barrier.likely:
        if not speaks_for(clause):
            continue
        outcome = evaluate(clause.when, context)
        if outcome.value:
            likely.append(_say(clause, context, words))
            points += clause.weight
        elif outcome.value is None:
            unknown.extend(outcome.unknown)
    reports = [
        f"{_people(n, suppress_below)} named {label} among their barriers" for label, n in counts
    ]
    total = sum(n for _, n in counts)
    reported_points = 0.0
    if result.n_participants:
        reported_points = min(_REPORTED_CAP, _REPORTED_SCALE * total / result.n_participants)
    points += reported_points
    named_under = sum(
        1 for c, g in groups if g.status is Status.UNDER and barrier.names_group(c.name, g.category)
    )
    breadth_points = min(_BREADTH_CAP, _BREADTH_POINTS * max(0, named_under - 1))
    points += breadth_points
    against = []
    for clause in barrier.mitigations:
        if evaluate(clause.when, context).value:
            against.append(f"{_say(clause, context, words)}, which makes this less likely")
            points -= clause.weight
    known_evidence = f"{barrier.evidence} ({knowledge.shorts(barrier.evidence_sources)})"
    missing = unique(unknown)
    verb = "is" if len(missing) == 1 else "are"
    not_known = [f"{join_words(missing)} {verb} {NOT_KNOWN}"] if missing else []
    done = [a for a in barrier.actions if a.done_if and evaluate(a.done_if, context).value]
    # What the event did against it: the actions' own words where they have them,
    # else the measures (mitigations) that held, as the evidence list says them.
    offered = unique(a.offered.format_map(words) for a in done if a.offered) or unique(
        _say(clause, context, words)
        for clause in barrier.mitigations
        if evaluate(clause.when, context).value
    )
    actions = tuple(a.id for a in barrier.actions if a not in done)
    # Measures taken and nothing pointing to the barrier: quoting the research
    # ("daytime meetings exclude people who work") would contradict the event
    # (a Saturday evening); say what was done instead.
    why = tuple(likely + reports) or (tuple(against) if against else (known_evidence,))
    # The breadth term counts groups whose status is exactly "under", which a shared
    # report may not show (a hidden group shows "under, very few took part" whatever
    # its exact status); recommendations weigh breadth from published statuses instead.
    public_points = points - reported_points - breadth_points
    if total >= suppress_below or suppress_below <= 1:
        public_points += reported_points
    return BarrierFinding(
        barrier=barrier.id,
        title=barrier.title,
        evidence=(*likely, *reports, *against, *not_known, known_evidence),
        groups=tuple(pairs),
        strength=round(max(_FLOOR, points), 3),
        source=knowledge.citations(barrier.sources),
        reported=total,
        why=why,
        actions=actions,
        offered=tuple(offered),
        rank_strength=round(max(_FLOOR, public_points), 3),
    )


def _say(clause: Clause, context: ConditionContext, words: dict[str, str]) -> str:
    values = dict(words)
    for leaf in leaves(clause.when):
        if isinstance(leaf, AreaShare) and (share := context.share(leaf)) is not None:
            values["area_share"] = f"{share:.1%}"
        elif isinstance(leaf, OverRepresented) and (over := context.over_groups(leaf)):
            values["over_groups"] = join_words([describe_group(*pair) for pair in over[:3]])
    return clause.says.format_map(values)


def _people(count: int, suppress_below: int) -> str:
    if 0 < count < suppress_below:
        return f"fewer than {suppress_below} participants"
    return f"{count} participant{'s' if count != 1 else ''}"
