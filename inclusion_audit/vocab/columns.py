"""Recognising register columns by header: a characteristic, an identifier, free text, an event...

The rules are data (``vocab/data/columns.toml``): phrases in a header's words,
checked once for conflicts. Nothing is fuzzy-matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from inclusion_audit.vocab.classifications import knowledge_table, variant_names
from inclusion_audit.vocab.knowledge import (
    ANY_CHARACTERISTIC,
    ColumnRule,
    current_index,
    header_text,
)

__all__ = [
    "ColumnGuess",
    "guess_column",
]


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
