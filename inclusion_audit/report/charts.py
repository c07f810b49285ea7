"""Chart geometry for the report: participants' share against the area's.

Charts are SVG drawn by a template macro (``_chart.html``) from the numbers
computed here, so no plotting library is needed and a council can restyle them.
Each category gets two bars: participants (solid, with its confidence interval
as a whisker) and the area (hatched), in the Okabe-Ito colour-blind-safe
palette; values are written beside the bars, so nothing depends on colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from inclusion_audit.report.formatters import fmt_count_band, fmt_percent, fmt_ratio, status_word

WIDTH = 680
LABEL_WIDTH = 240
VALUE_WIDTH = 150
ROW_HEIGHT = 34
BAR_HEIGHT = 11
TOP = 8
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH
_MAX_LABEL = 38
"""Characters a label line holds at 11 px (DejaVu Sans averages about 6.2 px a character)."""
_SCALES = (
    (0.1, 0.02),
    (0.2, 0.05),
    (0.25, 0.05),
    (0.4, 0.1),
    (0.5, 0.1),
    (0.6, 0.1),
    (0.8, 0.2),
    (1.0, 0.2),
)
"""Axis maxima and their tick steps: every tick a round percentage (10%, 20%…, never 12%)."""


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
    label_lines: tuple[str, ...] = ()
    """The label as drawn: one or two lines, wrapped at words (the full label is in the
    table and the text alternative)."""


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
        + [_on_share_scale(g, "ratio_ci_high") or g["share"] or 0.0 for g in groups]
        + [0.05]
    )
    scale_max, step = _scale(top)
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
                # The verdict's own interval (issue 12), on the share scale.
                ci_low_x=_x(_on_share_scale(group, "ratio_ci_low"), scale_max),
                ci_high_x=_x(_on_share_scale(group, "ratio_ci_high"), scale_max),
                area_width=PLOT_WIDTH * group["population_share"] / scale_max,
                participant_text=(
                    (fmt_count_band(group) if hidden == "small" else "withheld")
                    if hidden
                    else fmt_percent(share)
                ),
                area_text=fmt_percent(group["population_share"]),
                status=group["status"],
                label_lines=_wrap(group["category"]),
            )
        )
    count = round(scale_max / step)
    ticks = [(PLOT_WIDTH * i / count, fmt_percent(step * i, 0)) for i in range(count + 1)]
    height = TOP + len(groups) * ROW_HEIGHT + 24
    return Chart(
        WIDTH, height, LABEL_WIDTH, PLOT_WIDTH, ticks, rows, _describe(characteristic, rows)
    )


def _on_share_scale(group: dict[str, Any], key: str) -> float | None:
    """A bound of the ratio interval times the population share: the same interval as a share."""
    value = group.get(key)
    return None if value is None else min(1.0, value * group["population_share"])


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


def _scale(value: float) -> tuple[float, float]:
    """The axis maximum at or above ``value`` and its tick step, both round percentages.

    >>> _scale(0.31), _scale(0.05), _scale(0.45)
    ((0.4, 0.1), (0.1, 0.02), (0.5, 0.1))
    """
    for maximum, step in _SCALES:
        if value <= maximum + 1e-12:
            return maximum, step
    return _SCALES[-1]


def _wrap(label: str) -> tuple[str, ...]:
    """A label in at most two lines of ``_MAX_LABEL`` characters, broken at spaces.

    >>> _wrap("Black, Black British, Black Welsh, Caribbean or African: Caribbean")
    ('Black, Black British, Black Welsh,', 'Caribbean or African: Caribbean')
    >>> _wrap("Female")
    ('Female',)
    """
    if len(label) <= _MAX_LABEL:
        return (label,)
    lines = [""]
    for word in label.split(" "):
        candidate = f"{lines[-1]} {word}".strip()
        if len(candidate) <= _MAX_LABEL or not lines[-1]:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) > 2 or len(lines[-1]) > _MAX_LABEL:
        second = " ".join(lines[1:])
        lines = [lines[0], "…" + second[-(_MAX_LABEL - 1) :].lstrip()]
    return tuple(lines)


def _shorten(label: str) -> str:
    """Long ONS labels keep their distinctive end: 'Asian, … : Bangladeshi' → '…: Bangladeshi'."""
    if len(label) <= _MAX_LABEL:
        return label
    if ": " in label:
        tail = label.rsplit(": ", 1)[1]
        if len(tail) <= _MAX_LABEL - 2:
            return "…" + tail if tail[0].isupper() else "… " + tail
    return label[: _MAX_LABEL - 1] + "…"


TREND_WIDTH = 640
TREND_HEIGHT = 230
TREND_LEFT = 48
TREND_RIGHT = 170
TREND_TOP = 12
TREND_BOTTOM = 34
TREND_SERIES = 6
# Okabe-Ito colours, each with its own marker shape, so no series depends on colour.
_TREND_STYLES = (
    ("#0072b2", "circle"),
    ("#d55e00", "square"),
    ("#009e73", "triangle"),
    ("#cc79a7", "diamond"),
    ("#e69f00", "cross"),
    ("#56b4e9", "bar"),
)


@dataclass(frozen=True)
class TrendSeries:
    """One group's pooled ratio across periods, in SVG user units."""

    label: str
    full_label: str
    colour: str
    marker: str
    points: list[tuple[float, float]]
    segments: list[list[tuple[float, float]]]
    """Runs of consecutive shown periods, each drawn as one line."""
    label_y: float
    ranges: list[tuple[float, float, float]] = field(default_factory=list)
    """Periods where only a band of ratios can be shown: (x, top y, bottom y), drawn as a
    bar with no marker (a withheld figure is never drawn as a point)."""


@dataclass(frozen=True)
class TrendChart:
    """A line and dot chart of pooled ratios by period, with a text alternative."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    parity_y: float
    threshold_y: float
    series: list[TrendSeries]
    description: str


def trend_chart(
    name: str,
    periods: list[str],
    rows: list[dict[str, Any]],
    under_threshold: float,
) -> TrendChart:
    """Lay out the trend of one characteristic.

    ``rows`` are the groups to draw, most important first (at most
    ``TREND_SERIES`` are drawn): each has ``category`` and ``ratios``, one per
    period, None where it was not audited or is hidden, and optionally
    ``ranges``: (low, high) ratios a hidden period's band allows (high None: no
    upper bound), drawn as a bar, or None for a gap.
    """
    plot_width = TREND_WIDTH - TREND_LEFT - TREND_RIGHT
    plot_height = TREND_HEIGHT - TREND_TOP - TREND_BOTTOM

    def drawable(row: dict[str, Any]) -> bool:
        ranges = row.get("ranges") or []
        return any(v is not None for v in row["ratios"]) or any(r is not None for r in ranges)

    shown = [r for r in rows if drawable(r)][:TREND_SERIES]
    top = max(
        [1.5]
        + [v for r in shown for v in r["ratios"] if v is not None]
        + [b[1] for r in shown for b in r.get("ranges") or [] if b is not None and b[1] is not None]
    )
    scale_max = next((step for step in (1.5, 2.0, 3.0, 4.0, 5.0) if top <= step), 10.0)
    top = min(top, scale_max)

    def x(index: int) -> float:
        if len(periods) == 1:
            return TREND_LEFT + plot_width / 2
        return TREND_LEFT + plot_width * index / (len(periods) - 1)

    def y(ratio: float) -> float:
        return TREND_TOP + plot_height * (1 - min(ratio, scale_max) / scale_max)

    lines = []
    for row in shown:
        points: list[tuple[float, float]] = []
        segments: list[list[tuple[float, float]]] = []
        for index, ratio in enumerate(row["ratios"]):
            if ratio is None:
                segments.append([])
                continue
            point = (x(index), y(ratio))
            points.append(point)
            if not segments or not segments[-1]:
                segments.append([])
            segments[-1].append(point)
        bars = [
            (x(index), y(scale_max if band[1] is None else band[1]), y(band[0] or 0.0))
            for index, band in enumerate(row.get("ranges") or [])
            if band is not None and row["ratios"][index] is None
        ]
        lines.append((row, points, [s for s in segments if len(s) > 1], bars))
    label_ys = _spread(
        [
            points[-1][1] if points else (bars[-1][1] + bars[-1][2]) / 2
            for _, points, _, bars in lines
        ]
    )
    series = [
        TrendSeries(
            label=_shorten(row["category"]),
            full_label=row["category"],
            colour=colour,
            marker=marker,
            points=points,
            segments=segments,
            label_y=label_y,
            ranges=bars,
        )
        for (row, points, segments, bars), (colour, marker), label_y in zip(
            lines, _TREND_STYLES, label_ys, strict=False
        )
    ]
    steps = 5 if scale_max != 1.5 else 3
    y_ticks = [(y(scale_max * i / steps), f"{scale_max * i / steps:.1f}") for i in range(steps + 1)]
    return TrendChart(
        width=TREND_WIDTH,
        height=TREND_HEIGHT,
        left=TREND_LEFT,
        top=TREND_TOP,
        plot_width=plot_width,
        plot_height=plot_height,
        x_ticks=[(x(i), label) for i, label in enumerate(periods)],
        y_ticks=y_ticks,
        parity_y=y(1.0),
        threshold_y=y(under_threshold),
        series=series,
        description=_describe_trend(name, periods, shown),
    )


def _spread(positions: list[float], gap: float = 12) -> list[float]:
    """The positions moved down as little as needed to sit ``gap`` apart, in the same order.

    >>> _spread([50.0, 55.0, 20.0])
    [50.0, 62.0, 20.0]
    """
    moved = list(positions)
    previous = -math.inf
    for index in sorted(range(len(moved)), key=lambda i: moved[i]):
        moved[index] = max(moved[index], previous + gap)
        previous = moved[index]
    return moved


def _describe_trend(name: str, periods: list[str], rows: list[dict[str, Any]]) -> str:
    readable = name.replace("_", " ")
    if not rows:
        return f"No ratio of {readable} can be shown for any period."

    def cell(ratio: float | None, band: tuple[float, float | None] | None) -> str:
        if ratio is not None:
            return fmt_ratio(ratio)
        if band is not None and band[1] is not None:
            return f"{fmt_ratio(band[0])} to {fmt_ratio(band[1])}"
        return "not shown"

    parts = [
        f"{row['category']}: "
        + ", ".join(
            f"{period} {cell(ratio, band)}"
            for period, ratio, band in zip(
                periods, row["ratios"], row.get("ranges") or [None] * len(periods), strict=True
            )
        )
        for row in rows
    ]
    return (
        f"Line chart of the pooled ratio of {readable} by period (1 means in proportion). "
        + "; ".join(parts)
        + "."
    )
