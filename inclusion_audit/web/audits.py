"""Running an audit for a request, and turning its outcome into a report or one clear error."""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from inclusion_audit.config import DEFAULT_THRESHOLD
from inclusion_audit.errors import InputError, MissingExtraError
from inclusion_audit.ingest.readers import CSV_SUFFIXES
from inclusion_audit.web.forms import AuditForm
from inclusion_audit.web.settings import ServiceSettings
from inclusion_audit.web.uploads import REGISTER_SUFFIXES, UploadError, Uploads, UploadTooLargeError
from inclusion_audit.web.workers import (
    JobBugError,
    JobCrashedError,
    JobInputError,
    JobLimitError,
    PoolLimits,
    WorkerPool,
)

if TYPE_CHECKING:
    from inclusion_audit.ingest.mapping import UserMapping
    from inclusion_audit.result import NotAudited

logger = logging.getLogger("inclusion_audit.web")


_MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
}


# WeasyPrint is not documented as thread-safe; PDFs are rare enough to take turns.
_PDF_LOCK = threading.Lock()


class ColumnsToChooseError(InputError):
    """The audit ran, but a column it does not recognise probably holds a characteristic
    it did not audit: the officer's form asks what the register's unknown columns hold."""


FIXABLE = frozenset({"UnknownValuesError", "NothingToAuditError", ColumnsToChooseError.__name__})
"""What stops an audit that the fix-up page can settle (an error's class name)."""


def error_kind(error: Exception) -> str:
    """The library error's class name, also for an error a pool job raised."""
    return str(getattr(error, "kind", type(error).__name__))


async def audit_uploads(
    uploads: Uploads,
    files: dict[str, UploadFile | None],
    form: AuditForm,
    pool: WorkerPool,
    with_result: list[bytes] | None = None,
    *,
    ask_columns: bool = False,
) -> tuple[bytes, str]:
    """Save the uploads, then audit and render in the pool; the report and its format.

    ``ask_columns`` (the officer's form) stops with ``ColumnsToChooseError`` when
    an unrecognised column probably holds a characteristic that was not audited.

    The audit runs in one of the pool's child processes (so a hostile file that
    exhausts its memory or time ends that process, not the service), waited
    for in a thread so the event loop keeps serving other requests.
    """
    from inclusion_audit.report.render import FORMATS

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
    return await audit_saved(saved, form, pool, with_result, ask_columns=ask_columns)


async def audit_saved(
    saved: dict[str, Path | None],
    form: AuditForm,
    pool: WorkerPool,
    with_result: list[bytes] | None = None,
    *,
    ask_columns: bool = False,
    precounted: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    """Audit saved files in the pool (see ``audit_uploads``); the report and its format.

    ``precounted`` (``audit.Precounted.to_dict``) stands in for the postcode and
    barrier columns of a register kept without them (the fix-up).
    """
    if with_result is not None:
        body, result_json = await run_audit_with_result(saved, form, pool, ask_columns, precounted)
        with_result.append(result_json)
        return body, form.report_format
    return await run_audit_saved(saved, form, pool, ask_columns, precounted)


def _job_args(
    saved: dict[str, Path | None],
    form: AuditForm,
    ask_columns: bool,
    precounted: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """A job's arguments: the options only when set (tests swap the job for two-argument ones)."""
    if ask_columns or precounted is not None:
        return (saved, form, ask_columns, precounted)
    return (saved, form)


async def run_audit_saved(
    saved: dict[str, Path | None],
    form: AuditForm,
    pool: WorkerPool,
    ask_columns: bool = False,
    precounted: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    """Audit and render saved files in the pool; the report and its format."""
    args = _job_args(saved, form, ask_columns, precounted)
    body: bytes = await run_in_threadpool(pool.run, _audit_saved, *args)
    return body, form.report_format


def _audit_saved(
    saved: dict[str, Path | None],
    form: AuditForm,
    ask_columns: bool = False,
    precounted: dict[str, Any] | None = None,
    *,
    with_result: bool = False,
) -> bytes | tuple[bytes, bytes]:
    from inclusion_audit.action.event import EventDetails, load_event, parse_event
    from inclusion_audit.action.recommendations import load_partners
    from inclusion_audit.audit import Precounted, run_audit
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.report.render import RenderOptions, render_formats

    threshold = parse_threshold(form.suppress_below)
    register, mapping, partners = saved["register"], saved.get("mapping"), saved.get("partners")
    assert register is not None
    areas = [a.strip() for a in form.area.split(";") if a.strip()]
    source, quotas = choose_reference(
        areas, form.eligible_age.strip() or None, saved.get("reference"), saved.get("targets")
    )
    event: EventDetails | None = None
    if (event_file := saved.get("event")) is not None:
        event = load_event(event_file)
    elif (details := form.event_details()) is not None:
        event = parse_event(details, "(the event details on the form)")
    questions, weight_by, pairs = _weighting_and_crosses(form)
    table = read_table(register)
    user_mapping = read_mapping(mapping) if mapping else None
    result = run_audit(
        table,
        source,
        quotas=quotas,
        mapping=user_mapping,
        event=event,
        partners=load_partners(partners) if partners else [],
        suppress_below=0 if form.internal else threshold,
        precounted=Precounted.from_dict(precounted) if precounted is not None else None,
    )
    if ask_columns:
        _check_columns_known(table.columns, user_mapping, result.not_audited)
    day = event.date if event is not None else None
    if questions:
        from inclusion_audit.weighting import WeightingError, WeightSettings, weighted_results

        try:
            _, weighted = weighted_results(
                table, source, WeightSettings(weight_by), questions, user_mapping, day
            )
        except WeightingError as error:
            raise UploadError(_form_words(str(error))) from error
        result = replace(result, weighted_results=weighted)
    if pairs:
        from inclusion_audit.intersections import add_intersections

        result = add_intersections(
            result, table, source, pairs, mapping=user_mapping, event_date=day
        )
    title = form.title.strip() or (event.title if event is not None and event.title else None)
    # Programs read the service's JSON: compact, it is written twice as fast and is a
    # quarter smaller to send.
    options = RenderOptions(
        title=title, suppress_below=threshold, internal=form.internal, json_indent=None
    )
    formats = [
        form.report_format,
        *(["json"] if with_result and form.report_format != "json" else []),
    ]
    if form.report_format == "pdf":
        with _PDF_LOCK:
            rendered = render_formats(result, formats, options)
    else:
        rendered = render_formats(result, formats, options)
    if with_result:
        return rendered[form.report_format], rendered["json"]
    return rendered[form.report_format]


def _check_columns_known(
    headers: Sequence[str], mapping: UserMapping | None, not_audited: Sequence[NotAudited]
) -> None:
    """Stop when a column no rule recognises (and the mapping does not name) probably holds
    a characteristic: the audit's "probably asks about it" notes name such columns."""
    from inclusion_audit.vocab.columns import guess_column

    unknown = {
        header
        for header in headers
        if not guess_column(header).recognised
        and (mapping is None or mapping.column_for(header) is None)
    }
    probable = [n for n in not_audited if n.column is not None and n.column in unknown]
    if probable:
        named = ", ".join(f"{n.column!r} ({n.name.replace('_', ' ')})" for n in probable)
        raise ColumnsToChooseError(
            f"the register has columns the audit does not recognise that probably hold a "
            f"characteristic: {named}. Say what they hold in a mapping file ([columns])."
        )


# The command line's option names in the library's messages, as the form and the API
# name the same fields.
_FIELD_NAMES = {
    "--question": "question",
    "--characteristic": "weight by",
    "--weight-by": "weight by",
    "--intersect": "intersect",
}


def _form_words(message: str) -> str:
    """A weighting or intersection message with the form's field names for the options'.

    >>> _form_words("--intersect 'age': name two characteristics, e.g. --intersect age,sex.")
    "intersect 'age': name two characteristics, e.g. age,sex."
    """
    message = re.sub(r"e\.g\. --\w[\w-]* ", "e.g. ", message)
    for option, name in _FIELD_NAMES.items():
        message = message.replace(option, name)
    return message


def _weighting_and_crosses(
    form: AuditForm,
) -> tuple[list[str], tuple[str, ...], list[tuple[str, str]]]:
    """The questions to re-weight, the characteristics to weight on and the pairs to cross.

    Checked before the register is read, as the command line checks its options.
    """
    from inclusion_audit.intersections import IntersectionError, parse_pairs

    questions, weight_by = form.question_columns(), form.weight_names()
    if questions and not weight_by:
        raise UploadError(
            "questions to re-weight need the characteristics to weight their answers on: "
            "fill in 'weight by', e.g. age, sex."
        )
    if weight_by and not questions:
        raise UploadError(
            "'weight by' re-weights the answers to questions: name a question's column too, "
            "or leave 'weight by' blank."
        )
    try:
        pairs = parse_pairs(form.intersect_pairs())
    except IntersectionError as error:
        raise UploadError(_form_words(str(error))) from error
    return questions, weight_by, pairs


def _audit_saved_with_result(
    saved: dict[str, Path | None],
    form: AuditForm,
    ask_columns: bool = False,
    precounted: dict[str, Any] | None = None,
) -> tuple[bytes, bytes]:
    """The report and the exact-count result JSON (for saving to a store)."""
    both = _audit_saved(saved, form, ask_columns, precounted, with_result=True)
    assert isinstance(both, tuple)
    return both


async def run_audit_with_result(
    saved: dict[str, Path | None],
    form: AuditForm,
    pool: WorkerPool,
    ask_columns: bool = False,
    precounted: dict[str, Any] | None = None,
) -> tuple[bytes, bytes]:
    """Audit and render in the pool; the report and the result JSON."""
    args = _job_args(saved, form, ask_columns, precounted)
    both: tuple[bytes, bytes] = await run_in_threadpool(pool.run, _audit_saved_with_result, *args)
    return both


INTERNAL_ERROR = (
    "Something went wrong on our side: this is a bug in inclusion-audit, not a problem with "
    "your file. Nothing was kept. Please report what you did to the service's administrator."
)


STOPPED = (
    "The audit of this file stopped before it finished: its process ended, most likely "
    "because the file needed more memory than this service gives one audit. Nothing was "
    "kept. Check the file is the participant register, or run `inclusion-audit audit` on "
    "your own computer."
)


def failure(error: Exception, uploads: Uploads) -> tuple[str, int]:
    """What to tell the user about a failed request, and its HTTP status.

    Bad input gets the library's message (400, or 413 for an upload over the
    limit or an audit past the pool's memory or time). A part of inclusion-audit
    the server lacks (WeasyPrint for a PDF, say) is 501 with the install line for
    its administrator. A bug is logged by where it happened, never by its message,
    which could quote the upload, and the user is told it is not their file's fault.
    """
    if isinstance(error, MissingExtraError):
        return str(error), 501
    if isinstance(error, JobCrashedError):
        logger.error("an audit process stopped (killed, or out of memory)")
        return STOPPED, 500
    if isinstance(error, InputError):
        too_large = isinstance(error, UploadTooLargeError | JobLimitError) or (
            isinstance(error, JobInputError) and error.kind == UploadTooLargeError.__name__
        )
        return uploads.tidy(str(error)), 413 if too_large else 400
    if isinstance(error, JobBugError):
        where = error.where
    else:
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        place = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else "?"
        where = f"{type(error).__name__} at {place}"
    logger.error("internal error: %s", where)
    return INTERNAL_ERROR, 500


def unknown_answers(error: Exception) -> list[dict[str, Any]]:
    """The answers no category matched, from an audit's error (``[]`` for other errors).

    Each is ``{"column", "answer", "count", "first_row", "closest", "categories"}``:
    ``closest`` are the likeliest categories, best first; ``categories`` all of
    the column's categories, for a mapping.
    """
    unknown = getattr(error, "unknown", None)
    return list(unknown) if isinstance(error, InputError) and unknown else []


# Imported in the audit processes before their first job, so the first request is fast.
_WARM = (
    "inclusion_audit.audit",
    "inclusion_audit.reference.sources",
    "inclusion_audit.report.render",
    "inclusion_audit.web.audits",
)


def new_pool(settings: ServiceSettings) -> WorkerPool:
    """The audit pool the settings ask for (not started)."""
    limits = PoolLimits(
        memory_mb=settings.audit_memory_mb,
        seconds=settings.audit_seconds,
        max_tasks=settings.audit_max_tasks,
    )
    return WorkerPool(settings.audit_processes, limits, warm=_WARM)


def request_pool(request: Request) -> WorkerPool:
    """The application's audit pool (a FastAPI dependency); made now if the application
    was not started (a test client used without ``with``)."""
    state = request.app.state
    if state.pool is None:
        state.scratch.prepare()
        state.pool = new_pool(state.settings)
    pool: WorkerPool = state.pool
    return pool


def parse_threshold(raw: str) -> int:
    try:
        value = int(raw.strip() or DEFAULT_THRESHOLD)
    except ValueError:
        value = -1
    if value < 0:
        raise UploadError(
            f"hide counts below {raw!r}: give a whole number, 0 or more (ONS practice: 10)."
        )
    return value


def report_response(body: bytes, file_format: str, *, inline: bool) -> Response:
    from inclusion_audit.report.render import FILE_NAMES

    headers = {}
    if not inline:
        headers["Content-Disposition"] = f'attachment; filename="{FILE_NAMES[file_format]}"'
    return Response(body, media_type=_MEDIA_TYPES[file_format], headers=headers)
