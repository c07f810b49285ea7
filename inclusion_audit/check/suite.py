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
- at most ``max_unreadable`` (a quarter by default) of each column's answers,
  leaving out blank and declined ones, could not be read (placed in no group);
- optionally, at most ``max_unknown`` of each column's answers are not a
  category (blank, declined or set aside): an audit on mostly unknown answers
  says little;
- participant identifiers, when the register has them, do not repeat (a
  response counted twice inflates its groups);
- with an event column, every row names its event.

Names, contact details and free-text columns are never handed to Great
Expectations. Identifiers are replaced by hashes before validation and the
hashes are not reported: a duplicate is described by its row numbers.

Great Expectations does not see a million rows. polars reads the register once
and reduces it to counts: each characteristic column to its distinct harmonised
answers, the identifiers to how many rows each one is on, the event column to
its blank rows. The suite validates that compact table (a few hundred cells, in
pandas), and the row counts of every failure come from the same counts. This
keeps a million-row check within a second of Great Expectations' own import
time, which is done in a thread while polars reads. The ``check`` command
also imports Great Expectations without pyarrow and with ``scipy.stats``
left until used (``light_great_expectations_import``): the suite needs
neither, and together they are about 95 MB of a million-row check's peak.

The module is longer than most because it is one thing: the suite, the
expectations it is built from, and the mapping of Great Expectations' results
back to rows and messages belong together (``report`` only formats the outcome).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib.util
import itertools
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import polars as pl

from inclusion_audit import __version__
from inclusion_audit.audit import PreparedRegister, prepare_register
from inclusion_audit.errors import InputError, MissingExtraError
from inclusion_audit.ingest.harmonise import AnswerPlacer, HarmonisedColumn
from inclusion_audit.ingest.mapping import UserMapping
from inclusion_audit.ingest.readers import Table, collect_all
from inclusion_audit.ingest.validate import closest_hint, first_rows, rows_phrase, show_value
from inclusion_audit.reference.profiles import ReferenceSource
from inclusion_audit.result import UNREADABLE_SHARE
from inclusion_audit.vocab.columns import find_id_column

BLANK = "(blank)"
DECLINED = "(prefer not to say)"
SET_ASIDE = "(set aside)"
"""Harmonised values that are not categories; the audit counts them as unknown."""
_SENTINELS = frozenset({BLANK, DECLINED, SET_ASIDE})


_SUITE_NAME = "inclusion_audit_register"
# The compact table's own columns. Parenthesised so that no characteristic of a
# reference file can share their names.
_ROWS = "(register rows)"
_ID_ROWS = "(rows per participant id)"
_EVENT_BLANK = "(rows without an event)"
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
    max_unreadable: float | None = UNREADABLE_SHARE
    """Largest share of a column's answers, blank and declined ones left out, that may be
    placed in no group; ``None`` does not check it."""
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
    """The register's file name."""
    path: str
    """The register's path as it was given (what CI annotations and JUnit suites name)."""
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
    column or characteristic that does not exist), and ``MissingExtraError``
    when Great Expectations is not installed; failed expectations are the
    result, not errors.
    """
    started = time.perf_counter()
    require_great_expectations()
    rules = rules or CheckRules()
    _check_rules(rules, table, reference)
    importing = _import_in_background()
    extra = [rules.event_column] if rules.event_column is not None else []
    prepared = prepare_register(
        table, reference, mapping=mapping, event_date=event_date, extra_columns=extra
    )
    id_column = rules.id_column or find_id_column(table.columns)
    plans = _characteristic_plans(prepared)
    unplanned = [
        name
        for name in prepared.assigned
        if name not in {plan.characteristic for plan in plans}
        and name in reference.characteristic_names()
    ]
    tallies = _tallies(table, prepared, plans, unplanned, id_column, rules.event_column)
    # pandas is imported by both threads: wait rather than race.
    importing.join()
    context = _context()
    suite = _suite(plans, rules, id_column)
    validation = _validate(context, _compact_frame(tallies, plans, rules), suite)
    outcomes = _outcomes(validation, plans, prepared, table, rules, id_column, tallies)
    not_checked = [NotChecked(n.name, n.reason) for n in prepared.not_audited]
    return CheckResult(
        tool_version=__version__,
        checked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        file=table.name,
        path=str(table.path),
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


def require_great_expectations() -> None:
    """Raise ``MissingExtraError`` at once when Great Expectations is not installed.

    Before the register is read, so a pipeline learns it in a second, not after
    reading a million rows.
    """
    if importlib.util.find_spec("great_expectations") is None:
        raise MissingExtraError.for_extra("check", "inclusion-audit check needs Great Expectations")


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
    if rules.max_unreadable is not None and not 0 <= rules.max_unreadable <= 1:
        raise CheckOptionError(
            f"--max-unreadable {rules.max_unreadable}: give a share between 0 and 1, e.g. 0.25."
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
    n_unplaceable: int
    """Answers that could not be placed in any group (the audit's ``n_unplaceable``)."""
    n_answered: int
    """Answers given, blank and declined ones left out (the audit's ``n_answered``)."""


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
                harmonised.n_unplaceable,
                harmonised.n_known + harmonised.n_broad_only + harmonised.n_unplaceable,
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


@dataclass(frozen=True)
class _Tallies:
    """The register reduced to what the suite validates: counts, never rows."""

    n_rows: int
    answers: dict[str, dict[str, int]]
    """Rows per harmonised answer, by characteristic."""
    unplanned: tuple[str, ...]
    """Characteristics with a column that the reference cannot check (only their column exists)."""
    repeated_ids: tuple[tuple[int, int], ...] | None
    """(rows, first spreadsheet row) of each identifier on more than one row; None: no id column."""
    rows_per_id: tuple[int, ...]
    """The distinct numbers of rows an identifier is on (0 when no row has one)."""
    event_blank: int | None
    """Rows with no event; None without an event column."""


def _tallies(
    table: Table,
    prepared: PreparedRegister,
    plans: Sequence[_Plan],
    unplanned: Sequence[str],
    id_column: str | None,
    event_column: str | None,
) -> _Tallies:
    """Count harmonised answers from the counts the audit already made, and identifiers.

    The characteristic columns were counted by ``prepare_register`` (distinct
    answers only); the identifiers need one more streaming pass.
    """
    answers: dict[str, dict[str, int]] = {}
    for plan in plans:
        tally: dict[str, int] = {}
        for answer, count in prepared.counts[plan.column]:
            label = BLANK if answer is None else plan.labels.get(answer, BLANK)
            tally[label] = tally.get(label, 0) + count
        answers[plan.characteristic] = tally
    repeated: tuple[tuple[int, int], ...] | None = None
    rows_per_id: tuple[int, ...] = ()
    if id_column is not None:
        repeated, rows_per_id = _repeated_ids(table, id_column)
    event_blank = None
    if event_column is not None:
        event_blank = sum(
            count
            for answer, count in prepared.counts[event_column]
            if answer is None or not answer.strip()
        )
    return _Tallies(
        prepared.n_rows, answers, tuple(unplanned), repeated, rows_per_id or (0,), event_blank
    )


def _repeated_ids(
    table: Table, id_column: str
) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """Each repeated identifier's (rows, first spreadsheet row), and the distinct rows per id.

    One streaming pass reads the identifiers' 64-bit hashes (8 MB for a million);
    sorted, a repeated hash sits next to its copies, so comparing each with its
    neighbour finds every repeat without a hash table over all of them (a
    group-by took 40 MB more at a million rows, while Great Expectations is
    being imported beside it). Only when some repeat does a second pass find the
    rows they start on.
    """
    identifier = pl.col(id_column).cast(pl.String).str.strip_chars()
    hashed = table.frame.select(pl.when(identifier != "").then(identifier.hash(seed=0)).alias("id"))
    (ids,) = collect_all(table, [hashed.drop_nulls()])
    ordered = ids.to_series().sort()
    del ids  # the unsorted copy goes before the comparison
    # Each repeated hash once per row beyond its first.
    extra = ordered.filter(ordered == ordered.shift(1))
    distinct = ordered.len() - extra.len()
    del ordered
    repeats = extra.value_counts(name="extra")
    once = distinct > repeats.height
    rows_per_id = tuple(sorted({n + 1 for n in repeats["extra"]} | ({1} if once else set())))
    if repeats.is_empty():
        return (), rows_per_id
    (firsts,) = collect_all(
        table,
        [
            hashed.with_row_index("row")
            .filter(pl.col("id").is_in(repeats["id"].implode()))
            .group_by("id")
            .agg(pl.col("row").min().alias("first"), pl.len())
            .sort("first")
            .select("len", "first")
        ],
    )
    return tuple((int(n), int(first) + 2) for n, first in firsts.iter_rows()), rows_per_id


def _unknown_share_column(characteristic: str) -> str:
    return f"({characteristic}: share not a category)"


def _unreadable_share_column(characteristic: str) -> str:
    return f"({characteristic}: share not read)"


def _compact_frame(tallies: _Tallies, plans: Sequence[_Plan], rules: CheckRules) -> Any:
    """The table Great Expectations validates: one column per check, a few rows.

    Each characteristic column holds its distinct harmonised answers; the
    others hold one number each (the register's rows, a characteristic's share
    of answers that are not a category, rows without an event) or a few (the
    distinct numbers of rows an identifier is on). Shorter columns are padded
    with nulls, which the expectations used ignore or never meet.
    """
    import pandas as pd  # type: ignore[import-untyped]  # installed with Great Expectations

    columns: dict[str, list[Any]] = {_ROWS: [tallies.n_rows]}
    for plan in plans:
        tally = tallies.answers[plan.characteristic]
        columns[plan.characteristic] = list(tally)
        if rules.max_unknown is not None:
            unknown = sum(n for label, n in tally.items() if label not in plan.categories)
            share = unknown / tallies.n_rows if tallies.n_rows else 0.0
            columns[_unknown_share_column(plan.characteristic)] = [share]
        if rules.max_unreadable is not None:
            unread = plan.n_unplaceable / plan.n_answered if plan.n_answered else 0.0
            columns[_unreadable_share_column(plan.characteristic)] = [unread]
    for name in tallies.unplanned:
        columns[name] = []
    if tallies.repeated_ids is not None:
        columns[_ID_ROWS] = list(tallies.rows_per_id)
    if tallies.event_blank is not None:
        columns[_EVENT_BLANK] = [tallies.event_blank]
    height = max(1, *(len(values) for values in columns.values()))
    return pd.DataFrame(
        {
            name: pd.Series(
                values + [None] * (height - len(values)),
                dtype="object" if name in tallies.answers or name in tallies.unplanned else None,
            )
            for name, values in columns.items()
        }
    )


_light_imports = False


def light_great_expectations_import() -> None:
    """Let ``check`` import Great Expectations without what it does not use, for a process
    that only checks.

    Two parts of Great Expectations' import are never used by the suite and
    cost about 95 MB of the 300 MB a million-row check may take:

    - pandas 3 imports pyarrow (about 33 MB resident) as it is imported, when
      pyarrow is installed, to back its string type. The compact table Great
      Expectations validates is a few hundred cells of Python objects and never
      needs it (a ``[check]`` install has no pyarrow at all), so it is hidden
      while Great Expectations, and with it pandas, is imported.
    - ``scipy.stats`` (about 60 MB and 1 s of the import) is imported by three
      Great Expectations modules (the KL-divergence expectation and two
      Kolmogorov-Smirnov metrics) for use inside their functions only. It is
      registered as a lazy module (``importlib.util.LazyLoader``): Great
      Expectations' ``from scipy import stats`` binds it without running it,
      and it is loaded in full the first time anything uses it, so any
      expectation works as before; the ones the suite runs never touch it.

    It changes imports for the whole process (no pyarrow-backed pandas types),
    so only a program that owns its process calls it: the ``check`` command
    does; the library and the web service do not. Nothing happens once Great
    Expectations is imported; pyarrow stays importable if pandas or pyarrow
    already is, and ``scipy.stats`` is left alone once imported.
    """
    global _light_imports
    _light_imports = True


def defer_import(name: str) -> bool:
    """Register module ``name`` to be loaded at its first use rather than its import.

    ``import``/``from`` statements that find it already in ``sys.modules`` (as
    ``from package import name`` does once the parent holds it) get a lazy
    module whose code runs when an attribute of it is first read. Returns
    False, changing nothing, when the module is already imported or cannot
    be found.
    """
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)  # imports the parent package, if any
    except (ImportError, ValueError):
        return False
    if spec is None or spec.loader is None:
        return False
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        # As the import system binds a submodule to its package once imported.
        setattr(sys.modules[parent], child, module)
    return True


def _gx() -> Any:
    """Import Great Expectations quietly (its import warns about a deprecated module)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # Not catch_warnings(): the import may run in a thread, and that is not thread-safe.
    warnings.filterwarnings(
        "ignore", message=r"module 'sre_\w+' is deprecated", category=DeprecationWarning
    )
    light = _light_imports and "great_expectations" not in sys.modules
    hide = light and not {"pandas", "pyarrow"} & sys.modules.keys()
    if hide:
        # A None entry makes ``import pyarrow`` raise ImportError, which pandas
        # and Great Expectations take as "not installed".
        sys.modules["pyarrow"] = None  # type: ignore[assignment]
    if light:
        defer_import("scipy.stats")
    try:
        import great_expectations as gx
    finally:
        if hide and sys.modules.get("pyarrow", 0) is None:
            del sys.modules["pyarrow"]
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
        gxe.ExpectColumnMinToBeBetween(
            column=_ROWS,
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
                gxe.ExpectColumnMaxToBeBetween(
                    column=_unknown_share_column(plan.characteristic),
                    max_value=rules.max_unknown,
                    description=f"{_words(plan.characteristic)}: at least "
                    f"{1 - rules.max_unknown:.0%} of answers are a category",
                ),
            )
        if rules.max_unreadable is not None:
            add(
                f"readable.{plan.characteristic}",
                gxe.ExpectColumnMaxToBeBetween(
                    column=_unreadable_share_column(plan.characteristic),
                    max_value=rules.max_unreadable,
                    # No number in the name: CI tools track a test case by it.
                    description=f"{_words(plan.characteristic)}: the answers given could "
                    "be read (at most --max-unreadable of them not)",
                ),
            )
    if id_column is not None:
        add(
            "unique_ids",
            gxe.ExpectColumnMaxToBeBetween(
                column=_ID_ROWS, max_value=1, description="Participant identifiers do not repeat"
            ),
        )
    if rules.event_column is not None:
        add(
            "event_named",
            gxe.ExpectColumnMaxToBeBetween(
                column=_EVENT_BLANK, max_value=0, description="Every row names its event"
            ),
        )
    return suite


def _words(name: str) -> str:
    return name.replace("_", " ")


@functools.cache
def _context() -> Any:
    """An in-memory Great Expectations context, one per process: it writes no files and sends
    nothing."""
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    # Its progress bars would fill a CI log; TQDM_DISABLE does not silence them.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


_BATCHES = itertools.count(1)


def _validate(context: Any, frame: Any, suite: Any) -> Any:
    """Run the whole suite on the compact table in one call, then forget both.

    The context is shared by every register a process checks, so each one gets
    its own data source, removed afterwards with the suite.
    """
    name = f"register {next(_BATCHES)}"
    added = context.suites.add(suite)
    source = context.data_sources.add_pandas(name=name)
    try:
        batch = (
            source.add_dataframe_asset(name="register")
            .add_batch_definition_whole_dataframe(name="whole register")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        return batch.validate(added, result_format=_RESULT_FORMAT)
    finally:
        context.data_sources.delete(name)
        context.suites.delete(suite.name)


def _outcomes(
    validation: Any,
    plans: Sequence[_Plan],
    prepared: PreparedRegister,
    table: Table,
    rules: CheckRules,
    id_column: str | None,
    tallies: _Tallies,
) -> list[Expectation]:
    """Great Expectations' verdicts, with the row counts behind them from ``tallies``."""
    by_characteristic = {plan.characteristic: plan for plan in plans}
    outcomes = []
    for result in validation.results:
        config = result.expectation_config
        key = config.meta["key"]
        kind, _, name = key.partition(".")
        outcome = Expectation(
            key=key,
            title=config.description or key,
            expectation_type=config.type,
            characteristic=name or None,
            column=None,
            success=bool(result.success),
        )
        if kind == "rows":
            outcome = _rows_outcome(outcome, prepared.n_rows, rules.min_rows)
        elif kind == "has_column":
            outcome = _has_column_outcome(outcome, prepared, name)
        elif kind == "readable":
            plan = by_characteristic[name]
            outcome = _readable_outcome(outcome, plan, rules)
        elif kind in ("answers_known", "answered"):
            plan = by_characteristic[name]
            outcome = _answers_outcome(outcome, kind, plan, prepared, table, rules, tallies)
        elif kind == "unique_ids":
            assert id_column is not None
            outcome = _ids_outcome(outcome, id_column, tallies)
        elif kind == "event_named":
            assert rules.event_column is not None
            outcome = _event_outcome(outcome, table, rules.event_column, tallies)
        outcomes.append(outcome)
    order = {key: index for index, key in enumerate(_key_order(plans, rules, id_column))}
    return sorted(outcomes, key=lambda o: order.get(o.key, len(order)))


def _key_order(plans: Sequence[_Plan], rules: CheckRules, id_column: str | None) -> list[str]:
    keys = ["rows", *(f"has_column.{n}" for n in rules.required)]
    for plan in plans:
        keys += [
            f"answers_known.{plan.characteristic}",
            f"readable.{plan.characteristic}",
            f"answered.{plan.characteristic}",
        ]
    return [*keys, "unique_ids", "event_named"]


def _rows_outcome(outcome: Expectation, n_rows: int, min_rows: int) -> Expectation:
    outcome = replace(outcome, observed=n_rows)
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
    tallies: _Tallies,
) -> Expectation:
    tally = tallies.answers[plan.characteristic]
    allowed = set(plan.categories) if kind == "answered" else {*plan.categories, *_SENTINELS}
    unexpected = sum(n for label, n in tally.items() if label not in allowed)
    outcome = replace(
        outcome,
        column=plan.column,
        element_count=tallies.n_rows,
        unexpected_count=unexpected,
        unexpected_percent=100 * unexpected / tallies.n_rows if tallies.n_rows else None,
    )
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


def _readable_outcome(outcome: Expectation, plan: _Plan, rules: CheckRules) -> Expectation:
    outcome = replace(
        outcome,
        column=plan.column,
        element_count=plan.n_answered,
        unexpected_count=plan.n_unplaceable,
        unexpected_percent=100 * plan.n_unplaceable / plan.n_answered if plan.n_answered else None,
    )
    if outcome.success:
        return outcome
    assert rules.max_unreadable is not None
    return replace(
        outcome,
        notes=plan.notes,
        message=f"{_words(plan.characteristic)}: {plan.n_unplaceable:,} of {plan.n_answered:,} "
        f"answers in column {plan.column!r} could not be read, more than the "
        f"{rules.max_unreadable:.0%} allowed, so an audit would describe only the "
        f"{plan.n_answered - plan.n_unplaceable:,} that could. Say what they mean in a mapping "
        "file, or correct the register (the notes list the answers and why).",
    )


def _ids_outcome(outcome: Expectation, id_column: str, tallies: _Tallies) -> Expectation:
    repeated = tallies.repeated_ids or ()
    outcome = replace(
        outcome,
        column=id_column,
        element_count=tallies.n_rows,
        # Every copy, as Great Expectations' uniqueness expectation counts them.
        unexpected_count=sum(n for n, _ in repeated),
    )
    if outcome.success:
        return outcome
    problems = tuple(ValueProblem("", count, first) for count, first in repeated[:_MAX_LISTED])
    extra = sum(n for n, _ in repeated) - len(repeated)
    return replace(
        outcome,
        problems=problems,
        message=f"{len(repeated)} identifier(s) in column {id_column!r} appear more than once "
        f"({extra} extra row(s)), so those participants would be counted twice. Remove "
        "duplicate responses, or give --id-column for the right column.",
    )


def _event_outcome(
    outcome: Expectation, table: Table, column: str, tallies: _Tallies
) -> Expectation:
    blank = tallies.event_blank or 0
    outcome = replace(outcome, column=column, element_count=tallies.n_rows, unexpected_count=blank)
    if outcome.success:
        return outcome
    event = pl.col(column).cast(pl.String).str.strip_chars()
    (first,) = collect_all(
        table,
        [
            table.frame.select(event.alias("event"))
            .with_row_index("row")
            .filter(pl.col("event").is_null() | (pl.col("event") == ""))
            .head(1)
            .select("row")
        ],
    )
    return replace(
        outcome,
        message=f"{blank} row(s) have no event in column {column!r}, the first on "
        f"row {int(first.item()) + 2}. Fill in the event, or they are audited as "
        "'(no event given)'.",
    )


_SAMPLE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts")
_MAX_SAMPLE_LENGTH = 60


def _without_private_values(validation: dict[str, Any]) -> dict[str, Any]:
    """Great Expectations' result made fit for a CI log.

    The answers it samples stay (they are what needs fixing) but shortened, with
    control and direction characters escaped, as in the tool's own messages: a
    cell can hold anything, a whole address included. Identifiers never reach
    it (only how many rows each is on). Positions in the compact table mean
    nothing to a reader and go.
    """
    cleaned: dict[str, Any] = _without_ids(validation)
    for result in cleaned.get("results", []):
        details = result.get("result", {})
        details.pop("partial_unexpected_index_list", None)
        if "partial_unexpected_list" in details:
            details["partial_unexpected_list"] = [
                _clip(v) for v in details["partial_unexpected_list"]
            ]
        for item in details.get("partial_unexpected_counts", []):
            item["value"] = _clip(item.get("value"))
    return cleaned


def without_answers(result: CheckResult) -> CheckResult:
    """``result`` quoting no answer: for logs anyone may read (``check --no-answers``).

    Failures keep their expectation, counts and row numbers; the answers behind
    them, the categories closest to them, the notes (which name answers set
    aside) and Great Expectations' samples go.

    >>> hidden = ValueProblem("'Woman?'", 2, 5, "closest: 'Female'")
    >>> without_answers_problem(hidden)
    ValueProblem(value='', count=2, first_row=5, hint='')
    """
    validation = _without_ids(result.great_expectations)
    for item in validation.get("results", []):
        for key in _SAMPLE_KEYS:
            item.get("result", {}).pop(key, None)
    expectations = tuple(
        replace(
            e,
            problems=tuple(without_answers_problem(p) for p in e.problems),
            notes=(),
        )
        for e in result.expectations
    )
    return replace(result, expectations=expectations, great_expectations=validation)


def without_answers_problem(problem: ValueProblem) -> ValueProblem:
    """A problem's count and first row, without the answer or its closest categories."""
    return replace(problem, value="", hint="")


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
