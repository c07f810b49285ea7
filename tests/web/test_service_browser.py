"""The form in a real browser: Debian's Chromium driven by Playwright, no download.

`make test` installs Chromium with the other test tools (scripts/ensure-system-libs.sh).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from inclusion_audit.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic is refused on a closed network; keep it quiet.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="error")
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


def test_officer_gets_a_report(
    page: Page, base_url: str, example_register: Path, tmp_path: Path
) -> None:
    page.goto(base_url)
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    # Labels work: the fields are found by what an officer reads on the page.
    page.get_by_label("Participant register").set_input_files(str(example_register))
    page.get_by_label("Area").fill("Lambeth")
    page.get_by_label("Ages the event was open to").fill("16+")
    page.get_by_label("Event name").fill("Riverside forum")
    page.locator("#childcare-no").check()
    page.get_by_role("button", name="Make the report").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Riverside forum"
    body = page.locator("body").inner_text()
    assert "Who was missed" in body and "crèche" in body
    assert "Synthetic Person" not in body
    page.screenshot(path=str(tmp_path / "report.png"))


def test_officer_sees_what_to_fix(
    page: Page, base_url: str, example_register: Path, tmp_path: Path
) -> None:
    page.goto(base_url)
    page.get_by_label("Participant register").set_input_files(str(example_register))
    page.get_by_label("Area").fill("Lambth")
    page.get_by_role("button", name="Make the report").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "There is a problem" in alert.inner_text()
    assert "Did you mean: Lambeth (E09000022)" in alert.inner_text()
    assert page.get_by_label("Area").input_value() == "Lambth"
    page.screenshot(path=str(tmp_path / "error.png"))


def test_keyboard_reaches_every_control_in_order(page: Page, base_url: str) -> None:
    page.goto(base_url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "register"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "area"
