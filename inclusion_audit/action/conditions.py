"""Evaluating the knowledge base's conditions against an event and an audit.

Three-valued: True, False and None (not known), so that an event detail nobody
recorded is neither evidence for nor against a barrier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inclusion_audit.action.event import (
    EventDetails,
)
from inclusion_audit.action.knowledge import (
    EVENT_FIELDS,
    AllOf,
    AnyOf,
    AreaShare,
    Condition,
    FieldTest,
    Not,
    OverRepresented,
    fold_label,
)
from inclusion_audit.action.knowledge_loader import load_knowledge_base
from inclusion_audit.reference import census
from inclusion_audit.result import AuditResult, Status

__all__ = [
    "area_shares",
    "condition_holds",
]


@dataclass(frozen=True)
class Outcome:
    value: bool | None
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionContext:
    event: EventDetails | None
    area_shares: Mapping[str, Mapping[str, float]] | None
    result: AuditResult | None

    def field(self, name: str) -> Any:
        event = self.event
        if event is None:
            return None
        if name == "duration_minutes":
            return event.duration_minutes
        head, _, tail = name.partition(".")
        value = getattr(event, head)
        return getattr(value, tail) if tail and value is not None else value

    def share(self, test: AreaShare) -> float | None:
        shares = (self.area_shares or {}).get(test.characteristic)
        if not shares:
            return None
        folded = {fold_label(k): float(v) for k, v in shares.items()}
        total = sum(folded.values())
        if total <= 0 or not test.categories & folded.keys():
            return None
        return sum(v for k, v in folded.items() if k in test.categories) / total

    def over_groups(self, test: OverRepresented) -> list[tuple[str, str]] | None:
        if self.result is None:
            return None
        audited = False
        found = []
        for characteristic in self.result.characteristics:
            for group in characteristic.groups:
                specs = [s for s in test.groups if s.matches(characteristic.name, group.category)]
                if specs:
                    audited = True
                    if group.status in (Status.OVER, Status.POSSIBLE_OVER):
                        found.append((characteristic.name, group.category))
        return found if found or audited else None


def evaluate(condition: Condition, context: ConditionContext) -> Outcome:
    if isinstance(condition, AllOf | AnyOf):
        decisive = isinstance(condition, AnyOf)  # one True decides any, one False decides all
        outcomes = [evaluate(part, context) for part in condition.parts]
        if any(o.value is decisive for o in outcomes):
            return Outcome(decisive)
        if any(o.value is None for o in outcomes):
            return Outcome(None, unique(u for o in outcomes for u in o.unknown))
        return Outcome(not decisive)
    if isinstance(condition, Not):
        inner = evaluate(condition.part, context)
        return Outcome(None if inner.value is None else not inner.value, inner.unknown)
    if isinstance(condition, AreaShare):
        share = context.share(condition)
        if share is None:
            return Outcome(None, (condition.unknown_as,))
        return Outcome(share >= condition.at_least)
    if isinstance(condition, OverRepresented):
        over = context.over_groups(condition)
        if over is None:
            return Outcome(None, ("whether the usual participants were over-represented",))
        return Outcome(bool(over))
    return _field_test(condition, context)


def _field_test(test: FieldTest, context: ConditionContext) -> Outcome:
    parts: list[Outcome] = []
    if test.op == "overlaps":
        parts.append(_overlaps(test.operand, context))
    elif test.op is not None and test.field is not None:
        value = context.field(test.field)
        if value is None:
            parts.append(Outcome(None, (EVENT_FIELDS[test.field][1],)))
        else:
            parts.append(Outcome(_compare(test.op, value, test.operand)))
    if test.weekday is not None or test.days is not None or test.months is not None:
        day: dt.date | None = context.field("date")
        if day is None:
            parts.append(Outcome(None, ("the date",)))
        else:
            holds = True
            if test.weekday is not None:
                holds &= (day.weekday() < 5) is test.weekday
            if test.days is not None:
                holds &= day.weekday() in test.days
            if test.months is not None:
                holds &= day.month in test.months
            parts.append(Outcome(holds))
    if any(p.value is False for p in parts):
        return Outcome(False)
    if any(p.value is None for p in parts):
        return Outcome(None, unique(u for p in parts for u in p.unknown))
    return Outcome(True)


def _compare(op: str, value: Any, operand: Any) -> bool:
    if op == "is":
        return bool(value == operand)
    if op == "in":
        return value in operand
    if op == "empty":
        return (len(value) == 0) is operand
    if op == "between":
        return bool(operand[0] <= value <= operand[1])
    if op == "from":
        return bool(value >= operand)
    if op == "before":
        return bool(value < operand)
    if op == "at_least":
        return bool(value >= operand)
    if op == "below":
        return bool(value < operand)
    raise AssertionError(op)  # pragma: no cover - the parser allows no other operator


def _overlaps(window: tuple[dt.time, dt.time], context: ConditionContext) -> Outcome:
    """Whether the event's span meets the window; a missing finish still decides when it can."""
    start: dt.time | None = context.field("start_time")
    end: dt.time | None = context.field("end_time")
    low, high = window
    if start is None:
        return Outcome(None, ("the start time",))
    if start >= high:
        return Outcome(False)
    if start >= low:
        return Outcome(True)
    if end is None:
        return Outcome(None, ("the finishing time",))
    return Outcome(end > low)


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def condition_holds(
    condition: Condition,
    event: EventDetails | None,
    result: AuditResult | None = None,
    area_shares: Mapping[str, Mapping[str, float]] | None = None,
) -> bool | None:
    """Whether a knowledge-base condition holds for an event: True, False or None (not known)."""
    return evaluate(condition, ConditionContext(event, area_shares, result)).value


def area_shares(
    areas: Sequence[census.Area], eligible_age: census.AgeRange | None = None
) -> dict[str, dict[str, float]]:
    """The areas' Census shares for every characteristic the knowledge base's conditions read.

    A characteristic the areas have no table for (Northern Ireland has no
    proficiency table) is left out, so conditions on it are "not known".
    """
    shares: dict[str, dict[str, float]] = {}
    for characteristic in load_knowledge_base().area_characteristics():
        try:
            profile = census.census_profile(areas, characteristic, eligible_age)
        except census.CharacteristicNotAvailableError:
            continue
        total = sum(profile.categories.values())
        if total > 0:
            shares[characteristic] = {k: v / total for k, v in profile.categories.items()}
    return shares
