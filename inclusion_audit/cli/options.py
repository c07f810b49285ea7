"""Options several commands share: the population, the verdict thresholds, disclosure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from inclusion_audit.config import DEFAULT_THRESHOLD


def population_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--area, --eligible-age, --age-bands and --reference: what a register is compared with."""
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
                "--age-bands",
                metavar="BANDS",
                help="Age bands to compare in, e.g. 16-29,30-49,50+ (with --area). Default: "
                "the register's own bands, and 16-24, 25-34, ..., 75+ for ages in years.",
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


mapping_option = click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(path_type=Path),
    help="Mapping file (from `mapping suggest`) that says what columns and answers mean.",
)


event_date_option = click.option(
    "--event-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date of the event (YYYY-MM-DD), for ages from dates of birth. Default: the "
    "--event file's date in `audit`, else today.",
)


def statistics_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The thresholds of a verdict, shared by `audit` and `review` so they judge alike."""
    for option in reversed(
        [
            click.option(
                "--confidence",
                type=float,
                default=None,
                help="Confidence level of the intervals a verdict comes from  [default: 0.95, "
                "or 1 − --alpha].",
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
                default=None,
                help="Significance level for a firm finding: always 1 − --confidence, so give "
                "one or the other  [default: 0.05].",
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


def disclosure_options(command: Callable[..., Any]) -> Callable[..., Any]:
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
