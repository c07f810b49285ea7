"""The report as a document: its page count and the page each section starts on.

Seen page by page (issue 17): a heading left alone at the foot of a page, a page
almost blank before a forced break, or a summary that spills are layout
regressions a reader notices first. The golden file pins the demo report's pages;
update it with ``--update-golden`` after a deliberate change, having looked at
the pages (``pdftoppm -png``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from inclusion_audit.action.event import load_event
from inclusion_audit.action.recommendations import load_partners
from inclusion_audit.audit import run_audit
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.reference import census
from inclusion_audit.reference.profiles import CensusReference
from inclusion_audit.report.render import RenderOptions, render

from ..conftest import EXAMPLES

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "demo_report_pages.json"


def page_layout(pdf: Path, headings: list[str]) -> dict[str, object]:
    """Pages, and for each h2 heading the page it is on (from the PDF's text)."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(next(line for line in info.stdout.splitlines() if line.startswith("Pages:"))[6:])
    texts = [
        {
            line.strip()
            for line in subprocess.run(
                ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()
        }
        for page in range(1, pages + 1)
    ]
    # Headings come in document order, so each is looked for from the page of the one
    # before (the summary's "What to do next" is not the section's).
    found: dict[str, int] = {}
    cursor = 1
    for heading in headings:
        page = next((p for p in range(cursor, pages + 1) if heading in texts[p - 1]), None)
        if page is not None:
            found[heading] = cursor = page
    return {"pages": pages, "sections": found}


def test_demo_report_pages_match_golden(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    reference = CensusReference(
        tuple(census.resolve_areas(["Lambeth"])), census.parse_age_range("16+")
    )
    result = run_audit(
        read_table(EXAMPLES / "riverside-forum-register.csv"),
        reference,
        event=load_event(EXAMPLES / "riverside-forum-event.yaml"),
        partners=load_partners(EXAMPLES / "riverside-partners.csv"),
    )
    html = render(result, "html", RenderOptions()).decode()
    from bs4 import BeautifulSoup

    headings = [h.get_text().strip() for h in BeautifulSoup(html, "html.parser").find_all("h2")]
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(result, "pdf", RenderOptions()))
    layout = page_layout(pdf, headings)
    assert layout["sections"].get("Summary") == 1
    if request.config.getoption("--update-golden"):
        GOLDEN.write_text(json.dumps(layout, indent=1) + "\n", encoding="utf-8")
    assert layout == json.loads(GOLDEN.read_text(encoding="utf-8"))
