"""Registers as they come: every fixture audits against a real area, doubtful answers reported."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from inclusion_audit.cli.app import cli

from ..conftest import register_rows

FIXTURES = Path(__file__).parents[1] / "fixtures" / "registers"


def audit(*args: object) -> dict:
    result = CliRunner().invoke(cli, ["audit", *map(str, args), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_name(data: dict) -> dict[str, dict]:
    return {c["name"]: c for c in data["characteristics"]}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("ms_forms.xlsx", {"age", "sex", "ethnic_group", "ethnic_group_broad", "disability"}),
        # Some of its "ZZ" postcodes are real (large-user) Lambeth postcodes, so it is
        # also compared by deprivation decile and ward.
        (
            "excel_1252_semicolon.csv",
            {"age", "sex", "ethnic_group", "religion", "imd_decile", "ward"},
        ),
        (
            "bom_utf8.csv",
            {
                "age",
                "sex",
                "ethnic_group",
                "religion",
                "sexual_orientation",
                "gender_identity",
                "gender_identity_broad",
            },
        ),
        (
            "govocal_export.csv",
            {
                "age",
                "sex",
                "ethnic_group",
                "sexual_orientation",
                "disability",
                "tenure",
                "tenure_persons",
                "unpaid_care",
            },
        ),
        ("nhs_codes.csv", {"age", "sex", "ethnic_group"}),
        ("formula_cells.csv", {"age", "sex", "ethnic_group"}),
    ],
)
def test_every_fixture_audits_against_a_real_area(fixture: str, expected: set[str]) -> None:
    data = audit(
        FIXTURES / fixture,
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        "--event-date",
        "2025-03-14",
    )
    found = by_name(data)
    assert set(found) == expected
    for name, characteristic in found.items():
        accounted = characteristic["n_known"] + characteristic["n_unknown"]
        if name in ("imd_decile", "ward"):
            # Participants living outside the area are counted apart, not compared.
            assert accounted + data["geography"]["outside_area"] == data["n_participants"]
            continue
        assert accounted == data["n_participants"]
        assert characteristic["n_known"] > 0.7 * data["n_participants"]


def test_doubtful_answers_are_reported_not_guessed() -> None:
    data = audit(FIXTURES / "excel_1252_semicolon.csv", "--area", "Lambeth")
    found = by_name(data)
    sex = {u["answer"]: u["count"] for u in found["sex"]["unplaceable"]}
    ethnic = {u["answer"] for u in found["ethnic_group"]["unplaceable"]}
    assert "Non-binary" in sex and {"BAME", "Other"} <= ethnic
    assert any("conflates sex and gender identity" in n for n in found["sex"]["mapping_notes"])


def test_clear_answers_land_in_the_right_ons_category() -> None:
    data = audit(FIXTURES / "nhs_codes.csv", "--area", "Lambeth")
    groups = {g["category"]: g["count"] for g in by_name(data)["ethnic_group"]["groups"]}
    # NHS code R is Chinese, filed under Other in the NHS scheme but Asian in 2021.
    assert groups["Asian, Asian British or Asian Welsh: Chinese"] > 0
    assert sum(groups.values()) == by_name(data)["ethnic_group"]["n_known"]


def test_approximate_questions_are_flagged() -> None:
    data = audit(FIXTURES / "ms_forms.xlsx", "--area", "Lambeth")
    notes = " ".join(by_name(data)["disability"]["mapping_notes"])
    assert "Equality Act" in notes
    assert by_name(data)["ethnic_group_broad"]["n_known"] > by_name(data)["ethnic_group"]["n_known"]


def test_identifying_and_formula_cells_never_reach_any_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    CliRunner().invoke(
        cli,
        [
            "audit",
            str(FIXTURES / "formula_cells.csv"),
            "--area",
            "Lambeth",
            "--format",
            "json",
            "--format",
            "html",
            "--format",
            "md",
            "--format",
            "csv",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    text = " ".join(p.read_text(encoding="utf-8-sig") for p in out.iterdir())
    for secret in ("HYPERLINK", "cmd|", "@SUM", "example.org"):
        assert secret not in text


def test_mapping_suggest_then_audit_with_it(tmp_path: Path, write_csv) -> None:
    register = write_csv(
        "r.csv",
        register_rows(
            {
                "What is your sex?": {"Femme": 6, "Male": 6},
                "Ethnicity": {"Whyte": 4, "White British": 8},
            },
            extra={"Email": "someone@example.org"},
        ),
    )
    failed = CliRunner().invoke(cli, ["audit", str(register), "--area", "Lambeth"])
    assert failed.exit_code == 2 and "mapping suggest" in failed.output
    mapping = tmp_path / "mapping.toml"
    made = CliRunner().invoke(
        cli,
        ["mapping", "suggest", str(register), "--area", "Lambeth", "-o", str(mapping)],
        catch_exceptions=False,
    )
    assert made.exit_code == 0 and "2 answer(s) to fill in" in made.stderr
    text = mapping.read_text()
    assert "someone@example.org" not in text
    parsed = tomllib.loads(text)
    assert parsed["columns"]["Email"] == "ignore"
    assert parsed["columns"]["What is your sex?"] == "sex"
    assert parsed["answers"]["ethnic_group"]["White British"].startswith("White: English")
    assert parsed["answers"]["sex"]["Femme"] == ""
    text = text.replace('"Femme" = ""', '"Femme" = "Female"').replace(
        '"Whyte" = ""', '"Whyte" = "unplaceable"'
    )
    mapping.write_text(text)
    data = audit(register, "--area", "Lambeth", "--mapping", mapping)
    sex = by_name(data)["sex"]
    assert {g["category"]: g["count"] for g in sex["groups"]} == {"Female": 6, "Male": 6}
    ethnic = by_name(data)["ethnic_group"]
    assert ethnic["n_unplaceable"] == 4
    assert [u["answer"] for u in ethnic["unplaceable"]] == ["(set aside in the mapping file)"]


def test_mapping_file_errors(tmp_path: Path, write_csv, example_register) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[answers.sex]\n"Femme" = "Woman"\n')
    register = write_csv("r.csv", register_rows({"sex": {"Femme": 3, "Male": 3}}))
    result = CliRunner().invoke(
        cli, ["audit", str(register), "--area", "Lambeth", "--mapping", str(bad)]
    )
    assert result.exit_code == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("[columns\n")
    result = CliRunner().invoke(
        cli, ["audit", str(register), "--area", "Lambeth", "--mapping", str(broken)]
    )
    assert result.exit_code == 2 and "is not valid TOML" in result.output


def test_each_event_is_audited_apart(tmp_path: Path, write_csv) -> None:
    rows = [["Session", "Sex", "Age"]]
    rows += [["Brixton drop-in", "Female", "25-34"]] * 12 + [
        ["Brixton drop-in", "Male", "65-74"]
    ] * 8
    rows += [["Online / evening", "Male", "16-24"]] * 10 + [["", "Female", "45-54"]] * 6
    register = write_csv("r.csv", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            str(register),
            "--area",
            "Lambeth",
            "--event-column",
            "Session",
            "--format",
            "json",
            "--format",
            "html",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    index = json.loads((out / "events.json").read_text())["events"]
    assert [(e["event"], e["folder"], e["participants"]) for e in index] == [
        ("Brixton drop-in", "brixton-drop-in", 20),
        ("Online / evening", "online-evening", 10),
        ("(no event given)", "no-event-given", 6),
    ]
    first = json.loads((out / "brixton-drop-in" / "audit.json").read_text())
    assert first["n_participants"] == 20
    assert (out / "online-evening" / "report.html").exists()
