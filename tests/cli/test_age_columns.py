"""Registers as officers export them: an Excel age column of numbers and typed ages, and
characteristics whose answers mostly cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from inclusion_audit.cli.app import cli
from inclusion_audit.report.disclosure import suppress_small_counts

from ..conftest import register_rows

GOLDEN = Path(__file__).parent.parent / "golden"


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_mixed_excel(path: Path) -> Path:
    """A survey-tool export: ages as numbers, decimals and text in one column."""
    import xlsxwriter

    cells: list[tuple[str, object]] = [
        ("number", 34),
        ("number", 19),
        ("number", 67),
        ("number", 80),
        ("number", 45.0),
        ("text", "22 years"),
        ("text", "61 yrs"),
        ("text", "29yo"),
        ("text", "aged 52"),
        ("text", "Age: 38"),
        ("text", "25-34"),
        ("text", "75+"),
        ("text", "Prefer not to say"),
        ("blank", None),
    ]
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Respondent ID", "How old are you?", "Sex"])
    for repeat in range(4):
        for i, (kind, value) in enumerate(cells):
            row = 1 + repeat * len(cells) + i
            sheet.write_number(row, 0, row)
            if kind == "number":
                sheet.write_number(row, 1, float(value))  # type: ignore[arg-type]
            elif kind == "text":
                sheet.write_string(row, 1, str(value))
            sheet.write_string(row, 2, "Female" if row % 2 else "Male")
    workbook.close()
    return path


def test_excel_ages_of_mixed_cell_types_match_golden(tmp_path: Path, update_golden: bool) -> None:
    register = write_mixed_excel(tmp_path / "survey export.xlsx")
    result = invoke("audit", register, "--area", "Lambeth", "--eligible-age", "16+", "-q")
    assert result.exit_code == 0, result.output
    age = next(c for c in json.loads(result.stdout)["characteristics"] if c["name"] == "age")
    found = {
        "n_known": age["n_known"],
        "n_blank": age["n_blank"],
        "n_declined": age["n_declined"],
        "n_unplaceable": age["n_unplaceable"],
        "caveats": age["reference"]["caveats"],
        "groups": [[g["category"], g["count"], g["population_count"]] for g in age["groups"]],
    }
    golden = GOLDEN / "excel_mixed_ages.json"
    if update_golden:
        golden.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    assert found == json.loads(golden.read_text())
    assert found["n_known"] == 4 * 12 and found["n_unplaceable"] == 0


@pytest.fixture
def unreadable_register(write_csv) -> Path:
    rows = register_rows({"sex": {"Female": 12, "Male": 10, "Non-binary": 9}})
    return write_csv("r.csv", rows)


def test_mostly_unreadable_answers_are_a_first_page_finding(unreadable_register, tmp_path) -> None:
    out = tmp_path / "out"
    formats = ["--format", "json", "--format", "html", "--format", "md"]
    result = CliRunner().invoke(
        cli, ["audit", str(unreadable_register), "--area", "Lambeth", "-o", str(out), *formats]
    )
    assert result.exit_code == 0, result.output
    assert "Warning: sex: 9 of 31 answers could not be read" in result.output
    data = json.loads((out / "audit.json").read_text())
    sex = data["characteristics"][0]
    assert sex["answers_unreadable"] is True
    assert sex["unplaceable_rate"] == pytest.approx(9 / 31)
    summary = (out / "report.html").read_text().split('class="summary"')[1].split("</section>")[0]
    assert "9 of 31 answers could not be read" in summary
    assert "9 of 31 answers could not be read" in (out / "report.md").read_text()


def test_check_fails_mostly_unreadable_answers_by_default(unreadable_register) -> None:
    result = invoke("check", unreadable_register, "--area", "Lambeth")
    assert result.exit_code == 1, result.output
    assert "sex: 9 of 31 answers in column 'sex' could not be read" in result.output
    result = invoke("check", unreadable_register, "--area", "Lambeth", "--max-unreadable", "1")
    assert result.exit_code == 0, result.output


def test_the_finding_hides_when_it_would_pin_a_hidden_count() -> None:
    def characteristic(known: int, unknown: int) -> dict:
        return {
            "name": "sex",
            "n_known": known,
            "n_unknown": unknown,
            "n_blank": 0,
            "n_declined": 0,
            "n_broad_only": 0,
            "n_unplaceable": unknown,
            "unplaceable_rate": unknown / (known + unknown),
            "answers_unreadable": True,
            "unplaceable": [{"answer": "Non-binary", "count": unknown, "note": "..."}],
            "groups": [
                {
                    "category": "Female",
                    "count": known,
                    "status": "ok",
                    "population_share": 0.5,
                    "expected_count": 1,
                    "shortfall": 0,
                },
                {
                    "category": "Male",
                    "count": 0,
                    "status": "ok",
                    "population_share": 0.5,
                    "expected_count": 1,
                    "shortfall": 0,
                },
            ],
        }

    # 9 placed and 4 not: "more than a quarter" means at least 4 of the 4, pinned.
    pinned = suppress_small_counts({"characteristics": [characteristic(9, 4)]}, 5)
    assert pinned["characteristics"][0]["answers_unreadable"] is None
    # 3 placed and 4 not: anything from 2 to 4, so the finding can stay.
    open_ = suppress_small_counts({"characteristics": [characteristic(3, 4)]}, 5)
    assert open_["characteristics"][0]["answers_unreadable"] is True
    assert open_["characteristics"][0]["unplaceable_rate"] is None


def test_age_bands_option_places_ages_and_reports_straddling_bands(write_csv) -> None:
    from inclusion_audit.reference import census

    answers = {"22": 3, "34 years": 4, "51": 2, "25-34": 2, "16-24": 1}
    register = write_csv("r.csv", register_rows({"age": answers}))
    result = invoke(
        "audit",
        register,
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        "-q",
        "--age-bands",
        "16-29,30-49,50+",
    )
    assert result.exit_code == 0, result.output
    age = json.loads(result.stdout)["characteristics"][0]
    counts = {g["category"]: g["count"] for g in age["groups"]}
    assert counts == {"16-29": 4, "30-49": 4, "50+": 2}
    assert age["n_unplaceable"] == 2  # '25-34' straddles 16-29 and 30-49
    assert "spans several reference age bands" in age["unplaceable"][0]["note"]
    whole = census.age_profile(census.resolve_areas(["Lambeth"]), [("all", 16, None)])
    assert sum(g["population_count"] for g in age["groups"]) == whole.categories["all"]


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("16-30,30-49", "overlap"),
        ("16-30,abc", "'abc' is not an age band"),
        ("16-30,34", "'34' is not an age band"),
    ],
)
def test_bad_age_bands_option_is_bad_input(write_csv, bands: str, message: str) -> None:
    register = write_csv("r.csv", register_rows({"age": {"22": 3}}))
    result = invoke("audit", register, "--area", "Lambeth", "--age-bands", bands)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
