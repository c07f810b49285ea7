"""Reports: structure, escaping, disclosure control, template overrides, PDF."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from inclusion_audit import audit_register, read_reference_csv
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.report.context import ReportContext, build_context
from inclusion_audit.report.render import RenderOptions, render
from inclusion_audit.result import AuditResult, Status

from ..conftest import REPO, register_rows

GOLDEN = Path(__file__).parents[1] / "golden"
HOSTILE = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def example_result(example_register, example_reference) -> AuditResult:
    return audit_register(read_table(example_register), read_reference_csv(example_reference))


def structure(html: str) -> dict[str, object]:
    soup = BeautifulSoup(html, "html.parser")
    return {
        "lang": soup.html["lang"],
        "headings": [
            (h.name, h.get_text(" ", strip=True)) for h in soup.find_all(["h1", "h2", "h3"])
        ],
        "tables": [
            {
                "caption": t.caption.get_text(" ", strip=True),
                "columns": [th.get_text(" ", strip=True) for th in t.thead.find_all("th")],
                "rows": [tr.th.get_text(" ", strip=True) for tr in t.tbody.find_all("tr")],
            }
            for t in soup.find_all("table")
        ],
    }


def test_html_structure_matches_golden(example_result, update_golden) -> None:
    html = render(example_result, "html").decode()
    golden = GOLDEN / "example_report_structure.json"
    found = json.loads(json.dumps(structure(html)))
    if update_golden:
        golden.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    assert found == json.loads(golden.read_text())


def test_headings_are_in_order_and_tables_have_headers(example_result) -> None:
    soup = BeautifulSoup(render(example_result, "html").decode(), "html.parser")
    levels = [int(h.name[1]) for h in soup.find_all(["h1", "h2", "h3", "h4"])]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))
    for table in soup.find_all("table"):
        assert table.caption is not None
        assert all(th.get("scope") in ("col", "row") for th in table.find_all("th"))


def test_status_is_given_in_words(example_result) -> None:
    soup = BeautifulSoup(render(example_result, "html").decode(), "html.parser")
    statuses = {s.get_text() for s in soup.select("span.status")}
    assert "Under-represented" in statuses


def hostile_result(write_csv) -> AuditResult:
    reference = write_csv(
        "ref.csv",
        [["characteristic", "category", "count"], [HOSTILE, FORMULA, 50], [HOSTILE, "B & <b>", 50]],
    )
    register = write_csv("register.csv", register_rows({HOSTILE: {FORMULA: 12, "B & <b>": 8}}))
    return audit_register(read_table(register), read_reference_csv(reference))


def test_hostile_strings_are_escaped_in_html(write_csv) -> None:
    html = render(hostile_result(write_csv), "html").decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("b") is None


def test_hostile_strings_are_escaped_in_markdown(write_csv) -> None:
    markdown = render(hostile_result(write_csv), "md").decode()
    assert "<script>" not in markdown and "\\<script\\>" in markdown


def test_small_counts_are_suppressed_in_reports(write_csv) -> None:
    reference = write_csv(
        "ref.csv",
        [
            ["characteristic", "category", "count"],
            ["sex", "Female", 50],
            ["sex", "Male", 45],
            ["sex", "Other", 5],
        ],
    )
    register = write_csv(
        "register.csv", register_rows({"sex": {"Female": 20, "Male": 17, "Other": 3}})
    )
    result = audit_register(read_table(register), read_reference_csv(reference))
    soup = BeautifulSoup(render(result, "html").decode(), "html.parser")
    cells = {
        tr.th.get_text(strip=True): tr.find("td").get_text(strip=True)
        for tr in soup.select("table.groups tbody tr")
    }
    # Other (3) is hidden, and Male (17) with it, or 3 = 40 - 20 - 17 could be worked out.
    assert cells == {"Female": "20", "Male": "withheld", "Other": "0–4"}
    assert "17" not in soup.select_one("table.groups").get_text()
    internal = render(result, "html", RenderOptions(internal=True)).decode()
    assert "Restricted:" in internal and ">3<" in internal
    assert json.loads(render(result, "json"))["characteristics"][0]["groups"][2]["count"] == 3


def test_template_override_extends_the_shipped_one(tmp_path, example_result) -> None:
    (tmp_path / "base.html").write_text(
        '{% extends "default:base.html" %}{% block masthead %}<p class="logo">Riverside Council'
        "</p>{{ super() }}{% endblock %}"
    )
    html = render(example_result, "html", RenderOptions(template_dir=tmp_path)).decode()
    assert '<p class="logo">Riverside Council</p>' in html and "Summary" in html


def test_template_context_is_documented() -> None:
    doc = (REPO / "docs" / "template-context.md").read_text()
    for field in ReportContext.__dataclass_fields__.values():
        assert f"`{field.name}`" in doc, f"{field.name} is not documented"
        assert field.metadata.get("help"), f"{field.name} has no help text"


def test_context_keys_are_the_contract(example_result) -> None:
    context = build_context(example_result).as_dict()
    assert set(context) == set(ReportContext.__dataclass_fields__)
    assert next(g["status"] for g in context["missed"]) == "under"


def test_pdf_has_the_sections_and_renders_to_pages(tmp_path, example_result) -> None:
    assert shutil.which("pdftotext"), "poppler-utils is missing: run make test, which installs it"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(example_result, "pdf"))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for section in ("Summary", "Who was missed", "Age", "Ethnic group", "Method", "Page 1 of"):
        assert section in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.stat().st_size > 1000 for p in pages)


def test_every_characteristic_has_an_accessible_chart(example_result) -> None:
    soup = BeautifulSoup(render(example_result, "html").decode(), "html.parser")
    sections = soup.select("section.characteristic")
    assert len(sections) == len(example_result.characteristics)
    for section, characteristic in zip(sections, example_result.characteristics, strict=True):
        svg = section.select_one("figure.chart svg")
        assert svg is not None and svg["role"] == "img"
        title_id, desc_id = svg["aria-labelledby"].split()
        desc = svg.find(id=desc_id).get_text()
        assert svg.find(id=title_id).get_text()
        for group in characteristic.groups:
            assert group.category in desc
        # Hatched area bars: colour is not the only cue.
        assert svg.find("pattern") is not None


def test_chart_bars_are_proportional(example_result) -> None:
    from inclusion_audit.report.charts import PLOT_WIDTH, share_chart

    data = example_result.to_dict()["characteristics"][0]
    chart = share_chart(data, 5)
    top = float(chart.ticks[-1][1].rstrip("%")) / 100
    for row, group in zip(chart.rows, data["groups"], strict=True):
        assert row.area_width == pytest.approx(PLOT_WIDTH * group["population_share"] / top)
        assert row.participant_width == pytest.approx(PLOT_WIDTH * group["share"] / top)
        assert row.ci_low_x <= row.participant_width <= row.ci_high_x


def test_summary_sections_and_empty_actions(example_result) -> None:
    soup = BeautifulSoup(render(example_result, "html").decode(), "html.parser")
    summary = soup.select_one("section.summary")
    headings = [h.get_text() for h in summary.find_all("h3")]
    assert headings[:4] == [
        "The event audited",
        "Who was missed",
        "What to do next",
        "Overall similarity and completeness",
    ]
    assert "No outreach actions could be matched" in summary.select_one(".empty-state").get_text()
    missed = [li.get_text() for li in summary.select("ul.missed li")]
    assert missed[0].startswith("25-34 (age): under-represented")
    quality = soup.select_one("section.data-quality")
    assert "240 rows were read" in quality.get_text()


def test_long_tables_are_summarised(write_csv) -> None:
    categories = [f"Group {i:02d}" for i in range(30)]
    reference = write_csv(
        "ref.csv",
        [["characteristic", "category", "count"], *[["group", c, 100] for c in categories]],
    )
    counts = dict.fromkeys(categories, 20)
    counts["Group 00"] = 0
    register = write_csv("register.csv", register_rows({"group": counts}))
    result = audit_register(read_table(register), read_reference_csv(reference))
    soup = BeautifulSoup(render(result, "html").decode(), "html.parser")
    rows = soup.select("table.groups tbody tr")
    assert [r.th.get_text() for r in rows] == ["Group 00"]
    assert "29 other groups" in soup.select_one("section.characteristic p.note").get_text()
    assert soup.select_one("section.characteristic figure") is None


def test_csv_is_disclosure_controlled_and_formula_safe(write_csv) -> None:
    import csv as csv_module
    import io

    reference = write_csv(
        "ref.csv",
        [
            ["characteristic", "category", "count"],
            ["sex", FORMULA, 50],
            ["sex", "Male", 45],
            ["sex", "X", 5],
        ],
    )
    register = write_csv("register.csv", register_rows({"sex": {FORMULA: 20, "Male": 17, "X": 3}}))
    result = audit_register(read_table(register), read_reference_csv(reference))
    data = render(result, "csv")
    assert data.startswith("\ufeff".encode())
    rows = list(csv_module.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["category"] == "'" + FORMULA
    assert [r["count"] for r in rows] == ["20", "", ""]
    assert [r["suppressed"] for r in rows] == ["False", "True", "True"]
    internal = render(result, "csv", RenderOptions(internal=True)).decode("utf-8-sig")
    assert [r["count"] for r in csv_module.DictReader(io.StringIO(internal))] == ["20", "17", "3"]


def test_pdf_first_page_is_the_summary(tmp_path, example_result) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(example_result, "pdf"))
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heading in ("Summary", "Who was missed", "What to do next", "Overall similarity"):
        assert heading in first
    assert "Method" not in first


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_text_colours_meet_wcag_aa_contrast_on_white() -> None:
    import re

    css = (REPO / "report_templates" / "report.css").read_text()
    chart = (REPO / "report_templates" / "_chart.html").read_text()
    variables = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    colours = re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6}|var\(--[a-z-]+\))", css)
    colours += re.findall(r'<text[^>]*fill="(#[0-9a-fA-F]{6})"', chart)
    assert colours
    for colour in colours:
        if colour.startswith("var("):
            colour = variables[colour[6:-1]]
        ratio = (1.0 + 0.05) / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, f"{colour} has contrast {ratio:.2f} on white"


def test_recommendations_reach_the_summary_and_their_section(example_register) -> None:
    from inclusion_audit.action.event import load_event
    from inclusion_audit.audit import run_audit
    from inclusion_audit.reference import census
    from inclusion_audit.reference.profiles import CensusReference

    reference = CensusReference(
        tuple(census.resolve_areas(["Lambeth"])), census.parse_age_range("16+")
    )
    event = load_event(Path(__file__).parents[1] / "fixtures" / "events" / "town_hall.yaml")
    result = run_audit(read_table(example_register), reference, event=event)
    under = {(c.name, g.category) for c, g in result.groups_with_status(Status.UNDER)}
    recommended = {pair for r in result.recommendations for pair in r.groups}
    assert under <= recommended
    assert [r.priority for r in result.recommendations] == list(
        range(1, len(result.recommendations) + 1)
    )
    soup = BeautifulSoup(render(result, "html").decode(), "html.parser")
    actions = soup.select("section.summary ol.actions li")
    assert len(actions) == 3
    first = result.recommendations[0]
    assert actions[0].strong.get_text() == first.label[:1].upper() + first.label[1:]
    assert all(pair[1] in actions[0].get_text() for pair in first.groups)
    assert "Wednesday" in soup.select_one("section.summary dl.event-summary").get_text()
    section = soup.select_one("section.recommendations")
    assert section is not None and section.select("table.barriers tbody tr")
    assert "10:00 on a Wednesday" in section.get_text()


def test_several_formats_share_one_html_rendering(example_result) -> None:
    from inclusion_audit.report.render import render_formats

    outputs = render_formats(example_result, ["json", "html", "pdf"])
    assert outputs["html"] == render(example_result, "html")
    assert outputs["pdf"].startswith(b"%PDF")
    assert outputs["json"] == render(example_result, "json")


def test_one_environment_per_template_folder_and_shipped_templates_kept_compiled(
    tmp_path, example_result
) -> None:
    from inclusion_audit.report.render import environment

    assert environment() is environment()
    assert environment(tmp_path) is not environment()
    # A council's own templates are never written anywhere.
    assert environment(tmp_path).bytecode_cache is None
    cache = environment().bytecode_cache
    assert cache is not None
    render(example_result, "html")
    template = environment().get_template("report.html")
    assert template.filename is not None
    kept = Path(cache.directory) / (
        cache.pattern % cache.get_cache_key("report.html", template.filename)
    )
    assert kept.is_file()


def test_a_cache_that_cannot_be_used_only_means_compiling(tmp_path, monkeypatch) -> None:
    import tempfile

    from jinja2 import DictLoader, Environment

    from inclusion_audit.report import render as render_module

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    assert render_module._shipped_bytecode_cache() is None
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = render_module._shipped_bytecode_cache()
    assert cache is not None
    cache.directory = str(tmp_path / "gone")
    env = Environment(loader=DictLoader({"t.html": "{{ 1 + 1 }}"}), bytecode_cache=cache)
    assert env.get_template("t.html").render() == "2"


def test_a_withheld_similarity_is_one_figure_when_its_range_rounds_to_one(example_register) -> None:
    from inclusion_audit.audit import run_audit
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.report.disclosure import DEFAULT_THRESHOLD, suppress_small_counts

    source, _ = choose_reference(["Lambeth"], "16+", None, None)
    result = run_audit(read_table(example_register), source)
    shared = suppress_small_counts(result.to_dict(), DEFAULT_THRESHOLD)
    soup = BeautifulSoup(render(result, "html").decode(), "html.parser")
    rows = soup.select_one("section.summary").find_all("table")[0].select("tbody tr")
    cells = {row.th.get_text(strip=True): row.find_all("td")[0] for row in rows}
    ranged = [c for c in shared["characteristics"] if c["dissimilarity_low"] is not None]
    assert ranged  # the example's wards and deciles hide small counts
    for characteristic in ranged:
        label = characteristic["name"].replace("imd_decile", "deprivation decile")
        cell = cells[label.replace("_", " ").capitalize()]
        for hidden in cell.select(".visually-hidden"):
            hidden.extract()
        shown = [int(x) for x in re.findall(r"(\d+)%", cell.get_text())]
        least = round(100 * (1 - characteristic["dissimilarity_high"]))
        most = round(100 * (1 - characteristic["dissimilarity_low"]))
        assert shown == ([least] if least == most else [least, most]), (cell, least, most)
