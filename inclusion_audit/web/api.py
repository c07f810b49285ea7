"""The JSON API for systems: ``/api/audit``, ``/api/check``, ``/api/areas``, ``/api/health``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from inclusion_audit import __version__
from inclusion_audit.config import DEFAULT_THRESHOLD
from inclusion_audit.errors import InputError
from inclusion_audit.ingest.readers import CSV_SUFFIXES
from inclusion_audit.result import UNREADABLE_SHARE
from inclusion_audit.web.audits import (
    audit_uploads,
    error_kind,
    failure,
    report_response,
    request_pool,
    unknown_answers,
)
from inclusion_audit.web.forms import AuditForm
from inclusion_audit.web.scratch import Scratch
from inclusion_audit.web.settings import ServiceSettings, request_scratch, service_settings
from inclusion_audit.web.uploads import (
    REGISTER_SUFFIXES,
    UploadError,
    Uploads,
    request_uploads,
)
from inclusion_audit.web.workers import WorkerPool

logger = logging.getLogger("inclusion_audit.web")
router = APIRouter()


@router.post("/api/audit", tags=["audit"])
async def audit_api(
    settings: Annotated[ServiceSettings, Depends(service_settings)],
    scratch: Annotated[Scratch, Depends(request_scratch)],
    pool: Annotated[WorkerPool, Depends(request_pool)],
    register_file: Annotated[
        UploadFile, File(alias="register", description="The participant register.")
    ],
    area: Annotated[
        list[str] | None, Form(description="Census 2021 area code or name; repeat.")
    ] = None,
    eligible_age: Annotated[str, Form(description="e.g. 16+, 18+, 16-24.")] = "",
    reference: Annotated[
        UploadFile | None, File(description="characteristic,category,count")
    ] = None,
    targets: Annotated[UploadFile | None, File(description="Quotas: category,name,min,max")] = None,
    mapping: Annotated[UploadFile | None, File(description="Mapping file (.toml)")] = None,
    partners: Annotated[UploadFile | None, File(description="Partners CSV")] = None,
    event: Annotated[
        UploadFile | None, File(description="Event details (.yaml/.toml/.json)")
    ] = None,
    title: Annotated[str, Form()] = "",
    question: Annotated[
        list[str] | None,
        Form(
            description="A closed question's column (a vote, support or oppose): its answers "
            "raw and re-weighted to the population, as `audit --question`; repeat. Needs "
            "weight_by."
        ),
    ] = None,
    weight_by: Annotated[
        list[str] | None,
        Form(
            description="Characteristics to re-weight the questions' answers on, e.g. age,sex "
            "(repeat, or separate with commas), as `audit --weight-by`."
        ),
    ] = None,
    intersect: Annotated[
        list[str] | None,
        Form(
            description="A pair of characteristics to audit crossed, e.g. age,sex; repeat for "
            "more pairs, as `audit --intersect`."
        ),
    ] = None,
    report_format: Annotated[
        str, Query(alias="format", description="json, html, md, pdf or csv")
    ] = "json",
    suppress_below: Annotated[int, Query(ge=0)] = DEFAULT_THRESHOLD,
    internal: Annotated[bool, Query()] = False,
) -> Response:
    """Audit a register; the result as JSON (exact counts) or a report."""
    form = AuditForm(
        area=";".join(area or []),
        eligible_age=eligible_age,
        title=title,
        report_format=report_format,
        suppress_below=str(suppress_below),
        internal=internal,
        questions="\n".join(question or []),
        weight_by=",".join(weight_by or []),
        intersect=";".join(intersect or []),
    )
    files = {
        "register": register_file,
        "reference": reference,
        "targets": targets,
        "mapping": mapping,
        "partners": partners,
        "event": event,
    }
    with request_uploads(scratch, settings.max_upload_mb) as uploads:
        try:
            body, file_format = await audit_uploads(uploads, files, form, pool)
        except Exception as error:
            message, status = failure(error, uploads)
            answer: dict[str, Any] = {"error": message}
            if unknown := unknown_answers(error):
                # Each answer no category matched, so a system can build its mapping.
                answer["unknown_answers"] = unknown
            # And each column no rule recognises that could hold a characteristic.
            stopped = unknown or error_kind(error) == "NothingToAuditError"
            if stopped and (columns := await _columns_to_ask(uploads, form, pool)):
                answer["unrecognised_columns"] = columns
            return JSONResponse(answer, status_code=status)
    return report_response(body, file_format, inline=True)


async def _columns_to_ask(uploads: Uploads, form: AuditForm, pool: WorkerPool) -> list[Any]:
    """The unrecognised columns a mapping could name, with suggestions; [] if none, or
    when they cannot be worked out (the error is answered all the same)."""
    from inclusion_audit.web.fixup import columns_to_ask

    paths = uploads.paths
    try:
        columns: list[Any] = await run_in_threadpool(
            pool.run,
            columns_to_ask,
            paths["register"],
            [a.strip() for a in form.area.split(";") if a.strip()],
            form.eligible_age.strip() or None,
            paths.get("reference"),
            paths.get("targets"),
            paths.get("mapping"),
            form.question_columns(),
        )
    except Exception as error:
        logger.error("suggesting columns for the API failed: %s", type(error).__name__)
        return []
    return columns


@router.post("/api/check", tags=["check"])
async def check_api(
    settings: Annotated[ServiceSettings, Depends(service_settings)],
    scratch: Annotated[Scratch, Depends(request_scratch)],
    pool: Annotated[WorkerPool, Depends(request_pool)],
    register_file: Annotated[
        UploadFile, File(alias="register", description="The participant register.")
    ],
    area: Annotated[list[str] | None, Form()] = None,
    eligible_age: Annotated[str, Form()] = "",
    reference: Annotated[UploadFile | None, File()] = None,
    mapping: Annotated[UploadFile | None, File()] = None,
    require: Annotated[list[str] | None, Form()] = None,
    min_rows: Annotated[int, Form()] = 1,
    max_unknown: Annotated[float | None, Form()] = None,
    max_unreadable: Annotated[float, Form()] = UNREADABLE_SHARE,
    id_column: Annotated[str, Form()] = "",
    event_column: Annotated[str, Form()] = "",
) -> JSONResponse:
    """Check a register is fit to audit, with Great Expectations (``check``'s JSON)."""
    from inclusion_audit.check.suite import CheckRules, split_names
    from inclusion_audit.reference.sources import ENGLAND_AND_WALES

    with request_uploads(scratch, settings.max_upload_mb) as uploads:
        try:
            register_path = await uploads.save("register", register_file, REGISTER_SUFFIXES)
            if register_path is None:
                raise UploadError("choose a register file to check.")
            reference_path = await uploads.save("reference", reference, CSV_SUFFIXES)
            mapping_path = await uploads.save("mapping", mapping, frozenset({".toml"}))
            areas = [a for a in (area or []) if a.strip()]
            if not areas and reference_path is None:
                areas = [ENGLAND_AND_WALES]  # as on the command line
            rules = CheckRules(
                min_rows=min_rows,
                required=split_names(require or []),
                max_unknown=max_unknown,
                max_unreadable=max_unreadable,
                id_column=id_column or None,
                event_column=event_column or None,
            )
            result = await run_in_threadpool(
                pool.run,
                _check_saved,
                register_path,
                reference_path,
                mapping_path,
                areas,
                eligible_age.strip() or None,
                rules,
            )
        except Exception as error:
            message, status = failure(error, uploads)
            return JSONResponse({"error": message}, status_code=status)
    return JSONResponse(result)


def _check_saved(
    register: Path,
    reference: Path | None,
    mapping: Path | None,
    areas: list[str],
    eligible_age: str | None,
    rules: Any,
) -> dict[str, Any]:
    """``check`` on saved uploads, in an audit process: its JSON form."""
    from inclusion_audit.check.suite import check_register
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference

    source, _ = choose_reference(areas, eligible_age, reference)
    result = check_register(
        read_table(register),
        source,
        rules,
        mapping=read_mapping(mapping) if mapping else None,
    )
    # The upload's path names the service's private folder: the file name is enough.
    data: dict[str, Any] = {**result.to_dict(), "path": result.file}
    return data


@router.get("/api/areas", tags=["reference"])
def areas_api(
    area_type: Annotated[
        list[str] | None,
        Query(alias="type", description="ltla, region, country, ward, lgd, ltla23"),
    ] = None,
) -> JSONResponse:
    """Every Census area the service knows, with its code, type and population."""
    from inclusion_audit.reference import census

    try:
        found = census.list_areas(area_type or None)
    except InputError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse(
        [
            {"code": a.code, "name": a.name, "type": a.type, "population": a.population}
            for a in found
        ]
    )


@router.get("/api/health", tags=["service"])
def health() -> dict[str, str]:
    """Liveness for a load balancer: the version, and that reference data loads."""
    from inclusion_audit.reference import census

    census.reference_manifest()
    return {"status": "ok", "version": __version__}
