"""Officers finish in the browser (issue 18): unknown answers answered on the page and the API."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from inclusion_audit.ingest.mapping import read_mapping
from inclusion_audit.web.app import create_app
from inclusion_audit.web.kept import FIXUP_AREA, KeptUploads
from inclusion_audit.web.scratch import Scratch
from inclusion_audit.web.settings import ServiceSettings

from ..conftest import WriteCsv


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(max_upload_mb=1, scratch=tmp_path / "service")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_api_lists_unknown_answers_for_a_system(client: TestClient, write_csv: WriteCsv) -> None:
    register = write_csv(
        "forum.csv",
        [["Sex", "Ethnic group"], ["Female", "Other White"], ["Martian", "Whte"], ["Martian", ""]],
    )
    response = client.post(
        "/api/audit",
        files={"register": ("forum.csv", register.read_bytes())},
        data={"area": "Lambeth"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("register forum.csv: 2 answers match no reference category")
    unknown = {(u["column"], u["answer"]): u for u in body["unknown_answers"]}
    assert set(unknown) == {("Sex", "Martian"), ("Ethnic group", "Whte")}  # "Other White" placed
    martian = unknown["Sex", "Martian"]
    assert (martian["count"], martian["first_row"], martian["characteristic"]) == (2, 3, "sex")
    assert "White: Other White" in unknown["Ethnic group", "Whte"]["closest"]
    assert {"column", "answer", "count", "first_row", "closest"} <= set(martian)


REGISTER = [
    ["Timestamp", "Full name", "Email address", "Postcode", "Sex", "What is your ethnic group?"],
    ["2026/03/01 10:00", "Ann Example", "ann@example.org", "SW2 1RW", "Female", "Other White"],
    ["2026/03/01 10:05", "Bob Example", "bob@example.org", "SW9 8AA", "Male", "Whte British"],
    ["2026/03/01 10:09", "Cat Example", "cat@example.org", "SE11 5QY", "Female", "Whte British"],
    ["2026/03/01 10:12", "Dan Example", "dan@example.org", "SW2 2AA", "Martian", "Irish"],
]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def officer(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    settings = ServiceSettings(max_upload_mb=1, scratch=tmp_path / "service", clock=clock)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _kept_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "service" / FIXUP_AREA).iterdir() if p.name != ".lifetime"]


def _start(officer: TestClient, write_csv: WriteCsv) -> BeautifulSoup:
    register = write_csv("google-form.csv", REGISTER)
    response = officer.post(
        "/audit",
        files={"register": ("google-form.csv", register.read_bytes())},
        data={"area": "Lambeth", "report_format": "html"},
    )
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def test_officer_fixes_unknown_answers_on_the_page(
    officer: TestClient, write_csv: WriteCsv, tmp_path: Path
) -> None:
    page = _start(officer, write_csv)
    assert page.h1.text == "Say what these answers mean"
    selects = page.select("select")
    assert len(selects) == 2  # "Whte British" (2 rows) and "Martian"
    labels = [page.select_one(f"label[for={s['id']}]").text for s in selects]
    assert labels == [
        "“Martian” in the column “Sex”",
        "“Whte British” in the column “What is your ethnic group?”",
    ]
    assert "2 rows, first on row 3" in page.select_one("#answer-1-hint").text
    options = [o["value"] for o in selects[1].select("option")]
    closest = [o["value"] for o in selects[1].select("optgroup[label=Closest] option")]
    assert closest and options[1 : 1 + len(closest)] == closest  # the closest first
    british = "White: English, Welsh, Scottish, Northern Irish or British"
    assert "unplaceable" in options
    assert "at most 30 minutes" in page.text and "never names" in page.text
    kept = _kept_files(tmp_path)
    assert len(kept) == 1
    token = page.select_one("input[name=token]")["value"]
    assert token.split(".")[0] == kept[0].name
    # Encrypted (a Fernet token), so no plain text: strings long enough that base64 of
    # random bytes never holds them by chance ("Ann" alone did, about once in 100 runs).
    data = kept[0].read_bytes()
    assert data.startswith(b"gAAAAA")
    assert b"Ann Example" not in data and b"ann@example.org" not in data
    assert b"Other White" not in data

    # What is kept, once decrypted: the characteristic columns only.
    store = KeptUploads(kept[0].parent, lifetime=1800)
    record = store.open(token)
    assert record is not None
    csv = base64.b64decode(record["register"]["data"]).decode()
    assert csv.splitlines()[0] == ",".join(REGISTER[0])  # every header, but answers of only
    assert csv.splitlines()[1] == ",,,,Female,Other White"  # the characteristic columns
    assert "example" not in csv.lower() and "SW2" not in csv

    # A choice left out: the error summary links to the field.
    missing = officer.post("/fixup", data={"token": token, "answer-1": british})
    assert missing.status_code == 400
    errors = BeautifulSoup(missing.text, "html.parser")
    assert errors.select_one(".error-summary a")["href"] == "#answer-0"
    assert errors.select_one("#answer-0")["aria-invalid"] == "true"
    assert errors.select_one("#answer-1 option[selected]")["value"] == british

    chosen = {"token": token, "answer-1": british, "answer-0": "unplaceable"}
    mapping = officer.post("/fixup", data={**chosen, "action": "mapping"})
    assert mapping.status_code == 200
    assert "attachment" in mapping.headers["content-disposition"]
    written = tmp_path / "mapping.toml"
    written.write_bytes(mapping.content)
    read = read_mapping(written)
    assert read.answer_for("sex", "Martian") == "unplaceable"
    assert read.answer_for("ethnic_group", "Whte British") == british

    report = officer.post("/fixup", data={**chosen, "action": "report"})
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "Ann" not in report.text
    assert _kept_files(tmp_path) == []  # the report is made: nothing kept
    again = officer.post("/fixup", data={**chosen, "action": "report"})
    assert again.status_code == 410


def test_a_kept_upload_is_gone_at_30_minutes(
    officer: TestClient, write_csv: WriteCsv, tmp_path: Path, clock: Clock
) -> None:
    page = _start(officer, write_csv)
    token = page.select_one("input[name=token]")["value"]
    scratch: Scratch = officer.app.state.scratch  # type: ignore[attr-defined]
    clock.now += 29 * 60 - 1
    scratch.sweep(clock())
    assert len(_kept_files(tmp_path)) == 1
    clock.now += 61  # 30 minutes
    scratch.sweep(clock())
    assert _kept_files(tmp_path) == []
    late = officer.post("/fixup", data={"token": token, "answer-0": "unplaceable"})
    assert late.status_code == 410
    assert "no longer kept" in late.text


def test_an_expired_or_forged_token_opens_nothing(tmp_path: Path) -> None:
    clock = Clock()
    store = KeptUploads(tmp_path, lifetime=1740, clock=clock)
    token = store.keep({"a": 1})
    name = token.partition(".")[0]
    other = KeptUploads(tmp_path, lifetime=1740).keep({"b": 2}).partition(".")[2]
    assert store.open(f"{name}.{other}") is None  # another key
    assert store.open("../../etc/passwd.x") is None
    clock.now += 1740
    assert store.open(token) is None


def _serve(scratch: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INCLUSION_AUDIT_SCRATCH": str(scratch)}
    server = subprocess.Popen(
        [sys.executable, "-m", "inclusion_audit", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return server
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    server.kill()
    raise AssertionError("the service did not start")


def test_a_kept_upload_is_gone_after_its_worker_is_killed_and_restarted(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    """SIGKILL leaves the kept file behind; the restarted worker's start-up sweep removes it
    once it is 30 minutes old (its age set back, as no clock reaches another process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scratch = tmp_path / "service"
    register = write_csv("google-form.csv", REGISTER)
    server = _serve(scratch, port)
    try:
        boundary = "b0undary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="area"\r\n\r\nLambeth\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="register"; '
                f'filename="google-form.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + register.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/audit",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert "Say what these answers mean" in response.read().decode()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    kept = _kept_files(tmp_path)
    assert len(kept) == 1  # a killed worker cannot delete it itself
    old = time.time() - 30 * 60
    os.utime(kept[0], (old, old))
    server = _serve(scratch, port)
    try:
        assert _kept_files(tmp_path) == []
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
