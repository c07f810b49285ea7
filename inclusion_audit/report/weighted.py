"""Weighted results as JSON, Markdown, HTML, PDF or CSV: raw and weighted, side by side.

JSON keeps exact counts (for the team that holds the register, as the audit's JSON
does); Markdown, HTML, PDF and CSV are for sharing and pass through
``disclosure.suppress_weighted_results`` first.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from inclusion_audit.report.disclosure import suppress_weighted_results
from inclusion_audit.result import WeightedResults

CSV_COLUMNS = (
    "question",
    "answer",
    "count",
    "share",
    "share_ci_low",
    "share_ci_high",
    "weighted_share",
    "weighted_ci_low",
    "weighted_ci_high",
    "differs",
    "suppressed",
)


def weighted_results_data(results: WeightedResults, threshold: int) -> dict[str, Any]:
    """The results as plain data; small counts hidden unless ``threshold`` is 0."""
    data = results.to_dict()
    return suppress_weighted_results(data, threshold) if threshold > 0 else data


def render_weighted_results(results: WeightedResults, fmt: str, threshold: int) -> bytes:
    """``json`` (exact counts), ``md``, ``html``, ``pdf`` or ``csv`` (disclosure applied).

    The PDF is the HTML page typeset by WeasyPrint (imported only then), as the
    audit's PDF is.
    """
    if fmt == "json":
        text = json.dumps(results.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        return text.encode("utf-8")
    data = weighted_results_data(results, threshold)
    if fmt == "csv":
        return _csv(data).encode("utf-8")
    if fmt == "md":
        return markdown(data, threshold).encode("utf-8")
    if fmt == "html":
        return _html(data, threshold).encode("utf-8")
    if fmt == "pdf":
        from inclusion_audit.report.render import html_to_pdf

        return html_to_pdf(_html(data, threshold))
    raise ValueError(f"unknown format {fmt!r}")


def _html(data: dict[str, Any], threshold: int) -> str:
    import datetime as dt

    from inclusion_audit import __version__
    from inclusion_audit.report.render import environment

    template = environment().get_template("weighted_results.html")
    text: str = template.render(
        title="What a representative room would have said",
        tool_version=__version__,
        generated_on=dt.date.today().isoformat(),
        restricted=threshold == 0,
        suppression_threshold=threshold,
        result={"reference": data["reference"], "characteristics": [], "weighted_results": data},
    )
    return text


def _csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for question in data["questions"]:
        for answer in question["answers"]:
            row = {"question": question["question"], **answer}
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return out.getvalue()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _interval(low: float | None, high: float | None) -> str:
    return "–" if low is None or high is None else f"{100 * low:.0f}–{100 * high:.0f}%"


def _count(answer: dict[str, Any], threshold: int) -> str:
    if answer.get("suppressed") == "few":
        return f"fewer than {threshold}"
    if answer.get("suppressed") == "withheld":
        return "withheld"
    return str(answer["count"])


def rows(data: dict[str, Any], threshold: int) -> list[dict[str, Any]]:
    """Per question, the table rows a report shows (text already formatted)."""
    tables = []
    for question in data["questions"]:
        tables.append(
            {
                "question": question["question"],
                "n_answered": question["n_answered"],
                "design_effect": question["design_effect"],
                "effective_sample_size": question["effective_sample_size"],
                "answers": [
                    {
                        "answer": a["answer"],
                        "count": _count(a, threshold),
                        "share": _pct(a["share"]),
                        "share_interval": _interval(
                            a["share_design_ci_low"], a["share_design_ci_high"]
                        ),
                        "weighted": _pct(a["weighted_share"]),
                        "weighted_interval": _interval(a["weighted_ci_low"], a["weighted_ci_high"]),
                    }
                    for a in question["answers"]
                ],
                "sentences": [a["sentence"] for a in question["answers"] if a.get("sentence")],
                "hidden": any(a.get("suppressed") for a in question["answers"]),
                "weighted_withheld": bool(question.get("weighted_withheld")),
            }
        )
    return tables


def markdown(data: dict[str, Any], threshold: int, heading: str = "#") -> str:
    """The results as a Markdown section."""
    if data.get("diagnostics_withheld"):
        how = (
            "A group weighted on has a small count, which the weights' design effect, "
            "intervals and warnings would give away, so they are withheld: only the "
            "weighted shares are shown."
        )
    else:
        how = (
            f"Design effect {data['design_effect']:.2f}: the weighted results are worth about "
            f"{data['effective_sample_size']:.0f} participants. Intervals are "
            f"{100 * data['confidence']:.0f}% Wilson intervals at that effective size."
        )
    lines = [
        f"{heading} Results re-weighted to the population",
        "",
        f"Weighted to {data['reference']} by {', '.join(data['characteristics'])} (raking). " + how,
        "",
        data["caveat"],
        "",
    ]
    for warning in data["warnings"]:
        lines.append(f"- Warning: {warning}")
    if data["warnings"]:
        lines.append("")
    for table in rows(data, threshold):
        lines += [
            f"{heading}# {table['question']}",
            "",
            "| answer | participants | raw share | raw interval (weights' design effect) "
            "| weighted share | weighted interval |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for a in table["answers"]:
            lines.append(
                f"| {_md(a['answer'])} | {a['count']} | {a['share']} | {a['share_interval']} "
                f"| {a['weighted']} | {a['weighted_interval']} |"
            )
        lines.append("")
        lines += [_conclusion(table), ""]
    return "\n".join(lines)


def _conclusion(table: dict[str, Any]) -> str:
    if table["sentences"]:
        return " ".join(table["sentences"])
    if table.get("weighted_withheld"):
        return (
            "The weighted shares are withheld: few participants gave one of these answers "
            "within a group weighted on, and the weighted shares would give that number away."
        )
    if table["hidden"]:
        return "Answers given by few participants are hidden, with what would reveal them."
    return (
        "Every weighted share lies within its raw share's interval: weighting to the "
        "population does not change this result materially."
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
