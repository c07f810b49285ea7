"""Auditing against the shipped Census 2021 data, reference commands and quotas."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from inclusion_audit.cli.app import cli
from inclusion_audit.errors import ReferenceFileError
from inclusion_audit.findings.quotas import check_quotas
from inclusion_audit.reference import census
from inclusion_audit.reference.profiles import CensusReference, NotAvailable, age_bands_for
from inclusion_audit.reference.targets import read_quotas

from ..conftest import register_rows


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def lambeth(age: str | None = "16+") -> CensusReference:
    return CensusReference(
        tuple(census.resolve_areas(["Lambeth"])), census.parse_age_range(age) if age else None
    )


def test_example_against_lambeth_uses_census_counts(example_register) -> None:
    result = invoke("audit", example_register, "--area", "Lambeth", "--eligible-age", "16+", "-q")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["reference"] == "Census 2021 for Lambeth (E09000022), residents aged 16+"
    age = next(c for c in data["characteristics"] if c["name"] == "age")
    expected = census.age_profile(
        census.resolve_areas(["E09000022"]), [("16-24", 16, 24)], census.parse_age_range("16+")
    ).categories["16-24"]
    young = next(g for g in age["groups"] if g["category"] == "16-24")
    assert young["population_count"] == expected
    assert age["reference"]["table"] == "TS007"
    ethnic = next(c for c in data["characteristics"] if c["name"] == "ethnic_group")
    assert len(ethnic["groups"]) == 5  # the register uses the 5 high-level groups
    assert "high-level" in ethnic["reference"]["caveats"][0]


def test_register_bands_set_the_census_bands() -> None:
    bands = age_bands_for(["18-24", "18 to 24", "25-64", "65+", "Prefer not to say", ""])
    assert bands == [("18-24", 18, 24), ("25-64", 25, 64), ("65+", 65, None)]


def test_ages_in_years_get_standard_bands() -> None:
    assert age_bands_for(["12", "34 years", "80"]) == []  # whole years make no band
    everyone = lambeth(None).profile("age", ["12", "34", "80"])
    assert not isinstance(everyone, NotAvailable)
    assert list(everyone.categories) == [
        "Under 16",
        "16-24",
        "25-34",
        "35-44",
        "45-54",
        "55-64",
        "65-74",
        "75+",
    ]
    adult = lambeth("18+").profile("age", ["34"])
    assert not isinstance(adult, NotAvailable)
    assert list(adult.categories)[:2] == ["18-24", "25-34"]


def test_ages_in_years_are_audited_against_single_year_counts(write_csv) -> None:
    ages = {str(a): 3 for a in range(18, 90)}
    register = write_csv("r.csv", register_rows({"age": ages}))
    result = invoke("audit", register, "--area", "E09000022", "--eligible-age", "18+", "-q")
    data = json.loads(result.stdout)
    groups = data["characteristics"][0]["groups"]
    assert [g["category"] for g in groups] == [
        "18-24",
        "25-34",
        "35-44",
        "45-54",
        "55-64",
        "65-74",
        "75+",
    ]
    # 18+ clips the first band to 18-24: exact from single years.
    areas = census.resolve_areas(["E09000022"])
    exact = census.age_profile(areas, [("18-24", 18, 24)]).categories["18-24"]
    assert groups[0]["population_count"] == exact
    assert groups[0]["count"] == 7 * 3


def test_characteristic_the_area_lacks_is_not_audited(write_csv) -> None:
    register = write_csv(
        "r.csv",
        register_rows(
            {"sex": {"Female": 5, "Male": 5}, "disability": {"Disabled under the Equality Act": 10}}
        ),
    )
    result = invoke("audit", register, "--area", "Belfast", "-q")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["name"] for c in data["characteristics"]] == ["sex"]
    reference = CensusReference(tuple(census.resolve_areas(["Belfast"])))
    profile = reference.profile("disability", [])
    assert isinstance(profile, NotAvailable)
    assert data["not_audited"][0] == {
        "name": "disability",
        "reason": profile.reason,
        "column": "disability",
        "fix": data["not_audited"][0]["fix"],
    }
    assert "--reference" in data["not_audited"][0]["fix"]
    # What Northern Ireland lacks is listed too, though the register did not ask it.
    rest = {item["name"]: item["reason"] for item in data["not_audited"][1:]}
    assert set(rest) == {"unpaid_care", "gender_identity", "tenure"}
    assert all("Northern Ireland" in reason for reason in rest.values())


def test_ages_outside_the_eligible_ages_are_an_error(write_csv) -> None:
    register = write_csv("r.csv", register_rows({"age": {"17": 3, "30": 2, "45": 1}}))
    result = invoke("audit", register, "--area", "Lambeth", "--eligible-age", "16-24")
    assert result.exit_code == 2
    assert "ages outside the eligible ages 16-24: '30', '45'" in result.output
    bands = write_csv("b.csv", register_rows({"age": {"16-24": 3, "25-34": 2}}))
    result = invoke("audit", bands, "--area", "Lambeth", "--eligible-age", "16-24")
    assert result.exit_code == 2 and "'25-34'" in result.output


def test_nothing_audited_is_an_error_with_the_reasons(write_csv) -> None:
    register = write_csv("r.csv", register_rows({"sexual_orientation": {"Bisexual": 4}}))
    ward = next(a for a in census.list_areas(["ward"]) if a.name.endswith("Lambeth"))
    result = invoke("audit", register, "--area", ward.code, "--fail-on-under")
    assert result.exit_code == 2
    assert "nothing could be audited (sexual_orientation: " in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "Lambeht"], "Did you mean: Lambeth (E09000022)"),
        (["--area", "Lambeth", "--eligible-age", "eighteen"], "Eligible age 'eighteen'"),
        (["--eligible-age", "18+"], "--eligible-age goes with --area"),
        (["--area", "Lambeth", "--reference", "x.csv"], "either --area or --reference"),
        ([], "say what to compare with"),
    ],
)
def test_bad_area_options(example_register, args, message) -> None:
    result = invoke("audit", example_register, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_reference_areas_lists_every_local_authority() -> None:
    result = invoke("reference", "areas", "--type", "ltla", "--format", "json")
    areas = json.loads(result.stdout)
    assert len(areas) == 331
    lambeth_row = next(a for a in areas if a["code"] == "E09000022")
    assert lambeth_row == {
        "code": "E09000022",
        "name": "Lambeth",
        "type": "ltla",
        "population": 317662,
    }


def test_reference_show_json_contract() -> None:
    result = invoke(
        "reference",
        "show",
        "lambeth",
        "--characteristic",
        "religion",
        "--characteristic",
        "sex",
        "--format",
        "json",
    )
    data = json.loads(result.stdout)
    assert data["areas"] == [{"code": "E09000022", "name": "Lambeth"}]
    religion = next(c for c in data["characteristics"] if c["name"] == "religion")
    assert set(religion) >= {"name", "base", "universe", "categories", "not_answered"}
    assert "Not answered" not in [c["category"] for c in religion["categories"]]
    assert religion["not_answered"] > 0


def test_several_areas_add_up() -> None:
    def total(*areas: str) -> float:
        result = invoke("reference", "show", *areas, "--characteristic", "sex", "--format", "json")
        sex = json.loads(result.stdout)["characteristics"][0]
        return sum(c["count"] for c in sex["categories"])

    assert total("Lambeth", "Southwark") == pytest.approx(total("Lambeth") + total("Southwark"))


def test_reference_show_csv_is_a_reference_file(tmp_path, example_register) -> None:
    result = invoke(
        "reference",
        "show",
        "Lambeth",
        "--eligible-age",
        "16+",
        "--characteristic",
        "sex",
        "--format",
        "csv",
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["category"] for r in rows} == {"Female", "Male"}
    path = tmp_path / "population.csv"
    path.write_text(result.stdout)
    audited = invoke("audit", example_register, "--reference", path, "-q")
    assert json.loads(audited.stdout)["characteristics"][0]["name"] == "sex"


def test_unknown_characteristic_is_refused() -> None:
    result = invoke("reference", "show", "Lambeth", "--characteristic", "star_sign")
    assert result.exit_code == 2 and "not a Census characteristic" in result.output


def test_quotas_are_checked(write_csv) -> None:
    quotas = write_csv(
        "quotas.csv",
        [
            ["category", "name", "min", "max"],
            ["sex", "Female", 9, 11],
            ["sex", "Male", 9, 11],
            ["age", "16-29", 4, 6],
            ["age", "30+", 14, 16],
        ],
    )
    panel = write_csv(
        "panel.csv",
        register_rows({"sex": {"Female": 12, "Male": 8}, "age": {"16-29": 5, "30+": 15}}),
    )
    result = invoke("audit", panel, "--targets", quotas, "-q")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    found = {
        (q["characteristic"], q["category"]): (q["count"], q["met"], q["gap"])
        for q in data["quotas"]
    }
    assert found == {
        ("sex", "Female"): (12, False, 1),
        ("sex", "Male"): (8, False, -1),
        ("age", "16-29"): (5, True, 0),
        ("age", "30+"): (15, True, 0),
    }
    # With no other reference, the quota midpoints are the targets.
    sex = next(c for c in data["characteristics"] if c["name"] == "sex")
    assert [g["population_share"] for g in sex["groups"]] == [0.5, 0.5]


def test_quotas_with_census_reference(write_csv, example_register) -> None:
    quotas = write_csv(
        "quotas.csv",
        [
            ["category", "name", "min", "max"],
            ["Sex", "female", 100, 140],
            ["Sex", "male", 100, 140],
        ],
    )
    result = invoke("audit", example_register, "--area", "Lambeth", "--targets", quotas, "-q")
    data = json.loads(result.stdout)
    assert data["reference"].startswith("Census 2021 for Lambeth")
    assert [q["met"] for q in data["quotas"]] == [True, False]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["sex", "Female", "5", "3"]], "min 5 is above max 3"),
        ([["sex", "Female", "x", "3"]], "min 'x' is not a number"),
        ([["sex", "Female", "1.5", "3"]], "whole number"),
        ([["sex", "Female", "1", "3"], ["sex", "Female", "1", "3"]], "appears twice"),
        ([["sex", "Female", "1", "3"], ["Sex", "female ", "1", "3"]], "appears twice"),
        ([["sex", "Female", "1", ""]], "max is blank"),
    ],
)
def test_bad_quota_files(write_csv, rows, message) -> None:
    path = write_csv("quotas.csv", [["category", "name", "min", "max"], *rows])
    with pytest.raises(ReferenceFileError, match=message):
        read_quotas(path)


def test_check_quotas_counts_folded_answers() -> None:
    from inclusion_audit.reference.targets import Quota

    results = check_quotas([Quota("sex", "Female", 1, 2)], {"sex": [("FEMALE", 2), (None, 3)]})
    assert results[0].count == 2 and results[0].met


def test_overlapping_age_ranges_stop_the_audit_until_a_mapping_settles_them(
    write_csv, tmp_path
) -> None:
    rows = register_rows({"age": {"60-69": 3, "65+": 4, "25-34": 5, "34 years": 2}})
    register = write_csv("r.csv", rows)
    result = invoke("audit", register, "--area", "Lambeth", "--eligible-age", "16+")
    assert result.exit_code == 2
    assert "age answers '60-69' (ages 60-69) and '65+' (ages 65+) overlap" in result.output
    assert "Traceback" not in result.output
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[answers.age]\n"65+" = "unplaceable"\n', encoding="utf-8")
    result = invoke(
        "audit", register, "--area", "Lambeth", "--eligible-age", "16+", "--mapping", mapping, "-q"
    )
    assert result.exit_code == 0, result.output
    age = json.loads(result.stdout)["characteristics"][0]
    groups = {g["category"]: g["count"] for g in age["groups"]}
    assert groups["25-34"] == 7 and groups["60-69"] == 3 and groups["70-74"] == 0
    assert age["n_unplaceable"] == 4
