"""A real `inclusion-audit serve --workers 2`: one worker SIGKILLed mid-request.

What the in-process kill test (``test_isolation``) cannot show: uvicorn's own
worker process dies while its audit runs, with the register saved in its request
folder. The service must keep answering (the other worker at once, a new one
after uvicorn replaces the dead one), and the new worker's start-up sweep must
delete the dead one's request folder, so that nothing of the register is left.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..conftest import EXAMPLES, REPO
from .test_service import left_behind

_spec = importlib.util.spec_from_file_location("load", REPO / "benchmarks" / "load.py")
assert _spec is not None and _spec.loader is not None
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)  # the load benchmark's client: a free port, a multipart body

REGISTER = EXAMPLES / "riverside-forum-register.csv"
SECRET = b"Synthetic Person"


def _big_register(folder: Path, copies: int = 1500) -> Path:
    """The example register repeated (360,000 rows): its audit takes long enough to be
    interrupted, and every row names a person."""
    lines = REGISTER.read_bytes().splitlines(keepends=True)
    path = folder / "big-register.csv"
    with path.open("wb") as handle:
        handle.write(lines[0])
        for _ in range(copies):
            handle.writelines(lines[1:])
    return path


def _post(port: int, body: bytes, content_type: str, timeout: float = 120) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/api/audit", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_until_up(port: int, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert service.poll() is None, f"the service stopped: {log.read_text()[-2000:]}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise AssertionError("the service did not answer /api/health in time")


def _files_holding_the_register(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.relative_to(folder).parts[0].startswith("pymp-"):
            try:
                if SECRET in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_a_killed_uvicorn_worker_costs_only_its_request_and_leaves_nothing(tmp_path) -> None:
    # A short temporary folder of its own: the fork server's socket is made there, and a
    # Unix socket's path may not be longer than 107 bytes (pytest's folders can be).
    temporary = Path(tempfile.mkdtemp(prefix="ia-kill-"))
    scratch = tmp_path / "service"
    big = _big_register(tmp_path)
    port = load.free_port()
    # Only this test's settings: other tests of `serve` leave INCLUSION_AUDIT_* variables
    # (a store, a token) in the test process's environment.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INCLUSION_AUDIT_")},
        "PYTHONPATH": str(REPO),
        "TMPDIR": str(temporary),
        "INCLUSION_AUDIT_SCRATCH": str(scratch),
    }
    log = (tmp_path / "service.log").open("wb")
    service = subprocess.Popen(
        [sys.executable, "-m", "inclusion_audit", "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )
    try:
        _wait_until_up(port, service, tmp_path / "service.log")
        body, content_type = load.multipart({"area": "Lambeth", "eligible_age": "16+"}, big)
        statuses: list[int | str] = []

        def send() -> None:
            try:
                statuses.append(_post(port, body, content_type))
            except (OSError, http.client.HTTPException) as error:
                statuses.append(type(error).__name__)

        request = threading.Thread(target=send)
        request.start()
        # The register is saved in full in the worker's request folder (named by its
        # process id): its audit is under way. Kill that worker.
        size = big.stat().st_size
        deadline = time.monotonic() + 60
        saved: list[Path] = []
        while time.monotonic() < deadline and not saved:
            saved = [
                p
                for p in (scratch / "requests").glob("*/register/big-register.csv")
                if p.stat().st_size == size
            ]
            time.sleep(0.01)
        assert saved, "the register never reached a request folder"
        folder = saved[0].parent.parent
        worker = int(folder.name.split("-")[0])
        assert worker != service.pid
        os.kill(worker, signal.SIGKILL)
        request.join(timeout=120)
        assert statuses and statuses[0] != 200, f"the request was not interrupted: {statuses}"

        # The service keeps answering: the other worker at once, then the replacement.
        small, small_type = load.multipart({"area": "Lambeth", "eligible_age": "16+"}, REGISTER)
        assert [_post(port, small, small_type) for _ in range(6)] == [200] * 6
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and folder.exists():
            time.sleep(0.2)
        assert not folder.exists(), "the dead worker's request folder was not swept"
        # Every later request is answered, by either worker.
        assert [_post(port, small, small_type) for _ in range(6)] == [200] * 6
        assert service.poll() is None
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()
    try:
        assert left_behind(scratch) == []
        assert _files_holding_the_register(temporary) == []
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
