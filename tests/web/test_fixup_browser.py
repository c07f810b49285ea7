"""The fix-up page in a real browser (issue 18): Debian's Chromium through Playwright.

Screenshots go to ``$INCLUSION_AUDIT_SCREENSHOTS`` when it is set (the issue's note
keeps them), else to the test's temporary folder.
"""

from __future__ import annotations

import csv
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

ETHNIC = [
    "White: English, Welsh, Scottish, Northern Irish or British",
    "Other White",  # the part after the colon: understood
    "Black, Black British, Black Welsh, Caribbean or African: African",
    "Whtie British",  # a typo: asked about
    "Caribbean",
    "Mixed - White & Black Caribbean",
    "Latin American",  # no Census category: asked about
    "",
]


def google_forms_export(path: Path, rows: int = 60) -> Path:
    """A register as Google Forms exports it: timestamp, email, name, questions, comments."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "Timestamp",
                "Email address",
                "Your name",
                "What is your age?",
                "What is your sex?",
                "What is your ethnic group?",
                "Postcode",
                "Anything else you would like to tell us?",
            ]
        )
        for i in range(rows):
            out.writerow(
                [
                    f"14/07/2026 18:{i % 60:02d}:00",
                    f"person{i}@example.org",
                    f"Person {i} Surname",
                    str(18 + (i * 7) % 60),
                    ["Female", "Male", "Female", "Prefer not to say"][i % 4],
                    ETHNIC[i % len(ETHNIC)],
                    "SW2 1RW",
                    "The room was too hot" if i % 9 == 0 else "",
                ]
            )
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("INCLUSION_AUDIT_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    scratch = tmp_path_factory.mktemp("scratch") / "service"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(ServiceSettings(scratch=scratch))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", scratch
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(viewport={"width": 1000, "height": 900})
        browser.close()


def _kept(scratch: Path) -> list[Path]:
    folder = scratch / "fixup"
    return [p for p in folder.iterdir() if p.name != ".lifetime"] if folder.is_dir() else []


def _upload(page: Page, base_url: str, register: Path) -> None:
    page.goto(base_url)
    page.get_by_label("Participant register").set_input_files(str(register))
    page.get_by_label("Area").fill("Lambeth")
    page.get_by_label("Ages the event was open to").fill("16+")
    page.get_by_label("Event name").fill("Brixton summer forum")
    with page.expect_navigation():
        page.get_by_role("button", name="Make the report").click()


def test_officer_fixes_answers_and_gets_the_report(
    page: Page, service: tuple[str, Path], tmp_path: Path, shots: Path
) -> None:
    base_url, scratch = service
    _upload(page, base_url, google_forms_export(tmp_path / "Summer forum (Responses).csv"))
    assert page.locator("h1").inner_text() == "Say what these answers mean"
    assert (
        "never names, contact details, postcodes or comments" in page.locator("body").inner_text()
    )
    assert len(_kept(scratch)) == 1
    page.screenshot(path=str(shots / "fixup-page.png"), full_page=True)

    # Submitting with nothing chosen: the error summary links to each field.
    with page.expect_navigation():
        page.get_by_role("button", name="Make the report").click()
    summary = page.get_by_role("alert")
    assert "There is a problem" in summary.inner_text()
    page.screenshot(path=str(shots / "fixup-errors.png"), full_page=True)
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "answer-0"

    page.get_by_label("“Whtie British” in the column “What is your ethnic group?”").select_option(
        "White: English, Welsh, Scottish, Northern Irish or British"
    )
    page.get_by_label("“Latin American” in the column “What is your ethnic group?”").select_option(
        "Other ethnic group: Any other ethnic group"
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Make the report").click()
    assert page.locator("h1").inner_text() == "Brixton summer forum"
    body = page.locator("body").inner_text()
    assert "Who was missed" in body
    assert "Person 1 Surname" not in body and "example.org" not in body
    assert _kept(scratch) == []  # the report is made: nothing kept
    page.screenshot(path=str(shots / "fixup-report.png"))


def test_keyboard_only_completion(
    page: Page, service: tuple[str, Path], tmp_path: Path, shots: Path
) -> None:
    base_url, scratch = service
    _upload(page, base_url, google_forms_export(tmp_path / "responses.csv", rows=30))
    assert page.locator("h1").inner_text() == "Say what these answers mean"
    selects = page.locator("select")
    count = selects.count()
    page.keyboard.press("Tab")  # the skip link
    for index in range(count):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"answer-{index}"
        page.keyboard.press("ArrowDown")  # the first choice: the closest category
        assert selects.nth(index).input_value() != ""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Make the report"
    page.screenshot(path=str(shots / "fixup-keyboard.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Who was missed" in page.locator("body").inner_text()
    assert _kept(scratch) == []


def microsoft_forms_export(path: Path, rows: int = 40) -> Path:
    """A register as Microsoft Forms exports it: numbered questions the audit does not know."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                *("ID", "Start time", "Email", "Name", "Q1. How old are you?"),
                *("Which of these best describes you?", "Q7", "Q8", "Postcode"),
            ]
        )
        for i in range(rows):
            out.writerow(
                [
                    *(i + 1, f"7/14/26 18:{i % 60:02d}:00", f"person{i}@example.org"),
                    *(f"Person {i}", str(18 + (i * 7) % 60), ["Female", "Male"][i % 2]),
                    *(ETHNIC[i % len(ETHNIC)], f"My own words, number {i}", "SW2 1RW"),
                ]
            )
    return path


def test_officer_says_what_columns_hold_by_keyboard(
    page: Page, service: tuple[str, Path], tmp_path: Path, shots: Path
) -> None:
    base_url, scratch = service
    _upload(page, base_url, microsoft_forms_export(tmp_path / "Forum feedback.csv"))
    assert page.locator("h1").inner_text() == "Say what these columns hold"
    body = page.locator("body").inner_text()
    assert "My own words" not in body and "Indian" not in body  # no answers shown
    page.screenshot(path=str(shots / "fixup-columns.png"), full_page=True)

    # Keyboard only. Nothing chosen: the error summary's links lead to each field.
    page.keyboard.press("Tab")  # the skip link
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Make the report"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    assert summary.get_by_role("link").count() == 2
    page.screenshot(path=str(shots / "fixup-columns-errors.png"), full_page=True)
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the summary's first link
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "column-0"
    # The first choice of each column is its closest characteristic.
    for index in range(2):
        if index:
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"column-{index}"
        page.keyboard.press("ArrowDown")
    assert page.get_by_label("What does the column “Q7” hold?").input_value() == "ethnic_group"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Make the report"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The chosen column holds answers no category matches: asked next, on the same page.
    assert page.locator("h1").inner_text() == "Say what these columns and answers mean"
    assert "The columns you chose hold 2 answers" in page.get_by_role("status").inner_text()
    page.screenshot(path=str(shots / "fixup-columns-answers.png"), full_page=True)
    page.get_by_label("What does the column “Q7” hold?").focus()
    for index in range(2):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"answer-{index}"
        page.keyboard.press("ArrowDown")
    assert page.get_by_label("“Whtie British” in the column “Q7”").input_value() != ""
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Brixton summer forum"
    report = page.locator("body").inner_text()
    assert "Ethnic group" in report and "Wards: where participants live" in report
    assert "Person 1" not in report and "example.org" not in report
    assert _kept(scratch) == []
