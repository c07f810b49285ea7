"""The ``inclusion-audit`` command: parse options, call the library, format output.

Only click and the standard library are imported at module level so that
``--help`` and ``--version`` answer at once; polars, Jinja2 and WeasyPrint load
inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__

EXIT_INPUT_ERROR = 2
EXIT_FINDINGS = 1
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


@cli.command(context_settings=CONTEXT)
@click.argument("register", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--reference",
    "reference_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Population to compare with: a CSV with columns characteristic,category,count.",
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
    help="File for one format, folder for several, or - for standard output (json, md).",
)
@click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)
@click.option(
    "--correction",
    type=click.Choice(["bh", "holm", "none"]),
    default="bh",
    show_default=True,
    help="Multiple-comparison correction over every group.",
)
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="Significance level for a firm finding.",
)
@click.option(
    "--under-threshold",
    type=float,
    default=0.8,
    show_default=True,
    help="Ratio below which a group is under-represented.",
)
@click.option(
    "--over-threshold",
    type=float,
    default=1.25,
    show_default=True,
    help="Ratio above which a group is over-represented.",
)
@click.option(
    "--min-expected",
    type=float,
    default=5.0,
    show_default=True,
    help="Fewest expected participants for a verdict on a group.",
)
@click.option(
    "--suppress-below",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="In reports, hide counts from 1 up to this minus 1 (ONS practice: 10).",
)
@click.option(
    "--internal",
    is_flag=True,
    help="Show exact small counts in reports, under a 'restricted' banner.",
)
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
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_handle_errors
def audit(
    register: Path,
    reference_file: Path,
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
    quiet: bool,
) -> None:
    """Audit REGISTER (CSV, XLSX or Parquet; one row per participant) against a population.

    Each register column named after a characteristic of the reference is
    compared with it; other columns (names, emails, comments) are never read
    into the results. Blank and "prefer not to say" answers count as unknown.

    \b
    Examples:
      inclusion-audit audit register.csv --reference population.csv
      inclusion-audit audit register.xlsx --reference population.csv -o report.html
      inclusion-audit audit register.csv --reference population.csv \\
          --format json --format html --format pdf --output out/
    """
    from .audit import audit_register
    from .config import AuditConfig
    from .outputs import choose_formats, plan_outputs, write_atomic
    from .readers import read_table
    from .reference import read_reference_csv
    from .render import FILE_NAMES, RenderOptions, render

    chosen = choose_formats(formats, output)
    plan = plan_outputs(chosen, output, FILE_NAMES)
    config = AuditConfig(
        confidence=confidence,
        correction=correction,
        alpha=alpha,
        under_threshold=under_threshold,
        over_threshold=over_threshold,
        min_expected=min_expected,
    )
    reference = read_reference_csv(reference_file)
    result = audit_register(read_table(register), reference, config)
    options = RenderOptions(
        template_dir=template_dir, title=title, suppress_below=suppress_below, internal=internal
    )
    rendered = [
        (destination, render(result, file_format, options)) for file_format, destination in plan
    ]
    for destination, data in rendered:
        if destination is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            write_atomic(destination, data)
    if not quiet:
        _print_summary(result, [d for d, _ in rendered if d is not None])
    if fail_on_under and result.groups_with_status(_status("under")):
        sys.exit(EXIT_FINDINGS)


def _status(name: str) -> Any:
    from .result import Status

    return Status(name)


def _print_summary(result: Any, written: list[Path]) -> None:
    from .render.formatters import fmt_ratio

    audited = len(result.characteristics)
    click.echo(
        f"Audited {result.n_participants:,} participants on {audited} characteristic"
        f"{'s' if audited != 1 else ''} against {result.reference}.",
        err=True,
    )
    under = result.groups_with_status(_status("under"))
    possible = result.groups_with_status(_status("possible_under"))
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
    if not under and not possible:
        click.echo("No group is under-represented by the thresholds used.", err=True)
    for item in result.not_audited:
        click.echo(f"Not audited: {item.name} ({item.reason}).", err=True)
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
        sys.exit(1)
