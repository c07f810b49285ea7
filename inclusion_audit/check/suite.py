"""Check: is a register fit to audit? Great Expectations validation for CI pipelines.

The register's characteristic columns are harmonised exactly as the audit
harmonises them (same column recognition, same answer placing, same mapping
file), and the harmonised columns, not the raw file, are validated with a
Great Expectations suite:

- the register has at least ``min_rows`` rows;
- each ``required`` characteristic has a column;
- every answer of each characteristic column is a reference category, blank,
  "prefer not to say" or a known answer the audit sets aside (such as "BAME"),
  so the audit will not stop on it;
- optionally, at most ``max_unknown`` of each column's answers are not a
  category (blank, declined or set aside): an audit on mostly unknown answers
  says little;
- participant identifiers, when the register has them, do not repeat (a
  response counted twice inflates its groups);
- with an event column, every row names its event.

Names, contact details and free-text columns are never handed to Great
Expectations. Identifiers are replaced by hashes before validation and the
hashes are not reported: a duplicate is described by its row numbers.

Great Expectations takes about 2 s to import, so it is imported only when a
check runs.

The module is longer than most because it is one thing: the suite, the
expectations it is built from, and the mapping of Great Expectations' results
back to rows and messages belong together (``report`` only formats the outcome).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import polars as pl

from inclusion_audit import __version__
from inclusion_audit.audit import PreparedRegister, prepare_register
from inclusion_audit.errors import InputError
from inclusion_audit.ingest.harmonise import AnswerPlacer, HarmonisedColumn
from inclusion_audit.ingest.mapping import UserMapping
from inclusion_audit.ingest.readers import Table, collect
from inclusion_audit.ingest.validate import closest_hint, first_rows, rows_phrase, show_value
from inclusion_audit.reference.profiles import ReferenceSource
from inclusion_audit.vocab.folding import column_key

BLANK = "(blank)"
DECLINED = "(prefer not to say)"
SET_ASIDE = "(set aside)"
"""Harmonised values that are not categories; the audit counts them as unknown."""
_SENTINELS = frozenset({BLANK, DECLINED, SET_ASIDE})

ID_COLUMN_NAMES = ("participant_id", "respondent_id", "response_id", "id")
"""Headers taken as participant identifiers when ``--id-column`` is not given."""

_SUITE_NAME = "inclusion_audit_register"
# Parenthesised so that no characteristic of a reference file can share the name.
_ID = "(participant id)"
_EVENT = "(event)"
_MAX_LISTED = 20
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": _MAX_LISTED}


def split_names(values: Iterable[str]) -> tuple[str, ...]:
    """Names given one per option or comma-separated, as ``--require age,sex``.

    >>> split_names(["age,sex", " religion "])
    ('age', 'sex', 'religion')
    """
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


class CheckOptionError(InputError):
    """A check option names something the register or reference does not have."""


@dataclass(frozen=True)
class CheckRules:
    """What a register must satisfy, beyond every answer being understood."""

    min_rows: int = 1
    required: tuple[str, ...] = ()
    """Characteristics that must have a column, e.g. ``("age", "sex")``."""
    max_unknown: float | None = None
    """Largest share of a column's answers that may be blank, declined or set aside."""
    id_column: str | None = None
    """Column of participant identifiers; ``None`` looks for a usual header."""
    event_column: str | None = None


@dataclass(frozen=True)
class ValueProblem:
    """One distinct answer (or repeated identifier) behind a failed expectation."""

    value: str
    """The answer as written, quoted and shortened for a terminal; "" for identifiers."""
    count: int
    first_row: int | None
    """Spreadsheet row of its first occurrence (the header is row 1)."""
    hint: str = ""
    """The closest categories, when there are any."""


@dataclass(frozen=True)
class Expectation:
    """One expectation of the suite and how the register fared."""

    key: str
    """Stable identifier, e.g. ``answers_known.ethnic_group``."""
    title: str
    expectation_type: str
    """The Great Expectations type, e.g. ``expect_column_values_to_be_in_set``."""
    characteristic: str | None
    column: str | None
    """The register column checked, as headed in the file."""
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed: int | None = None
    problems: tuple[ValueProblem, ...] = ()
    notes: tuple[str, ...] = ()
    """Things worth knowing that do not fail the check (answers set aside)."""
    message: str = ""
    """What is wrong and how to fix it; empty when the expectation is met."""


@dataclass(frozen=True)
class NotChecked:
    """A characteristic whose answers could not be checked, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class CheckResult:
    """Everything ``inclusion-audit check`` found, JSON-serialisable with ``to_dict``."""

    tool_version: str
    checked_at: str
    file: str
    file_format: str
    rows: int
    reference: str
    success: bool
    expectations: tuple[Expectation, ...]
    not_checked: tuple[NotChecked, ...]
    seconds: float
    great_expectations: dict[str, Any] = field(repr=False)
    """Great Expectations' own validation result (``to_json_dict``), identifiers removed."""
    suite: dict[str, Any] = field(repr=False)
    """The suite that was run, loadable with ``gx.ExpectationSuite(**suite)``."""

    @property
    def failed(self) -> list[Expectation]:
        return [e for e in self.expectations if not e.success]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_register(
    table: Table,
    reference: ReferenceSource,
    rules: CheckRules | None = None,
    *,
    mapping: UserMapping | None = None,
    event_date: dt.date | None = None,
) -> CheckResult:
    """Validate ``table`` against ``rules`` with Great Expectations.

    Raises ``InputError`` subclasses when the register cannot be checked at all
    (unreadable, no characteristic column, a column twice, an option naming a
    column or characteristic that does not exist); failed expectations are the
    result, not errors.
    """
    started = time.perf_counter()
    rules = rules or CheckRules()
    _check_rules(rules, table, reference)
    importing = _import_in_background()
    prepared = prepare_register(table, reference, mapping=mapping, event_date=event_date)
    id_column = rules.id_column or _find_id_column(table.columns)
    plans = _characteristic_plans(prepared)
    unplanned = {
        name: a.column
        for name, a in prepared.assigned.items()
        if name not in {plan.characteristic for plan in plans}
    }
    harmonised = _harmonised_frame(table, plans, unplanned, id_column, rules.event_column)
    # pandas and pyarrow are imported by both threads: wait rather than race.
    importing.join()
    frame = harmonised.to_pandas()
    context = _context()
    suite = context.suites.add(_suite(plans, rules, id_column))
    validation = _validate(context, frame, suite)
    outcomes = _outcomes(validation, plans, prepared, table, rules, id_column, frame)
    not_checked = [NotChecked(n.name, n.reason) for n in prepared.not_audited]
    return CheckResult(
        tool_version=__version__,
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        file=table.name,
        file_format=table.file_format,
        rows=prepared.n_rows,
        reference=reference.description,
        success=all(o.success for o in outcomes),
        expectations=tuple(outcomes),
        not_checked=tuple(not_checked),
        seconds=round(time.perf_counter() - started, 3),
        great_expectations=_without_private_values(validation.to_json_dict()),
        suite=_without_ids(suite.to_json_dict()),
    )


def _check_rules(rules: CheckRules, table: Table, reference: ReferenceSource) -> None:
    known = reference.characteristic_names()
    for name in rules.required:
        if name not in known:
            raise CheckOptionError(
                f"--require {name}: the reference has no characteristic {name!r}. "
                f"Choose from {', '.join(known)}."
            )
    if rules.min_rows < 0:
        raise CheckOptionError(f"--min-rows {rules.min_rows}: give 0 or more.")
    if rules.max_unknown is not None and not 0 <= rules.max_unknown <= 1:
        raise CheckOptionError(
            f"--max-unknown {rules.max_unknown}: give a share between 0 and 1, e.g. 0.2."
        )
    for option, column in (
        ("--id-column", rules.id_column),
        ("--event-column", rules.event_column),
    ):
        if column is not None and column not in table.columns:
            shown = ", ".join(repr(c) for c in table.columns[:12])
            raise CheckOptionError(
                f"{option} {column!r}: register {table.name} has no such column. Its columns "
                f"are {shown}."
            )


def _find_id_column(headers: Sequence[str]) -> str | None:
    by_key = {column_key(h): h for h in headers}
    return next((by_key[name] for name in ID_COLUMN_NAMES if name in by_key), None)


@dataclass(frozen=True)
class _Plan:
    """How one characteristic column becomes a harmonised column."""

    characteristic: str
    column: str
    categories: tuple[str, ...]
    labels: dict[str, str]
    """Each distinct non-null answer, as read, to its harmonised value."""
    notes: tuple[str, ...]
    """Answers the audit knows but does not count in a category, and why."""


def _characteristic_plans(prepared: PreparedRegister) -> list[_Plan]:
    plans = []
    for assignment, profile, harmonised in prepared.characteristics:
        if prepared.assigned.get(assignment.characteristic) is not assignment:
            continue  # the broader level of a column already planned
        placer = prepared.placers[assignment.column]
        plans.append(
            _Plan(
                assignment.characteristic,
                assignment.column,
                tuple(profile.categories),
                _labels(prepared.counts[assignment.column], placer),
                _set_aside_notes(harmonised),
            )
        )
    return plans


def _set_aside_notes(harmonised: HarmonisedColumn) -> tuple[str, ...]:
    """What the audit will count as unknown although it understands it.

    Answers a user set aside in a mapping file are not quoted (the harmonise
    layer already hides them): they may be free text.
    """
    notes = []
    if harmonised.n_broad_only:
        notes.append(
            f"answers on {rows_phrase(harmonised.n_broad_only)} name only a broad group (such "
            "as 'Mixed race'); the audit counts them at the broader level"
        )
    listed = sorted(harmonised.unplaceable.items(), key=lambda item: (-item[1][0], item[0]))
    for answer, (count, why) in listed[:_MAX_LISTED]:
        shown = answer if answer.startswith("(") else show_value(answer)
        notes.append(f"{shown} ({rows_phrase(count)}) is counted as unknown: {why}")
    return tuple(notes)


def _labels(counts: Sequence[tuple[str | None, int]], placer: AnswerPlacer) -> dict[str, str]:
    labels: dict[str, str] = {}
    for answer, _ in counts:
        if answer is None:
            continue
        placement = placer.place(answer)
        if placement.kind == "blank":
            labels[answer] = BLANK
        elif placement.kind == "declined":
            labels[answer] = DECLINED
        elif placement.kind == "category" and placement.category is not None:
            labels[answer] = placement.category
        elif placement.kind in ("broad_only", "unplaceable"):
            labels[answer] = SET_ASIDE
        elif answer in _SENTINELS:
            # An unknown answer written exactly like a sentinel must not pass as one.
            labels[answer] = f"{answer} (an answer, not a category)"
        else:
            # Unknown answers keep their own text, so the validation reports them.
            labels[answer] = answer
    return labels


def _harmonised_frame(
    table: Table,
    plans: Sequence[_Plan],
    unplanned: dict[str, str],
    id_column: str | None,
    event_column: str | None,
) -> pl.DataFrame:
    """The harmonised columns (categorical), read in one streaming pass.

    A characteristic the reference cannot audit (``unplanned``) is present only
    as whether each row answered, so that its column is seen to exist.
    """
    expressions = [pl.col(column).is_not_null().alias(name) for name, column in unplanned.items()]
    for plan in plans:
        values = list(dict.fromkeys([*plan.categories, BLANK, DECLINED, SET_ASIDE]))
        values += [v for v in dict.fromkeys(plan.labels.values()) if v not in values]
        expressions.append(
            pl.col(plan.column)
            .cast(pl.String)
            .replace_strict(plan.labels, default=None, return_dtype=pl.Enum(values))
            .fill_null(BLANK)
            .alias(plan.characteristic)
        )
    if id_column is not None:
        identifier = pl.col(id_column).cast(pl.String).str.strip_chars()
        expressions.append(
            pl.when(identifier != "").then(identifier.hash(seed=0)).otherwise(None).alias(_ID)
        )
    if event_column is not None:
        event = pl.col(event_column).cast(pl.String).str.strip_chars()
        expressions.append(pl.when(event != "").then(event).otherwise(None).alias(_EVENT))
    if not expressions:
        # Nothing to validate but the row count: any column gives the rows.
        expressions.append(pl.col(table.columns[0]).is_null().alias("_rows"))
    return collect(table, table.frame.select(expressions))


def _gx() -> Any:
    """Import Great Expectations quietly (its import warns about a deprecated module)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # Not catch_warnings(): the import may run in a thread, and that is not thread-safe.
    warnings.filterwarnings(
        "ignore", message=r"module 'sre_\w+' is deprecated", category=DeprecationWarning
    )
    import great_expectations as gx

    return gx


def _import_in_background() -> threading.Thread:
    """Start importing Great Expectations (about 2 s) while polars reads the register.

    polars releases the GIL while it reads, so on two cores the import and the
    read overlap. A failed import is left for the main thread to raise again.
    """

    def target() -> None:
        with contextlib.suppress(BaseException):
            _gx()

    thread = threading.Thread(target=target, name="import great_expectations", daemon=True)
    thread.start()
    return thread


def _suite(plans: Sequence[_Plan], rules: CheckRules, id_column: str | None) -> Any:
    gx = _gx()
    gxe = gx.expectations
    suite = gx.ExpectationSuite(name=_SUITE_NAME)

    def add(key: str, expectation: Any) -> None:
        expectation.meta = {"key": key}
        suite.add_expectation(expectation)

    add(
        "rows",
        gxe.ExpectTableRowCountToBeBetween(
            min_value=rules.min_rows,
            description=f"At least {rules.min_rows:,} participant row(s)",
        ),
    )
    for name in rules.required:
        add(
            f"has_column.{name}",
            gxe.ExpectColumnToExist(column=name, description=f"Has a column for {_words(name)}"),
        )
    for plan in plans:
        add(
            f"answers_known.{plan.characteristic}",
            gxe.ExpectColumnValuesToBeInSet(
                column=plan.characteristic,
                value_set=[*plan.categories, BLANK, DECLINED, SET_ASIDE],
                description=f"{_words(plan.characteristic)}: every answer is a category, "
                "blank, declined or set aside",
            ),
        )
        if rules.max_unknown is not None:
            add(
                f"answered.{plan.characteristic}",
                gxe.ExpectColumnValuesToBeInSet(
                    column=plan.characteristic,
                    value_set=list(plan.categories),
                    mostly=round(1 - rules.max_unknown, 10),
                    description=f"{_words(plan.characteristic)}: at least "
                    f"{1 - rules.max_unknown:.0%} of answers are a category",
                ),
            )
    if id_column is not None:
        add(
            "unique_ids",
            gxe.ExpectColumnValuesToBeUnique(
                column=_ID, description="Participant identifiers do not repeat"
            ),
        )
    if rules.event_column is not None:
        add(
            "event_named",
            gxe.ExpectColumnValuesToNotBeNull(
                column=_EVENT, description="Every row names its event"
            ),
        )
    return suite


def _words(name: str) -> str:
    return name.replace("_", " ")


def _context() -> Any:
    """An in-memory Great Expectations context: it writes no files and sends nothing."""
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    # Its progress bars would fill a CI log; TQDM_DISABLE does not silence them.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _validate(context: Any, frame: Any, suite: Any) -> Any:
    """Run the whole suite in one call: each call costs about 0.6 s on a million rows."""
    batch = (
        context.data_sources.add_pandas(name="register")
        .add_dataframe_asset(name="register")
        .add_batch_definition_whole_dataframe(name="whole register")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    return batch.validate(suite, result_format=_RESULT_FORMAT)


def _outcomes(
    validation: Any,
    plans: Sequence[_Plan],
    prepared: PreparedRegister,
    table: Table,
    rules: CheckRules,
    id_column: str | None,
    frame: Any,
) -> list[Expectation]:
    by_characteristic = {plan.characteristic: plan for plan in plans}
    outcomes = []
    for result in validation.results:
        config = result.expectation_config
        key = config.meta["key"]
        kind, _, name = key.partition(".")
        details: dict[str, Any] = result.result or {}
        outcome = Expectation(
            key=key,
            title=config.description or key,
            expectation_type=config.type,
            characteristic=name or None,
            column=None,
            success=bool(result.success),
            element_count=details.get("element_count"),
            unexpected_count=details.get("unexpected_count"),
            unexpected_percent=details.get("unexpected_percent"),
            observed=details.get("observed_value"),
        )
        if kind == "rows":
            outcome = _rows_outcome(outcome, prepared.n_rows, rules.min_rows)
        elif kind == "has_column":
            outcome = _has_column_outcome(outcome, prepared, name)
        elif kind in ("answers_known", "answered"):
            plan = by_characteristic[name]
            outcome = _answers_outcome(outcome, kind, plan, prepared, table, rules)
        elif kind == "unique_ids":
            assert id_column is not None
            outcome = _ids_outcome(outcome, table, id_column, frame)
        elif kind == "event_named":
            assert rules.event_column is not None
            outcome = _event_outcome(outcome, table, rules.event_column, frame)
        outcomes.append(outcome)
    order = {key: index for index, key in enumerate(_key_order(plans, rules, id_column))}
    return sorted(outcomes, key=lambda o: order.get(o.key, len(order)))


def _key_order(plans: Sequence[_Plan], rules: CheckRules, id_column: str | None) -> list[str]:
    keys = ["rows", *(f"has_column.{n}" for n in rules.required)]
    for plan in plans:
        keys += [f"answers_known.{plan.characteristic}", f"answered.{plan.characteristic}"]
    return [*keys, "unique_ids", "event_named"]


def _rows_outcome(outcome: Expectation, n_rows: int, min_rows: int) -> Expectation:
    if outcome.success:
        return outcome
    return replace(
        outcome,
        message=f"the register has {n_rows} participant row(s), fewer than {min_rows}. "
        "Check you exported the responses, not just the questions.",
    )


def _has_column_outcome(outcome: Expectation, prepared: PreparedRegister, name: str) -> Expectation:
    assignment = prepared.assigned.get(name)
    if assignment is not None:
        return replace(outcome, column=assignment.column)
    if outcome.success:
        # The column exists but the reference cannot audit it (e.g. no Census table).
        return outcome
    return replace(
        outcome,
        message=f"no column answers {name}. Add a column headed {name!r}, or say which "
        "column it is in a mapping file ([columns] section).",
    )


def _answers_outcome(
    outcome: Expectation,
    kind: str,
    plan: _Plan,
    prepared: PreparedRegister,
    table: Table,
    rules: CheckRules,
) -> Expectation:
    outcome = replace(outcome, column=plan.column)
    notes = plan.notes
    if kind == "answered":
        if outcome.success:
            return outcome
        assert rules.max_unknown is not None
        share = (outcome.unexpected_percent or 0) / 100
        return replace(
            outcome,
            message=f"{share:.1%} of answers in column {plan.column!r} are blank, declined or "
            f"not a category, more than the {rules.max_unknown:.0%} allowed. Ask why people "
            "skip the question (wording, trust, an optional field) or collect it again.",
        )
    unknown = prepared.unmatched.get(plan.column, {})
    if outcome.success and not unknown:
        return replace(outcome, notes=notes)
    listed = sorted(unknown.items(), key=lambda item: (-item[1], item[0]))[:_MAX_LISTED]
    rows = first_rows(table, plan.column, [answer for answer, _ in listed])
    problems = tuple(
        ValueProblem(
            show_value(answer),
            count,
            rows.get(answer),
            closest_hint(answer, list(plan.categories)).removeprefix("; "),
        )
        for answer, count in listed
    )
    total = sum(unknown.values())
    return replace(
        outcome,
        problems=problems,
        notes=notes,
        message=f"{len(unknown)} distinct answer(s) in column {plan.column!r} "
        f"({rows_phrase(total)}) match no reference category. Say what they mean in a "
        "mapping file (`inclusion-audit "
        f"mapping suggest {table.name} … --output mapping.toml`, then `--mapping "
        "mapping.toml`), or correct them in the register.",
    )


def _ids_outcome(outcome: Expectation, table: Table, id_column: str, frame: Any) -> Expectation:
    outcome = replace(outcome, column=id_column)
    if outcome.success:
        return outcome
    hashes = pl.from_pandas(frame[[_ID]]).rename({_ID: "id"}).with_row_index("row")
    repeated = (
        hashes.filter(pl.col("id").is_not_null() & pl.col("id").is_duplicated())
        .group_by("id")
        .agg(pl.len().alias("count"), pl.col("row").min().alias("first"))
        .sort("first")
    )
    problems = tuple(
        ValueProblem("", int(count), int(first) + 2)
        for count, first in repeated.select("count", "first").head(_MAX_LISTED).iter_rows()
    )
    extra = int(repeated["count"].sum()) - repeated.height
    return replace(
        outcome,
        problems=problems,
        message=f"{repeated.height} identifier(s) in column {id_column!r} appear more than once "
        f"({extra} extra row(s)), so those participants would be counted twice. Remove "
        "duplicate responses, or give --id-column for the right column.",
    )


def _event_outcome(outcome: Expectation, table: Table, column: str, frame: Any) -> Expectation:
    outcome = replace(outcome, column=column)
    if outcome.success:
        return outcome
    missing = pl.from_pandas(frame[[_EVENT]]).to_series().is_null()
    first = int(missing.arg_true()[0]) + 2
    return replace(
        outcome,
        message=f"{int(missing.sum())} row(s) have no event in column {column!r}, the first on "
        f"row {first}. Fill in the event, or they are audited as '(no event given)'.",
    )


_SAMPLE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts")
_MAX_SAMPLE_LENGTH = 60


def _without_private_values(validation: dict[str, Any]) -> dict[str, Any]:
    """Great Expectations' result made fit for a CI log.

    The answers it samples stay (they are what needs fixing) but shortened, with
    control and direction characters escaped, as in the tool's own messages: a
    cell can hold anything, a whole address included. The hashes of repeated
    identifiers go, since a short identifier's hash can be reversed.
    """
    cleaned: dict[str, Any] = _without_ids(validation)
    for result in cleaned.get("results", []):
        details = result.get("result", {})
        if result.get("expectation_config", {}).get("kwargs", {}).get("column") == _ID:
            for key in _SAMPLE_KEYS:
                details.pop(key, None)
            continue
        if "partial_unexpected_list" in details:
            details["partial_unexpected_list"] = [
                _clip(v) for v in details["partial_unexpected_list"]
            ]
        for item in details.get("partial_unexpected_counts", []):
            item["value"] = _clip(item.get("value"))
    return cleaned


def _clip(value: Any) -> Any:
    """A sampled answer as the tool's messages show one: escaped and at most 60 characters."""
    if not isinstance(value, str):
        return value
    shown = repr(value)[1:-1]
    return shown if len(shown) <= _MAX_SAMPLE_LENGTH else shown[: _MAX_SAMPLE_LENGTH - 1] + "…"


def _without_ids(data: Any) -> Any:
    """Drop the random ``id`` fields Great Expectations adds, so output is reproducible."""
    if isinstance(data, dict):
        return {k: _without_ids(v) for k, v in data.items() if k != "id"}
    if isinstance(data, list):
        return [_without_ids(v) for v in data]
    return data
