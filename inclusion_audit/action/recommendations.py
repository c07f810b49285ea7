"""Recommendations: what to do next, one entry per action, ranked, each saying why.

An officer reading an audit needs a short, defensible list: which action first,
for whom, and on what evidence. Each recommendation is one action (from the
knowledge base, a route that reaches a group, or a local partner) with every
missed group it would serve, and its ``evidence`` says why in plain English:
the event condition or participants' reports behind the barrier, and how far
short the groups fell.

The event shapes the list: an action the event already took is never
recommended again (it is reported under "already offered" when its groups were
still missed), and an action that does not fit the event (a civic lottery for a
drop-in) is left out. Ranking (:func:`recommend`) uses only what a shared report
publishes, so the order is the same in the JSON and in every report and gives no
hidden count away.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from inclusion_audit.action.barriers import BarrierFinding
from inclusion_audit.action.conditions import condition_holds
from inclusion_audit.action.event import EventDetails
from inclusion_audit.action.knowledge import (
    MISSED,
    REACHED,
    Condition,
    KnowledgeBase,
    band_within,
    characteristic_family,
)
from inclusion_audit.action.knowledge_loader import load_knowledge_base
from inclusion_audit.action.wording import describe_group, join_words
from inclusion_audit.errors import InputError
from inclusion_audit.ingest.limits import too_large_to_read_whole
from inclusion_audit.reference import census
from inclusion_audit.result import (
    AuditResult,
    CharacteristicResult,
    GroupResult,
    OfferedResult,
    Status,
)
from inclusion_audit.result import RecommendationResult as Recommendation
from inclusion_audit.vocab.ages import parse_age_band
from inclusion_audit.vocab.folding import column_key, normalise

__all__ = [
    "LOCAL_PARTNER",
    "MAX_ACTIONS_PER_BARRIER",
    "MAX_BARRIERS_PER_GROUP",
    "Partner",
    "PartnersFileError",
    "Recommendation",
    "already_offered",
    "group_gap",
    "load_partners",
    "recommend",
    "what_worked",
]

LOCAL_PARTNER = "local_partner"
"""The ``barrier`` of a "Work with <partner>" recommendation (a route, not a barrier)."""
MAX_BARRIERS_PER_GROUP = 3
MAX_ACTIONS_PER_BARRIER = 2
_LATER_ACTION = 0.5
_PARTNER_FACTOR = 0.9
_FALLBACK_FACTOR = 0.5


@dataclass(frozen=True)
class Partner:
    """A local organisation, the groups it serves and how to contact it.

    ``serves`` holds (characteristic, category) pairs: an exact Census label, an
    age range such as ``16-24`` or ``65+``, or a high-level ethnic group (which
    also serves the detailed groups within it).
    """

    name: str
    serves: tuple[tuple[str, str], ...]
    contact: str | None = None

    def serves_group(self, characteristic: str, category: str) -> tuple[str, str] | None:
        """The entry of ``serves`` that covers this group, or None."""
        for pair in self.serves:
            if _covers(pair, characteristic, category):
                return pair
        return None


def _covers(pair: tuple[str, str], characteristic: str, category: str) -> bool:
    served_characteristic, served = pair
    if characteristic_family(served_characteristic) != characteristic_family(characteristic):
        return False
    if characteristic_family(characteristic) == "age":
        served_band, band = parse_age_band(served), parse_age_band(category)
        return served_band is not None and band is not None and band_within(band, served_band)
    a, b = normalise(served), normalise(category)
    # A high-level ethnic group serves its detailed groups, and the other way round.
    return a == b or a.startswith(f"{b}:") or b.startswith(f"{a}:")


# ---------------------------------------------------------------------------
# Recommending

_NAMED = ("under", "possible_under", "few_under")
"""Statuses a shared report shows as missed: a group with one of them may be named."""
_STATUS_WEIGHT = {"under": 1.0, "few_under": 0.75, "possible_under": 0.5}
_ROUTE_STRENGTH = 2.5
_UNKNOWN_FIT = 0.6
_BREADTH = 0.1
_GENERIC = 0.6


@dataclass(frozen=True)
class _Candidate:
    pair: tuple[str, str]
    key: tuple[str, str]
    barrier: str
    label: str
    action: str
    reasons: tuple[str, ...]
    gap: str
    source: str
    score: float
    specific: bool = True
    """The barrier or route names the group itself (not "every missed group")."""


@dataclass
class _Entry:
    key: tuple[str, str]
    barrier: str
    label: str
    action: str
    source: str
    order: int
    named: dict[tuple[str, str], float] = field(default_factory=dict)
    specific: set[tuple[str, str]] = field(default_factory=set)
    withheld: list[tuple[str, str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The best group's score, plus a tenth of each other group the action names itself."""
        if not self.named:
            return 0.0
        best = max(self.named, key=lambda pair: self.named[pair])
        others = sum(v for pair, v in self.named.items() if pair != best and pair in self.specific)
        return self.named[best] + _BREADTH * others


def recommend(
    result: AuditResult,
    barriers: Sequence[BarrierFinding],
    partners: Sequence[Partner] = (),
    *,
    event: EventDetails | None = None,
    hidden: frozenset[tuple[str, str]] = frozenset(),
    shown: Mapping[tuple[str, str], str] | None = None,
    area_shares: Mapping[str, Mapping[str, float]] | None = None,
    knowledge: KnowledgeBase | None = None,
) -> list[Recommendation]:
    """One entry per action, naming every missed group it serves, most useful first.

    For every under or possibly under group: the actions of its three strongest
    barriers that the event has not already taken (two each), the outreach routes
    the knowledge base gives for it (schools and youth services for under-18s,
    offline routes for older residents, …), local partners who serve it, and
    when nothing else applies the fallback actions. An action whose ``fits``
    condition is false for the event (a civic lottery for a drop-in) is left
    out; one whose fit is not known is ranked lower. The same action for several
    groups is one entry.

    Ranking uses only figures a shared report publishes, so the order is the
    same in the JSON and in every report and gives nothing away: per group, the
    status the report shows (``shown``: under 1, "under, very few took part"
    0.75, possibly under 0.5), a band of its ratio when its figures are shown
    (below 0.5: 1.5; below the threshold: 1; else 0.75; 1 when withheld), the
    barrier's strength from published evidence (``rank_strength``), how directly
    the barrier or route names the group (0.6 for a barrier that speaks for every
    missed group), and 0.5 for each later action of a barrier. An entry scores
    its best group plus a tenth of each other group it names itself, and each
    pick is damped by the picks already made for its barrier (see
    :func:`_rank`). Groups
    whose status a shared report withholds are never ranked on: they are listed
    in ``withheld_groups`` (for the JSON), and entries that serve only them come
    last. ``hidden`` groups' figures are left out of the text.
    """
    knowledge = knowledge or load_knowledge_base()
    census_words = "census share" if result.reference.startswith("Census") else "population share"
    threshold = float(result.settings.get("under_threshold", 0.8))
    entries: dict[tuple[str, str], _Entry] = {}
    # Groups whose status a shared report withholds are never named in a reason either
    # ("White residents were over-represented" would give the status away).
    secrets = tuple(
        describe_group(*pair).casefold()
        for pair, status in (shown or {}).items()
        if status == "withheld"
    )
    for characteristic, group in _missed(result):
        pair = (characteristic.name, group.category)
        status = (shown or {}).get(pair, group.status.value)
        gap = group_gap(result, characteristic, group, hidden=pair in hidden, share=census_words)
        weight = _group_weight(group, status, pair in hidden, threshold)
        found = _for_group(pair, gap, weight, barriers, event, result, area_shares, knowledge)
        # A route guarantees a way to reach the group; it adds nothing where a barrier
        # already gives the group that action (and so never outranks the evidence).
        given = {c.key for c in found}
        found += [
            c
            for c in _routes(pair, gap, weight, event, result, area_shares, knowledge)
            if c.key not in given
        ]
        if not found:
            found = _fallback(pair, gap, weight, knowledge)
        best = max(c.score for c in found)
        found += _partners(pair, gap, best, partners, knowledge)
        for candidate in _best_per_key(found):
            candidate = _without_secrets(candidate, secrets)
            entry = entries.setdefault(
                candidate.key,
                _Entry(
                    candidate.key,
                    candidate.barrier,
                    candidate.label,
                    candidate.action,
                    candidate.source,
                    order=len(entries),
                ),
            )
            if status in _NAMED:
                entry.named[pair] = max(entry.named.get(pair, 0.0), candidate.score)
                if candidate.specific:
                    entry.specific.add(pair)
                entry.gaps.append(candidate.gap)
                entry.reasons.extend(r for r in candidate.reasons if r not in entry.reasons)
            elif pair not in entry.withheld:
                entry.withheld.append(pair)
    return [
        _recommendation(entry, priority) for priority, entry in enumerate(_rank(entries), start=1)
    ]


def _rank(entries: dict[tuple[str, str], _Entry]) -> list[_Entry]:
    """Best first, each pick damped by the picks already made for the same barrier.

    ``score / (1 + n)`` with n the entries of its barrier already ranked, so that
    the first few are different kinds of action (interpreters, then timing, then
    childcare) rather than every language action in a row. Entries that serve
    only withheld groups come last, so the order of the rest is the one a shared
    report shows.
    """
    waiting = [e for e in entries.values() if e.named]
    ordered: list[_Entry] = []
    per_barrier: Counter[str] = Counter()
    while waiting:
        best = max(waiting, key=lambda e: (e.score / (1 + per_barrier[e.barrier]), -e.order))
        waiting.remove(best)
        per_barrier[best.barrier] += 1
        ordered.append(best)
    return ordered + [e for e in entries.values() if not e.named]


def _recommendation(entry: _Entry, priority: int) -> Recommendation:
    groups = (*entry.named, *entry.withheld)
    if entry.named:
        gaps = entry.gaps[:4]
        more = len(entry.gaps) - len(gaps)
        if more:
            gaps.append(f"{more} more group{'s' if more != 1 else ''} it serves")
        evidence = _because(entry.label, entry.reasons[:3], join_words(gaps))
    else:
        evidence = f"{entry.label}: for groups whose figures are withheld in shared reports"
    return Recommendation(
        characteristic=groups[0][0],
        category=groups[0][1],
        barrier=entry.barrier,
        action=entry.action,
        evidence=evidence,
        priority=priority,
        source=entry.source,
        groups=tuple(entry.named),
        withheld_groups=tuple(entry.withheld),
        label=entry.label,
    )


def _missed(result: AuditResult) -> list[tuple[CharacteristicResult, GroupResult]]:
    return [(c, g) for c in result.characteristics for g in c.groups if g.status in MISSED]


def _group_weight(group: GroupResult, status: str, hidden: bool, threshold: float) -> float:
    """A group's weight in the ranking, from published figures only (see :func:`recommend`)."""
    weight = _STATUS_WEIGHT.get(status, _STATUS_WEIGHT["possible_under"])
    if hidden or group.ratio is None or status not in ("under", "possible_under"):
        return weight
    band = 1.5 if group.ratio < 0.5 else 1.0 if group.ratio < threshold else 0.75
    return weight * band


def _fit(
    condition: Condition | None,
    event: EventDetails | None,
    result: AuditResult,
    area_shares: Mapping[str, Mapping[str, float]] | None,
) -> float:
    """1 when an action fits the event, ``_UNKNOWN_FIT`` when not known, 0 when it does not."""
    if condition is None:
        return 1.0
    holds = condition_holds(condition, event, result, area_shares)
    return 1.0 if holds else _UNKNOWN_FIT if holds is None else 0.0


def _for_group(
    pair: tuple[str, str],
    gap: str,
    weight: float,
    findings: Sequence[BarrierFinding],
    event: EventDetails | None,
    result: AuditResult,
    area_shares: Mapping[str, Mapping[str, float]] | None,
    knowledge: KnowledgeBase,
) -> list[_Candidate]:
    ranked: list[tuple[float, int, BarrierFinding]] = []
    for order, finding in enumerate(findings):
        if pair not in finding.groups or not finding.actions:
            continue
        try:
            link = knowledge.barrier(finding.barrier).group_weight(*pair) or 1.0
        except KeyError:
            continue
        ranked.append((finding.rank_strength * link, order, finding))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    found = []
    for strength, _, finding in ranked[:MAX_BARRIERS_PER_GROUP]:
        barrier = knowledge.barrier(finding.barrier)
        specific = barrier.names_group(*pair)
        # A barrier that speaks for every missed group (self-selection) ranks after
        # those that name this one: generic advice should not lead the list.
        generic = 1.0 if specific else _GENERIC
        actions = [barrier.action(a) for a in finding.actions]
        fitting = [(a, f) for a in actions if (f := _fit(a.fits, event, result, area_shares))]
        for index, (action, fit) in enumerate(fitting[:MAX_ACTIONS_PER_BARRIER]):
            found.append(
                _Candidate(
                    pair,
                    key=(barrier.id, action.id),
                    barrier=barrier.id,
                    label=action.label,
                    action=action.text,
                    reasons=tuple(finding.why[:2]),
                    gap=gap,
                    source=knowledge.citations(action.sources),
                    score=strength * weight * fit * _LATER_ACTION**index * generic,
                    specific=specific,
                )
            )
    return found


def _routes(
    pair: tuple[str, str],
    gap: str,
    weight: float,
    event: EventDetails | None,
    result: AuditResult,
    area_shares: Mapping[str, Mapping[str, float]] | None,
    knowledge: KnowledgeBase,
) -> list[_Candidate]:
    found = []
    who = describe_group(*pair)
    for route in knowledge.routes:
        link = route.weight(*pair)
        if link is None:
            continue
        action = route.action
        if action.done_if is not None and condition_holds(action.done_if, event, result):
            continue
        fit = _fit(route.fits, event, result, area_shares) * _fit(
            action.fits, event, result, area_shares
        )
        if not fit:
            continue
        found.append(
            _Candidate(
                pair,
                key=route.key,
                barrier=route.uses[0] if route.uses else "route",
                label=action.label,
                action=action.text,
                reasons=(f"a route that reaches {who} where they already are",),
                gap=gap,
                source=knowledge.citations(action.sources),
                score=_ROUTE_STRENGTH * link * weight * fit,
            )
        )
    return found


def _fallback(
    pair: tuple[str, str], gap: str, weight: float, knowledge: KnowledgeBase
) -> list[_Candidate]:
    found = []
    for index, (barrier_id, action_id) in enumerate(knowledge.fallback):
        action = knowledge.barrier(barrier_id).action(action_id)
        found.append(
            _Candidate(
                pair,
                key=(barrier_id, action_id),
                barrier=barrier_id,
                label=action.label,
                action=action.text,
                reasons=("no specific barrier stands out for this group",),
                gap=gap,
                source=knowledge.citations(action.sources),
                score=weight * _FALLBACK_FACTOR * _LATER_ACTION**index,
                specific=False,
            )
        )
    return found


def _partners(
    pair: tuple[str, str],
    gap: str,
    best: float,
    partners: Sequence[Partner],
    knowledge: KnowledgeBase,
) -> list[_Candidate]:
    found = []
    source = "local partners file; " + knowledge.citations(
        knowledge.barrier("distrust").action("trusted_intermediaries").sources
    )
    for partner in partners:
        served = partner.serves_group(*pair)
        if served is None:
            continue
        contact = f" ({partner.contact})" if partner.contact else ""
        found.append(
            _Candidate(
                pair,
                key=(LOCAL_PARTNER, partner.name),
                barrier=LOCAL_PARTNER,
                label=f"local partner {partner.name}",
                action=f"Work with {partner.name}{contact}",
                reasons=(f"{partner.name} works with {describe_group(*served)}",),
                gap=gap,
                source=source,
                score=best * _PARTNER_FACTOR,
            )
        )
    return found


def _without_secrets(candidate: _Candidate, secrets: tuple[str, ...]) -> _Candidate:
    """The candidate with every reason that names a withheld group left out."""
    if not secrets:
        return candidate
    kept = tuple(r for r in candidate.reasons if not any(s in r.casefold() for s in secrets))
    return candidate if kept == candidate.reasons else replace(candidate, reasons=kept)


def _best_per_key(candidates: list[_Candidate]) -> list[_Candidate]:
    """A group's candidates, one per action (its strongest reason), in first-seen order."""
    best: dict[tuple[str, str], _Candidate] = {}
    for candidate in candidates:
        if candidate.key not in best or candidate.score > best[candidate.key].score:
            best[candidate.key] = candidate
    return list(best.values())


def _because(label: str, reasons: Sequence[str], gap: str) -> str:
    """ "label: reason and gap", or "label: reason; reason; and gap"."""
    if len(reasons) > 1:
        return f"{label}: {'; '.join(reasons)}; and {gap}"
    return f"{label}: {' and '.join([*reasons, gap])}"


def already_offered(
    result: AuditResult,
    findings: Sequence[BarrierFinding],
    *,
    shown: Mapping[tuple[str, str], str] | None = None,
    knowledge: KnowledgeBase | None = None,
) -> list[OfferedResult]:
    """What the event already did against a barrier whose groups were still missed.

    "interpreters (Bengali) were offered, and Bangladeshi people were still
    under-represented": the measure is evidence, never recommended again, and the
    recommendations look at the barriers it does not address. Only groups the
    barrier names itself, and whose missed status a shared report shows.
    """
    knowledge = knowledge or load_knowledge_base()
    notes = []
    for finding in findings:
        if not finding.offered:
            continue
        try:
            barrier = knowledge.barrier(finding.barrier)
        except KeyError:
            continue
        groups = tuple(
            pair
            for pair in finding.groups
            if barrier.names_group(*pair) and (shown is None or shown.get(pair, "under") in _NAMED)
        )
        if not groups:
            continue
        who = join_words([describe_group(*pair) for pair in groups[:4]])
        more = f" and {len(groups) - 4} more groups" if len(groups) > 4 else ""
        text = (
            f"{join_words(list(finding.offered))}, and yet {who}{more} were still "
            "under-represented, so the actions suggested look beyond it"
        )
        notes.append(OfferedResult(finding.barrier, finding.title, finding.offered, groups, text))
    return notes


def group_gap(
    result: AuditResult,
    characteristic: CharacteristicResult,
    group: GroupResult,
    *,
    hidden: bool = False,
    share: str = "census share",
) -> str:
    """How far short a missed group fell, as a clause.

    "people aged 25-34 were 40% of their census share (32 more needed to reach 80%
    of it)". ``hidden``: the group's figures are withheld, so none are given.
    """
    who = describe_group(characteristic.name, group.category)
    if hidden:
        return f"{who} were under-represented (figures withheld to protect small counts)"
    unsure = "; too few took part to be sure" if group.status is Status.POSSIBLE_UNDER else ""
    if group.count == 0:
        return f"no {who} took part, though they are {group.population_share:.0%} of the population"
    if group.ratio is None:
        return f"{who} were under-represented{unsure}"
    threshold = float(result.settings.get("under_threshold", 0.8))
    needed = group.shortfall
    people = "person" if needed == 1 else "people"
    more = f"{needed} more {people} needed to reach {threshold:.0%} of it"
    return f"{who} were {group.ratio:.0%} of their {share} ({more}{unsure})"


# ---------------------------------------------------------------------------
# What worked


def what_worked(
    result: AuditResult,
    event: EventDetails | None,
    *,
    hidden: frozenset[tuple[str, str]] = frozenset(),
    knowledge: KnowledgeBase | None = None,
) -> list[str]:
    """Sentences on groups reached well and what about the event may explain it.

    A group counts when its status is ok, possibly over or over with a ratio of
    at least 1, and some barrier in the knowledge base names it (reaching a
    group that is usually missed is worth saying; reaching the usual
    participants is not). The explanation is the measures the event took
    against those barriers (a daytime start, a step-free venue). The ``hidden``
    groups (withheld by disclosure control) are left out. Best-reached first.
    """
    knowledge = knowledge or load_knowledge_base()
    share = "census share" if result.reference.startswith("Census") else "population share"
    reached: list[tuple[float, int, str]] = []
    for characteristic in result.characteristics:
        for group in characteristic.groups:
            pair = (characteristic.name, group.category)
            if (
                group.status not in REACHED
                or group.ratio is None
                or group.ratio < 1
                or pair in hidden
            ):
                continue
            named = [b for b in knowledge.barriers if b.names_group(*pair)]
            if not named:
                continue
            helped = unique(
                clause.helped
                for barrier in named
                for clause in barrier.mitigations
                if clause.helped and condition_holds(clause.when, event, result)
            )
            who = describe_group(*pair)
            sentence = (
                f"{who[:1].upper()}{who[1:]} were reached well ({group.ratio:.1f}× their {share})"
            )
            if helped:
                sentence += f"; {join_words(helped[:3])} may have helped"
            reached.append((-group.ratio, len(reached), sentence + "."))
    return [sentence for *_, sentence in sorted(reached)]


def unique(items: Iterable[str | None]) -> list[str]:
    return [item for item in dict.fromkeys(items) if item]


# ---------------------------------------------------------------------------
# Partners file


class PartnersFileError(InputError):
    """A partners file cannot be read, or a row in it is wrong."""


_NAME_COLUMNS = ("name", "organisation", "organization", "partner")
_SERVES_COLUMNS = ("serves", "groups_served", "groups", "serves_groups", "groups_they_serve")
_CONTACT_COLUMNS = ("contact", "contact_route", "contact_details", "how_to_contact")
_URL = re.compile(r"^(https?://|www\.)\S+\.\S+$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s()\-]+$")
FORMAT_HINT = (
    "a CSV with columns name, serves and contact, where serves lists groups as "
    "characteristic:category separated by ';', e.g. "
    '"age:16-24; ethnic_group_broad:Black, Black British, Black Welsh, Caribbean or African"'
)


def load_partners(path: str | Path) -> list[Partner]:
    """Read local partners from a CSV: ``name``, ``serves``, ``contact``.

    ``serves`` lists ``characteristic:category`` entries separated by ``;``: an
    exact Census label (``sex:Female``), an age range (``age:16-24``, ``age:65+``)
    or a high-level ethnic group, which also serves the detailed groups within it.
    ``contact`` (optional) is the organisation's web address, email address or
    phone number. Other columns are ignored. The file is UTF-8 (with or without
    a BOM) and comma-separated.

    Raises:
        PartnersFileError: naming the line, column, value and fix.
    """
    path = Path(path)
    if (too_large := too_large_to_read_whole(path)) is not None:
        raise PartnersFileError(f"partners file {path}: {too_large}.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PartnersFileError(f"partners file {path} does not exist: check the path.") from None
    except UnicodeDecodeError:
        raise PartnersFileError(
            f"partners file {path} is not UTF-8 text: save it as CSV UTF-8."
        ) from None
    except OSError as error:
        raise PartnersFileError(
            f"partners file {path} cannot be read ({error.strerror})."
        ) from None
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as error:
        raise PartnersFileError(
            f"partners file {path}, line {reader.line_num}: {error}. Check the quotes on that "
            "line are closed, and that each field is a short text (a name, the groups served, "
            "a contact)."
        ) from None
    if not rows:
        raise PartnersFileError(f"partners file {path} is empty: write {FORMAT_HINT}.")
    header = [column_key(h) for h in rows[0]]
    name_at = _column(header, _NAME_COLUMNS)
    serves_at = _column(header, _SERVES_COLUMNS)
    contact_at = _column(header, _CONTACT_COLUMNS)
    if name_at is None or serves_at is None:
        missing = "name" if name_at is None else "serves"
        raise PartnersFileError(
            f"partners file {path} has no {missing!r} column (line 1: "
            f"{', '.join(rows[0]) or 'empty'}). Write {FORMAT_HINT}."
        )
    labels = _known_labels()
    partners: list[Partner] = []
    first_line: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = _Cells(path, line, rows[0], row)
        name = cell.get(name_at)
        if not name:
            raise cell.fail(name_at, name, "is empty", "Give the organisation's name.")
        if name.casefold() in first_line:
            raise cell.fail(
                name_at,
                name,
                f"is listed already on line {first_line[name.casefold()]}",
                "Merge the two rows into one.",
            )
        first_line[name.casefold()] = line
        serves = tuple(_parse_serves(cell, serves_at, labels))
        contact = cell.get(contact_at) if contact_at is not None else ""
        if contact and not _is_contact(contact):
            raise cell.fail(
                contact_at,
                contact,
                "is not a web address, email address or phone number",
                "Give the organisation's website (https://…), email or phone, or leave it empty.",
            )
        partners.append(Partner(name, serves, contact or None))
    if not partners:
        raise PartnersFileError(f"partners file {path} lists no partners: write {FORMAT_HINT}.")
    return partners


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((i for i, h in enumerate(header) if h in names), None)


class _Cells:
    """One row of the partners file, for reading cells and naming them in errors."""

    def __init__(self, path: Path, line: int, header: list[str], row: list[str]) -> None:
        self.path, self.line, self.header, self.row = path, line, header, row

    def get(self, index: int | None) -> str:
        if index is None or index >= len(self.row):
            return ""
        return self.row[index].strip()

    def fail(self, index: int | None, value: str, problem: str, fix: str) -> PartnersFileError:
        column = self.header[index] if index is not None else "?"
        return PartnersFileError(
            f"partners file {self.path}, line {self.line}, column {column!r}: "
            f"{value!r} {problem}. {fix}"
        )


def _parse_serves(
    cell: _Cells, index: int, labels: dict[str, dict[str, str]]
) -> Iterable[tuple[str, str]]:
    text = cell.get(index)
    entries = [e.strip() for e in text.split(";") if e.strip()]
    if not entries:
        raise cell.fail(index, text, "lists no groups", f"Write {FORMAT_HINT}.")
    for entry in entries:
        characteristic, colon, category = (part.strip() for part in entry.partition(":"))
        key = column_key(characteristic)
        if not colon or not category:
            raise cell.fail(index, entry, "is not characteristic:category", f"Write {FORMAT_HINT}.")
        if key not in labels:
            raise cell.fail(
                index,
                entry,
                f"names an unknown characteristic {characteristic!r}",
                f"Use one of: {', '.join(labels)}.",
            )
        if key == "age":
            band = parse_age_band(category)
            if band is None:
                raise cell.fail(
                    index, entry, "is not an age range", "Write ages like age:16-24 or age:65+."
                )
            yield key, category
            continue
        found = labels[key].get(normalise(category))
        if found is None:
            close = difflib.get_close_matches(category, list(labels[key].values()), n=2)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise cell.fail(
                index,
                entry,
                f"is not a {key} category",
                f"Use the exact Census label.{hint}",
            )
        yield key, found


def _known_labels() -> dict[str, dict[str, str]]:
    """Census characteristic → folded label → exact label, from the reference data."""
    labels: dict[str, dict[str, str]] = {}
    for name, spec in census.reference_manifest()["characteristics"].items():
        categories = list(spec.get("categories", []))
        for variant in spec.get("variants", []):
            categories.extend(variant["categories"])
        labels[name] = {normalise(c): c for c in categories}
    return labels


def _is_contact(text: str) -> bool:
    if _URL.match(text) or _EMAIL.match(text):
        return True
    return bool(_PHONE.match(text)) and sum(ch.isdigit() for ch in text) >= 7
