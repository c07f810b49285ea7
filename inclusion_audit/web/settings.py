"""How the service is run, and how a route reads it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from inclusion_audit.web.kept import FIXUP_AREA, KEEP_SECONDS, KeptUploads
from inclusion_audit.web.scratch import Scratch, default_root

DEFAULT_MAX_UPLOAD_MB = 200


def _default_scratch() -> Path:
    return default_root()


@dataclass(frozen=True)
class ServiceSettings:
    """How the service is run; ``from_env`` reads ``INCLUSION_AUDIT_*`` variables.

    ``audit_processes`` audits run at once per web worker, each in a warm child
    process with ``audit_memory_mb`` of memory and ``audit_seconds`` of time,
    replaced after ``audit_max_tasks`` audits. ``body_timeout`` is how long an
    upload may stall. ``scratch`` is the private folder for every file the
    service writes, swept every ``sweep_seconds``.
    """

    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    audit_processes: int = 2
    audit_memory_mb: int = 2048
    audit_seconds: float = 120.0
    audit_max_tasks: int = 500
    body_timeout: float = 30.0
    sweep_seconds: float = 60.0
    scratch: Path = field(default_factory=_default_scratch)
    store: Path | None = None
    """``serve --store``: the history file the history and review pages use (off: None)."""
    token: str | None = None
    """The sign-in token every history page and API call needs (required with a store)."""
    user_header: str | None = None
    """A reverse proxy's header naming the signed-in user, trusted instead of the token."""
    clock: Callable[[], float] = time.time
    """What time it is (tests move it on to see kept uploads expire)."""

    @property
    def request_lifetime(self) -> float:
        """The longest a request's files may exist: a stalled upload, then an audit."""
        return self.audit_seconds + 4 * self.body_timeout + 60

    @classmethod
    def from_env(cls) -> ServiceSettings:
        """Settings from ``INCLUSION_AUDIT_MAX_UPLOAD_MB``, ``_AUDIT_PROCESSES``,
        ``_AUDIT_MEMORY_MB``, ``_AUDIT_SECONDS``, ``_BODY_TIMEOUT`` and ``_SCRATCH``."""
        return cls(
            max_upload_mb=int(_positive("MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB, "megabytes")),
            audit_processes=int(_positive("AUDIT_PROCESSES", 2, "processes")),
            audit_memory_mb=int(_positive("AUDIT_MEMORY_MB", 2048, "megabytes")),
            audit_seconds=_positive("AUDIT_SECONDS", 120, "seconds"),
            body_timeout=_positive("BODY_TIMEOUT", 30, "seconds"),
            scratch=_default_scratch(),
            store=Path(os.environ["INCLUSION_AUDIT_STORE"])
            if os.environ.get("INCLUSION_AUDIT_STORE")
            else None,
            token=os.environ.get("INCLUSION_AUDIT_TOKEN") or None,
            user_header=os.environ.get("INCLUSION_AUDIT_USER_HEADER") or None,
        )


def _positive(name: str, default: float, unit: str) -> float:
    raw = os.environ.get(f"INCLUSION_AUDIT_{name}", str(default))
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0 or (unit != "seconds" and not value.is_integer()):
        kind = "a number" if unit == "seconds" else "a whole number"
        raise ValueError(f"INCLUSION_AUDIT_{name} is {raw!r}: give {kind} of {unit}.")
    return value


def service_settings(request: Request) -> ServiceSettings:
    """The running application's settings (a FastAPI dependency)."""
    settings: ServiceSettings = request.app.state.settings
    return settings


def request_kept(request: Request) -> KeptUploads:
    """Where the fix-up page keeps uploads (a FastAPI dependency); its folder is made
    (with the lifetime every worker's sweeper honours) when the first is kept."""
    settings: ServiceSettings = request.app.state.settings
    scratch: Scratch = request.app.state.scratch
    lifetime = kept_lifetime(settings)
    return KeptUploads(
        scratch.root / FIXUP_AREA,
        lifetime=lifetime,
        clock=settings.clock,
        make_folder=lambda: scratch.area(FIXUP_AREA, lifetime),
    )


def kept_lifetime(settings: ServiceSettings) -> float:
    """How long a kept upload may be used: 30 minutes less one sweep, so the sweeper
    has deleted it by 30 minutes however its worker ended."""
    return max(KEEP_SECONDS - settings.sweep_seconds, 60.0)


def request_scratch(request: Request) -> Scratch:
    """The running application's private folder (a FastAPI dependency)."""
    scratch: Scratch = request.app.state.scratch
    return scratch
