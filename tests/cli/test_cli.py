"""The command line as a user drives it: exit codes, messages, files written or not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from inclusion_audit.cli.app import cli

from ..conftest import register_rows


def invoke(runner: CliRunner, *args: object):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_json_to_stdout(runner, example_register, example_reference) -> None:
    result = invoke(runner, "audit", example_register, "--reference", example_reference)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == "2.0"
    assert data["method_version"] == "2"
    assert data["n_participants"] == 240
    assert "Audited 240 participants" in result.stderr


def test_several_formats_into_a_folder(runner, tmp_path, example_register, example_reference):
    out = tmp_path / "out"
    result = invoke(
        runner,
        "audit",
        example_register,
        "--reference",
        example_reference,
        "--format",
        "json",
        "--format",
        "html",
        "--format",
        "md",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["audit.json", "report.html", "report.md"]


def test_format_follows_output_suffix(runner, tmp_path, example_register, example_reference):
    target = tmp_path / "report.html"
    result = invoke(
        runner, "audit", example_register, "--reference", example_reference, "-o", target
    )
    assert result.exit_code == 0
    assert target.read_text().startswith("<!DOCTYPE html>")


def test_options_reach_the_result(runner, example_register, example_reference) -> None:
    result = invoke(
        runner,
        "audit",
        example_register,
        "--reference",
        example_reference,
        "--confidence",
        "0.9",
        "--correction",
        "holm",
        "--under-threshold",
        "0.7",
        "--min-expected",
        "10",
        "-q",
    )
    settings = json.loads(result.stdout)["settings"]
    assert settings == {
        "confidence": 0.9,
        "correction": "holm",
        "alpha": 0.1,  # always 1 − confidence (issue 12)
        "under_threshold": 0.7,
        "over_threshold": 1.25,
        "min_expected": 10.0,
    }
    assert result.stderr == ""


def test_fail_on_under_for_ci(runner, example_register, example_reference) -> None:
    result = invoke(
        runner, "audit", example_register, "--reference", example_reference, "-q", "--fail-on-under"
    )
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--confidence", "1.5"], "--confidence 1.5 is out of range"),
        (["--min-expected", "nan"], "--min-expected nan is not a finite number"),
        (["--over-threshold", "inf"], "--over-threshold inf is not a finite number"),
        (["--under-threshold", "1.2"], "--under-threshold 1.2 is out of range"),
        (["--format", "pdf"], "cannot go to the terminal"),
        (["--format", "json", "--format", "html"], "no output folder"),
        (["--format", "json", "-o", "x.html"], "ends in .html but the format is json"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    runner, example_register, example_reference, extra, message
):
    result = invoke(runner, "audit", example_register, "--reference", example_reference, *extra)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_bad_register_writes_nothing(runner, tmp_path, write_csv, example_reference) -> None:
    register = write_csv("register.csv", register_rows({"sex": {"Female": 3, "Mal": 1}}))
    out = tmp_path / "out"
    result = invoke(
        runner,
        "audit",
        register,
        "--reference",
        example_reference,
        "--format",
        "json",
        "--format",
        "html",
        "-o",
        out,
    )
    assert result.exit_code == 2
    assert (
        "register.csv" in result.stderr
        and "'Mal' (1 row, first on row 5; closest: 'Male'" in result.stderr
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text(""), "is empty"),
        (lambda p: p.write_text("Name,Email\nA,a@example.org\n"), "none of the reference's"),
        (lambda p: p.write_text("Sex,Age\n"), "no participant rows"),
        (lambda p: p.write_bytes(b"Sex\nFemale\n\xff\xfeMale\n"), "matches no reference category"),
    ],
)
def test_bad_registers(runner, tmp_path, example_reference, make, message) -> None:
    register = tmp_path / "register.csv"
    make(register)
    result = invoke(runner, "audit", register, "--reference", example_reference)
    assert result.exit_code == 2
    assert message in result.stderr and "register.csv" in result.stderr


def test_bad_reference(runner, write_csv, example_register) -> None:
    reference = write_csv(
        "ref.csv",
        [["characteristic", "category", "count"], ["sex", "Female", -1], ["sex", "Male", 4]],
    )
    result = invoke(runner, "audit", example_register, "--reference", reference)
    assert result.exit_code == 2
    assert "ref.csv, line 2: the count '-1' is negative" in result.stderr


def test_missing_reference_option(runner, example_register) -> None:
    result = runner.invoke(cli, ["audit", str(example_register)])
    assert result.exit_code == 2 and "--reference" in result.output


def test_template_errors_are_input_errors(runner, tmp_path, example_register, example_reference):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html").write_text("{% extends 'default:report.html' %}{% block x %}")
    result = invoke(
        runner,
        "audit",
        example_register,
        "--reference",
        example_reference,
        "--template-dir",
        templates,
        "-o",
        tmp_path / "r.html",
    )
    assert result.exit_code == 2 and "could not be rendered" in result.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from inclusion_audit.cli import cli; "
        "heavy = [m for m in ('polars', 'weasyprint', 'great_expectations', 'jinja2', 'scipy') "
        "if m in sys.modules]; print(heavy)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


def test_console_script_runs(example_register, example_reference) -> None:
    executable = Path(sys.executable).with_name("inclusion-audit")
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
    assert "inclusion-audit, version" in done.stdout
    done = subprocess.run(
        [executable, "audit", "nope.csv", "--reference", example_reference],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("Error: register file nope.csv does not exist")
    assert "Traceback" not in done.stderr


def test_template_runtime_errors_are_input_errors(
    runner, tmp_path, example_register, example_reference
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html").write_text("{{ 1 / 0 }}")
    result = invoke(
        runner,
        "audit",
        example_register,
        "--reference",
        example_reference,
        "--template-dir",
        templates,
        "-o",
        tmp_path / "r.html",
    )
    assert result.exit_code == 2 and "ZeroDivisionError" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_output_may_not_overwrite_the_register(runner, tmp_path, example_reference) -> None:
    register = tmp_path / "register.csv"
    register.write_text("sex\nFemale\nMale\n")
    result = invoke(runner, "audit", register, "--reference", example_reference, "-o", register)
    assert result.exit_code == 2 and "is one of the input files" in result.stderr
    assert register.read_text() == "sex\nFemale\nMale\n"


def test_duplicate_and_misplaced_headers(runner, write_csv, example_reference) -> None:
    duplicated = write_csv("dup.csv", [["sex", "age", "sex"], ["Female", "16-24", "Male"]])
    result = invoke(runner, "audit", duplicated, "--reference", example_reference)
    assert result.exit_code == 2 and "has 2 columns headed 'sex'" in result.stderr
    titled = write_csv(
        "titled.csv",
        [["Riverside forum sign-in", ""], ["", ""], ["Sex", "Age"], ["Female", "16-24"]],
    )
    result = invoke(runner, "audit", titled, "--reference", example_reference)
    assert result.exit_code == 2
    assert "column names seem to be on row 3" in result.stderr


def test_a_group_exactly_at_the_threshold_is_not_flagged(runner, write_csv) -> None:
    reference = write_csv(
        "ref.csv", [["characteristic", "category", "count"], ["group", "A", 10], ["group", "B", 90]]
    )
    register = write_csv("r.csv", register_rows({"group": {"A": 800, "B": 9200}}))
    result = invoke(runner, "audit", register, "--reference", reference, "-q", "--fail-on-under")
    assert result.exit_code == 0
    group = json.loads(result.stdout)["characteristics"][0]["groups"][0]
    assert (group["status"], group["shortfall"]) == ("ok", 0)


def test_empty_eligible_age_is_refused(runner, example_register) -> None:
    result = invoke(runner, "audit", example_register, "--area", "Lambeth", "--eligible-age", "")
    assert result.exit_code == 2 and "Eligible age '' is not understood" in result.stderr


def test_event_and_partners_give_ranked_recommendations(runner, example_register) -> None:
    examples = Path(__file__).parents[2] / "examples"
    result = invoke(
        runner,
        "audit",
        example_register,
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        "--event",
        examples / "riverside-forum-event.yaml",
        "--partners",
        examples / "riverside-partners.csv",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["event"]["start_time"] == "10:00" and data["event"]["childcare"] is False
    assert data["recommendations"][0]["priority"] == 1
    assert any(r["barrier"] == "local_partner" for r in data["recommendations"])
    assert any(b["barrier"] == "childcare" for b in data["barriers"])
    assert "Next step 1:" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("start_time: 25:00\n", "start_time"),
        ("venue:\n  step_free: maybe\n", "venue.step_free"),
        ("colour: blue\n", "colour"),
    ],
)
def test_bad_event_files(runner, tmp_path, example_register, content, message) -> None:
    event = tmp_path / "event.yaml"
    event.write_text(content)
    result = invoke(runner, "audit", example_register, "--area", "Lambeth", "--event", event)
    assert result.exit_code == 2 and message in result.stderr and "event.yaml" in result.stderr
    assert "Traceback" not in result.output


def test_a_bug_exits_70_not_1(monkeypatch: pytest.MonkeyPatch, capsys, example_register) -> None:
    """Exit code 1 means "findings" to a pipeline (check failed, --fail-on-under): a bug is 70."""
    import inclusion_audit.cli.app as cli_module
    import inclusion_audit.ingest.readers

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(inclusion_audit.ingest.readers, "read_table", broken)
    monkeypatch.setattr(sys, "argv", ["inclusion-audit", "check", str(example_register)])
    with pytest.raises(SystemExit) as stopped:
        cli_module.main()
    assert stopped.value.code == 70
    error = capsys.readouterr().err
    assert error.startswith("Internal error: RuntimeError: boom")
    assert "Traceback" not in error
