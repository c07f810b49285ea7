"""Write a mapping file for a user to review: every column and answer, as understood.

``inclusion-audit mapping suggest`` runs the same column assignment and answer
placement as an audit and writes down the outcome, so an officer can see each
decision, correct it, and fill in what the tool could not place. Identifying
and free-text columns are listed as ignored, never with their contents.
"""

from __future__ import annotations

import datetime as dt
import re

from inclusion_audit import __version__
from inclusion_audit.ingest.harmonise import AnswerPlacer, assign_columns, birth_answer_age
from inclusion_audit.ingest.mapping import DECLINED, IGNORE, UNPLACEABLE, toml_string
from inclusion_audit.ingest.readers import Table, answer_counts
from inclusion_audit.reference.profiles import NotAvailable, ReferenceSource
from inclusion_audit.vocab.classifications import closest_categories
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
