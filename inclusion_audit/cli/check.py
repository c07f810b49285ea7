"""``inclusion-audit check``: validate a register for a pipeline (Great Expectations)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from inclusion_audit.cli.app import CONTEXT, EXIT_FINDINGS, cli, handle_errors
from inclusion_audit.cli.options import event_date_option, mapping_option, population_options
from inclusion_audit.result import UNREADABLE_SHARE


@cli.command(context_settings=CONTEXT)
@click.argument("registers", metavar="REGISTER...", nargs=-1, required=True)
@population_options
@mapping_option
@event_date_option
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
    "--max-unreadable",
    type=float,
    default=UNREADABLE_SHARE,
    show_default=True,
    metavar="SHARE",
    help="Largest share (0-1) of a column's answers, blank and declined ones left out, that "
    "may be impossible to place in any group; 1 turns the check off.",
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
@click.option(
    "--summary",
    "summary_output",
    metavar="FILE",
    help="Append a Markdown summary (expectations, counts and row numbers, never answers) to "
    "FILE, e.g. $GITHUB_STEP_SUMMARY.",
)
@click.option(
    "--annotations",
    type=click.Choice(["github"]),
    help="Also print each failure as a GitHub Actions annotation (row numbers, never answers).",
)
@click.option(
    "--no-answers",
    "hide_answers",
    is_flag=True,
    help="Quote no answer in any output, for logs anyone may read: failures keep their "
    "expectation, counts and row numbers.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@handle_errors
def check(
    registers: tuple[str, ...],
    areas: tuple[str, ...],
    eligible_age: str | None,
    age_bands: str | None,
    reference_file: Path | None,
    mapping_file: Path | None,
    event_date: dt.datetime | None,
    required: tuple[str, ...],
    min_rows: int,
    max_unknown: float | None,
    max_unreadable: float,
    id_column: str | None,
    event_column: str | None,
    json_output: str | None,
    junit_xml: str | None,
    suite_output: str | None,
    summary_output: str | None,
    annotations: str | None,
    hide_answers: bool,
    quiet: bool,
) -> None:
    """Check each REGISTER is fit to audit, with Great Expectations: for CI pipelines.

    Every characteristic column is harmonised as `audit` would harmonise it and
    validated: each answer must be a reference category, blank, "prefer not to
    say" or an answer the audit knows to set aside; participant identifiers must
    not repeat; and the options add more. Names, contact details and free text
    are never validated or shown. Without --area or --reference, answers are
    checked against Census 2021 for England and Wales. Give several registers, or
    glob patterns such as 'data/**/*.csv', to check them all in one run, with one
    JUnit test suite each.

    Exit code 0: every expectation met; 1: at least one failed; 2: a register
    or an option cannot be used.

    \b
    Examples:
      inclusion-audit check register.csv --area Lambeth --eligible-age 16+
      inclusion-audit check register.xlsx --require age,sex,ethnic_group --max-unknown 0.2 \\
          --junit-xml reports/register.xml --json reports/register.json
      inclusion-audit check 'data/*.csv' --area Lambeth --junit-xml reports/registers.xml
    """
    if "polars" not in sys.modules:
        # One polars thread, set before polars starts its pool: polars counts while Great
        # Expectations is imported (the longer of the two) on another core, and its
        # streaming buffers grow with its threads (1M rows: 131 MB with one thread, 148 MB
        # with two, 204 MB with eight), which would put a many-core CI runner over 300 MB.
        # A value set by the user wins.
        os.environ.setdefault("POLARS_MAX_THREADS", "1")
    from inclusion_audit.check.report import (
        to_github_annotations,
        to_json,
        to_junit_xml,
        to_markdown_summary,
        to_text,
        totals,
    )
    from inclusion_audit.check.suite import (
        CheckRules,
        check_register,
        light_great_expectations_import,
        require_great_expectations,
        split_names,
        without_answers,
    )
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import expand_paths, read_table
    from inclusion_audit.reference.sources import ENGLAND_AND_WALES, choose_reference
    from inclusion_audit.report.outputs import OutputError, check_destination, write_all

    require_great_expectations()
    # This process only checks: Great Expectations without pyarrow, and scipy.stats
    # loaded only if used (the suite never does): about 95 MB of a 1M-row check.
    light_great_expectations_import()
    paths = expand_paths(registers)
    outputs = {"--json": json_output, "--junit-xml": junit_xml, "--suite": suite_output}
    if suite_output and len(paths) > 1:
        raise OutputError(
            f"--suite writes the suite run on one register, and {len(paths)} are given: "
            "check one register with --suite, or leave it out."
        )
    to_stdout = [option for option, value in outputs.items() if value == "-"]
    if len(to_stdout) > 1:
        raise OutputError(f"{' and '.join(to_stdout)} both ask for standard output; give files.")
    named = [value for value in [*outputs.values(), summary_output] if value not in (None, "-")]
    if len(set(named)) < len(named):
        raise OutputError("--json, --junit-xml, --suite and --summary must name different files.")
    inputs = [p for p in (*paths, reference_file, mapping_file) if p is not None]
    for option, value in [*outputs.items(), ("--summary", summary_output)]:
        if value not in (None, "-"):
            check_destination(Path(value), inputs, option)
    if not areas and not reference_file:
        areas = (ENGLAND_AND_WALES,)  # every Census label
    reference, _ = choose_reference(areas, eligible_age, reference_file, age_bands=age_bands)
    rules = CheckRules(
        min_rows=min_rows,
        required=split_names(required),
        max_unknown=max_unknown,
        max_unreadable=max_unreadable,
        id_column=id_column,
        event_column=event_column,
    )
    mapping = read_mapping(mapping_file) if mapping_file else None
    results = [
        check_register(
            read_table(path),
            reference,
            rules,
            mapping=mapping,
            event_date=event_date.date() if event_date else None,
        )
        for path in paths
    ]
    if hide_answers:
        results = [without_answers(result) for result in results]
    renderers: dict[str, Callable[[], bytes]] = {
        "--json": lambda: to_json(results),
        "--junit-xml": lambda: to_junit_xml(results),
        "--suite": lambda: (json.dumps(results[0].suite, indent=2) + "\n").encode("utf-8"),
    }
    files = [(value, renderers[option]()) for option, value in outputs.items() if value]
    write_all([(Path(value), data) for value, data in files if value != "-"])
    if summary_output:
        # Appended, as $GITHUB_STEP_SUMMARY expects: several steps may write to it.
        with Path(summary_output).open("a", encoding="utf-8") as handle:
            handle.write(to_markdown_summary(results))
    for value, data in files:
        if value == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    if annotations == "github":
        click.echo(to_github_annotations(results), nl=False, err=bool(to_stdout))
    if not quiet:
        for result in results:
            click.echo(to_text(result), nl=False, err=bool(to_stdout))
        if len(results) > 1:
            click.echo("\n" + totals(results), nl=False, err=bool(to_stdout))
        for value, _ in files:
            if value != "-":
                click.echo(f"Wrote {value}", err=True)
    if not all(result.success for result in results):
        sys.exit(EXIT_FINDINGS)
