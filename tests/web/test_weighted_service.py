"""The service's question, weight-by and intersect fields: what `audit --question --weight-by`
and `--intersect` add on the command line, from the form and the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from inclusion_audit.audit import run_audit
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.intersections import add_intersections
from inclusion_audit.reference.profiles import read_reference_csv
from inclusion_audit.web.app import create_app
from inclusion_audit.web.settings import ServiceSettings
from inclusion_audit.weighting import WeightSettings, weighted_results

from ..test_weighting_commands import REFERENCE, sample_rows, write_register

JOINT = "".join(
    f"age×sex,{age}×{sex},{count}\n"
    for age, share in (("16-34", 300), ("35-64", 500), ("65+", 200))
    for sex, count in (("Female", share * 52 // 100), ("Male", share * 48 // 100))
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(max_upload_mb=1, scratch=tmp_path / "service")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    register = write_register(tmp_path / "register.csv", sample_rows())
    reference = tmp_path / "population.csv"
    reference.write_text(REFERENCE + JOINT, encoding="utf-8")
    return register, reference


def _upload(register: Path, reference: Path) -> dict[str, tuple[str, bytes]]:
    return {
        "register": (register.name, register.read_bytes()),
        "reference": (reference.name, reference.read_bytes()),
    }


def test_the_api_adds_weighted_results_and_cells_as_the_library_does(
    client: TestClient, files: tuple[Path, Path]
) -> None:
    register, reference = files
    response = client.post(
        "/api/audit",
        files=_upload(register, reference),
        data={"question": ["Vote"], "weight_by": ["age,sex"], "intersect": ["age,sex"]},
    )
    assert response.status_code == 200, response.text
    served = response.json()
    table, source = read_table(register), read_reference_csv(reference)
    expected = run_audit(table, source)
    _, weighted = weighted_results(table, source, WeightSettings(("age", "sex")), ["Vote"])
    expected = add_intersections(
        replace(expected, weighted_results=weighted), table, source, [("age", "sex")]
    )
    wanted = json.loads(expected.to_json())
    assert served["weighted_results"] == wanted["weighted_results"]
    assert served["intersections"] == wanted["intersections"] != []
    assert {a["answer"] for a in served["weighted_results"]["questions"][0]["answers"]} == {
        "Yes",
        "No",
    }


def test_the_form_shows_the_weighted_section_and_keeps_the_fields(
    client: TestClient, files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, reference = files
    # Three times the sample, so every vote × age and vote × sex count is 5 or more
    # and the weighted shares may be shown (two 16-34 Yes votes would withhold them).
    thrice = [(*row[:3], f"{row[3]}{suffix}") for suffix in ("", "b", "c") for row in sample_rows()]
    register = write_register(tmp_path / "thrice.csv", thrice)
    form = client.get("/")
    page = BeautifulSoup(form.text, "html.parser")
    for name in ("questions", "weight_by", "intersect"):
        control = page.find(attrs={"name": name})
        assert control is not None and page.find("label", attrs={"for": control["id"]})
        assert control.get("aria-describedby") == f"{name}-hint"
    response = client.post(
        "/audit",
        files=_upload(register, reference),
        data={"questions": "Vote\n", "weight_by": "age, sex", "intersect": "age, sex"},
    )
    assert response.status_code == 200, response.text
    report = BeautifulSoup(response.text, "html.parser")
    assert report.find(id="heading-weighted-results") is not None
    assert "rather than" in report.get_text(" ")
    # A mistake comes back with the form filled in as it was sent.
    response = client.post("/audit", files=_upload(register, reference), data={"questions": "Vote"})
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    assert "fill in 'weight by'" in page.select_one(".error-summary").get_text(" ")
    assert page.find("textarea", attrs={"name": "questions"}).get_text() == "Vote"


@pytest.mark.parametrize(
    ("data", "said", "status"),
    [
        ({"weight_by": "age"}, "name a question's column too", 400),
        ({"question": "Vote", "weight_by": "height"}, "weight by 'height'", 400),
        ({"question": "Postcode please", "weight_by": "age"}, "question 'Postcode please'", 400),
        ({"intersect": "age"}, "intersect 'age': name two different characteristics", 400),
        ({"intersect": "sexual_orientation,religion"}, "are not published", 400),
    ],
)
def test_the_api_says_what_is_wrong_in_its_own_words(
    client: TestClient, files: tuple[Path, Path], data: dict[str, str], said: str, status: int
) -> None:
    register, reference = files
    response = client.post("/api/audit", files=_upload(register, reference), data=data)
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert said in message and "--" not in message


def test_after_the_fixup_page_the_report_still_has_the_question(
    client: TestClient, files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The fix-up keeps the question's column (a closed question) with the characteristics."""
    register, reference = files
    rows = [*sample_rows(), ("35-64", "Martian", "Yes", "Zed")]
    register = write_register(tmp_path / "unknown.csv", rows)
    page = client.post(
        "/audit",
        files=_upload(register, reference),
        data={"questions": "Vote", "weight_by": "age,sex"},
    )
    assert page.status_code == 200, page.text
    fixup = BeautifulSoup(page.text, "html.parser")
    assert fixup.h1.text == "Say what these answers mean"
    token = fixup.select_one("input[name=token]")["value"]
    report = client.post(
        "/fixup", data={"token": token, "answer-0": "unplaceable", "action": "report"}
    )
    assert report.status_code == 200, report.text
    assert BeautifulSoup(report.text, "html.parser").find(id="heading-weighted-results")
    assert "Person 1" not in report.text and "Zed" not in report.text
