"""The ``inclusion-audit`` command: parse options, call the library, format output.

Only click and the standard library are imported at module level so that
``--help`` and ``--version`` answer at once; polars, Jinja2 and WeasyPrint load
inside the commands that need them.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .disclosure import DEFAULT_THRESHOLD
from .result import AuditResult, Status  # standard library only: keeps --help instant

EXIT_INPUT_ERROR = 2
EXIT_FINDINGS = 1
# sysexits' EX_SOFTWARE: a pipeline must tell a bug apart from findings (1) and bad input (2).
EXIT_INTERNAL_ERROR = 70
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_INPUT_ERROR)


def _handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's named errors into one message and exit code 2."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import InclusionAuditError

        try:
            return command(*args, **kwargs)
        except InclusionAuditError as error:
            _fail(str(error))

    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    return wrapper


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="inclusion-audit")
def cli() -> None:
    """Who are we not hearing from? Audit an engagement register against a population.

    \b
    Example:
      inclusion-audit audit register.csv --reference population.csv --output report.html
    """


def _population_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--area, --eligible-age and --reference: what a register is compared with."""
    for option in reversed(
        [
            click.option(
                "--area",
                "areas",
                multiple=True,
                metavar="AREA",
                help="Census 2021 area to compare with: a code or name (repeat to add areas "
                "up). `mapping suggest` defaults to England and Wales.",
            ),
            click.option(
                "--eligible-age",
                metavar="SPEC",
                help="Ages the event was open to, e.g. 16+, 18+ or 16-24 (with --area).",
            ),
            click.option(
                "--reference",
                "reference_file",
                type=click.Path(path_type=Path),
                help="Population to compare with instead: a CSV with columns "
                "characteristic,category,count.",
            ),
        ]
    ):
        command = option(command)
    return command


_mapping_option = click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(path_type=Path),
    help="Mapping file (from `mapping suggest`) that says what columns and answers mean.",
)
_event_date_option = click.option(
    "--event-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date of the event (YYYY-MM-DD), for ages from dates of birth. Default: the "
    "--event file's date in `audit`, else today.",
)


def _statistics_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The thresholds of a verdict, shared by `audit` and `review` so they judge alike."""
    for option in reversed(
        [
            click.option(
                "--confidence",
                type=float,
                default=0.95,
                show_default=True,
                help="Confidence level of the intervals.",
            ),
            click.option(
                "--correction",
                type=click.Choice(["bh", "holm", "none"]),
                default="bh",
                show_default=True,
                help="Multiple-comparison correction over every group.",
            ),
            click.option(
                "--alpha",
                type=float,
                default=0.05,
                show_default=True,
                help="Significance level for a firm finding.",
            ),
            click.option(
                "--under-threshold",
                type=float,
                default=0.8,
                show_default=True,
                help="Ratio below which a group is under-represented.",
            ),
            click.option(
                "--over-threshold",
                type=float,
                default=1.25,
                show_default=True,
                help="Ratio above which a group is over-represented.",
            ),
            click.option(
                "--min-expected",
                type=float,
                default=5.0,
                show_default=True,
                help="Fewest expected participants for a verdict on a group.",
            ),
        ]
    ):
        command = option(command)
    return command


def _disclosure_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--suppress-below and --internal: what shared reports may show."""
    for option in reversed(
        [
            click.option(
                "--suppress-below",
                type=click.IntRange(min=0),
                default=DEFAULT_THRESHOLD,
                show_default=True,
                help="In reports, hide counts from 1 up to this minus 1 (ONS practice: 10).",
            ),
            click.option(
                "--internal",
                is_flag=True,
                help="Show exact small counts in reports, under a 'restricted' banner.",
            ),
        ]
    ):
        command = option(command)
    return command


@cli.command(context_settings=CONTEXT)
@click.argument("register", type=click.Path(path_type=Path))
@_population_options
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(path_type=Path),
    help="Quota file (category,name,min,max) to check, or a target population CSV.",
)
@_mapping_option
@click.option(
    "--event",
    "event_file",
    type=click.Path(path_type=Path),
    help="Event details (YAML, TOML or JSON): timing, venue, support offered… for barriers.",
)
@click.option(
    "--partners",
    "partners_file",
    type=click.Path(path_type=Path),
    help="CSV of local community organisations and the groups they serve.",
)
@_event_date_option
@click.option(
    "--event-column",
    help="Column naming each row's event: audit every event separately (needs --output FOLDER).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["json", "html", "md", "pdf", "csv"]),
    help="Output format; repeat for several. Default: from --output's suffix, else json.",
)
@click.option(
    "--output",
    "-o",
    help="File for one format, folder for several, or - for standard output (not pdf).",
)
@_statistics_options
@_disclosure_options
@click.option("--title", help="Report title. Default: from the register's file name.")
@click.option(
    "--template-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of templates that override or extend the shipped ones.",
)
@click.option(
    "--fail-on-under",
    is_flag=True,
    help="Exit with code 1 when any group is under-represented (for CI).",
)
@click.option(
    "--store",
    "store_file",
    type=click.Path(path_type=Path),
    help="Add the result to this history file (SQLite, aggregates only) for `review`.",
)
@click.option("--event-name", help="Name to store the event under. Default: event title or file.")
@click.option(
    "--replace",
    "replace_existing",
    is_flag=True,
    help="With --store: replace the same register's event.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_handle_errors
def audit(
    register: Path,
    areas: tuple[str, ...],
    eligible_age: str | None,
    reference_file: Path | None,
    targets_file: Path | None,
    mapping_file: Path | None,
    event_file: Path | None,
    partners_file: Path | None,
    event_date: dt.datetime | None,
    event_column: str | None,
    formats: tuple[str, ...],
    output: str | None,
    confidence: float,
    correction: str,
    alpha: float,
    under_threshold: float,
    over_threshold: float,
    min_expected: float,
    suppress_below: int,
    internal: bool,
    title: str | None,
    template_dir: Path | None,
    fail_on_under: bool,
    store_file: Path | None,
    event_name: str | None,
    replace_existing: bool,
    quiet: bool,
) -> None:
    """Audit REGISTER (CSV, XLSX or Parquet; one row per participant) against a population.

    Compare with Census 2021 for an area (--area), a population file
    (--reference) or the panel's own quotas (--targets). Each register column
    named after a characteristic (age, sex, ethnic_group, disability, religion…)
    is compared; other columns (names, emails, comments) are never read into
    the results. Blank and "prefer not to say" answers count as unknown.

    \b
    Examples:
      inclusion-audit audit register.csv --area Lambeth --eligible-age 16+ -o report.html
      inclusion-audit audit register.xlsx --reference population.csv -o report.pdf
      inclusion-audit audit panel.csv --targets quotas.csv --area "Tower Hamlets" \\
          --format json --format html --format pdf --output out/
    """
    from .audit import run_audit, split_by_event
    from .config import AuditConfig
    from .event import load_event
    from .mapping import read_mapping
    from .outputs import choose_formats, plan_outputs, write_all
    from .readers import read_table
    from .recommendations import load_partners
    from .render import FILE_NAMES, RenderOptions, render_formats
    from .sources import choose_reference

    chosen = choose_formats(formats, output)
    inputs = [
        p
        for p in (register, reference_file, targets_file, mapping_file, event_file, partners_file)
        if p is not None
    ]
    if event_column and (output is None or output == "-"):
        raise click.UsageError("--event-column writes one report per event: add --output FOLDER.")
    if store_file and event_column:
        raise click.UsageError(
            "--store adds one event per audit: audit each event's register on its own, or "
            "`store add` each event's audit.json."
        )
    config = AuditConfig(
        confidence=confidence,
        correction=correction,
        alpha=alpha,
        under_threshold=under_threshold,
        over_threshold=over_threshold,
        min_expected=min_expected,
    )
    reference, quotas = choose_reference(areas, eligible_age, reference_file, targets_file)
    mapping = read_mapping(mapping_file) if mapping_file else None
    event = load_event(event_file) if event_file else None
    partners = load_partners(partners_file) if partners_file else []
    day = event_date.date() if event_date else None
    table = read_table(register)
    if title is None and event is not None and event.title:
        title = event.title
    options = RenderOptions(
        template_dir=template_dir, title=title, suppress_below=suppress_below, internal=internal
    )
    threshold = 0 if internal else suppress_below

    def run(part: Any) -> Any:
        return run_audit(
            part,
            reference,
            config,
            quotas=quotas,
            mapping=mapping,
            event=event,
            event_date=day,
            partners=partners,
            suppress_below=threshold,
        )

    if event_column:
        assert output is not None
        events = split_by_event(table, event_column)
        results = [(name, run(part)) for name, part in events]
        files: list[tuple[Path, bytes]] = []
        index = []
        for (name, result), folder in zip(results, _event_folders(results), strict=True):
            plan = plan_outputs(chosen, str(Path(output) / folder) + "/", FILE_NAMES, inputs)
            event_options = replace(options, title=title or f"Who took part: {name}")
            outputs = render_formats(result, [fmt for fmt, _ in plan], event_options)
            files += [(path, outputs[fmt]) for fmt, path in plan if path]
            index.append({"event": name, "folder": folder, "participants": result.n_participants})
        index_data = json.dumps({"events": index}, indent=2, ensure_ascii=False) + "\n"
        files.append((Path(output) / "events.json", index_data.encode("utf-8")))
        write_all(files)
        if not quiet:
            for name, result in results:
                click.echo(f"\n== {name}", err=True)
                _print_summary(result, [])
            click.echo(f"\nWrote {len(files)} files under {output}", err=True)
        if fail_on_under and any(r.groups_with_status(Status.UNDER) for _, r in results):
            sys.exit(EXIT_FINDINGS)
        return
    plan = plan_outputs(chosen, output, FILE_NAMES, inputs)
    result = run(table)
    outputs = render_formats(result, [fmt for fmt, _ in plan], options)
    rendered = [(path, outputs[fmt]) for fmt, path in plan]
    store = (
        _store_audit(store_file, result, register, event_name, day, replace_existing)
        if store_file
        else None
    )
    write_all([(path, data) for path, data in rendered if path is not None])
    if store is not None:
        store(quiet)
    for destination, data in rendered:
        if destination is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    if not quiet:
        _print_summary(result, [d for d, _ in rendered if d is not None])
    if fail_on_under and result.groups_with_status(Status.UNDER):
        sys.exit(EXIT_FINDINGS)


def _event_folders(results: list[tuple[str, Any]]) -> list[str]:
    """A safe, unique folder name per event: letters, digits and hyphens."""
    folders: list[str] = []
    for name, _ in results:
        slug = "-".join(re.findall(r"[a-z0-9]+", name.casefold()))[:60] or "event"
        candidate, number = slug, 2
        while candidate in folders:
            candidate, number = f"{slug}-{number}", number + 1
        folders.append(candidate)
    return folders


@cli.command(context_settings=CONTEXT)
@click.argument("register", type=click.Path(path_type=Path))
@_population_options
@_mapping_option
@_event_date_option
@click.option(
    "--require",
    "required",
    multiple=True,
    metavar="CHARACTERISTIC",
    help="A characteristic the register must have a column for, e.g. age (repeat, or "
    "separate with commas).",
)
@click.option(
    "--min-rows",
    type=int,
    default=1,
    show_default=True,
    help="Fewest participant rows the register may have.",
)
@click.option(
    "--max-unknown",
    type=float,
    metavar="SHARE",
    help="Largest share (0-1) of a column's answers that may be blank, declined or not "
    "a category, e.g. 0.2.",
)
@click.option(
    "--id-column",
    help="Column of participant identifiers that must not repeat. Default: a column "
    "headed 'Participant ID', 'Respondent ID', 'Response ID' or 'ID', if any.",
)
@click.option("--event-column", help="Column naming each row's event; every row must name one.")
@click.option(
    "--json",
    "json_output",
    metavar="FILE",
    help="Write the result as JSON (with Great Expectations' own result) to FILE, or - .",
)
@click.option("--junit-xml", metavar="FILE", help="Write a JUnit XML test report to FILE, or - .")
@click.option(
    "--suite",
    "suite_output",
    metavar="FILE",
    help="Write the Great Expectations suite that was run to FILE (JSON), or - .",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_handle_errors
def check(
    register: Path,
    areas: tuple[str, ...],
    eligible_age: str | None,
    reference_file: Path | None,
    mapping_file: Path | None,
    event_date: dt.datetime | None,
    required: tuple[str, ...],
    min_rows: int,
    max_unknown: float | None,
    id_column: str | None,
    event_column: str | None,
    json_output: str | None,
    junit_xml: str | None,
    suite_output: str | None,
    quiet: bool,
) -> None:
    """Check REGISTER is fit to audit, with Great Expectations: for CI pipelines.

    Every characteristic column is harmonised as `audit` would harmonise it and
    validated: each answer must be a reference category, blank, "prefer not to
    say" or an answer the audit knows to set aside; participant identifiers must
    not repeat; and the options add more. Names, contact details and free text
    are never validated or shown. Without --area or --reference, answers are
    checked against Census 2021 for England and Wales.

    Exit code 0: every expectation met; 1: at least one failed; 2: the register
    or an option cannot be used.

    \b
    Examples:
      inclusion-audit check register.csv --area Lambeth --eligible-age 16+
      inclusion-audit check register.xlsx --require age,sex,ethnic_group --max-unknown 0.2 \\
          --junit-xml reports/register.xml --json reports/register.json
    """
    from .check import CheckRules, check_register, split_names
    from .check_report import to_json, to_junit_xml, to_text
    from .mapping import read_mapping
    from .outputs import OutputError, check_destination, write_all
    from .readers import read_table
    from .sources import ENGLAND_AND_WALES, choose_reference

    outputs = {"--json": json_output, "--junit-xml": junit_xml, "--suite": suite_output}
    to_stdout = [option for option, value in outputs.items() if value == "-"]
    if len(to_stdout) > 1:
        raise OutputError(f"{' and '.join(to_stdout)} both ask for standard output; give files.")
    named = [value for value in outputs.values() if value not in (None, "-")]
    if len(set(named)) < len(named):
        raise OutputError("--json, --junit-xml and --suite must name different files.")
    inputs = [p for p in (register, reference_file, mapping_file) if p is not None]
    for option, value in outputs.items():
        if value not in (None, "-"):
            check_destination(Path(value), inputs, option)
    if not areas and not reference_file:
        areas = (ENGLAND_AND_WALES,)  # every Census label
    reference, _ = choose_reference(areas, eligible_age, reference_file)
    rules = CheckRules(
        min_rows=min_rows,
        required=split_names(required),
        max_unknown=max_unknown,
        id_column=id_column,
        event_column=event_column,
    )
    mapping = read_mapping(mapping_file) if mapping_file else None
    result = check_register(
        read_table(register),
        reference,
        rules,
        mapping=mapping,
        event_date=event_date.date() if event_date else None,
    )
    renderers: dict[str, Callable[[], bytes]] = {
        "--json": lambda: to_json(result),
        "--junit-xml": lambda: to_junit_xml(result),
        "--suite": lambda: (json.dumps(result.suite, indent=2) + "\n").encode("utf-8"),
    }
    files = [(value, renderers[option]()) for option, value in outputs.items() if value]
    write_all([(Path(value), data) for value, data in files if value != "-"])
    for value, data in files:
        if value == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    if not quiet:
        click.echo(to_text(result), nl=False, err=bool(to_stdout))
        for value, _ in files:
            if value != "-":
                click.echo(f"Wrote {value}", err=True)
    if not result.success:
        sys.exit(EXIT_FINDINGS)


@cli.group("store", context_settings=CONTEXT)
def store_group() -> None:
    """Keep a history of audited events for quarterly reviews: aggregates only.

    The store is one SQLite file holding each event's counts, ratios and
    statuses per group, never names, contact details, postcodes, free text or
    rows; a register is known only by a salted fingerprint, so the same one is
    not added twice.

    \b
    Examples:
      inclusion-audit audit register.csv --area Lambeth --event-date 2026-07-14 \\
          --store history.sqlite
      inclusion-audit store add audit.json --store history.sqlite --event-name "Riverside forum"
      inclusion-audit store list --store history.sqlite
    """


_store_file_option = click.option(
    "--store",
    "store_file",
    required=True,
    type=click.Path(path_type=Path),
    help="The history file (SQLite) made by `audit --store` or `store add`.",
)


@store_group.command("add", context_settings=CONTEXT)
@click.argument("result_file", metavar="AUDIT.json", type=click.Path(path_type=Path))
@_store_file_option
@click.option("--event-name", help="Name of the event. Default: its event title, else file name.")
@click.option(
    "--event-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date of the event (YYYY-MM-DD). Default: the date in the result's event details.",
)
@click.option(
    "--replace",
    "replace_existing",
    is_flag=True,
    help="Replace the stored event of the same result.",
)
@_handle_errors
def store_add(
    result_file: Path,
    store_file: Path,
    event_name: str | None,
    event_date: dt.datetime | None,
    replace_existing: bool,
) -> None:
    """Add a saved audit result (from `audit --format json`) to the store."""
    from .store import event_name_and_date, open_store, read_result_file

    data = read_result_file(result_file)
    name, day = event_name_and_date(
        data, event_name, event_date.date() if event_date else None, str(result_file)
    )
    with open_store(store_file, create=True) as history:
        added = history.add(
            data, name=name, date=day, replace=replace_existing, source=str(result_file)
        )
    _report_added(added.event_id, added.replaced, name, day, store_file)


@store_group.command("list", context_settings=CONTEXT)
@_store_file_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@_handle_errors
def store_list(store_file: Path, output_format: str) -> None:
    """List the stored events, oldest first."""
    from .store import open_store

    with open_store(store_file) as history:
        events = history.events(details=False)
    rows = [
        {
            "id": e.id,
            "date": e.date.isoformat(),
            "name": e.name,
            "participants": e.n_participants,
            "reference": e.reference,
            "added_at": e.added_at,
        }
        for e in events
    ]
    if output_format == "table" and not rows:
        click.echo(f"{store_file} holds no events.", err=True)
        return
    _emit_rows(rows, output_format, ["id", "date", "name", "participants", "reference"])


@store_group.command("remove", context_settings=CONTEXT)
@click.argument("event_id", type=int)
@_store_file_option
@_handle_errors
def store_remove(event_id: int, store_file: Path) -> None:
    """Remove the event EVENT_ID (see `store list`) and everything stored with it."""
    from .store import open_store

    with open_store(store_file) as history:
        removed = history.remove(event_id)
    click.echo(
        f"Removed event {removed.id} ({removed.name!r}, {removed.date.isoformat()}) from "
        f"{store_file}.",
        err=True,
    )


@cli.command(context_settings=CONTEXT)
@_store_file_option
@click.option(
    "--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (YYYY-MM-DD)."
)
@click.option(
    "--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (YYYY-MM-DD)."
)
@click.option(
    "--quarter",
    help="A quarter such as 2026Q3: its events, or with --from, up to the quarter's end.",
)
@click.option(
    "--by",
    type=click.Choice(["quarter", "month"]),
    default="quarter",
    show_default=True,
    help="Periods of the trend.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["json", "html", "md", "pdf"]),
    help="Output format; repeat for several. Default: from --output's suffix, else json.",
)
@click.option(
    "--output",
    "-o",
    help="File for one format, folder for several, or - for standard output (not pdf).",
)
@_disclosure_options
@click.option("--title", help="Report title. Default: the review's dates.")
@_statistics_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_handle_errors
def review(
    store_file: Path,
    start: dt.datetime | None,
    end: dt.datetime | None,
    quarter: str | None,
    by: str,
    formats: tuple[str, ...],
    output: str | None,
    suppress_below: int,
    internal: bool,
    title: str | None,
    confidence: float,
    correction: str,
    alpha: float,
    under_threshold: float,
    over_threshold: float,
    min_expected: float,
    quiet: bool,
) -> None:
    """Review the stored events of a period: pooled, by quarter, and who is missed again.

    Every event keeps its own population: a group's pooled ratio is its
    participants across the events against the number each event's population
    would lead us to expect (indirect standardisation), with an exact Poisson
    interval and test and the audit's thresholds.

    \b
    Examples:
      inclusion-audit review --store history.sqlite --quarter 2026Q3 -o review.html
      inclusion-audit review --store history.sqlite --from 2025-10-01 --quarter 2026Q3 \\
          --format html --format pdf --format json -o out/review/
    """
    from .config import AuditConfig
    from .outputs import OutputError, choose_formats, plan_outputs, write_all
    from .render import RenderOptions
    from .render.review import REVIEW_FILE_NAMES, render_review
    from .review import build_review, quarter_bounds
    from .store import open_store

    if quarter and end:
        raise click.UsageError("give --to or --quarter, not both.")
    first = start.date() if start else None
    last = end.date() if end else None
    if quarter:
        quarter_start, last = quarter_bounds(quarter)
        first = first or quarter_start
    if first and last and first > last:
        raise click.UsageError(f"the review starts ({first}) after it ends ({last}).")
    chosen = choose_formats(formats, output)
    if any(f not in REVIEW_FILE_NAMES for f in chosen):
        raise OutputError(
            f"--output {output}: a review is written as json, html, md or pdf; name the file "
            "for one of those or add --format."
        )
    plan = plan_outputs(chosen, output, REVIEW_FILE_NAMES, [store_file])
    config = AuditConfig(
        confidence=confidence,
        correction=correction,
        alpha=alpha,
        under_threshold=under_threshold,
        over_threshold=over_threshold,
        min_expected=min_expected,
    )
    with open_store(store_file) as history:
        events = history.events(first, last)
    result = build_review(
        events, start=first, end=last, by=by, config=config, store_name=store_file.name
    )
    options = RenderOptions(title=title, suppress_below=suppress_below, internal=internal)
    outputs = render_review(result, [fmt for fmt, _ in plan], options)
    write_all([(path, outputs[fmt]) for fmt, path in plan if path is not None])
    for fmt, path in plan:
        if path is None:
            sys.stdout.buffer.write(outputs[fmt])
            sys.stdout.flush()
    if not quiet:
        _print_review_summary(result, [path for _, path in plan if path is not None])


def _store_audit(
    store_file: Path,
    result: AuditResult,
    register: Path,
    name: str | None,
    day: dt.date | None,
    replace_existing: bool,
) -> Callable[[bool], None]:
    """Check the result may be stored before any report is written; returns the step that
    stores it, to run once the reports are written."""
    from .store import event_name_and_date, open_store

    name, day = event_name_and_date(result, name, day, str(register))
    history = open_store(store_file, create=True)
    try:
        fingerprint = history.fingerprint(register)
        history.check_new(result, fingerprint, replace=replace_existing, source=str(register))
    except BaseException:
        history.close()
        raise

    def commit(quiet: bool) -> None:
        with history:
            added = history.add(
                result,
                name=name,
                date=day,
                register_fingerprint=fingerprint,
                replace=replace_existing,
                source=str(register),
            )
        if not quiet:
            _report_added(added.event_id, added.replaced, name, day, store_file)

    return commit


def _report_added(
    event_id: int, replaced: int | None, name: str, day: dt.date, store_file: Path
) -> None:
    swapped = f", replacing event {replaced}" if replaced is not None else ""
    click.echo(
        f"Stored event {event_id} ({name!r}, {day.isoformat()}) in {store_file}{swapped}.",
        err=True,
    )


def _print_review_summary(result: Any, written: list[Path]) -> None:
    from .render.formatters import fmt_ratio, status_word

    click.echo(
        f"Reviewed {result.n_events:,} events from {result.start} to {result.end}: "
        f"{result.n_participants:,} participants, {len(result.trend)} {result.by}"
        f"{'s' if len(result.trend) != 1 else ''}.",
        err=True,
    )
    pooled = {(c.name, g.category): g for c in result.pooled for g in c.groups}
    again = [p for p in result.persistent if p.missed_again_and_again]
    if again:
        click.echo("Missed again and again:", err=True)
        for item in again:
            group = pooled[item.characteristic, item.category]
            click.echo(
                f"  {item.characteristic}: {item.category} (missed at {item.n_missed} of "
                f"{item.n_judged} events; pooled ratio {fmt_ratio(group.ratio)}, "
                f"{status_word(group.status).lower()})",
                err=True,
            )
    else:
        click.echo("No group was missed again and again.", err=True)
    for path in written:
        click.echo(f"Wrote {path}", err=True)


@cli.group("mapping", context_settings=CONTEXT)
def mapping_group() -> None:
    """Review how a register's columns and answers are understood, and correct it.

    \b
    Example:
      inclusion-audit mapping suggest register.xlsx --area Lambeth --output mapping.toml
      inclusion-audit audit register.xlsx --area Lambeth --mapping mapping.toml -o report.pdf
    """


@mapping_group.command("suggest", context_settings=CONTEXT)
@click.argument("register", type=click.Path(path_type=Path))
@_population_options
@_event_date_option
@click.option("--output", "-o", required=True, help="The mapping file to write (.toml).")
@_handle_errors
def mapping_suggest(
    register: Path,
    areas: tuple[str, ...],
    eligible_age: str | None,
    reference_file: Path | None,
    event_date: dt.datetime | None,
    output: str,
) -> None:
    """Write a commented mapping file for REGISTER: each column and answer as understood.

    Answers the tool cannot place are left empty and marked TODO; fill them in
    (or mark them "unplaceable") and pass the file to `audit --mapping`.
    """
    from .outputs import OutputError, check_destination, write_all
    from .readers import read_table
    from .sources import ENGLAND_AND_WALES, choose_reference
    from .suggest import suggest_mapping

    if not output.endswith(".toml"):
        raise OutputError(f"--output {output}: a mapping file ends in .toml.")
    destination = Path(output)
    check_destination(destination, [p for p in (register, reference_file) if p is not None])
    if not areas and not reference_file:
        areas = (ENGLAND_AND_WALES,)  # every Census label
    reference, _ = choose_reference(areas, eligible_age, reference_file)
    text = suggest_mapping(
        read_table(register), reference, event_date.date() if event_date else None
    )
    write_all([(destination, text.encode("utf-8"))])
    todo = text.count("TODO: not recognised")
    click.echo(f"Wrote {destination}: {todo} answer(s) to fill in (marked TODO).", err=True)


@cli.group(context_settings=CONTEXT)
def reference() -> None:
    """Census 2021 reference data shipped with the tool: areas and their populations.

    \b
    Examples:
      inclusion-audit reference areas --type ltla
      inclusion-audit reference show Lambeth --eligible-age 16+
      inclusion-audit reference show "Tower Hamlets" --format csv > population.csv
    """


@reference.command("areas", context_settings=CONTEXT)
@click.option(
    "--type",
    "types",
    multiple=True,
    help="Only areas of this type: country, region, ltla, ltla23, ward, lgd (repeatable).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table"
)
@_handle_errors
def reference_areas(types: tuple[str, ...], output_format: str) -> None:
    """List every area with its code, name, type and population (all usual residents)."""
    from . import census

    rows = [
        {"code": a.code, "name": a.name, "type": a.type, "population": a.population}
        for a in census.list_areas(list(types) or None)
    ]
    _emit_rows(rows, output_format, ["code", "name", "type", "population"])


@reference.command("show", context_settings=CONTEXT)
@click.argument("areas", nargs=-1, required=True)
@click.option(
    "--characteristic",
    "characteristics",
    multiple=True,
    help="Only this characteristic (repeatable). Default: every one the area has.",
)
@click.option("--eligible-age", metavar="SPEC", help="Population base: 16+, 18+, 16-24, all…")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table"
)
@_handle_errors
def reference_show(
    areas: tuple[str, ...],
    characteristics: tuple[str, ...],
    eligible_age: str | None,
    output_format: str,
) -> None:
    """Show the Census 2021 population of AREA (a code or name; several add up).

    The csv format writes characteristic,category,count: a file ready for
    `audit --reference` that can be edited first.
    """
    from . import census

    found = census.resolve_areas(areas)
    age = census.parse_age_range(eligible_age) if eligible_age is not None else None
    known = census.known_characteristics()
    unknown = [c for c in characteristics if c not in known]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} is not a Census characteristic; choose from {', '.join(known)}.",
            param_hint="--characteristic",
        )
    profiles, missing = [], []
    for name in characteristics or census.available_characteristics(found):
        try:
            profiles.append(census.census_profile(found, name, age))
        except census.CharacteristicNotAvailableError as error:
            missing.append({"name": name, "reason": error.reason})
    if output_format == "json":
        document = {
            "areas": [{"code": a.code, "name": a.name} for a in found],
            "characteristics": [
                {
                    "name": p.name,
                    "base": p.base,
                    "universe": p.universe,
                    "table": p.table,
                    "unit": p.unit,
                    "categories": [{"category": c, "count": n} for c, n in p.categories.items()],
                    "not_answered": p.not_answered,
                    "caveats": list(p.caveats),
                }
                for p in profiles
            ],
            "not_available": missing,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    rows = [
        {"characteristic": p.name, "category": c, "count": _number(n)}
        for p in profiles
        for c, n in p.categories.items()
    ]
    if output_format == "csv":
        _emit_rows(rows, "csv", ["characteristic", "category", "count"])
        return
    click.echo(", ".join(f"{a.name} ({a.code})" for a in found))
    for profile in profiles:
        total = sum(profile.categories.values())
        click.echo(f"\n{profile.name}: {profile.base}")
        width = max(len(c) for c in profile.categories)
        for category, count in profile.categories.items():
            share = count / total if total else 0.0
            click.echo(f"  {category:<{width}}  {count:>12,.0f}  {share:6.1%}")
        if profile.not_answered is not None:
            click.echo(f"  (not answered: {profile.not_answered:,.0f}, not in the shares)")
        for caveat in profile.caveats:
            click.echo(f"  note: {caveat}")
    for item in missing:
        click.echo(f"\n{item['name']}: not available ({item['reason']})")


@cli.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes. The service keeps no state, so any number can share a port.",
)
@click.option(
    "--max-upload-mb",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Largest upload accepted, per file.",
)
def serve(host: str, port: int, workers: int, max_upload_mb: int) -> None:
    """Run the web service: an upload form at / and a JSON API at /api/.

    Officers open the form in a browser, upload a register and get the report;
    systems POST to /api/audit or /api/check (schema at /openapi.json). Uploads
    are deleted as soon as each report is made, and nothing is stored.

    \b
    Examples:
      inclusion-audit serve                       # http://127.0.0.1:8000/
      inclusion-audit serve --host 0.0.0.0 --workers 4
    """
    import uvicorn

    os.environ["INCLUSION_AUDIT_MAX_UPLOAD_MB"] = str(max_upload_mb)
    click.echo(f"inclusion-audit {__version__}: open http://{host}:{port}/", err=True)
    uvicorn.run(
        "inclusion_audit.service:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # Access logs name no files, but say who asked for what and when: leave them
        # to the reverse proxy a council runs in front.
        access_log=False,
    )


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _emit_rows(rows: list[dict[str, Any]], output_format: str, columns: list[str]) -> None:
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        widths = {c: max([len(c), *(len(_cell(r[c])) for r in rows)]) for c in columns}
        click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
        for row in rows:
            click.echo("  ".join(_cell(row[c]).ljust(widths[c]) for c in columns).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _print_summary(result: AuditResult, written: list[Path]) -> None:
    from .render.formatters import fmt_ratio

    audited = len(result.characteristics)
    click.echo(
        f"Audited {result.n_participants:,} participants on {audited} characteristic"
        f"{'s' if audited != 1 else ''} against {result.reference}.",
        err=True,
    )
    under = result.groups_with_status(Status.UNDER)
    possible = result.groups_with_status(Status.POSSIBLE_UNDER)
    if under:
        click.echo("Under-represented:", err=True)
        for characteristic, group in under:
            click.echo(
                f"  {characteristic.name}: {group.category} (ratio {fmt_ratio(group.ratio)}, "
                f"{group.shortfall:,} more needed)",
                err=True,
            )
    if possible:
        click.echo(
            f"Possibly under-represented: {len(possible)} more group(s); see the report.", err=True
        )
    for step in result.recommendations[:3]:
        click.echo(f"Next step {step.priority}: {step.action} ({step.category})", err=True)
    if not under and not possible:
        click.echo("No group is under-represented by the thresholds used.", err=True)
    for item in result.not_audited:
        click.echo(f"Not audited: {item.name} ({item.reason.rstrip('.')}).", err=True)
    if result.quotas:
        missed = [q for q in result.quotas if not q.met]
        click.echo(
            f"Quotas met: {len(result.quotas) - len(missed)} of {len(result.quotas)}.", err=True
        )
        for quota in missed:
            click.echo(
                f"  {quota.characteristic}: {quota.category} has {quota.count}, "
                f"quota {quota.minimum}-{quota.maximum}",
                err=True,
            )
    for path in written:
        click.echo(f"Wrote {path}", err=True)


def main() -> None:
    """Entry point of the console script."""
    # Guard for future Great Expectations versions, which may phone home.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        cli.main(prog_name="inclusion-audit", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as error:  # a bug, not bad input: say so briefly
        if os.environ.get("INCLUSION_AUDIT_DEBUG"):
            raise
        click.echo(
            f"Internal error: {type(error).__name__}: {error}\nThis is a bug in inclusion-audit. "
            "Please report it with the command you ran; set INCLUSION_AUDIT_DEBUG=1 to see "
            "the traceback.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL_ERROR)
    finally:
        # The process is about to end: spare the interpreter's last garbage collection
        # over everything imported (about 30 ms of a 0.3 s audit). Only here, where
        # nothing runs afterwards; a long-lived caller must keep collecting.
        gc.freeze()
