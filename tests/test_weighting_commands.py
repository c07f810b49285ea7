"""`weights` and `results`: raking a register, as its user runs it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from inclusion_audit.cli import cli

REFERENCE = """characteristic,category,count
age,16-34,300
age,35-64,500
age,65+,200
sex,Female,52
sex,Male,48
"""


def write_register(path: Path, rows: list[tuple[str, str, str, str]], header: bool = True) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(["Participant ID", "Name", "Age", "Sex", "Vote"])
        for i, (age, sex, vote, name) in enumerate(rows):
            writer.writerow([f"P{i:04d}", name, age, sex, vote])
    return path


def thrice(tmp_path: Path) -> Path:
    """The sample three times over: every vote × age and vote × sex count is 5 or more,
    so shared outputs may show the weighted shares (two 16-34 Yes votes withhold them)."""
    rows = [(*row[:3], f"{row[3]}{tag}") for tag in ("", "b", "c") for row in sample_rows()]
    return write_register(tmp_path / "thrice.csv", rows)


def sample_rows() -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(200):
        age = rng.choice(["16-34", "35-64", "65+"], p=[0.1, 0.4, 0.5])
        sex = rng.choice(["Female", "Male", "", "Prefer not to say"], p=[0.6, 0.34, 0.03, 0.03])
        # Older people vote Yes more often, so weighting moves the result.
        yes = {"16-34": 0.2, "35-64": 0.5, "65+": 0.85}[age]
        vote = "Yes" if rng.random() < yes else "No"
        rows.append((str(age), str(sex), vote, f"Person {i}"))
    return rows


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    register = write_register(tmp_path / "register.csv", sample_rows())
    reference = tmp_path / "population.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    return register, reference


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_weights_file_keeps_identifiers_in_register_order_and_meets_the_margins(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    register, reference = files
    out = tmp_path / "weights.csv"
    code, stdout, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "age",
        "--characteristic",
        "sex",
        "--output",
        str(out),
    )
    assert code == 0, stderr
    with out.open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert list(written[0]) == ["Participant ID", "weight"]
    assert [r["Participant ID"] for r in written] == [f"P{i:04d}" for i in range(200)]
    weights = np.array([float(r["weight"]) for r in written])
    assert weights.mean() == pytest.approx(1.0)
    rows = sample_rows()
    ages = np.array([r[0] for r in rows])
    for band, count in (("16-34", 300), ("35-64", 500), ("65+", 200)):
        assert weights[ages == band].sum() / weights.sum() == pytest.approx(count / 1000, abs=1e-5)
    sexes = np.array([r[1] for r in rows])
    known = np.isin(sexes, ["Female", "Male"])
    assert weights[sexes == "Female"].sum() / weights[known].sum() == pytest.approx(0.52, abs=1e-5)
    assert "Effective sample size" in stdout and "design effect" in stdout
    assert "Keep it with the register" in stderr
    assert "Person" not in stdout + stderr  # names are never read


def test_json_diagnostics_hold_every_figure_and_no_identifier(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    register, reference = files
    out = tmp_path / "weights.csv"
    code, stdout, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "age,sex",
        "--output",
        str(out),
        "--format",
        "json",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["convergence"]["converged"] is True
    assert data["convergence"]["largest_margin_error"] <= 1e-6
    assert 1 < data["design_effect"] == pytest.approx(200 / data["effective_sample_size"])
    assert set(data["weights"]["percentiles"]) == {"p1", "p5", "p25", "p50", "p75", "p95", "p99"}
    (sex,) = [b for b in data["balance"] if b["characteristic"] == "sex"]
    assert sex["unknown"] > 0 and sex["asmd_after"] < 1e-4 < sex["asmd_before"]
    assert "P0001" not in stdout


def test_without_an_identifier_column_the_row_number_is_written(tmp_path: Path) -> None:
    register = tmp_path / "r.csv"
    register.write_text("Age,Sex\n16-34,Female\n65+,Male\n16-34,Male\n", encoding="utf-8")
    reference = tmp_path / "p.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    out = tmp_path / "w.csv"
    code, _, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "sex",
        "-o",
        str(out),
        "-q",
    )
    assert code == 0, stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,weight" and [line.split(",")[0] for line in lines[1:]] == [
        "2",
        "3",
        "4",
    ]


def test_an_unknown_answer_stops_it_and_nothing_is_written(tmp_path: Path) -> None:
    register = tmp_path / "r.csv"
    register.write_text("Age,Sex\n16-34,Female\n65+,Robot\n", encoding="utf-8")
    reference = tmp_path / "p.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    out = tmp_path / "w.csv"
    code, _, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "sex",
        "-o",
        str(out),
    )
    assert code == 2 and "Robot" in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_a_characteristic_the_reference_lacks_is_named(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    register, reference = files
    code, _, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "religion",
        "-o",
        str(tmp_path / "w.csv"),
    )
    assert code == 2 and "religion" in stderr


def test_after_trim_every_margin_is_met_or_named(tmp_path: Path) -> None:
    rows = [("65+", "Female", "Yes", "x")] * 97 + [("16-34", "Male", "No", "x")] * 3
    register = write_register(tmp_path / "r.csv", rows)
    reference = tmp_path / "p.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    out = tmp_path / "w.csv"
    code, stdout, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "age,sex",
        "--trim",
        "3",
        "-o",
        str(out),
        "--format",
        "json",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["trimming"]["applied"] and data["trimming"]["reraked_after_trimming"]
    assert data["weights"]["max"] <= 3 + 1e-9
    named = {(w["characteristic"], w["category"]) for w in data["warnings"]}
    for margin in data["margins"]:
        if margin["error"] > data["settings"]["tolerance"]:
            assert (margin["characteristic"], margin["category"]) in named
    assert "35-64" in stderr  # nobody aged 35-64: named, with a --collapse offer
    assert "--collapse" in stderr


def test_collapse_merges_categories(tmp_path: Path) -> None:
    rows = [("65+", "Female", "Yes", "x")] * 50 + [("16-34", "Male", "No", "x")] * 50
    register = write_register(tmp_path / "r.csv", rows)
    reference = tmp_path / "p.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    code, stdout, stderr = run(
        "weights",
        str(register),
        "--reference",
        str(reference),
        "--characteristic",
        "age",
        "--collapse",
        "age:35-64|65+",
        "-o",
        str(tmp_path / "w.csv"),
        "--format",
        "json",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["characteristics"][0]["categories"] == ["16-34", "35-64 or 65+"]
    assert not [w for w in data["warnings"] if w["code"] == "category_without_participants"]


def test_weights_against_census_areas(tmp_path: Path) -> None:
    rows = [
        (a, s, "Yes", "x") for a in ("16-24", "25-34", "45-54", "75+") for s in ("Female", "Male")
    ] * 5
    register = write_register(tmp_path / "r.csv", rows)
    code, stdout, stderr = run(
        "weights",
        str(register),
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        "--characteristic",
        "sex",
        "-o",
        str(tmp_path / "w.csv"),
        "--format",
        "json",
    )
    assert code == 0, stderr
    assert json.loads(stdout)["convergence"]["converged"]


def test_results_show_raw_and_weighted_shares_with_a_sentence(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    register, reference = files
    code, stdout, stderr = run(
        "results",
        str(register),
        "--question",
        "Vote",
        "--reference",
        str(reference),
        "--characteristic",
        "age,sex",
        "--format",
        "json",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    (question,) = data["questions"]
    yes = next(a for a in question["answers"] if a["answer"] == "Yes")
    assert yes["weighted_share"] < yes["share"]  # the over-represented old vote Yes
    assert yes["differs"] and "rather than" in yes["sentence"]
    code, md, _ = run(
        "results",
        str(thrice(tmp_path)),  # shared Markdown shows weighted shares only then
        "--question",
        "Vote",
        "--reference",
        str(reference),
        "--characteristic",
        "age,sex",
        "--format",
        "md",
    )
    assert code == 0 and "raw share" in md and "weighted share" in md and "rather than" in md


def test_results_refuse_free_text_and_identifying_columns(files: tuple[Path, Path]) -> None:
    register, reference = files
    code, _, stderr = run(
        "results",
        str(register),
        "--question",
        "Name",
        "--reference",
        str(reference),
        "--characteristic",
        "age",
    )
    assert code == 2 and "never names" in stderr


def test_audit_with_a_question_adds_the_weighted_section_beside_the_audit(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    register, reference = files
    code, stdout, stderr = run(
        "audit",
        str(register),
        "--reference",
        str(reference),
        "--question",
        "Vote",
        "--weight-by",
        "age,sex",
        "-q",
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["characteristics"]  # the representation audit stays
    (question,) = data["weighted_results"]["questions"]
    assert {a["answer"] for a in question["answers"]} == {"Yes", "No"}
    code, md, stderr = run(
        "audit",
        str(thrice(tmp_path)),  # every vote × age and × sex count 5 or more
        "--reference",
        str(reference),
        "--question",
        "Vote",
        "--weight-by",
        "age,sex",
        "--format",
        "md",
        "-q",
    )
    assert code == 0, stderr
    assert md.index("## Age") < md.index("Results re-weighted") and "rather than" in md
    code, _, stderr = run(
        "audit", str(register), "--reference", str(reference), "--question", "Vote"
    )
    assert code == 2 and "--weight-by" in stderr


def test_small_answer_counts_are_hidden_in_shared_formats(tmp_path: Path) -> None:
    rows = [("65+", "Female", "Yes", "x")] * 40 + [("16-34", "Male", "No", "x")] * 40
    rows += [("35-64", "Female", "Abstain", "x")] * 2
    register = write_register(tmp_path / "r.csv", rows)
    reference = tmp_path / "p.csv"
    reference.write_text(REFERENCE, encoding="utf-8")
    base = ["results", str(register), "--question", "Vote", "--reference", str(reference)]
    code, md, stderr = run(*base, "--characteristic", "age", "--format", "md")
    assert code == 0, stderr
    assert "| Abstain | fewer than 5 | – |" in md
    code, text, _ = run(*base, "--characteristic", "age", "--format", "csv")
    abstain = next(line for line in text.splitlines() if line.startswith("Vote,Abstain"))
    assert abstain.split(",")[2] == "" and abstain.endswith("few")
    code, exact, _ = run(*base, "--characteristic", "age", "--format", "json")
    answers = json.loads(exact)["questions"][0]["answers"]
    assert next(a for a in answers if a["answer"] == "Abstain")["count"] == 2
    code, html, _ = run(*base, "--characteristic", "age", "--format", "html")
    assert code == 0 and "fewer than 5" in html and "Abstain" in html


def test_results_as_a_pdf_say_what_the_html_says(files: tuple[Path, Path], tmp_path: Path) -> None:
    """`results -o results.pdf`: the HTML page typeset (tagged PDF/UA), small counts hidden."""
    register, reference = files
    rows = [*sample_rows(), ("35-64", "Female", "Abstain", "x"), ("65+", "Male", "Abstain", "y")]
    register = write_register(tmp_path / "abstain.csv", rows)
    pdf = tmp_path / "results.pdf"
    base = ["results", str(register), "--question", "Vote", "--reference", str(reference)]
    code, _, stderr = run(*base, "--characteristic", "age,sex", "-o", str(pdf))
    assert code == 0, stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Results re-weighted to the population" in text
    assert "fewer than 5" in text and "Abstain" in text  # 2 answers: hidden as in html
    # One Abstain within its age band and sex: the weighted shares would give it away.
    assert "weighted shares are withheld" in " ".join(text.split())
    # Not to the terminal; a .pdf output is a PDF without --format.
    code, _, stderr = run(*base, "--characteristic", "age", "--format", "pdf")
    assert code == 2 and "cannot go to the terminal" in stderr and "--output" in stderr


def test_results_pdf_without_weasyprint_names_the_extra(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register, reference = files
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    pdf = tmp_path / "results.pdf"
    code, _, stderr = run(
        "results",
        str(register),
        "--question",
        "Vote",
        "--reference",
        str(reference),
        "--characteristic",
        "age",
        "-o",
        str(pdf),
    )
    assert code == 2 and "pip install 'inclusion-audit[pdf]'" in stderr
    assert not pdf.exists()
