"""The barrier knowledge base as typed objects: barriers, groups, actions and sources.

Also the small vocabulary every other module of the knowledge base shares: how a
group specification matches a characteristic and category, and how reported
answers are folded for comparison.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from inclusion_audit.errors import ReferenceDataError
from inclusion_audit.result import Status
from inclusion_audit.vocab.ages import AgeSpan, parse_age_band
from inclusion_audit.vocab.classifications import BROADER_CHARACTERISTIC
from inclusion_audit.vocab.folding import normalise

__all__ = [
    "COMPILED_FILE",
    "KNOWLEDGE_BASE_FILE",
    "OTHER",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "band_within",
    "characteristic_family",
]


KNOWLEDGE_BASE_FILE = "barriers.yaml"


COMPILED_FILE = "barriers.json"


OTHER = "other"


"""Reported answers that name no barrier the knowledge base knows."""


MISSED = (Status.UNDER, Status.POSSIBLE_UNDER)


REACHED = (Status.OK, Status.POSSIBLE_OVER, Status.OVER)


OPEN_AGE_CAP = 90


"""An open age band such as 75+ counts as running to this age when matching ranges."""


class KnowledgeBaseError(ReferenceDataError):
    """``barriers.yaml`` is missing or malformed (a bug in shipped data, not in input)."""


@dataclass(frozen=True)
class Source:
    """A publication a barrier, its evidence or an action rests on."""

    id: str
    short: str
    citation: str
    url: str | None
    note: str | None = None

    @property
    def full(self) -> str:
        """The citation with its address, for ``source`` fields."""
        return f"{self.citation}, {self.url}" if self.url else self.citation


_ANSWERS_KEPT = 4096


@dataclass(frozen=True)
class GroupSpec:
    """A group a barrier affects: exact labels, an age range, or every missed group."""

    characteristic: str | None
    categories: frozenset[str] = frozenset()
    ages: tuple[int, int | None] | None = None
    weight: float = 1.0
    _answers: dict[tuple[str, str], bool] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """``matches``' answers so far: an audit asks about each group hundreds of times."""

    @property
    def is_any(self) -> bool:
        """True for ``{any: true}``: every under-represented group."""
        return self.characteristic is None

    def matches(self, characteristic: str, category: str) -> bool:
        """Whether a result group (characteristic, category) is this group.

        Ethnic group, unpaid care and tenure match their broader versions too
        (``ethnic_group_broad``…). Age matches by range, never by label: a band
        matches when at least half its years fall in the range.
        """
        if self.characteristic is None:
            return True
        known = self._answers.get((characteristic, category))
        if known is None:
            if len(self._answers) >= _ANSWERS_KEPT:  # an uploaded reference's own labels
                self._answers.clear()
            known = self._answers[characteristic, category] = self._matches(
                characteristic, category
            )
        return known

    def _matches(self, characteristic: str, category: str) -> bool:
        assert self.characteristic is not None
        if characteristic_family(self.characteristic) != characteristic_family(characteristic):
            return False
        if self.ages is not None:
            band = _result_band(category)
            return band is not None and band_within(band, self.ages)
        return _result_label(category) in self.categories


@dataclass(frozen=True)
class FieldTest:
    """A test of one event field and/or the event's date (all parts must hold)."""

    field: str | None
    op: str | None
    operand: Any
    weekday: bool | None = None
    days: frozenset[int] | None = None
    months: frozenset[int] | None = None


@dataclass(frozen=True)
class AreaShare:
    """The area's Census share in some categories is at least a threshold."""

    characteristic: str
    categories: frozenset[str]
    at_least: float
    unknown_as: str


@dataclass(frozen=True)
class OverRepresented:
    """One of these groups was over (or possibly over) represented in the audit."""

    groups: tuple[GroupSpec, ...]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition: TypeAlias = FieldTest | AreaShare | OverRepresented | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Clause:
    """An event condition that makes a barrier likely (or, in mitigations, less so)."""

    when: Condition
    says: str
    weight: float
    groups: tuple[GroupSpec, ...] = ()
    helped: str | None = None


@dataclass(frozen=True)
class Action:
    """Something to do about a barrier, with its sources."""

    id: str
    label: str
    text: str
    sources: tuple[str, ...]
    done_if: Condition | None = None
    """The event already did this: it is not recommended again, but reported as offered."""
    fits: Condition | None = None
    """The events the action is for (civic lottery: processes that select members).

    False leaves the action out; not known keeps it, ranked after actions that fit.
    """
    offered: str | None = None
    """What to say when ``done_if`` holds ("interpreters ({interpreters}) were offered")."""


@dataclass(frozen=True)
class Barrier:
    """One row of the domain brief's barrier table."""

    id: str
    row: int
    title: str
    reported_label: str
    evidence: str
    evidence_sources: tuple[str, ...]
    sources: tuple[str, ...]
    groups: tuple[GroupSpec, ...]
    applies: Condition | None
    likely: tuple[Clause, ...]
    mitigations: tuple[Clause, ...]
    reported_as: tuple[str, ...]
    actions: tuple[Action, ...]
    evidence_over: tuple[GroupSpec, ...] = ()
    """Groups the evidence says the barrier draws *in* (self-selection draws White British,
    older and owner-occupier residents): its evidence supports their over-representation,
    so the barrier is never given as a reason for such a group being missed."""

    def explains_missing(self, characteristic: str, category: str) -> bool:
        """Whether the barrier can explain this group being under-represented."""
        if any(g.matches(characteristic, category) for g in self.evidence_over):
            return False
        return self.group_weight(characteristic, category) is not None

    def group_weight(self, characteristic: str, category: str) -> float | None:
        """How directly the research links this group (largest matching weight), or None."""
        weights = [g.weight for g in self.groups if g.matches(characteristic, category)]
        return max(weights) if weights else None

    def names_group(self, characteristic: str, category: str) -> bool:
        """Whether the barrier names this group itself (not only as "any group")."""
        return any(not g.is_any and g.matches(characteristic, category) for g in self.groups)

    def action(self, action_id: str) -> Action:
        """The action with this id."""
        return next(a for a in self.actions if a.id == action_id)


@dataclass(frozen=True)
class Alias:
    """A reported answer that names several barriers at once ("Caring responsibilities")."""

    id: str
    label: str
    barriers: tuple[str, ...]
    reported_as: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    """An outreach route that reaches a group whatever the barrier (schools for under-18s).

    Every characteristic the tool audits has at least one, each with its sources, so
    that a missed group is offered a way to reach it that fits it, not only the
    generic fallbacks.
    """

    id: str
    groups: tuple[GroupSpec, ...]
    action: Action
    """What to do: the route's own, or the barrier action it ``uses``."""
    uses: tuple[str, str] | None = None
    """(barrier, action) when the route is an action a barrier already lists, so that the
    recommendation is one entry whichever way a group reached it."""
    fits: Condition | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The recommendation this route gives: the used action's key, else the route's own."""
        return self.uses or ("route", self.id)

    def weight(self, characteristic: str, category: str) -> float | None:
        """How directly the route serves this group (largest matching weight), or None."""
        weights = [g.weight for g in self.groups if g.matches(characteristic, category)]
        return max(weights) if weights else None


@dataclass(frozen=True)
class KnowledgeBase:
    """The parsed, checked ``barriers.yaml``."""

    path: Path
    sources: Mapping[str, Source]
    barriers: tuple[Barrier, ...]
    aliases: tuple[Alias, ...]
    no_barrier_answers: frozenset[str]
    reported_questions: tuple[str, ...]
    free_text_questions: tuple[str, ...]
    fallback: tuple[tuple[str, str], ...]
    answers: Mapping[str, str] = field(default_factory=dict)
    """Folded reported answer → controlled id (a barrier, an alias)."""
    routes: tuple[Route, ...] = ()

    def barrier(self, barrier_id: str) -> Barrier:
        """The barrier with this id (KeyError when unknown)."""
        for barrier in self.barriers:
            if barrier.id == barrier_id:
                return barrier
        raise KeyError(barrier_id)

    @property
    def controlled_ids(self) -> tuple[str, ...]:
        """Every id a reported answer can be counted under, ``other`` last."""
        return (*(b.id for b in self.barriers), *(a.id for a in self.aliases), OTHER)

    def citations(self, ids: Iterable[str]) -> str:
        """Full citations with addresses, joined by "; "."""
        return "; ".join(self.sources[i].full for i in ids)

    def shorts(self, ids: Iterable[str]) -> str:
        """Short source names, for inline evidence."""
        return "; ".join(self.sources[i].short for i in ids)

    def area_characteristics(self) -> tuple[str, ...]:
        """Characteristics whose area shares some condition reads."""
        found: dict[str, None] = {}
        for barrier in self.barriers:
            for clause in (*barrier.likely, *barrier.mitigations):
                for leaf in leaves(clause.when):
                    if isinstance(leaf, AreaShare):
                        found[leaf.characteristic] = None
        return tuple(found)


def leaves(condition: Condition) -> Iterable[Condition]:
    if isinstance(condition, AllOf | AnyOf):
        for part in condition.parts:
            yield from leaves(part)
    elif isinstance(condition, Not):
        yield from leaves(condition.part)
    else:
        yield condition


PLACEHOLDERS = frozenset(
    {
        "start_time",
        "end_time",
        "weekday",
        "date",
        "month",
        "duration",
        "format",
        "event_type",
        "recruitment",
        "payment_kind",
        "payment_amount",
        "interpreters",
        "translated_materials",
        "area_share",
        "over_groups",
    }
)


# Event fields conditions may read: kind, and how to say the field is not known.
EVENT_FIELDS: Mapping[str, tuple[str, str]] = {
    "date": ("date", "the date"),
    "start_time": ("time", "the start time"),
    "end_time": ("time", "the finishing time"),
    "duration_minutes": ("number", "how long the event lasted"),
    "format": ("format", "the event's format"),
    "event_type": ("event_type", "the type of event"),
    "recruitment": ("recruitment", "how people were recruited"),
    "childcare": ("bool", "whether childcare was offered"),
    "carers_welcome": ("bool", "whether carers were welcome with the person they care for"),
    "bsl": ("bool", "whether BSL interpretation was offered"),
    "easy_read": ("bool", "whether Easy Read materials were offered"),
    "travel_paid": ("bool", "whether travel costs were paid"),
    "online_option": ("bool", "whether there was an online option"),
    "paper_option": ("bool", "whether there was a paper option"),
    "interpreters": ("languages", "whether interpreters were offered"),
    "translated_materials": ("languages", "whether materials were translated"),
    "payment.kind": ("payment_kind", "whether participants were paid"),
    "payment.amount": ("number", "how much participants were paid"),
    "venue.step_free": ("bool", "whether the venue was step-free"),
    "venue.hearing_loop": ("bool", "whether the venue had a hearing loop"),
    "venue.accessible_toilet": ("bool", "whether the venue had an accessible toilet"),
    "venue.public_transport": ("bool", "whether the venue was on a public transport route"),
}


_FAMILY = {broader: narrow for narrow, broader in BROADER_CHARACTERISTIC.items()}


def characteristic_family(characteristic: str) -> str:
    """Ethnic group, unpaid care and tenure share labels with their broader tables.

    >>> characteristic_family("ethnic_group_broad"), characteristic_family("age")
    ('ethnic_group', 'age')
    """
    return _FAMILY.get(characteristic, characteristic)


def fold_label(label: str) -> str:
    return normalise(label)


# Result groups' labels (Census categories, age bands, wards), matched against every
# barrier's groups for every audit: remembered, since they repeat from audit to audit.
@functools.lru_cache(maxsize=4096)
def _result_label(category: str) -> str:
    return fold_label(category)


@functools.lru_cache(maxsize=4096)
def _result_band(category: str) -> AgeSpan | None:
    return parse_age_band(category)


def band_within(band: tuple[int, int | None], span: tuple[int, int | None]) -> bool:
    """At least half the band's years fall within the span (open ends capped at 90).

    >>> band_within((25, 34), (25, 49)), band_within((45, 54), (25, 49))
    (True, True)
    >>> band_within((16, 24), (25, 49)), band_within((75, None), (65, None))
    (False, True)
    """
    low, high = band[0], band[1] if band[1] is not None else max(band[0], OPEN_AGE_CAP)
    span_low, span_high = span[0], span[1] if span[1] is not None else 10_000
    overlap = min(high, span_high) - max(low, span_low) + 1
    return overlap > 0 and 2 * overlap >= high - low + 1


SPLIT_OPTIONS = re.compile(r"[;\n\r]+")


_APOSTROPHES = re.compile(r"['\u2019\u2018`]")


_NON_WORD = re.compile(r"[^0-9a-z+]+")


def reported_key(text: str) -> str:
    """Fold an answer or header for exact comparison: case, punctuation, apostrophes.

    >>> reported_key("I didn’t know about it!"), reported_key("Step-free access")
    ('i didnt know about it', 'step free access')
    """
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", normalise(text))).strip()
