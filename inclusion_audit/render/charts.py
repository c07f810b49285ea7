"""Chart geometry for the report: participants' share against the area's.

Charts are SVG drawn by a template macro (``_chart.html``) from the numbers
computed here, so no plotting library is needed and a council can restyle them.
Each category gets two bars: participants (solid, with its confidence interval
as a whisker) and the area (hatched), in the Okabe-Ito colour-blind-safe
palette; values are written beside the bars, so nothing depends on colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .formatters import fmt_percent, status_word

WIDTH = 640
LABEL_WIDTH = 230
VALUE_WIDTH = 110
ROW_HEIGHT = 34
BAR_HEIGHT = 11
TOP = 8
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH
_MAX_LABEL = 34


@dataclass(frozen=True)
class ChartRow:
    """One category's bars, in SVG user units."""

    label: str
    full_label: str
    y: float
    participant_width: float | None
    ci_low_x: float | None
    ci_high_x: float | None
    area_width: float
    participant_text: str
    area_text: str
    status: str


@dataclass(frozen=True)
class Chart:
    """A whole chart: size, axis ticks, rows and a text alternative."""

    width: int
    height: int
    label_width: int
    plot_width: int
    ticks: list[tuple[float, str]]
    rows: list[ChartRow]
    description: str


def share_chart(characteristic: dict[str, Any], suppression_threshold: int) -> Chart:
    """Lay out the share chart of one characteristic from its (disclosure-controlled) result."""
    groups = characteristic["groups"]
    top = max(
        [g["population_share"] for g in groups]
        + [g["share_ci_high"] or g["share"] or 0.0 for g in groups]
        + [0.05]
    )
    scale_max = _nice_ceiling(top)
    rows = []
    for index, group in enumerate(groups):
        hidden = group.get("hidden_reason")
        share = None if hidden else group["share"]
        rows.append(
            ChartRow(
                label=_shorten(group["category"]),
                full_label=group["category"],
                y=TOP + index * ROW_HEIGHT,
                participant_width=None if share is None else PLOT_WIDTH * share / scale_max,
                ci_low_x=_x(group["share_ci_low"], scale_max),
                ci_high_x=_x(group["share_ci_high"], scale_max),
                area_width=PLOT_WIDTH * group["population_share"] / scale_max,
                participant_text=(
                    f"fewer than {suppression_threshold}"
                    if hidden == "small"
                    else "withheld"
                    if hidden
                    else fmt_percent(share)
                ),
                area_text=fmt_percent(group["population_share"]),
                status=group["status"],
            )
        )
    ticks = [(PLOT_WIDTH * step / 4, fmt_percent(scale_max * step / 4, 0)) for step in range(5)]
    height = TOP + len(groups) * ROW_HEIGHT + 24
    return Chart(
        WIDTH, height, LABEL_WIDTH, PLOT_WIDTH, ticks, rows, _describe(characteristic, rows)
    )


def _describe(characteristic: dict[str, Any], rows: list[ChartRow]) -> str:
    """The chart in words, for screen readers and anyone who cannot see it."""
    name = characteristic["name"].replace("_", " ")
    parts = [
        f"{row.full_label}: {row.participant_text} of participants against {row.area_text} of "
        f"the area ({status_word(row.status).lower()})"
        for row in rows
    ]
    return f"Bar chart of {name}. " + "; ".join(parts) + "."


def _x(value: float | None, scale_max: float) -> float | None:
    return None if value is None else PLOT_WIDTH * value / scale_max


def _nice_ceiling(value: float) -> float:
    """The smallest of 10%, 20%, 25%, 40%, 50%, 60%, 80% or 100% at or above value.

    >>> _nice_ceiling(0.31), _nice_ceiling(0.05), _nice_ceiling(0.99)
    (0.4, 0.1, 1.0)
    """
    for step in (0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.8, 1.0):
        if value <= step + 1e-12:
            return step
    return 1.0


def _shorten(label: str) -> str:
    """Long ONS labels keep their distinctive end: 'Asian, … : Bangladeshi' → '…: Bangladeshi'."""
    if len(label) <= _MAX_LABEL:
        return label
    if ": " in label:
        tail = label.rsplit(": ", 1)[1]
        if len(tail) <= _MAX_LABEL - 2:
            return "…" + tail if tail[0].isupper() else "… " + tail
    return label[: _MAX_LABEL - 1] + "…"
