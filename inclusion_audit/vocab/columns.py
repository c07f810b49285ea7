"""Recognising register columns by header: a characteristic, an identifier, free text, an event...

The rules are data (``vocab/data/columns.toml``): phrases in a header's words,
checked once for conflicts. Nothing is fuzzy-matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from inclusion_audit.vocab.classifications import knowledge_table, variant_names
from inclusion_audit.vocab.folding import column_key
from inclusion_audit.vocab.knowledge import (
    ANY_CHARACTERISTIC,
    ColumnRule,
    current_index,
    header_text,
)

__all__ = [
    "ID_COLUMN_NAMES",
    "ColumnGuess",
    "find_id_column",
    "guess_column",
]

ID_COLUMN_NAMES = ("participant_id", "respondent_id", "response_id", "id")
"""Headers taken as participant identifiers (folded), in order of preference."""


def find_id_column(headers: Sequence[str]) -> str | None:
    """The register's participant identifier column, if it has one.

    >>> find_id_column(["Name", "Respondent ID", "Age"]), find_id_column(["Age"])
    ('Respondent ID', None)
    """
    by_key = {column_key(h): h for h in headers}
    return next((by_key[name] for name in ID_COLUMN_NAMES if name in by_key), None)


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
    recognised: bool = True
    """False when no rule knows the header (kind "ignore" by default, not by a rule)."""


@cache
def _rules() -> tuple[ColumnRule, ...]:
    return tuple(
        ColumnRule(
            rule["kind"],
            rule["characteristic"],
            rule["reason"],
            rule["approximate"],
            frozenset(rule["exact"]),
            tuple(rule["all"]),
            tuple(rule["any"]),
        )
        for rule in current_index()["rules"]
    )


@cache
def _characteristic_names() -> dict[str, str]:
    """Header text → characteristic, for columns named after one ("ethnic_group")."""
    names = {"age", *knowledge_table()} - {ANY_CHARACTERISTIC} - variant_names()
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
    text = header_text(header)
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
    return ColumnGuess(
        "ignore", None, None, f"header {header!r} is not a question the audit knows", False
    )
