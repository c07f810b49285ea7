"""The application factory: settings, security headers, error shape, and the routes mounted."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from inclusion_audit import __version__
from inclusion_audit.web import api, pages
from inclusion_audit.web.settings import ServiceSettings

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


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The web application (one per worker; it holds no state between requests)."""
    app = FastAPI(
        title="inclusion-audit",
        version=__version__,
        description="Who are we not hearing from? Audit an engagement register against "
        "Census 2021.",
        # The interactive docs load scripts from a CDN; the schema is enough.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings or ServiceSettings()

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

    app.include_router(pages.router)
    app.include_router(api.router)
    return app


def app_from_env() -> FastAPI:
    """The application for ``uvicorn --factory`` and several workers."""
    return create_app(ServiceSettings.from_env())
