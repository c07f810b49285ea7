"""Officers finish in the browser (issue 18): unknown answers answered on the page and the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inclusion_audit.web.app import create_app
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
