"""Folding text for exact comparison: answers, headers and non-response wordings.

Kept apart from ``harmonise`` so that the classification knowledge and the
harmonise layer can both use it without importing each other.
"""

from __future__ import annotations

import re
import unicodedata

_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"
)
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9a-z]+")

# Answers that mean the person chose not to answer or did not know. They are
# "unknown": excluded from shares on both sides, and reported as a rate.
DECLINED_ANSWERS = frozenset(
    {
        "prefer not to say",
        "i prefer not to say",
        "prefer not to answer",
        "i prefer not to answer",
        "rather not say",
        "i'd rather not say",
        "i would rather not say",
        "would rather not say",
        "not stated",
        "not answered",
        "declined",
        "declined to answer",
        "refused",
        "unknown",
        "not known",
        "don't know",
        "do not know",
        "dont know",
        "n/a",
        "na",
        "-",
        "pnts",
    }
)


def normalise(text: str) -> str:
    """Fold an answer for exact matching: case, spacing, dashes, '&', quotes.

    >>> normalise("  White – English/Welsh  & British ")
    'white - english/welsh and british'
    """
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    folded = folded.replace("\u2019", "'").replace("\u2018", "'").replace("&", " and ")
    folded = _SPACES.sub(" ", folded).strip().strip('"').strip()
    return folded.casefold().rstrip(".")


def column_key(name: str) -> str:
    """A column header or characteristic name as a comparable key.

    >>> column_key("Ethnic group "), column_key("ethnic_group")
    ('ethnic_group', 'ethnic_group')
    """
    return _NON_WORD.sub("_", normalise(name)).strip("_")


def is_declined(text: str) -> bool:
    """Whether an answer is a "prefer not to say"-style non-response."""
    return normalise(text) in DECLINED_ANSWERS
