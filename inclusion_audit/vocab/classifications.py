"""Placing answers: where an answer belongs among a reference's categories.

Real registers are form exports. Their headers are question texts ("Q5. What is
your ethnic group? (optional)") and their answers come in many wordings: 2011-style
GSS labels, NHS codes, "White British", "Rather not say". This module turns both
into the exact ONS categories, using curated knowledge kept as data in
``vocab/data/`` so that reviewers can audit every mapping and its source
(:mod:`.knowledge` loads and checks it, :mod:`.columns` recognises headers):

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from inclusion_audit.vocab.ages import (
    AgeSpan,
    band_label,
    overlaps,
    parse_age_span,
    span_text,
    within,
)
from inclusion_audit.vocab.answer_keys import answer_key
from inclusion_audit.vocab.folding import DECLINED_ANSWERS, normalise
from inclusion_audit.vocab.knowledge import (
    ANY_CHARACTERISTIC,
    CategoryTree,
    CharacteristicKnowledge,
    SynonymTarget,
    current_index,
    make_tree,
)

__all__ = [
    "BROADER_CHARACTERISTIC",
    "PLACEMENT_KINDS",
    "REFERENCE_CHARACTERISTIC",
    "Placement",
    "canonical_category",
    "classification_for",
    "closest_categories",
    "groups_containing",
    "hierarchy",
    "knows_answers",
    "parse_age_span",
    "place_answer",
    "probable_characteristic",
    "synonyms_for",
]


PLACEMENT_KINDS = ("category", "broad_only", "declined", "blank", "unplaceable", "unknown")


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
    group: str | None = None
    """For a "broad_only" answer, the group of the classification it names."""


@lru_cache(maxsize=256)
def _age_bands(categories: tuple[str, ...]) -> list[tuple[str, AgeSpan | None]]:
    """Each category with the age band it reads as (None when it is no band)."""
    return [(category, parse_age_span(category)) for category in categories]


def _place_age(answer: str, categories: Sequence[str]) -> Placement | None:
    """An age answer placed in age-band categories; None when either is not an age.

    A band goes to the category with the same range, or to the one that contains
    it ("18-24" is inside "Aged 16 to 24 years"); a band that straddles categories
    is unplaceable, because splitting it would be a guess.
    """
    span = parse_age_span(answer)
    if span is None:  # first: most answers are no age, and categories cost more to read
        return None
    bands = _age_bands(tuple(categories))
    if not bands or any(band is None for _, band in bands):
        return None
    spans = [(category, band) for category, band in bands if band is not None]
    for category, band in spans:
        if band == span:
            return Placement("category", category)
    for category, band in spans:
        if within(span, band):
            return Placement("category", category)
    touching = [category for category, band in spans if overlaps(span, band)]
    if touching:
        listed = ", ".join(f"'{c}'" for c in touching)
        note = (
            f"'{answer}' (ages {span_text(span)}) spans several reference age bands "
            f"({listed}), so it cannot be placed in one."
        )
    else:
        note = f"'{answer}' (ages {span_text(span)}) is outside every reference age band."
    return Placement("unplaceable", note=note)


@cache
def knowledge_table() -> Mapping[str, CharacteristicKnowledge]:
    """Knowledge for every characteristic the data files cover, from the index, once."""
    index = current_index()
    common = frozenset(index["declined"])
    knowledge = {
        name: CharacteristicKnowledge(
            make_tree(entry["tree"]),
            {
                key: SynonymTarget(label, entry["notes"].get(key))
                for key, label in entry["synonyms"].items()
            },
            entry["unplaceable"],
            common | frozenset(entry["declined"]),
        )
        for name, entry in index["knowledge"].items()
    }
    knowledge[ANY_CHARACTERISTIC] = CharacteristicKnowledge(declined=common)
    for alias, canonical in index["aliases"].items():
        knowledge[alias] = knowledge[canonical]
    return knowledge


def _knowledge(characteristic: str) -> CharacteristicKnowledge:
    table = knowledge_table()
    found = table.get(characteristic)
    if found is not None:
        return found
    # A characteristic the data does not cover (a custom question) still knows
    # "prefer not to say", but nothing else: its answers must match exactly.
    return CharacteristicKnowledge(declined=table[ANY_CHARACTERISTIC].declined)


@cache
def _variants_of() -> Mapping[str, tuple[str, ...]]:
    """Characteristic (or alias) → the names of its variant classifications."""
    index = current_index()
    found: dict[str, list[str]] = {}
    for variant, base in index["variants"].items():
        found.setdefault(base, []).append(variant)
    for alias, canonical in index["aliases"].items():
        if canonical in found:
            found[alias] = found[canonical]
    return {name: tuple(sorted(names)) for name, names in found.items()}


def variant_names() -> frozenset[str]:
    """The nations' own classifications (``ethnic_group_ni``...): never a column's name."""
    return frozenset(current_index()["variants"])


def _labels_cover(tree: CategoryTree, categories: tuple[str, ...]) -> bool:
    keys = {answer_key(label) for label in tree.parent}
    return all(answer_key(category) in keys for category in categories)


@lru_cache(maxsize=256)
def classification_for(characteristic: str, categories: tuple[str, ...]) -> str:
    """The classification whose labels a reference's categories are: the name to place by.

    Each nation publishes some characteristics with its own categories: NISRA's
    ethnic groups for Northern Ireland have Irish Traveller and Roma as groups of
    their own, where England and Wales have "White: Gypsy or Irish Traveller" and
    "White: Roma". Answers are placed by the classification of the area audited,
    which its categories show. A reference that is the characteristic's own
    classification, or no classification at all (a user's own labels), keeps the
    characteristic.

    >>> classification_for("ethnic_group", ("White", "Irish Traveller", "Roma", "Mixed"))
    'ethnic_group_ni'
    >>> classification_for("ethnic_group", ("White", "Mixed or Multiple ethnic groups"))
    'ethnic_group'
    """
    variants = _variants_of().get(characteristic, ())
    if not variants or not categories:
        return characteristic
    table = knowledge_table()
    own = table.get(characteristic)
    if own is not None and _labels_cover(own.tree, categories):
        return characteristic
    for variant in variants:
        if _labels_cover(table[variant].tree, categories):
            return variant
    return characteristic


def hierarchy(characteristic: str) -> tuple[Mapping[str, str | None], bool]:
    """The classification tree of a characteristic: label → parent label (None at the top).

    The flag says whether the tree has more than one level. Empty for a
    characteristic without a classification (a custom question).
    """
    tree = _knowledge(characteristic).tree
    return tree.parent, any(up is not None for up in tree.parent.values())


def knows_answers(characteristic: str) -> bool:
    """Whether the knowledge has a classification for the characteristic's answers."""
    return bool(_knowledge(characteristic).tree.parent)


def groups_containing(
    characteristic: str, categories: Sequence[str], groups: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """For each category, the ``groups`` (labels of its classification) that contain it.

    Used when some answers name only a broad group ("Other language", "Mixed
    race"): a category inside such a group cannot be judged from the detailed
    answers alone, and is counted under the group at the level the answers
    support. Groups come lowest first; a category in no group gets ``()``.

    >>> groups_containing("english_proficiency", [
    ...     "Main language is English (English or Welsh in Wales)",
    ...     "Main language is not English (English or Welsh in Wales): Cannot speak English",
    ... ], ["Main language is not English (English or Welsh in Wales)"])[
    ...     "Main language is not English (English or Welsh in Wales): Cannot speak English"]
    ('Main language is not English (English or Welsh in Wales)',)
    """
    name = classification_for(characteristic, tuple(categories))
    tree = _knowledge(name).tree
    by_key = {answer_key(label): label for label in tree.parent}
    wanted = {answer_key(group) for group in groups}
    found: dict[str, tuple[str, ...]] = {}
    for category in categories:
        label = by_key.get(answer_key(category))
        chain = [] if label is None else [label, *tree.ancestors(label)]
        found[category] = tuple(up for up in chain if answer_key(up) in wanted)
    return found


def probable_characteristic(
    answers: Sequence[tuple[str | None, int]], characteristics: Sequence[str]
) -> tuple[str, int, int] | None:
    """The one characteristic a column's answers look like, from the answers alone.

    For a column whose header no rule recognises ("Background"): each answer is
    placed among every label of each characteristic's classification. The column
    is probably that characteristic when at least 80% of its answered rows (not
    blank, not declined), in at least two different categories, are placed, and no
    other characteristic fits as well (a Yes/No column could be several, so it is
    none). Returns the characteristic, the rows placed and the rows answered. Only
    suggests: nothing is audited from it.

    >>> probable_characteristic([("White British", 3), ("Indian", 2), (None, 1)],
    ...                         ["sex", "ethnic_group", "religion"])
    ('ethnic_group', 5, 5)
    """
    scores: list[tuple[int, int, str]] = []
    for characteristic in characteristics:
        labels = tuple(_knowledge(characteristic).tree.parent)
        if not labels:
            continue
        placed, answered = 0, 0
        categories: set[str | None] = set()
        for answer, count in answers:
            where = place_answer(characteristic, answer, labels)
            if where.kind in ("blank", "declined"):
                continue
            answered += count
            if where.kind in ("category", "broad_only"):
                placed += count
                categories.add(where.category or where.group)
        if answered and placed >= 0.8 * answered and len(categories) >= 2:
            scores.append((placed, answered, characteristic))
    if not scores:
        return None
    scores.sort(reverse=True)
    if len(scores) > 1 and scores[1][0] == scores[0][0]:
        return None
    placed, answered, name = scores[0]
    return name, placed, answered


def rank_characteristics(
    answers: Sequence[tuple[str | None, int]], characteristics: Sequence[str]
) -> list[tuple[str, int, int]]:
    """The characteristics a column's answers could be, closest first: a suggestion.

    For a column whose header no rule recognises, when the user is asked what it
    holds: each characteristic is scored by the answered rows (not blank, not
    declined) its classification places, as :func:`probable_characteristic` does,
    and ``age`` by the answers that read as an age or an age band. Only those
    placing at least one row are returned, as ``(characteristic, placed,
    answered)``, most placed first, ties in the given order.

    >>> rank_characteristics([("Female", 3), ("Male", 2), ("34", 1)], ["age", "sex"])
    [('sex', 5, 6), ('age', 1, 6)]
    """
    scored: list[tuple[int, int, str, int]] = []
    for index, characteristic in enumerate(dict.fromkeys(characteristics)):
        placed, answered = 0, 0
        if characteristic == "age":
            for answer, count in answers:
                if answer is None or not answer.strip() or normalise(answer) in DECLINED_ANSWERS:
                    continue
                answered += count
                placed += count if parse_age_span(answer) is not None else 0
        else:
            labels = tuple(_knowledge(characteristic).tree.parent)
            if not labels:
                continue
            for answer, count in answers:
                where = place_answer(characteristic, answer, labels)
                if where.kind in ("blank", "declined"):
                    continue
                answered += count
                placed += count if where.kind in ("category", "broad_only") else 0
        if placed:
            scored.append((-placed, index, characteristic, answered))
    return [(name, -negative, answered) for negative, _, name, answered in sorted(scored)]


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
    knowledge = _knowledge(classification_for(characteristic, tuple(categories)))
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
    if (label := _label_by_tail(key, tuple(categories), tuple(tree.parent))) is not None:
        return _resolve(tree, answer, SynonymTarget(label, None), by_key)
    return _bilingual(characteristic, key, categories)


def _label_by_tail(key: str, categories: tuple[str, ...], labels: tuple[str, ...]) -> str | None:
    """The one label whose part after the colon is the answer ("Irish", "Roma", "Arab").

    Two-level labels name their group, a colon and the category ("White: Irish");
    forms often print only the part after the colon. The reference's own
    categories are tried first, then the classification's labels (placed at the
    reference's level by the caller). An answer that is the tail of more than one
    label ("Other" is not a tail; a tail shared by two groups would be) stays unknown.

    >>> _label_by_tail("roma", ("White: Roma", "White: Irish"), ())
    'White: Roma'
    >>> _label_by_tail("other", ("White: Other", "Black: Other"), ()) is None
    True
    """
    for pool in (categories, labels):
        found = {label for label in pool if ": " in label and _tail_key(label) == key}
        if len(found) == 1:
            return found.pop()
        if len(found) > 1:
            return None
    return None


@lru_cache(maxsize=4096)
def _tail_key(label: str) -> str:
    return answer_key(label.rsplit(": ", 1)[-1])


def _bilingual(characteristic: str, key: str, categories: Sequence[str]) -> Placement:
    """A bilingual answer ("Benyw / Female", "Ydw / Yes") read by its two halves.

    Welsh forms print each option in Welsh and English around a slash. The answer
    is placed only when both halves are known and mean the same thing; "Male /
    Female" (two different answers) stays unknown.
    """
    halves = key.split("/")
    if len(halves) != 2 or not all(half.strip() for half in halves):
        return Placement("unknown")
    placed = [place_answer(characteristic, half.strip(), categories) for half in halves]
    first = placed[0]
    if all(p.kind == "declined" for p in placed):
        return first
    same = all(
        (p.kind, p.category, p.group) == (first.kind, first.category, first.group) for p in placed
    )
    if same and first.kind in ("category", "broad_only"):
        return first
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


def _resolve(
    tree: CategoryTree, answer: str, target: SynonymTarget, by_key: Mapping[str, str]
) -> Placement:
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
        return Placement("broad_only", None, tree.root(target.label), note, target.label)
    return Placement(
        "unknown",
        note=f"'{answer}' usually means '{target.label}', which is not among the "
        "reference's categories.",
    )


_LONGEST_COMPARED = 1_000
"""As ``ingest.limits.MAX_ANSWER_CHARS`` (this layer is below ingest)."""


def closest_categories(answer: str, categories: Sequence[str], limit: int = 3) -> list[str]:
    """Categories that look like an answer, best first, for a "did you mean" message.

    This is the one place similarity is used, and only to suggest: the result is
    shown to the user, never applied. Each category is compared whole and by its
    part after the last ':' ("Chineese" is close to "...: Chinese").

    >>> closest_categories("Chineese", ["Asian, Asian British or Asian Welsh: Chinese", "White"])
    ['Asian, Asian British or Asian Welsh: Chinese']

    An answer over ``_LONGEST_COMPARED`` characters is like no category, and is
    not compared: similarity costs time in the square of the length.
    """
    if len(answer) > _LONGEST_COMPARED:
        return []
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


def canonical_category(characteristic: str, category: str) -> str:
    """A group's one name: age bands as ``band_label`` writes them, anything else as it is.

    Reference categories are already canonical; age bands come from registers, so
    events stored by earlier versions may carry a register's spelling, which would
    split one group in two in a review (issue 12).

    >>> canonical_category("age", "16 – 24"), canonical_category("age", "16 - 24 yrs")
    ('16-24', '16-24')
    >>> canonical_category("age", "75 and over"), canonical_category("sex", "Female")
    ('75+', 'Female')
    """
    if characteristic != "age":
        return category
    span = parse_age_span(category)
    return category if span is None else band_label(*span)
