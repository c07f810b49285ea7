"""The application factory: settings, isolation, security headers, error shape, routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from inclusion_audit import __version__
from inclusion_audit.web import api, pages
from inclusion_audit.web.audits import new_pool
from inclusion_audit.web.guard import BodyGuard
from inclusion_audit.web.scratch import Scratch
from inclusion_audit.web.settings import ServiceSettings

logger = logging.getLogger("inclusion_audit.web")

HEADERS = {
    # Reports describe special category data: never cache them anywhere.
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # No script at all; the report's CSS and charts are inline.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
_UPLOAD_SLACK_MB = 10
"""Room in a request, beyond the largest upload, for the form's fields and small files."""


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The web application (one per worker; it keeps nothing between requests).

    Audits run in a warm pool of child processes with memory and time limits
    (``web.workers``); every file lives in one private folder swept by age
    (``web.scratch``); request bodies are refused past the size limit before they
    are read, and when they stall (``web.guard``). Every error is ``{"error": …}``.
    """
    settings = settings or ServiceSettings()
    if settings.store is not None and not settings.token:
        from inclusion_audit.config import ArrangementError

        raise ArrangementError("a service with a store needs a sign-in token (--token).")
    scratch = Scratch(settings.scratch, request_lifetime=settings.request_lifetime)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scratch.prepare()
        await run_in_threadpool(scratch.sweep, settings.clock())  # what a killed worker left
        pool = app.state.pool = new_pool(settings)
        await run_in_threadpool(pool.start)
        sweeper = asyncio.create_task(_sweep_every(scratch, settings))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            pool.close()

    app = FastAPI(
        title="inclusion-audit",
        version=__version__,
        description="Who are we not hearing from? Audit an engagement register against "
        "Census 2021.",
        # The interactive docs load scripts from a CDN; the schema is enough.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.scratch = scratch
    app.state.pool = None

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI answers 422 with its own structure; say what is wrong as everywhere else.
        problems = [
            f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'request'}: {problem['msg']}"
            for problem in error.errors()
        ]
        return JSONResponse({"error": "; ".join(problems) + "."}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        # Malformed multipart, a missing boundary, too many fields, an unknown path:
        # the framework's own refusals, in the documented shape.
        detail = error.detail if isinstance(error.detail, str) else "the request was refused"
        message = detail.rstrip(".") + "."
        return JSONResponse(
            {"error": message[0].lower() + message[1:] if message[:2].isalpha() else message},
            status_code=error.status_code,
            headers=error.headers,
        )

    app.add_middleware(SecurityHeaders, headers=HEADERS)
    app.add_middleware(
        BodyGuard,
        max_bytes=(settings.max_upload_mb + _UPLOAD_SLACK_MB) * 1024 * 1024,
        read_timeout=settings.body_timeout,
        headers=HEADERS,
    )
    app.include_router(pages.router)
    app.include_router(api.router)
    if settings.store is not None:
        from inclusion_audit.web import history_pages

        app.include_router(history_pages.router)
    return app


class SecurityHeaders:
    """Add ``headers`` to every response that does not set them itself.

    Plain ASGI: it only touches the response's start message. (Starlette's
    ``@app.middleware("http")`` passes every response body through a stream of
    its own, a cost on each of the many audits a second a service answers.)
    """

    def __init__(self, app: Any, *, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.headers if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _sweep_every(scratch: Scratch, settings: ServiceSettings) -> None:
    while True:
        await asyncio.sleep(settings.sweep_seconds)
        try:
            await run_in_threadpool(scratch.sweep, settings.clock())
        except Exception as error:  # never let the sweeper die
            logger.error("sweeping the private folder failed: %s", type(error).__name__)


def app_from_env() -> FastAPI:
    """The application for ``uvicorn --factory`` and several workers.

    ``INCLUSION_AUDIT_LISTEN`` says where it listens (a host, or ``unix``), so that a
    trusted user header is refused unless only the reverse proxy can reach it.
    """
    from inclusion_audit.web.history_pages import check_arrangement

    settings = ServiceSettings.from_env()
    listen = os.environ.get("INCLUSION_AUDIT_LISTEN", "")
    check_arrangement(settings, listen or None, unix_socket=listen == "unix")
    return create_app(settings)
