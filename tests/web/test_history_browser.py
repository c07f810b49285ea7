"""serve --store in Chromium (issue 18): sign in, save from the report, history, review.

Screenshots go to ``$INCLUSION_AUDIT_SCREENSHOTS`` when it is set.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from inclusion_audit.web.app import create_app
from inclusion_audit.web.settings import ServiceSettings

from .test_service_browser import ARGS, CHROMIUM

TOKEN = "a-long-enough-sign-in-token-for-tests"
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("INCLUSION_AUDIT_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("history")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ServiceSettings(
        scratch=folder / "service", store=folder / "history.sqlite", token=TOKEN
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(viewport={"width": 1000, "height": 900})
        browser.close()


def test_lead_saves_audits_and_reviews_the_quarter(
    page: Page, base_url: str, example_register: Path, shots: Path, tmp_path: Path
) -> None:
    # A second event: another register (the same one twice is refused as a duplicate).
    second = tmp_path / "library-drop-in.csv"
    second.write_text(
        "".join(example_register.read_text(encoding="utf-8").splitlines(True)[:-40]),
        encoding="utf-8",
    )
    # Sign in by keyboard only.
    page.goto(base_url + "/history")
    assert page.locator("h1").inner_text() == "Sign in to the history"
    page.get_by_label("Sign-in token").focus()
    page.keyboard.type(TOKEN)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "History of audited events"

    for name, register in (("Riverside forum", example_register), ("Library drop-in", second)):
        page.goto(base_url)
        page.get_by_label("Participant register").set_input_files(str(register))
        page.get_by_label("Area").fill("Lambeth")
        page.get_by_label("Ages the event was open to").fill("16+")
        page.get_by_label("Event name").fill(name)
        page.get_by_label("Date", exact=True).fill(TODAY.isoformat())
        with page.expect_navigation():
            page.get_by_role("button", name="Make the report").click()
        assert page.get_by_label("Event name").input_value() == name
        with page.expect_navigation():
            page.get_by_role("button", name="Save to the history").click()
        assert f"Saved {name}" in page.get_by_role("status").inner_text()
    page.screenshot(path=str(shots / "history-page.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("link", name="Review a period").click()
    page.get_by_label("From").fill(TODAY.replace(day=1).isoformat())
    page.get_by_label("By month").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Show the review").click()
    assert page.get_by_role("navigation", name="Review downloads").is_visible()
    assert "2 events" in page.locator("body").inner_text()
    page.screenshot(path=str(shots / "review-page.png"))

    page.goto(base_url + "/history")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Remove Library drop-in, {TODAY.isoformat()}").click()
    assert "Removed Library drop-in" in page.get_by_role("status").inner_text()
