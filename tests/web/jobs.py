"""Jobs for the audit pool's tests, in a module that imports nothing heavy.

A pool's child imports the module of each function it is sent; these load in
milliseconds, so the pool's time limit measures the job, not the imports.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

STARTED = "audit-started"


def slow_audit(saved: dict[str, Path | None], form: object) -> bytes:
    """An audit that says it has started (a file by the request's uploads), then takes a minute."""
    register = saved["register"]
    assert register is not None
    (register.parent.parent / STARTED).write_text(str(os.getpid()))
    time.sleep(60)
    return b"{}"


def broken_audit(*args: object) -> None:
    """An audit with a bug whose message quotes the register."""
    raise RuntimeError("failed on riverside-forum-register.csv row 7: Synthetic Person 7")


def eat_memory() -> int:
    """Ask for more memory than the pool's limit allows."""
    return len(bytearray(1024**3))


def wait(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def refuse() -> None:
    from inclusion_audit.errors import InputError

    class UploadTooLargeError(InputError):
        pass

    raise UploadTooLargeError("too large")


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def audit_without_weasyprint(saved: dict[str, Path | None], form: object) -> bytes:
    """The real audit, in a process where WeasyPrint cannot be imported (no [pdf] extra)."""
    import sys

    from inclusion_audit.web.audits import _audit_saved

    before = sys.modules.get("weasyprint")
    sys.modules["weasyprint"] = None  # type: ignore[assignment]
    try:
        return _audit_saved(saved, form)  # type: ignore[arg-type]
    finally:
        if before is None:
            del sys.modules["weasyprint"]
        else:
            sys.modules["weasyprint"] = before


def polars_threads() -> int:
    """The size of polars' thread pool in the child."""
    import polars

    return int(polars.thread_pool_size())
