"""serve --store (issue 18): save, history, review in the browser; sign-in; CSRF; the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from inclusion_audit.config import ArrangementError
from inclusion_audit.web.app import create_app
from inclusion_audit.web.history_pages import check_arrangement
from inclusion_audit.web.settings import ServiceSettings

TOKEN = "correct-horse-battery-staple-42"
TODAY = dt.date.today()


def test_a_store_needs_a_token_and_a_user_header_needs_loopback(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    with pytest.raises(ArrangementError, match="needs --token"):
        check_arrangement(ServiceSettings(store=store), "127.0.0.1", unix_socket=False)
    header = ServiceSettings(store=store, token=TOKEN, user_header="X-Forwarded-User")
    with pytest.raises(ArrangementError, match="trusts whoever sends that header"):
        check_arrangement(header, "0.0.0.0", unix_socket=False)
    check_arrangement(header, "127.0.0.1", unix_socket=False)
    check_arrangement(header, "::1", unix_socket=False)
    check_arrangement(header, None, unix_socket=True)
    with pytest.raises(ArrangementError):
        create_app(ServiceSettings(store=store, scratch=tmp_path / "s"))


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(
        max_upload_mb=1, scratch=tmp_path / "service", store=tmp_path / "h.sqlite", token=TOKEN
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _audit(client: TestClient, register: Path) -> BeautifulSoup:
    response = client.post(
        "/audit",
        files={"register": (register.name, register.read_bytes())},
        data={
            "area": "Lambeth",
            "eligible_age": "16+",
            "title": "Riverside forum",
            "date": TODAY.isoformat(),
        },
    )
    assert response.status_code == 200, response.text[:500]
    return BeautifulSoup(response.text, "html.parser")


def test_pages_and_api_need_a_sign_in(lead: TestClient) -> None:
    assert lead.get("/history", follow_redirects=False).headers["location"] == "/signin"
    assert lead.get("/review", follow_redirects=False).status_code == 303
    assert lead.get("/api/history").status_code == 401
    wrong = lead.post("/signin", data={"token": "guess"})
    assert wrong.status_code == 401
    assert "is not the service" in BeautifulSoup(wrong.text, "html.parser").text
    right = lead.post("/signin", data={"token": TOKEN}, follow_redirects=False)
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert lead.get("/history").status_code == 200
    api = TestClient(lead.app).get("/api/history", headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.status_code == 200 and api.json() == []


def test_save_list_review_and_remove(lead: TestClient, example_register: Path) -> None:
    report = _audit(lead, example_register)
    form = report.select_one("form[action='/history/save']")
    assert form is not None
    assert form.select_one("#save-name")["value"] == "Riverside forum"
    assert form.select_one("label[for=save-token]") is not None  # not signed in yet
    fields = {i["name"]: i.get("value", "") for i in form.select("input")}

    # Without the token or a session's CSRF token nothing is saved.
    forged = lead.post("/history/save", data={**fields, "signin_token": "guess"})
    assert forged.status_code == 403
    saved = lead.post(
        "/history/save", data={**fields, "signin_token": TOKEN}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    page = BeautifulSoup(lead.get(saved.headers["location"]).text, "html.parser")
    assert "Saved Riverside forum" in page.select_one("[role=status]").text
    assert [td.text for td in page.select("tbody td")][:2] == [TODAY.isoformat(), "Riverside forum"]
    assert "3 years" in page.text
    again = lead.post("/history/save", data={**fields, "signin_token": TOKEN})
    assert again.status_code == 410  # kept once: saved already

    review = lead.get("/review", params={"from": TODAY.isoformat(), "by": "month", "show": "1"})
    assert review.status_code == 200
    shown = BeautifulSoup(review.text, "html.parser")
    links = [a["href"] for a in shown.select("nav[aria-label='Review downloads'] a[download]")]
    assert any("format=json" in link for link in links)
    download = lead.get(next(link for link in links if "format=json" in link))
    assert download.headers["content-disposition"] == 'attachment; filename="review.json"'
    assert download.status_code == 200 and isinstance(download.json(), dict)

    remove = page.select_one("form[action='/history/remove']")
    data = {i["name"]: i["value"] for i in remove.select("input")}
    assert lead.post("/history/remove", data={**data, "csrf": "forged"}).status_code == 403
    done = lead.post("/history/remove", data=data, follow_redirects=False)
    assert done.status_code == 303
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert TestClient(lead.app).get("/api/history", headers=bearer).json() == []


def test_the_api_mirrors_the_pages(lead: TestClient, example_register: Path) -> None:
    report = _audit(lead, example_register)
    fields = {
        i["name"]: i.get("value", "") for i in report.select("form[action='/history/save'] input")
    }
    lead.post("/history/save", data={**fields, "signin_token": TOKEN})
    api = TestClient(lead.app)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    [event] = api.get("/api/history", headers=bearer).json()
    assert event["name"] == "Riverside forum"
    review = api.get("/api/review", params={"from": TODAY.isoformat()}, headers=bearer)
    assert review.status_code == 200 and review.headers["content-type"] == "application/json"
    assert api.get("/api/review", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.delete(f"/api/history/{event['id']}", headers=bearer).status_code == 200
    assert api.delete(f"/api/history/{event['id']}", headers=bearer).status_code == 404


def test_a_trusted_proxy_header_signs_in(tmp_path: Path) -> None:
    settings = ServiceSettings(
        scratch=tmp_path / "service",
        store=tmp_path / "h.sqlite",
        token=TOKEN,
        user_header="X-Forwarded-User",
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/history", follow_redirects=False).status_code == 303
        page = client.get("/history", headers={"X-Forwarded-User": "lead@council.gov.uk"})
        assert page.status_code == 200
        assert "httponly" in page.headers["set-cookie"].lower()  # a session for CSRF


def test_without_a_store_there_are_no_history_pages(tmp_path: Path) -> None:
    with TestClient(create_app(ServiceSettings(scratch=tmp_path / "s"))) as client:
        assert client.get("/history").status_code == 404
        assert client.get("/api/history").status_code == 404


def test_a_report_made_after_a_fix_up_offers_saving_too(lead: TestClient, tmp_path: Path) -> None:
    register = tmp_path / "forum.csv"
    register.write_text("Sex,Postcode\n" + "Female,SW2 1RW\nMale,SW9 8AA\nMartian,SW2 1RW\n" * 5)
    page = _audit(lead, register)
    assert page.h1.text == "Say what these answers mean"
    token = page.select_one("input[name=token]")["value"]
    report = lead.post("/fixup", data={"token": token, "answer-0": "unplaceable"})
    assert report.status_code == 200, report.text[:500]
    shown = BeautifulSoup(report.text, "html.parser")
    # As a direct audit's report: the postcodes' wards and deprivation, and the save box.
    assert "Wards: where participants live" in shown.select_one("section.wards h2").text
    assert "SW2" not in report.text
    form = shown.select_one("form[action='/history/save']")
    assert form is not None and form.select_one("#save-name")["value"] == "Riverside forum"
    fields = {i["name"]: i.get("value", "") for i in form.select("input")}
    saved = lead.post("/history/save", data={**fields, "signin_token": TOKEN})
    assert saved.status_code == 200 and "Saved Riverside forum" in saved.text


def test_an_audit_already_stored_is_saved_in_its_place_on_the_page(
    lead: TestClient, example_register: Path
) -> None:
    def save() -> Any:
        form = _audit(lead, example_register).select_one("form[action='/history/save']")
        fields = {i["name"]: i.get("value", "") for i in form.select("input")}
        return lead.post("/history/save", data={**fields, "signin_token": TOKEN})

    assert "Saved Riverside forum" in save().text
    again = save()
    assert again.status_code == 409
    page = BeautifulSoup(again.text, "html.parser")
    assert page.h1.text == "This audit is already in the history"
    assert "--replace" not in page.text and "Riverside forum" in page.select_one(".lead").text
    assert page.select_one("main a[href='/history']").text == "Leave it out"
    form = page.select_one("form[action='/history/save']")
    fields = {i["name"]: i["value"] for i in form.select("input")}
    assert fields["replace"] == "yes" and fields["csrf"]
    assert lead.post("/history/save", data={**fields, "csrf": "forged"}).status_code == 403
    replaced = lead.post("/history/save", data=fields)
    assert replaced.status_code == 200 and "Saved Riverside forum" in replaced.text
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert len(TestClient(lead.app).get("/api/history", headers=bearer).json()) == 1
