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
import html
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


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    from inclusion_audit.report.render import environment

    css = environment().get_template("service/service.css").render()
    return HTMLResponse(
        f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{css}</style></head><body>
<a class="skip" href="#main">Skip to the content</a>
<header class="masthead"><p class="kicker">inclusion-audit</p>
<p class="service-name">Who are we not hearing from?</p></header>
<nav class="nav"><a href="/">Audit an event</a> · <a href="/history">History</a> ·
<a href="/review">Review</a></nav>
<main id="main">{body}</main>
<footer class="footer"><p>inclusion-audit {__version__}</p></footer></body></html>""",
        status_code=status,
    )


def _errors(messages: list[str], field: str) -> str:
    if not messages:
        return ""
    items = "".join(f'<li><a href="#{field}">{html.escape(m)}</a></li>' for m in messages)
    return (
        '<div class="error-summary" role="alert" aria-labelledby="error-summary-title" '
        'tabindex="-1"><h2 id="error-summary-title">There is a problem</h2>'
        f"<ul>{items}</ul></div>"
    )


@router.get("/signin", include_in_schema=False)
def signin_page(settings: StoreSettings, error: str = "") -> HTMLResponse:
    messages = [error] if error else []
    return _page(
        "Sign in",
        _errors(messages, "token")
        + """<h1>Sign in to the history</h1>
<form method="post" action="/signin" novalidate>
<div class="field"><label for="token">Sign-in token</label>
<p class="hint" id="token-hint">The token the service was started with; ask its administrator.</p>
<input type="password" id="token" name="token" autocomplete="current-password"
 aria-describedby="token-hint"></div>
<button type="submit">Sign in</button></form>""",
        401 if messages else 200,
    )


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
    rows = "".join(
        f"<tr><td>{e['date']}</td><td>{html.escape(e['name'])}</td>"
        f"<td class='num'>{e['participants']}</td><td>"
        f'<form method="post" action="/history/remove">'
        f'<input type="hidden" name="csrf" value="{csrf}">'
        f'<input type="hidden" name="id" value="{e["id"]}">'
        f'<button type="submit" class="secondary" aria-label="Remove {html.escape(e["name"])}, '
        f'{e["date"]}">Remove</button></form></td></tr>'
        for e in events
    )
    table = (
        '<table class="yes-no"><caption>Stored events, oldest first</caption><thead><tr>'
        '<th scope="col">Date</th><th scope="col">Event</th><th scope="col">People</th>'
        '<th scope="col">Remove</th></tr></thead><tbody>' + rows + "</tbody></table>"
        if events
        else "<p>No events are stored yet. Audit an event and save it from its report.</p>"
    )
    status = f'<p class="privacy" role="status">{html.escape(done)}</p>' if done else ""
    page = _page(
        "History",
        f"""<h1>History of audited events</h1>{status}
<p class="privacy">The history keeps aggregates only: each event's counts, ratios and
statuses per group, never names, contact details, postcodes, comments or rows. It keeps
events for {years} years (UK GDPR storage limitation).</p>
{table}<p><a href="/review">Review a period</a></p>""",
    )
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
        return _page("Refused", "<h1>That form has expired</h1><p>Open the history again.</p>", 403)
    try:
        removed = await run_in_threadpool(_remove, settings, int(str(form.get("id", "0"))))
    except (InputError, ValueError) as error:
        return _page("Error", _errors([str(error)], "main") + "<h1>Not removed</h1>", 400)
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
    nonce = session_nonce(request, settings)
    if nonce is not None or signed_in(request, settings):
        auth = (
            f'<input type="hidden" name="csrf" value="{csrf_for(nonce, settings)}">'
            if nonce is not None
            else ""
        )
    else:
        auth = ""
    sign_in = (
        ""
        if nonce is not None
        else '<div class="field"><label for="save-token">Sign-in token</label>'
        '<input type="password" id="save-token" name="signin_token" '
        'autocomplete="current-password"></div>'
    )
    return f"""<aside class="save-to-history" aria-labelledby="save-title"
 style="border:4px solid #1d70b8;padding:1rem;margin:2rem auto;max-width:48rem">
<h2 id="save-title">Save this audit to the history</h2>
<p>Only its aggregates are kept (counts, ratios and statuses per group), for quarterly reviews.
Save within 30 minutes.</p>
<form method="post" action="/history/save">
<input type="hidden" name="result" value="{html.escape(token)}">{auth}
<div class="field"><label for="save-name">Event name</label>
<input type="text" id="save-name" name="name" value="{html.escape(name)}"></div>
<div class="field"><label for="save-date">Event date</label>
<input type="date" id="save-date" name="date" value="{html.escape(date)}"></div>
{sign_in}<button type="submit">Save to the history</button></form></aside>"""


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
        return _page(
            "Refused",
            _errors(["Sign in to save: the token was wrong or the form has expired."], "main")
            + "<h1>Not saved</h1>",
            403,
        )
    record = await run_in_threadpool(saves.open, form.get("result", ""))
    if record is None:
        return _page(
            "Expired",
            "<h1>Not saved</h1><p>The audit is no longer kept (30 minutes have passed, or it "
            "was saved already). Audit the register again.</p>",
            410,
        )
    try:
        day = dt.date.fromisoformat(form.get("date", ""))
    except ValueError:
        return _page(
            "Error",
            _errors(["Give the event's date (YYYY-MM-DD)."], "main") + "<h1>Not saved</h1>",
            400,
        )
    try:
        added = await run_in_threadpool(_add, settings, record["result"], form.get("name", ""), day)
    except InputError as error:
        return _page("Error", _errors([str(error)], "main") + "<h1>Not saved</h1>", 400)
    saves.discard(form.get("result", ""))
    response = RedirectResponse(
        "/history?done=" + _quote(f"Saved {added['name']} ({added['date']})."), status_code=303
    )
    if session_nonce(request, settings) is None:
        _new_session(response, request, settings)
    return response


def _add(
    settings: ServiceSettings, result: dict[str, Any], name: str, day: dt.date
) -> dict[str, str]:
    from inclusion_audit.history.store import event_name_and_date, open_store

    assert settings.store is not None
    name, day = event_name_and_date(result, name.strip() or None, day, "the audit")
    with open_store(settings.store, create=True) as store:
        store.add(result, name=name, date=day, source="the audit")
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

    query = urlencode({**params, "show": "1"})
    links = " · ".join(
        f'<a href="/review?{query}&amp;format={f}" download>{label}</a>'
        for f, label in (("json", "JSON"), ("md", "Markdown"), ("pdf", "PDF"))
    )
    nav = (
        '<nav aria-label="Review downloads" style="font-family:sans-serif;padding:.75rem 1.25rem;'
        'background:#f3f2f1"><a href="/history">History</a> · <a href="/review">Another '
        f"period</a> · Download: {links}</nav>"
    )
    text = body.decode("utf-8")
    at = text.find(">", text.find("<body")) + 1 if "<body" in text else 0
    return HTMLResponse(text[:at] + nav + text[at:])


_REVIEW_PARAMS = ("from", "to", "quarter", "by")


def _review_form(params: dict[str, str], messages: list[str]) -> HTMLResponse:
    def value(name: str) -> str:
        return html.escape(params.get(name, ""))

    by = params.get("by") or "quarter"
    radios = "".join(
        f'<div class="radio"><input type="radio" id="by-{v}" name="by" value="{v}"'
        f'{" checked" if by == v else ""}><label for="by-{v}">{label}</label></div>'
        for v, label in (("quarter", "By quarter"), ("month", "By month"))
    )
    return _page(
        "Review a period",
        _errors(messages, "quarter")
        + f"""<h1>Review a period</h1>
<p class="lead">Pool the stored events of a period: who was missed, and who again and again.</p>
<form method="get" action="/review" novalidate>
<input type="hidden" name="show" value="1">
<div class="field"><label for="quarter">Quarter</label>
<p class="hint" id="quarter-hint">For example 2026Q3. Or give dates below.</p>
<input type="text" id="quarter" name="quarter" class="short" value="{value("quarter")}"
 aria-describedby="quarter-hint"></div>
<div class="row"><div class="field"><label for="from">From</label>
<input type="date" id="from" name="from" value="{value("from")}"></div>
<div class="field"><label for="to">To</label>
<input type="date" id="to" name="to" value="{value("to")}"></div></div>
<fieldset><legend>Trend</legend>{radios}</fieldset>
<button type="submit">Show the review</button></form>""",
        400 if messages else 200,
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
