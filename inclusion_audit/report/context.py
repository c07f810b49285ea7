"""The template context: the documented contract between the tool and templates.

Councils override templates (``--template-dir``) and rely on these names; each
field is described in ``docs/template-context.md`` and a test keeps the two in
step. Add fields freely; rename or remove one only with a schema version bump.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from inclusion_audit.report.charts import Chart, share_chart
from inclusion_audit.report.disclosure import DEFAULT_THRESHOLD, FEW_UNDER, suppress_small_counts
from inclusion_audit.result import AuditResult, Status


@dataclass(frozen=True)
class ReportContext:
    """Everything a report template may use."""

    title: str = field(metadata={"help": "Report title, from --title or the register file name."})
    generated_on: str = field(metadata={"help": "Date the report was written, ISO 8601."})
    tool_version: str = field(metadata={"help": "inclusion-audit version that wrote it."})
    result: dict[str, Any] = field(
        metadata={
            "help": "The audit result as in the JSON output (docs/result-schema.md), after "
            "disclosure control: suppressed groups have null counts and shares and "
            "`suppressed: true`."
        }
    )
    missed: list[dict[str, Any]] = field(
        metadata={
            "help": "Under-represented groups (status under, then possible_under, then "
            "few_under), largest shortfall first; each has `characteristic` plus the "
            "group's fields."
        }
    )
    restricted: bool = field(
        metadata={"help": "True with --internal: exact small counts shown; mark it restricted."}
    )
    suppression_threshold: int = field(
        metadata={"help": "Counts from 1 to this minus 1 are hidden (0 when restricted)."}
    )
    charts: dict[str, Chart] = field(
        metadata={
            "help": "Share chart geometry per characteristic name (inclusion_audit.report."
            "charts.Chart), drawn by the `share_chart` macro in _chart.html."
        }
    )
    actions: list[dict[str, Any]] = field(
        metadata={
            "help": "Outreach recommendations, best first (priority 1 first): the summary "
            "shows the top three; empty when no group was missed."
        }
    )

    def as_dict(self) -> dict[str, Any]:
        """The context as keyword arguments for ``Template.render``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def build_context(
    result: AuditResult,
    *,
    title: str | None = None,
    suppress_below: int = DEFAULT_THRESHOLD,
    internal: bool = False,
    today: dt.date | None = None,
) -> ReportContext:
    """Prepare the context for a report, applying disclosure control unless internal."""
    threshold = 0 if internal else suppress_below
    shown = suppress_small_counts(result.to_dict(), threshold)
    missed = []
    for status in (Status.UNDER, Status.POSSIBLE_UNDER, FEW_UNDER):
        in_status = [
            {"characteristic": characteristic["name"], **group}
            for characteristic in shown["characteristics"]
            for group in characteristic["groups"]
            if group["status"] == status
        ]
        missed.extend(sorted(in_status, key=lambda g: -(g["shortfall"] or 0)))
    return ReportContext(
        title=title or f"Who took part: {result.register.file}",
        generated_on=(today or dt.date.today()).isoformat(),
        tool_version=result.tool_version,
        result=shown,
        missed=missed,
        restricted=internal,
        suppression_threshold=threshold,
        charts={c["name"]: share_chart(c, threshold) for c in shown["characteristics"]},
        actions=sorted(shown.get("recommendations", []), key=lambda r: r["priority"]),
    )
