"""Render a ``ReviewResult`` as JSON, HTML, Markdown or PDF.

Reports use the audit report's environment, stylesheet and PDF typesetting;
``review.html`` extends ``base.html``. Anything shared hides small counts
(``disclosure.suppress_review``); the JSON keeps exact counts, as the audit's does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from inclusion_audit.history.review import (
    MISSED,
    NOT_JUDGED,
    ReviewResult,
    order_persistence,
    persistence,
    status_rows,
)
from inclusion_audit.report.charts import TREND_SERIES, TrendChart, trend_chart
from inclusion_audit.report.disclosure import DEFAULT_THRESHOLD, FEW_UNDER, suppress_review
from inclusion_audit.report.render import RenderOptions, environment, html_to_pdf

REVIEW_FORMATS = ("json", "html", "md", "pdf")
REVIEW_FILE_NAMES = {
    "json": "review.json",
    "html": "review.html",
    "md": "review.md",
    "pdf": "review.pdf",
}


@dataclass(frozen=True)
class ReviewContext:
    """Everything a review template may use."""

    title: str = field(metadata={"help": "Report title, from --title or the review period."})
    generated_on: str = field(metadata={"help": "Date the report was written, ISO 8601."})
    tool_version: str = field(metadata={"help": "inclusion-audit version that wrote it."})
    review: dict[str, Any] = field(
        metadata={
            "help": "The review as in the JSON output (docs/review-schema.md), after "
            "disclosure control: hidden groups have null counts and ratios, `suppressed: "
            "true` and a `hidden_reason`."
        }
    )
    missed: list[dict[str, Any]] = field(
        metadata={
            "help": "Pooled groups missed over the whole period (under, possible_under, "
            "few_under), firmest and lowest ratio first; each has `characteristic` plus "
            "the group's fields."
        }
    )
    persistent: list[dict[str, Any]] = field(
        metadata={
            "help": "Every group's persistence (docs/review-schema.md), counted from the "
            "statuses as shown, missed again and again first; each also has "
            "`pooled_status`, `pooled` (the pooled group as shown), `n_withheld` (events "
            "whose report withholds its status) and `n_unsure` (events whose report shows "
            "it missed without saying whether firmly)."
        }
    )
    n_withheld_status: int = field(
        metadata={
            "help": "How many groups' pooled status is `withheld`: where no group is shown "
            "as under-represented across the period, the review says so rather than that "
            "none was."
        }
    )
    n_open: int = field(
        metadata={
            "help": 'How many groups\' "missed again and again" the withheld verdicts leave '
            "open (None in `persistent`)."
        }
    )
    lead: list[dict[str, Any]] = field(
        metadata={
            "help": "The groups missed again and again, as `persistent` items, each with "
            "`event_statuses`: its status as each event's report shows it, one per event of "
            "`review.events` (None where the event did not audit it)."
        }
    )
    trends: list[dict[str, Any]] = field(
        metadata={
            "help": "Per characteristic: `name`, `chart` (inclusion_audit.report.charts."
            "TrendChart, drawn by the `trend_chart` macro in _trend_chart.html) and `rows`, "
            "each a `category` with one `cells` entry (`ratio`, `status`, `hidden_reason`, "
            "`audited`) per period of `review.trend`."
        }
    )
    attribution: list[str] = field(
        metadata={"help": "Licence lines for the Census figures the events were compared with."}
    )
    restricted: bool = field(
        metadata={"help": "True with --internal: exact small counts shown; mark it restricted."}
    )
    suppression_threshold: int = field(
        metadata={"help": "Counts from 1 to this minus 1 are hidden (0 when restricted)."}
    )

    def as_dict(self) -> dict[str, Any]:
        """The context as keyword arguments for ``Template.render``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def build_review_context(
    result: ReviewResult,
    *,
    title: str | None = None,
    suppress_below: int = DEFAULT_THRESHOLD,
    internal: bool = False,
    today: dt.date | None = None,
) -> ReviewContext:
    """Prepare a review report's context, applying disclosure control unless internal."""
    threshold = 0 if internal else suppress_below
    shown = suppress_review(result.to_dict(), threshold)
    pooled = {(c["name"], g["category"]): g for c in shown["pooled"] for g in c["groups"]}
    ordered = order_persistence(
        persistence(status_rows(shown["events"], lambda group: str(group["status"]))), pooled
    )
    persistent = [
        {
            **_as_dict(item),
            **_what_reports_say(item.statuses),
            "pooled_status": pooled[item.characteristic, item.category]["status"],
            "pooled": pooled[item.characteristic, item.category],
        }
        for item in ordered
    ]
    persistent.sort(key=lambda p: p["missed_again_and_again"] is not True)
    flagged = {
        (p["characteristic"], p["category"])
        for p in persistent
        if p["missed_again_and_again"] is True
    }
    missed = sorted(
        (
            {"characteristic": name, **group}
            for (name, _), group in pooled.items()
            if group["status"] in MISSED
        ),
        key=lambda g: (MISSED.index(g["status"]), _ratio_or_one(g)),
    )
    census = any(e["reference"].startswith("Census 2021") for e in shown["events"])
    return ReviewContext(
        title=title or f"Quarterly review: {shown['start']} to {shown['end']}",
        generated_on=(today or dt.date.today()).isoformat(),
        tool_version=result.tool_version,
        review=shown,
        missed=missed,
        persistent=persistent,
        n_withheld_status=sum(1 for g in pooled.values() if g["status"] == "withheld"),
        n_open=sum(1 for p in persistent if p["missed_again_and_again"] is None),
        lead=[
            {**item, "event_statuses": _event_statuses(shown, item)}
            for item in persistent
            if item["missed_again_and_again"] is True
        ],
        trends=_trends(shown, flagged),
        attribution=_attribution(shown["events"]) if census else [],
        restricted=internal,
        suppression_threshold=threshold,
    )


def render_review(
    result: ReviewResult, formats: Sequence[str], options: RenderOptions | None = None
) -> dict[str, bytes]:
    """The review in each of ``formats``; the HTML is rendered once for HTML and PDF."""
    unknown = [f for f in formats if f not in REVIEW_FORMATS]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r}; use one of {', '.join(REVIEW_FORMATS)}")
    options = options or RenderOptions()
    rendered: dict[str, bytes] = {}
    if "json" in formats:
        rendered["json"] = result.to_json().encode("utf-8")
    if any(f in formats for f in ("html", "md", "pdf")):
        context = build_review_context(
            result,
            title=options.title,
            suppress_below=options.suppress_below,
            internal=options.internal,
        ).as_dict()
        env = environment(options.template_dir)
        if "md" in formats:
            rendered["md"] = env.get_template("review.md").render(**context).encode("utf-8")
        if "html" in formats or "pdf" in formats:
            html = env.get_template("review.html").render(**context)
            if "html" in formats:
                rendered["html"] = html.encode("utf-8")
            if "pdf" in formats:
                rendered["pdf"] = html_to_pdf(html, options.template_dir)
    return rendered


def _trends(shown: dict[str, Any], flagged: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Per characteristic: each category's ratio and status in each period, and the chart."""
    periods = [p["label"] for p in shown["trend"]]
    cells: dict[tuple[str, str, str], dict[str, Any]] = {
        (c["name"], g["category"], period["label"]): g
        for period in shown["trend"]
        for c in period["characteristics"]
        for g in c["groups"]
    }
    under = float(shown["settings"]["under_threshold"])
    trends = []
    for characteristic in shown["pooled"]:
        name = characteristic["name"]
        rows = []
        for group in characteristic["groups"]:
            row_cells = []
            for label in periods:
                cell = cells.get((name, group["category"], label))
                row_cells.append(
                    {
                        "audited": cell is not None,
                        "ratio": cell["ratio"] if cell is not None else None,
                        "ratio_low": cell.get("ratio_low") if cell is not None else None,
                        "ratio_high": cell.get("ratio_high") if cell is not None else None,
                        "status": cell["status"] if cell is not None else None,
                        "hidden_reason": cell["hidden_reason"] if cell is not None else None,
                    }
                )
            rows.append({"category": group["category"], "cells": row_cells})

        pooled = {g["category"]: g for g in characteristic["groups"]}
        importance = {
            category: (
                group["status"] not in MISSED,
                (name, category) not in flagged,
                _ratio_or_one(group),
            )
            for category, group in pooled.items()
        }
        drawable = [
            r
            for r in rows
            if any(c["ratio"] is not None or c["ratio_high"] is not None for c in r["cells"])
        ]
        drawn = sorted(drawable, key=lambda row: importance[row["category"]])[:TREND_SERIES]
        chart: TrendChart = trend_chart(
            name,
            periods,
            [
                {
                    "category": r["category"],
                    "ratios": [c["ratio"] for c in r["cells"]],
                    "ranges": [
                        (c["ratio_low"], c["ratio_high"])
                        if c["ratio"] is None and c["ratio_high"] is not None
                        else None
                        for c in r["cells"]
                    ],
                }
                for r in drawn
            ],
            under,
        )
        trends.append({"name": name, "chart": chart, "rows": rows})
    return trends


def _what_reports_say(statuses: Sequence[str]) -> dict[str, Any]:
    """Persistence as the events' own reports let a reader count it.

    A status an event's report withholds could be any verdict, so the longest
    run counts it as a break (the run shown is at least that long), and "missed
    again and again" is True or False only when it is so whatever the withheld
    verdicts are; otherwise None (the report says it cannot tell).

    >>> said = _what_reports_say(["few_under", "withheld", "under", "ok"])
    >>> said["n_withheld"], said["longest_run"], said["missed_again_and_again"]
    (1, 1, True)
    >>> _what_reports_say(["under", "withheld", "withheld"])["missed_again_and_again"] is None
    True
    """
    withheld = sum(s == "withheld" for s in statuses)
    judged = [s for s in statuses if s not in NOT_JUDGED]
    missed = sum(s in MISSED for s in judged)
    longest = run = 0
    for status in statuses:
        if status == "withheld" or (status not in NOT_JUDGED and status not in MISSED):
            run = 0
        elif status in MISSED:
            run += 1
            longest = max(longest, run)
    surely = missed >= 2 and 2 * missed >= len(judged) + withheld
    possibly = missed + withheld >= 2 and 2 * (missed + withheld) >= len(judged) + withheld
    return {
        "n_withheld": withheld,
        "n_unsure": sum(s == FEW_UNDER for s in statuses),
        "longest_run": longest,
        "missed_again_and_again": True if surely else (None if possibly else False),
    }


def _event_statuses(shown: dict[str, Any], item: dict[str, Any]) -> list[str | None]:
    """A group's status as each event's own report shows it (None: not audited there)."""
    statuses: list[str | None] = []
    for event in shown["events"]:
        found = None
        for characteristic in event["characteristics"]:
            if characteristic["name"] != item["characteristic"]:
                continue
            for group in characteristic["groups"]:
                if group["category"] == item["category"]:
                    found = str(group["status"])
        statuses.append(found)
    return statuses


def _ratio_or_one(group: dict[str, Any]) -> float:
    """A group's ratio for ordering: its shown ratio, else the top of its shown band, else 1."""
    if group["ratio"] is not None:
        return float(group["ratio"])
    if group.get("ratio_high") is not None:
        return float(group["ratio_high"])
    return 1.0


def _attribution(events: list[dict[str, Any]]) -> list[str]:
    """The licence lines of the data the reviewed events used: NISRA's only for Northern
    Ireland's areas, the ONS's only for England's and Wales's."""
    from inclusion_audit.reference import census

    codes = [str(code) for event in events for code in event.get("area_codes") or ()]
    northern_ireland = any(code.startswith("N") for code in codes)
    great_britain = any(not code.startswith("N") for code in codes) or not codes
    lines = []
    for line in census.licence_attribution():
        if "NISRA" in line and not northern_ireland:
            continue
        if "Office for National Statistics" in line and not great_britain:
            continue
        lines.append(line)
    return lines


def _as_dict(item: Any) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in fields(item)}
