"""Quarterly review: pool a period's stored events, follow the trend, find who is missed again.

Reads events from the store (``StoredEvent``, built from ``AuditResult``) and
returns one typed, JSON-serialisable ``ReviewResult`` (``docs/review-schema.md``).

Events are pooled by **indirect standardisation**, as a standardised mortality
ratio is: each event keeps its own population, so for a group::

    O = Σ_e count_e                      (attendances observed)
    E = Σ_e n_known_e · π_e              (expected, each event at its own share π_e)
    ratio = O / E

The pooled count is modelled as what it is, a sum of independent binomials
``Binomial(n_known_e, ρ·π_e)`` (``stats.pooling``): the equal-tailed exact test
of ``ρ = 1`` and the interval inverting it, widened where the events' counts
vary more than binomials would (Pearson's dispersion statistic above 1). The
verdicts follow the audit's method exactly (``findings.verdicts``: the same
family rules, the same level, the status from the interval), so a review of
one event gives each group its audit's status. Counts are **attendances**, not
people: regulars come back.

Every stored event is first judged again from its stored counts under the
current method (``reevaluate``), and its category names are put in canonical
form (age bands as ``16-24``, ``75+``, whatever the register wrote), so one
review never mixes methods and a group is never split by spelling. Categories
are pooled by that canonical name, each over the events whose reference has it
(age bands follow each register's own, so ``18-24`` and ``16-24`` are pooled apart).

**Missed again and again**: a group is *missed* at an event when its status
there is ``under`` or ``possible_under`` (below the ratio threshold, whether or
not that one event was big enough to be sure; the pooled test supplies the
certainty). It is *judged* at every event where it has a status other than
``insufficient_data``. It is missed again and again when missed at 2 events or
more **and** at least at half the events where it was judged. The longest run
counts consecutive judged events, oldest first, at which it was missed; an event
that could not judge it neither breaks nor extends a run.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from inclusion_audit import __version__
from inclusion_audit.config import AuditConfig
from inclusion_audit.errors import InputError
from inclusion_audit.findings.verdicts import BinomialEvidence, PooledEvidence, Question, judge
from inclusion_audit.history.store import StoredCharacteristic, StoredEvent
from inclusion_audit.result import METHOD_VERSION, Status, plain
from inclusion_audit.vocab.classifications import canonical_category

REVIEW_SCHEMA_VERSION = "2.0"
PERIODS = ("quarter", "month")
MISSED = ("under", "possible_under", "few_under")
"""Statuses that count as missed; ``few_under`` is how a shared report shows a small one."""
NOT_JUDGED = ("insufficient_data", "withheld")
FIRST_YEAR, LAST_YEAR = 1900, 2999
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


class ReviewError(InputError):
    """A review cannot be made as asked (no events in the period, a bad quarter)."""


@dataclass(frozen=True)
class PooledGroup:
    """One category pooled over events: observed against expected attendances."""

    category: str
    count: int
    expected_count: float
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    p_value: float | None
    p_value_adjusted: float | None
    status: Status
    n_events: int
    ratio_ci_level: float | None = None
    dispersion: float | None = None
    """Pearson's dispersion statistic across the events (None under two); above 1 widens."""
    in_family: bool = False


@dataclass(frozen=True)
class PooledCharacteristic:
    """One characteristic pooled over the events that audited it."""

    name: str
    n_events: int
    n_known: int
    n_unknown: int
    groups: tuple[PooledGroup, ...]


@dataclass(frozen=True)
class Period:
    """One quarter (or month) of the trend, pooled on its own."""

    label: str
    start: dt.date
    end: dt.date
    n_events: int
    n_participants: int
    characteristics: tuple[PooledCharacteristic, ...]


@dataclass(frozen=True)
class Persistence:
    """How often one group was missed across the period's events."""

    characteristic: str
    category: str
    n_events: int
    """Events whose audit had this group."""
    n_judged: int
    """Of those, events where it had a verdict (not ``insufficient_data``)."""
    n_under: int
    n_possible_under: int
    n_missed: int
    """Events where it was missed (``under`` or ``possible_under``)."""
    longest_run: int
    missed_again_and_again: bool
    statuses: tuple[str, ...]
    """Its status at each of those events, oldest first."""


@dataclass(frozen=True)
class ReviewResult:
    """A review of the events stored for a period: pooled, by period, and persistence."""

    tool_version: str
    store: str
    start: dt.date
    end: dt.date
    by: str
    settings: dict[str, Any]
    n_events: int
    n_participants: int
    pooled: tuple[PooledCharacteristic, ...]
    trend: tuple[Period, ...]
    persistent: tuple[Persistence, ...]
    events: tuple[StoredEvent, ...]
    schema_version: str = field(default=REVIEW_SCHEMA_VERSION)
    method_version: str = field(default=METHOD_VERSION)

    def to_dict(self) -> dict[str, Any]:
        """The review as plain JSON-ready data: dates ISO, no NaN or infinity."""
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "method_version": self.method_version,
            "tool": {"name": "inclusion-audit", "version": self.tool_version},
        }
        for item in fields(self):
            if item.name not in ("schema_version", "method_version", "tool_version"):
                data[item.name] = plain(getattr(self, item.name))
        return data

    def to_json(self) -> str:
        """The review as indented JSON text, each stored event on one line of its own.

        Python's JSON encoder is written in C only without indentation; the events
        are most of a long review (1,000 events: 15 MB), so they are written
        compactly, one per line, and the rest is indented.
        """
        import json

        data = self.to_dict()
        events = data.pop("events")
        head = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
        if not events:
            return head[:-2] + ',\n  "events": []\n}\n'
        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
        lines = ",\n    ".join(encode(event) for event in events)
        return head[:-2] + ',\n  "events": [\n    ' + lines + "\n  ]\n}\n"


def quarter_bounds(text: str) -> tuple[dt.date, dt.date]:
    """First and last day of a quarter written ``2026Q3`` (or ``2026-Q3``).

    >>> quarter_bounds("2026Q3")
    (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
    """
    found = _QUARTER.match(text.strip())
    if found is None:
        raise ReviewError(f"--quarter {text!r} is not a quarter: write it like 2026Q3.")
    year, quarter = int(found.group(1)), int(found.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ReviewError(
            f"--quarter {text!r} is not a year this tool reviews: give a year from "
            f"{FIRST_YEAR} to {LAST_YEAR}, like 2026Q3."
        )
    start = dt.date(year, 3 * quarter - 2, 1)
    return start, _period_end(start, "quarter")


def period_label(day: dt.date, by: str) -> str:
    """The quarter (``2026Q3``) or month (``2026-07``) a date falls in.

    >>> period_label(dt.date(2026, 8, 14), "quarter"), period_label(dt.date(2026, 8, 14), "month")
    ('2026Q3', '2026-08')
    """
    if by == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    raise ReviewError(f"a trend is by {' or '.join(PERIODS)}, not {by!r}.")


def build_review(
    events: Sequence[StoredEvent],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    by: str = "quarter",
    config: AuditConfig | None = None,
    store_name: str = "",
) -> ReviewResult:
    """Review the events dated from ``start`` to ``end`` (inclusive; default: all given).

    Raises ``ReviewError`` when no event falls in the period.
    """
    config = config or AuditConfig()
    if by not in PERIODS:
        raise ReviewError(f"a trend is by {' or '.join(PERIODS)}, not {by!r}.")
    chosen = sorted(
        (
            e
            for e in events
            if (start is None or e.date >= start) and (end is None or e.date <= end)
        ),
        key=_event_order,
    )
    if not chosen:
        span = f"from {start or 'the first'} to {end or 'the last'}"
        raise ReviewError(
            f"the store {store_name} has no events dated {span}. See them with "
            "`inclusion-audit store list`."
        )
    chosen = [reevaluate(event, config) for event in chosen]
    by_period: dict[str, list[StoredEvent]] = {}
    for event in chosen:
        by_period.setdefault(period_label(event.date, by), []).append(event)
    trend = tuple(
        Period(
            label=label,
            start=_period_start(members[0].date, by),
            end=_period_end(_period_start(members[0].date, by), by),
            n_events=len(members),
            n_participants=sum(e.n_participants for e in members),
            characteristics=pool(members, config),
        )
        for label, members in by_period.items()
    )
    pooled = pool(chosen, config)
    return ReviewResult(
        tool_version=__version__,
        store=store_name,
        start=start or chosen[0].date,
        end=end or chosen[-1].date,
        by=by,
        settings=config.to_dict(),
        n_events=len(chosen),
        n_participants=sum(e.n_participants for e in chosen),
        pooled=pooled,
        trend=trend,
        persistent=tuple(
            order_persistence(
                persistence(status_rows(chosen, lambda group: str(group.status))),
                {(c.name, g.category): g for c in pooled for g in c.groups},
            )
        ),
        events=tuple(chosen),
    )


def pool(events: Sequence[StoredEvent], config: AuditConfig) -> tuple[PooledCharacteristic, ...]:
    """Pool events as sums of binomials and judge them as an audit would (module docstring).

    Sums are exactly rounded (``math.fsum``) and events taken in date order, so
    the order they are given in does not change a digit.
    """
    tables: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=_event_order):
        for characteristic in event.characteristics:
            table = tables.setdefault(
                characteristic.name, {"events": 0, "known": 0, "unknown": 0, "groups": {}}
            )
            table["events"] += 1
            table["known"] += characteristic.n_known
            table["unknown"] += characteristic.n_unknown
            for group in characteristic.groups:
                cell = table["groups"].setdefault(group.category, ([], [], []))
                cell[0].append(group.count)
                cell[1].append(characteristic.n_known)
                cell[2].append(group.population_share)
    names = list(tables)
    evidence = {
        name: [
            (category, sum(counts), len(counts), PooledEvidence.of(counts, ns, shares))
            for category, (counts, ns, shares) in tables[name]["groups"].items()
        ]
        for name in names
    }
    verdicts = judge(
        [
            Question(name, [e if e.ratio is not None else None for _, _, _, e in evidence[name]])
            for name in names
        ],
        config,
    )
    pooled = []
    for name, row in zip(names, verdicts, strict=True):
        table = tables[name]
        finished = []
        for (category, observed, n_events, found), verdict in zip(evidence[name], row, strict=True):
            finished.append(
                PooledGroup(
                    category=category,
                    count=observed,
                    expected_count=found.expected_count,
                    ratio=found.ratio,
                    ratio_ci_low=verdict.ratio_ci_low,
                    ratio_ci_high=verdict.ratio_ci_high,
                    p_value=verdict.p_value,
                    p_value_adjusted=verdict.p_value_adjusted,
                    status=verdict.status,
                    n_events=n_events,
                    ratio_ci_level=verdict.ratio_ci_level,
                    dispersion=found.dispersion,
                    in_family=verdict.in_family,
                )
            )
        pooled.append(
            PooledCharacteristic(
                name, table["events"], table["known"], table["unknown"], tuple(finished)
            )
        )
    return tuple(pooled)


def reevaluate(event: StoredEvent, config: AuditConfig) -> StoredEvent:
    """A stored event judged again from its counts under the current method.

    Category names are put in canonical form (``vocab.canonical_category``)
    first, so events stored by earlier versions pool with today's. Ratios and
    statuses are recomputed exactly as an audit with ``config`` computes them.
    """
    characteristics = [_canonical(c) for c in event.characteristics]
    if _judged_alike(event, config):
        # Stored by this method with these settings: judging again would give the same.
        if all(a is b for a, b in zip(characteristics, event.characteristics, strict=True)):
            return event
        return replace(event, characteristics=tuple(characteristics))
    verdicts = judge(
        [
            Question(
                c.name,
                [
                    BinomialEvidence(g.count, c.n_known, g.population_share)
                    if c.n_known > 0 and g.population_share > 0
                    else None
                    for g in c.groups
                ],
            )
            for c in characteristics
        ],
        config,
        intervals=False,
    )
    return replace(
        event,
        characteristics=tuple(
            replace(
                c,
                groups=tuple(
                    replace(
                        g,
                        status=str(v.status),
                        ratio=(
                            g.count / c.n_known / g.population_share
                            if c.n_known > 0 and g.population_share > 0
                            else None
                        ),
                        expected_count=c.n_known * g.population_share,
                    )
                    for g, v in zip(c.groups, row, strict=True)
                ),
            )
            for c, row in zip(characteristics, verdicts, strict=True)
        ),
    )


def _canonical(characteristic: StoredCharacteristic) -> StoredCharacteristic:
    """The characteristic with canonical category names; itself when they already are."""
    names = [canonical_category(characteristic.name, g.category) for g in characteristic.groups]
    if all(name == g.category for name, g in zip(names, characteristic.groups, strict=True)):
        return characteristic
    return replace(
        characteristic,
        groups=tuple(
            g if name == g.category else replace(g, category=name)
            for name, g in zip(names, characteristic.groups, strict=True)
        ),
    )


def _judged_alike(event: StoredEvent, config: AuditConfig) -> bool:
    """Whether the stored statuses came from this method with these settings."""
    settings = event.settings
    if str(settings.get("method_version")) != METHOD_VERSION:
        return False
    current = config.to_dict()
    return all(settings.get(key) == value for key, value in current.items())


def stored_config(event: StoredEvent) -> AuditConfig:
    """The settings an event was audited with, as far as they are still valid.

    Only the confidence is taken of the two levels (alpha is now 1 − confidence).
    """
    settings = event.settings
    known = ("confidence", "correction", "under_threshold", "over_threshold", "min_expected")
    return AuditConfig(**{key: settings[key] for key in known if key in settings})


def changed_verdicts(event: StoredEvent, config: AuditConfig) -> list[tuple[str, str, str, str]]:
    """``(characteristic, category, stored status, current status)`` for each verdict that
    changes when the stored event is judged under the current method."""
    now = reevaluate(event, config)
    return [
        (c.name, new.category, old.status, new.status)
        for c, c_now in zip(event.characteristics, now.characteristics, strict=True)
        for old, new in zip(c.groups, c_now.groups, strict=True)
        if old.status != new.status
    ]


def persistence(rows: Iterable[tuple[str, str, Sequence[str]]]) -> list[Persistence]:
    """How often each group was missed, from its statuses at each event, oldest first.

    ``rows`` are ``(characteristic, category, statuses)``. The rule is the
    module docstring's.

    >>> statuses = ["under", "insufficient_data", "possible_under", "ok"]
    >>> [p] = persistence([("age", "16-24", statuses)])
    >>> p.n_missed, p.n_judged, p.longest_run, p.missed_again_and_again
    (2, 3, 2, True)
    """
    found = []
    for characteristic, category, statuses in rows:
        judged = [s for s in statuses if s not in NOT_JUDGED]
        missed = sum(s in MISSED for s in judged)
        longest = run = 0
        for status in judged:
            run = run + 1 if status in MISSED else 0
            longest = max(longest, run)
        found.append(
            Persistence(
                characteristic=characteristic,
                category=category,
                n_events=len(statuses),
                n_judged=len(judged),
                n_under=sum(s == "under" for s in statuses),
                n_possible_under=sum(s == "possible_under" for s in statuses),
                n_missed=missed,
                longest_run=longest,
                missed_again_and_again=missed >= 2 and 2 * missed >= len(judged),
                statuses=tuple(statuses),
            )
        )
    return found


def order_persistence(
    items: Iterable[Persistence], pooled: dict[tuple[str, str], Any]
) -> list[Persistence]:
    """Missed again and again first, then most often missed, longest run, firmest, lowest ratio.

    ``pooled`` gives each group's pooled figures (an object or dict with a ``ratio``).
    """

    def ratio(item: Persistence) -> float:
        figures = pooled.get((item.characteristic, item.category))
        value = _field(figures, "ratio") if figures is not None else None
        return math.inf if value is None else float(value)

    def key(item: Persistence) -> tuple[Any, ...]:
        return (
            not item.missed_again_and_again,
            -item.n_missed,
            -item.longest_run,
            -item.n_under,
            ratio(item),
            item.characteristic,
            item.category,
        )

    return sorted(items, key=key)


def status_rows(
    events: Iterable[Any], status_of: Callable[[Any], str]
) -> list[tuple[str, str, list[str]]]:
    """Each group's statuses across events (oldest first), in first-seen order.

    ``events`` are ``StoredEvent`` objects or their dict form; ``status_of``
    reads a group's status, so a shared report can count what it shows.
    """
    rows: dict[tuple[str, str], list[str]] = {}
    for event in events:
        for characteristic in _field(event, "characteristics"):
            for group in _field(characteristic, "groups"):
                key = (_field(characteristic, "name"), _field(group, "category"))
                rows.setdefault(key, []).append(status_of(group))
    return [(name, category, statuses) for (name, category), statuses in rows.items()]


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _event_order(event: StoredEvent) -> tuple[dt.date, str, int]:
    # Name before id, so two events on one day sort the same whichever was added first.
    return event.date, event.name, event.id


def _period_start(day: dt.date, by: str) -> dt.date:
    if by == "month":
        return day.replace(day=1)
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _period_end(start: dt.date, by: str) -> dt.date:
    months = 1 if by == "month" else 3
    year, month = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)
