"""The upload form: its fields and choices, what the officer typed, and rendering the page."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from inclusion_audit import __version__
from inclusion_audit.config import DEFAULT_THRESHOLD

YES_NO_FIELDS = {
    "childcare": "A crèche or childcare costs were offered",
    "carers_welcome": "Carers and personal assistants were welcome",
    "venue_step_free": "The venue was step-free",
    "venue_hearing_loop": "The venue had a hearing loop",
    "venue_accessible_toilet": "The venue had an accessible toilet",
    "venue_public_transport": "The venue was near public transport",
    "bsl": "British Sign Language interpretation was offered",
    "easy_read": "Easy Read materials were offered",
    "travel_paid": "Travel costs were paid",
    "online_option": "People could take part online",
    "paper_option": "People could take part on paper",
}


FORMAT_CHOICES = {
    "in_person": "In person",
    "online": "Online",
    "hybrid": "Hybrid",
    "postal": "Postal",
    "phone": "Phone",
}


PAYMENT_CHOICES = {"none": "Nothing", "voucher": "A voucher", "stipend": "A payment"}


EVENT_TYPE_CHOICES = {
    "consultation": "Consultation meeting",
    "citizens_assembly": "Citizens' assembly or panel",
    "participatory_budgeting": "Participatory budgeting",
    "neighbourhood_forum": "Neighbourhood forum",
    "workshop": "Workshop",
    "drop_in": "Drop-in",
    "online_survey": "Online survey",
}


RECRUITMENT_CHOICES = {
    "open_invitation": "Open invitation",
    "targeted": "Targeted outreach",
    "civic_lottery": "Civic lottery (random selection)",
}


LANGUAGE_FIELDS = {
    "interpreters": "Interpreters were offered for",
    "translated_materials": "Materials were translated into",
}
"""Answered with languages separated by commas, "none", or left blank for not known."""


REPORT_CHOICES = {
    "html": "Web page",
    "pdf": "PDF",
    "json": "JSON (exact counts)",
    "md": "Markdown",
    "csv": "CSV of groups",
}


@dataclass
class AuditForm:
    """What the form or API asked for, as text, before the library checks it."""

    area: str = ""
    eligible_age: str = ""
    title: str = ""
    event: dict[str, str] = field(default_factory=dict)
    report_format: str = "html"
    suppress_below: str = str(DEFAULT_THRESHOLD)
    internal: bool = False
    questions: str = ""
    """Closed questions' column headings, one per line (``audit --question``)."""
    weight_by: str = ""
    """Characteristics to re-weight the answers on, e.g. ``age, sex`` (``--weight-by``)."""
    intersect: str = ""
    """Pairs of characteristics to audit crossed, e.g. ``age,sex``; pairs separated by
    semicolons (``--intersect``)."""

    def question_columns(self) -> list[str]:
        """The questions, one per line, blank lines left out.

        >>> AuditForm(questions=" Do you support the scheme? \\n\\nVote ").question_columns()
        ['Do you support the scheme?', 'Vote']
        """
        return [line.strip() for line in self.questions.splitlines() if line.strip()]

    def weight_names(self) -> tuple[str, ...]:
        """``age, sex`` -> ``("age", "sex")``."""
        return tuple(n.strip() for n in re.split(r"[,;\n]", self.weight_by) if n.strip())

    def intersect_pairs(self) -> list[str]:
        """``age,sex; sex,ethnic_group`` -> ``["age,sex", "sex,ethnic_group"]``."""
        return [p.strip() for p in re.split(r"[;\n]", self.intersect) if p.strip()]

    def event_details(self) -> dict[str, Any] | None:
        """The event fields as the event-file loader expects them, or None if all blank."""
        data: dict[str, Any] = {}
        venue: dict[str, Any] = {}
        for key, value in self.event.items():
            value = value.strip()
            if not value:
                continue
            if key in LANGUAGE_FIELDS:
                languages = [part.strip() for part in value.split(",") if part.strip()]
                data[key] = [] if [v.casefold() for v in languages] == ["none"] else languages
            elif key in YES_NO_FIELDS:
                if value == "unknown":
                    continue
                flag = value == "yes"
                if key.startswith("venue_"):
                    venue[key.removeprefix("venue_")] = flag
                else:
                    data[key] = flag
            else:
                data[key] = value
        if venue:
            data["venue"] = venue
        return data or None


_EVENT_TEXT_FIELDS = (
    "date",
    "start_time",
    "end_time",
    "format",
    "payment",
    "event_type",
    "recruitment",
    *LANGUAGE_FIELDS,
)


def render_form(form: AuditForm, errors: list[str], max_upload_mb: int) -> str:
    from inclusion_audit.reference import census
    from inclusion_audit.report.render import environment

    areas = [a.name for a in census.list_areas(["country", "region", "ltla"])]
    template = environment().get_template("service/form.html")
    return template.render(
        form=form,
        errors=errors,
        areas=sorted(set(areas)),
        yes_no_fields=YES_NO_FIELDS,
        format_choices=FORMAT_CHOICES,
        payment_choices=PAYMENT_CHOICES,
        event_type_choices=EVENT_TYPE_CHOICES,
        recruitment_choices=RECRUITMENT_CHOICES,
        language_fields=LANGUAGE_FIELDS,
        report_choices=REPORT_CHOICES,
        event_text_fields=_EVENT_TEXT_FIELDS,
        tool_version=__version__,
        today=dt.date.today().isoformat(),
        max_upload_mb=max_upload_mb,
    )
