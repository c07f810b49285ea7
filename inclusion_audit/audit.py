"""Run an audit: register and reference in, one ``AuditResult`` out.

This is the only module that knows the order of the layers: read → harmonise
→ validate → reference → stats → findings → barriers → recommendations → result.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from inclusion_audit import __version__, stats
from inclusion_audit.action.reported import count_reported_barriers, reported_barrier_columns
from inclusion_audit.config import DEFAULT_THRESHOLD, AuditConfig
from inclusion_audit.errors import RegisterError
from inclusion_audit.findings.quotas import check_quotas, unplaced_quota_answers
from inclusion_audit.ingest.harmonise import (
    AnswerPlacer,
    ColumnAssignment,
    HarmonisedColumn,
    assign_columns,
    birth_answer_age,
    harmonise_column,
    parse_date,
)
from inclusion_audit.ingest.mapping import (
    DECLINED,
    IGNORE,
    TODO,
    UNPLACEABLE,
    UserMapping,
    toml_string,
)
from inclusion_audit.ingest.readers import Table, answer_counts, collect
from inclusion_audit.ingest.validate import (
    check_has_characteristics,
    check_has_rows,
    check_no_duplicate_columns,
    check_something_audited,
    check_unmatched,
    rows_with,
)
from inclusion_audit.reference import geography
from inclusion_audit.reference.base_gap import BaseGap
from inclusion_audit.reference.profiles import (
    CensusReference,
    NotAvailable,
    ReferenceCharacteristic,
    ReferenceSource,
)
from inclusion_audit.reference.targets import Quota
from inclusion_audit.result import (
    AuditResult,
    BarrierResult,
    BaseBounds,
    BaseGapInfo,
    CharacteristicResult,
    ChiSquare,
    GeographyResult,
    GroupResult,
    NotAudited,
    QuotaResult,
    ReferenceInfo,
    RegisterInfo,
    Status,
    UnplaceableAnswer,
)
from inclusion_audit.vocab.classifications import (
    BROADER_CHARACTERISTIC,
    REFERENCE_CHARACTERISTIC,
    groups_containing,
    knows_answers,
    probable_characteristic,
)
from inclusion_audit.vocab.columns import guess_column
from inclusion_audit.vocab.folding import column_key

if TYPE_CHECKING:
    from inclusion_audit.action.event import EventDetails
    from inclusion_audit.action.recommendations import Partner
    from inclusion_audit.findings.verdicts import Verdict

# The barrier and recommendation layers (action), the verdicts (findings.verdicts)
# and the disclosure rules (report) are imported where they are used, so that
# `weights`, `results` and `check`, which need only ``prepare_register``, do not
# import them.


def audit_register(
    table: Table,
    reference: ReferenceSource,
    config: AuditConfig | None = None,
    quotas: Sequence[Quota] = (),
    mapping: UserMapping | None = None,
    event_date: dt.date | None = None,
) -> AuditResult:
    """Audit a register against a reference population, and check any quotas.

    ``mapping`` (a user's mapping file) overrides the built-in column and
    answer knowledge; ``event_date`` turns dates of birth into ages (default
    today). Raises ``RegisterError`` (or its subclass ``UnknownValuesError``)
    when the register cannot be audited; nothing is computed from partial data.
    """
    return _audit(table, reference, config, quotas, mapping, event_date)[0]


@dataclass
class PreparedRegister:
    """A register read once and harmonised: what the audit and ``check`` both start from.

    Nothing here has been judged yet: unknown answers sit in ``unmatched`` and an
    empty register has ``n_rows`` 0, so the caller decides what stops it.
    """

    assigned: dict[str, ColumnAssignment]
    columns: list[str]
    """Every register column read: characteristics, quotas and extra columns."""
    counts: dict[str, list[tuple[str | None, int]]]
    """Distinct answers and their counts, by register column."""
    n_rows: int
    characteristics: list[tuple[ColumnAssignment, ReferenceCharacteristic, HarmonisedColumn]]
    """The characteristics to audit (a broader level follows the column it comes from)."""
    placers: dict[str, AnswerPlacer]
    """How each audited column's answers were placed, by register column."""
    unmatched: dict[str, dict[str, int]]
    allowed: dict[str, list[str]]
    not_audited: list[NotAudited]
    quotas: list[QuotaResult]


def prepare_register(
    table: Table,
    reference: ReferenceSource,
    quotas: Sequence[Quota] = (),
    mapping: UserMapping | None = None,
    event_date: dt.date | None = None,
    extra_columns: Sequence[str] = (),
    postcodes: str | None = None,
) -> PreparedRegister:
    """Find the characteristic columns, count their answers in one pass, and place them.

    ``extra_columns`` (the barrier question) are counted in the same pass, and so
    is ``postcodes``, the register's postcode column, which is audited by place.
    Raises ``RegisterError`` when no column answers any characteristic (and there
    is no postcode column) or one is duplicated: then there is nothing to audit or
    check.
    """
    wanted = reference.characteristic_names()
    quota_names = list(dict.fromkeys(q.characteristic for q in quotas))
    assigned = assign_columns(table.columns, [*wanted, *quota_names], mapping, source=table.name)
    if postcodes is None:
        check_has_characteristics(
            table, {n: a.column for n, a in assigned.items()}, [*wanted, *quota_names]
        )
    check_no_duplicate_columns(table, {n: a.column for n, a in assigned.items()})
    postcode_columns = [postcodes] if postcodes is not None else []
    columns = list(
        dict.fromkeys([*(a.column for a in assigned.values()), *extra_columns, *postcode_columns])
    )
    unused, probes = _unused_columns(table.columns, assigned, mapping, wanted, reference)
    counts, n_rows = answer_counts(table, columns)

    not_audited = [
        NotAudited(name, "the register has no column for it")
        for name in (wanted if reference.report_missing_columns else []) + quota_names
        if name not in assigned
    ]
    not_audited += unused
    not_audited += _probable(table, probes, wanted, assigned)
    quota_answers: dict[str, Iterable[tuple[str | None, int]]] = {
        name: counts[a.column] for name, a in assigned.items()
    }
    quota_results = check_quotas(quotas, quota_answers)
    for name in unplaced_quota_answers(quotas, quota_answers):
        categories = ", ".join(repr(q.category) for q in quotas if q.characteristic == name)
        not_audited.append(
            NotAudited(
                name,
                # No count: shared reports publish this note, and with a quota on one
                # group the answers that fit none are that group's complement.
                f"Some answers in column {assigned[name].column!r} fit none of the quota "
                f"categories ({categories}), so they count towards no quota.",
                assigned[name].column,
                "Name the quota categories as the register's answers are written (or as ONS "
                "labels), or correct the answers.",
            )
        )
    prepared: list[tuple[ColumnAssignment, ReferenceCharacteristic, HarmonisedColumn]] = []
    placers: dict[str, AnswerPlacer] = {}
    unmatched: dict[str, dict[str, int]] = {}
    allowed: dict[str, list[str]] = {}
    for name, assignment in assigned.items():
        if name not in wanted:
            continue  # a quota-only column
        raw = counts[assignment.column]
        profile = reference.profile(name, _answers_for_bands(raw, assignment, event_date, mapping))
        if isinstance(profile, NotAvailable):
            not_audited.append(NotAudited(name, profile.reason, assignment.column, _REFERENCE_FIX))
            continue
        placer = AnswerPlacer(
            assignment.question,
            list(profile.categories),
            mapping=mapping,
            dates_of_birth=assignment.dates_of_birth,
            event_date=event_date,
        )
        harmonised = harmonise_column(raw, placer)
        placers[assignment.column] = placer
        unmatched[assignment.column] = harmonised.unmatched
        allowed[assignment.column] = list(profile.categories)
        prepared.append((assignment, profile, harmonised))
        broader = _broader_audit(
            name, assignment, raw, harmonised, profile, reference, assigned, mapping
        )
        if broader is not None:
            prepared.append(broader)
    if isinstance(reference, CensusReference):
        listed = {item.name for item in not_audited} | set(assigned)
        not_audited += [
            NotAudited(name, reason)
            for name, reason in reference.nation_gaps()
            if name not in listed
        ]
    return PreparedRegister(
        assigned=assigned,
        columns=columns,
        counts=counts,
        n_rows=n_rows,
        characteristics=prepared,
        placers=placers,
        unmatched=unmatched,
        allowed=allowed,
        not_audited=not_audited,
        quotas=quota_results,
    )


def columns_read(
    table: Table,
    reference: ReferenceSource,
    mapping: UserMapping | None = None,
    extra_columns: Sequence[str] = (),
) -> list[str]:
    """Every register column ``prepare_register`` reads, in the order it reads them.

    For a caller that needs participants' answers as well as their counts (weighting):
    it can read these columns once into memory and prepare from there.
    """
    wanted = reference.characteristic_names()
    assigned = assign_columns(table.columns, wanted, mapping, source=table.name)
    columns = list(dict.fromkeys([*(a.column for a in assigned.values()), *extra_columns]))
    _, probes = _unused_columns(table.columns, assigned, mapping, wanted, reference)
    return list(dict.fromkeys([*columns, *probes]))


# At most this many unrecognised columns have their answers looked at for a
# probable characteristic: a survey export can have hundreds of free-text columns.
_MAX_PROBES = 20
# ... and only their first rows, so a column of a million identifiers costs nothing.
_PROBE_ROWS = 5_000
_WELSH_LANGUAGE = (
    "Census 2021 Welsh language skills (TS032) are not in the shipped reference data: none "
    "of the sources it is built from holds them"
)


def _unused_columns(
    headers: Sequence[str],
    assigned: dict[str, ColumnAssignment],
    mapping: UserMapping | None,
    wanted: Sequence[str],
    reference: ReferenceSource,
) -> tuple[list[NotAudited], list[str]]:
    """Columns recognised as a characteristic but not audited, each with why; and the
    unrecognised columns whose answers may show what they ask.

    Nothing is dropped in silence: a column for a characteristic the reference
    lacks ("Welsh language ability" against the Census), a second column for one
    already audited, and (through the returned probes) a column whose header is
    unknown but whose answers look like a characteristic's categories.
    """
    used = {a.column for a in assigned.values()}
    found: list[NotAudited] = []
    probes: list[str] = []
    for header in headers:
        if header in used:
            continue
        chosen = mapping.column_for(header) if mapping else None
        if chosen == IGNORE:
            continue
        guess = guess_column(header)
        if chosen is not None:
            target = REFERENCE_CHARACTERISTIC.get(chosen, chosen)
        elif guess.kind == "characteristic" and guess.characteristic:
            target = REFERENCE_CHARACTERISTIC.get(guess.characteristic, guess.characteristic)
        elif guess.kind == "date_of_birth":
            target = "age"
        else:
            if not guess.recognised and len(probes) < _MAX_PROBES:
                probes.append(header)
            continue
        if target in assigned:
            other = assigned[target].column
            found.append(
                NotAudited(
                    target,
                    f"column {header!r} also asks about it; column {other!r} was audited "
                    f"({assigned[target].reason}).",
                    header,
                    "To audit this column instead, say so in a mapping file (--mapping): "
                    f'[columns] {toml_string(header)} = "{target}" and '
                    f'{toml_string(other)} = "ignore".',
                )
            )
            continue
        found.append(NotAudited(target, _missing_reason(target, reference), header, _REFERENCE_FIX))
    return found, probes


_REFERENCE_FIX = (
    "To audit it, give its population with --reference FILE (rows "
    "characteristic,category,count; `inclusion-audit reference show AREA --format csv` "
    "writes the Census figures there are, to add it to)."
)


def _missing_reason(name: str, reference: ReferenceSource) -> str:
    if name not in reference.characteristic_names() and isinstance(reference, CensusReference):
        if name == "welsh_language":
            return f"{_WELSH_LANGUAGE}."
        return f"the Census 2021 reference data has no figures for {name.replace('_', ' ')}."
    profile = reference.profile(name, [])
    if isinstance(profile, NotAvailable):
        return profile.reason
    return "the reference has no figures for it."  # pragma: no cover - wanted names are assigned


def _probable(
    table: Table,
    probes: Sequence[str],
    wanted: Sequence[str],
    assigned: dict[str, ColumnAssignment],
) -> list[NotAudited]:
    """Unrecognised columns whose answers look like a characteristic's, with the line to add.

    Only the first ``_PROBE_ROWS`` rows are looked at: enough to see what a question
    asks, and bounded however long the register or however many distinct values
    (identifiers, free text) a column holds. Nothing of the answers is kept: the
    result names the column, the characteristic and how many answers fit.
    """
    candidates = [n for n in dict.fromkeys(wanted) if n not in assigned and knows_answers(n)]
    if not probes or not candidates:
        return []
    sample = collect(
        table, table.frame.select(pl.col(c).cast(pl.String) for c in probes).head(_PROBE_ROWS)
    )
    within = f" in its first {_PROBE_ROWS:,} rows" if sample.height >= _PROBE_ROWS else ""
    found = []
    for header in probes:
        answers = [(a, int(n)) for a, n in sample[header].value_counts().iter_rows()]
        guess = probable_characteristic(answers, candidates)
        if guess is None:
            continue
        name, placed, answered = guess
        found.append(
            NotAudited(
                name,
                f"column {header!r} is not a question the audit recognises, but {placed} of its "
                f"{answered} answers{within} are {name.replace('_', ' ')} categories, so it "
                "probably asks about it.",
                header,
                "If it does, add to a mapping file (--mapping): "
                f'[columns] {toml_string(header)} = "{name}"',
            )
        )
    return found


def _audit(
    table: Table,
    reference: ReferenceSource,
    config: AuditConfig | None,
    quotas: Sequence[Quota],
    mapping: UserMapping | None,
    event_date: dt.date | None,
    extra_columns: Sequence[str] = (),
    precounted: Precounted | None = None,
) -> tuple[AuditResult, dict[str, list[tuple[str | None, int]]]]:
    """The statistical audit, plus the answer counts of ``extra_columns``.

    Extra columns (the barrier question) are counted in the same single pass
    over the register as the characteristics. With ``precounted``, the
    postcodes' places come from its counts (the register's postcode column is
    then empty) and the register is described by its original name and format.
    """
    config = config or AuditConfig()
    postcodes, postcode_problem = (
        postcode_column(table, mapping) if isinstance(reference, CensusReference) else (None, None)
    )
    prepared = prepare_register(
        table, reference, quotas, mapping, event_date, extra_columns, postcodes
    )
    check_has_rows(table, prepared.n_rows)
    check_unmatched(
        table,
        prepared.unmatched,
        prepared.allowed,
        {assignment.column: name for name, assignment in prepared.assigned.items()},
    )
    check_something_audited(
        table,
        len(prepared.characteristics) + (postcodes is not None),
        len(prepared.quotas),
        [(n.name, n.reason) for n in prepared.not_audited],
    )
    columns, counts, n_rows = prepared.columns, prepared.counts, prepared.n_rows

    drafts = [
        _draft_characteristic(assignment, profile, harmonised, config)
        for assignment, profile, harmonised in prepared.characteristics
    ]
    verdicts = _judge_drafts(drafts, config)
    characteristics = []
    for draft, row in zip(drafts, verdicts, strict=True):
        groups = []
        broad = draft.pop("broad_answers")
        draft.pop("share_bounds")
        gap = draft.pop("base_gap")
        for group, verdict in zip(draft.pop("groups"), row, strict=True):
            status, note = _broad_answers_guard(
                group, verdict.status, broad, draft["n_known"], config
            )
            if note:
                group["note"] = note
            groups.append(
                _group_result(
                    group, verdict, status, config, _base_bounds(group, verdict, gap, draft)
                )
            )
        characteristics.append(
            CharacteristicResult(
                **draft,
                groups=tuple(groups),
                base_bounds=None
                if gap is None
                else BaseGapInfo(
                    **gap.to_dict(),
                    n_not_firm=sum(
                        g.base_bounds is not None and g.base_bounds.held_at_both is False
                        for g in groups
                    ),
                ),
            )
        )

    not_audited = list(prepared.not_audited)
    if postcode_problem is not None:
        not_audited += [NotAudited(name, postcode_problem) for name in geography.PLACES]
    place = None
    if postcodes is not None and isinstance(reference, CensusReference):
        counted = (
            (precounted.places, precounted.postcode_rows)
            if precounted is not None and precounted.places is not None
            else None
        )
        place = _places(table, postcodes, counts[postcodes], reference, config, counted)
        characteristics += place.characteristics
        not_audited += place.not_audited

    return AuditResult(
        tool_version=__version__,
        register=RegisterInfo(
            file=precounted.file if precounted is not None else table.name,
            file_format=precounted.file_format if precounted is not None else table.file_format,
            rows=n_rows,
            columns_used=tuple(columns),
            columns_ignored=len(table.columns) - len(columns),
        ),
        reference=reference.description,
        settings=config.to_dict(),
        n_participants=n_rows,
        characteristics=tuple(characteristics),
        not_audited=tuple(not_audited),
        quotas=tuple(prepared.quotas),
        geography=place.geography if place is not None else None,
    ), counts


@dataclass(frozen=True)
class Precounted:
    """What a register's postcode and barrier columns give, counted before they are dropped.

    The service's fix-up keeps a register without its postcodes and barrier
    answers (they identify people, or may be free text), yet its report must be
    the one a direct audit gives: these aggregates (no postcode, no row's
    answer) stand in for them, with the original file's name and format.
    """

    file: str
    file_format: str
    places: geography.PlaceCounts | None = None
    """By decile and ward; ``unfound`` is always empty (it would hold postcodes)."""
    postcode_rows: tuple[int, ...] = ()
    """Spreadsheet rows of the first postcodes not found, as the report lists them."""
    reported: dict[str, int] | None = None
    """Participants per reported barrier (``count_reported_barriers``), or None."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        places = None
        if self.places is not None:
            places = {k: v for k, v in self.places.__dict__.items() if k != "unfound"}
        return {
            "file": self.file,
            "file_format": self.file_format,
            "places": places,
            "postcode_rows": list(self.postcode_rows),
            "reported": self.reported,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Precounted:
        places = data.get("places")
        return cls(
            file=data["file"],
            file_format=data["file_format"],
            places=geography.PlaceCounts(**places, unfound=()) if places else None,
            postcode_rows=tuple(data.get("postcode_rows", ())),
            reported=data.get("reported"),
        )


def precount(table: Table, reference: ReferenceSource, mapping: UserMapping | None) -> Precounted:
    """Count a register's postcode places and reported barriers, as :func:`run_audit` would.

    >>> from pathlib import Path
    >>> frame = pl.LazyFrame({"Sex": ["Female"], "What nearly stopped you?": ["Childcare"]})
    >>> table = Table(frame, tuple(frame.collect_schema()), Path("forum.csv"), "csv")
    >>> counted = precount(table, None, None)  # a reference without places (None here)
    >>> counted.file, counted.places, counted.reported
    ('forum.csv', None, {'childcare': 1})
    """
    postcodes = (
        postcode_column(table, mapping)[0] if isinstance(reference, CensusReference) else None
    )
    questions = reported_barrier_columns(table.columns)
    barrier_columns = list(dict.fromkeys(q.column for q in questions))
    wanted = [*barrier_columns, *([postcodes] if postcodes is not None else [])]
    counts, _ = answer_counts(table, wanted) if wanted else ({}, 0)
    reported = (
        count_reported_barriers(questions, {c: counts[c] for c in barrier_columns})
        if questions
        else None
    )
    places: geography.PlaceCounts | None = None
    rows: tuple[int, ...] = ()
    if postcodes is not None and isinstance(reference, CensusReference):
        place = geography.place_reference(
            reference.areas, reference.eligible_age, reference.description
        )
        counted = geography.count_places(counts[postcodes], place)
        if counted.unfound:
            rows = tuple(rows_with(table, postcodes, list(counted.unfound), POSTCODE_ROWS_SHOWN))
        places = replace(counted, unfound=())
    return Precounted(table.name, table.file_format, places, rows, reported)


def run_audit(
    table: Table,
    reference: ReferenceSource,
    config: AuditConfig | None = None,
    *,
    quotas: Sequence[Quota] = (),
    mapping: UserMapping | None = None,
    event: EventDetails | None = None,
    event_date: dt.date | None = None,
    partners: Sequence[Partner] = (),
    suppress_below: int = DEFAULT_THRESHOLD,
    precounted: Precounted | None = None,
) -> AuditResult:
    """The whole audit: statistics, then likely barriers and outreach recommendations.

    ``suppress_below`` is the disclosure threshold of the reports the result is
    meant for (0 for internal use): recommendation evidence leaves out the
    figures of groups those reports hide. ``precounted`` (see :func:`precount`)
    stands in for the postcode and barrier columns of a register that no longer
    holds their answers.
    """
    from inclusion_audit.action.barriers import analyse_barriers
    from inclusion_audit.action.conditions import area_shares
    from inclusion_audit.action.recommendations import already_offered, recommend, what_worked
    from inclusion_audit.report import disclosure

    day = event_date or (event.date if event is not None else None)
    questions = reported_barrier_columns(table.columns)
    barrier_columns = list(dict.fromkeys(q.column for q in questions))
    result, counts = _audit(
        table, reference, config, quotas, mapping, day, barrier_columns, precounted
    )
    reported = (
        precounted.reported
        if precounted is not None
        else count_reported_barriers(questions, {c: counts[c] for c in barrier_columns})
        if questions
        else None
    )
    shares = (
        area_shares(reference.areas, reference.eligible_age)
        if isinstance(reference, CensusReference)
        else None
    )
    # Wards are places, not groups of people with barriers of their own: the ward
    # table says where to go, and the deprivation deciles carry the barriers of place.
    people = replace(
        result, characteristics=tuple(c for c in result.characteristics if c.name != geography.WARD)
    )
    findings = analyse_barriers(people, event, reported, shares, suppress_below=suppress_below)
    hidden, shown = disclosure.shared_view(result, suppress_below)
    recommendations = recommend(
        people, findings, partners, event=event, hidden=hidden, shown=shown, area_shares=shares
    )
    return replace(
        result,
        event=event.to_dict() if event is not None else None,
        barriers=tuple(
            BarrierResult(f.barrier, f.title, f.evidence, f.groups, f.strength, f.source)
            for f in findings
        ),
        recommendations=tuple(recommendations),
        what_worked=tuple(what_worked(people, event, hidden=hidden)),
        already_offered=tuple(already_offered(people, findings, shown=shown)),
    )


POSTCODE_ROWS_SHOWN = 20


def postcode_column(table: Table, mapping: UserMapping | None) -> tuple[str | None, str | None]:
    """The register's postcode column, or why none is used.

    A column is a postcode column when its header says so ("Postcode", "What is
    your postcode?"), as column recognition has always known; a "postcode
    district" holds no full postcode and is left alone. With two such columns
    neither is used, and the reason says why.
    """
    found = []
    for header in table.columns:
        if mapping is not None and mapping.column_for(header) == IGNORE:
            continue
        guess = guess_column(header)
        if (
            guess.kind == "identifying"
            and guess.characteristic == "postcode"
            and "district" not in column_key(header)
        ):
            found.append(header)
    if len(found) > 1:
        names = ", ".join(repr(c) for c in found)
        return None, (
            f"the register has several postcode columns ({names}); keep one, or mark the "
            "others ignore in a mapping file"
        )
    return (found[0] if found else None), None


@dataclass
class _Places:
    characteristics: list[CharacteristicResult]
    geography: GeographyResult
    not_audited: list[NotAudited]


def _places(
    table: Table,
    column: str,
    answers: Sequence[tuple[str | None, int]],
    reference: CensusReference,
    config: AuditConfig,
    counted: tuple[geography.PlaceCounts, tuple[int, ...]] | None = None,
) -> _Places:
    """Deprivation deciles and wards from the register's postcodes: their own family.

    Participants whose postcode lies outside the area are left out and counted
    apart. The place groups' p-values are adjusted among themselves, so adding a
    postcode column never changes another characteristic's verdict. A ward with
    an LSOA in the lookup's postcode gap gets no verdict ("cannot tell"); a ward
    nobody came from is named only where ``min_expected`` participants were expected.
    ``counted`` are the counts and the not-found postcodes' rows, already made
    (:func:`precount`).
    """
    place = geography.place_reference(
        reference.areas, reference.eligible_age, reference.description
    )
    counts = counted[0] if counted is not None else geography.count_places(answers, place)
    not_audited: list[NotAudited] = []
    drafts: list[dict[str, Any]] = []
    outside = (
        f"{counts.outside_area:,} participant(s) whose postcode lies outside the area are "
        "left out of this comparison."
        if counts.outside_area
        else None
    )
    for profile, by_place in (
        (place.deprivation, counts.by_decile),
        (place.wards, counts.by_ward),
    ):
        if isinstance(profile, NotAvailable):
            not_audited.append(NotAudited(profile.name, profile.reason, column))
            continue
        if counts.matched == 0:
            not_audited.append(
                NotAudited(
                    profile.name,
                    "no postcode in the register was found in the area (see the geography counts)",
                    column,
                )
            )
            continue
        harmonised = HarmonisedColumn(
            counts={category: by_place.get(category, 0) for category in profile.categories},
            n_blank=counts.blank,
            n_unplaceable=counts.n_not_found,
            notes={outside} if outside else set(),
        )
        assignment = ColumnAssignment(
            profile.name, column, profile.name, False, None, "the register's postcode column"
        )
        drafts.append(_draft_characteristic(assignment, profile, harmonised, config))
    verdicts = _judge_drafts(drafts, config)
    characteristics = []
    nobody_came: list[str] = []
    cannot_tell = sorted(place.gap_wards)
    for draft, row in zip(drafts, verdicts, strict=True):
        groups = []
        draft.pop("broad_answers", None)  # a postcode names no broader group
        draft.pop("share_bounds", None)  # places: the base is the eligible ages (approximated)
        draft.pop("base_gap", None)
        for group, verdict in zip(draft.pop("groups"), row, strict=True):
            status = verdict.status
            if draft["name"] == geography.WARD:
                if group["category"] in place.gap_wards:
                    status = Status.INSUFFICIENT_DATA
                    group["shortfall"] = 0
                    group["shortfall_parity"] = 0
                    group["note"] = (
                        "Cannot tell: some of this ward's postcodes are missing from the "
                        "postcode lookup (its known central-London gap)."
                    )
                elif group["count"] == 0 and group["expected_count"] >= config.min_expected:
                    nobody_came.append(group["category"])
            groups.append(_group_result(group, verdict, status, config))
        characteristics.append(CharacteristicResult(**draft, groups=tuple(groups)))
    rows = (
        list(counted[1])
        if counted is not None
        else rows_with(table, column, list(counts.unfound), POSTCODE_ROWS_SHOWN)
        if counts.unfound
        else []
    )
    return _Places(
        characteristics=characteristics,
        geography=GeographyResult(
            column=column,
            read=counts.read,
            matched=counts.matched,
            outside_area=counts.outside_area,
            not_found=counts.n_not_found,
            not_found_reasons=dict(counts.not_found),
            not_found_rows=tuple(rows),
            blank=counts.blank,
            deprivation_index=place.index,
            wards_nobody_came=tuple(sorted(nobody_came)),
            wards_cannot_tell=tuple(cannot_tell) if place.ward_names else (),
            lookup=geography.LOOKUP_TITLE,
            attribution=geography.attribution(),
            ward_deciles=dict(place.ward_deciles),
        ),
        not_audited=not_audited,
    )


NO_EVENT = "(no event given)"


def split_by_event(table: Table, column: str) -> list[tuple[str, Table]]:
    """One table per distinct value of an event column, blank events together.

    Each is the same lazy scan with a filter, so nothing is copied.
    """
    if column not in table.columns:
        shown = ", ".join(repr(c) for c in table.columns[:12])
        raise RegisterError(
            f"register {table.name} has no column {column!r} for --event-column. Its columns "
            f"are {shown}."
        )
    guess = guess_column(column)
    if guess.kind in ("identifying", "free_text"):
        # Event names are written into folder names, events.json and the store.
        raise RegisterError(
            f"register {table.name}: --event-column {column!r}: {guess.reason}, so its values "
            "cannot name events (they would be written into the reports and the store). "
            "Give the column that names each row's event or session."
        )
    values = collect(
        table, table.frame.select(pl.col(column).cast(pl.String).unique().sort(nulls_last=True))
    ).to_series()
    events: list[tuple[str, Table]] = []
    for value in values.to_list():
        if value is None or not value.strip():
            if any(name == NO_EVENT for name, _ in events):
                continue
            condition = pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")
            name = NO_EVENT
        else:
            condition = pl.col(column) == value
            name = value.strip()
        events.append(
            (
                name,
                replace(
                    table,
                    frame=table.frame.filter(condition),
                    with_overflow=(
                        table.with_overflow.filter(condition)
                        if table.with_overflow is not None
                        else None
                    ),
                ),
            )
        )
    return events


def event_date_column(table: Table) -> str | None:
    """The column that gives each row's event date ("Event date", "Session date"), if any."""
    found = [c for c in table.columns if guess_column(c).kind == "event_date"]
    if len(found) > 1:
        shown = ", ".join(repr(c) for c in found)
        raise RegisterError(
            f"register {table.name} has several event-date columns ({shown}). Delete or rename "
            "all but one, or give the date with --event-date."
        )
    return found[0] if found else None


def event_dates(
    events: Sequence[tuple[str, Table]], column: str, default: dt.date | None
) -> dict[str, dt.date | None]:
    """Each event's date from an event-date column, else ``default``.

    An event's rows must agree on one date (blank rows take it from the others);
    an event with no date in the column gets ``default``.

    Raises:
        RegisterError: an event with two different dates, or a date that cannot
            be read, naming the event, the column and the values.
    """
    found: dict[str, dt.date | None] = {}
    for name, part in events:
        values = collect(
            part, part.frame.select(pl.col(column).cast(pl.String).unique().drop_nulls())
        ).to_series()
        dates: set[dt.date] = set()
        for value in values.to_list():
            if not value.strip():
                continue
            day = parse_date(value)
            if day is None:
                raise RegisterError(
                    f"register {part.name}: column {column!r} holds {value.strip()[:40]!r} for "
                    f"event {name!r}, which is not a date. Write dates as YYYY-MM-DD or "
                    "DD/MM/YYYY."
                )
            dates.add(day)
        if len(dates) > 1:
            shown = ", ".join(d.isoformat() for d in sorted(dates))
            raise RegisterError(
                f"register {part.name}: event {name!r} has several dates in column {column!r} "
                f"({shown}). Give each session its own name in the event column, or correct "
                "the dates."
            )
        found[name] = dates.pop() if dates else default
    return found


def _answers_for_bands(
    raw: Sequence[tuple[str | None, int]],
    assignment: ColumnAssignment,
    event_date: dt.date | None,
    mapping: UserMapping | None = None,
) -> list[str]:
    """The distinct answers a reference sees, dates of birth already turned into ages.

    For age, the mapping file's decisions come first: an answer it sets aside (or
    leaves to decide) makes no band, and one it maps to a band counts as that band,
    which is how a user settles two overlapping ranges.
    """
    answers = [answer for answer, _ in raw if answer is not None]
    if mapping is not None and assignment.characteristic == "age":
        decided = [(answer, mapping.answer_for(assignment.question, answer)) for answer in answers]
        answers = [
            answer if decision is None else decision
            for answer, decision in decided
            if decision not in (DECLINED, UNPLACEABLE, TODO)
        ]
    if not assignment.dates_of_birth:
        return answers
    ages = [birth_answer_age(answer, event_date) for answer in answers]
    return [
        str(age) if age is not None else answer for age, answer in zip(ages, answers, strict=True)
    ]


def _broader_audit(
    name: str,
    assignment: ColumnAssignment,
    raw: Sequence[tuple[str | None, int]],
    harmonised: HarmonisedColumn,
    detailed: ReferenceCharacteristic,
    reference: ReferenceSource,
    assigned: dict[str, ColumnAssignment],
    mapping: UserMapping | None,
) -> tuple[ColumnAssignment, ReferenceCharacteristic, HarmonisedColumn] | None:
    """The same column at the broader level, when some answers name only a broad group.

    "Mixed race" cannot be counted among the 4 Mixed categories, but it can among
    the 5 high-level ethnic groups, so those answers are not lost. Where the
    reference publishes that level (``ethnic_group_broad``) it is used; for every
    other characteristic with a hierarchy ("Other language" as a main language,
    "Homeowner", "Christian" in Northern Ireland) the categories inside each group
    that answers named are added up into that group, and the rest kept as they are:
    the level the answers support.
    """
    if not harmonised.n_broad_only:
        return None
    broader_name = BROADER_CHARACTERISTIC.get(name) or f"{name}_broad"
    if broader_name in assigned:
        return None
    answers = [answer for answer, _ in raw if answer is not None]
    base, groups = detailed, harmonised.broad_groups
    if broader_name in BROADER_CHARACTERISTIC.values():
        published = reference.profile(broader_name, answers)
        if not isinstance(published, NotAvailable):
            placer = AnswerPlacer(broader_name, list(published.categories), mapping=mapping)
            counted = harmonise_column(raw, placer)
            if not counted.n_broad_only:
                return _broader(broader_name, name, assignment), published, counted
            # Some answers are broader still ("Owned" beside owned outright / with a
            # mortgage): add up the published level further.
            base, groups = published, counted.broad_groups
    profile = _added_up(broader_name, assignment.question, base, groups)
    if profile is None:
        return None
    placer = AnswerPlacer(assignment.question, list(profile.categories), mapping=mapping)
    return _broader(broader_name, name, assignment), profile, harmonise_column(raw, placer)


def _broader(broader_name: str, name: str, assignment: ColumnAssignment) -> ColumnAssignment:
    return ColumnAssignment(
        broader_name,
        assignment.column,
        assignment.question,
        False,
        assignment.approximate,
        f"the {name.replace('_', ' ')} column, at the broader level",
    )


def _added_up(
    name: str, question: str, detailed: ReferenceCharacteristic, groups: dict[str, int]
) -> ReferenceCharacteristic | None:
    """The reference with the categories inside each named broad group added up into it."""
    containing = groups_containing(question, list(detailed.categories), groups)
    merged: dict[str, float] = {}
    for category, count in detailed.categories.items():
        label = containing[category][-1] if containing[category] else category
        merged[label] = merged.get(label, 0.0) + count
    if len(merged) < 2 or len(merged) == len(detailed.categories):
        return None
    named = ", ".join(f"'{g}'" for g in groups)
    caveat = (
        f"Compared at the level the register's answers support: some answers named only "
        f"{named}, so the Census categories inside {'it' if len(groups) == 1 else 'them'} "
        "are added up."
    )
    return replace(detailed, name=name, categories=merged, caveats=(caveat, *detailed.caveats))


def _draft_characteristic(
    assignment: ColumnAssignment,
    profile: ReferenceCharacteristic,
    harmonised: HarmonisedColumn,
    config: AuditConfig,
) -> dict[str, Any]:
    """Every statistic of one characteristic except the adjusted p-values."""
    n = harmonised.n_known
    unknown = harmonised.n_unknown
    population_total = math.fsum(profile.categories.values())
    groups = []
    for category, population_count in profile.categories.items():
        count = harmonised.counts[category]
        population_share = population_count / population_total
        groups.append(
            _draft_group(category, count, n, unknown, population_count, population_share, config)
        )

    testable = [g for g in groups if g["population_share"] > 0]
    dissimilarity = chi_square = None
    if n > 0:
        dissimilarity = stats.dissimilarity_index(
            [g["count"] / n for g in groups], [g["population_share"] for g in groups]
        )
        in_empty_category = any(g["count"] > 0 for g in groups if g["population_share"] == 0)
        if len(testable) >= 2 and not in_empty_category:
            statistic, df, p_value = stats.chi_square_goodness_of_fit(
                [g["count"] for g in testable], [g["population_share"] for g in testable]
            )
            chi_square = ChiSquare(
                statistic, df, p_value, min(g["expected_count"] for g in testable)
            )
    gap = profile.base_gap
    share_bounds = [
        stats.base_share_bounds(
            g["population_count"], population_total, gap.outside_eligible, gap.outside_base
        )
        if gap is not None and g["population_share"] > 0
        else None
        for g in groups
    ]
    notes = [assignment.approximate] if assignment.approximate else []
    notes += sorted(harmonised.notes - set(notes))
    broad_answers: dict[str, tuple[int, tuple[str, ...]]] = {}
    if harmonised.broad_groups:
        containing = groups_containing(
            assignment.question, list(profile.categories), harmonised.broad_groups
        )
        for category, named in containing.items():
            if named:
                total = sum(harmonised.broad_groups[g] for g in named)
                broad_answers[category] = (total, named)
    return {
        "broad_answers": broad_answers,
        "name": assignment.characteristic,
        "column": assignment.column,
        "n_known": n,
        "n_unknown": unknown,
        "n_blank": harmonised.n_blank,
        "n_declined": harmonised.n_declined,
        "n_broad_only": harmonised.n_broad_only,
        "n_unplaceable": harmonised.n_unplaceable,
        "unplaceable": tuple(
            UnplaceableAnswer(answer, count, note)
            for answer, (count, note) in sorted(harmonised.unplaceable.items())
        ),
        "mapping_notes": tuple(notes),
        "dissimilarity_index": dissimilarity,
        "chi_square": chi_square,
        "groups": groups,
        "share_bounds": share_bounds,
        "base_gap": gap,
        "reference": ReferenceInfo(
            source=profile.source,
            base=profile.base,
            universe=profile.universe,
            table=profile.table,
            unit=profile.unit,
            caveats=profile.caveats,
            attribution=profile.attribution,
        ),
    }


def _broad_answers_guard(
    group: dict[str, Any],
    status: Status,
    broad: dict[str, tuple[int, tuple[str, ...]]],
    n: int,
    config: AuditConfig,
) -> tuple[Status, str | None]:
    """No verdict on a detailed group that answers naming only its broad group could change.

    When b answers named only a group that contains this category (say "Other
    language" around the four "Main language is not English" categories), the
    category's count c of n is a lower bound. "Under" stands only if the share
    stays below the threshold even with all b in the group, (c + b) / (n + b);
    "over" only if it stays above it with none of them, c / (n + b). Otherwise
    the group gets no verdict, and the broader level (audited beside it) is the
    one to read. Worked example: c = 0, n = 255, b = 45, population share 8.8%:
    (0 + 45) / 300 = 15% is 1.7 times the share, so "under" (ratio 0.00) cannot
    stand.
    """
    found = broad.get(group["category"])
    if found is None or status not in _JUDGED:
        return status, None
    b, named = found
    share = group["population_share"]
    if share <= 0:
        return status, None
    count = group["count"]
    if status in (Status.UNDER, Status.POSSIBLE_UNDER):
        holds = (count + b) / (n + b) / share < config.under_threshold
    else:
        holds = count / (n + b) / share > config.over_threshold
    if holds:
        return status, None
    groups = " or ".join(f"'{g}'" for g in named)
    return Status.INSUFFICIENT_DATA, (
        f"{b} answer{'s' if b != 1 else ''} named only {groups}, which includes this group, "
        "so whether it is under- or over-represented cannot be told at this level: see the "
        "same column at the broader level."
    )


_JUDGED = (Status.UNDER, Status.POSSIBLE_UNDER, Status.OVER, Status.POSSIBLE_OVER)


def _judge_drafts(drafts: Sequence[dict[str, Any]], config: AuditConfig) -> list[list[Verdict]]:
    """The verdicts of the drafted characteristics, as one correction family."""
    from inclusion_audit.findings.verdicts import BinomialEvidence, Question, judge

    return judge(
        [
            Question(
                draft["name"],
                [
                    BinomialEvidence(
                        group["count"], draft["n_known"], group["population_share"], bounds
                    )
                    if group["ratio"] is not None
                    else None
                    for group, bounds in zip(draft["groups"], draft["share_bounds"], strict=True)
                ],
            )
            for draft in drafts
        ],
        config,
    )


_WORDS = {
    Status.UNDER: "under-represented",
    Status.OVER: "over-represented",
    Status.POSSIBLE_UNDER: "possibly under-represented",
    Status.POSSIBLE_OVER: "possibly over-represented",
}


def _base_bounds(
    group: dict[str, Any], verdict: Verdict, gap: BaseGap | None, draft: dict[str, Any]
) -> BaseBounds | None:
    """The verdict at both bounds of the base (``findings.verdicts``), with why in words."""
    bounds = verdict.bounds
    if bounds is None or gap is None:
        return None
    n, count = draft["n_known"], group["count"]

    def ratio(share: float) -> float | None:
        return count / n / share if share > 0 else None

    stand_in = bounds.status_at_stand_in
    firm = stand_in in (Status.UNDER, Status.OVER)
    held = bounds.holds(stand_in) if firm else None
    reason = None
    if held is False:
        parts = []
        if gap.outside_eligible:
            parts.append(
                f"includes {gap.outside_eligible:,.0f} residents aged "
                f"{gap.ages_outside_eligible} who were not eligible"
            )
        if gap.outside_base:
            parts.append(
                f"leaves out {gap.outside_base:,.0f} eligible residents aged "
                f"{gap.ages_outside_base}"
            )
        low, high = ratio(bounds.share_high) or 0.0, ratio(bounds.share_low)
        top = "any higher value" if high is None else f"{high:.2f}"
        reason = (
            f"Not firm: the Census base {' and '.join(parts)}. Depending on how many of "
            f"them are in this group, its ratio lies between {low:.2f} and {top}; "
            f"'{_WORDS[stand_in]}' holds at only one end, so the verdict is "
            f"'{_WORDS.get(verdict.status, str(verdict.status))}'."
        )
    return BaseBounds(
        share_low=bounds.share_low,
        share_high=bounds.share_high,
        ratio_at_share_low=ratio(bounds.share_low),
        ratio_at_share_high=ratio(bounds.share_high),
        status_at_share_low=bounds.status_at_share_low,
        status_at_share_high=bounds.status_at_share_high,
        held_at_both=held,
        reason=reason,
    )


def _group_result(
    group: dict[str, Any],
    verdict: Verdict,
    status: Status,
    config: AuditConfig,
    base_bounds: BaseBounds | None = None,
) -> GroupResult:
    """A drafted group with its verdict; ``status`` may be the verdict's or a guard's."""
    from inclusion_audit.findings.verdicts import robust_to_unknown

    return GroupResult(
        **group,
        base_bounds=base_bounds,
        status=status,
        p_value=verdict.p_value,
        p_value_adjusted=verdict.p_value_adjusted,
        ratio_ci_low=verdict.ratio_ci_low,
        ratio_ci_high=verdict.ratio_ci_high,
        ratio_ci_level=verdict.ratio_ci_level,
        in_family=verdict.in_family,
        robust_to_unknown=robust_to_unknown(
            status,
            group["population_share"],
            group["share_if_unknown_in_group"],
            group["share_if_unknown_not_in_group"],
            config,
        ),
    )


def _draft_group(
    category: str,
    count: int,
    n: int,
    unknown: int,
    population_count: float,
    population_share: float,
    config: AuditConfig,
) -> dict[str, Any]:
    share = count / n if n else None
    low = high = ratio = None
    note = None
    p_binom_test = None
    if n:
        low, high = stats.wilson_interval(count, n, config.confidence)
    if population_share > 0 and n:
        ratio = stats.representation_ratio(count / n, population_share)
        p_binom_test = stats.binomial_test(count, n, population_share)
    elif population_share == 0:
        note = "The reference population has nobody in this category, so it is not tested."
    everyone = n + unknown
    return {
        "category": category,
        "count": count,
        "share": share,
        "share_ci_low": low,
        "share_ci_high": high,
        "population_count": population_count,
        "population_share": population_share,
        "expected_count": n * population_share,
        "ratio": ratio,
        "p_value_binom_test": p_binom_test,
        "shortfall": _shortfall(count, n, population_share, config.under_threshold),
        "shortfall_parity": _shortfall(count, n, population_share, 1.0),
        "share_if_unknown_in_group": (count + unknown) / everyone if everyone else None,
        "share_if_unknown_not_in_group": count / everyone if everyone else None,
        "note": note,
    }


def _shortfall(count: int, n: int, population_share: float, threshold: float) -> int:
    """People needed to lift the ratio to ``threshold``; 0 where it cannot be reached."""
    return (
        stats.shortfall(count, n, population_share, threshold)
        if 0 < threshold * population_share < 1
        else 0
    )
