"""Shared reports tell the truth and give nothing away: what a reader of each format sees.

* every status word, quota met / not met and "missed at k of m events" in a shared
  report or review agrees with the JSON, with any coarsening said in words;
* no figure of a hidden group appears anywhere in a shared format;
* regression examples for the disclosure mutations that once survived the suite;
* the status boundaries (exactly ``--min-expected`` expected; a ratio of exactly 0.8).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inclusion_audit.action.wording import describe_group
from inclusion_audit.audit import run_audit
from inclusion_audit.history.render import render_review
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.report.disclosure import suppress_small_counts
from inclusion_audit.report.formatters import STATUS_WORDS
from inclusion_audit.report.render import RenderOptions, render

from .test_disclosure_attack import (
    THRESHOLD,
    answers,
    audit,
    registers,
    small_registers,
    stored_review,
    write_register,
)

WORD_STATUS = {word: status for status, word in STATUS_WORDS.items()}
MISSED = ("under", "possible_under")


def status_of(cell: str) -> str:
    """The status a table's status cell shows: its longest status word that starts it.

    A qualifier may follow ("Over-represented, not robust to the missing answers
    (ratio 1.25 to 2.05)"); it qualifies the status, it does not change it.
    """
    words = [w for w in WORD_STATUS if cell.startswith(w)]
    assert words, cell
    return WORD_STATUS[max(words, key=len)]


def agrees(shown: str, truth: str) -> bool:
    """A shown status agrees with the JSON's: the same, or a coarsening said in words."""
    if shown == truth or shown == "withheld":
        return True
    return shown == "few_under" and truth in MISSED


def markdown_tables(text: str) -> dict[str, dict[str, list[str]]]:
    """Each '## Heading' table of a Markdown report: first cell (first two for quotas) -> cells."""
    tables: dict[str, dict[str, list[str]]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip().replace("\\", "")
        elif line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip().replace("\\", "") for c in line.strip("|").split(" | ")]
            key = " / ".join(cells[:2]) if heading == "Quotas" else cells[0]
            tables.setdefault(heading, {})[key] = cells
    return tables


# ---------------------------------------------------------------------------
# Headlines never contradict the JSON


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_every_status_word_of_a_shared_audit_agrees_with_the_json(columns: dict) -> None:
    result = audit(columns)
    truth = result.to_dict()
    text = render(result, "md", RenderOptions()).decode()
    tables = markdown_tables(text)
    # A withheld similarity is shown as a range that holds the JSON's index.
    shared = suppress_small_counts(truth, THRESHOLD)
    for real, seen in zip(truth["characteristics"], shared["characteristics"], strict=True):
        if seen["dissimilarity_index"] is None and seen["dissimilarity_low"] is not None:
            d = real["dissimilarity_index"]
            assert seen["dissimilarity_low"] - 1e-9 <= d <= seen["dissimilarity_high"] + 1e-9
    for characteristic in truth["characteristics"]:
        rows = tables[characteristic["name"].replace("_", " ").capitalize()]
        for group in characteristic["groups"]:
            shown = status_of(rows[group["category"]][5])
            assert agrees(shown, group["status"]), (group["category"], shown, group["status"])
    # "Who was missed": each group listed is missed in the JSON, in the word shown.
    missed = {
        (c["name"], g["category"]): g["status"]
        for c in truth["characteristics"]
        for g in c["groups"]
    }
    section = text.split("## Who was missed", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        found = re.match(r"- \*\*(.+?)\*\* \((.+?)\): (.+)$", line.replace("\\", ""))
        if found is None:
            continue
        name = found[2].replace(" ", "_")
        words = [w for w in WORD_STATUS if found[3].startswith(w.lower())]
        status = WORD_STATUS[max(words, key=len)]
        assert agrees(status, missed[name, found[1]]) and status in (*MISSED, "few_under")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(small_registers(), min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_every_missed_count_of_a_shared_review_agrees_with_the_json(events, random) -> None:
    start = dt.date(2026, 1, 5)
    results = [
        (start + dt.timedelta(days=random.randrange(0, 240)), audit(columns)) for columns in events
    ]
    review, context = stored_review(results)
    truth = {(p.characteristic, p.category): p for p in review.persistent}
    pooled = {(c.name, g.category): g for c in review.pooled for g in c.groups}
    for item in context.persistent:
        real = truth[item["characteristic"], item["category"]]
        # Shown "missed at k of m" counts only what the events' reports show, and says how
        # many more are withheld: the JSON's count lies within.
        assert item["n_missed"] <= real.n_missed <= item["n_missed"] + item["n_withheld"]
        assert item["n_judged"] <= real.n_judged <= item["n_judged"] + item["n_withheld"]
        assert item["n_under"] <= real.n_under
        assert agrees(
            item["pooled_status"], str(pooled[item["characteristic"], item["category"]].status)
        )
    text = render_review(review, ["md"], RenderOptions())["md"].decode()
    for line in text.split("## Missed again and again", 1)[1].split("\n## ", 1)[0].splitlines():
        found = re.match(
            r"- \*\*(.+?)\*\* \((.+?)\): missed at (\d+) of (\d+) events", line.replace("\\", "")
        )
        if found is None:
            continue
        real = truth[found[2].replace(" ", "_"), found[1]]
        withheld = re.search(r"\((\d+) more withheld", line)
        extra = int(withheld[1]) if withheld else 0
        assert int(found[3]) <= real.n_missed <= int(found[3]) + extra
        assert real.missed_again_and_again


def test_quotas_met_in_a_shared_report_agree_with_the_json(write_csv) -> None:
    """A panel that met all its quotas never reads as if some were missed."""
    from inclusion_audit.reference.sources import choose_reference

    targets = write_csv(
        "quotas.csv",
        [
            ["category", "name", "min", "max"],
            ["sex", "Female", 9, 11],
            ["sex", "Male", 9, 11],
            ["age", "16-29", 1, 6],
            ["age", "30+", 14, 19],
        ],
    )
    reference, quotas = choose_reference([], None, None, targets)
    with tempfile.TemporaryDirectory() as folder:
        register = write_register(
            Path(folder),
            {"sex": answers({"Female": 10, "Male": 10}), "age": answers({"16-29": 3, "30+": 17})},
        )
        result = run_audit(read_table(register), reference, quotas=quotas)
    assert all(q.met for q in result.quotas)
    text = render(result, "md", RenderOptions()).decode()
    rows = markdown_tables(text)["Quotas"]
    for quota in result.quotas:
        (row,) = [r for r in rows.values() if r[1] == quota.category]
        assert row[4] in ("yes", "withheld"), row
    found = re.search(r"The panel meets (\d+) of the (\d+) quotas whose result can be shown", text)
    assert found and found[1] == found[2]


# ---------------------------------------------------------------------------
# No figure of a hidden group anywhere


def hidden_figures(result: Any) -> list[tuple[str, str, list[str]]]:
    """Each hidden group's exact figures as a report would print them."""
    truth = result.to_dict()
    shown = suppress_small_counts(truth, THRESHOLD)
    found = []
    for real, seen in zip(truth["characteristics"], shown["characteristics"], strict=True):
        for group, hidden in zip(real["groups"], seen["groups"], strict=True):
            if not hidden["suppressed"] or group["share"] is None:
                continue
            figures = [f"{group['share'] * 100:.1f}%"]
            at_an_end = group["count"] in (hidden["count_low"], hidden["count_high"])
            if group["ratio"] is not None and not at_an_end:
                figures += [f"{group['ratio']:.2f}", f"{group['ratio']:.0%}"]
            found.append((real["name"], group["category"], figures))
    return found


def _occurs(words: str, text: str, longer: list[str]) -> bool:
    """Whether ``words`` occur in ``text`` other than inside a longer group description."""
    for found in re.finditer(rf"\b{re.escape(words)}\b", text):
        inside = any(
            other != words
            and words in other
            and text.find(other, max(0, found.start() - len(other)), found.end() + len(other)) >= 0
            for other in longer
        )
        if not inside:
            return True
    return False


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_no_figure_of_a_hidden_group_appears_in_a_shared_report(columns: dict) -> None:
    # Audited for internal use, so the result's own words carry every figure; shared anyway.
    result = audit(columns, suppress_below=0)
    text = render(result, "md", RenderOptions()).decode().replace("\\", "")
    # The HTML (the web page renders the same) as a reader sees it: text without tags.
    html = render(result, "html", RenderOptions()).decode()
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("<body", 1)[-1]))
    tables = markdown_tables(text)
    shown = suppress_small_counts(result.to_dict(), THRESHOLD)
    status = {
        (c["name"], g["category"]): g["status"]
        for c in shown["characteristics"]
        for g in c["groups"]
    }
    everyone = [
        describe_group(c["name"], g["category"])
        for c in shown["characteristics"]
        for g in c["groups"]
    ]
    for name, category, figures in hidden_figures(result):
        row = tables[name.replace("_", " ").capitalize()][category]
        cells = " ".join([row[1], row[2], row[4]])  # count, share, ratio (not the area share)
        assert not any(figure in cells for figure in figures), (row, figures)
        who = describe_group(name, category)
        for shared in (text, page):
            assert not re.search(rf"{re.escape(who)} were \d+% of their", shared)
            assert not re.search(rf"no {re.escape(who)} took part", shared)
        if status[name, category] not in ("few_under",):
            # Its status is withheld, so no sentence may name it at all.
            prose = "\n".join(line for line in text.splitlines() if not line.startswith("|"))
            assert not _occurs(who, prose, everyone), (who, prose)


# ---------------------------------------------------------------------------
# The disclosure mutations that once survived


SMALL_16_24 = {
    "16-24": 2,
    "25-34": 30,
    "35-44": 30,
    "45-54": 30,
    "55-64": 25,
    "65-74": 20,
    "75+": 12,
}


def _no_gap_figures(text: str) -> None:
    assert not re.search(r"aged 16-24 were \d+% of their", text)
    assert "more people needed to reach" not in text.split("16-24", 1)[-1].split("\n", 1)[0]


def test_cli_report_words_recommendations_without_hidden_figures(runner, tmp_path) -> None:
    from inclusion_audit.cli import cli

    register = write_register(tmp_path, {"Age": answers(SMALL_16_24)})
    out = runner.invoke(
        cli,
        [
            "audit",
            str(register),
            "--area",
            "Leicester",
            "--eligible-age",
            "16+",
            "--format",
            "md",
            "-o",
            str(tmp_path / "report.md"),
            "-q",
        ],
    )
    assert out.exit_code == 0, out.output
    text = (tmp_path / "report.md").read_text()
    assert "16-24 | 0–4" in text
    _no_gap_figures(text)


def test_pdf_words_recommendations_without_hidden_figures(runner, tmp_path) -> None:
    """The PDF's text, as pdftotext reads it, holds no figure of the hidden group."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from inclusion_audit.cli import cli

    register = write_register(tmp_path, {"Age": answers(SMALL_16_24)})
    pdf = tmp_path / "report.pdf"
    args = ["audit", str(register), "--area", "Leicester", "--eligible-age", "16+"]
    out = runner.invoke(cli, [*args, "--format", "pdf", "-o", str(pdf), "-q"])
    assert out.exit_code == 0, out.output
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "0–4" in text
    words = re.sub(r"\s+", " ", text)  # a clause may break across lines
    assert "aged 16-24 were under-represented (figures withheld" in words
    assert not re.search(r"aged 16-24 were \d+% of their", words)


def test_service_page_words_recommendations_without_hidden_figures(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from inclusion_audit.web.app import create_app
    from inclusion_audit.web.settings import ServiceSettings

    register = write_register(tmp_path, {"Age": answers(SMALL_16_24)})
    with TestClient(create_app(ServiceSettings(max_upload_mb=1))) as client:
        response = client.post(
            "/audit",
            files={"register": (register.name, register.read_bytes())},
            data={"area": "Leicester", "eligible_age": "16+", "report_format": "html"},
        )
    assert response.status_code == 200, response.text
    _no_gap_figures(response.text)


def test_unplaced_answers_never_show_a_count_of_one() -> None:
    result = audit({"Sex": answers({"Female": 20, "Male": 18, "Non-binary": 1})})
    html = render(result, "html", RenderOptions()).decode()
    assert '"Non-binary" (1)' not in html
    assert "Non-binary" not in html.split("Answers that could not be placed", 1)[-1]
    shown = suppress_small_counts(result.to_dict(), THRESHOLD)
    (sex,) = shown["characteristics"]
    assert sex["unplaceable"] == [] and sex["n_unplaceable"] is None


def test_a_table_whose_every_cell_is_pinned_withholds_its_total() -> None:
    result = audit({"Do you consider yourself disabled?": answers({"Yes": 5, "No": 1})})
    shown = suppress_small_counts(result.to_dict(), THRESHOLD)
    (disability,) = shown["characteristics"]
    assert disability["n_known"] is None and disability["n_unknown"] is None
    assert all(g["count"] is None and g["count_high"] is None for g in disability["groups"])
    text = render(result, "md", RenderOptions()).decode()
    assert "Answer counts withheld" in text


def test_quota_secondary_suppression_hides_a_second_quota() -> None:
    result = {
        "settings": {"under_threshold": 0.8},
        "characteristics": [],
        "quotas": [
            {
                "characteristic": "age",
                "category": "16-24",
                "minimum": 1,
                "maximum": 6,
                "count": 2,
                "met": True,
                "gap": 0,
            },
            {
                "characteristic": "age",
                "category": "25-44",
                "minimum": 8,
                "maximum": 14,
                "count": 12,
                "met": True,
                "gap": 0,
            },
            {
                "characteristic": "age",
                "category": "45+",
                "minimum": 8,
                "maximum": 20,
                "count": 19,
                "met": True,
                "gap": 0,
            },
        ],
    }
    quotas = suppress_small_counts(result, THRESHOLD)["quotas"]
    assert [q["suppressed"] for q in quotas] == [True, True, False]
    assert quotas[0]["count"] is None and quotas[1]["count"] is None


# ---------------------------------------------------------------------------
# Status boundaries


def _table(counts: list[int], shares: list[float], statuses: list[str]) -> dict:
    n = sum(counts)
    return {
        "settings": {"under_threshold": 0.8, "over_threshold": 1.25},
        "characteristics": [
            {
                "name": "sex",
                "column": "sex",
                "n_known": n,
                "groups": [
                    {
                        "category": f"G{i}",
                        "count": c,
                        "population_share": p,
                        "expected_count": n * p,
                        "status": s,
                        "ratio": c / n / p,
                        "share": c / n,
                    }
                    for i, (c, p, s) in enumerate(zip(counts, shares, statuses, strict=True))
                ],
            }
        ],
    }


def test_a_hidden_group_at_exactly_min_expected_is_not_called_missed() -> None:
    # 5 expected: "0–4" allows a ratio of 0.8, which is not under, so the status is withheld.
    shown = suppress_small_counts(
        _table([3, 47, 50], [0.05, 0.45, 0.5], ["possible_under", "ok", "ok"]), 5
    )
    group = shown["characteristics"][0]["groups"][0]
    assert group["expected_count"] == 5.0
    assert group["status"] == "withheld" and group["ratio_high"] == 0.8


def test_a_hidden_group_just_above_min_expected_is_missed() -> None:
    shown = suppress_small_counts(
        _table([3, 47, 51], [0.0505, 0.45, 0.4995], ["possible_under", "ok", "ok"]), 5
    )
    group = shown["characteristics"][0]["groups"][0]
    assert group["status"] == "few_under" and group["ratio_high"] < 0.8


def test_a_ratio_of_exactly_the_threshold_is_in_line() -> None:
    from inclusion_audit.config import AuditConfig
    from inclusion_audit.findings.verdicts import status_from_interval

    # 800 of 10,000 against a share of 0.1: a ratio of exactly 0.8 in floating point.
    ratio = (800 / 10_000) / 0.1
    assert status_from_interval(ratio, 0.001, 1000.0, AuditConfig()).value == "ok"
    assert status_from_interval(ratio * (1 - 1e-6), 0.001, 0.9, AuditConfig()).value == "under"


# ---------------------------------------------------------------------------
# Found by an independent attack (session 2): each once gave a count away


def _ages_with(counts: dict[str, int]) -> dict[str, list[str]]:
    ages = answers(counts)
    return {"Age": ages, "Sex": ["Female" if i % 2 else "Male" for i in range(len(ages))]}


def test_a_withheld_status_is_never_read_as_nobody_missed() -> None:
    # 16-24 = 5 is withheld only to protect 75+ = 2; the JSON calls it possibly under.
    result = audit(
        _ages_with(
            {"16-24": 5, "25-34": 9, "35-44": 9, "45-54": 8, "55-64": 8, "65-74": 6, "75+": 2}
        )
    )
    statuses = {g.category: g.status.value for c in result.characteristics for g in c.groups}
    assert statuses["16-24"] in MISSED
    for fmt in ("md", "html"):
        text = render(result, fmt, RenderOptions()).decode()
        assert "No group is under-represented by the thresholds used" not in text
        assert "No group was missed, so no outreach" not in text
        assert "cannot say that none was" in text


def test_recommendation_order_does_not_move_with_a_hidden_count() -> None:
    # 16-24 = a (0–4 in every report) and 65-74 = 9 − a (withheld); at a = 4, 65-74 = 5
    # is possibly under in the JSON only. Every shared output must be the same for a = 1…4.
    shown = set()
    for a in range(1, 5):
        ages = {
            "16-24": a,
            "25-34": 20,
            "35-44": 18,
            "45-54": 15,
            "55-64": 12,
            "65-74": 9 - a,
            "75+": 9,
        }
        columns = _ages_with(ages)
        n = len(columns["Age"])
        columns["Disability"] = [
            "Disabled under the Equality Act"
            if i % 8 == 0
            else "Not disabled under the Equality Act"
            for i in range(n)
        ]
        text = render(audit(columns), "md", RenderOptions()).decode()
        shown.add(text.split("## What to do next", 1)[1].split("\n## ", 1)[0])
    assert len(shown) == 1


def test_a_quota_note_never_counts_the_answers_outside_the_quotas(tmp_path) -> None:
    from inclusion_audit.reference.targets import Quota

    disability = {"Disabled under the Equality Act": 3, "Not disabled under the Equality Act": 57}
    quota = Quota("disability", "Disabled under the Equality Act", 5, 15)
    result = audit({"Disability": answers(disability)}, quotas=[quota])
    text = render(result, "md", RenderOptions()).decode().replace("\\", "")
    assert "fit none of the quota categories" in text
    assert "57" not in text and "57 of 60" not in text


def test_weights_diagnostics_are_withheld_when_a_margin_is_small(tmp_path) -> None:
    from dataclasses import replace

    from inclusion_audit.report.weighted import weighted_results_data
    from inclusion_audit.weighting import WeightSettings, weighted_results

    from .test_disclosure_attack import leicester

    columns = _ages_with(
        {"16-24": 2, "25-34": 20, "35-44": 20, "45-54": 20, "55-64": 15, "65-74": 10, "75+": 6}
    )
    n = len(columns["Age"])
    columns["Do you support the plan?"] = ["Yes" if i % 3 else "No" for i in range(n)]
    table = read_table(write_register(tmp_path, columns))
    _, weighted = weighted_results(
        table, leicester(), WeightSettings(("age",)), ["Do you support the plan?"]
    )
    assert weighted.smallest_margin_count == 2 and weighted.warnings
    result = replace(audit(columns), weighted_results=weighted)
    shown = suppress_small_counts(result.to_dict(), THRESHOLD)["weighted_results"]
    assert shown["diagnostics_withheld"] and shown["design_effect"] is None
    assert shown["warnings"] == [] and shown["smallest_margin_count"] is None
    for answer in shown["questions"][0]["answers"]:
        assert answer["weighted_ci_low"] is None and answer["differs"] is None
    text = render(result, "md", RenderOptions()).decode()
    assert "only 2 participant" not in text and "largest" not in text
    alone = weighted_results_data(weighted, THRESHOLD)
    assert alone["diagnostics_withheld"] and alone["effective_sample_size"] is None


def test_weighted_shares_are_withheld_when_they_would_give_a_small_cross_count(
    tmp_path,
) -> None:
    # Weighted on sex alone, a weighted share is Σ π_sex · x(answer, sex) / n_sex: with
    # the sex table shown it gives back that 2 women answered No.
    from dataclasses import replace

    from inclusion_audit.weighting import WeightSettings, weighted_results

    from .test_disclosure_attack import leicester

    rows = [("Female", "No")] * 2 + [("Female", "Yes")] * 31 + [("Male", "No")] * 10
    rows += [("Male", "Yes")] * 52
    columns = {"Sex": [r[0] for r in rows], "Do you support the plan?": [r[1] for r in rows]}
    table = read_table(write_register(tmp_path, columns))
    _, weighted = weighted_results(
        table, leicester(), WeightSettings(("sex",)), ["Do you support the plan?"]
    )
    assert weighted.questions[0].smallest_cross_count == 2
    result = replace(audit(columns), weighted_results=weighted)
    shown = suppress_small_counts(result.to_dict(), THRESHOLD)["weighted_results"]
    question = shown["questions"][0]
    assert question["weighted_withheld"] and question["smallest_cross_count"] is None
    assert all(a["weighted_share"] is None for a in question["answers"])
    text = render(result, "md", RenderOptions()).decode()
    assert "The weighted shares are withheld" in text


def test_a_cross_withheld_whole_marks_no_cell_as_small(runner, tmp_path) -> None:
    from inclusion_audit.cli import cli

    cells = {
        ("16-24", "Female"): 1,
        ("16-24", "Male"): 5,
        ("25-34", "Female"): 8,
        ("25-34", "Male"): 9,
        ("35-44", "Female"): 4,
        ("35-44", "Male"): 12,
        ("45-54", "Female"): 5,
        ("45-54", "Male"): 10,
        ("55-64", "Female"): 4,
        ("55-64", "Male"): 10,
        ("65-74", "Female"): 5,
        ("65-74", "Male"): 8,
        ("75+", "Female"): 6,
        ("75+", "Male"): 8,
    }
    rows = [key for key, n in cells.items() for _ in range(n)]
    register = write_register(tmp_path, {"Age": [r[0] for r in rows], "Sex": [r[1] for r in rows]})
    out = tmp_path / "report.md"
    args = ["audit", str(register), "--area", "Leicester", "--eligible-age", "16+"]
    result = runner.invoke(cli, [*args, "--intersect", "age,sex", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    cross = out.read_text().split("(intersection)", 1)[1].split("\n## ", 1)[0]
    rows_shown = [line for line in cross.splitlines() if line.startswith("| 16-24")]
    assert rows_shown and all("withheld" in line for line in rows_shown)
    assert "Answer counts withheld" in cross  # withheld whole
    assert "firmly or possibly" not in cross and "0–4" not in cross  # no cell reads as small
