"""How the service is run, and how a route reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Request

DEFAULT_MAX_UPLOAD_MB = 200


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


def service_settings(request: Request) -> ServiceSettings:
    """The running application's settings (a FastAPI dependency)."""
    settings: ServiceSettings = request.app.state.settings
    return settings
