"""``inclusion-audit check``: validate a register for a pipeline (Great Expectations)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from inclusion_audit.cli.app import CONTEXT, EXIT_FINDINGS, cli, handle_errors
from inclusion_audit.cli.options import event_date_option, mapping_option, population_options


@cli.command(context_settings=CONTEXT)
@click.argument("register", type=click.Path(path_type=Path))
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
@handle_errors
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
    from inclusion_audit.check.report import to_json, to_junit_xml, to_text
    from inclusion_audit.check.suite import CheckRules, check_register, split_names
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import ENGLAND_AND_WALES, choose_reference
    from inclusion_audit.report.outputs import OutputError, check_destination, write_all

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
