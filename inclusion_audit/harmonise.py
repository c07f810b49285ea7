"""Harmonise: register columns and answers onto the reference's categories.

Harmonisation works on the distinct answers of each column and their counts,
never on rows, so it costs the same for 50 participants as for 5 million.
Matching is exact after normalisation (case, spacing, dash types, "&" and
"and"): nothing is fuzzy-matched, because a wrong guess would silently put
people in the wrong group. An answer that cannot be placed is reported, not
dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import RegisterError

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

_AGE_NUMBER = re.compile(r"^(\d{1,3})(?:\.0+)?$")
_AGE_RANGE = re.compile(r"^(?:aged\s+)?(\d{1,3})\s*(?:-|to)\s*(\d{1,3})(?:\s*years?)?$")
_AGE_OPEN = re.compile(
    r"^(?:aged\s+)?(\d{1,3})\s*(?:\+|plus|and over|or over|and above|or older|years and over)$"
)
_AGE_UNDER = re.compile(r"^(?:aged\s+)?(?:under|below|less than)\s+(\d{1,3})(?:\s*years?)?$")
_MAX_AGE = 120


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


def parse_age_band(text: str) -> tuple[int, int | None] | None:
    """Parse an age band label into inclusive ``(low, high)``; high None is open.

    >>> parse_age_band("18-24"), parse_age_band("Aged 25 to 34 years"), parse_age_band("75+")
    ((18, 24), (25, 34), (75, None))
    >>> parse_age_band("Under 18"), parse_age_band("Female")
    ((0, 17), None)
    """
    key = normalise(text)
    if match := _AGE_RANGE.match(key):
        low, high = int(match[1]), int(match[2])
        return (low, high) if low <= high <= _MAX_AGE else None
    if match := _AGE_OPEN.match(key):
        return int(match[1]), None
    if match := _AGE_UNDER.match(key):
        return (0, int(match[1]) - 1) if int(match[1]) > 0 else None
    return None


def parse_age_years(text: str) -> int | None:
    """An age given in whole years ("34", "34.0"), or None."""
    match = _AGE_NUMBER.match(normalise(text))
    if match and int(match[1]) <= _MAX_AGE:
        return int(match[1])
    return None


@dataclass
class HarmonisedColumn:
    """Counts of one register column, placed in the reference's categories."""

    counts: dict[str, int]
    n_blank: int = 0
    n_declined: int = 0
    unmatched: dict[str, int] = field(default_factory=dict)

    @property
    def n_known(self) -> int:
        """Participants whose answer was placed in a category."""
        return sum(self.counts.values())

    @property
    def n_unknown(self) -> int:
        """Blank and declined answers together."""
        return self.n_blank + self.n_declined


class CategoryMatcher:
    """Places answers in a fixed list of categories, exactly after normalisation."""

    def __init__(self, categories: Sequence[str]) -> None:
        self.categories = tuple(categories)
        self._by_key = {normalise(c): c for c in self.categories}
        bands = [(c, parse_age_band(c)) for c in self.categories]
        self._age_bands: list[tuple[str, int, int | None]] = (
            [(c, b[0], b[1]) for c, b in bands if b is not None]
            if all(b is not None for _, b in bands)
            else []
        )

    @property
    def is_age(self) -> bool:
        """Whether every category is an age band, so ages in years can be placed."""
        return bool(self._age_bands)

    def match(self, answer: str) -> str | None:
        """The category an answer belongs to, or None when it fits none."""
        key = normalise(answer)
        if key in self._by_key:
            return self._by_key[key]
        if not self._age_bands:
            return None
        years = parse_age_years(answer)
        band = parse_age_band(answer)
        for category, low, high in self._age_bands:
            if years is not None and low <= years and (high is None or years <= high):
                return category
            if band is not None and band == (low, high):
                return category
        return None


def harmonise_column(
    answer_counts: Iterable[tuple[str | None, int]], matcher: CategoryMatcher
) -> HarmonisedColumn:
    """Turn ``(answer, count)`` pairs into category counts plus non-response.

    >>> m = CategoryMatcher(["Female", "Male"])
    >>> h = harmonise_column([("female", 3), ("MALE ", 2), (None, 1), ("Prefer not to say", 1)], m)
    >>> h.counts, h.n_blank, h.n_declined
    ({'Female': 3, 'Male': 2}, 1, 1)
    """
    result = HarmonisedColumn(counts=dict.fromkeys(matcher.categories, 0))
    for answer, count in answer_counts:
        if answer is None or not answer.strip():
            result.n_blank += count
        elif is_declined(answer):
            result.n_declined += count
        elif (category := matcher.match(answer)) is not None:
            result.counts[category] += count
        else:
            result.unmatched[answer] = result.unmatched.get(answer, 0) + count
    return result


def match_columns(
    register_columns: Sequence[str], characteristics: Sequence[str], *, source: str
) -> dict[str, str]:
    """Map each characteristic to the register column of the same name.

    Names compare after folding case, spaces and punctuation, so the column
    "Ethnic group" serves the characteristic ``ethnic_group``. Two columns
    that fold to the same name are an error: the audit cannot choose.
    """
    by_key: dict[str, list[str]] = {}
    for column in register_columns:
        by_key.setdefault(column_key(column), []).append(column)
    mapping: dict[str, str] = {}
    for characteristic in characteristics:
        found = by_key.get(column_key(characteristic), [])
        if len(found) > 1:
            names = ", ".join(repr(c) for c in found)
            raise RegisterError(
                f"register {source} has several columns for {characteristic!r} ({names}). "
                "Rename or delete all but one and try again."
            )
        if found:
            mapping[characteristic] = found[0]
    return mapping


def check_categories(categories: Mapping[str, float] | Sequence[str]) -> list[str]:
    """Problems with a list of reference categories, as sentences (empty if none)."""
    problems = []
    seen: dict[str, str] = {}
    for category in categories:
        key = normalise(category)
        if key in DECLINED_ANSWERS:
            problems.append(
                f"{category!r} is a non-response, not a category: remove it "
                "(the audit reports non-response separately)"
            )
        elif key in seen:
            problems.append(f"{category!r} and {seen[key]!r} are the same category once folded")
        seen[key] = category
    return problems
