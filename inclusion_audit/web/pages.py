"""The officer's pages: the upload form and the report it returns (``GET /``, ``POST /audit``)."""

from __future__ import annotations

import base64
import logging
import math
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from inclusion_audit.config import DEFAULT_THRESHOLD
from inclusion_audit.web.audits import (
    FIXABLE,
    ColumnsToChooseError,
    audit_saved,
    audit_uploads,
    error_kind,
    failure,
    report_response,
    request_pool,
    unknown_answers,
)
from inclusion_audit.web.fixup import (
    fixup_material,
    mapping_toml,
    read_choices,
    read_column_choices,
    record_for,
    render_fixup,
    restore_files,
    restore_form,
)
from inclusion_audit.web.forms import AuditForm, render_form
from inclusion_audit.web.kept import KeptUploads
from inclusion_audit.web.scratch import Scratch
from inclusion_audit.web.settings import (
    ServiceSettings,
    request_kept,
    request_scratch,
    service_settings,
)
from inclusion_audit.web.uploads import Uploads, request_uploads
from inclusion_audit.web.workers import WorkerPool

logger = logging.getLogger("inclusion_audit.web")
router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def form_page(
    settings: Annotated[ServiceSettings, Depends(service_settings)],
) -> HTMLResponse:
    return HTMLResponse(render_form(AuditForm(), [], settings.max_upload_mb))


@router.post("/audit", include_in_schema=False)
async def audit_form(
    request: Request,
    settings: Annotated[ServiceSettings, Depends(service_settings)],
    scratch: Annotated[Scratch, Depends(request_scratch)],
    pool: Annotated[WorkerPool, Depends(request_pool)],
    kept: Annotated[KeptUploads, Depends(request_kept)],
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
    questions: Annotated[str, Form()] = "",
    weight_by: Annotated[str, Form()] = "",
    intersect: Annotated[str, Form()] = "",
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
        questions=questions,
        weight_by=weight_by,
        intersect=intersect,
    )
    files = {
        "register": register_file,
        "reference": reference,
        "targets": targets,
        "mapping": mapping,
        "partners": partners,
        "event": event_file,
    }
    saving = settings.store is not None and form.report_format == "html"
    result_json: list[bytes] | None = [] if saving else None
    with request_uploads(scratch, settings.max_upload_mb) as uploads:
        try:
            try:
                body, file_format = await audit_uploads(
                    uploads, files, form, pool, result_json, ask_columns=True
                )
            except Exception as error:
                if error_kind(error) not in FIXABLE:
                    raise
                page = await _keep_for_fixup(uploads, form, unknown_answers(error), pool, kept)
                if page is not None:
                    return page
                if error_kind(error) != ColumnsToChooseError.__name__:
                    raise
                # The columns could not be kept to ask about: the report, as without asking.
                saved: dict[str, Path | None] = dict(uploads.paths)
                body, file_format = await audit_saved(saved, form, pool, result_json)
        except Exception as error:
            message, status = failure(error, uploads)
            return HTMLResponse(
                render_form(form, [message], settings.max_upload_mb), status_code=status
            )
    if result_json:
        body = await _with_save_form(request, settings, body, result_json[0], form)
    return report_response(body, file_format, inline=file_format == "html")


async def _with_save_form(
    request: Request, settings: ServiceSettings, body: bytes, result: bytes, form: AuditForm
) -> bytes:
    """The report page with a "save to the history" form (``serve --store``)."""
    import json

    from inclusion_audit.web.history_pages import request_saves, save_form

    saves = request_saves(request)
    token = await run_in_threadpool(saves.keep, {"result": json.loads(result)})
    name = form.title.strip()
    date = form.event.get("date", "").strip()
    text = body.decode("utf-8")
    at = text.rfind("</body>")
    at = at if at >= 0 else len(text)
    return (text[:at] + save_form(request, settings, token, name, date) + text[at:]).encode("utf-8")


async def _keep_for_fixup(
    uploads: Uploads,
    form: AuditForm,
    unknown: list[dict[str, Any]],
    pool: WorkerPool,
    kept: KeptUploads,
) -> HTMLResponse | None:
    """Keep the characteristic columns (encrypted) and show the fix-up page; None if the
    register cannot be kept, or there is nothing to ask (then the error is shown as before)."""
    paths = uploads.paths
    try:
        material = await run_in_threadpool(
            pool.run,
            fixup_material,
            paths["register"],
            [a.strip() for a in form.area.split(";") if a.strip()],
            form.eligible_age.strip() or None,
            paths.get("reference"),
            paths.get("targets"),
            paths.get("mapping"),
            form.question_columns(),
        )
        if not unknown and not material["columns"]:
            return None
        record = record_for(form, material, dict(paths), unknown)
        token = await run_in_threadpool(kept.keep, record)
    except Exception as error:  # keeping is a convenience: fall back to the error
        logger.error("keeping an upload for the fix-up page failed: %s", type(error).__name__)
        return None
    return HTMLResponse(render_fixup(token, record, minutes=_minutes(kept)))


def _minutes(kept: KeptUploads) -> int:
    """What the page promises: the lifetime rounded up to whole minutes (30: the sweeper
    deletes a kept upload by then; it can be used for a minute less)."""
    return max(math.ceil((kept.lifetime + 60) / 60), 1)


@router.post("/fixup", include_in_schema=False)
async def fixup(
    request: Request,
    settings: Annotated[ServiceSettings, Depends(service_settings)],
    scratch: Annotated[Scratch, Depends(request_scratch)],
    pool: Annotated[WorkerPool, Depends(request_pool)],
    kept: Annotated[KeptUploads, Depends(request_kept)],
) -> Response:
    """The officer's choices: the report (and the kept upload deleted), or the mapping file."""
    fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    token = fields.get("token", "")
    record = await run_in_threadpool(kept.open, token)
    if record is None:
        message = (
            "Your file is no longer kept: the answers were not chosen within "
            f"{_minutes(kept)} minutes, or the report was already made. Upload it again."
        )
        return HTMLResponse(
            render_form(AuditForm(), [message], settings.max_upload_mb), status_code=410
        )
    unknown = record["unknown"]
    columns, errors = read_column_choices(record.get("columns", []), fields)
    choices, answer_errors = read_choices(unknown, fields, columns)
    errors.update(answer_errors)
    minutes = _minutes(kept)
    if errors:
        page = render_fixup(token, record, fields=fields, errors=errors, minutes=minutes)
        return HTMLResponse(page, status_code=400)
    uploaded = record["files"].get("mapping")
    old_mapping = base64.b64decode(uploaded["data"]) if uploaded else None
    toml = mapping_toml(unknown, choices, old_mapping, columns)
    if fields.get("action") == "mapping":
        return Response(
            toml,
            media_type="application/toml; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="mapping.toml"'},
        )
    form = restore_form(record)
    # The same report as a direct audit's: with a store, the "save to the history" box.
    saving = settings.store is not None and form.report_format == "html"
    result_json: list[bytes] | None = [] if saving else None
    with request_uploads(scratch, settings.max_upload_mb) as uploads:
        try:
            paths = restore_files(record, uploads.folder)
            mapping_folder = uploads.folder / "fixup-mapping"
            mapping_folder.mkdir()
            mapping_path = paths["mapping"] = mapping_folder / "mapping.toml"
            mapping_path.write_text(toml, encoding="utf-8")
            body, file_format = await audit_saved(
                paths, form, pool, result_json, precounted=record.get("precounted")
            )
        except Exception as error:
            known = {(u["column"], u["characteristic"], u["answer"]) for u in unknown}
            new = [
                u
                for u in unknown_answers(error)
                if (u["column"], u["characteristic"], u["answer"]) not in known
            ]
            if new:
                # The chosen columns hold answers of their own to decide: ask about them.
                record["unknown"] = [*unknown, *new]
                fresh = await run_in_threadpool(kept.replace, token, record)
                if fresh is not None:
                    notice = (
                        f"The columns you chose hold {len(new)} answer"
                        f"{'s' if len(new) != 1 else ''} that "
                        f"{'match' if len(new) != 1 else 'matches'} no category: choose what "
                        f"{'they mean' if len(new) != 1 else 'it means'}, below."
                    )
                    return HTMLResponse(
                        render_fixup(fresh, record, fields=fields, notice=notice, minutes=minutes)
                    )
            message, status = failure(error, uploads)
            page = render_fixup(
                token,
                record,
                fields=fields,
                errors={_first_field(record): message},
                minutes=minutes,
            )
            return HTMLResponse(page, status_code=status)
    kept.discard(token)  # the report is made: nothing is kept any longer
    if result_json:
        body = await _with_save_form(request, settings, body, result_json[0], form)
    return report_response(body, file_format, inline=file_format == "html")


def _first_field(record: dict[str, Any]) -> str:
    """Where an error about the whole page links to: its first field."""
    return "column-0" if record.get("columns") else "answer-0"
