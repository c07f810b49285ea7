"""The officer's pages: the upload form and the report it returns (``GET /``, ``POST /audit``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response

from inclusion_audit.config import DEFAULT_THRESHOLD
from inclusion_audit.web.audits import (
    audit_uploads,
    failure,
    report_response,
    request_pool,
)
from inclusion_audit.web.forms import AuditForm, render_form
from inclusion_audit.web.scratch import Scratch
from inclusion_audit.web.settings import ServiceSettings, request_scratch, service_settings
from inclusion_audit.web.uploads import (
    request_uploads,
)
from inclusion_audit.web.workers import WorkerPool

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def form_page(
    settings: Annotated[ServiceSettings, Depends(service_settings)],
) -> HTMLResponse:
    return HTMLResponse(render_form(AuditForm(), [], settings.max_upload_mb))


@router.post("/audit", include_in_schema=False)
async def audit_form(
    settings: Annotated[ServiceSettings, Depends(service_settings)],
    scratch: Annotated[Scratch, Depends(request_scratch)],
    pool: Annotated[WorkerPool, Depends(request_pool)],
    # Named apart from its field: pydantic's models have a "register" method.
    register_file: Annotated[UploadFile | None, File(alias="register")] = None,
    area: Annotated[str, Form()] = "",
    eligible_age: Annotated[str, Form()] = "",
    reference: Annotated[UploadFile | None, File()] = None,
    targets: Annotated[UploadFile | None, File()] = None,
    mapping: Annotated[UploadFile | None, File()] = None,
    partners: Annotated[UploadFile | None, File()] = None,
    event_file: Annotated[UploadFile | None, File(alias="event")] = None,
    title: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    start_time: Annotated[str, Form()] = "",
    end_time: Annotated[str, Form()] = "",
    event_format: Annotated[str, Form(alias="format")] = "",
    payment: Annotated[str, Form()] = "",
    event_type: Annotated[str, Form()] = "",
    recruitment: Annotated[str, Form()] = "",
    interpreters: Annotated[str, Form()] = "",
    translated_materials: Annotated[str, Form()] = "",
    childcare: Annotated[str, Form()] = "",
    carers_welcome: Annotated[str, Form()] = "",
    venue_step_free: Annotated[str, Form()] = "",
    venue_hearing_loop: Annotated[str, Form()] = "",
    venue_accessible_toilet: Annotated[str, Form()] = "",
    venue_public_transport: Annotated[str, Form()] = "",
    bsl: Annotated[str, Form()] = "",
    easy_read: Annotated[str, Form()] = "",
    travel_paid: Annotated[str, Form()] = "",
    online_option: Annotated[str, Form()] = "",
    paper_option: Annotated[str, Form()] = "",
    report_format: Annotated[str, Form()] = "html",
    suppress_below: Annotated[str, Form()] = str(DEFAULT_THRESHOLD),
    internal: Annotated[str, Form()] = "",
) -> Response:
    event = {
        "date": date,
        "start_time": start_time,
        "end_time": end_time,
        "format": event_format,
        "payment": payment,
        "event_type": event_type,
        "recruitment": recruitment,
        "interpreters": interpreters,
        "translated_materials": translated_materials,
        "childcare": childcare,
        "carers_welcome": carers_welcome,
        "venue_step_free": venue_step_free,
        "venue_hearing_loop": venue_hearing_loop,
        "venue_accessible_toilet": venue_accessible_toilet,
        "venue_public_transport": venue_public_transport,
        "bsl": bsl,
        "easy_read": easy_read,
        "travel_paid": travel_paid,
        "online_option": online_option,
        "paper_option": paper_option,
    }
    form = AuditForm(
        area=area,
        eligible_age=eligible_age,
        title=title,
        event=event,
        report_format=report_format,
        suppress_below=suppress_below,
        internal=internal == "yes",
    )
    files = {
        "register": register_file,
        "reference": reference,
        "targets": targets,
        "mapping": mapping,
        "partners": partners,
        "event": event_file,
    }
    with request_uploads(scratch, settings.max_upload_mb) as uploads:
        try:
            body, file_format = await audit_uploads(uploads, files, form, pool)
        except Exception as error:
            message, status = failure(error, uploads)
            return HTMLResponse(
                render_form(form, [message], settings.max_upload_mb), status_code=status
            )
    return report_response(body, file_format, inline=file_format == "html")
