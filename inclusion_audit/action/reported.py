"""What participants reported: a register's "what nearly stopped you" question.

This reads register columns, an ingest job, but it sits with the knowledge base
because the answers it understands are the knowledge base's own vocabulary
(barrier labels, aliases, "none of these").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inclusion_audit.action.knowledge import OTHER, SPLIT_OPTIONS, KnowledgeBase, reported_key
from inclusion_audit.action.knowledge_loader import load_knowledge_base
from inclusion_audit.vocab.folding import is_declined

__all__ = [
    "BarrierColumn",
    "count_reported_barriers",
    "reported_barrier_answers",
    "reported_barrier_columns",
]


def reported_barrier_answers(
    answer_counts: Iterable[tuple[str | None, int]], *, knowledge: KnowledgeBase | None = None
) -> dict[str, int]:
    """Participants per controlled barrier id, from one multi-select column's answer counts.

    ``answer_counts`` is one column of :func:`inclusion_audit.ingest.readers.answer_counts`:
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
    for option in SPLIT_OPTIONS.split(cell):
        for barrier_id in _option_ids(option, knowledge):
            found[barrier_id] = None
    return list(found)


def _option_ids(option: str, knowledge: KnowledgeBase) -> list[str]:
    key = reported_key(option)
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
        key = reported_key(header)
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
    if match and _asks(reported_key(match["question"]), knowledge):
        return match["option"].strip()
    cuts = sorted((text.find(s), s) for s in _SEPARATORS if s in text)
    for position, separator in cuts:
        question, rest = text[:position], text[position + len(separator) :]
        option = rest.strip().lstrip(":-–—>|").strip()
        if option and _asks(reported_key(question), knowledge):
            return option
    return None


def count_reported_barriers(
    columns: Sequence[BarrierColumn],
    counts: Mapping[str, Sequence[tuple[str | None, int]]],
    *,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, int]:
    """Participants per controlled id over every barrier column, ready for ``analyse_barriers``.

    ``counts`` is the first value :func:`inclusion_audit.ingest.readers.answer_counts`
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
            option_key = reported_key(column.option)
            ticks = sum(int(n) for cell, n in answers if _ticked(cell, option_key))
            found = {column.barrier: ticks} if ticks else {}
        for barrier_id, n in found.items():
            totals[barrier_id] = max(totals.get(barrier_id, 0), n)
    return totals


def _ticked(cell: str | None, option_key: str) -> bool:
    if cell is None:
        return False
    key = reported_key(cell)
    return key in _TICKED or key == option_key or cell.strip() in _TICK_MARKS
