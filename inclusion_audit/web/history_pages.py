"""Equality leads in the browser: ``serve --store FILE`` (off by default).

Pages: ``/signin``; ``/history`` lists the stored events (remove each);
``/review`` asks for a period and renders the review report with its
downloads; a report made on ``/`` offers "save to the history". The API
mirrors them: ``GET /api/history``, ``DELETE /api/history/{id}``,
``GET /api/review``.

Who may use them (``check_arrangement`` refuses to start otherwise):

- ``--token`` is required with ``--store``: a page needs the sign-in cookie
  that ``/signin`` sets for the token, an API call ``Authorization: Bearer``;
- ``--user-header NAME`` trusts a reverse proxy's sign-in (its user header)
  instead, and only when the service listens on loopback or a Unix socket, so
  nobody but the proxy can reach it to forge the header.

Forms that change the store (save, remove) carry a CSRF token bound to the
session (an HMAC of the session's random nonce under the service token), and
the session cookie is ``HttpOnly`` and ``SameSite=Strict``. The store keeps
aggregates only, as ``store add`` does: a result is kept for saving, encrypted
in the private folder's ``saves`` area, for at most 30 minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from inclusion_audit import __version__
from inclusion_audit.config import check_service_arrangement
from inclusion_audit.errors import InputError
from inclusion_audit.web.kept import KeptUploads
from inclusion_audit.web.settings import ServiceSettings, request_kept

router = APIRouter()

SESSION_COOKIE = "inclusion_audit_session"
SAVES_AREA = "saves"


def check_arrangement(settings: ServiceSettings, host: str | None, unix_socket: bool) -> None:
    """Refuse a store without a token, and a trusted user header that could be forged."""
    check_service_arrangement(
        settings.store is not None, settings.token, settings.user_header, host, unix_socket
    )


# --- who is signed in -------------------------------------------------------------------


def _mac(token: str, text: str) -> str:
    return hmac.new(token.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def session_nonce(request: Request, settings: ServiceSettings) -> str | None:
    """The nonce of a valid session cookie, else None."""
    assert settings.token is not None
    nonce, _, mac = request.cookies.get(SESSION_COOKIE, "").partition(".")
    if nonce and hmac.compare_digest(mac, _mac(settings.token, "session:" + nonce)):
        return nonce
    return None


def signed_in(request: Request, settings: ServiceSettings) -> bool:
    """A session cookie, the bearer token, or (when trusted) the proxy's user header."""
    if settings.store is None or settings.token is None:
        return False
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and hmac.compare_digest(
        bearer[7:].strip().encode("utf-8"), settings.token.encode("utf-8")
    ):
        return True
    if settings.user_header and request.headers.get(settings.user_header, "").strip():
        return True
    return session_nonce(request, settings) is not None


def csrf_for(nonce: str, settings: ServiceSettings) -> str:
    assert settings.token is not None
    return _mac(settings.token, "csrf:" + nonce)


def _new_session(
    response: Response, request: Request, settings: ServiceSettings, nonce: str | None = None
) -> str:
    assert settings.token is not None
    nonce = nonce or secrets.token_urlsafe(16)
    response.set_cookie(
        SESSION_COOKIE,
        f"{nonce}.{_mac(settings.token, 'session:' + nonce)}",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=8 * 3600,
    )
    return nonce


def _csrf_ok(request: Request, settings: ServiceSettings, given: str) -> bool:
    nonce = session_nonce(request, settings)
    return nonce is not None and hmac.compare_digest(given, csrf_for(nonce, settings))


def _store_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    if settings.store is None:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, "not found: this service keeps no history (serve --store)")
    return settings


StoreSettings = Annotated[ServiceSettings, Depends(_store_settings)]


def request_saves(request: Request) -> KeptUploads:
    """Results kept for saving to the history, like the fix-up's uploads."""
    kept = request_kept(request)
    scratch = request.app.state.scratch
    folder = scratch.root / SAVES_AREA
    return KeptUploads(
        folder,
        lifetime=kept.lifetime,
        clock=kept.clock,
        make_folder=lambda: scratch.area(SAVES_AREA, kept.lifetime),
    )


# --- pages ------------------------------------------------------------------------------


def _render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``report_templates/service/`` (``base.html``: the service's look)."""
    from inclusion_audit.report.render import environment

    context.setdefault("errors", [])
    page = (
        environment()
        .get_template(f"service/{template}")
        .render(tool_version=__version__, **context)
    )
    return HTMLResponse(page, status_code=status)


def _message(
    title: str,
    heading: str,
    paragraphs: list[str],
    status: int,
    errors: list[tuple[str, str]] | None = None,
    link: tuple[str, str] | None = None,
) -> HTMLResponse:
    return _render(
        "message.html",
        status,
        title=title,
        heading=heading,
        paragraphs=paragraphs,
        errors=errors or [],
        link=link,
    )


@router.get("/signin", include_in_schema=False)
def signin_page(settings: StoreSettings, error: str = "") -> HTMLResponse:
    errors = [("token", error)] if error else []
    return _render("signin.html", 401 if errors else 200, errors=errors)


@router.post("/signin", include_in_schema=False)
async def signin(request: Request, settings: StoreSettings) -> Response:
    form = await request.form()
    given = str(form.get("token", ""))
    assert settings.token is not None
    if not hmac.compare_digest(given.encode("utf-8"), settings.token.encode("utf-8")):
        return signin_page(settings, "That token is not the service's sign-in token.")
    response = RedirectResponse("/history", status_code=303)
    _new_session(response, request, settings)
    return response


def _require_page(request: Request, settings: ServiceSettings) -> Response | None:
    if not signed_in(request, settings):
        return RedirectResponse("/signin", status_code=303)
    return None


@router.get("/history", include_in_schema=False)
async def history_page(request: Request, settings: StoreSettings, done: str = "") -> Response:
    if (refused := _require_page(request, settings)) is not None:
        return refused
    events = await run_in_threadpool(_list_events, settings)
    years = await run_in_threadpool(settings_retention, settings)
    # A user signed in by the proxy's header gets a session now, for the forms' CSRF token.
    nonce = session_nonce(request, settings)
    new_nonce = None if nonce is not None else secrets.token_urlsafe(16)
    csrf = csrf_for(nonce or new_nonce or "", settings)
    page = _render("history.html", events=events, csrf=csrf, years=years, done=done)
    if new_nonce is not None:
        _new_session(page, request, settings, new_nonce)
    return page


def settings_retention(settings: ServiceSettings) -> int:
    from inclusion_audit.history.store import open_store

    assert settings.store is not None
    with open_store(settings.store, create=True) as store:
        return store.retention_years


def _list_events(settings: ServiceSettings) -> list[dict[str, Any]]:
    from inclusion_audit.history.store import open_store

    assert settings.store is not None
    with open_store(settings.store, create=True) as store:
        return [
            {
                "id": e.id,
                "date": e.date.isoformat(),
                "name": e.name,
                "participants": e.n_participants,
                "reference": e.reference,
            }
            for e in store.events(details=False)
        ]


@router.post("/history/remove", include_in_schema=False)
async def remove_page(request: Request, settings: StoreSettings) -> Response:
    if (refused := _require_page(request, settings)) is not None:
        return refused
    form = await request.form()
    if not _csrf_ok(request, settings, str(form.get("csrf", ""))):
        return _message(
            "Refused", "That form has expired", [], 403, link=("/history", "Open the history again")
        )
    try:
        removed = await run_in_threadpool(_remove, settings, int(str(form.get("id", "0"))))
    except (InputError, ValueError) as error:
        return _message("Error", "Not removed", [], 400, errors=[("main", str(error))])
    return RedirectResponse(
        "/history?done=" + _quote(f"Removed {removed['name']} ({removed['date']})."),
        status_code=303,
    )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


def _remove(settings: ServiceSettings, event_id: int) -> dict[str, str]:
    from inclusion_audit.history.store import open_store

    assert settings.store is not None
    with open_store(settings.store) as store:
        event = store.remove(event_id)
    return {"name": event.name, "date": event.date.isoformat()}


# --- saving a report's result ----------------------------------------------------------


def save_form(request: Request, settings: ServiceSettings, token: str, name: str, date: str) -> str:
    """The "save to the history" form added to a report page (no script, labelled)."""
    from inclusion_audit.report.render import environment

    nonce = session_nonce(request, settings)
    return (
        environment()
        .get_template("service/_save_form.html")
        .render(
            result=token,
            csrf=csrf_for(nonce, settings) if nonce is not None else None,
            ask_token=nonce is None,
            name=name,
            date=date,
        )
    )


@router.post("/history/save", include_in_schema=False)
async def save_page(
    request: Request,
    settings: StoreSettings,
    saves: Annotated[KeptUploads, Depends(request_saves)],
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    assert settings.token is not None
    by_token = hmac.compare_digest(
        form.get("signin_token", "").encode("utf-8"), settings.token.encode("utf-8")
    )
    if not by_token and not _csrf_ok(request, settings, form.get("csrf", "")):
        return _message(
            "Refused",
            "Not saved",
            [],
            403,
            errors=[("main", "Sign in to save: the token was wrong or the form has expired.")],
        )
    record = await run_in_threadpool(saves.open, form.get("result", ""))
    if record is None:
        return _message(
            "Expired",
            "Not saved",
            [
                "The audit is no longer kept (30 minutes have passed, or it was saved "
                "already). Audit the register again."
            ],
            410,
        )
    try:
        day = dt.date.fromisoformat(form.get("date", ""))
    except ValueError:
        return _message(
            "Error", "Not saved", [], 400, errors=[("main", "Give the event's date (YYYY-MM-DD).")]
        )
    name = form.get("name", "")
    from inclusion_audit.history.store import DuplicateEventError

    try:
        added = await run_in_threadpool(
            _add, settings, record["result"], name, day, form.get("replace") == "yes"
        )
    except DuplicateEventError as error:
        # The web's --replace: "Save in its place", or leave it out.
        return _duplicate(request, settings, error, form.get("result", ""), name, day)
    except InputError as error:
        return _message("Error", "Not saved", [], 400, errors=[("main", str(error))])
    saves.discard(form.get("result", ""))
    response = RedirectResponse(
        "/history?done=" + _quote(f"Saved {added['name']} ({added['date']})."), status_code=303
    )
    if session_nonce(request, settings) is None:
        _new_session(response, request, settings)
    return response


def _duplicate(
    request: Request,
    settings: ServiceSettings,
    error: Exception,
    result: str,
    name: str,
    day: dt.date,
) -> HTMLResponse:
    """The page for an audit already stored: save it in its place (the CLI's ``--replace``),
    or leave it out. The signed-in user gets a session here, for the form's CSRF token."""
    nonce = session_nonce(request, settings)
    new_nonce = None if nonce is not None else secrets.token_urlsafe(16)
    described = str(error).split(". Leave it out", 1)[0].removesuffix(".") + "."
    page = _render(
        "duplicate.html",
        409,
        message=described,
        result=result,
        csrf=csrf_for(nonce or new_nonce or "", settings),
        name=name.strip(),
        date=day.isoformat(),
    )
    if new_nonce is not None:
        _new_session(page, request, settings, new_nonce)
    return page


def _add(
    settings: ServiceSettings,
    result: dict[str, Any],
    name: str,
    day: dt.date,
    replace: bool = False,
) -> dict[str, str]:
    from inclusion_audit.history.store import event_name_and_date, open_store

    assert settings.store is not None
    name, day = event_name_and_date(result, name.strip() or None, day, "the audit")
    with open_store(settings.store, create=True) as store:
        store.add(result, name=name, date=day, source="the audit", replace=replace)
    return {"name": name, "date": day.isoformat()}


# --- review -------------------------------------------------------------------------------


def _review(settings: ServiceSettings, params: dict[str, str], file_format: str) -> bytes:
    from inclusion_audit.history.render import render_review
    from inclusion_audit.history.review import build_review, quarter_bounds
    from inclusion_audit.history.store import open_store
    from inclusion_audit.report.render import RenderOptions

    assert settings.store is not None
    first = dt.date.fromisoformat(params["from"]) if params.get("from") else None
    last = dt.date.fromisoformat(params["to"]) if params.get("to") else None
    if params.get("quarter"):
        start, last = quarter_bounds(params["quarter"])
        first = first or start
    by = params.get("by") or "quarter"
    with open_store(settings.store, create=True) as store:
        events = store.events(first, last)
    result = build_review(events, start=first, end=last, by=by, store_name=settings.store.name)
    return render_review(result, [file_format], RenderOptions())[file_format]


_REVIEW_TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}


@router.get("/review", include_in_schema=False)
async def review_page(request: Request, settings: StoreSettings) -> Response:
    if (refused := _require_page(request, settings)) is not None:
        return refused
    params = {k: v for k, v in request.query_params.items() if k in _REVIEW_PARAMS}
    file_format = request.query_params.get("format", "html")
    if (
        not any(params.get(k) for k in ("from", "to", "quarter"))
        and "show" not in request.query_params
    ):
        return _review_form(params, [])
    if file_format not in _REVIEW_TYPES:
        return _review_form(params, ["Choose json, html, md or pdf."])
    try:
        body = await run_in_threadpool(_review, settings, params, file_format)
    except (InputError, ValueError) as error:
        return _review_form(params, [str(error)])
    headers = {}
    if file_format != "html":
        headers["Content-Disposition"] = f'attachment; filename="review.{file_format}"'
        return Response(body, media_type=_REVIEW_TYPES[file_format], headers=headers)
    from urllib.parse import urlencode

    from inclusion_audit.report.render import environment

    nav = (
        environment()
        .get_template("service/_review_downloads.html")
        .render(
            query=urlencode({**params, "show": "1"}),
            downloads=[("json", "JSON"), ("md", "Markdown"), ("pdf", "PDF")],
        )
    )
    text = body.decode("utf-8")
    at = text.find(">", text.find("<body")) + 1 if "<body" in text else 0
    return HTMLResponse(text[:at] + nav + text[at:])


_REVIEW_PARAMS = ("from", "to", "quarter", "by")


def _review_form(params: dict[str, str], messages: list[str]) -> HTMLResponse:
    return _render(
        "review_form.html",
        400 if messages else 200,
        params=params,
        by=params.get("by") or "quarter",
        errors=[("quarter", m) for m in messages],
    )


# --- API ----------------------------------------------------------------------------------


def _api_refused(request: Request, settings: ServiceSettings) -> JSONResponse | None:
    if signed_in(request, settings):
        return None
    return JSONResponse(
        {"error": "sign in: send Authorization: Bearer <the service's token>."},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/api/history", tags=["history"])
async def history_api(request: Request, settings: StoreSettings) -> Response:
    """The stored events, oldest first (bearer token)."""
    if (refused := _api_refused(request, settings)) is not None:
        return refused
    return JSONResponse(await run_in_threadpool(_list_events, settings))


@router.delete("/api/history/{event_id}", tags=["history"])
async def remove_api(event_id: int, request: Request, settings: StoreSettings) -> Response:
    """Remove one stored event (bearer token)."""
    if (refused := _api_refused(request, settings)) is not None:
        return refused
    try:
        removed = await run_in_threadpool(_remove, settings, event_id)
    except InputError as error:
        return JSONResponse({"error": str(error)}, status_code=404)
    return JSONResponse({"removed": removed})


@router.get("/api/review", tags=["history"])
async def review_api(request: Request, settings: StoreSettings) -> Response:
    """The review of a period: ``from``, ``to``, ``quarter``, ``by``, ``format`` (json...)."""
    if (refused := _api_refused(request, settings)) is not None:
        return refused
    params = {k: v for k, v in request.query_params.items() if k in _REVIEW_PARAMS}
    file_format = request.query_params.get("format", "json")
    if file_format not in _REVIEW_TYPES:
        return JSONResponse({"error": "format: choose json, html, md or pdf."}, status_code=400)
    try:
        body = await run_in_threadpool(_review, settings, params, file_format)
    except (InputError, ValueError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return Response(body, media_type=_REVIEW_TYPES[file_format])
