"""Harmonise: register columns and answers onto the reference's categories.

Harmonisation works on the distinct answers of each column and their counts,
never on rows, so it costs the same for 50 participants as for 5 million.
Columns are recognised by name or question wording, and answers placed by
exact labels, curated synonyms and codes (``classifications``) after folding
case, spacing and punctuation: nothing is fuzzy-matched, because a wrong guess
would silently put people in the wrong group. An answer that cannot be placed
is reported, not dropped, and a user's mapping file has the last word.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from inclusion_audit.errors import RegisterError
from inclusion_audit.ingest.limits import MAX_ANSWER_CHARS
from inclusion_audit.ingest.mapping import (
    DECLINED,
    IGNORE,
    TODO,
    UNPLACEABLE,
    MappingFileError,
    UserMapping,
    toml_string,
)
from inclusion_audit.vocab.ages import MAX_AGE, parse_age_years
from inclusion_audit.vocab.classifications import (
    REFERENCE_CHARACTERISTIC,
    Placement,
    groups_containing,
    knowledge_table,
    place_answer,
)
from inclusion_audit.vocab.columns import guess_column
from inclusion_audit.vocab.folding import DECLINED_ANSWERS, column_key, normalise

_MAX_AGE = MAX_AGE


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_UK_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_date(text: str) -> dt.date | None:
    """A date written as 1990-05-17 (with or without a time) or 17/05/1990 (UK order).

    >>> parse_date("1990-05-17 00:00:00"), parse_date("17/05/1990"), parse_date("18-24")
    (datetime.date(1990, 5, 17), datetime.date(1990, 5, 17), None)
    """
    key = normalise(text)
    try:
        if match := _ISO_DATE.match(key):
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if match := _UK_DATE.match(key):
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on a day.

    >>> birthday = dt.date(2000, 3, 1)
    >>> age_on(birthday, dt.date(2026, 2, 28)), age_on(birthday, dt.date(2026, 3, 1))
    (25, 26)
    """
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def answer_age(text: str, event_date: dt.date | None) -> int | None:
    """An age in years from an answer in years or a date of birth (age on the event date)."""
    years = parse_age_years(text)
    if years is not None:
        return years
    birth = parse_date(text)
    if birth is None or event_date is None or birth > event_date:
        return None
    age = age_on(birth, event_date)
    return age if age <= _MAX_AGE else None


@dataclass(frozen=True)
class ColumnAssignment:
    """Which register column answers which characteristic, and why."""

    characteristic: str
    """What is audited: a characteristic of the reference, e.g. ``gender_identity``."""
    column: str
    question: str
    """What the column asks, for placing answers, e.g. ``trans_status``."""
    dates_of_birth: bool
    approximate: str | None
    reason: str


# Lower is preferred when several columns could serve one characteristic.
_BY_MAPPING, _BY_NAME, _BY_QUESTION, _BY_APPROXIMATE_QUESTION, _BY_DATE_OF_BIRTH = range(5)


def _known_characteristics() -> frozenset[str]:
    """Every characteristic and question the shipped knowledge knows by name."""
    return frozenset(
        name for name in (*knowledge_table(), *REFERENCE_CHARACTERISTIC) if name.isidentifier()
    )


def assign_columns(
    headers: Sequence[str],
    wanted: Sequence[str],
    mapping: UserMapping | None,
    *,
    source: str,
) -> dict[str, ColumnAssignment]:
    """Decide which column answers each wanted characteristic.

    In order of preference: the user's mapping file; a header that is the
    characteristic's name ("Ethnic group" for ``ethnic_group``); a header whose
    question wording asks it ("What is your ethnic group?"), exact questions
    before approximate ones ("Do you consider yourself disabled?"); a date of
    birth for age. Identifying and free-text columns are never assigned. Two
    equally good columns for one characteristic are an error: the audit will
    not choose between them.
    """
    # One header may serve several wanted names: a quota on "Age" and the Census age.
    wanted_keys: dict[str, list[str]] = {}
    for name in dict.fromkeys(wanted):
        wanted_keys.setdefault(column_key(name), []).append(name)
    candidates: dict[str, list[tuple[int, ColumnAssignment]]] = {}

    def offer(rank: int, assignment: ColumnAssignment) -> None:
        candidates.setdefault(assignment.characteristic, []).append((rank, assignment))

    for header in headers:
        chosen = mapping.column_for(header) if mapping else None
        if chosen == IGNORE:
            continue
        guess = guess_column(header)
        if chosen is not None:
            target = REFERENCE_CHARACTERISTIC.get(chosen, chosen)
            if target not in wanted and chosen not in _known_characteristics():
                assert mapping is not None
                known = sorted({*wanted, *_known_characteristics()})
                raise MappingFileError(
                    f"mapping file {mapping.source}: under [columns], {toml_string(header)} = "
                    f"{toml_string(chosen)}, which is not a characteristic, so that column "
                    f"would not be audited. Use one of {', '.join(known)}, or {IGNORE!r}."
                )
            if target in wanted:
                dob = guess.kind == "date_of_birth" and target == "age"
                offer(
                    _BY_MAPPING,
                    ColumnAssignment(
                        target, header, chosen, dob, guess.approximate, "set in the mapping file"
                    ),
                )
            continue
        by_name = wanted_keys.get(column_key(header))
        if by_name is not None:
            for name in by_name:
                offer(_BY_NAME, ColumnAssignment(name, header, name, False, None, "named after it"))
            continue
        if guess.kind == "characteristic" and guess.characteristic:
            target = REFERENCE_CHARACTERISTIC.get(guess.characteristic, guess.characteristic)
            if target in wanted:
                rank = _BY_QUESTION if guess.approximate is None else _BY_APPROXIMATE_QUESTION
                offer(
                    rank,
                    ColumnAssignment(
                        target,
                        header,
                        guess.characteristic,
                        False,
                        guess.approximate,
                        guess.reason,
                    ),
                )
        elif guess.kind == "date_of_birth" and "age" in wanted:
            offer(
                _BY_DATE_OF_BIRTH,
                ColumnAssignment("age", header, "age", True, guess.approximate, guess.reason),
            )
    assigned: dict[str, ColumnAssignment] = {}
    for characteristic, offered in candidates.items():
        best = min(rank for rank, _ in offered)
        tied = [a for rank, a in offered if rank == best]
        if len(tied) > 1:
            names = ", ".join(repr(a.column) for a in tied)
            raise RegisterError(
                f"register {source} has several columns for {characteristic!r} ({names}). "
                "Say which to use in a mapping file ([columns] section; see "
                "`inclusion-audit mapping suggest`), or delete the others."
            )
        assigned[characteristic] = tied[0]
    return assigned


@dataclass
class HarmonisedColumn:
    """Counts of one register column, placed in the reference's categories.

    Answers that are not placed are counted by why: blank, declined ("prefer
    not to say"), naming only a broad group (``broad_only``), or known not to fit
    one group (``unplaceable``, e.g. "BAME"). ``unmatched`` answers are not known
    at all; they stop the audit until a mapping file says what they mean.
    """

    counts: dict[str, int]
    n_blank: int = 0
    n_declined: int = 0
    n_broad_only: int = 0
    n_unplaceable: int = 0
    broad_groups: dict[str, int] = field(default_factory=dict)
    """Answers that name only a broad group, counted by the group they name."""
    unplaceable: dict[str, tuple[int, str]] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)

    @property
    def n_known(self) -> int:
        """Participants whose answer was placed in a category."""
        return sum(self.counts.values())

    @property
    def n_unknown(self) -> int:
        """Every answer not placed in a category."""
        return self.n_blank + self.n_declined + self.n_broad_only + self.n_unplaceable


class AnswerPlacer:
    """Places one column's answers among a reference's categories.

    The user's mapping file decides first; then the curated classification
    knowledge (exact labels, synonyms, codes, age bands); nothing is guessed.
    Dates of birth become ages on the event date first.
    """

    def __init__(
        self,
        question: str,
        categories: Sequence[str],
        *,
        mapping: UserMapping | None = None,
        dates_of_birth: bool = False,
        event_date: dt.date | None = None,
    ) -> None:
        self.question = question
        self.categories = tuple(categories)
        self.mapping = mapping
        self.dates_of_birth = dates_of_birth
        self.event_date = event_date

    def place(self, answer: str | None) -> Placement:
        """Where one answer goes, and why."""
        if answer is None or not answer.strip():
            return Placement("blank")
        if len(answer) > MAX_ANSWER_CHARS:
            # No category is this long; folding and matching it would cost seconds.
            return Placement("unknown")
        decision = self.mapping.answer_for(self.question, answer) if self.mapping else None
        if decision is not None:
            return _decided(decision, self.categories, self.mapping, self.question, answer)
        if self.dates_of_birth:
            age = birth_answer_age(answer, self.event_date)
            if age is not None:
                answer = str(age)
        return place_answer(self.question, answer, self.categories)


_SET_ASIDE = "set as unplaceable in "


def _decided(
    decision: str,
    categories: Sequence[str],
    mapping: UserMapping | None,
    question: str,
    answer: str,
) -> Placement:
    source = mapping.source if mapping else "the mapping file"
    if decision == DECLINED:
        return Placement("declined")
    if decision == UNPLACEABLE:
        return Placement("unplaceable", note=_SET_ASIDE + source)
    if decision in categories:
        return Placement("category", category=decision)
    # A category of a finer level than the reference's (the broader level of an
    # audit): counted in the category that contains it.
    containing = groups_containing(question, [decision], categories)[decision]
    if containing:
        return Placement("category", category=containing[0])
    knowledge = knowledge_table().get(question)
    if decision == TODO or (knowledge is not None and decision in knowledge.tree.parent):
        # Not decided yet, or a label of another level: reported with the register's answers.
        return Placement("unknown")
    shown = ", ".join(repr(c) for c in categories[:8])
    more = ", …" if len(categories) > 8 else ""
    raise MappingFileError(
        f"mapping file {source}: under [answers.{toml_string(question)}], "
        f"{toml_string(answer.strip())[:80]} = {toml_string(decision)[:80]}, which is not one "
        f"of its categories ({shown}{more}). Write a category exactly as listed, "
        f'{UNPLACEABLE!r}, {DECLINED!r}, or "" to decide later.'
    )


def harmonise_column(
    answer_counts: Iterable[tuple[str | None, int]], placer: AnswerPlacer
) -> HarmonisedColumn:
    """Turn ``(answer, count)`` pairs into category counts plus unplaced answers.

    >>> placer = AnswerPlacer("sex", ["Female", "Male"])
    >>> h = harmonise_column([("F", 3), ("MALE ", 2), (None, 1), ("Prefer not to say", 1)], placer)
    >>> h.counts, h.n_blank, h.n_declined
    ({'Female': 3, 'Male': 2}, 1, 1)
    """
    result = HarmonisedColumn(counts=dict.fromkeys(placer.categories, 0))
    for answer, count in answer_counts:
        placement = placer.place(answer)
        if placement.kind == "blank":
            result.n_blank += count
        elif placement.kind == "declined":
            result.n_declined += count
        elif placement.kind == "category" and placement.category is not None:
            result.counts[placement.category] += count
            if placement.note:
                result.notes.add(placement.note)
        elif placement.kind == "broad_only":
            result.n_broad_only += count
            if placement.group is not None:
                group = placement.group
                result.broad_groups[group] = result.broad_groups.get(group, 0) + count
        elif placement.kind == "unplaceable":
            result.n_unplaceable += count
            # Only curated wordings are named; what a user set aside may be free text.
            by_user = (placement.note or "").startswith(_SET_ASIDE)
            key = "(set aside in the mapping file)" if by_user or answer is None else answer.strip()
            previous = result.unplaceable.get(key, (0, placement.note or ""))
            result.unplaceable[key] = (previous[0] + count, previous[1])
        else:
            assert answer is not None
            result.unmatched[answer] = result.unmatched.get(answer, 0) + count
    return result


def birth_answer_age(answer: str, event_date: dt.date | None) -> int | None:
    """The age on the event date from a date of birth or a year of birth.

    >>> day = dt.date(2025, 5, 16)
    >>> birth_answer_age("1990-05-17", day), birth_answer_age("1990", day)
    (34, 35)
    """
    day = event_date or dt.date.today()
    year = _YEAR.match(normalise(answer))
    if year:
        age = day.year - int(year[1])
        return age if 0 <= age <= _MAX_AGE else None
    return answer_age(answer, day)


_YEAR = re.compile(r"^((?:18|19|20)\d\d)$")


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
