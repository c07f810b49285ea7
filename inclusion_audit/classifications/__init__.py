"""Classification knowledge: what a register column asks, and where an answer belongs.

Real registers are form exports. Their headers are question texts ("Q5. What is
your ethnic group? (optional)") and their answers come in many wordings: 2011-style
GSS labels, NHS codes, "White British", "Rather not say". This module turns both
into the exact ONS categories, using curated knowledge kept as data beside it so
that reviewers can audit every mapping and its source:

- ``classifications.toml``: for each characteristic, the ONS labels, codes and
  hierarchy (the 19 detailed ethnic groups within the 5 high-level ones, the 9
  tenure categories within the 5 of the persons table, ...);
- ``synonyms.toml``: answer wordings and the ONS label each one means, answers
  that cannot be placed (with the reason), and "prefer not to say" wordings;
- ``columns.toml``: ordered rules that recognise a column from its header.

Nothing is fuzzy-matched. Answers are compared exactly after a fixed folding
(:func:`answer_key`), because a near-miss guess would silently put people in the
wrong group. An answer goes to the most detailed category that can be defended,
else to the broader group it names, else it is reported as unplaceable; anything
the knowledge does not cover is "unknown", so the caller can stop and ask.

The functions are pure; the knowledge is loaded once, on first use, from the
index ``scripts/build_reference_data.py`` prebuilds from these files
(``reference_data/answer_knowledge.json``), or from the files themselves when
they have changed since.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from inclusion_audit.folding import DECLINED_ANSWERS, normalise
from inclusion_audit.paths import shipped_reference_data

__all__ = [
    "BROADER_CHARACTERISTIC",
    "COLUMN_KINDS",
    "INDEX_FILE",
    "PLACEMENT_KINDS",
    "REFERENCE_CHARACTERISTIC",
    "ClassificationDataError",
    "ColumnGuess",
    "Placement",
    "answer_key",
    "closest_categories",
    "guess_column",
    "knowledge_index",
    "parse_age_span",
    "place_answer",
    "synonyms_for",
    "write_knowledge_index",
]

COLUMN_KINDS = (
    "characteristic",
    "identifying",
    "free_text",
    "event",
    "timestamp",
    "date_of_birth",
    "ignore",
)
PLACEMENT_KINDS = ("category", "broad_only", "declined", "blank", "unplaceable", "unknown")
# The data files sit beside this module (paths.py finds the shipped folders the same way).
_DATA = Path(__file__).resolve().parent

# A characteristic audited against another's reference: "Are you trans?" answers
# are placed in the gender identity categories (with Yes/No the other way round).
REFERENCE_CHARACTERISTIC: Mapping[str, str] = {"trans_status": "gender_identity"}

# The coarser reference characteristic to audit when answers fit only broad groups:
# place the same answers again with that characteristic's categories.
BROADER_CHARACTERISTIC: Mapping[str, str] = {
    "ethnic_group": "ethnic_group_broad",
    "unpaid_care": "unpaid_care_broad",
    "tenure": "tenure_persons",
}


class ClassificationDataError(ValueError):
    """The shipped knowledge files are inconsistent (a bug in the data, not in input)."""


@dataclass(frozen=True)
class ColumnGuess:
    """What a register column holds, guessed from its header, and why.

    ``characteristic`` is set for kind "characteristic" (and "postcode" for an
    identifying postcode column). ``approximate`` is a sentence when the question
    only approximates the Census one, for the report to show.
    """

    kind: str
    characteristic: str | None
    approximate: str | None
    reason: str


@dataclass(frozen=True)
class Placement:
    """Where one answer belongs among a reference's categories.

    ``kind`` is one of :data:`PLACEMENT_KINDS`. ``category`` is the reference's own
    label when kind is "category". ``broad`` is the top-level ONS group the answer
    belongs to (for ethnic group, an ``ethnic_group_broad`` label), when known.
    ``note`` explains an unplaceable or broad-only answer, and is set on a
    "category" placement only when the mapping is an approximation.
    """

    kind: str
    category: str | None = None
    broad: str | None = None
    note: str | None = None


# ---------------------------------------------------------------------------
# Folding


_COMBINING = re.compile(r"[\u0300-\u036f]")
# Write-in hints: "Other (please specify)", "Any other ethnic group, please describe".
_WRITE_IN_BRACKETS = re.compile(
    r"\s*[(\[]\s*(?:please\s+)?(?:specify|describe|state|write in|give details)[^)\]]*[)\]]\s*$"
)
_WRITE_IN_PLEASE = re.compile(
    r"[\s,:;-]+please\s+(?:specify|describe|state|write in|give details|tell us)\b.*$"
)
_SLASH = re.compile(r"\s*/\s*")
_LETTER_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_DIGIT_DASH = re.compile(r"(?<=\d)\s*-\s*(?=\d)")
# "White - Irish" is the heading-and-option form of "White: Irish".
_HEADING_DASH = re.compile(r"(?<=[^\W\d_)])\s+-\s+(?=[^\W\d_])")
_COLON = re.compile(r"\s*:\s*")
_SPACES = re.compile(r"\s+")


def _strip_accents(text: str) -> str:
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def answer_key(text: str) -> str:
    """Fold an answer (or label) to the key it is looked up by: exact, not fuzzy.

    On top of :func:`inclusion_audit.harmonise.normalise` (case, spacing, dash
    types, "&"), this drops accents and write-in hints, reads "White - Irish" as
    "White: Irish" and treats "non-binary" as "non binary", so the curated tables
    need not list every punctuation variant. Every step is a fixed rewrite; no
    answer is ever compared by similarity.

    >>> answer_key("White – Irish"), answer_key("Other (please specify)")
    ('white: irish', 'other')
    >>> answer_key("Gay woman / Lesbian"), answer_key("Gwell gennyf beidio â dweud")
    ('gay woman/lesbian', 'gwell gennyf beidio a dweud')
    """
    # Folding again until nothing changes makes the key idempotent, so keys can be
    # stored (in a mapping file, say) and folded again without drifting.
    key = text
    for _ in range(8):
        folded = _fold_once(key)
        if folded == key:
            break
        key = folded
    return key


def _fold_once(text: str) -> str:
    key = _strip_accents(normalise(text))
    key = _WRITE_IN_BRACKETS.sub("", key)
    key = _WRITE_IN_PLEASE.sub("", key)
    key = key.rstrip(" :*")
    key = _SLASH.sub("/", key)
    key = _LETTER_HYPHEN.sub(" ", key)
    key = _DIGIT_DASH.sub("-", key)
    key = _HEADING_DASH.sub(": ", key)
    key = _COLON.sub(": ", key)
    return _SPACES.sub(" ", key).strip()


# ---------------------------------------------------------------------------
# Ages in any common format


_YEARS = r"(?:\s*(?:years?|yrs?)(?:\s*old)?)?"
_AGED = r"(?:aged?\s+|ages\s+)?"
_AGE_YEARS = re.compile(rf"^(\d{{1,3}})(?:\.0+)?{_YEARS}$")
_AGE_RANGE = re.compile(rf"^{_AGED}(\d{{1,3}})\s*(?:-|to)\s*(\d{{1,3}}){_YEARS}$")
_AGE_OPEN = re.compile(
    rf"^{_AGED}(\d{{1,3}})\s*(?:years?\s+|yrs?\s+)?"
    rf"(?:\+|plus|and over|or over|and above|or above|and older|or older){_YEARS}$"
)
_AGE_UNDER = re.compile(rf"^{_AGED}(?:under|below|less than|younger than)\s+(\d{{1,3}})s?{_YEARS}$")
_AGE_AND_UNDER = re.compile(
    rf"^{_AGED}(\d{{1,3}})\s*(?:years?\s+|yrs?\s+)?"
    rf"(?:and under|or under|and below|or below|and younger|or younger){_YEARS}$"
)
_MAX_AGE = 120


def parse_age_span(text: str) -> tuple[int, int | None] | None:
    """An age or age band as inclusive ``(low, high)``; ``high`` None is open-ended.

    Accepts whole years and bands as forms and ONS write them, with any dash:

    >>> [parse_age_span(t) for t in ("34", "18–24", "Aged 25 to 34 years", "75+")]
    [(34, 34), (18, 24), (25, 34), (75, None)]
    >>> [parse_age_span(t) for t in ("Under 18", "Aged 15 years and under", "Female")]
    [(0, 17), (0, 15), None]
    """
    key = normalise(text)
    if match := _AGE_YEARS.match(key):
        age = int(match[1])
        return (age, age) if age <= _MAX_AGE else None
    if match := _AGE_RANGE.match(key):
        low, high = int(match[1]), int(match[2])
        return (low, high) if low <= high <= _MAX_AGE else None
    if match := _AGE_OPEN.match(key):
        return (int(match[1]), None) if int(match[1]) <= _MAX_AGE else None
    if match := _AGE_UNDER.match(key):
        limit = int(match[1])
        return (0, limit - 1) if 0 < limit <= _MAX_AGE else None
    if match := _AGE_AND_UNDER.match(key):
        return (0, int(match[1])) if int(match[1]) <= _MAX_AGE else None
    return None


def _within(inner: tuple[int, int | None], outer: tuple[int, int | None]) -> bool:
    if inner[0] < outer[0]:
        return False
    if outer[1] is None:
        return True
    return inner[1] is not None and inner[1] <= outer[1]


def _overlaps(first: tuple[int, int | None], second: tuple[int, int | None]) -> bool:
    first_high = first[1] if first[1] is not None else _MAX_AGE
    second_high = second[1] if second[1] is not None else _MAX_AGE
    return first[0] <= second_high and second[0] <= first_high


def _span_text(span: tuple[int, int | None]) -> str:
    low, high = span
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def _place_age(answer: str, categories: Sequence[str]) -> Placement | None:
    """An age answer placed in age-band categories; None when either is not an age.

    A band goes to the category with the same range, or to the one that contains
    it ("18-24" is inside "Aged 16 to 24 years"); a band that straddles categories
    is unplaceable, because splitting it would be a guess.
    """
    bands = [(category, parse_age_span(category)) for category in categories]
    span = parse_age_span(answer)
    if span is None or not bands or any(band is None for _, band in bands):
        return None
    spans = [(category, band) for category, band in bands if band is not None]
    for category, band in spans:
        if band == span:
            return Placement("category", category)
    for category, band in spans:
        if _within(span, band):
            return Placement("category", category)
    touching = [category for category, band in spans if _overlaps(span, band)]
    if touching:
        listed = ", ".join(f"'{c}'" for c in touching)
        note = (
            f"'{answer}' (ages {_span_text(span)}) spans several reference age bands "
            f"({listed}), so it cannot be placed in one."
        )
    else:
        note = f"'{answer}' (ages {_span_text(span)}) is outside every reference age band."
    return Placement("unplaceable", note=note)


# ---------------------------------------------------------------------------
# Knowledge loaded from the data files


@dataclass(frozen=True)
class _Target:
    label: str
    note: str | None


@dataclass(frozen=True)
class _Tree:
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


_EMPTY_TREE = _Tree({}, {})
# Key of the knowledge used for characteristics the data does not cover.
_ANY = "*"


@dataclass(frozen=True)
class _Knowledge:
    """Everything known about one characteristic's answers."""

    tree: _Tree = _EMPTY_TREE
    synonyms: Mapping[str, _Target] = field(default_factory=dict)
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


def _build_tree(name: str, spec: dict[str, Any]) -> _Tree:
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
    tree = _tree(parent)
    for label in parent:
        if label in tree.ancestors(label):  # pragma: no cover - guards hand-edited data
            raise ClassificationDataError(f"classification.{name}: {label!r} is its own parent")
    return tree


def _tree(parent: dict[str, str | None]) -> _Tree:
    children: dict[str, list[str]] = {}
    for label, up in parent.items():
        if up is not None:
            children.setdefault(up, []).append(label)
    return _Tree(parent, {k: tuple(v) for k, v in children.items()})


class _TableBuilder:
    """Collects answer keys for one characteristic, refusing contradictions.

    Two wordings that fold to the same key but mean different things would make
    the result depend on file order; that is a data bug, reported at load time.
    """

    def __init__(self, characteristic: str, tree: _Tree) -> None:
        self.characteristic = characteristic
        self.tree = tree
        self.synonyms: dict[str, _Target] = {}
        self.sources: dict[str, str] = {}

    def label(self, label: str | None, where: str) -> str:
        if label is None or label not in self.tree.parent:
            raise ClassificationDataError(
                f"{where}: {label!r} is not a label of {self.characteristic}'s classification"
            )
        return label

    def add(self, answer: str, target: _Target, where: str) -> None:
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
            builder.add(answer, _Target(group, None), where)
        prefix_only = _strings(entry.get("prefix_only"), f"{where}.prefix_only")
        heads.setdefault(group, [group]).extend(standalone + prefix_only)

    options: dict[str, dict[str, _Target]] = {group: {} for group in heads}

    def offer(group: str, option: str, target: _Target, where: str) -> None:
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
            offer(tree.root(label), label.split(": ", 1)[1], _Target(label, None), "ONS label")
    for i, entry in enumerate(entries):
        where = f"synonym.{name}[{i}]"
        label = builder.label(entry.get("maps_to"), where)
        if tree.parent[label] is None:
            continue  # a high-level answer is not an option under a heading
        target = _Target(label, _string(entry.get("note"), f"{where}.note", required=False))
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


def _checked_knowledge() -> tuple[dict[str, _Knowledge], frozenset[str], dict[str, str]]:
    """Knowledge for every characteristic the data files cover, checked, from the files.

    Returns the knowledge of each characteristic that is not an alias, the
    declined answers of every characteristic, and alias → characteristic.
    """
    classifications = _table(
        _read_toml("classifications.toml").get("classification"), "classification"
    )
    trees: dict[str, _Tree] = {}
    for name, spec in classifications.items():
        spec = _table(spec, f"classification.{name}")
        tree = _build_tree(name, spec)
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

    knowledge: dict[str, _Knowledge] = {}
    for name in sorted(names - set(aliases)):
        tree = trees.get(name, _EMPTY_TREE)
        builder = _TableBuilder(name, tree)
        for label in tree.parent:
            builder.add(label, _Target(label, None), "ONS label")
        entries = _entries(synonym_spec.get(name), f"synonym.{name}")
        for i, entry in enumerate(entries):
            where = f"synonym.{name}[{i}]"
            _string(entry.get("source"), f"{where}.source")
            target = _Target(
                builder.label(entry.get("maps_to"), where),
                _string(entry.get("note"), f"{where}.note", required=False),
            )
            for answer in _strings(entry.get("answers"), f"{where}.answers") + _strings(
                entry.get("codes"), f"{where}.codes"
            ):
                builder.add(answer, target, where)
        _add_headings(builder, _entries(heading_spec.get(name), f"heading.{name}"), entries)

        unplaceable: dict[str, str] = {}
        for i, entry in enumerate(_entries(unplaceable_spec.get(name), f"unplaceable.{name}")):
            where = f"unplaceable.{name}[{i}]"
            _string(entry.get("source"), f"{where}.source")
            note = _string(entry.get("note"), f"{where}.note")
            assert note is not None
            for answer in _strings(entry.get("answers"), f"{where}.answers"):
                key = answer_key(answer)
                if key in builder.synonyms or key in unplaceable:
                    raise ClassificationDataError(f"{where}: {answer!r} is already listed")
                unplaceable[key] = note

        own = _table(declined_spec.get(name, {}), f"declined.{name}")
        declined = common | {
            answer_key(a) for a in _strings(own.get("answers"), f"declined.{name}.answers")
        }
        clash = declined & (set(builder.synonyms) | set(unplaceable))
        if clash:
            raise ClassificationDataError(
                f"{name}: {sorted(clash)} are both declined answers and mapped or unplaceable"
            )
        knowledge[name] = _Knowledge(tree, builder.synonyms, unplaceable, frozenset(declined))

    checked_aliases: dict[str, str] = {}
    for alias, canonical in aliases.items():
        if canonical is None or canonical not in knowledge:
            raise ClassificationDataError(f"aliases.{alias}: {canonical!r} has no knowledge")
        checked_aliases[alias] = canonical
    return knowledge, frozenset(common), checked_aliases


@cache
def _knowledge_table() -> Mapping[str, _Knowledge]:
    """Knowledge for every characteristic the data files cover, from the index, once."""
    index = _index()
    common = frozenset(index["declined"])
    knowledge = {
        name: _Knowledge(
            _tree(entry["tree"]),
            {
                key: _Target(label, entry["notes"].get(key))
                for key, label in entry["synonyms"].items()
            },
            entry["unplaceable"],
            common | frozenset(entry["declined"]),
        )
        for name, entry in index["knowledge"].items()
    }
    knowledge[_ANY] = _Knowledge(declined=common)
    for alias, canonical in index["aliases"].items():
        knowledge[alias] = knowledge[canonical]
    return knowledge


def _knowledge(characteristic: str) -> _Knowledge:
    table = _knowledge_table()
    found = table.get(characteristic)
    if found is not None:
        return found
    # A characteristic the data does not cover (a custom question) still knows
    # "prefer not to say", but nothing else: its answers must match exactly.
    return _Knowledge(declined=table[_ANY].declined)


# ---------------------------------------------------------------------------
# Placing answers


def place_answer(characteristic: str, answer: str | None, categories: Sequence[str]) -> Placement:
    """Place one answer among a reference's categories, or say why it cannot be.

    ``categories`` are the reference's categories for the characteristic: usually
    the exact ONS labels, at whatever level the reference uses (19 ethnic groups
    or 5), or a user's own labels. In order:

    1. blank → "blank"; a "prefer not to say"-style answer → "declined";
    2. the answer is one of ``categories`` once folded → "category";
    3. an age or age band with age-band categories → the band with the same range
       or the one containing it;
    4. a curated synonym → its ONS label if it is among ``categories``, else the
       nearest coarser label that is ("Pan" → "All other sexual orientations"
       when the reference has no "Pansexual"); if the answer only names a group
       that the reference splits further ("Mixed race" against 19 ethnic groups,
       "Homeowner" against owned outright / with a mortgage) → "broad_only";
    5. a curated unplaceable answer ("BAME", a bare "Other" for ethnic group) →
       "unplaceable" with the reason;
    6. anything else → "unknown": the caller must stop and ask for a mapping.

    >>> groups = ["Straight or Heterosexual", "Gay or Lesbian", "Bisexual",
    ...           "All other sexual orientations"]
    >>> place_answer("sexual_orientation", "Pan", groups).category
    'All other sexual orientations'
    """
    if answer is None or not answer.strip():
        return Placement("blank")
    knowledge = _knowledge(characteristic)
    key = answer_key(answer)
    if key in knowledge.declined or normalise(answer) in DECLINED_ANSWERS:
        return Placement("declined")
    by_key = _category_keys(tuple(categories))
    tree = knowledge.tree
    if key in by_key:
        # The reference's own label: its top-level group is known when the label (or
        # a synonym spelled like it) is in the classification.
        known = knowledge.synonyms.get(key)
        return Placement("category", by_key[key], tree.root(known.label) if known else None)
    if (age := _place_age(answer, categories)) is not None:
        return age
    target = knowledge.synonyms.get(key)
    if target is not None:
        return _resolve(tree, answer, target, by_key)
    if key in knowledge.unplaceable:
        return Placement("unplaceable", note=knowledge.unplaceable[key])
    return Placement("unknown")


@lru_cache(maxsize=256)
def _category_keys(categories: tuple[str, ...]) -> Mapping[str, str]:
    """Folded key → category, cached because an audit places many answers per list.

    Of two categories that fold alike the first wins; ``harmonise.check_categories``
    reports such a reference as an error before this matters.
    """
    by_key: dict[str, str] = {}
    for category in categories:
        by_key.setdefault(answer_key(category), category)
    return by_key


def _resolve(tree: _Tree, answer: str, target: _Target, by_key: Mapping[str, str]) -> Placement:
    """Place a synonym's ONS label at the level the reference's categories use."""
    for label in [target.label, *tree.ancestors(target.label)]:
        category = by_key.get(answer_key(label))
        if category is not None:
            return Placement("category", category, tree.root(target.label), target.note)
    inside = [by_key[k] for k in map(answer_key, tree.descendants(target.label)) if k in by_key]
    if inside:
        note = (
            f"'{answer}' names only the group '{target.label}', which the reference splits "
            f"into {len(inside)} categories; the answer does not say which."
        )
        if target.note:
            note = f"{note} {target.note}"
        return Placement("broad_only", None, tree.root(target.label), note)
    return Placement(
        "unknown",
        note=f"'{answer}' usually means '{target.label}', which is not among the "
        "reference's categories.",
    )


def closest_categories(answer: str, categories: Sequence[str], limit: int = 3) -> list[str]:
    """Categories that look like an answer, best first, for a "did you mean" message.

    This is the one place similarity is used, and only to suggest: the result is
    shown to the user, never applied. Each category is compared whole and by its
    part after the last ':' ("Chineese" is close to "...: Chinese").

    >>> closest_categories("Chineese", ["Asian, Asian British or Asian Welsh: Chinese", "White"])
    ['Asian, Asian British or Asian Welsh: Chinese']
    """
    key = answer_key(answer)
    scored = []
    for index, category in enumerate(categories):
        folded = answer_key(category)
        tail = folded.rsplit(": ", 1)[-1]
        score = max(
            difflib.SequenceMatcher(None, key, folded).ratio(),
            difflib.SequenceMatcher(None, key, tail).ratio(),
        )
        if score >= 0.5:
            scored.append((-score, index, category))
    return [category for _, _, category in sorted(scored)[: max(limit, 0)]]


def synonyms_for(characteristic: str) -> dict[str, str]:
    """Every folded answer the knowledge maps, and the ONS label it means.

    Includes the ONS labels themselves and, for ethnic group, every heading and
    option combination. Labels may be coarser than a reference's categories
    ("Mixed or Multiple ethnic groups"); :func:`place_answer` decides the level.
    Unplaceable and declined answers are not included.
    """
    return {key: t.label for key, t in _knowledge(characteristic).synonyms.items()}


# ---------------------------------------------------------------------------
# Recognising columns


@dataclass(frozen=True)
class _Rule:
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


def _header_text(header: str) -> str:
    """A header folded to plain words: "Q5. Ethnic group? (optional)" → "ethnic group"."""
    text = _strip_accents(normalise(header))
    text = _QUESTION_NUMBER.sub("", text, count=1)
    words = _NON_WORD.sub(" ", text).split()
    while words and words[-1] in _TRAILING_WORDS:
        words.pop()
    return " ".join(words)


def _phrases(value: object, where: str) -> tuple[str, ...]:
    return tuple(_header_text(p) for p in _strings(value, where))


@cache
def _rules() -> tuple[_Rule, ...]:
    return tuple(
        _Rule(
            rule["kind"],
            rule["characteristic"],
            rule["reason"],
            rule["approximate"],
            frozenset(rule["exact"]),
            tuple(rule["all"]),
            tuple(rule["any"]),
        )
        for rule in _index()["rules"]
    )


def _checked_rules() -> tuple[_Rule, ...]:
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
        rule = _Rule(
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


@cache
def _characteristic_names() -> dict[str, str]:
    """Header text → characteristic, for columns named after one ("ethnic_group")."""
    names = {"age", *_knowledge_table()} - {_ANY}
    return {name.replace("_", " "): name for name in names}


def guess_column(header: str) -> ColumnGuess:
    """What a column holds, from its header alone, with the reason in words.

    Rule-based and explainable: the header is folded to plain words and the
    first rule of ``columns.toml`` whose phrases it contains wins. Identifying
    and free-text columns are recognised so the caller can promise they never
    reach a result; a header no rule knows is "ignore".

    >>> guess_column("Q5. What is your ethnic group? (optional)").characteristic
    'ethnic_group'
    >>> guess_column("Gender").approximate is not None
    True
    """
    text = _header_text(header)
    named = _characteristic_names().get(text)
    if named is not None:
        return ColumnGuess(
            "characteristic", named, None, f"header {header!r} is named after {named}"
        )
    for rule in _rules():
        if rule.matches(text):
            return ColumnGuess(
                rule.kind, rule.characteristic, rule.approximate, f"header {header!r} {rule.reason}"
            )
    return ColumnGuess("ignore", None, None, f"header {header!r} is not a question the audit knows")


# ---------------------------------------------------------------------------
# The prebuilt index

INDEX_FILE = "answer_knowledge.json"
# Raise when the index's layout changes, so an index in the old layout is not read.
_INDEX_FORMAT = 1
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
    knowledge, common, aliases = _checked_knowledge()
    return {
        "format": _INDEX_FORMAT,
        "sources": _source_digests(),
        "declined": sorted(common),
        "aliases": aliases,
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
def _index() -> dict[str, Any]:
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
