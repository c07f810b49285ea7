"""Recommendations: what to do next for each missed group, ranked, each saying why.

An officer reading an audit needs a short, defensible list: which action first,
for whom, and on what evidence. Each recommendation joins one under-represented
group to an action from the knowledge base for one of its likely barriers (see
:mod:`inclusion_audit.action.barriers`), and its ``evidence`` says why in plain English:
the event condition or participants' reports behind the barrier, and how far
short the group fell.

Ranking, for a group g, a barrier finding f and its k-th action (k = 0, 1)::

    score = f.strength × w(f, g) × (g.shortfall + 1) × (1 + g.population_share)
            × s(g) × 0.5^k

where w is how directly the knowledge base links the barrier to the group (1
named, 0.75 a large part, 0.5 some or a proxy), s is 1 for ``under`` and 0.5
for ``possible_under`` (too few people to be sure), the shortfall is in people
and the population share is the share of the area the group makes up. Each
group takes its three strongest barriers and up to two actions from each that
the event has not already taken. The list is then ordered greedily by score,
an action already ranked for another group counting ``1 / (1 + times ranked)``
as much and a group already given n recommendations ``1 / (1 + n/2)`` as much,
so that the first few recommendations cover different actions and groups
rather than one action for every age band. Priorities run 1..n; ties keep the order of
the result's characteristics and groups, so the output is deterministic.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inclusion_audit.action.barriers import BarrierFinding
from inclusion_audit.action.conditions import condition_holds
from inclusion_audit.action.event import EventDetails
from inclusion_audit.action.knowledge import (
    MISSED,
    REACHED,
    KnowledgeBase,
    band_within,
    characteristic_family,
)
from inclusion_audit.action.knowledge_loader import load_knowledge_base
from inclusion_audit.action.wording import describe_group, join_words
from inclusion_audit.errors import InputError
from inclusion_audit.ingest.limits import too_large_to_read_whole
from inclusion_audit.reference import census
from inclusion_audit.result import AuditResult, CharacteristicResult, GroupResult, Status
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
_STATUS_FACTOR = {Status.UNDER: 1.0, Status.POSSIBLE_UNDER: 0.5}
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


@dataclass(frozen=True)
class _Candidate:
    characteristic: str
    category: str
    barrier: str
    action: str
    evidence: str
    source: str
    score: float
    key: tuple[str, str]


def recommend(
    result: AuditResult,
    barriers: Sequence[BarrierFinding],
    partners: Sequence[Partner] = (),
    *,
    hidden: frozenset[tuple[str, str]] = frozenset(),
    knowledge: KnowledgeBase | None = None,
) -> list[Recommendation]:
    """Ranked actions for every under or possibly under group (see the module docstring).

    Every group with status ``under`` gets at least one recommendation: when no
    finding gives it an action, the knowledge base's fallback actions (targeted
    outreach through trusted community organisations, booster invitations) with
    their sources. Figures of the ``hidden`` groups (those disclosure control
    withholds in the report: :func:`inclusion_audit.report.disclosure.hidden_groups`)
    are left out of the text; the default hides nothing.
    """
    knowledge = knowledge or load_knowledge_base()
    census_words = "census share" if result.reference.startswith("Census") else "population share"
    candidates: list[_Candidate] = []
    for characteristic, group in _missed(result):
        pair = (characteristic.name, group.category)
        gap = group_gap(result, characteristic, group, hidden=pair in hidden, share=census_words)
        impact = (group.shortfall + 1) * (1 + group.population_share) * _STATUS_FACTOR[group.status]
        found = _for_group(pair, gap, impact, barriers, knowledge)
        if not found:
            found = _fallback(pair, gap, impact, knowledge)
        best = max((c.score for c in found), default=impact * _FALLBACK_FACTOR)
        for partner in partners:
            served = partner.serves_group(*pair)
            if served is None:
                continue
            contact = f" ({partner.contact})" if partner.contact else ""
            found.append(
                _Candidate(
                    *pair,
                    barrier=LOCAL_PARTNER,
                    action=f"Work with {partner.name}{contact}",
                    evidence=f"local partner: {partner.name} works with "
                    f"{describe_group(*served)}, and {gap}",
                    source="local partners file; "
                    + knowledge.citations(
                        knowledge.barrier("distrust").action("trusted_intermediaries").sources
                    ),
                    score=best * _PARTNER_FACTOR,
                    key=(LOCAL_PARTNER, partner.name),
                )
            )
        candidates.extend(found)
    return [
        Recommendation(
            c.characteristic, c.category, c.barrier, c.action, c.evidence, priority, c.source
        )
        for priority, c in enumerate(_rank(candidates), start=1)
    ]


def _missed(result: AuditResult) -> list[tuple[CharacteristicResult, GroupResult]]:
    return [(c, g) for c in result.characteristics for g in c.groups if g.status in MISSED]


def _for_group(
    pair: tuple[str, str],
    gap: str,
    impact: float,
    findings: Sequence[BarrierFinding],
    knowledge: KnowledgeBase,
) -> list[_Candidate]:
    ranked: list[tuple[float, int, BarrierFinding]] = []
    for order, finding in enumerate(findings):
        if pair not in finding.groups or not finding.actions:
            continue
        try:
            weight = knowledge.barrier(finding.barrier).group_weight(*pair) or 1.0
        except KeyError:
            continue
        ranked.append((finding.strength * weight, order, finding))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    found = []
    for strength, _, finding in ranked[:MAX_BARRIERS_PER_GROUP]:
        barrier = knowledge.barrier(finding.barrier)
        reasons = list(finding.why[:2])
        for index, action_id in enumerate(finding.actions[:MAX_ACTIONS_PER_BARRIER]):
            action = barrier.action(action_id)
            found.append(
                _Candidate(
                    *pair,
                    barrier=barrier.id,
                    action=action.text,
                    evidence=_because(action.label, reasons, gap),
                    source=knowledge.citations(action.sources),
                    score=strength * impact * _LATER_ACTION**index,
                    key=(barrier.id, action.id),
                )
            )
    return found


def _because(label: str, reasons: Sequence[str], gap: str) -> str:
    """ "label: reason and gap", or "label: reason; reason; and gap"."""
    if len(reasons) > 1:
        return f"{label}: {'; '.join(reasons)}; and {gap}"
    return f"{label}: {' and '.join([*reasons, gap])}"


def _fallback(
    pair: tuple[str, str], gap: str, impact: float, knowledge: KnowledgeBase
) -> list[_Candidate]:
    found = []
    for index, (barrier_id, action_id) in enumerate(knowledge.fallback):
        action = knowledge.barrier(barrier_id).action(action_id)
        found.append(
            _Candidate(
                *pair,
                barrier=barrier_id,
                action=action.text,
                evidence=f"{action.label}: no specific barrier stands out for this group, "
                f"and {gap}",
                source=knowledge.citations(action.sources),
                score=impact * _FALLBACK_FACTOR * _LATER_ACTION**index,
                key=(barrier_id, action_id),
            )
        )
    return found


def _rank(candidates: list[_Candidate]) -> list[_Candidate]:
    """Greedy order across groups, keeping each group's own order by score.

    Each group's recommendations queue strongest first. At each step the head of
    every queue competes on its score, damped when its action was already ranked
    for another group (``1 / (1 + times)``) and by the recommendations its group
    already has (``1 / (1 + n/2)``), so the top of the list covers different
    actions and groups while a group's first action stays its strongest.
    """
    queues: dict[tuple[str, str], list[tuple[int, _Candidate]]] = {}
    for order, candidate in enumerate(candidates):
        queues.setdefault((candidate.characteristic, candidate.category), []).append(
            (order, candidate)
        )
    for queue in queues.values():
        queue.sort(key=lambda item: (-item[1].score, item[0]))
    actions: Counter[tuple[str, str]] = Counter()
    taken: Counter[tuple[str, str]] = Counter()

    def damped(group: tuple[str, str]) -> tuple[float, int]:
        order, candidate = queues[group][0]
        factor = (1 + actions[candidate.key]) * (1 + taken[group] / 2)
        return candidate.score / factor, -order

    ordered = []
    while queues:
        group = max(queues, key=damped)
        _, best = queues[group].pop(0)
        if not queues[group]:
            del queues[group]
        actions[best.key] += 1
        taken[group] += 1
        ordered.append(best)
    return ordered


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
