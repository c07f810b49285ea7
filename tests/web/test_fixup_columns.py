"""Column choices (issue 18): an officer says what unrecognised columns hold, on the page
and through the API, and the choices download as the mapping file the CLI reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient

from inclusion_audit.cli import cli
from inclusion_audit.ingest.mapping import read_mapping
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.reference.sources import choose_reference
from inclusion_audit.reference.suggest import column_choices
from inclusion_audit.web.app import create_app
from inclusion_audit.web.kept import FIXUP_AREA, KeptUploads
from inclusion_audit.web.settings import ServiceSettings

from ..conftest import WriteCsv

ETHNIC = ["White British", "Indian", "Other White", "Caribbean", "Whtie British", "African", ""]
HEADER = [
    "Timestamp",
    "Email address",
    "How old are you?",
    "Which of these best describes you?",
    "Q7",
    "Q8",
    "Postcode",
]


def _rows(n: int = 40) -> list[list[str]]:
    """A Microsoft Forms-like export: sex and ethnic group under headers no rule knows,
    and "Q8" free text (a different answer on every row)."""
    return [HEADER] + [
        [
            f"14/07/2026 18:{i:02d}:00",
            f"person{i}@example.org",
            str(20 + i),
            ["Female", "Male"][i % 2],
            ETHNIC[i % len(ETHNIC)],
            f"My own words number {i}",
            "SW2 1RW",
        ]
        for i in range(n)
    ]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(max_upload_mb=1, scratch=tmp_path / "service")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_only_closed_unrecognised_columns_are_offered(write_csv: WriteCsv) -> None:
    table = read_table(write_csv("forms.csv", _rows()))
    source, _ = choose_reference(["Lambeth"], None, None, None)
    offered = column_choices(table, source)
    assert [c.column for c in offered] == ["Which of these best describes you?", "Q7"]
    sex, ethnic = offered
    assert sex.suggestions[0].characteristic == "sex"
    assert (sex.suggestions[0].placed, sex.suggestions[0].answered) == (40, 40)
    assert ethnic.suggestions[0].characteristic == "ethnic_group"
    assert sex.choices[0] == "sex" and "ethnic_group" in sex.choices
    assert "age" not in sex.choices  # "How old are you?" answers it already
    assert "ethnic_group_broad" not in ethnic.choices  # audited from the detailed column


def test_the_api_400_lists_unrecognised_columns_with_suggestions(
    client: TestClient, write_csv: WriteCsv
) -> None:
    rows = [[r[3], r[4], r[5]] for r in _rows()]  # no recognised column at all
    register = write_csv("forms.csv", rows)
    response = client.post(
        "/api/audit",
        files={"register": ("forms.csv", register.read_bytes())},
        data={"area": "Lambeth"},
    )
    assert response.status_code == 400
    body = response.json()
    assert "none of the reference's characteristics" in body["error"]
    columns = {c["column"]: c for c in body["unrecognised_columns"]}
    assert set(columns) == {"Which of these best describes you?", "Q7"}  # not free text
    best = columns["Q7"]["suggestions"][0]
    assert best == {"characteristic": "ethnic_group", "placed": best["placed"], "answered": 35}
    assert columns["Q7"]["choices"][0] == "ethnic_group"
    # Nothing of the answers: only characteristics and counts.
    assert "Indian" not in json.dumps(body["unrecognised_columns"])

    # A mapping naming the columns (as the page downloads it) is posted with the register.
    mapping = (
        '[columns]\n"Which of these best describes you?" = "sex"\n"Q7" = "ethnic_group"\n'
        '"Q8" = "ignore"\n\n[answers.ethnic_group]\n"Whtie British" = "unplaceable"\n'
    )
    audited = client.post(
        "/api/audit",
        files={
            "register": ("forms.csv", register.read_bytes()),
            "mapping": ("mapping.toml", mapping.encode()),
        },
        data={"area": "Lambeth"},
    )
    assert audited.status_code == 200, audited.text
    names = [c["name"] for c in audited.json()["characteristics"]]
    assert "sex" in names and "ethnic_group" in names


def _kept(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "service" / FIXUP_AREA
    return [p for p in folder.iterdir() if p.name != ".lifetime"] if folder.is_dir() else []


def test_officer_chooses_columns_then_answers_and_gets_the_cli_report(
    client: TestClient, write_csv: WriteCsv, tmp_path: Path
) -> None:
    register = write_csv("forms.csv", _rows())
    post = client.post
    first = post(
        "/audit",
        files={"register": ("forms.csv", register.read_bytes())},
        data={"area": "Lambeth", "report_format": "json"},
    )
    # The audit could run on age alone, but two columns probably hold more: it asks.
    assert first.status_code == 200, first.text
    page = BeautifulSoup(first.text, "html.parser")
    assert page.h1.text == "Say what these columns hold"
    labels = [page.select_one(f"label[for={s['id']}]").text for s in page.select("select")]
    assert labels == [
        "What does the column “Which of these best describes you?” hold?",
        "What does the column “Q7” hold?",
    ]
    q7 = page.select_one("#column-1")
    closest = q7.select("optgroup[label=Closest] option")
    assert closest[0]["value"] == "ethnic_group"
    assert "ignore" in [o["value"] for o in q7.select("option")]
    assert "Indian" not in page.text and "My own words" not in page.text  # no answers shown
    token = page.select_one("input[name=token]")["value"]

    # What is kept: the recognised and the asked-about columns, never free text or e-mail.
    (kept,) = _kept(tmp_path)
    record = KeptUploads(kept.parent, lifetime=1800).open(token)
    assert record is not None
    csv = base64.b64decode(record["register"]["data"]).decode()
    assert csv.splitlines()[0] == ",".join(HEADER)  # every header, to describe the register
    assert csv.splitlines()[1] == ",,20,Female,White British,,"  # but only these answers
    assert "example.org" not in csv and "My own words" not in csv and "SW2" not in csv
    assert "SW2" not in json.dumps(record)  # postcodes are counted by place, not kept

    # Nothing chosen, then one characteristic for two columns: errors linked to each field.
    missing = post("/fixup", data={"token": token, "column-1": "ethnic_group"})
    assert missing.status_code == 400
    errors = BeautifulSoup(missing.text, "html.parser")
    assert [a["href"] for a in errors.select(".error-summary a")] == ["#column-0"]
    assert errors.select_one("#column-0")["aria-invalid"] == "true"
    assert errors.select_one("#column-1 option[selected]")["value"] == "ethnic_group"
    twice = post("/fixup", data={"token": token, "column-0": "sex", "column-1": "sex"})
    assert twice.status_code == 400
    assert (
        "both chosen as sex"
        in BeautifulSoup(twice.text, "html.parser")
        .select_one(".error-summary a[href='#column-1']")
        .text
    )

    # The columns chosen: their own unknown answers are asked next, under a new token.
    columns = {"column-0": "sex", "column-1": "ethnic_group"}
    asked = post("/fixup", data={"token": token, **columns})
    assert asked.status_code == 200
    page = BeautifulSoup(asked.text, "html.parser")
    assert page.h1.text == "Say what these columns and answers mean"
    assert "1 answer that matches no category" in page.select_one("[role=status]").text
    (answer,) = page.select("select[id^=answer-]")
    assert page.select_one(f"label[for={answer['id']}]").text == (
        "“Whtie British” in the column “Q7”"
    )
    assert page.select_one("#column-1 option[selected]")["value"] == "ethnic_group"
    new_token = page.select_one("input[name=token]")["value"]
    assert new_token != token and len(_kept(tmp_path)) == 1  # replaced, not added
    british = "White: English, Welsh, Scottish, Northern Irish or British"
    chosen = {"token": new_token, **columns, answer["id"]: british}

    download = post("/fixup", data={**chosen, "action": "mapping"})
    assert download.status_code == 200
    mapping_path = tmp_path / "mapping.toml"
    mapping_path.write_bytes(download.content)
    mapping = read_mapping(mapping_path)
    assert mapping.columns == {"Which of these best describes you?": "sex", "Q7": "ethnic_group"}
    assert mapping.answer_for("ethnic_group", "Whtie British") == british

    report = post("/fixup", data={**chosen, "action": "report"})
    assert report.status_code == 200, report.text
    assert _kept(tmp_path) == []
    from_page = report.json()

    # The next audit from the command line, with the downloaded mapping: the same result.
    out = tmp_path / "cli.json"
    ran = CliRunner().invoke(
        cli,
        [
            *("audit", str(register), "--area", "Lambeth", "--mapping", str(mapping_path)),
            *("--format", "json", "--output", str(out)),
        ],
    )
    assert ran.exit_code == 0, ran.output
    from_cli = json.loads(out.read_text())
    assert {c["name"] for c in from_page["characteristics"]} >= {"imd_decile", "ward"}
    assert from_page == from_cli


def test_when_the_columns_cannot_be_kept_the_report_comes_as_without_asking(
    client: TestClient, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inclusion_audit.web.pages

    from .jobs import broken_audit

    monkeypatch.setattr(inclusion_audit.web.pages, "fixup_material", broken_audit)
    register = write_csv("forms.csv", _rows())
    response = client.post(
        "/audit",
        files={"register": ("forms.csv", register.read_bytes())},
        data={"area": "Lambeth", "report_format": "json"},
    )
    assert response.status_code == 200
    names = {c["name"] for c in response.json()["characteristics"]}
    assert "age" in names and not names & {"sex", "ethnic_group"}  # not asked: not audited
