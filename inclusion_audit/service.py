"""The web service: an upload form for engagement officers and a JSON API for systems.

It only parses requests, calls the library and formats responses, exactly as
the command line does, so a report made here is the report ``audit`` makes.

It keeps nothing. A request's uploads go to a private temporary folder that is
deleted before the response is sent; nothing is logged about the files, so the
service can run as several stateless workers behind a load balancer. Reports
hide small counts unless the form asks for an internal report, as on the
command line; the JSON API returns the exact-count result, like ``--format json``.

Routes:

- ``GET /``: the form; ``POST /audit``: the report (web page, or a download).
- ``POST /api/audit``: multipart upload in, the audit as JSON (or ``format``).
- ``POST /api/check``: multipart upload in, ``check``'s JSON (status 200 either way:
  the ``success`` field says whether every expectation was met).
- ``GET /api/areas``, ``GET /api/health``, ``GET /openapi.json``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import tempfile
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from . import __version__
from .disclosure import DEFAULT_THRESHOLD
from .errors import InputError
from .readers import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES

logger = logging.getLogger(__name__)

REGISTER_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES
DEFAULT_MAX_UPLOAD_MB = 200
_CHUNK = 1024 * 1024
_MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
}
_HEADERS = {
    # Reports describe special category data: never cache them anywhere.
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # No script at all; the report's CSS and charts are inline.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
# WeasyPrint is not documented as thread-safe; PDFs are rare enough to take turns.
_PDF_LOCK = threading.Lock()

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
REPORT_CHOICES = {
    "html": "Web page",
    "pdf": "PDF",
    "json": "JSON (exact counts)",
    "md": "Markdown",
    "csv": "CSV of groups",
}


class UploadTooLargeError(InputError):
    """An upload is bigger than the service accepts."""


class UploadError(InputError):
    """An upload is missing or of a type the service cannot read."""


@dataclass(frozen=True)
class ServiceSettings:
    """How the service is run; ``from_env`` reads ``INCLUSION_AUDIT_*`` variables."""

    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB

    @classmethod
    def from_env(cls) -> ServiceSettings:
        raw = os.environ.get("INCLUSION_AUDIT_MAX_UPLOAD_MB", str(DEFAULT_MAX_UPLOAD_MB))
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if limit <= 0:
            raise ValueError(
                f"INCLUSION_AUDIT_MAX_UPLOAD_MB is {raw!r}: give a whole number of megabytes."
            )
        return cls(max_upload_mb=limit)


@dataclass
class _Uploads:
    """A request's uploads, saved in a private folder that is always deleted."""

    folder: Path
    limit_bytes: int
    paths: dict[str, Path] = field(default_factory=dict)

    async def save(
        self, name: str, upload: UploadFile | None, suffixes: frozenset[str] | None = None
    ) -> Path | None:
        if upload is None or not upload.filename:
            return None
        filename = _safe_filename(upload.filename, name)
        suffix = Path(filename).suffix.lower()
        if suffixes is not None and suffix not in suffixes:
            allowed = ", ".join(sorted(suffixes))
            raise UploadError(
                f"the {name.replace('_', ' ')} file {filename!r} is not one the service reads: "
                f"upload one ending in {allowed}."
            )
        # Each upload has its own folder so two files with one name cannot collide.
        folder = self.folder / name
        folder.mkdir()
        path = folder / filename
        written = 0
        with path.open("wb") as handle:
            while chunk := await upload.read(_CHUNK):
                written += len(chunk)
                if written > self.limit_bytes:
                    raise UploadTooLargeError(
                        f"the {name.replace('_', ' ')} file {filename!r} is larger than the "
                        f"{self.limit_bytes // (1024 * 1024)} MB this service accepts. Keep only "
                        "the columns the audit needs, save it as Parquet, or run "
                        "`inclusion-audit audit` on your own computer."
                    )
                handle.write(chunk)
        self.paths[name] = path
        return path

    def tidy(self, message: str) -> str:
        """A message without the temporary folders' paths, which mean nothing to a user."""
        for name in self.paths:
            message = message.replace(f"{self.folder}{os.sep}{name}{os.sep}", "")
        return message.replace(f"{self.folder}{os.sep}", "").replace(str(self.folder), "")


@contextlib.contextmanager
def _uploads(limit_mb: int) -> Iterator[_Uploads]:
    folder = Path(tempfile.mkdtemp(prefix="inclusion-audit-"))
    try:
        yield _Uploads(folder, limit_mb * 1024 * 1024)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]")


_MAX_NAME_BYTES = 200  # file systems allow 255 bytes; leave room for the suffix


def _safe_filename(filename: str, fallback: str) -> str:
    """The upload's own base name (it names the register in the report), made safe.

    A long name is shortened before its suffix, by bytes (the file system's
    limit), so that "….csv" stays a CSV.
    """
    base = _UNSAFE.sub("_", re.split(r"[/\\]", filename)[-1]).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = base, ""
    stem = stem.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", errors="ignore").strip(" .")
    if not stem:
        return fallback
    return f"{stem}.{suffix}" if suffix else stem


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

    def event_details(self) -> dict[str, Any] | None:
        """The event fields as the event-file loader expects them, or None if all blank."""
        data: dict[str, Any] = {}
        venue: dict[str, Any] = {}
        for key, value in self.event.items():
            value = value.strip()
            if not value:
                continue
            if key in YES_NO_FIELDS:
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


_EVENT_TEXT_FIELDS = ("date", "start_time", "end_time", "format", "payment")


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The web application (one per worker; it holds no state between requests)."""
    settings = settings or ServiceSettings()
    app = FastAPI(
        title="inclusion-audit",
        version=__version__,
        description="Who are we not hearing from? Audit an engagement register against "
        "Census 2021.",
        # The interactive docs load scripts from a CDN; the schema is enough.
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI answers 422 with its own structure; say what is wrong as everywhere else.
        problems = [
            f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'request'}: {problem['msg']}"
            for problem in error.errors()
        ]
        return JSONResponse({"error": "; ".join(problems) + "."}, status_code=400)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def form_page() -> HTMLResponse:
        return HTMLResponse(_render_form(AuditForm(), [], settings.max_upload_mb))

    @app.post("/audit", include_in_schema=False)
    async def audit_form(
        # Named apart from its field: pydantic's models have a "register" method.
        register_file: Annotated[UploadFile | None, File(alias="register")] = None,
        area: Annotated[str, Form()] = "",
        eligible_age: Annotated[str, Form()] = "",
        reference: Annotated[UploadFile | None, File()] = None,
        targets: Annotated[UploadFile | None, File()] = None,
        mapping: Annotated[UploadFile | None, File()] = None,
        partners: Annotated[UploadFile | None, File()] = None,
        title: Annotated[str, Form()] = "",
        date: Annotated[str, Form()] = "",
        start_time: Annotated[str, Form()] = "",
        end_time: Annotated[str, Form()] = "",
        event_format: Annotated[str, Form(alias="format")] = "",
        payment: Annotated[str, Form()] = "",
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
        }
        with _uploads(settings.max_upload_mb) as uploads:
            try:
                body, file_format = await _audit(uploads, files, form)
            except Exception as error:
                message, status = _failure(error, uploads)
                return HTMLResponse(
                    _render_form(form, [message], settings.max_upload_mb), status_code=status
                )
        return _report_response(body, file_format, inline=file_format == "html")

    @app.post("/api/audit", tags=["audit"])
    async def audit_api(
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
        targets: Annotated[
            UploadFile | None, File(description="Quotas: category,name,min,max")
        ] = None,
        mapping: Annotated[UploadFile | None, File(description="Mapping file (.toml)")] = None,
        partners: Annotated[UploadFile | None, File(description="Partners CSV")] = None,
        event: Annotated[
            UploadFile | None, File(description="Event details (.yaml/.toml/.json)")
        ] = None,
        title: Annotated[str, Form()] = "",
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
        )
        files = {
            "register": register_file,
            "reference": reference,
            "targets": targets,
            "mapping": mapping,
            "partners": partners,
            "event": event,
        }
        with _uploads(settings.max_upload_mb) as uploads:
            try:
                body, file_format = await _audit(uploads, files, form)
            except Exception as error:
                message, status = _failure(error, uploads)
                return JSONResponse({"error": message}, status_code=status)
        return _report_response(body, file_format, inline=True)

    @app.post("/api/check", tags=["check"])
    async def check_api(
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
        id_column: Annotated[str, Form()] = "",
        event_column: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        """Check a register is fit to audit, with Great Expectations (``check``'s JSON)."""
        from .check import CheckRules, check_register, split_names
        from .mapping import read_mapping
        from .readers import read_table
        from .sources import ENGLAND_AND_WALES, choose_reference

        with _uploads(settings.max_upload_mb) as uploads:
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
                    id_column=id_column or None,
                    event_column=event_column or None,
                )

                def run() -> Any:
                    source, _ = choose_reference(
                        areas, eligible_age.strip() or None, reference_path
                    )
                    return check_register(
                        read_table(register_path),
                        source,
                        rules,
                        mapping=read_mapping(mapping_path) if mapping_path else None,
                    )

                result = await run_in_threadpool(run)
            except Exception as error:
                message, status = _failure(error, uploads)
                return JSONResponse({"error": message}, status_code=status)
        return JSONResponse(result.to_dict())

    @app.get("/api/areas", tags=["reference"])
    def areas_api(
        area_type: Annotated[
            list[str] | None,
            Query(alias="type", description="ltla, region, country, ward, lgd, ltla23"),
        ] = None,
    ) -> JSONResponse:
        """Every Census area the service knows, with its code, type and population."""
        from . import census

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

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness for a load balancer: the version, and that reference data loads."""
        from . import census

        census.reference_manifest()
        return {"status": "ok", "version": __version__}

    return app


async def _audit(
    uploads: _Uploads, files: dict[str, UploadFile | None], form: AuditForm
) -> tuple[bytes, str]:
    """Save the uploads, then audit and render in a worker thread; the report and its format.

    The audit is CPU-bound: run on the event loop it would hold every other request
    of the worker until it finished. polars and WeasyPrint release the GIL, so
    threads do overlap.
    """
    from .render import FORMATS

    if form.report_format not in FORMATS:
        raise UploadError(
            f"the report format {form.report_format!r} is not one of {', '.join(FORMATS)}."
        )
    register = await uploads.save("register", files["register"], REGISTER_SUFFIXES)
    if register is None:
        raise UploadError("choose a register file: the participant list exported from your form.")
    saved = {
        "register": register,
        "reference": await uploads.save("reference", files.get("reference"), CSV_SUFFIXES),
        "targets": await uploads.save("targets", files.get("targets"), CSV_SUFFIXES),
        "mapping": await uploads.save("mapping", files.get("mapping"), frozenset({".toml"})),
        "partners": await uploads.save("partners", files.get("partners"), CSV_SUFFIXES),
        "event": await uploads.save(
            "event", files.get("event"), frozenset({".yaml", ".yml", ".toml", ".json"})
        ),
    }
    body = await run_in_threadpool(_audit_saved, saved, form)
    return body, form.report_format


def _audit_saved(saved: dict[str, Path | None], form: AuditForm) -> bytes:
    from .audit import run_audit
    from .event import EventDetails, load_event, parse_event
    from .mapping import read_mapping
    from .readers import read_table
    from .recommendations import load_partners
    from .render import RenderOptions, render_formats
    from .sources import choose_reference

    threshold = _threshold(form.suppress_below)
    register, mapping, partners = saved["register"], saved["mapping"], saved["partners"]
    assert register is not None
    areas = [a.strip() for a in form.area.split(";") if a.strip()]
    source, quotas = choose_reference(
        areas, form.eligible_age.strip() or None, saved["reference"], saved["targets"]
    )
    event: EventDetails | None = None
    if saved["event"] is not None:
        event = load_event(saved["event"])
    elif (details := form.event_details()) is not None:
        event = parse_event(details, "(the event details on the form)")
    result = run_audit(
        read_table(register),
        source,
        quotas=quotas,
        mapping=read_mapping(mapping) if mapping else None,
        event=event,
        partners=load_partners(partners) if partners else [],
        suppress_below=0 if form.internal else threshold,
    )
    title = form.title.strip() or (event.title if event is not None and event.title else None)
    options = RenderOptions(title=title, suppress_below=threshold, internal=form.internal)
    if form.report_format == "pdf":
        with _PDF_LOCK:
            return render_formats(result, ["pdf"], options)["pdf"]
    return render_formats(result, [form.report_format], options)[form.report_format]


INTERNAL_ERROR = (
    "Something went wrong on our side: this is a bug in inclusion-audit, not a problem with "
    "your file. Nothing was kept. Please report what you did to the service's administrator."
)


def _failure(error: Exception, uploads: _Uploads) -> tuple[str, int]:
    """What to tell the user about a failed request, and its HTTP status.

    Bad input gets the library's message (400, or 413 for an upload over the
    limit). A bug is logged by where it happened, never by its message, which
    could quote the upload, and the user is told it is not their file's fault.
    """
    if isinstance(error, InputError):
        return uploads.tidy(str(error)), 413 if isinstance(error, UploadTooLargeError) else 400
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else "?"
    logger.error("internal error: %s at %s", type(error).__name__, where)
    return INTERNAL_ERROR, 500


def _threshold(raw: str) -> int:
    try:
        value = int(raw.strip() or DEFAULT_THRESHOLD)
    except ValueError:
        value = -1
    if value < 0:
        raise UploadError(
            f"hide counts below {raw!r}: give a whole number, 0 or more (ONS practice: 10)."
        )
    return value


def _report_response(body: bytes, file_format: str, *, inline: bool) -> Response:
    from .render import FILE_NAMES

    headers = {}
    if not inline:
        headers["Content-Disposition"] = f'attachment; filename="{FILE_NAMES[file_format]}"'
    return Response(body, media_type=_MEDIA_TYPES[file_format], headers=headers)


def _render_form(form: AuditForm, errors: list[str], max_upload_mb: int) -> str:
    from . import census
    from .render import environment

    areas = [a.name for a in census.list_areas(["country", "region", "ltla"])]
    template = environment().get_template("service/form.html")
    return template.render(
        form=form,
        errors=errors,
        areas=sorted(set(areas)),
        yes_no_fields=YES_NO_FIELDS,
        format_choices=FORMAT_CHOICES,
        payment_choices=PAYMENT_CHOICES,
        report_choices=REPORT_CHOICES,
        event_text_fields=_EVENT_TEXT_FIELDS,
        tool_version=__version__,
        today=dt.date.today().isoformat(),
        max_upload_mb=max_upload_mb,
    )


def app_from_env() -> FastAPI:
    """The application for ``uvicorn --factory`` and several workers."""
    return create_app(ServiceSettings.from_env())
