"""`check` as CI runs it: several registers, stable JUnit, annotations, the Action's script."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from inclusion_audit.cli.app import cli

from ..conftest import REPO, WriteCsv

HEADER = ["Participant ID", "Name", "Sex", "Age", "Comments"]
BAD_ROWS = [
    ["P1", "Ann Smith", "Female", "16-34", "Too far"],
    ["P2", "Bob Jones", "Woman?", "35-64", ""],
    ["P1", "Ann Smith", "Female", "16-34", ""],
    ["P3", "Cat Green", "Woman?", "eighty", ""],
]
PRIVATE = ("Ann Smith", "Bob Jones", "Cat Green", "Too far", "Woman?", "eighty")


def invoke(*args: object):
    return CliRunner().invoke(cli, ["check", *(str(a) for a in args)], catch_exceptions=False)


@pytest.fixture
def bad(write_csv: WriteCsv) -> Path:
    return write_csv("bad.register.csv", [HEADER, *BAD_ROWS])


@pytest.fixture
def good(write_csv: WriteCsv) -> Path:
    rows = [[f"P{i}", "X", "Female" if i % 2 else "Male", "35-64", ""] for i in range(1, 7)]
    return write_csv("good.register.csv", [HEADER, *rows])


def _cases(xml: bytes) -> dict[str, list[ET.Element]]:
    root = ET.fromstring(xml)
    return {s.get("name", ""): s.findall("testcase") for s in root.findall("testsuite")}


def test_several_registers_one_junit_file_exit_1(
    good: Path, bad: Path, small_reference: Path, tmp_path: Path
) -> None:
    report = tmp_path / "junit.xml"
    result = invoke(good, bad, "--reference", small_reference, "--junit-xml", report)
    assert result.exit_code == 1
    suites = _cases(report.read_bytes())
    assert list(suites) == [str(good), str(bad)]
    root = ET.fromstring(report.read_bytes())
    assert [s.get("failures") for s in root.findall("testsuite")] == ["0", "3"]
    assert root.get("failures") == "3"
    assert "1 of 2 registers FAILED" in result.stdout
    # Only the good one passes on its own.
    assert invoke(good, "--reference", small_reference).exit_code == 0


def test_glob_patterns_expand_and_an_empty_one_is_bad_input(
    good: Path, bad: Path, small_reference: Path, tmp_path: Path
) -> None:
    result = invoke(tmp_path / "*.register.csv", "--reference", small_reference)
    assert result.exit_code == 1
    assert f"Checked {bad}" in result.stdout and f"Checked {good}" in result.stdout
    missing = invoke(tmp_path / "nothing-*.csv", "--reference", small_reference)
    assert missing.exit_code == 2
    assert "matches no file" in missing.stderr


def test_suite_output_takes_one_register(good: Path, bad: Path, small_reference: Path) -> None:
    result = invoke(good, bad, "--reference", small_reference, "--suite", "-")
    assert result.exit_code == 2 and "--suite" in result.stderr


def test_junit_names_are_the_expectation_whatever_the_register(
    example_register: Path, example_reference: Path, write_csv: WriteCsv
) -> None:
    with example_register.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    small = write_csv("first.rows.of.the.register.csv", rows[:60])
    names = []
    for register in (example_register, small):
        result = invoke(
            register,
            "--reference",
            example_reference,
            "--min-rows",
            "100",
            "--junit-xml",
            "-",
            "-q",
        )
        ((_, cases),) = _cases(result.stdout.encode()).items()
        names.append([case.get("name") for case in cases])
        for case in cases:
            classname = case.get("classname", "")
            assert classname.count(".") == 1, classname
            assert not any(ch.isdigit() for ch in case.get("name", "").replace("100", ""))
    assert names[0] == names[1]
    assert "At least 100 participant row(s)" in names[0]


def test_annotations_and_summary_cite_rows_never_answers(
    bad: Path, small_reference: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    junit = tmp_path / "junit.xml"
    result = invoke(
        bad,
        "--reference",
        small_reference,
        "--annotations",
        "github",
        "--summary",
        summary,
        "--no-answers",
        "--junit-xml",
        junit,
        "--json",
        tmp_path / "check.json",
    )
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 3
    sex = next(line for line in errors if "sex" in line)
    first = next(i for i, row in enumerate(BAD_ROWS) if row[2] == "Woman?") + 2
    assert f"file={bad},line={first},title=inclusion-audit check%3A sex%3A every answer" in sex
    assert "(2 rows)" in sex
    ids = next(line for line in errors if "identifiers" in line)
    assert "line=2," in ids
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")
    assert "### inclusion-audit check: 1 of 1 register(s) failed" in text
    assert "sex: every answer is a category" in text and f"row {first}" in text
    for output in (result.stdout, text, junit.read_text(), (tmp_path / "check.json").read_text()):
        for private in PRIVATE:
            assert private not in output, private


def test_answers_are_quoted_by_default_for_the_person_fixing_them(
    bad: Path, small_reference: Path
) -> None:
    result = invoke(bad, "--reference", small_reference)
    assert "'Woman?' (2 rows" in result.stdout


def test_the_actions_script_runs_check_from_its_inputs(
    bad: Path, good: Path, small_reference: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    junit = tmp_path / "reports" / "check.xml"
    junit.parent.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
        "PYTHONPATH": str(REPO),
        "GITHUB_STEP_SUMMARY": str(summary),
        "INPUT_FILES": f"{good}\n\n{tmp_path}/bad.*.csv\n",
        "INPUT_AREA": "",
        "INPUT_REFERENCE": str(small_reference),
        "INPUT_REQUIRE": "sex",
        "INPUT_MIN_ROWS": "1",
        "INPUT_JUNIT_XML": str(junit),
    }
    result = subprocess.run(
        [sys.executable, REPO / "scripts" / "github_action.py", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.count("::error file=") == 3
    assert list(_cases(junit.read_bytes())) == [str(good), str(bad)]
    assert "1 of 2 register(s) failed" in summary.read_text(encoding="utf-8")
    for private in PRIVATE:
        assert private not in result.stdout + result.stderr


def test_action_yml_passes_every_input_to_the_script() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    script = (REPO / "scripts" / "github_action.py").read_text()
    step_env = {}
    for step in action["runs"]["steps"]:
        step_env.update(step.get("env", {}))
    for name in action["inputs"]:
        if name == "python-version":
            continue
        variable = "INPUT_" + name.upper().replace("-", "_")
        assert step_env.get(variable) == f"${{{{ inputs.{name} }}}}", name
        assert f'"{variable.removeprefix("INPUT_")}"' in script or variable in script, name
    workflow = yaml.safe_load((REPO / "examples" / "github-workflow.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("/inclusion-audit@" in str(s.get("uses", "")) for s in steps)
