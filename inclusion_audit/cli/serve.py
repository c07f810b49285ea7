"""``inclusion-audit serve``: the web form and API."""

from __future__ import annotations

import os
from pathlib import Path

import click

from inclusion_audit import __version__
from inclusion_audit.cli.app import CONTEXT, cli, handle_errors


@cli.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes. The service keeps no state, so any number can share a port.",
)
@click.option(
    "--max-upload-mb",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Largest upload accepted, per file (a request may be 10 MB more).",
)
@click.option(
    "--audit-processes",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Audits run at once per worker, each in its own warm process (2: a worker that "
    "the clients' connections happen to pick more often can still use two cores).",
)
@click.option(
    "--audit-memory-mb",
    type=click.IntRange(min=256),
    default=2048,
    show_default=True,
    help="Memory one audit process may use; a file that needs more is refused.",
)
@click.option(
    "--audit-seconds",
    type=click.FloatRange(min=1),
    default=120,
    show_default=True,
    help="Time one audit may take before it is stopped and refused.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    help="Seconds an upload may stall before the request is refused.",
)
@click.option(
    "--store",
    "store_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A history file: adds saving audits, the history page and the review page. Off by "
    "default; needs --token.",
)
@click.option(
    "--token",
    envvar="INCLUSION_AUDIT_TOKEN",
    help="The sign-in token for the history pages and API (or INCLUSION_AUDIT_TOKEN, which "
    "keeps it out of the process list). Required with --store.",
)
@click.option(
    "--user-header",
    help="Trust this header from a reverse proxy as the signed-in user (e.g. X-Forwarded-User); "
    "only with --host 127.0.0.1 or --uds, where nobody else can reach the service.",
)
@click.option("--uds", type=click.Path(path_type=Path), help="Listen on this Unix socket.")
@handle_errors
def serve(
    host: str,
    port: int,
    workers: int,
    max_upload_mb: int,
    audit_processes: int,
    audit_memory_mb: int,
    audit_seconds: float,
    body_timeout: float,
    store_file: Path | None,
    token: str | None,
    user_header: str | None,
    uds: Path | None,
) -> None:
    """Run the web service: an upload form at / and a JSON API at /api/.

    Officers open the form in a browser, upload a register and get the report;
    systems POST to /api/audit or /api/check (schema at /openapi.json). Uploads
    are deleted as soon as each report is made, and nothing is stored. Each audit
    runs in a warm child process with memory and time limits, so a hostile file
    costs only its own request.

    \b
    Examples:
      inclusion-audit serve                       # http://127.0.0.1:8000/
      inclusion-audit serve --host 0.0.0.0 --workers 4
      INCLUSION_AUDIT_TOKEN=... inclusion-audit serve --store history.sqlite
    """
    from inclusion_audit.errors import require_modules

    require_modules(
        "service",
        "inclusion-audit serve needs FastAPI, uvicorn and python-multipart",
        "fastapi",
        "uvicorn",
        "python_multipart",
    )
    import uvicorn

    from inclusion_audit.config import check_service_arrangement

    check_service_arrangement(
        store_file is not None, token, user_header, None if uds else host, uds is not None
    )
    if store_file is not None:
        from inclusion_audit.history.store import open_store

        open_store(store_file, create=True).close()  # a bad store stops here, not per request
        os.environ["INCLUSION_AUDIT_STORE"] = str(store_file.resolve())
        os.environ["INCLUSION_AUDIT_TOKEN"] = token or ""
        if user_header:
            os.environ["INCLUSION_AUDIT_USER_HEADER"] = user_header
    os.environ["INCLUSION_AUDIT_LISTEN"] = "unix" if uds else host

    os.environ["INCLUSION_AUDIT_MAX_UPLOAD_MB"] = str(max_upload_mb)
    os.environ["INCLUSION_AUDIT_AUDIT_PROCESSES"] = str(audit_processes)
    os.environ["INCLUSION_AUDIT_AUDIT_MEMORY_MB"] = str(audit_memory_mb)
    os.environ["INCLUSION_AUDIT_AUDIT_SECONDS"] = str(audit_seconds)
    os.environ["INCLUSION_AUDIT_BODY_TIMEOUT"] = str(body_timeout)
    click.echo(f"inclusion-audit {__version__}: open http://{host}:{port}/", err=True)
    uvicorn.run(
        "inclusion_audit.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        uds=str(uds) if uds else None,
        workers=workers,
        log_level="warning",
        # Access logs name no files, but say who asked for what and when: leave them
        # to the reverse proxy a council runs in front.
        access_log=False,
    )
