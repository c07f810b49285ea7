"""Isolation: a hostile request costs only itself, and nothing of a register outlives it.

Audits run in a warm pool of child processes (``web.workers``); files live in one
private folder swept by age and owner (``web.scratch``); bodies are refused past
the size limit before they are read, and when they stall (``web.guard``).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inclusion_audit.web.app import create_app
from inclusion_audit.web.scratch import Scratch
from inclusion_audit.web.settings import ServiceSettings
from inclusion_audit.web.workers import (
    POLARS_THREADS,
    JobCrashedError,
    JobInputError,
    JobLimitError,
    PoolLimits,
    WorkerPool,
)

from ..conftest import EXAMPLES
from .jobs import STARTED, eat_memory, kill_self, polars_threads, refuse, slow_audit, wait
from .test_service import left_behind

REGISTER = EXAMPLES / "riverside-forum-register.csv"


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(1, PoolLimits(memory_mb=768, seconds=2, max_tasks=3))
    workers.start()
    yield workers
    workers.close()


def test_the_pool_survives_each_way_a_job_can_fail(pool: WorkerPool) -> None:
    # The memory limit with a time limit no loaded machine reaches first: filling 768 MB
    # can take longer than 2 s when other processes share the cores.
    roomy = WorkerPool(1, PoolLimits(memory_mb=768, seconds=120, max_tasks=3))
    roomy.start()
    try:
        with pytest.raises(JobLimitError, match="more memory than the 768 MB"):
            roomy.run(eat_memory)
        assert roomy.run(wait, 0) == "done"
    finally:
        roomy.close()
    with pytest.raises(JobLimitError, match="longer than the 2 seconds"):
        pool.run(wait, 10)
    with pytest.raises(JobCrashedError):
        pool.run(kill_self)
    with pytest.raises(JobInputError, match="too large") as refused:
        pool.run(refuse)
    assert refused.value.kind == "UploadTooLargeError"
    assert pool.run(wait, 0) == "done"


def test_an_audit_process_runs_polars_on_one_thread(pool: WorkerPool) -> None:
    # Audits run side by side in processes; polars' own threads only cost time on
    # registers of a few thousand rows (see workers.POLARS_THREADS).
    expected = int(os.environ.get("POLARS_MAX_THREADS", POLARS_THREADS))
    had = os.environ.get("POLARS_MAX_THREADS")
    assert pool.run(polars_threads) == expected
    assert os.environ.get("POLARS_MAX_THREADS") == had  # the web worker's own is untouched


def test_a_child_retires_after_its_tasks(pool: WorkerPool) -> None:
    first = pool.pids()
    for _ in range(3):
        assert pool.run(wait, 0) == "done"
    deadline = time.monotonic() + 10
    while (pool.pids() == first or not pool.pids()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.pids() and pool.pids() != first
    assert pool.run(wait, 0) == "done"


def test_killing_the_audit_process_mid_request_leaves_nothing_of_the_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inclusion_audit.web.audits

    folder = tmp_path / "service"
    settings = ServiceSettings(max_upload_mb=5, scratch=folder)
    monkeypatch.setattr(inclusion_audit.web.audits, "_audit_saved", slow_audit)
    with TestClient(create_app(settings)) as client:
        answers: list[object] = []
        request = threading.Thread(
            target=lambda: answers.append(
                client.post(
                    "/api/audit",
                    files={"register": (REGISTER.name, REGISTER.read_bytes())},
                    data={"area": "Lambeth"},
                )
            )
        )
        request.start()
        deadline = time.monotonic() + 30
        started = list(folder.glob(f"requests/*/{STARTED}"))
        while not started and time.monotonic() < deadline:
            time.sleep(0.05)
            started = list(folder.glob(f"requests/*/{STARTED}"))
        assert started, "the audit never started"
        # The register is on disk while the audit runs...
        assert list(started[0].parent.glob("register/*.csv"))
        os.kill(int(started[0].read_text()), signal.SIGKILL)
        request.join(timeout=30)
        [response] = answers
        assert response.status_code == 500  # type: ignore[attr-defined]
        assert "stopped before it finished" in response.json()["error"]  # type: ignore[attr-defined]
        # ...and gone as soon as the answer is, with nothing else left behind.
        assert left_behind(folder) == []
        monkeypatch.undo()
        # The next request finds a fresh audit process.
        again = client.post(
            "/api/audit",
            files={"register": (REGISTER.name, REGISTER.read_bytes())},
            data={"area": "Lambeth", "eligible_age": "16+"},
        )
        assert again.status_code == 200 and again.json()["n_participants"] == 240


def test_the_sweeper_removes_what_a_dead_worker_left_and_keeps_what_is_kept_on_purpose(
    tmp_path: Path,
) -> None:
    scratch = Scratch(tmp_path / "service", request_lifetime=600)
    scratch.prepare()
    assert (scratch.root.stat().st_mode & 0o777) == 0o700
    requests = scratch.root / "requests"
    dead = requests / "999999999-abc"  # no such process: its worker was killed
    (dead / "register").mkdir(parents=True)
    (dead / "register" / "register.csv").write_text("Name\nSynthetic Person 1\n")
    mine = requests / f"{os.getpid()}-def"  # a request still under way
    mine.mkdir()
    (mine / "register.csv").write_text("x")
    kept = scratch.area("uploads", lifetime=900)  # another feature keeps files 15 minutes
    (kept / "fresh.bin").write_text("x")
    (kept / "stale.bin").write_text("x")
    old = time.time() - 1000
    os.utime(kept / "stale.bin", (old, old))
    assert scratch.sweep() == 2
    assert not dead.exists() and (mine / "register.csv").exists()
    assert (kept / "fresh.bin").exists() and not (kept / "stale.bin").exists()
    # A request older than a request may last goes, even if its process lives on.
    os.utime(mine, (old, old))
    assert scratch.sweep() == 1 and not mine.exists()


def test_a_private_folder_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    from inclusion_audit.web.scratch import ScratchError

    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(ScratchError, match="not a folder of this user's"):
        Scratch(tmp_path / "link", request_lifetime=60).prepare()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(max_upload_mb=1, scratch=tmp_path / "service")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    read = []

    def body() -> Iterator[bytes]:
        for _ in range(100):
            read.append(1)
            yield b"x" * 1024 * 1024

    response = client.post(
        "/api/audit",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**9)},
    )
    assert response.status_code == 413 and "larger than the 11 MB" in response.json()["error"]
    assert response.headers["cache-control"] == "no-store"


def test_a_chunked_body_is_stopped_at_the_limit(client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="register"; filename="r.csv"\r\n\r\n'
        for _ in range(30):
            yield b"y" * 1024 * 1024

    response = client.post(
        "/api/audit", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413 and list(response.json()) == ["error"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=b", b"--b\r\nnot a header\r\n\r\n--b--\r\n"),
        (
            "multipart/form-data; boundary=b",
            b"".join(
                f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'.encode()
                for i in range(1_500)
            )
            + b"--b--\r\n",
        ),
    ],
    ids=["missing-boundary", "malformed-part", "1500-fields"],
)
def test_malformed_requests_get_the_documented_error_shape(
    client: TestClient, content_type: str, body: bytes
) -> None:
    response = client.post("/api/audit", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500
    assert list(response.json()) == ["error"] and response.json()["error"]


def test_unknown_paths_and_methods_get_the_documented_error_shape(client: TestClient) -> None:
    assert client.get("/nowhere").json() == {"error": "not Found."}
    assert list(client.get("/api/audit").json()) == ["error"]
