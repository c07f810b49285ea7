"""Comparison keys for answers: case, accents, dashes, write-in hints and heading forms folded.

>>> answer_key("White - Irish") == answer_key("white: irish")
True
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from inclusion_audit.vocab.folding import normalise

__all__ = [
    "answer_key",
]


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


def strip_accents(text: str) -> str:
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


@lru_cache(maxsize=1 << 16)
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
    # stored (in a mapping file, say) and folded again without drifting. Cached: a
    # column's answers are looked up once per characteristic when its header is unknown.
    key = text
    for _ in range(8):
        folded = _fold_once(key)
        if folded == key:
            break
        key = folded
    return key


def _fold_once(text: str) -> str:
    key = strip_accents(normalise(text))
    key = _WRITE_IN_BRACKETS.sub("", key)
    key = _WRITE_IN_PLEASE.sub("", key)
    key = key.rstrip(" :*")
    key = _SLASH.sub("/", key)
    key = _LETTER_HYPHEN.sub(" ", key)
    key = _DIGIT_DASH.sub("-", key)
    key = _HEADING_DASH.sub(": ", key)
    key = _COLON.sub(": ", key)
    return _SPACES.sub(" ", key).strip()
