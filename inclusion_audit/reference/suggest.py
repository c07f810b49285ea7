"""Write a mapping file for a user to review: every column and answer, as understood.

``inclusion-audit mapping suggest`` runs the same column assignment and answer
placement as an audit and writes down the outcome, so an officer can see each
decision, correct it, and fill in what the tool could not place. Identifying
and free-text columns are listed as ignored, never with their contents.

:func:`column_choices` is the same help for a person in a browser: the columns
no rule recognises whose answers look like a closed question's, each with the
characteristics it could hold, closest first, for the service's fix-up page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from inclusion_audit import __version__
from inclusion_audit.ingest.harmonise import AnswerPlacer, assign_columns, birth_answer_age
from inclusion_audit.ingest.mapping import DECLINED, IGNORE, UNPLACEABLE, UserMapping, toml_string
from inclusion_audit.ingest.readers import Table, answer_counts, collect
from inclusion_audit.reference.profiles import NotAvailable, ReferenceSource
from inclusion_audit.vocab.classifications import (
    BROADER_CHARACTERISTIC,
    closest_categories,
    rank_characteristics,
    variant_names,
)
from inclusion_audit.vocab.columns import guess_column


def suggest_mapping(
    table: Table, reference: ReferenceSource, event_date: dt.date | None = None
) -> str:
    """The mapping file for a register, as TOML text with comments."""
    wanted = reference.characteristic_names()
    assigned = assign_columns(table.columns, wanted, None, source=table.name)
    columns = [a.column for a in assigned.values()]
    counts, rows = answer_counts(table, columns)
    by_column = {a.column: a for a in assigned.values()}

    lines = [
        f"# Mapping for {table.name} ({rows:,} rows), written by inclusion-audit {__version__}",
        f"# against {reference.description}.",
        "# Review it, fill in every answer marked TODO, then run:",
        f"#   inclusion-audit audit {table.name} … --mapping THIS_FILE",
        '# [columns]: the characteristic each column answers, or "ignore".',
        '# [answers.<question>]: a category exactly as written, "declined" (counted with',
        '# \'prefer not to say\'), "unplaceable" (reported, counted in no group), or "" (TODO).',
        "",
        "[columns]",
    ]
    for header in table.columns:
        assignment = by_column.get(header)
        if assignment is not None:
            note = f"# {assignment.reason}"
            if assignment.approximate:
                note += f". Approximate: {assignment.approximate}"
            lines.append(f"{toml_string(header)} = {toml_string(assignment.question)}  {note}")
        else:
            guess = guess_column(header)
            why = guess.reason if guess.kind != "ignore" else "not recognised as a characteristic"
            lines.append(f"{toml_string(header)} = {toml_string(IGNORE)}  # {why}")

    for name, assignment in assigned.items():
        raw = counts[assignment.column]
        answers = [a for a, _ in raw if a is not None and a.strip()]
        if assignment.dates_of_birth:
            lines += ["", f"# {assignment.column}: dates of birth, turned into ages at the event."]
            answers = [str(birth_answer_age(a, event_date) or a) for a in answers]
        profile = reference.profile(name, answers)
        if isinstance(profile, NotAvailable):
            lines += ["", f"# {name}: not audited ({profile.reason})"]
            continue
        categories = list(profile.categories)
        placer = AnswerPlacer(assignment.question, categories, event_date=event_date)
        lines += [
            "",
            f"# {assignment.column} → {name}; categories: " + "; ".join(categories),
            f"[answers.{toml_string(assignment.question)}]",
        ]
        for answer, count in sorted(raw, key=lambda pair: (-pair[1], pair[0] or "")):
            if answer is None or not answer.strip():
                continue
            placement = placer.place(answer)
            plural = "s" if count != 1 else ""
            if placement.kind == "category" and placement.category is not None:
                value, note = placement.category, placement.note or "recognised"
            elif placement.kind == "declined":
                value, note = DECLINED, "a 'prefer not to say' answer"
            elif placement.kind in ("unplaceable", "broad_only"):
                value, note = UNPLACEABLE, placement.note or "fits no single category"
            else:
                near = closest_categories(answer, categories)
                value = ""
                note = "TODO: not recognised" + (f"; closest: {' / '.join(near)}" if near else "")
            lines.append(
                f"{toml_string(answer)} = {toml_string(value)}  # {count:,} row{plural}; {note}"
            )
    # Each entry is one line: a header or file name with a line break (or another
    # control character TOML forbids in comments) must not break out of its comment.
    return "\n".join(_CONTROL.sub(" ", line) for line in lines) + "\n"


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


PROBE_ROWS = 5_000
"""Rows of an unrecognised column looked at to suggest what it holds (as the audit's probe)."""
MAX_COLUMNS = 20
"""Unrecognised columns looked at, at most: a survey export can have hundreds."""
MAX_DISTINCT = 30
"""A closed question has few answers; free text and identifiers have one per person."""
MAX_ANSWER_CHARS = 100


@dataclass(frozen=True)
class ColumnSuggestion:
    """A characteristic an unrecognised column could hold: ``placed`` of its ``answered``
    rows (among the first :data:`PROBE_ROWS`) are that characteristic's categories."""

    characteristic: str
    placed: int
    answered: int


@dataclass(frozen=True)
class ColumnChoice:
    """An unrecognised column a person can say the meaning of.

    Offered only when its answers look like a closed question's: most of them
    are some characteristic's categories, or they repeat (at most
    :data:`MAX_DISTINCT` different short answers, given by two rows each on
    average). Free text and identifiers are neither offered nor described.
    ``suggestions`` are closest first; ``choices`` every characteristic it may
    be said to hold (each the mapping file's ``[columns]`` value).
    """

    column: str
    suggestions: tuple[ColumnSuggestion, ...]
    choices: tuple[str, ...]


def column_choices(
    table: Table,
    reference: ReferenceSource,
    mapping: UserMapping | None = None,
    quota_names: Sequence[str] = (),
) -> list[ColumnChoice]:
    """The register's unrecognised columns a person could map, in header order.

    A column is unrecognised when no rule of the column vocabulary knows its
    header ("Q7", "Which of these best describes you?"), the mapping does not
    name it, and the audit has not assigned it. The characteristics offered are
    those of the reference (and the quotas) that no recognised column answers.
    Nothing of the answers is returned: only how many rows fit each suggestion.
    """
    wanted = [*reference.characteristic_names(), *quota_names]
    assigned = assign_columns(table.columns, wanted, mapping, source=table.name)
    used = {a.column for a in assigned.values()}
    # A nation's variant, and a broader level audited from its detailed column
    # ("ethnic_group_broad"), are not what a column is said to hold.
    skip = variant_names() | {b for d, b in BROADER_CHARACTERISTIC.items() if d in wanted}
    open_names = tuple(
        name for name in dict.fromkeys(wanted) if name not in assigned and name not in skip
    )
    headers = [
        header
        for header in table.columns
        if header not in used
        and (mapping is None or mapping.column_for(header) is None)
        and not guess_column(header).recognised
        and header not in table.duplicates
    ][:MAX_COLUMNS]
    if not headers or not open_names:
        return []
    sample = collect(
        table, table.frame.select(pl.col(c).cast(pl.String) for c in headers).head(PROBE_ROWS)
    )
    found = []
    for header in headers:
        answers = [(a, int(n)) for a, n in sample[header].value_counts().iter_rows()]
        given = [(a, n) for a, n in answers if a is not None and a.strip()]
        rows = sum(n for _, n in given)
        if not rows:
            continue
        ranked = rank_characteristics(answers, open_names)
        fits = bool(ranked) and ranked[0][1] * 2 >= ranked[0][2]
        repeats = (
            len(given) <= MAX_DISTINCT
            and len(given) * 2 <= rows
            and all(len(a) <= MAX_ANSWER_CHARS for a, _ in given)
        )
        if not (fits or repeats):
            continue
        suggestions = tuple(ColumnSuggestion(name, placed, n) for name, placed, n in ranked)
        first = [s.characteristic for s in suggestions]
        found.append(
            ColumnChoice(header, suggestions, (*first, *(n for n in open_names if n not in first)))
        )
    return found
