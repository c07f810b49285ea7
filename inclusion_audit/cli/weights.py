"""``weights`` and ``results``: raking weights to a population, and results re-weighted by them."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from inclusion_audit.cli.app import cli, handle_errors
from inclusion_audit.cli.options import event_date_option, mapping_option, population_options

PRIVACY_WARNING = (
    "Warning: {path} pairs each participant's identifier with a weight that reveals their "
    "answers' group (special category data). Keep it with the register, under the same "
    "access controls, and do not publish or share it."
)


def _weighting_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--characteristic",
                "characteristics",
                multiple=True,
                required=True,
                metavar="NAME",
                help="Characteristic to weight on (repeat, or comma-separate: age,sex).",
            ),
            click.option(
                "--trim",
                "trim_ratio",
                type=float,
                help="Cap weights at this multiple of the mean weight (e.g. 5), then "
                "re-rake; margins the cap keeps out of reach are named.",
            ),
            click.option(
                "--max-iterations",
                type=click.IntRange(min=1),
                default=1000,
                show_default=True,
                help="Most raking cycles.",
            ),
            click.option(
                "--tolerance",
                type=float,
                default=1e-6,
                show_default=True,
                help="Largest allowed difference between a weighted share and its "
                "population share.",
            ),
            click.option(
                "--collapse",
                multiple=True,
                metavar="NAME:CAT|CAT",
                help="Weight categories as one, e.g. 'age:65-74|75+' (repeatable).",
            ),
        ]
    ):
        command = option(command)
    return command


def _settings(
    characteristics: tuple[str, ...],
    trim_ratio: float | None,
    max_iterations: int,
    tolerance: float,
    collapse: tuple[str, ...],
) -> Any:
    from inclusion_audit.weighting import WeightSettings, parse_collapse

    names = tuple(n.strip() for item in characteristics for n in item.split(",") if n.strip())
    return WeightSettings(
        characteristics=names,
        max_iterations=max_iterations,
        tolerance=tolerance,
        trim_ratio=trim_ratio,
        collapse=tuple(parse_collapse(c) for c in collapse),
    )


@cli.command(name="weights")
@click.argument("register", type=click.Path(path_type=Path))
@population_options
@_weighting_options
@mapping_option
@event_date_option
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="The weights file to write (CSV: the identifier column and weight).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics on standard output as text or JSON.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and warnings.")
@handle_errors
def weights(
    register: Path,
    areas: tuple[str, ...],
    eligible_age: str | None,
    age_bands: str | None,
    reference_file: Path | None,
    characteristics: tuple[str, ...],
    trim_ratio: float | None,
    max_iterations: int,
    tolerance: float,
    collapse: tuple[str, ...],
    mapping_file: Path | None,
    event_date: dt.datetime | None,
    output: Path,
    output_format: str,
    quiet: bool,
) -> None:
    """Weight REGISTER's participants to a population's margins (raking).

    Characteristics are harmonised exactly as `audit` harmonises them. Writes
    --output: the register's identifier column (or its row number) and a weight per
    participant, in register order, averaging 1. Prints the diagnostics: convergence,
    effective sample size, design effect, weight range, trimming, balance before and
    after, and warnings.

    \b
    Example:
      inclusion-audit weights register.csv --area Lambeth --eligible-age 16+ \\
          --characteristic age --characteristic sex --trim 5 --output weights.csv
    """
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.report.outputs import check_destination, write_all
    from inclusion_audit.weighting import weight_register

    settings = _settings(characteristics, trim_ratio, max_iterations, tolerance, collapse)
    inputs = [p for p in (register, reference_file, mapping_file) if p is not None]
    check_destination(output, inputs)
    reference, _ = choose_reference(areas, eligible_age, reference_file, None, age_bands)
    mapping = read_mapping(mapping_file) if mapping_file else None
    table = read_table(register)
    result = weight_register(
        table, reference, settings, mapping, event_date.date() if event_date else None
    )
    write_all([(output, result.to_frame().write_csv().encode("utf-8"))])
    diagnostics = result.diagnostics()
    if output_format == "json":
        click.echo(json.dumps(diagnostics, indent=2, ensure_ascii=False, allow_nan=False))
    elif not quiet:
        click.echo(format_diagnostics(diagnostics))
    for warning in diagnostics["warnings"]:
        click.echo(f"Warning: {warning['message']}", err=True)
    click.echo(PRIVACY_WARNING.format(path=output), err=True)


def format_diagnostics(d: dict[str, Any]) -> str:
    """The diagnostics as text for a terminal."""
    c, w, t = d["convergence"], d["weights"], d["trimming"]
    lines = [
        f"Weighted {d['n_participants']} participants of {d['register']} to "
        f"{d['reference']} on {', '.join(x['name'] for x in d['characteristics'])}.",
        f"Convergence: {'converged' if c['converged'] else 'NOT converged'} after "
        f"{c['iterations']} iteration(s); largest margin error {c['largest_margin_error']:.2g}.",
        f"Effective sample size {d['effective_sample_size']:.1f}; design effect "
        f"{d['design_effect']:.3f}.",
        f"Weights: mean {w['mean']:.3f}, min {w['min']:.3f}, max {w['max']:.3f}; "
        + ", ".join(f"{k} {v:.3f}" for k, v in w["percentiles"].items())
        + ".",
        (
            f"Trimming: capped at {t['trim_ratio']:g} times the mean, then re-raked; "
            f"{t['participants_capped']} participant(s) capped in the last cycle."
            if t["applied"]
            else "Trimming: none (--trim RATIO caps weights, then re-rakes)."
        ),
        "Balance (mean absolute standardised difference from the population, before -> after):",
    ]
    for b in d["balance"]:
        lines.append(
            f"  {b['characteristic']}: {b['asmd_before']:.3f} -> {b['asmd_after']:.3f}; "
            f"unknown answers {100 * b['unknown_share']:.1f}% "
            f"({100 * b['unknown_share_weighted']:.1f}% weighted)"
        )
    return "\n".join(lines)


@cli.command(name="results")
@click.argument("register", type=click.Path(path_type=Path))
@click.option(
    "--question",
    "questions",
    multiple=True,
    required=True,
    metavar="COLUMN",
    help="A closed question's column (a vote, support or oppose, a first choice); repeatable.",
)
@population_options
@_weighting_options
@mapping_option
@event_date_option
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "html", "md", "csv", "pdf"]),
    help="Output format (default: from --output's suffix, else md); pdf needs --output.",
)
@click.option("--output", "-o", help="File to write; without it, standard output.")
@click.option(
    "--suppress-below",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="In html, pdf, md and csv, hide answer counts from 1 to this minus 1 and what reveals "
    "them.",
)
@click.option("--internal", is_flag=True, help="Show exact small counts (restricted use).")
@handle_errors
def results(
    register: Path,
    questions: tuple[str, ...],
    areas: tuple[str, ...],
    eligible_age: str | None,
    age_bands: str | None,
    reference_file: Path | None,
    characteristics: tuple[str, ...],
    trim_ratio: float | None,
    max_iterations: int,
    tolerance: float,
    collapse: tuple[str, ...],
    mapping_file: Path | None,
    event_date: dt.datetime | None,
    confidence: float,
    output_format: str | None,
    output: str | None,
    suppress_below: int,
    internal: bool,
) -> None:
    """Each answer's share of REGISTER's QUESTION, raw and weighted to the population.

    Weighted by raking on --characteristic (as `weights` does; no weights file is
    written). For each answer option: the raw share and the weighted share, with
    intervals that account for the weights, and a plain sentence where they differ
    materially. Always beside, never instead of, the raw result.

    \b
    Example:
      inclusion-audit results vote.csv --question "Do you support the scheme?" \\
          --area Lambeth --eligible-age 16+ --characteristic age,sex,ethnic_group -o results.md
    """
    from inclusion_audit.errors import require_modules
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.report.outputs import OutputError, check_destination, write_all
    from inclusion_audit.report.weighted import render_weighted_results
    from inclusion_audit.weighting import weighted_results

    chosen = output_format or _format_from(output)
    settings = _settings(characteristics, trim_ratio, max_iterations, tolerance, collapse)
    inputs = [p for p in (register, reference_file, mapping_file) if p is not None]
    if chosen == "pdf":
        if not output or output == "-":
            raise OutputError(
                "a PDF cannot go to the terminal: add --output FILE (for example "
                "--output results.pdf)."
            )
        # Before the register is read: a missing extra is known in a moment.
        require_modules("pdf", "PDF output needs WeasyPrint", "weasyprint")
    if output and output != "-":
        check_destination(Path(output), inputs)
    reference, _ = choose_reference(areas, eligible_age, reference_file, None, age_bands)
    mapping = read_mapping(mapping_file) if mapping_file else None
    table = read_table(register)
    _, found = weighted_results(
        table,
        reference,
        settings,
        questions,
        mapping,
        event_date.date() if event_date else None,
        confidence,
    )
    data = render_weighted_results(found, chosen, 0 if internal else suppress_below)
    if output and output != "-":
        write_all([(Path(output), data)])
        click.echo(f"Wrote {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def _format_from(output: str | None) -> str:
    suffix = Path(output).suffix.lower().lstrip(".") if output and output != "-" else ""
    formats = {
        "json": "json",
        "html": "html",
        "htm": "html",
        "md": "md",
        "csv": "csv",
        "pdf": "pdf",
    }
    return formats.get(suffix, "md")
