"""``inclusion-audit mapping suggest``: a mapping file for what an audit would refuse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from inclusion_audit.cli.app import CONTEXT, cli, handle_errors
from inclusion_audit.cli.options import event_date_option, population_options


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
@population_options
@event_date_option
@click.option("--output", "-o", required=True, help="The mapping file to write (.toml).")
@handle_errors
def mapping_suggest(
    register: Path,
    areas: tuple[str, ...],
    eligible_age: str | None,
    age_bands: str | None,
    reference_file: Path | None,
    event_date: dt.datetime | None,
    output: str,
) -> None:
    """Write a commented mapping file for REGISTER: each column and answer as understood.

    Answers the tool cannot place are left empty and marked TODO; fill them in
    (or mark them "unplaceable") and pass the file to `audit --mapping`.
    """
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import ENGLAND_AND_WALES, choose_reference
    from inclusion_audit.reference.suggest import suggest_mapping
    from inclusion_audit.report.outputs import OutputError, check_destination, write_all

    if not output.endswith(".toml"):
        raise OutputError(f"--output {output}: a mapping file ends in .toml.")
    destination = Path(output)
    check_destination(destination, [p for p in (register, reference_file) if p is not None])
    if not areas and not reference_file:
        areas = (ENGLAND_AND_WALES,)  # every Census label
    reference, _ = choose_reference(areas, eligible_age, reference_file, age_bands=age_bands)
    text = suggest_mapping(
        read_table(register), reference, event_date.date() if event_date else None
    )
    write_all([(destination, text.encode("utf-8"))])
    todo = text.count("TODO: not recognised")
    click.echo(f"Wrote {destination}: {todo} answer(s) to fill in (marked TODO).", err=True)
