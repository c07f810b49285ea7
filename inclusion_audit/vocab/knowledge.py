"""The curated classification knowledge, loaded from ``vocab/data/*.toml`` and checked.

For every characteristic: the category tree (detailed categories under broad
headings) and the synonyms seen on council and NHS forms, each with its source;
and the column rules. The checks refuse a synonym that points at two categories or
at a label that does not exist. ``make knowledge-data`` prebuilds everything as one
JSON index so that an audit does not parse TOML; the index is ignored when its
sources changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from inclusion_audit.paths import shipped_reference_data
from inclusion_audit.vocab.answer_keys import answer_key, strip_accents
from inclusion_audit.vocab.folding import DECLINED_ANSWERS, normalise

__all__ = [
    "COLUMN_KINDS",
    "INDEX_FILE",
    "ClassificationDataError",
    "knowledge_index",
    "write_knowledge_index",
]


COLUMN_KINDS = (
    "characteristic",
    "identifying",
    "free_text",
    "event",
    "event_date",
    "timestamp",
    "date_of_birth",
    "ignore",
)


# The data files sit beside this module (paths.py finds the shipped folders the same way).
_DATA = Path(__file__).resolve().parent / "data"


class ClassificationDataError(ValueError):
    """The shipped knowledge files are inconsistent (a bug in the data, not in input)."""


@dataclass(frozen=True)
class SynonymTarget:
    label: str
    note: str | None


@dataclass(frozen=True)
class CategoryTree:
    """One classification: ONS labels and the coarser group each belongs to."""

    parent: Mapping[str, str | None]
    children: Mapping[str, tuple[str, ...]]

    def ancestors(self, label: str) -> list[str]:
        found = []
        current = self.parent.get(label)
        while current is not None:
            found.append(current)
            current = self.parent.get(current)
        return found

    def descendants(self, label: str) -> list[str]:
        found: list[str] = []
        stack = list(self.children.get(label, ()))
        while stack:
            child = stack.pop()
            found.append(child)
            stack.extend(self.children.get(child, ()))
        return found

    def root(self, label: str) -> str:
        ancestors = self.ancestors(label)
        return ancestors[-1] if ancestors else label


_EMPTY_TREE = CategoryTree({}, {})


# Key of the knowledge used for characteristics the data does not cover.
ANY_CHARACTERISTIC = "*"


@dataclass(frozen=True)
class CharacteristicKnowledge:
    """Everything known about one characteristic's answers."""

    tree: CategoryTree = _EMPTY_TREE
    synonyms: Mapping[str, SynonymTarget] = field(default_factory=dict)
    unplaceable: Mapping[str, str] = field(default_factory=dict)
    declined: frozenset[str] = frozenset()


def _read_toml(name: str) -> dict[str, Any]:
    # Deferred: with the prebuilt index current, an audit never parses TOML (1.5 ms).
    import tomllib

    return tomllib.loads((_DATA / name).read_text(encoding="utf-8"))


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ClassificationDataError(f"{where} must be a list of non-empty strings")
    return list(value)


def _string(value: object, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ClassificationDataError(f"{where} must be a non-empty string")
    return value


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ClassificationDataError(f"{where} must be a table")
    return value


def _entries(value: object, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ClassificationDataError(f"{where} must be an array of tables")
    return [_table(entry, f"{where}[{i}]") for i, entry in enumerate(value)]


def _build_tree(name: str, spec: dict[str, Any]) -> CategoryTree:
    parent: dict[str, str | None] = {}
    for i, node in enumerate(_entries(spec.get("nodes"), f"classification.{name}.nodes")):
        where = f"classification.{name}.nodes[{i}]"
        label = _string(node.get("label"), f"{where}.label")
        assert label is not None
        if label in parent:
            raise ClassificationDataError(f"{where}: label {label!r} appears twice")
        parent[label] = _string(node.get("parent"), f"{where}.parent", required=False)
    for label, up in parent.items():
        if up is not None and up not in parent:
            raise ClassificationDataError(
                f"classification.{name}: parent {up!r} of {label!r} is not a label"
            )
    tree = make_tree(parent)
    for label in parent:
        if label in tree.ancestors(label):  # pragma: no cover - guards hand-edited data
            raise ClassificationDataError(f"classification.{name}: {label!r} is its own parent")
    return tree


def make_tree(parent: dict[str, str | None]) -> CategoryTree:
    children: dict[str, list[str]] = {}
    for label, up in parent.items():
        if up is not None:
            children.setdefault(up, []).append(label)
    return CategoryTree(parent, {k: tuple(v) for k, v in children.items()})


class _TableBuilder:
    """Collects answer keys for one characteristic, refusing contradictions.

    Two wordings that fold to the same key but mean different things would make
    the result depend on file order; that is a data bug, reported at load time.
    """

    def __init__(self, characteristic: str, tree: CategoryTree) -> None:
        self.characteristic = characteristic
        self.tree = tree
        self.synonyms: dict[str, SynonymTarget] = {}
        self.sources: dict[str, str] = {}

    def label(self, label: str | None, where: str) -> str:
        if label is None or label not in self.tree.parent:
            raise ClassificationDataError(
                f"{where}: {label!r} is not a label of {self.characteristic}'s classification"
            )
        return label

    def add(self, answer: str, target: SynonymTarget, where: str) -> None:
        key = answer_key(answer)
        if not key:
            raise ClassificationDataError(f"{where}: {answer!r} folds to nothing")
        known = self.synonyms.get(key)
        if known is not None and known.label != target.label:
            raise ClassificationDataError(
                f"{where}: {answer!r} maps to {target.label!r} but {self.sources[key]} "
                f"already maps it to {known.label!r}"
            )
        if known is None:
            self.synonyms[key] = target
            self.sources[key] = where


def _compose(heading: str, option: str) -> Iterator[str]:
    """The ways forms join a heading and an option: "White: Irish", "White Irish"."""
    yield f"{heading}: {option}"
    if re.fullmatch(r"[a-z]+", heading):
        yield f"{heading} {option}"
        yield f"{heading}, {option}"


def _add_headings(
    builder: _TableBuilder, headings: list[dict[str, Any]], entries: list[dict[str, Any]]
) -> None:
    """Heading-and-option answers ("Asian/Asian British: Indian") for ethnic group.

    An option is read only under the headings of its own high-level group (or of
    a group an older scheme filed it under, such as Chinese under "Other ethnic
    groups" in the NHS codes), so "British" counts as White British only after a
    White heading.
    """
    if not headings:
        return
    tree = builder.tree
    name = builder.characteristic
    heads: dict[str, list[str]] = {}
    for i, entry in enumerate(headings):
        where = f"heading.{name}[{i}]"
        group = builder.label(_string(entry.get("group"), f"{where}.group"), where)
        standalone = _strings(entry.get("answers"), f"{where}.answers")
        for answer in standalone:
            builder.add(answer, SynonymTarget(group, None), where)
        prefix_only = _strings(entry.get("prefix_only"), f"{where}.prefix_only")
        heads.setdefault(group, [group]).extend(standalone + prefix_only)

    options: dict[str, dict[str, SynonymTarget]] = {group: {} for group in heads}

    def offer(group: str, option: str, target: SynonymTarget, where: str) -> None:
        if group not in options:
            raise ClassificationDataError(f"{where}: {group!r} has no headings")
        key = answer_key(option)
        known = options[group].get(key)
        if known is not None and known.label != target.label:
            raise ClassificationDataError(
                f"{where}: option {option!r} under {group!r} means both "
                f"{known.label!r} and {target.label!r}"
            )
        options[group].setdefault(key, target)

    for label, up in tree.parent.items():
        if up is not None and ": " in label:
            offer(
                tree.root(label), label.split(": ", 1)[1], SynonymTarget(label, None), "ONS label"
            )
    for i, entry in enumerate(entries):
        where = f"synonym.{name}[{i}]"
        label = builder.label(entry.get("maps_to"), where)
        if tree.parent[label] is None:
            continue  # a high-level answer is not an option under a heading
        target = SynonymTarget(label, _string(entry.get("note"), f"{where}.note", required=False))
        groups = [tree.root(label), *_strings(entry.get("also_under"), f"{where}.also_under")]
        wordings = _strings(entry.get("answers"), f"{where}.answers") + _strings(
            entry.get("after_heading"), f"{where}.after_heading"
        )
        for group in groups:
            for wording in wordings:
                offer(group, wording, target, where)

    for group, wordings in heads.items():
        for heading in wordings:
            for option_key, target in options[group].items():
                for composed in _compose(answer_key(heading), option_key):
                    builder.add(composed, target, f"heading.{name} {group!r} + option")


def _checked_knowledge() -> tuple[
    dict[str, CharacteristicKnowledge], frozenset[str], dict[str, str], dict[str, str]
]:
    """Knowledge for every characteristic the data files cover, checked, from the files.

    Returns the knowledge of each characteristic that is not an alias, the
    declined answers of every characteristic, alias → characteristic, and
    variant classification → the characteristic it varies (``ethnic_group_ni`` →
    ``ethnic_group``).
    """
    classifications = _table(
        _read_toml("classifications.toml").get("classification"), "classification"
    )
    trees: dict[str, CategoryTree] = {}
    variant_specs: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, spec in classifications.items():
        spec = _table(spec, f"classification.{name}")
        tree = _build_tree(name, spec)
        base = _string(spec.get("variant_of"), f"classification.{name}.variant_of", required=False)
        if base is not None:
            crosswalk = _table(spec.get("crosswalk", {}), f"classification.{name}.crosswalk")
            variant_specs[name] = (base, crosswalk)
            trees[name] = tree
            continue
        for characteristic in _strings(
            spec.get("characteristics"), f"classification.{name}.characteristics"
        ):
            trees[characteristic] = tree

    data = _read_toml("synonyms.toml")
    declined_spec = _table(data.get("declined", {}), "declined")
    common = {answer_key(a) for a in DECLINED_ANSWERS} | {
        answer_key(a)
        for a in _strings(
            _table(declined_spec.get("all", {}), "declined.all").get("answers"),
            "declined.all.answers",
        )
    }
    synonym_spec = _table(data.get("synonym", {}), "synonym")
    heading_spec = _table(data.get("heading", {}), "heading")
    unplaceable_spec = _table(data.get("unplaceable", {}), "unplaceable")
    aliases = {
        alias: _string(target, f"aliases.{alias}")
        for alias, target in _table(data.get("aliases", {}), "aliases").items()
    }
    names = set(trees) | set(synonym_spec) | set(unplaceable_spec) | set(declined_spec)
    names.discard("all")

    knowledge: dict[str, CharacteristicKnowledge] = {}
    # Variants last: they take over the wordings of the characteristic they vary.
    ordered = sorted(names - set(aliases) - set(variant_specs)) + sorted(variant_specs)
    for name in ordered:
        tree = trees.get(name, _EMPTY_TREE)
        builder = _TableBuilder(name, tree)
        for label in tree.parent:
            builder.add(label, SynonymTarget(label, None), "ONS label")
        entries = _entries(synonym_spec.get(name), f"synonym.{name}")
        for i, entry in enumerate(entries):
            where = f"synonym.{name}[{i}]"
            _string(entry.get("source"), f"{where}.source")
            target = SynonymTarget(
                builder.label(entry.get("maps_to"), where),
                _string(entry.get("note"), f"{where}.note", required=False),
            )
            for answer in _strings(entry.get("answers"), f"{where}.answers") + _strings(
                entry.get("codes"), f"{where}.codes"
            ):
                builder.add(answer, target, where)
        _add_headings(builder, _entries(heading_spec.get(name), f"heading.{name}"), entries)
        inherited: Mapping[str, str] = {}
        if name in variant_specs:
            inherited = _add_crosswalk(builder, name, variant_specs[name], knowledge)

        unplaceable: dict[str, str] = dict(inherited)
        for i, entry in enumerate(_entries(unplaceable_spec.get(name), f"unplaceable.{name}")):
            where = f"unplaceable.{name}[{i}]"
            _string(entry.get("source"), f"{where}.source")
            note = _string(entry.get("note"), f"{where}.note")
            assert note is not None
            for answer in _strings(entry.get("answers"), f"{where}.answers"):
                key = answer_key(answer)
                if key in builder.synonyms or (key in unplaceable and key not in inherited):
                    raise ClassificationDataError(f"{where}: {answer!r} is already listed")
                unplaceable[key] = note

        own = _table(declined_spec.get(name, {}), f"declined.{name}")
        declined = common | {
            answer_key(a) for a in _strings(own.get("answers"), f"declined.{name}.answers")
        }
        if name in variant_specs:
            declined |= knowledge[variant_specs[name][0]].declined
        clash = declined & (set(builder.synonyms) | set(unplaceable))
        if clash:
            raise ClassificationDataError(
                f"{name}: {sorted(clash)} are both declined answers and mapped or unplaceable"
            )
        knowledge[name] = CharacteristicKnowledge(
            tree, builder.synonyms, unplaceable, frozenset(declined)
        )

    checked_aliases: dict[str, str] = {}
    for alias, canonical in aliases.items():
        if canonical is None or canonical not in knowledge:
            raise ClassificationDataError(f"aliases.{alias}: {canonical!r} has no knowledge")
        checked_aliases[alias] = canonical
    variants = {name: base for name, (base, _) in variant_specs.items()}
    return knowledge, frozenset(common), checked_aliases, variants


def _add_crosswalk(
    builder: _TableBuilder,
    name: str,
    spec: tuple[str, dict[str, Any]],
    knowledge: Mapping[str, CharacteristicKnowledge],
) -> dict[str, str]:
    """A variant's copy of its base characteristic's wordings, through the crosswalk.

    Every wording the base knows for a label the crosswalk places is added with the
    variant's label, unless the variant's own synonyms already say otherwise. Returns
    the base's unplaceable answers, which stay unplaceable; wordings of labels the
    crosswalk does not place are left out, so they are reported as unknown.
    """
    base_name, crosswalk = spec
    base = knowledge.get(base_name)
    if base is None:
        raise ClassificationDataError(f"classification.{name}.variant_of: {base_name!r} unknown")
    where = f"classification.{name}.crosswalk"
    placed: dict[str, str] = {}
    for label, target in crosswalk.items():
        if label not in base.tree.parent:
            raise ClassificationDataError(f"{where}: {label!r} is not a label of {base_name}")
        placed[label] = builder.label(_string(target, f"{where}.{label}"), where)
    for key, found in base.synonyms.items():
        if key in builder.synonyms or found.label not in placed:
            continue
        builder.add(
            key, SynonymTarget(placed[found.label], found.note), f"{where} ({found.label!r})"
        )
    return {k: v for k, v in base.unplaceable.items() if k not in builder.synonyms}


@dataclass(frozen=True)
class ColumnRule:
    kind: str
    characteristic: str | None
    reason: str
    approximate: str | None
    exact: frozenset[str]
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]

    def matches(self, text: str) -> bool:
        if text in self.exact:
            return True
        if not (self.all_of or self.any_of):
            return False
        padded = f" {text} "
        return all(f" {p} " in padded for p in self.all_of) and (
            not self.any_of or any(f" {p} " in padded for p in self.any_of)
        )


_QUESTION_NUMBER = re.compile(
    r"^(?:q(?:uestion)?\s*\d{1,3}[a-z]?\s*[.):-]?\s+|\d{1,3}[a-z]?\s*[.):]\s*)"
)


_NON_WORD = re.compile(r"[\W_]+")


_TRAILING_WORDS = frozenset({"optional", "required", "mandatory"})


def header_text(header: str) -> str:
    """A header folded to plain words: "Q5. Ethnic group? (optional)" → "ethnic group"."""
    text = strip_accents(normalise(header))
    text = _QUESTION_NUMBER.sub("", text, count=1)
    words = _NON_WORD.sub(" ", text).split()
    while words and words[-1] in _TRAILING_WORDS:
        words.pop()
    return " ".join(words)


def _phrases(value: object, where: str) -> tuple[str, ...]:
    return tuple(header_text(p) for p in _strings(value, where))


def _checked_rules() -> tuple[ColumnRule, ...]:
    """The column rules of ``columns.toml``, checked, from the file."""
    rules = []
    for i, spec in enumerate(_entries(_read_toml("columns.toml").get("rule"), "rule")):
        where = f"rule[{i}]"
        kind = _string(spec.get("kind"), f"{where}.kind")
        if kind not in COLUMN_KINDS:
            raise ClassificationDataError(f"{where}.kind {kind!r} is not one of {COLUMN_KINDS}")
        characteristic = _string(spec.get("characteristic"), f"{where}.c", required=False)
        if (kind == "characteristic") != (characteristic is not None) and kind != "identifying":
            raise ClassificationDataError(f"{where}: characteristic goes with kind characteristic")
        reason = _string(spec.get("reason"), f"{where}.reason")
        assert kind is not None and reason is not None
        rule = ColumnRule(
            kind,
            characteristic,
            reason,
            _string(spec.get("approximate"), f"{where}.approximate", required=False),
            frozenset(_phrases(spec.get("exact"), f"{where}.exact")),
            _phrases(spec.get("all"), f"{where}.all"),
            _phrases(spec.get("any"), f"{where}.any"),
        )
        if not (rule.exact or rule.all_of or rule.any_of):
            raise ClassificationDataError(f"{where} has nothing to match")
        rules.append(rule)
    return tuple(rules)


INDEX_FILE = "answer_knowledge.json"


# Raise when the index's layout changes, so an index in the old layout is not read.
_INDEX_FORMAT = 2


_SOURCE_FILES = ("classifications.toml", "synonyms.toml", "columns.toml")


def knowledge_index() -> dict[str, Any]:
    """What the data files say, checked and folded, as JSON data.

    ``scripts/build_reference_data.py`` writes it to ``reference_data/`` (see
    :func:`write_knowledge_index`) because parsing the files and folding their
    two thousand wordings costs an audit about 35 ms. ``sources`` holds the
    files' sha256, so an index they have moved on from is not used; a change to
    the folding code instead fails the test that compares the shipped index with
    a fresh one.
    """
    knowledge, common, aliases, variants = _checked_knowledge()
    return {
        "format": _INDEX_FORMAT,
        "sources": _source_digests(),
        "declined": sorted(common),
        "aliases": aliases,
        "variants": variants,
        "knowledge": {
            name: {
                "tree": dict(entry.tree.parent),
                "synonyms": {key: t.label for key, t in entry.synonyms.items()},
                "notes": {k: t.note for k, t in entry.synonyms.items() if t.note is not None},
                "unplaceable": dict(entry.unplaceable),
                "declined": sorted(entry.declined - common),
            }
            for name, entry in knowledge.items()
        },
        "rules": [
            {
                "kind": rule.kind,
                "characteristic": rule.characteristic,
                "reason": rule.reason,
                "approximate": rule.approximate,
                "exact": sorted(rule.exact),
                "all": list(rule.all_of),
                "any": list(rule.any_of),
            }
            for rule in _checked_rules()
        ],
    }


def write_knowledge_index(directory: Path) -> Path:
    """Write :func:`knowledge_index` into ``directory``; the same files give the same bytes."""
    path = directory / INDEX_FILE
    text = json.dumps(knowledge_index(), ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _source_digests() -> dict[str, str]:
    return {name: hashlib.sha256((_DATA / name).read_bytes()).hexdigest() for name in _SOURCE_FILES}


@cache
def current_index() -> dict[str, Any]:
    """The shipped index when it was built from the data files as they are, else a fresh one."""
    try:
        text = (shipped_reference_data() / INDEX_FILE).read_text(encoding="utf-8")
        index = json.loads(text)
    except (OSError, ValueError):
        return knowledge_index()
    current = (
        isinstance(index, dict)
        and index.get("format") == _INDEX_FORMAT
        and index.get("sources") == _source_digests()
    )
    return index if current else knowledge_index()
