"""Ages as people type them: whole years and age bands in any common written form.

A register's age column holds whatever the form let people write: a number
(``34``, or ``34.0`` from an Excel cell), a number with a unit (``34 years``,
``34 yrs``, ``34yo``), a labelled number (``aged 34``, ``Age: 34``) or a band
(``25-34``, ``25 to 34``, ``75+``, ``Under 18``, ``65 and over``), often several
of these in one column. Each is read as a span of whole years, ``(low, high)``
inclusive with ``high`` None for an open-ended band. A span of a single year is
an age, never a band: ``Aged 34 years`` is someone who is 34, not a group of
its own.

Every form is an exact pattern over the folded answer; nothing is guessed. An
answer no pattern reads ("Over 65", which forms use both for 65+ and for 66+) is
left for the caller to ask about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from inclusion_audit.vocab.folding import normalise

__all__ = [
    "MAX_AGE",
    "STANDARD_STARTS",
    "AgeSpan",
    "band_label",
    "overlaps",
    "parse_age_band",
    "parse_age_span",
    "parse_age_years",
    "span_text",
    "uncovered_spans",
    "within",
]

MAX_AGE = 120
"""The oldest age read; a larger number is not an age (a year of birth, a typo)."""

AgeSpan = tuple[int, int | None]

STANDARD_STARTS = (0, 16, 25, 35, 45, 55, 65, 75)
"""Where the standard bands start: under 16, 16-24, 25-34, …, 65-74, 75+ (ONS's 10-year bands)."""

_NUMBER = r"(\d{1,3})(?:\.0+)?"
# "years", "yrs", "y", "years old", "yo", "y/o", "y.o" (folding drops a final dot).
_UNIT = r"(?:\s*(?:years?|yrs?|y)(?:\s+old)?|\s*y\.?\s*/?\s*o)?"
# "aged 34", "age 34", "Age: 34", "Age - 34", "ages 25 to 34".
_LABEL = r"(?:(?:aged?|ages)(?:\s*[:-]\s*|\s+))?"
_YEARS = re.compile(rf"^{_LABEL}{_NUMBER}{_UNIT}$")
_RANGE = re.compile(rf"^{_LABEL}{_NUMBER}{_UNIT}\s*(?:-|to)\s*{_NUMBER}{_UNIT}$")
_OPEN = re.compile(
    rf"^{_LABEL}{_NUMBER}{_UNIT}\s*(?:\+|plus|(?:and|or)\s+(?:over|above|older|more)){_UNIT}$"
)
_UNDER = re.compile(rf"^{_LABEL}(?:under|below|less than|younger than)\s+{_NUMBER}s?{_UNIT}$")
_AND_UNDER = re.compile(
    rf"^{_LABEL}{_NUMBER}{_UNIT}\s*(?:and|or)\s+(?:under|below|younger|less){_UNIT}$"
)


def parse_age_span(text: str) -> AgeSpan | None:
    """An age or age band as inclusive ``(low, high)``; ``high`` None is open-ended.

    >>> [parse_age_span(t) for t in ("34", "34.0", "34 yrs", "Age: 34", "34yo")]
    [(34, 34), (34, 34), (34, 34), (34, 34), (34, 34)]
    >>> [parse_age_span(t) for t in ("18–24", "Aged 25 to 34 years", "75+", "65 and over")]
    [(18, 24), (25, 34), (75, None), (65, None)]
    >>> [parse_age_span(t) for t in ("Under 18", "Aged 15 years and under", "Female", "Over 65")]
    [(0, 17), (0, 15), None, None]
    """
    key = normalise(text)
    if match := _YEARS.match(key):
        age = int(match[1])
        return (age, age) if age <= MAX_AGE else None
    if match := _RANGE.match(key):
        low, high = int(match[1]), int(match[2])
        return (low, high) if low <= high <= MAX_AGE else None
    if match := _OPEN.match(key):
        low = int(match[1])
        return (low, None) if low <= MAX_AGE else None
    if match := _UNDER.match(key):
        limit = int(match[1])
        return (0, limit - 1) if 0 < limit <= MAX_AGE else None
    if match := _AND_UNDER.match(key):
        high = int(match[1])
        return (0, high) if high <= MAX_AGE else None
    return None


def parse_age_years(text: str) -> int | None:
    """An age in whole years, in any common form, or None (a band is not an age).

    >>> [parse_age_years(t) for t in ("34", "34.0", "22 years", "aged 61", "Age: 40", "25-34")]
    [34, 34, 22, 61, 40, None]
    """
    span = parse_age_span(text)
    return span[0] if span is not None and span[0] == span[1] else None


def parse_age_band(text: str) -> AgeSpan | None:
    """An age band (a range of more than one year), or None; a single year is an age.

    >>> parse_age_band("18-24"), parse_age_band("Under 18"), parse_age_band("34 years")
    ((18, 24), (0, 17), None)
    """
    span = parse_age_span(text)
    return None if span is None or span[0] == span[1] else span


def span_text(span: AgeSpan) -> str:
    """Ages in short form for messages: '34', '16-24', '75+'."""
    low, high = span
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def band_label(low: int, high: int | None) -> str:
    """The label of a band the audit makes itself: '16-24', '75+', 'Under 16', 'Aged 17'.

    Every label reads back as its own span with :func:`parse_age_span`.

    >>> band_label(16, 24), band_label(75, None), band_label(0, 15), band_label(17, 17)
    ('16-24', '75+', 'Under 16', 'Aged 17')
    """
    if high is None:
        return f"{low}+"
    if low == high:
        return f"Aged {low}"
    if low == 0:
        return f"Under {high + 1}"
    return f"{low}-{high}"


def within(inner: AgeSpan, outer: AgeSpan) -> bool:
    """Whether every age of ``inner`` is in ``outer``."""
    if inner[0] < outer[0]:
        return False
    if outer[1] is None:
        return True
    return inner[1] is not None and inner[1] <= outer[1]


def overlaps(first: AgeSpan, second: AgeSpan) -> bool:
    """Whether two spans share an age."""
    first_high = first[1] if first[1] is not None else MAX_AGE + 1
    second_high = second[1] if second[1] is not None else MAX_AGE + 1
    return first[0] <= second_high and second[0] <= first_high


def uncovered_spans(
    spans: Sequence[AgeSpan],
    low: int,
    high: int | None,
    starts: Sequence[int] = STANDARD_STARTS,
) -> list[AgeSpan]:
    """The ages from ``low`` to ``high`` that no span covers, cut where ``starts`` say.

    These become groups of their own, so that a register's bands never shrink the
    population compared with: a form that offered 18-24 and 25-34 to an event
    open to everyone aged 16 and over still has its 16-17-year-olds and its
    over-35s counted in the base, as groups nobody came from.

    >>> uncovered_spans([(18, 24), (25, 34)], 16, None)
    [(16, 17), (35, 44), (45, 54), (55, 64), (65, 74), (75, None)]
    >>> uncovered_spans([], 18, 30)
    [(18, 24), (25, 30)]
    >>> uncovered_spans([(0, 15), (16, None)], 0, None)
    []
    """
    top = MAX_AGE + 1 if high is None else high
    gaps: list[tuple[int, int]] = []
    cursor = low
    for lo, hi in sorted((lo, MAX_AGE + 1 if hi is None else hi) for lo, hi in spans):
        if lo > cursor:
            gaps.append((cursor, min(lo - 1, top)))
        cursor = max(cursor, hi + 1)
    if cursor <= top:
        gaps.append((cursor, top))
    pieces: list[AgeSpan] = []
    for gap_low, gap_high in gaps:
        if gap_low > gap_high:
            continue
        cuts = [gap_low, *(s for s in starts if gap_low < s <= gap_high)]
        for i, start in enumerate(cuts):
            end = cuts[i + 1] - 1 if i + 1 < len(cuts) else gap_high
            pieces.append((start, None if end > MAX_AGE else end))
    return pieces
