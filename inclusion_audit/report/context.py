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
from inclusion_audit.report.formatters import fmt_count_band
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
    n_withheld_status: int = field(
        metadata={
            "help": "How many groups show the status `withheld`: where nobody is shown as "
            "missed, the report says that their status is withheld rather than that no "
            "group was missed."
        }
    )
    charts: dict[str, Chart] = field(
        metadata={
            "help": "Share chart geometry per characteristic name (inclusion_audit.report."
            "charts.Chart), drawn by the `share_chart` macro in _chart.html."
        }
    )
    actions: list[dict[str, Any]] = field(
        metadata={
            "help": "Outreach recommendations, best first (priority 1 first), one per action "
            "with `groups` (each [characteristic, category]) it serves: the summary shows the "
            "top three; empty when no group was missed."
        }
    )
    event_summary: list[dict[str, str]] = field(
        default_factory=list,
        metadata={
            "help": "The audited event for page 1, one `label` and `value` per line (date and "
            "time, format and type, recruitment, venue access, support offered); what the "
            'event file did not say reads "not known". Empty without an event file.'
        },
    )

    deprived_fifth: dict[str, Any] | None = field(
        default=None,
        metadata={
            "help": "With a postcode column: participants from the most deprived fifth of "
            "neighbourhoods (deprivation deciles 1 and 2): `index` (IMD 2019 or WIMD 2019), "
            "`count` and `share` (None when a count is hidden), `population_share`. None "
            "without a deprivation comparison."
        },
    )
    wards: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={
            "help": "With a postcode column: one row per ward, highest reach first, then the "
            "wards whose count is hidden (by name, so their place says nothing of the "
            "count): `ward`, `count`, `population_count`, `reach` (participants per 1,000 "
            "residents, None when hidden), `status`, `hidden_reason`, `nobody_came`, "
            "`cannot_tell` (an LSOA of the ward is in the postcode lookup's gap)."
        },
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
        n_withheld_status=sum(
            1
            for characteristic in shown["characteristics"]
            for group in characteristic["groups"]
            if group["status"] == "withheld"
        ),
        charts={
            c["name"]: share_chart(c, threshold)
            for c in [*shown["characteristics"], *shown.get("intersections", [])]
        },
        actions=sorted(shown.get("recommendations", []), key=lambda r: r["priority"]),
        deprived_fifth=_deprived_fifth(shown),
        wards=_wards(shown),
        event_summary=event_summary(shown.get("event")),
    )


def _deprived_fifth(shown: dict[str, Any]) -> dict[str, Any] | None:
    """Participants and residents in the most deprived fifth (deciles 1 and 2), if compared."""
    found = [c for c in shown["characteristics"] if c["name"] == "imd_decile"]
    if not found:
        return None
    groups = {g["category"]: g for g in found[0]["groups"]}
    # A decile with no residents in the area can hold no participant: it adds nothing.
    low = [groups[d] for d in ("1", "2") if d in groups and groups[d]["population_share"] > 0]
    counts = [g["count"] for g in low]
    n_known = found[0]["n_known"]
    count = None if any(c is None for c in counts) or n_known is None else sum(counts)
    return {
        "index": (shown.get("geography") or {}).get("deprivation_index"),
        "count": count,
        "share": count / n_known if count is not None and n_known else None,
        "population_share": sum(g["population_share"] for g in low),
    }


def _wards(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """Ward rows, highest reach first; rows whose count is hidden follow, by name.

    Reach is participants per 1,000 residents: count / population_count × 1,000
    (e.g. 12 participants from a ward of 9,600 residents aged 16+ is 1.25). Hidden
    rows are not sorted in among the others: their place would bound the count.
    """
    found = [c for c in shown["characteristics"] if c["name"] == "ward"]
    if not found:
        return []
    block = shown.get("geography") or {}
    nobody = set(block.get("wards_nobody_came") or ())
    cannot = set(block.get("wards_cannot_tell") or ())
    rows = []
    for group in found[0]["groups"]:
        count, population = group["count"], group["population_count"]
        rows.append(
            {
                "ward": group["category"],
                "count": count,
                # As every table shows a hidden count: "0–4" (small counts and zeros
                # alike) or "withheld".
                "band": fmt_count_band(group),
                "population_count": population,
                "reach": count / population * 1000 if count is not None and population else None,
                "status": group["status"],
                "hidden_reason": group.get("hidden_reason"),
                "nobody_came": group["category"] in nobody,
                "cannot_tell": group["category"] in cannot,
            }
        )
    shown_rows = [r for r in rows if r["reach"] is not None]
    hidden_rows = [r for r in rows if r["reach"] is None]
    return sorted(shown_rows, key=lambda r: (-r["reach"], r["ward"])) + sorted(
        hidden_rows, key=lambda r: r["ward"]
    )


NOT_KNOWN = "not known"
_FORMATS = {
    "in_person": "in person",
    "online": "online",
    "hybrid": "hybrid (in person and online)",
    "postal": "by post",
    "phone": "by phone",
}
_RECRUITMENT = {
    "open_invitation": "open invitation",
    "targeted": "targeted outreach",
    "civic_lottery": "civic lottery (random selection)",
}


def event_summary(event: dict[str, Any] | None) -> list[dict[str, str]]:
    """The event's details as four label and value lines, every unknown saying so.

    >>> rows = event_summary({"date": "2025-03-08", "start_time": "18:00", "interpreters": [],
    ...                       "venue": {"step_free": True, "hearing_loop": False}})
    >>> rows[1]["value"]
    'Saturday 8 March 2025, from 18:00'
    >>> rows[2]["value"]
    'step-free; not: hearing loop; not known: accessible toilet, on a public transport route'
    """
    if event is None:
        return []
    venue = event.get("venue") or {}
    payment = event.get("payment") or {}
    when = NOT_KNOWN
    if event.get("date"):
        day = dt.date.fromisoformat(str(event["date"]))
        when = f"{day:%A} {day.day} {day:%B %Y}"
        if event.get("start_time") and event.get("end_time"):
            when += f", {event['start_time']} to {event['end_time']}"
        elif event.get("start_time"):
            when += f", from {event['start_time']}"
    kind = [
        str(event.get("event_type") or "").replace("_", " ") or "type not known",
        _FORMATS.get(str(event.get("format")), "format not known"),
        _RECRUITMENT.get(str(event.get("recruitment")), "recruitment not known"),
    ]
    title = f"{event['title']} ({', '.join(kind)})" if event.get("title") else ", ".join(kind)
    access = {
        "step-free": venue.get("step_free"),
        "hearing loop": venue.get("hearing_loop"),
        "accessible toilet": venue.get("accessible_toilet"),
        "on a public transport route": venue.get("public_transport"),
    }
    kind_paid = payment.get("kind")
    paid: bool | None = None if kind_paid is None else kind_paid != "none"
    pay = "payment"
    if kind_paid == "voucher":
        pay = "vouchers"
    elif kind_paid == "stipend":
        amount = payment.get("amount")
        pay = f"a stipend of £{amount:g} a day" if amount is not None else "a stipend"
    interpreters, translated = event.get("interpreters"), event.get("translated_materials")
    support = {
        "crèche or childcare": event.get("childcare"),
        "carers welcome": event.get("carers_welcome"),
        _languages("interpreters", interpreters): None
        if interpreters is None
        else bool(interpreters),
        _languages("translated materials", translated): None
        if translated is None
        else bool(translated),
        "BSL": event.get("bsl"),
        "Easy Read": event.get("easy_read"),
        pay: paid,
        "travel paid": event.get("travel_paid"),
        "online option": event.get("online_option"),
        "paper option": event.get("paper_option"),
    }
    rows = [
        ("Event", title),
        ("When", when),
        ("Venue", _offered(access, "not")),
        ("Support", _offered(support, "not offered")),
    ]
    return [{"label": label, "value": value} for label, value in rows]


def _languages(what: str, value: object) -> str:
    if isinstance(value, list) and value:
        return f"{what} ({', '.join(str(v) for v in value)})"
    return what


def _offered(items: dict[str, object], no: str) -> str:
    """ "a, b; not: c; not known: d" from yes, no and unknown values."""
    yes = [name for name, value in items.items() if value is True]
    not_ = [name for name, value in items.items() if value is False]
    unknown = [name for name, value in items.items() if value is None]
    parts = [", ".join(yes)] if yes else []
    if not_:
        parts.append(f"{no}: {', '.join(not_)}")
    if unknown:
        parts.append(f"{NOT_KNOWN}: {', '.join(unknown)}")
    return "; ".join(parts)
