"""Checking the raw knowledge base and building its typed objects.

One cohesive thing (a parser with its validation), and so longer than most modules:
every field, operator, enumeration, category label and source reference of
``barriers.yaml`` is checked on load, with the path of the offending entry in the
message, so that a typo fails loudly instead of a condition silently never firing.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inclusion_audit.action.event import (
    EVENT_TYPES,
    FORMATS,
    PAYMENT_KINDS,
    RECRUITMENT,
)
from inclusion_audit.action.knowledge import (
    EVENT_FIELDS,
    OTHER,
    PLACEHOLDERS,
    Action,
    Alias,
    AllOf,
    AnyOf,
    AreaShare,
    Barrier,
    Clause,
    Condition,
    FieldTest,
    GroupSpec,
    KnowledgeBase,
    KnowledgeBaseError,
    Not,
    OverRepresented,
    Route,
    Source,
    fold_label,
    reported_key,
)

_TIME_TEXT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


_ID = re.compile(r"^[a-z][a-z0-9_]*$")


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


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


class KnowledgeParser:
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
            if name not in PLACEHOLDERS or spec or conversion:
                raise self.fail(
                    where,
                    f"placeholder {{{name}}} is not one of {', '.join(sorted(PLACEHOLDERS))}",
                )
        return text

    # -- whole file

    def knowledge_base(self, data: Any) -> KnowledgeBase:
        top = self.mapping(
            data,
            "top level",
            {"version", "sources", "barriers", "reported_aliases", "no_barrier_answers"},
            {"fallback", "reported_questions", "free_text_questions", "routes"},
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
            reported_key(t) for t in self.texts(top["no_barrier_answers"], "no_barrier_answers")
        )
        answers: dict[str, str] = {}
        for owner, wordings in [
            *((b.id, (b.title, b.id, *b.reported_as)) for b in barriers),
            *((a.id, a.reported_as) for a in aliases),
        ]:
            for wording in wordings:
                key = reported_key(wording)
                if answers.get(key, owner) != owner or key in no_barrier:
                    raise self.fail(
                        f"reported answer {wording!r}",
                        f"listed under both {answers.get(key, 'no_barrier_answers')!r} and "
                        f"{owner!r}: an answer must name one id",
                    )
                answers[key] = owner
        fallback = self.fallback(top.get("fallback", []), barriers)
        routes = tuple(
            self.route(entry, f"routes[{i}]", barriers)
            for i, entry in enumerate(_list(top.get("routes", [])))
        )
        if len({r.id for r in routes}) != len(routes):
            raise self.fail("routes", "route ids must be unique")
        return KnowledgeBase(
            path=self.path,
            sources=sources,
            barriers=barriers,
            aliases=aliases,
            no_barrier_answers=no_barrier,
            reported_questions=tuple(
                reported_key(t)
                for t in self.texts(top.get("reported_questions", []), "reported_questions")
            ),
            free_text_questions=tuple(
                reported_key(t)
                for t in self.texts(top.get("free_text_questions", []), "free_text_questions")
            ),
            fallback=fallback,
            answers=answers,
            routes=routes,
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
            {"applies", "likely", "mitigations", "reported_as", "reported_label", "evidence_over"},
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
            evidence_over=tuple(
                self.group(g, f"{where}.evidence_over[{i}]", allow_any=False)
                for i, g in enumerate(_list(item.get("evidence_over", [])))
            ),
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
        return GroupSpec(characteristic, frozenset(fold_label(c) for c in labels), weight=weight)

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
        item = self.mapping(
            value, where, {"id", "label", "text", "sources"}, {"done_if", "fits", "offered"}
        )
        if "offered" in item and "done_if" not in item:
            raise self.fail(f"{where}.offered", "goes with done_if (what was offered)")
        return Action(
            id=self.ident(item["id"], f"{where}.id"),
            label=self.text(item["label"], f"{where}.label"),
            text=self.text(item["text"], f"{where}.text"),
            sources=self.source_refs(item["sources"], f"{where}.sources"),
            done_if=self.condition(item["done_if"], f"{where}.done_if")
            if "done_if" in item
            else None,
            fits=self.condition(item["fits"], f"{where}.fits") if "fits" in item else None,
            offered=self.template(item["offered"], f"{where}.offered")
            if "offered" in item
            else None,
        )

    def route(self, value: Any, where: str, barriers: tuple[Barrier, ...]) -> Route:
        item = self.mapping(
            value, where, {"id", "groups"}, {"fits", "use", "label", "text", "sources"}
        )
        ident = self.ident(item["id"], f"{where}.id")
        where = f"{where} ({ident})"
        groups = tuple(
            self.group(g, f"{where}.groups[{i}]", allow_any=False)
            for i, g in enumerate(_list(item["groups"]))
        )
        if not groups:
            raise self.fail(f"{where}.groups", "needs at least one group")
        own = {"label", "text", "sources"} & set(item)
        if ("use" in item) == bool(own):
            raise self.fail(where, "give either use: {barrier, action} or label, text and sources")
        uses: tuple[str, str] | None = None
        if "use" in item:
            ref = self.mapping(item["use"], f"{where}.use", {"barrier", "action"}, set())
            barrier = next((b for b in barriers if b.id == ref["barrier"]), None)
            found = None
            if barrier is not None:
                found = next((a for a in barrier.actions if a.id == ref["action"]), None)
            if barrier is None or found is None:
                raise self.fail(
                    f"{where}.use", f"no action {ref['action']!r} of barrier {ref['barrier']!r}"
                )
            action, uses = found, (barrier.id, found.id)
        else:
            action = Action(
                id=ident,
                label=self.text(item.get("label"), f"{where}.label"),
                text=self.text(item.get("text"), f"{where}.text"),
                sources=self.source_refs(item.get("sources"), f"{where}.sources"),
            )
        return Route(
            id=ident,
            groups=groups,
            action=action,
            uses=uses,
            fits=self.condition(item["fits"], f"{where}.fits") if "fits" in item else None,
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
                frozenset(
                    fold_label(c) for c in self.texts(item["categories"], f"{where}.categories")
                ),
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
            if not isinstance(name, str) or name not in EVENT_FIELDS:
                raise self.fail(
                    f"{where}.field", f"{name!r} is not an event field ({', '.join(EVENT_FIELDS)})"
                )
            kind = EVENT_FIELDS[name][0]
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
