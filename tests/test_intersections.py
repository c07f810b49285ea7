"""`audit --intersect`: cells of two characteristics, against a joint table only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from inclusion_audit.cli import cli
from inclusion_audit.intersections import IntersectionError, parse_pairs
from inclusion_audit.report.disclosure import suppress_small_counts

REFERENCE = """characteristic,category,count
age,16-34,300
age,35+,700
sex,Female,520
sex,Male,480
{joint}"""
JOINT = """age×sex,16-34×Female,160
age×sex,16-34×Male,140
age×sex,35+×Female,360
age×sex,35+×Male,340
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def register(tmp_path: Path) -> Path:
    rows = ["Age,Sex"]
    rows += ["16-34,Female"] * 12 + ["16-34,Male"] * 3 + ["35+,Female"] * 40 + ["35+,Male"] * 45
    rows += [",Female"] * 2
    path = tmp_path / "register.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_custom_joint_cells_are_audited_as_their_own_family(register: Path, tmp_path: Path) -> None:
    reference = tmp_path / "population.csv"
    reference.write_text(REFERENCE.format(joint=JOINT), encoding="utf-8")
    code, out, err = run(
        "audit", str(register), "--reference", str(reference), "--intersect", "age,sex", "-q"
    )
    assert code == 0, err
    data = json.loads(out)
    (cross,) = data["intersections"]
    assert cross["name"] == "age×sex" and cross["n_known"] == 100 and cross["n_unknown"] == 2
    cells = {g["category"]: g for g in cross["groups"]}
    assert cells["16-34×Male"]["count"] == 3
    assert cells["16-34×Male"]["population_share"] == pytest.approx(0.14)
    # the characteristics' own verdicts are untouched by the cross (own correction family)
    code, plain, _ = run("audit", str(register), "--reference", str(reference), "-q")
    assert json.loads(plain)["characteristics"] == data["characteristics"]
    # "age x sex" with "16-34 x Female" is read the same
    reference.write_text(REFERENCE.format(joint=JOINT.replace("×", " x ")), encoding="utf-8")
    code, again, _ = run(
        "audit", str(register), "--reference", str(reference), "--intersect", "age,sex", "-q"
    )
    assert json.loads(again)["intersections"] == data["intersections"]


def test_margins_only_are_said_not_invented(register: Path, tmp_path: Path) -> None:
    reference = tmp_path / "population.csv"
    reference.write_text(REFERENCE.format(joint=""), encoding="utf-8")
    code, out, err = run(
        "audit", str(register), "--reference", str(reference), "--intersect", "age,sex", "-q"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["intersections"] == []
    (note,) = [n for n in data["not_audited"] if n["name"] == "age×sex"]
    assert "margins only" in note["reason"] and "not invented" in note["reason"]


def test_census_age_by_sex_for_residents_aged_16_and_over(tmp_path: Path) -> None:
    rows = ["Age,Sex"] + [
        f"{a},{s}"
        for a in ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
        for s in ("Female", "Male")
    ] * 6
    path = tmp_path / "r.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run(
        "audit",
        str(path),
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        "--intersect",
        "age,sex",
        "-q",
    )
    assert code == 0, err
    (cross,) = json.loads(out)["intersections"]
    assert len(cross["groups"]) == 14
    assert sum(g["population_share"] for g in cross["groups"]) == pytest.approx(1)
    code, out, err = run(
        "audit",
        str(path),
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        "--intersect",
        "age,ethnic_group",
        "-q",
    )
    assert code == 0, err


def test_unpublished_crosses_are_refused() -> None:
    for spec in (
        "sexual_orientation,ethnic_group",
        "religion,gender_identity",
        "disability×sexual orientation",
    ):
        with pytest.raises(IntersectionError, match="not published"):
            parse_pairs([spec])
    assert parse_pairs(["age,sex"]) == [("age", "sex")]


def test_small_cells_are_hidden_with_every_cell_that_would_reveal_them() -> None:
    def group(category: str, count: int) -> dict[str, object]:
        return {
            "category": category,
            "count": count,
            "status": "ok",
            "shortfall": 0,
            "population_share": 0.25,
            "expected_count": 10.0,
            "share": None,
        }

    result = {
        "settings": {"under_threshold": 0.8},
        "characteristics": [
            {"name": "age", "groups": [group("A", 20), group("B", 40)]},
            {"name": "sex", "groups": [group("F", 30), group("M", 30)]},
        ],
        "intersections": [
            {
                "name": "age×sex",
                "groups": [group("A×F", 2), group("A×M", 18), group("B×F", 28), group("B×M", 12)],
            }
        ],
    }
    shown = suppress_small_counts(result, 5)["intersections"][0]["groups"]
    hidden = {g["category"] for g in shown if g["suppressed"]}
    # A×F is small; its row (A) and column (F) each need a second hidden cell, and so on.
    assert hidden == {"A×F", "A×M", "B×F", "B×M"} or ("A×F" in hidden and len(hidden) >= 4)
    for line in (("A×F", "A×M"), ("B×F", "B×M"), ("A×F", "B×F"), ("A×M", "B×M")):
        assert sum(c in hidden for c in line) != 1
