"""``inclusion-audit audit``: audit a register and write its result and reports."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from inclusion_audit.cli.app import CONTEXT, EXIT_FINDINGS, cli, handle_errors
from inclusion_audit.cli.history import store_audit, store_events
from inclusion_audit.cli.options import (
    disclosure_options,
    event_date_option,
    mapping_option,
    population_options,
    statistics_options,
)
from inclusion_audit.result import (  # standard library only: keeps --help instant
    AuditResult,
    Status,
)


@cli.command(context_settings=CONTEXT)
@click.argument("register", type=click.Path(path_type=Path))
@population_options
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(path_type=Path),
    help="Quota file (category,name,min,max) to check, or a target population CSV.",
)
@mapping_option
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
@event_date_option
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
@statistics_options
@disclosure_options
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
@click.option(
    "--question",
    "questions",
    multiple=True,
    metavar="COLUMN",
    help="A closed question's column: add its answers, raw and re-weighted to the "
    "population (with --weight-by; repeatable).",
)
@click.option(
    "--weight-by",
    multiple=True,
    metavar="NAME",
    help="With --question: characteristics to weight on (repeat, or age,sex), as `weights`.",
)
@click.option(
    "--intersect",
    multiple=True,
    metavar="NAME,NAME",
    help="Audit the cells of two characteristics crossed, e.g. age,sex, where the "
    "population has a joint table (repeatable).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@handle_errors
def audit(
    register: Path,
    areas: tuple[str, ...],
    eligible_age: str | None,
    age_bands: str | None,
    reference_file: Path | None,
    targets_file: Path | None,
    mapping_file: Path | None,
    event_file: Path | None,
    partners_file: Path | None,
    event_date: dt.datetime | None,
    event_column: str | None,
    formats: tuple[str, ...],
    output: str | None,
    confidence: float | None,
    correction: str,
    alpha: float | None,
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
    questions: tuple[str, ...],
    weight_by: tuple[str, ...],
    intersect: tuple[str, ...],
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
    from inclusion_audit.action.event import load_event
    from inclusion_audit.action.recommendations import load_partners
    from inclusion_audit.audit import (
        event_date_column,
        event_dates,
        run_audit,
        split_by_event,
    )
    from inclusion_audit.config import AuditConfig
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.report.outputs import choose_formats, plan_outputs, write_all
    from inclusion_audit.report.render import FILE_NAMES, RenderOptions, render_formats

    chosen = choose_formats(formats, output)
    inputs = [
        p
        for p in (register, reference_file, targets_file, mapping_file, event_file, partners_file)
        if p is not None
    ]
    if event_column and (output is None or output == "-"):
        raise click.UsageError("--event-column writes one report per event: add --output FOLDER.")
    if store_file and event_column and event_name:
        raise click.UsageError(
            "--event-name names one event; with --event-column each event is stored under "
            "its own name from that column."
        )
    if questions and not weight_by:
        raise click.UsageError(
            "--question needs --weight-by: the characteristics to weight the answers on "
            "(e.g. --weight-by age,sex)."
        )
    if weight_by and not questions:
        raise click.UsageError("--weight-by goes with --question (the answers to re-weight).")
    pairs = []
    if intersect:
        from inclusion_audit.intersections import parse_pairs

        pairs = parse_pairs(intersect)
        if event_column:
            raise click.UsageError(
                "--intersect audits one event's cells: audit each event's register on its own."
            )
    if questions and event_column:
        raise click.UsageError(
            "--question re-weights one event's answers: run `results` on each event's "
            "register rather than with --event-column."
        )
    config = AuditConfig(
        confidence=math.nan if confidence is None else confidence,
        correction=correction,
        alpha=math.nan if alpha is None else alpha,
        under_threshold=under_threshold,
        over_threshold=over_threshold,
        min_expected=min_expected,
    )
    reference, quotas = choose_reference(
        areas, eligible_age, reference_file, targets_file, age_bands
    )
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

    def run(part: Any, when: dt.date | None = day) -> Any:
        return run_audit(
            part,
            reference,
            config,
            quotas=quotas,
            mapping=mapping,
            event=event,
            event_date=when,
            partners=partners,
            suppress_below=threshold,
        )

    if event_column:
        assert output is not None
        events = split_by_event(table, event_column)
        date_column = event_date_column(table)
        fallback = day or (event.date if event is not None else None)
        dates: dict[str, dt.date | None] = (
            event_dates(events, date_column, fallback)
            if date_column
            else {name: fallback for name, _ in events}
        )
        results = [(name, run(part, dates[name] or day)) for name, part in events]
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
        with (
            store_events(store_file, events, results, dates, register, replace_existing, quiet)
            if store_file
            else contextlib.nullcontext()
        ):
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
    if questions:
        from inclusion_audit.weighting import WeightSettings, weighted_results

        names = tuple(n.strip() for item in weight_by for n in item.split(",") if n.strip())
        _, weighted = weighted_results(
            table, reference, WeightSettings(names), questions, mapping, day, config.confidence
        )
        result = replace(result, weighted_results=weighted)
    if pairs:
        from inclusion_audit.intersections import add_intersections

        result = add_intersections(result, table, reference, pairs, config, mapping, day)
    outputs = render_formats(result, [fmt for fmt, _ in plan], options)
    rendered = [(path, outputs[fmt]) for fmt, path in plan]
    with (
        store_audit(store_file, result, register, table, event_name, day, replace_existing, quiet)
        if store_file
        else contextlib.nullcontext()
    ):
        write_all([(path, data) for path, data in rendered if path is not None])
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


def _print_summary(result: AuditResult, written: list[Path]) -> None:
    from inclusion_audit.report.formatters import fmt_ratio

    audited = len(result.characteristics)
    click.echo(
        f"Audited {result.n_participants:,} participants on {audited} characteristic"
        f"{'s' if audited != 1 else ''} against {result.reference}.",
        err=True,
    )
    for characteristic in result.characteristics:
        if characteristic.answers_unreadable:
            click.echo(
                f"Warning: {characteristic.name.replace('_', ' ')}: "
                f"{characteristic.n_unplaceable:,} of {characteristic.n_answered:,} answers could "
                f"not be read; its results describe only the {characteristic.n_known:,} placed.",
                err=True,
            )
    under = result.groups_with_status(Status.UNDER)
    possible = result.groups_with_status(Status.POSSIBLE_UNDER)
    if under:
        click.echo("Under-represented:", err=True)
        threshold = fmt_ratio(result.settings["under_threshold"])
        for characteristic, group in under:
            click.echo(
                f"  {characteristic.name}: {group.category} (ratio {fmt_ratio(group.ratio)}, "
                f"{group.shortfall:,} more needed to reach {threshold}, "
                f"{group.shortfall_parity:,} to parity)",
                err=True,
            )
    if possible:
        click.echo(
            f"Possibly under-represented: {len(possible)} more group(s); see the report.", err=True
        )
    for step in result.recommendations[:3]:
        groups = "; ".join(category for _, category in step.groups[:3])
        more = f" and {len(step.groups) - 3} more" if len(step.groups) > 3 else ""
        click.echo(f"Next step {step.priority}: {step.action} (for {groups}{more})", err=True)
    for note in result.already_offered[:2]:
        click.echo(f"Already offered: {note.text[:1].upper()}{note.text[1:]}.", err=True)
    if not under and not possible:
        click.echo("No group is under-represented by the thresholds used.", err=True)
    for item in result.not_audited:
        fix = f" {item.fix}" if item.fix else ""
        click.echo(f"Not audited: {item.name} ({item.reason.rstrip('.')}).{fix}", err=True)
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
