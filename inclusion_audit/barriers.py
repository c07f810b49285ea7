"""Barrier analysis: why groups may have been missed, from the event and the evidence.

An audit says *who* was missed; officers also need *why*, with reasons they can
defend. The reasons come from three places, weighed together for each
under-represented group:

* the knowledge base (``reference_data/barriers.yaml``): the 22 barriers of the
  domain brief, the groups research links to each, and the sources;
* the event's details (:mod:`inclusion_audit.event`): a Wednesday 10:00 start,
  no crèche, an online-only survey make particular barriers likely. An unknown
  detail is neither evidence for nor against, and the finding says it is not
  known;
* what participants said nearly stopped them, or their access needs.

The knowledge base is data, not code: its conditions are small declarative
expressions this module interprets (three-valued, so "not known" stays
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

import datetime as dt
import hashlib
import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeAlias

from . import census
from .classifications import BROADER_CHARACTERISTIC
from .disclosure import DEFAULT_THRESHOLD
from .errors import ReferenceDataError
from .event import EVENT_TYPES, FORMATS, PAYMENT_KINDS, RECRUITMENT, EventDetails
from .folding import is_declined, normalise
from .harmonise import parse_age_band
from .result import AuditResult, CharacteristicResult, GroupResult, Status

__all__ = [
    "COMPILED_FILE",
    "KNOWLEDGE_BASE_FILE",
    "OTHER",
    "BarrierColumn",
    "BarrierFinding",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "analyse_barriers",
    "area_shares",
    "band_within",
    "characteristic_family",
    "compile_knowledge_base",
    "condition_holds",
    "count_reported_barriers",
    "describe_group",
    "join_words",
    "load_knowledge_base",
    "reported_barrier_answers",
    "reported_barrier_columns",
]

KNOWLEDGE_BASE_FILE = "barriers.yaml"
COMPILED_FILE = "barriers.json"
OTHER = "other"
"""Reported answers that name no barrier the knowledge base knows."""
MISSED = (Status.UNDER, Status.POSSIBLE_UNDER)
REACHED = (Status.OK, Status.POSSIBLE_OVER, Status.OVER)
OPEN_AGE_CAP = 90
"""An open age band such as 75+ counts as running to this age when matching ranges."""

_BASE_POINTS = 1.0
_REPORTED_SCALE, _REPORTED_CAP = 30.0, 3.0
_BREADTH_POINTS, _BREADTH_CAP = 0.25, 1.0
_FLOOR = 0.1


class KnowledgeBaseError(ReferenceDataError):
    """``barriers.yaml`` is missing or malformed (a bug in shipped data, not in input)."""


# ---------------------------------------------------------------------------
# The knowledge base, as typed objects


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


@dataclass(frozen=True)
class GroupSpec:
    """A group a barrier affects: exact labels, an age range, or every missed group."""

    characteristic: str | None
    categories: frozenset[str] = frozenset()
    ages: tuple[int, int | None] | None = None
    weight: float = 1.0

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
        if characteristic_family(self.characteristic) != characteristic_family(characteristic):
            return False
        if self.ages is not None:
            band = parse_age_band(category)
            return band is not None and band_within(band, self.ages)
        return _fold(category) in self.categories


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
                for leaf in _leaves(clause.when):
                    if isinstance(leaf, AreaShare):
                        found[leaf.characteristic] = None
        return tuple(found)


def _leaves(condition: Condition) -> Iterable[Condition]:
    if isinstance(condition, AllOf | AnyOf):
        for part in condition.parts:
            yield from _leaves(part)
    elif isinstance(condition, Not):
        yield from _leaves(condition.part)
    else:
        yield condition


# ---------------------------------------------------------------------------
# Loading and checking barriers.yaml


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read and check the knowledge base (default: ``barriers.yaml`` in the reference data).

    The default is looked for where the Census tables are
    (:func:`census.reference_data_dir`, so ``$INCLUSION_AUDIT_REFERENCE_DATA``
    applies), then in the shipped reference data: the file is curated rather than
    built, so a rebuilt Census directory without it still gets the shipped one.
    It is read once, from the ``barriers.json`` compiled beside it when that was
    compiled from the file as it is (:func:`compile_knowledge_base`).

    Raises:
        KnowledgeBaseError: the file is missing, is not YAML, or an entry is malformed
            (the message names the entry and what is wrong).
    """
    if path is None:
        return _default_knowledge_base(_default_path())
    return _read_knowledge_base(Path(path))


def _default_path() -> Path:
    package = Path(__file__).resolve().parent
    candidates = (
        census.reference_data_dir().resolve() / KNOWLEDGE_BASE_FILE,
        package / "_data" / "reference_data" / KNOWLEDGE_BASE_FILE,
        package.parent / "reference_data" / KNOWLEDGE_BASE_FILE,
    )
    return next((c for c in candidates if c.is_file()), candidates[0])


@lru_cache(maxsize=4)
def _default_knowledge_base(path: Path) -> KnowledgeBase:
    return _read_knowledge_base(path)


def _read_knowledge_base(path: Path) -> KnowledgeBase:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KnowledgeBaseError(
            f"The barrier knowledge base {path} is missing. Restore reference_data/"
            f"{KNOWLEDGE_BASE_FILE} from git (it is curated, not built)."
        ) from None
    compiled = _compiled_data(path, raw)
    data = compiled if compiled is not None else _yaml_data(path, raw)
    return _Parser(path).knowledge_base(data)


def _yaml_data(path: Path, raw: bytes) -> Any:
    # Deferred: with barriers.json beside the file an audit never needs PyYAML (8 ms).
    import yaml

    try:
        # libyaml's C loader reads the knowledge base about ten times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(raw.decode("utf-8"), Loader=loader)
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(
            f"The barrier knowledge base {path} is not valid YAML: {error}"
        ) from None


def _compiled_data(path: Path, raw: bytes) -> Any:
    """The YAML's data from the ``barriers.json`` beside it, if compiled from these bytes."""
    try:
        compiled = json.loads((path.parent / COMPILED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(compiled, dict) or compiled.get("source_sha256") != _sha256(raw):
        return None
    return compiled.get("data")


def compile_knowledge_base(path: str | Path, directory: Path) -> Path:
    """Write ``barriers.json`` into ``directory``: the YAML's data, read by JSON in 1 ms.

    Parsing the YAML takes an audit about 11 ms (and 8 ms to import PyYAML);
    ``scripts/build_reference_data.py`` compiles the shipped file. The JSON
    records the YAML's sha256, and is used only beside a YAML with that sha256,
    so editing the YAML without compiling it again changes nothing but speed.

    Raises:
        KnowledgeBaseError: the YAML would not load, or holds values (dates, say)
            that JSON would give back differently.
    """
    path = Path(path)
    raw = path.read_bytes()
    data = _yaml_data(path, raw)
    _Parser(path).knowledge_base(data)
    try:
        same = json.loads(json.dumps(data)) == data
    except (TypeError, ValueError):
        same = False
    if not same:
        raise KnowledgeBaseError(
            f"The barrier knowledge base {path} holds values JSON cannot carry: quote them."
        )
    compiled = {"source": path.name, "source_sha256": _sha256(raw), "data": data}
    target = directory / COMPILED_FILE
    target.write_text(json.dumps(compiled, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_TIME_TEXT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PLACEHOLDERS = frozenset(
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
_FIELDS: Mapping[str, tuple[str, str]] = {
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
_ENUMS: Mapping[str, tuple[str, ...]] = {
    "format": FORMATS,
    "event_type": EVENT_TYPES,
    "recruitment": RECRUITMENT,
    "payment_kind": PAYMENT_KINDS,
}
_OPS_FOR_KIND: Mapping[str, frozenset[str]] = {
    "bool": frozenset({"is"}),
    "time": frozenset({"between", "from", "before"}),
    "number": frozenset({"at_least", "below"}),
    "languages": frozenset({"empty"}),
    "date": frozenset(),
    **{kind: frozenset({"is", "in"}) for kind in _ENUMS},
}
_FIELD_OPS = frozenset({"is", "in", "empty", "between", "from", "before", "at_least", "below"})
_DATE_KEYS = frozenset({"weekday", "days", "months"})


class _Parser:
    """Builds typed objects from the YAML, raising with the entry's path on any fault."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source_ids: set[str] = set()

    def fail(self, where: str, problem: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(f"The barrier knowledge base {self.path}: {where}: {problem}")

    def mapping(
        self, value: Any, where: str, required: set[str], optional: set[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected keys {sorted(required)}, found {value!r}")
        missing = required - value.keys()
        if missing:
            raise self.fail(where, f"missing {', '.join(sorted(missing))}")
        extra = set(value) - required - optional
        if extra:
            raise self.fail(where, f"unknown key(s) {', '.join(sorted(map(str, extra)))}")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected text, found {value!r}")
        return value.strip()

    def texts(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, found {value!r}")
        return tuple(self.text(item, f"{where}[{i}]") for i, item in enumerate(value))

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(where, f"expected a number of at least 0, found {value!r}")
        return float(value)

    def ident(self, value: Any, where: str) -> str:
        text = self.text(value, where)
        if not _ID.match(text):
            raise self.fail(where, f"{text!r} is not a lower-case id such as 'childcare'")
        return text

    def source_refs(self, value: Any, where: str) -> tuple[str, ...]:
        refs = self.texts(value, where)
        if not refs:
            raise self.fail(where, "needs at least one source")
        for ref in refs:
            if ref not in self.source_ids:
                raise self.fail(where, f"source {ref!r} is not in `sources`")
        return refs

    def template(self, value: Any, where: str) -> str:
        text = self.text(value, where)
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as error:
            raise self.fail(where, f"bad placeholder in {text!r} ({error})") from None
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in _PLACEHOLDERS or spec or conversion:
                raise self.fail(
                    where,
                    f"placeholder {{{name}}} is not one of {', '.join(sorted(_PLACEHOLDERS))}",
                )
        return text

    # -- whole file

    def knowledge_base(self, data: Any) -> KnowledgeBase:
        top = self.mapping(
            data,
            "top level",
            {"version", "sources", "barriers", "reported_aliases", "no_barrier_answers"},
            {"fallback", "reported_questions", "free_text_questions"},
        )
        if top["version"] != 1:
            raise self.fail("version", f"expected 1, found {top['version']!r}")
        sources = self.sources(top["sources"])
        barriers = tuple(
            self.barrier(entry, f"barriers[{i}]") for i, entry in enumerate(_list(top["barriers"]))
        )
        ids = [b.id for b in barriers]
        if len(set(ids)) != len(ids):
            raise self.fail("barriers", "barrier ids must be unique")
        aliases = self.aliases(top["reported_aliases"], set(ids))
        no_barrier = frozenset(
            _answer_key(t) for t in self.texts(top["no_barrier_answers"], "no_barrier_answers")
        )
        answers: dict[str, str] = {}
        for owner, wordings in [
            *((b.id, (b.title, b.id, *b.reported_as)) for b in barriers),
            *((a.id, a.reported_as) for a in aliases),
        ]:
            for wording in wordings:
                key = _answer_key(wording)
                if answers.get(key, owner) != owner or key in no_barrier:
                    raise self.fail(
                        f"reported answer {wording!r}",
                        f"listed under both {answers.get(key, 'no_barrier_answers')!r} and "
                        f"{owner!r}: an answer must name one id",
                    )
                answers[key] = owner
        fallback = self.fallback(top.get("fallback", []), barriers)
        return KnowledgeBase(
            path=self.path,
            sources=sources,
            barriers=barriers,
            aliases=aliases,
            no_barrier_answers=no_barrier,
            reported_questions=tuple(
                _answer_key(t)
                for t in self.texts(top.get("reported_questions", []), "reported_questions")
            ),
            free_text_questions=tuple(
                _answer_key(t)
                for t in self.texts(top.get("free_text_questions", []), "free_text_questions")
            ),
            fallback=fallback,
            answers=answers,
        )

    def sources(self, value: Any) -> dict[str, Source]:
        if not isinstance(value, dict) or not value:
            raise self.fail("sources", "expected a mapping of source ids")
        found: dict[str, Source] = {}
        for key, entry in value.items():
            where = f"sources.{key}"
            ident = self.ident(key, where)
            item = self.mapping(entry, where, {"short", "citation", "url"}, {"note"})
            url = item["url"]
            if url is not None and not (isinstance(url, str) and url.startswith("http")):
                raise self.fail(f"{where}.url", f"expected an http(s) address or null: {url!r}")
            found[ident] = Source(
                ident,
                self.text(item["short"], f"{where}.short"),
                self.text(item["citation"], f"{where}.citation"),
                url,
                self.text(item["note"], f"{where}.note") if "note" in item else None,
            )
        self.source_ids = set(found)
        return found

    def barrier(self, value: Any, where: str) -> Barrier:
        item = self.mapping(
            value,
            where,
            {"id", "row", "title", "evidence", "evidence_sources", "sources", "groups", "actions"},
            {"applies", "likely", "mitigations", "reported_as", "reported_label"},
        )
        ident = self.ident(item["id"], f"{where}.id")
        where = f"{where} ({ident})"
        row = item["row"]
        if isinstance(row, bool) or not isinstance(row, int) or row < 1:
            raise self.fail(f"{where}.row", f"expected the domain brief's row number: {row!r}")
        title = self.text(item["title"], f"{where}.title")
        groups = tuple(
            self.group(g, f"{where}.groups[{i}]", allow_any=True)
            for i, g in enumerate(_list(item["groups"]))
        )
        if not groups:
            raise self.fail(f"{where}.groups", "needs at least one group")
        actions = tuple(
            self.action(a, f"{where}.actions[{i}]") for i, a in enumerate(_list(item["actions"]))
        )
        if not actions:
            raise self.fail(f"{where}.actions", "needs at least one action")
        if len({a.id for a in actions}) != len(actions):
            raise self.fail(f"{where}.actions", "action ids must be unique within a barrier")
        label = item.get("reported_label")
        return Barrier(
            id=ident,
            row=row,
            title=title,
            reported_label=self.text(label, f"{where}.reported_label")
            if label is not None
            else title[:1].lower() + title[1:],
            evidence=self.text(item["evidence"], f"{where}.evidence"),
            evidence_sources=self.source_refs(
                item["evidence_sources"], f"{where}.evidence_sources"
            ),
            sources=self.source_refs(item["sources"], f"{where}.sources"),
            groups=groups,
            applies=self.condition(item["applies"], f"{where}.applies")
            if "applies" in item
            else None,
            likely=tuple(
                self.clause(c, f"{where}.likely[{i}]", mitigation=False)
                for i, c in enumerate(_list(item.get("likely", [])))
            ),
            mitigations=tuple(
                self.clause(c, f"{where}.mitigations[{i}]", mitigation=True)
                for i, c in enumerate(_list(item.get("mitigations", [])))
            ),
            reported_as=self.texts(item.get("reported_as", []), f"{where}.reported_as"),
            actions=actions,
        )

    def group(self, value: Any, where: str, *, allow_any: bool) -> GroupSpec:
        item = self.mapping(
            value,
            where,
            set(),
            {"characteristic", "category", "categories", "ages", "any", "weight"},
        )
        weight = self.number(item.get("weight", 1.0), f"{where}.weight")
        if not 0 < weight <= 1:
            raise self.fail(f"{where}.weight", f"expected a weight above 0 and at most 1: {weight}")
        if item.get("any") is True:
            if not allow_any or len(item) != (2 if "weight" in item else 1):
                raise self.fail(where, "`any: true` stands alone (with an optional weight)")
            return GroupSpec(None, weight=weight)
        characteristic = self.ident(item.get("characteristic"), f"{where}.characteristic")
        given = [k for k in ("category", "categories", "ages") if k in item]
        if len(given) != 1:
            raise self.fail(where, "give exactly one of category, categories or ages")
        if "ages" in item:
            return GroupSpec(
                characteristic, ages=self.ages(item["ages"], f"{where}.ages"), weight=weight
            )
        labels = (
            (self.text(item["category"], f"{where}.category"),)
            if "category" in item
            else self.texts(item["categories"], f"{where}.categories")
        )
        if not labels:
            raise self.fail(f"{where}.categories", "needs at least one category")
        return GroupSpec(characteristic, frozenset(_fold(c) for c in labels), weight=weight)

    def ages(self, value: Any, where: str) -> tuple[int, int | None]:
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and not isinstance(value[0], bool)
            and (value[1] is None or (isinstance(value[1], int) and value[1] >= value[0]))
        ):
            return int(value[0]), None if value[1] is None else int(value[1])
        raise self.fail(where, f"expected [low, high] or [low, null] in years: {value!r}")

    def clause(self, value: Any, where: str, *, mitigation: bool) -> Clause:
        optional = {"weight", "groups"} | ({"helped"} if mitigation else set())
        required = {"when", "says"} | ({"helped"} if mitigation else set())
        item = self.mapping(value, where, required, optional)
        default = 1.0 if mitigation else 2.0
        return Clause(
            when=self.condition(item["when"], f"{where}.when"),
            says=self.template(item["says"], f"{where}.says"),
            weight=self.number(item.get("weight", default), f"{where}.weight"),
            groups=tuple(
                self.group(g, f"{where}.groups[{i}]", allow_any=False)
                for i, g in enumerate(_list(item.get("groups", [])))
            ),
            helped=self.text(item["helped"], f"{where}.helped") if mitigation else None,
        )

    def action(self, value: Any, where: str) -> Action:
        item = self.mapping(value, where, {"id", "label", "text", "sources"}, {"done_if"})
        return Action(
            id=self.ident(item["id"], f"{where}.id"),
            label=self.text(item["label"], f"{where}.label"),
            text=self.text(item["text"], f"{where}.text"),
            sources=self.source_refs(item["sources"], f"{where}.sources"),
            done_if=self.condition(item["done_if"], f"{where}.done_if")
            if "done_if" in item
            else None,
        )

    def aliases(self, value: Any, barrier_ids: set[str]) -> tuple[Alias, ...]:
        if not isinstance(value, dict):
            raise self.fail("reported_aliases", "expected a mapping of alias ids")
        found = []
        for key, entry in value.items():
            where = f"reported_aliases.{key}"
            ident = self.ident(key, where)
            if ident in barrier_ids or ident == OTHER:
                raise self.fail(where, "an alias id must differ from every barrier id and 'other'")
            item = self.mapping(entry, where, {"label", "barriers", "reported_as"}, set())
            targets = self.texts(item["barriers"], f"{where}.barriers")
            unknown = [t for t in targets if t not in barrier_ids]
            if unknown or not targets:
                raise self.fail(f"{where}.barriers", f"unknown barrier id(s) {unknown}")
            found.append(
                Alias(
                    ident,
                    self.text(item["label"], f"{where}.label"),
                    targets,
                    self.texts(item["reported_as"], f"{where}.reported_as"),
                )
            )
        return tuple(found)

    def fallback(self, value: Any, barriers: tuple[Barrier, ...]) -> tuple[tuple[str, str], ...]:
        found = []
        for i, entry in enumerate(_list(value)):
            where = f"fallback[{i}]"
            item = self.mapping(entry, where, {"barrier", "action"}, set())
            barrier = next((b for b in barriers if b.id == item["barrier"]), None)
            if barrier is None or item["action"] not in {a.id for a in barrier.actions}:
                raise self.fail(
                    where, f"no action {item['action']!r} in barrier {item['barrier']!r}"
                )
            found.append((barrier.id, str(item["action"])))
        return tuple(found)

    # -- conditions

    def condition(self, value: Any, where: str) -> Condition:
        if not isinstance(value, dict) or not value:
            raise self.fail(where, f"expected a condition, found {value!r}")
        for combinator in ("all", "any"):
            if combinator in value:
                if (
                    len(value) != 1
                    or not isinstance(value[combinator], list)
                    or not value[combinator]
                ):
                    raise self.fail(
                        where, f"`{combinator}` takes a non-empty list and stands alone"
                    )
                parts = tuple(
                    self.condition(p, f"{where}.{combinator}[{i}]")
                    for i, p in enumerate(value[combinator])
                )
                return AllOf(parts) if combinator == "all" else AnyOf(parts)
        if "not" in value:
            if len(value) != 1:
                raise self.fail(where, "`not` stands alone")
            return Not(self.condition(value["not"], f"{where}.not"))
        if "area_share" in value:
            item = self.mapping(
                value, where, {"area_share", "categories", "at_least"}, {"unknown_as"}
            )
            share = self.number(item["at_least"], f"{where}.at_least")
            if share > 1:
                raise self.fail(f"{where}.at_least", "a share is between 0 and 1")
            return AreaShare(
                self.ident(item["area_share"], f"{where}.area_share"),
                frozenset(_fold(c) for c in self.texts(item["categories"], f"{where}.categories")),
                share,
                self.text(
                    item.get("unknown_as", "the area's Census figures"), f"{where}.unknown_as"
                ),
            )
        if "over_represented" in value:
            item = self.mapping(value, where, {"over_represented"}, set())
            return OverRepresented(
                tuple(
                    self.group(g, f"{where}.over_represented[{i}]", allow_any=False)
                    for i, g in enumerate(_list(item["over_represented"]))
                )
            )
        return self.field_test(value, where)

    def field_test(self, value: dict[str, Any], where: str) -> FieldTest:
        unknown = set(value) - _FIELD_OPS - _DATE_KEYS - {"field", "overlaps"}
        if unknown:
            raise self.fail(
                where, f"unknown condition key(s) {', '.join(sorted(map(str, unknown)))}"
            )
        ops = [k for k in value if k in _FIELD_OPS or k == "overlaps"]
        name = value.get("field")
        op: str | None = None
        operand: Any = None
        if len(ops) > 1:
            raise self.fail(where, f"one test per condition, found {ops}")
        if ops == ["overlaps"]:
            if name is not None:
                raise self.fail(where, "`overlaps` reads the start and finishing times: no field")
            op, operand = "overlaps", self.window(value["overlaps"], f"{where}.overlaps")
        elif ops:
            op = ops[0]
            if not isinstance(name, str) or name not in _FIELDS:
                raise self.fail(
                    f"{where}.field", f"{name!r} is not an event field ({', '.join(_FIELDS)})"
                )
            kind = _FIELDS[name][0]
            if op not in _OPS_FOR_KIND[kind]:
                raise self.fail(where, f"`{op}` does not apply to {name} ({kind})")
            operand = self.operand(kind, op, value[op], f"{where}.{op}")
        elif name is not None:
            raise self.fail(where, f"field {name!r} has no test")
        date_tests = {k: value[k] for k in _DATE_KEYS if k in value}
        if op is None and not date_tests:
            raise self.fail(where, "empty condition")
        weekday = date_tests.get("weekday")
        if weekday is not None and not isinstance(weekday, bool):
            raise self.fail(f"{where}.weekday", "expected true or false")
        days = months = None
        if "days" in date_tests:
            names = [d.casefold() for d in self.texts(date_tests["days"], f"{where}.days")]
            if any(d not in _DAYS for d in names):
                raise self.fail(f"{where}.days", f"days are {', '.join(_DAYS)}: {names}")
            days = frozenset(_DAYS.index(d) for d in names)
        if "months" in date_tests:
            raw = date_tests["months"]
            if not isinstance(raw, list) or not all(
                isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in raw
            ):
                raise self.fail(f"{where}.months", f"expected month numbers 1 to 12: {raw!r}")
            months = frozenset(raw)
        return FieldTest(name, op, operand, weekday, days, months)

    def operand(self, kind: str, op: str, value: Any, where: str) -> Any:
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(where, f"expected true or false: {value!r}")
            return value
        if kind in _ENUMS:
            allowed = _ENUMS[kind]
            values = value if op == "in" else [value]
            if not isinstance(values, list) or not values or any(v not in allowed for v in values):
                raise self.fail(where, f"{value!r}: values are {', '.join(allowed)}")
            return frozenset(values) if op == "in" else value
        if kind == "time":
            if op == "between":
                return self.window(value, where)
            return self.clock(value, where)
        if kind == "number":
            return self.number(value, where)
        if not isinstance(value, bool):  # languages: empty
            raise self.fail(where, f"expected true or false: {value!r}")
        return value

    def clock(self, value: Any, where: str) -> dt.time:
        if isinstance(value, str) and (match := _TIME_TEXT.match(value)):
            return dt.time(int(match[1]), int(match[2]))
        raise self.fail(where, f'expected a quoted time "HH:MM": {value!r}')

    def window(self, value: Any, where: str) -> tuple[dt.time, dt.time]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(where, f'expected ["HH:MM", "HH:MM"]: {value!r}')
        low, high = self.clock(value[0], where), self.clock(value[1], where)
        if high <= low:
            raise self.fail(where, f"the window ends before it starts: {value!r}")
        return low, high


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise KnowledgeBaseError(f"The barrier knowledge base: expected a list, found {value!r}")
    return value


# ---------------------------------------------------------------------------
# Matching groups


_FAMILY = {broader: narrow for narrow, broader in BROADER_CHARACTERISTIC.items()}


def characteristic_family(characteristic: str) -> str:
    """Ethnic group, unpaid care and tenure share labels with their broader tables.

    >>> characteristic_family("ethnic_group_broad"), characteristic_family("age")
    ('ethnic_group', 'age')
    """
    return _FAMILY.get(characteristic, characteristic)


def _fold(label: str) -> str:
    return normalise(label)


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


# ---------------------------------------------------------------------------
# Evaluating conditions (three-valued: True, False, None = not known)


@dataclass(frozen=True)
class _Outcome:
    value: bool | None
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Context:
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
        folded = {_fold(k): float(v) for k, v in shares.items()}
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


def _evaluate(condition: Condition, context: _Context) -> _Outcome:
    if isinstance(condition, AllOf | AnyOf):
        decisive = isinstance(condition, AnyOf)  # one True decides any, one False decides all
        outcomes = [_evaluate(part, context) for part in condition.parts]
        if any(o.value is decisive for o in outcomes):
            return _Outcome(decisive)
        if any(o.value is None for o in outcomes):
            return _Outcome(None, _unique(u for o in outcomes for u in o.unknown))
        return _Outcome(not decisive)
    if isinstance(condition, Not):
        inner = _evaluate(condition.part, context)
        return _Outcome(None if inner.value is None else not inner.value, inner.unknown)
    if isinstance(condition, AreaShare):
        share = context.share(condition)
        if share is None:
            return _Outcome(None, (condition.unknown_as,))
        return _Outcome(share >= condition.at_least)
    if isinstance(condition, OverRepresented):
        over = context.over_groups(condition)
        if over is None:
            return _Outcome(None, ("whether the usual participants were over-represented",))
        return _Outcome(bool(over))
    return _field_test(condition, context)


def _field_test(test: FieldTest, context: _Context) -> _Outcome:
    parts: list[_Outcome] = []
    if test.op == "overlaps":
        parts.append(_overlaps(test.operand, context))
    elif test.op is not None and test.field is not None:
        value = context.field(test.field)
        if value is None:
            parts.append(_Outcome(None, (_FIELDS[test.field][1],)))
        else:
            parts.append(_Outcome(_compare(test.op, value, test.operand)))
    if test.weekday is not None or test.days is not None or test.months is not None:
        day: dt.date | None = context.field("date")
        if day is None:
            parts.append(_Outcome(None, ("the date",)))
        else:
            holds = True
            if test.weekday is not None:
                holds &= (day.weekday() < 5) is test.weekday
            if test.days is not None:
                holds &= day.weekday() in test.days
            if test.months is not None:
                holds &= day.month in test.months
            parts.append(_Outcome(holds))
    if any(p.value is False for p in parts):
        return _Outcome(False)
    if any(p.value is None for p in parts):
        return _Outcome(None, _unique(u for p in parts for u in p.unknown))
    return _Outcome(True)


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


def _overlaps(window: tuple[dt.time, dt.time], context: _Context) -> _Outcome:
    """Whether the event's span meets the window; a missing finish still decides when it can."""
    start: dt.time | None = context.field("start_time")
    end: dt.time | None = context.field("end_time")
    low, high = window
    if start is None:
        return _Outcome(None, ("the start time",))
    if start >= high:
        return _Outcome(False)
    if start >= low:
        return _Outcome(True)
    if end is None:
        return _Outcome(None, ("the finishing time",))
    return _Outcome(end > low)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def condition_holds(
    condition: Condition,
    event: EventDetails | None,
    result: AuditResult | None = None,
    area_shares: Mapping[str, Mapping[str, float]] | None = None,
) -> bool | None:
    """Whether a knowledge-base condition holds for an event: True, False or None (not known)."""
    return _evaluate(condition, _Context(event, area_shares, result)).value


# ---------------------------------------------------------------------------
# Words for event details and groups


_FORMAT_WORDS = {
    "in_person": "in person",
    "online": "online",
    "hybrid": "in person and online",
    "postal": "post",
    "phone": "phone",
}
_EVENT_TYPE_WORDS = {
    "consultation": "consultation",
    "citizens_assembly": "citizens' assembly",
    "participatory_budgeting": "participatory budgeting vote",
    "neighbourhood_forum": "neighbourhood forum",
    "workshop": "workshop",
    "drop_in": "drop-in",
    "online_survey": "online survey",
}
_RECRUITMENT_WORDS = {
    "open_invitation": "an open invitation",
    "targeted": "targeted invitations",
    "civic_lottery": "a civic lottery",
}
_PAYMENT_WORDS = {"none": "nothing", "voucher": "vouchers", "stipend": "a stipend"}
NOT_KNOWN = "not known"


def _event_words(event: EventDetails | None) -> dict[str, str]:
    """The values ``says`` templates may use, in words; unknown ones read "not known"."""
    words = dict.fromkeys(_PLACEHOLDERS, NOT_KNOWN)
    if event is None:
        return words
    if event.start_time is not None:
        words["start_time"] = event.start_time.strftime("%H:%M")
    if event.end_time is not None:
        words["end_time"] = event.end_time.strftime("%H:%M")
    if event.date is not None:
        words["weekday"] = event.date.strftime("%A")
        words["date"] = f"{event.date.day} {event.date.strftime('%B %Y')}"
        words["month"] = event.date.strftime("%B")
    if (minutes := event.duration_minutes) is not None:
        hours, rest = divmod(minutes, 60)
        parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
        parts += [f"{rest} minutes"] if rest else []
        words["duration"] = " ".join(parts) or "0 minutes"
    if event.format is not None:
        words["format"] = _FORMAT_WORDS[event.format]
    if event.event_type is not None:
        words["event_type"] = _EVENT_TYPE_WORDS[event.event_type]
    if event.recruitment is not None:
        words["recruitment"] = _RECRUITMENT_WORDS[event.recruitment]
    if event.payment is not None:
        if event.payment.kind is not None:
            words["payment_kind"] = _PAYMENT_WORDS[event.payment.kind]
        if event.payment.amount is not None:
            words["payment_amount"] = f"£{event.payment.amount:,.2f}".removesuffix(".00")
    if event.interpreters:
        words["interpreters"] = join_words(event.interpreters)
    if event.translated_materials:
        words["translated_materials"] = join_words(event.translated_materials)
    return words


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_SEX_WORDS = {"female": "women", "male": "men"}
_DISABILITY_WORDS = {
    "disabled under the equality act": "disabled people",
    "not disabled under the equality act": "people who are not disabled",
}
_ENGLISH_WORDS = {
    "main language is english (english or welsh in wales)": "people whose main language is English",
    "main language is not english (english or welsh in wales): can speak english very well": (
        "people who speak English very well as a second language"
    ),
    "main language is not english (english or welsh in wales): can speak english well": (
        "people who speak English well as a second language"
    ),
    "main language is not english (english or welsh in wales): cannot speak english well": (
        "people who cannot speak English well"
    ),
    "main language is not english (english or welsh in wales): cannot speak english": (
        "people who cannot speak English"
    ),
}
_ETHNIC_SPECIAL = {
    "white: english, welsh, scottish, northern irish or british": "White British residents",
    "mixed or multiple ethnic groups: other mixed or multiple ethnic groups": (
        "residents of other mixed or multiple ethnic groups"
    ),
    "other ethnic group: any other ethnic group": "residents of any other ethnic group",
    "other ethnic group": "residents of other ethnic groups",
    "mixed or multiple ethnic groups": "residents of mixed or multiple ethnic groups",
}
_RELIGION_WORDS = {
    "no religion": "people with no religion",
    "other religion": "people of other religions",
    "other religions": "people of other religions",
}


def describe_group(characteristic: str, category: str) -> str:
    """A group in plain English, for sentences: "people aged 25-34", "women".

    >>> describe_group("age", "75+"), describe_group("sex", "Female")
    ('people aged 75+', 'women')
    >>> describe_group("ethnic_group", "Asian, Asian British or Asian Welsh: Bangladeshi")
    'Bangladeshi residents'
    >>> describe_group("tenure", "Owned: Owns outright")
    'people in the tenure group "Owned: Owns outright"'
    """
    key = _fold(category)
    family = characteristic_family(characteristic)
    if family == "age":
        band = parse_age_band(category)
        if band is not None and band[0] == 0 and band[1] is not None:
            return f"people aged under {band[1] + 1}"
        return f"people aged {category.strip()}"
    if family == "sex" and key in _SEX_WORDS:
        return _SEX_WORDS[key]
    if family == "disability" and key in _DISABILITY_WORDS:
        return _DISABILITY_WORDS[key]
    if family == "english_proficiency" and key in _ENGLISH_WORDS:
        return _ENGLISH_WORDS[key]
    if family == "ethnic_group":
        if key in _ETHNIC_SPECIAL:
            return _ETHNIC_SPECIAL[key]
        return f"{category.split(': ', 1)[-1].strip()} residents"
    if family == "religion":
        return _RELIGION_WORDS.get(key, f"{category.strip()} residents")
    if family == "sexual_orientation":
        if key.startswith(("all other", "other")):
            return "residents of other sexual orientations"
        return f"{key} residents"
    if family == "gender_identity":
        if key in ("trans woman", "trans man"):
            return f"trans {'women' if key.endswith('woman') else 'men'}"
        if key.startswith("gender identity different"):
            return "people whose gender identity differs from their sex registered at birth"
        if key.startswith("gender identity the same"):
            return "people whose gender identity is the same as their sex registered at birth"
        return "people of other gender identities"
    if family == "unpaid_care" and key.startswith("provides "):
        return f"people who provide {key.removeprefix('provides ')}"
    name = characteristic.replace("_", " ")
    return f'people in the {name} group "{category.strip()}"'


# ---------------------------------------------------------------------------
# The analysis


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
    actions for it that the event has not already taken, in order.
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
    context = _Context(event, area_shares, result)
    words = _event_words(event)
    missed = [(c, g) for c in result.characteristics for g in c.groups if g.status in MISSED]
    findings: list[tuple[float, int, BarrierFinding]] = []
    for order, barrier in enumerate(knowledge.barriers):
        if barrier.applies is not None and _evaluate(barrier.applies, context).value is False:
            continue
        groups = [(c, g) for c, g in missed if barrier.group_weight(c.name, g.category) is not None]
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
    context: _Context,
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
        outcome = _evaluate(clause.when, context)
        if outcome.value:
            likely.append(_say(clause, context, words))
            points += clause.weight
        elif outcome.value is None:
            unknown.extend(outcome.unknown)
    reports = [
        f"{_people(n, suppress_below)} named {label} among their barriers" for label, n in counts
    ]
    total = sum(n for _, n in counts)
    if result.n_participants:
        points += min(_REPORTED_CAP, _REPORTED_SCALE * total / result.n_participants)
    named_under = sum(
        1 for c, g in groups if g.status is Status.UNDER and barrier.names_group(c.name, g.category)
    )
    points += min(_BREADTH_CAP, _BREADTH_POINTS * max(0, named_under - 1))
    against = []
    for clause in barrier.mitigations:
        if _evaluate(clause.when, context).value:
            against.append(f"{_say(clause, context, words)}, which makes this less likely")
            points -= clause.weight
    known_evidence = f"{barrier.evidence} ({knowledge.shorts(barrier.evidence_sources)})"
    missing = _unique(unknown)
    verb = "is" if len(missing) == 1 else "are"
    not_known = [f"{join_words(missing)} {verb} {NOT_KNOWN}"] if missing else []
    actions = tuple(
        a.id
        for a in barrier.actions
        if a.done_if is None or not _evaluate(a.done_if, context).value
    )
    return BarrierFinding(
        barrier=barrier.id,
        title=barrier.title,
        evidence=(*likely, *reports, *against, *not_known, known_evidence),
        groups=tuple(pairs),
        strength=round(max(_FLOOR, points), 3),
        source=knowledge.citations(barrier.sources),
        reported=total,
        why=tuple(likely + reports) or (known_evidence,),
        actions=actions,
    )


def _say(clause: Clause, context: _Context, words: dict[str, str]) -> str:
    values = dict(words)
    for leaf in _leaves(clause.when):
        if isinstance(leaf, AreaShare) and (share := context.share(leaf)) is not None:
            values["area_share"] = f"{share:.1%}"
        elif isinstance(leaf, OverRepresented) and (over := context.over_groups(leaf)):
            values["over_groups"] = join_words([describe_group(*pair) for pair in over[:3]])
    return clause.says.format_map(values)


def _people(count: int, suppress_below: int) -> str:
    if 0 < count < suppress_below:
        return f"fewer than {suppress_below} participants"
    return f"{count} participant{'s' if count != 1 else ''}"


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


# ---------------------------------------------------------------------------
# What participants reported


_SPLIT_OPTIONS = re.compile(r"[;\n\r]+")
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_NON_WORD = re.compile(r"[^0-9a-z+]+")


def _answer_key(text: str) -> str:
    """Fold an answer or header for exact comparison: case, punctuation, apostrophes.

    >>> _answer_key("I didn’t know about it!"), _answer_key("Step-free access")
    ('i didnt know about it', 'step free access')
    """
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", normalise(text))).strip()


def reported_barrier_answers(
    answer_counts: Iterable[tuple[str | None, int]], *, knowledge: KnowledgeBase | None = None
) -> dict[str, int]:
    """Participants per controlled barrier id, from one multi-select column's answer counts.

    ``answer_counts`` is one column of :func:`inclusion_audit.readers.answer_counts`:
    (cell, number of participants with that cell). A cell holds one option or
    several separated by ``;`` (Microsoft Forms, with a trailing ``;``), line
    breaks, or ``,`` (Google Forms); options are matched exactly, after folding,
    against the curated wordings in ``barriers.yaml``. The ids are barrier ids,
    alias ids (``timing``, ``caring``, ``awareness``, ``safety``: answers that
    name several barriers) and ``other`` for options nobody curated: they are
    counted, never guessed. "None", "No" and "prefer not to say" count nowhere.
    A participant counts once per id however many of their options map to it.

    >>> reported_barrier_answers([("Childcare;The time of day;", 3), ("Getting there", 2),
    ...                           ("Childcare, Cost of travel", 1), ("Haunted venue", 1)])
    {'childcare': 4, 'timing': 3, 'cost_transport': 3, 'other': 1}
    """
    knowledge = knowledge or load_knowledge_base()
    totals: dict[str, int] = {}
    for cell, count in answer_counts:
        for barrier_id in _cell_ids(cell, knowledge):
            totals[barrier_id] = totals.get(barrier_id, 0) + int(count)
    return totals


def _cell_ids(cell: str | None, knowledge: KnowledgeBase) -> list[str]:
    if cell is None:
        return []
    found: dict[str, None] = {}
    for option in _SPLIT_OPTIONS.split(cell):
        for barrier_id in _option_ids(option, knowledge):
            found[barrier_id] = None
    return list(found)


def _option_ids(option: str, knowledge: KnowledgeBase) -> list[str]:
    key = _answer_key(option)
    if not key or is_declined(option) or key in knowledge.no_barrier_answers:
        return []
    if key in knowledge.answers:
        return [knowledge.answers[key]]
    if "," in option:
        return [i for part in option.split(",") for i in _option_ids(part, knowledge)]
    return [OTHER]


@dataclass(frozen=True)
class BarrierColumn:
    """A register column that asks participants about barriers.

    ``option`` None: a multi-select column (one cell lists the options); count
    it with :func:`reported_barrier_answers`. Otherwise one column per option
    ("Barriers: Childcare", "What nearly stopped you? [Childcare]"): a cell that
    is ticked (Yes, Y, 1, TRUE, x, ✓, or the option's own text) counts one
    participant under ``barrier``, the option's controlled id (``other`` when
    not curated; None for a "None of these" column, which counts nowhere).
    Any other cell value is not a tick.
    """

    column: str
    option: str | None = None
    barrier: str | None = None


_INSTRUCTIONS = re.compile(
    r"\s*\((?:[^()]*\b(?:select|tick|choose|apply|check|optional|multiple)\b[^()]*)\)",
    re.IGNORECASE,
)
_BRACKETED_OPTION = re.compile(r"^(?P<question>.*?)\s*\[(?P<option>[^\[\]]+)\]\s*$")
_SEPARATORS = ("?", ": ", " - ", " – ", " — ", " > ", " | ")
_TICKED = frozenset({"yes", "y", "1", "1 0", "true", "ticked", "checked", "selected", "x", "on"})
_TICK_MARKS = frozenset({"✓", "✔", "☑", "✅"})


def reported_barrier_columns(
    headers: Sequence[str], *, knowledge: KnowledgeBase | None = None
) -> list[BarrierColumn]:
    """The register columns that ask about barriers or access needs, in header order.

    A header asks about barriers when it contains one of the knowledge base's
    question phrases ("nearly stopped you", "access needs", "barriers"…);
    headers with a free-text phrase ("please specify") are left alone, because
    they hold participants' own words. See :class:`BarrierColumn` for the two
    layouts and :func:`count_reported_barriers` to count them.

    >>> headers = ["Name", "What nearly stopped you taking part?", "Barriers: Childcare"]
    >>> for column in reported_barrier_columns(headers):
    ...     print(column.column, "|", column.option, "|", column.barrier)
    What nearly stopped you taking part? | None | None
    Barriers: Childcare | Childcare | childcare
    """
    knowledge = knowledge or load_knowledge_base()
    found = []
    for header in headers:
        key = _answer_key(header)
        if not _asks(key, knowledge) or any(p in key for p in knowledge.free_text_questions):
            continue
        option = _option_of(header, knowledge)
        if option is None:
            found.append(BarrierColumn(header))
        else:
            ids = set(_option_ids(option, knowledge))
            barrier = ids.pop() if len(ids) == 1 else OTHER if ids else None
            found.append(BarrierColumn(header, option, barrier))
    return found


def _asks(key: str, knowledge: KnowledgeBase) -> bool:
    padded = f" {key} "
    return any(f" {phrase}" in padded for phrase in knowledge.reported_questions)


def _option_of(header: str, knowledge: KnowledgeBase) -> str | None:
    """The option a one-column-per-option header names, or None for a whole question."""
    text = _INSTRUCTIONS.sub("", header).strip()
    match = _BRACKETED_OPTION.match(text)
    if match and _asks(_answer_key(match["question"]), knowledge):
        return match["option"].strip()
    cuts = sorted((text.find(s), s) for s in _SEPARATORS if s in text)
    for position, separator in cuts:
        question, rest = text[:position], text[position + len(separator) :]
        option = rest.strip().lstrip(":-–—>|").strip()
        if option and _asks(_answer_key(question), knowledge):
            return option
    return None


def count_reported_barriers(
    columns: Sequence[BarrierColumn],
    counts: Mapping[str, Sequence[tuple[str | None, int]]],
    *,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, int]:
    """Participants per controlled id over every barrier column, ready for ``analyse_barriers``.

    ``counts`` is the first value :func:`inclusion_audit.readers.answer_counts`
    returns for ``[c.column for c in columns]``. Those counts are per column, so
    nobody can be followed across columns: columns are combined by taking the
    largest count per id, a lower bound that never counts a participant twice.

    >>> columns = reported_barrier_columns(["Barriers: Childcare", "Barriers: Getting there"])
    >>> count_reported_barriers(columns, {"Barriers: Childcare": [("Yes", 4), (None, 6)],
    ...                                   "Barriers: Getting there": [("Getting there", 2)]})
    {'childcare': 4, 'cost_transport': 2}
    """
    knowledge = knowledge or load_knowledge_base()
    totals: dict[str, int] = {}
    for column in columns:
        answers = counts.get(column.column, ())
        if column.option is None:
            found = reported_barrier_answers(answers, knowledge=knowledge)
        elif column.barrier is None:
            continue
        else:
            option_key = _answer_key(column.option)
            ticks = sum(int(n) for cell, n in answers if _ticked(cell, option_key))
            found = {column.barrier: ticks} if ticks else {}
        for barrier_id, n in found.items():
            totals[barrier_id] = max(totals.get(barrier_id, 0), n)
    return totals


def _ticked(cell: str | None, option_key: str) -> bool:
    if cell is None:
        return False
    key = _answer_key(cell)
    return key in _TICKED or key == option_key or cell.strip() in _TICK_MARKS
