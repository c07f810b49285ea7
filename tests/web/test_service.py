"""The web service as officers and systems use it: the form, the JSON API, errors, privacy."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from inclusion_audit.audit import run_audit
from inclusion_audit.check.suite import check_register
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.reference.sources import choose_reference
from inclusion_audit.web.app import create_app
from inclusion_audit.web.settings import ServiceSettings
from inclusion_audit.web.uploads import safe_filename

from ..conftest import EXAMPLES, WriteCsv
from .jobs import audit_without_weasyprint, broken_audit

EVENT = EXAMPLES / "riverside-forum-event.yaml"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """Where the service keeps its files (its private folder), so the test can see them go."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


def left_behind(folder: Path) -> list[Path]:
    """Every file under a folder (the service's private folder keeps only empty folders),
    but for the socket of multiprocessing's fork server (``pymp-*``), which is no upload."""
    return [
        path
        for path in folder.rglob("*")
        if not path.is_dir() and not path.relative_to(folder).parts[0].startswith("pymp-")
    ]


@pytest.fixture
def client(scratch: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(max_upload_mb=1, scratch=scratch / "service")
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    assert left_behind(scratch) == [], "an upload was left behind"


def _files(path: Path, name: str = "register") -> dict[str, tuple[str, bytes]]:
    return {name: (path.name, path.read_bytes())}


def test_form_is_accessible_html(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"
    page = BeautifulSoup(response.text, "html.parser")
    assert page.html is not None and page.html.get("lang") == "en-GB"
    assert page.find("script") is None
    (form,) = page.find_all("form")
    assert form["method"] == "post" and form["enctype"] == "multipart/form-data"
    assert form["action"] == "/audit"
    headings = [h.get_text(strip=True) for h in page.find_all("h1")]
    assert headings == ["Audit an engagement event"]
    # Every control has a label: a <label for> or aria-labelledby naming real elements.
    ids = {element["id"] for element in page.find_all(id=True)}
    for control in form.find_all(["input", "select"]):
        labelled_by = control.get("aria-labelledby", "").split()
        has_label = page.find("label", attrs={"for": control.get("id")}) is not None
        assert has_label or (labelled_by and set(labelled_by) <= ids), control
    options = {o["value"] for o in page.select("datalist#areas option")}
    assert {"Lambeth", "London", "England", "Wales"} <= options


def test_api_audit_matches_the_library(client: TestClient, example_register: Path) -> None:
    response = client.post(
        "/api/audit",
        files={**_files(example_register), **_files(EVENT, "event")},
        data={"area": "Lambeth", "eligible_age": "16+"},
    )
    assert response.status_code == 200, response.text
    served = response.json()
    reference, _ = choose_reference(["Lambeth"], "16+")
    from inclusion_audit.action.event import load_event

    expected = run_audit(read_table(example_register), reference, event=load_event(EVENT))
    assert served == json.loads(expected.to_json())
    assert served["register"]["file"] == example_register.name


def test_form_report_as_web_page_uses_event_fields(
    client: TestClient, example_register: Path
) -> None:
    response = client.post(
        "/audit",
        files=_files(example_register),
        data={
            "area": "Lambeth",
            "eligible_age": "16+",
            "title": "Riverside forum, March",
            "date": "2025-03-05",
            "start_time": "10:00",
            "childcare": "no",
            "venue_step_free": "yes",
            "report_format": "html",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in response.headers
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("h1").get_text(strip=True) == "Riverside forum, March"
    text = page.get_text(" ")
    assert "crèche" in text  # childcare "no" feeds the barrier analysis
    for private in ("Synthetic Person", "example.invalid", "ZZ99", "bins on the high street"):
        assert private not in response.text


def test_form_pdf_is_a_download(client: TestClient, example_register: Path) -> None:
    response = client.post(
        "/audit",
        files=_files(example_register),
        data={"area": "Lambeth", "eligible_age": "16+", "report_format": "pdf"},
    )
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    assert response.headers["content-disposition"] == 'attachment; filename="report.pdf"'


def test_a_missing_extra_is_501_with_the_install_line(
    client: TestClient, example_register: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inclusion_audit.web.audits

    # As if [pdf] were not installed, in the process that runs the audit.
    monkeypatch.setattr(inclusion_audit.web.audits, "_audit_saved", audit_without_weasyprint)
    response = client.post(
        "/api/audit",
        params={"format": "pdf"},
        files=_files(example_register),
        data={"area": "Lambeth"},
    )
    assert response.status_code == 501
    assert "pip install 'inclusion-audit[pdf]'" in response.json()["error"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"area": "Lambth"}, "Area 'Lambth' matches no Census 2021 area"),
        ({"area": "Lambeth", "date": "2025-13-40"}, "date"),
        ({"area": "Lambeth", "report_format": "docx"}, "report format 'docx'"),
        ({"area": "Lambeth", "suppress_below": "-3"}, "give a whole number, 0 or more"),
        ({}, "say what to compare with"),
    ],
)
def test_form_errors_keep_answers_and_say_what_to_fix(
    client: TestClient, example_register: Path, data: dict[str, str], message: str
) -> None:
    response = client.post("/audit", files=_files(example_register), data=data)
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    assert page.title is not None and page.title.get_text().startswith("Error: ")
    summary = page.select_one(".error-summary")
    assert summary is not None and summary["role"] == "alert"
    assert message in summary.get_text()
    assert str(tempfile.gettempdir()) not in response.text
    if "area" in data:
        assert page.select_one("#area")["value"] == data["area"]


def test_form_without_a_register(client: TestClient) -> None:
    response = client.post("/audit", data={"area": "Lambeth"})
    assert response.status_code == 400
    assert "choose a register file" in response.text


def test_api_errors_are_json(client: TestClient, write_csv: WriteCsv) -> None:
    unknown = write_csv("forum.csv", [["Sex"], ["Female"], ["Martian"]])
    response = client.post("/api/audit", files=_files(unknown), data={"area": "Lambeth"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("register forum.csv: 1 answer matches no reference category")
    assert "scratch" not in error
    wrong = client.post(
        "/api/audit", files={"register": ("notes.docx", b"hello")}, data={"area": "Lambeth"}
    )
    assert wrong.status_code == 400
    assert "'notes.docx' is not one the service reads" in wrong.json()["error"]


def test_uploads_over_the_limit_are_refused(client: TestClient) -> None:
    big = b"Sex\n" + b"Female\n" * 200_000  # 1.4 MB against a 1 MB limit
    response = client.post(
        "/api/audit", files={"register": ("big.csv", big)}, data={"area": "Lambeth"}
    )
    assert response.status_code == 413
    assert "larger than the 1 MB this service accepts" in response.json()["error"]


def test_hostile_file_names_are_made_safe(client: TestClient, example_register: Path) -> None:
    response = client.post(
        "/api/audit",
        files={"register": ("../../etc/\x07passwd.csv", example_register.read_bytes())},
        data={"area": "Lambeth"},
    )
    assert response.status_code == 200
    name = response.json()["register"]["file"]
    assert name.endswith("passwd.csv") and "/" not in name and "\x07" not in name


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\me\\register.xlsx", "register.xlsx"),
        ("bell\x07.csv", "bell_.csv"),
        ("...", "register"),
        ("", "register"),
    ],
)
def testsafe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw, "register") == safe


def test_api_check(client: TestClient, example_register: Path, write_csv: WriteCsv) -> None:
    response = client.post("/api/check", files=_files(example_register), data={"area": "Lambeth"})
    assert response.status_code == 200
    served = response.json()
    expected = check_register(read_table(example_register), choose_reference(["Lambeth"])[0])
    assert served["success"] is expected.success is True
    assert [e["key"] for e in served["expectations"]] == [e.key for e in expected.expectations]
    failing = write_csv("f.csv", [["Sex"], ["Female"], ["Martian"]])
    response = client.post(
        "/api/check", files=_files(failing), data={"require": "sex,age", "max_unknown": "0.1"}
    )
    assert response.status_code == 200
    assert response.json()["success"] is False
    failed = {e["key"] for e in response.json()["expectations"] if not e["success"]}
    assert failed == {"has_column.age", "answers_known.sex", "answered.sex"}


def test_areas_health_and_schema(client: TestClient) -> None:
    regions = client.get("/api/areas", params={"type": "region"}).json()
    assert len(regions) == 9 and {"London", "Wales"} & {r["name"] for r in regions}
    assert client.get("/api/areas", params={"type": "planet"}).status_code == 400
    assert client.get("/api/health").json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert {"/api/audit", "/api/check", "/api/areas", "/api/health"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 404  # no scripts from a CDN


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCLUSION_AUDIT_MAX_UPLOAD_MB", "50")
    assert ServiceSettings.from_env().max_upload_mb == 50
    monkeypatch.setenv("INCLUSION_AUDIT_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ValueError, match="INCLUSION_AUDIT_MAX_UPLOAD_MB is 'lots'"):
        ServiceSettings.from_env()


def test_long_names_keep_their_suffix(client: TestClient, example_register: Path) -> None:
    for name in ("a" * 300 + ".csv", "😀" * 116 + ".csv"):
        response = client.post(
            "/api/audit",
            files={"register": (name, example_register.read_bytes())},
            data={"area": "Lambeth"},
        )
        assert response.status_code == 200, response.text
        served = response.json()["register"]["file"]
        assert served.endswith(".csv") and len(served.encode("utf-8")) <= 204


def test_wrong_types_are_400_with_one_message(client: TestClient, example_register: Path) -> None:
    response = client.post(
        "/api/audit?suppress_below=abc", files=_files(example_register), data={"area": "Lambeth"}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("suppress_below: ")
    response = client.post("/api/audit", data={"area": "Lambeth"})
    assert response.status_code == 400 and "register" in response.json()["error"]


def test_a_bug_says_so_without_quoting_the_upload(
    client: TestClient,
    example_register: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import inclusion_audit.web.audits

    monkeypatch.setattr(inclusion_audit.web.audits, "_audit_saved", broken_audit)
    api = client.post("/api/audit", files=_files(example_register), data={"area": "Lambeth"})
    form = client.post("/audit", files=_files(example_register), data={"area": "Lambeth"})
    assert api.status_code == form.status_code == 500
    assert "bug in inclusion-audit" in api.json()["error"]
    assert "bug in inclusion-audit" in form.text
    for text in (api.text, form.text, caplog.text):
        assert "Synthetic Person" not in text and example_register.name not in text
    assert "internal error: RuntimeError at jobs.py" in caplog.text
