"""``inclusion-audit store …`` and ``inclusion-audit review``: history and quarterly reviews."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from inclusion_audit.cli.app import CONTEXT, cli, handle_errors
from inclusion_audit.cli.options import disclosure_options, statistics_options
from inclusion_audit.cli.reference import emit_rows
from inclusion_audit.result import (  # standard library only: keeps --help instant
    AuditResult,
)


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
@click.option(
    "--retention-years",
    type=click.IntRange(1, 100),
    help="For a new store: years an event is kept, from its date (default 3). Older events "
    "are deleted whenever the store is opened.",
)
@handle_errors
def store_add(
    result_file: Path,
    store_file: Path,
    event_name: str | None,
    event_date: dt.datetime | None,
    replace_existing: bool,
    retention_years: int | None,
) -> None:
    """Add a saved audit result (from `audit --format json`) to the store."""
    from inclusion_audit.history.result_file import read_result_file
    from inclusion_audit.history.store import event_name_and_date, open_store

    data = read_result_file(result_file)
    name, day = event_name_and_date(
        data, event_name, event_date.date() if event_date else None, str(result_file)
    )
    with open_store(store_file, create=True, retention_years=retention_years) as history:
        added = history.add(
            data, name=name, date=day, replace=replace_existing, source=str(result_file)
        )
    _report_added(added.event_id, added.replaced, name, day, store_file)


@store_group.command("list", context_settings=CONTEXT)
@_store_file_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--changes",
    is_flag=True,
    help="Show the method each event was judged by, and how many of its verdicts change "
    "when its stored counts are judged under this version's method (with its own settings).",
)
@handle_errors
def store_list(store_file: Path, output_format: str, changes: bool) -> None:
    """List the stored events, oldest first."""
    from inclusion_audit.history.review import changed_verdicts, stored_config
    from inclusion_audit.history.store import open_store
    from inclusion_audit.result import METHOD_VERSION

    with open_store(store_file) as history:
        events = history.events(details=changes)
        years, cutoff = history.retention_years, history.retention_cutoff()
    if output_format == "table":
        click.echo(
            f"{store_file} keeps events for {years} years: those dated before "
            f"{cutoff.isoformat()} are deleted (UK GDPR storage limitation).",
            err=True,
        )
    rows: list[dict[str, Any]] = []
    for e in events:
        row: dict[str, Any] = {
            "id": e.id,
            "date": e.date.isoformat(),
            "name": e.name,
            "participants": e.n_participants,
            "reference": e.reference,
            "added_at": e.added_at,
        }
        if changes:
            changed = changed_verdicts(e, stored_config(e))
            row["method"] = str(e.settings.get("method_version", "1"))
            row["verdicts_changed"] = len(changed)
            if output_format == "json":
                row["changes"] = [
                    {"characteristic": c, "category": g, "stored": old, "now": new}
                    for c, g, old, new in changed
                ]
        rows.append(row)
    if output_format == "table" and not rows:
        click.echo(f"{store_file} holds no events.", err=True)
        return
    columns = ["id", "date", "name", "participants", "reference"]
    emit_rows(rows, output_format, [*columns, "method", "verdicts_changed"] if changes else columns)
    if changes and output_format == "table":
        click.echo(
            f"verdicts_changed: groups whose status differs under method {METHOD_VERSION}, "
            "judged from the stored counts with each event's own settings; `review` always "
            "judges this way. Details: --format json.",
            err=True,
        )


@store_group.command("purge", context_settings=CONTEXT)
@_store_file_option
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="Delete events dated more than this long ago: years (2y), months (18m) or a date "
    "(YYYY-MM-DD: events before it).",
)
@handle_errors
def store_purge(store_file: Path, older_than: str) -> None:
    """Delete events older than AGE now (the store's own retention period applies anyway)."""
    from inclusion_audit.history.store import open_store

    before = _purge_date(older_than, dt.date.today())
    with open_store(store_file) as history:
        removed = history.purge(before)
    click.echo(
        f"Deleted {len(removed)} event{'s' if len(removed) != 1 else ''} dated before "
        f"{before.isoformat()} from {store_file}.",
        err=True,
    )


def _purge_date(text: str, today: dt.date) -> dt.date:
    """``2y``, ``18m`` or ``YYYY-MM-DD`` as the first date kept.

    >>> _purge_date("18m", dt.date(2026, 12, 3))
    datetime.date(2025, 6, 3)
    """
    from inclusion_audit.history.store import years_before

    raw = text.strip().lower()
    number, unit = raw[:-1], raw[-1:]
    if number.isdigit() and unit in ("y", "m"):
        months = int(number) * (12 if unit == "y" else 1)
        moved = years_before(today, months // 12)
        month = moved.month - months % 12
        year = moved.year - (1 if month < 1 else 0)
        month = month + 12 if month < 1 else month
        try:
            return moved.replace(year=year, month=month)
        except ValueError:  # 31 May less a month
            return dt.date(year, month, 28)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give years (2y), months (18m) or a date (2024-04-01).",
            param_hint="--older-than",
        ) from None


@store_group.command("remove", context_settings=CONTEXT)
@click.argument("event_id", type=int)
@_store_file_option
@handle_errors
def store_remove(event_id: int, store_file: Path) -> None:
    """Remove the event EVENT_ID (see `store list`) and everything stored with it."""
    from inclusion_audit.history.store import open_store

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
@disclosure_options
@click.option("--title", help="Report title. Default: the review's dates.")
@statistics_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@handle_errors
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
    confidence: float | None,
    correction: str,
    alpha: float | None,
    under_threshold: float,
    over_threshold: float,
    min_expected: float,
    quiet: bool,
) -> None:
    """Review the stored events of a period: pooled, by quarter, and who is missed again.

    Every event keeps its own population: a group's pooled ratio is its
    attendances across the events against the number each event's population
    would lead us to expect (indirect standardisation). The pooled count is a sum
    of binomials, judged exactly as the audit judges one event; every stored
    event is judged again from its counts under this version's method.

    \b
    Examples:
      inclusion-audit review --store history.sqlite --quarter 2026Q3 -o review.html
      inclusion-audit review --store history.sqlite --from 2025-10-01 --quarter 2026Q3 \\
          --format html --format pdf --format json -o out/review/
    """
    from inclusion_audit.config import AuditConfig
    from inclusion_audit.history.render import REVIEW_FILE_NAMES, render_review
    from inclusion_audit.history.review import build_review, quarter_bounds
    from inclusion_audit.history.store import open_store
    from inclusion_audit.report.outputs import OutputError, choose_formats, plan_outputs, write_all
    from inclusion_audit.report.render import RenderOptions

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
        confidence=math.nan if confidence is None else confidence,
        correction=correction,
        alpha=math.nan if alpha is None else alpha,
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


@contextlib.contextmanager
def store_audit(
    store_file: Path,
    result: AuditResult,
    register: Path,
    table: Any,
    name: str | None,
    day: dt.date | None,
    replace_existing: bool,
    quiet: bool,
) -> Iterator[None]:
    """Store the result, holding the store's write lock while the block writes the reports.

    The store is checked (writable, not locked, the event new) and the event
    inserted before the block runs, and committed after it: when the store
    refuses, the block never runs, so no report is written; when writing a report
    fails, nothing is stored. The event is known by its rows' answers
    (``history.identity``).
    """
    from inclusion_audit.history.identity import answer_rows
    from inclusion_audit.history.store import NewEvent, event_name_and_date, open_store

    name, day = event_name_and_date(result, name, day, str(register))
    rows = answer_rows(table, result)
    with open_store(store_file, create=True) as history:
        event = NewEvent(
            result,
            name,
            day,
            register_fingerprint=history.fingerprint(register),
            content_fingerprint=history.content_fingerprint(rows) if rows is not None else None,
            source=str(register),
        )
        with history.adding([event], replace=replace_existing) as added:
            yield
    if not quiet:
        _report_added(added[0].event_id, added[0].replaced, name, day, store_file)


@contextlib.contextmanager
def store_events(
    store_file: Path,
    events: list[tuple[str, Any]],
    results: list[tuple[str, AuditResult]],
    dates: dict[str, dt.date | None],
    register: Path,
    replace_existing: bool,
    quiet: bool,
) -> Iterator[None]:
    """Store every event of a multi-event register, each under its own name and date,
    holding the write lock while the block writes the reports (as ``store_audit``).

    Each event is known by its own rows' answers and its name, so a second run of the
    same register is refused event by event, naming each, and ``--replace`` replaces
    exactly the events of this register, never another one.
    """
    from inclusion_audit.history.identity import answer_rows
    from inclusion_audit.history.store import NewEvent, event_name_and_date, open_store
    from inclusion_audit.ingest.readers import collect

    with open_store(store_file, create=True) as history:
        planned = []
        for (name, part), (_, audited) in zip(events, results, strict=True):
            # The stored copy names its event beside the file (the store keeps neither):
            # two events with identical figures must not look like one result twice.
            result = dataclasses.replace(
                audited,
                register=dataclasses.replace(
                    audited.register, file=f"{audited.register.file} ({name})"
                ),
            )
            stored_name, stored_date = event_name_and_date(
                result, name, dates[name], f"event {name!r} of {register.name}"
            )
            rows = collect(part, part.frame).write_csv().encode("utf-8")
            answers = answer_rows(part, audited, event=name)
            planned.append(
                NewEvent(
                    result,
                    stored_name,
                    stored_date,
                    register_fingerprint=history.fingerprint(name.encode("utf-8") + b"\0" + rows),
                    content_fingerprint=(
                        history.content_fingerprint(answers) if answers is not None else None
                    ),
                    source=f"event {name!r} of {register.name}",
                )
            )
        with history.adding(planned, replace=replace_existing) as added:
            yield
    if not quiet:
        for event, done in zip(planned, added, strict=True):
            _report_added(done.event_id, done.replaced, event.name, event.date, store_file)


def _report_added(
    event_id: int, replaced: int | None, name: str, day: dt.date, store_file: Path
) -> None:
    swapped = f", replacing event {replaced}" if replaced is not None else ""
    click.echo(
        f"Stored event {event_id} ({name!r}, {day.isoformat()}) in {store_file}{swapped}.",
        err=True,
    )


def _print_review_summary(result: Any, written: list[Path]) -> None:
    from inclusion_audit.report.formatters import fmt_ratio, status_word

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
