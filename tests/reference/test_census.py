"""The shipped Census 2021 reference data and the library that reads it.

Published figures are checked against ONS's own numbers (PROVENANCE.md lists
them); totals across tables only agree "within noise" because ONS perturbs every
table separately (cell-key perturbation), so those checks allow 0.1% or 10
people, whichever is larger.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inclusion_audit.errors import (
    AreaNotFoundError,
    EligibleAgeError,
    InputError,
    ReferenceDataError,
)
from inclusion_audit.reference import census

EW_HEADLINE = 59_597_542
ALL_AGES = ("All ages", 0, None)


@pytest.fixture(autouse=True)
def _shipped_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Always test the committed reference_data/, whatever the developer's shell has set."""
    monkeypatch.delenv(census.ENV_VAR, raising=False)


def one(spec: str) -> list[census.Area]:
    return census.resolve_areas([spec])


def within_noise(value: float, base: float) -> bool:
    return abs(value - base) <= max(0.001 * base, 10)


def table(name: str) -> pl.DataFrame:
    entry = census.reference_manifest()["tables"][name]
    return pl.read_parquet(census.reference_data_dir() / entry["file"])


def ts007_base(min_age: int) -> pl.DataFrame:
    ages = table("age_sex").filter(pl.col("source") == "ts007", pl.col("age_low") >= min_age)
    return ages.group_by("area_code").agg(pl.col("count").sum().alias("base"))


# ---------------------------------------------------------------------------
# Published totals


def test_england_and_wales_population_matches_the_headline() -> None:
    (ew,) = one("K04000001")
    assert ew.name == "England and Wales"
    assert ew.population is not None and abs(ew.population - EW_HEADLINE) <= 100
    total = sum(census.age_profile([ew], [ALL_AGES]).categories.values())
    assert abs(total - EW_HEADLINE) <= 100


def test_england_and_wales_published_parts() -> None:
    england, wales = census.resolve_areas(["England", "Wales"])
    assert england.population is not None and abs(england.population - 56_490_048) <= 100
    assert wales.population is not None and abs(wales.population - 3_107_494) <= 100


def test_lambeth_age_table_total_is_exact() -> None:
    lambeth = one("E09000022")
    profile = census.age_profile(lambeth, [ALL_AGES])
    assert profile.categories == {"All ages": 317_662.0}
    assert lambeth[0].population == 317_662
    assert profile.table == "TS007"


def test_tower_hamlets_bangladeshi() -> None:
    profile = census.census_profile(one("Tower Hamlets"), "ethnic_group")
    assert profile.categories["Asian, Asian British or Asian Welsh: Bangladeshi"] == 107_333
    assert profile.table == "TS021"
    assert next(iter(profile.categories)) == "Asian, Asian British or Asian Welsh: Bangladeshi"
    assert len(profile.categories) == 19


def test_blackpool_disabled() -> None:
    profile = census.census_profile(one("Blackpool"), "disability")
    assert profile.categories == {
        "Disabled under the Equality Act": 35_458.0,
        "Not disabled under the Equality Act": 105_580.0,
    }


def test_other_provenance_figures() -> None:
    lambeth = one("Lambeth")
    eth = census.census_profile(lambeth, "ethnic_group").categories
    assert eth["Black, Black British, Black Welsh, Caribbean or African: African"] == 37_359
    assert eth["Black, Black British, Black Welsh, Caribbean or African: Caribbean"] == 28_991
    gi = census.census_profile(lambeth, "gender_identity").categories
    assert (gi["Trans woman"], gi["Trans man"]) == (511, 410)
    muslim = census.census_profile(one("Tower Hamlets"), "religion").categories["Muslim"]
    assert muslim == 123_910


def test_person_tables_add_up_to_their_base_within_noise() -> None:
    catalogue = census.reference_manifest()["characteristics"]
    checked = 0
    for name, spec in catalogue.items():
        for variant in spec.get("variants", []):
            if variant["nation"] != "England and Wales" or variant["unit"] != "persons":
                continue
            rows = table(variant["table"]).filter(pl.col("characteristic") == name)
            totals = rows.group_by("area_code").agg(pl.col("count").sum().alias("total"))
            joined = totals.join(ts007_base(variant["min_age"]), on="area_code", how="inner")
            assert joined.height == 331 + 9 + 3, (name, variant["table"])
            if name == "tenure_persons":
                # People in communal establishments have no household tenure.
                assert (joined["total"] <= joined["base"]).all()
                continue
            bad = [
                (code, total, base)
                for code, total, base in joined.iter_rows()
                if not within_noise(total, base)
            ]
            assert not bad, (name, variant["table"], bad[:5])
            checked += 1
    assert checked >= 14


def test_sex_tables_add_up_to_their_base() -> None:
    ages = table("age_sex")
    sex = ages.filter(pl.col("source") == "ts009").group_by("area_code").agg(pl.col("count").sum())
    over16 = (
        ages.filter(pl.col("source") == "custom_age_sex_16plus")
        .group_by("area_code")
        .agg(pl.col("count").sum())
    )
    for frame, min_age in ((sex, 0), (over16, 16)):
        joined = frame.join(ts007_base(min_age), on="area_code")
        assert joined.height == 343
        assert all(within_noise(t, b) for _, t, b in joined.iter_rows())


def test_household_tables_agree() -> None:
    tenure = census.census_profile(one("K04000001"), "tenure")
    deprivation = census.census_profile(one("K04000001"), "household_deprivation")
    a, b = sum(tenure.categories.values()), sum(deprivation.categories.values())
    assert within_noise(a, b)
    assert abs(a - 24_783_417) <= 10  # PROVENANCE.md: LSOA-to-LTLA aggregate
    assert tenure.unit == deprivation.unit == "households"
    assert tenure.universe == "Households"


def test_every_ltla_has_every_england_and_wales_characteristic() -> None:
    ltlas = {a.code for a in census.list_areas(["ltla"])}
    assert len(ltlas) == 331
    assert {c[:3] for c in ltlas} == {"E06", "E07", "E08", "E09", "W06"}
    catalogue = census.reference_manifest()["characteristics"]
    for name, spec in catalogue.items():
        for variant in spec.get("variants", []):
            if variant["nation"] != "England and Wales":
                continue
            rows = table(variant["table"]).filter(pl.col("characteristic") == name)
            per_area = rows.group_by("area_code").agg(pl.col("category").n_unique())
            n_categories = rows["category"].n_unique()
            have = {c for c, n in per_area.iter_rows() if n == n_categories}
            assert ltlas <= have, (name, variant["table"], sorted(ltlas - have)[:5])
    ages = table("age_sex")
    for source in ("ts007", "ts009", "custom_age_sex_16plus"):
        assert ltlas <= set(ages.filter(pl.col("source") == source)["area_code"])


def test_every_ltla_offers_the_full_list() -> None:
    names = census.available_characteristics(one("Hartlepool"))
    assert names == [
        "age",
        "sex",
        "ethnic_group",
        "ethnic_group_broad",
        "disability",
        "religion",
        "sexual_orientation",
        "gender_identity",
        "unpaid_care",
        "unpaid_care_broad",
        "english_proficiency",
        "tenure",
        "tenure_persons",
        "household_deprivation",
        "economic_activity",
        "legal_partnership_status",
    ]


# ---------------------------------------------------------------------------
# Areas


def test_area_counts() -> None:
    counts: dict[str, int] = {}
    for area in census.list_areas():
        counts[area.type] = counts.get(area.type, 0) + 1
    assert counts["ltla"] == 331
    assert counts["region"] == 9
    assert counts["ltla23"] == 4
    assert counts["lgd"] == 11
    assert counts["country"] == 4
    assert counts["ward"] > 7000
    assert all(a.approximate for a in census.list_areas(["ward"]))
    assert not any(a.approximate for a in census.list_areas(["ltla", "region"]))


def test_list_areas_rejects_unknown_types() -> None:
    with pytest.raises(AreaNotFoundError, match="'county'"):
        census.list_areas(["county"])


@pytest.mark.parametrize("spec", ["lambeth", "LAMBETH", "E09000022", " Lambeth ", "e09000022"])
def test_lambeth_resolves(spec: str) -> None:
    assert [a.code for a in census.resolve_areas([spec])] == ["E09000022"]


def test_resolution_keeps_order_and_drops_repeats() -> None:
    areas = census.resolve_areas(["Lambeth", "Southwark", "lambeth"])
    assert [a.name for a in areas] == ["Lambeth", "Southwark"]


def test_misspelt_name_lists_candidates() -> None:
    with pytest.raises(AreaNotFoundError) as caught:
        census.resolve_areas(["Lambeht"])
    message = str(caught.value)
    assert "'Lambeht'" in message
    assert "Lambeth (E09000022)" in message
    assert "inclusion-audit reference areas" in message


def test_ambiguous_name_lists_candidates() -> None:
    with pytest.raises(AreaNotFoundError) as caught:
        census.resolve_areas(["Abbey"])
    message = str(caught.value)
    assert "ambiguous" in message
    assert message.count("(E05") >= 2
    assert "inclusion-audit reference areas" in message


def test_unknown_and_empty_names() -> None:
    with pytest.raises(AreaNotFoundError, match="matches no Census 2021 area"):
        census.resolve_areas(["Qwertyuiop"])
    with pytest.raises(AreaNotFoundError, match="empty"):
        census.resolve_areas(["  "])


def test_ward_names_and_preference_for_larger_areas() -> None:
    (ward,) = census.resolve_areas(["Abbey, Barking and Dagenham"])
    assert ward.type == "ward" and ward.approximate
    assert ward.name == "Abbey, Barking and Dagenham"
    # Dover has a ward called Tower Hamlets; the plain name means the borough.
    assert one("Tower Hamlets")[0].code == "E09000030"
    assert one("Tower Hamlets, Dover")[0].type == "ward"


def test_name_variants() -> None:
    assert one("Bristol")[0].code == "E06000023"
    assert one("London Borough of Lambeth")[0].code == "E09000022"
    assert one("Kingston upon Hull")[0].code == "E06000010"
    assert one("Rhondda Cynon Taf")[0].code == "W06000016"
    assert one("london")[0].type == "region"
    assert one("Belfast")[0].type == "lgd"


def test_stored_name_keys_are_every_name_folded() -> None:
    """Fails when area_name_key changed since the build: run `make reference-data`."""
    areas = table("areas")
    for name, display, aliases, keys in areas.select(
        "name", "display_name", "aliases", "name_keys"
    ).iter_rows():
        assert keys == sorted({census.area_name_key(n) for n in (name, display, *aliases)})
    assert one("Canolbarth Mon") == one("Canolbarth Môn")
    assert one("brighton  &  hove")[0].code == "E06000043"


def test_stored_coverage_is_what_the_tables_hold() -> None:
    """Fails when a table changed without areas.parquet: run `make reference-data`."""
    stored = {
        (code, entry)
        for code, entries in table("areas").select("code", "coverage").iter_rows()
        for entry in entries
    }
    found = set()
    for name in census.reference_manifest()["tables"]:
        if name == "areas":
            continue
        column = "source" if name == "age_sex" else "characteristic"
        pairs = table(name).select(column, "area_code").unique()
        found |= {(code, f"{name}:{key}") for key, code in pairs.iter_rows()}
    assert stored == found


def test_areas_without_name_keys_ask_for_a_rebuild(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "reference_data"
    shutil.copytree(census.reference_data_dir(), copy)
    manifest = census.reference_manifest()
    path = copy / "areas.parquet"
    table("areas").drop("name_keys").write_parquet(path)
    manifest["tables"]["areas"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv(census.ENV_VAR, str(copy))
    with pytest.raises(ReferenceDataError, match="make reference-data"):
        one("Lambeth")


def test_2023_authority_is_the_sum_of_its_2021_components() -> None:
    (somerset,) = one("Somerset")
    assert (somerset.code, somerset.type) == ("E06000066", "ltla23")
    parts = census.resolve_areas(["Mendip", "Sedgemoor", "South Somerset", "E07000246"])
    assert somerset.population == sum(p.population or 0 for p in parts)
    for name in ("ethnic_group", "religion", "sexual_orientation", "tenure", "sex"):
        merged = census.census_profile([somerset], name)
        summed = census.census_profile(parts, name)
        assert merged.categories == summed.categories, name
        assert merged.not_answered == summed.not_answered
    assert any("April 2023" in c for c in census.census_profile([somerset], "religion").caveats)
    bands = [("18-64", 18, 64), ("65+", 65, None)]
    assert (
        census.age_profile([somerset], bands).categories
        == census.age_profile(parts, bands).categories
    )


@pytest.mark.parametrize("code", ["E06000063", "E06000064", "E06000065", "E06000066"])
def test_every_2023_authority_resolves_with_population(code: str) -> None:
    (area,) = one(code)
    assert area.type == "ltla23" and area.population and area.population > 200_000


def test_overlapping_areas_are_refused() -> None:
    with pytest.raises(census.OverlappingAreasError, match="count residents twice"):
        census.census_profile(census.resolve_areas(["London", "Lambeth"]), "religion")
    with pytest.raises(census.OverlappingAreasError):
        census.census_profile(census.resolve_areas(["Somerset", "Mendip"]), "religion")
    ward = census.resolve_areas(["Abbey, Barking and Dagenham", "Barking and Dagenham"])
    with pytest.raises(census.OverlappingAreasError):
        census.census_profile(ward, "religion")
    assert issubclass(census.OverlappingAreasError, InputError)


def test_several_areas_add_up() -> None:
    a, b = census.resolve_areas(["Lambeth", "Southwark"])
    both = census.census_profile([a, b], "religion")
    first = census.census_profile([a], "religion")
    second = census.census_profile([b], "religion")
    for key, value in both.categories.items():
        assert value == first.categories[key] + second.categories[key]
    assert both.not_answered == (first.not_answered or 0) + (second.not_answered or 0)


# ---------------------------------------------------------------------------
# Profiles and eligible ages


def test_labels_are_exact_ons_labels() -> None:
    lambeth = one("Lambeth")
    assert (
        "Straight or Heterosexual"
        in census.census_profile(lambeth, "sexual_orientation").categories
    )
    assert list(census.census_profile(lambeth, "sex").categories) == ["Female", "Male"]
    religion = census.census_profile(lambeth, "religion").categories
    assert next(iter(religion)) == "No religion"
    assert (
        "Disabled under the Equality Act" in census.census_profile(lambeth, "disability").categories
    )
    broad = census.census_profile(lambeth, "ethnic_group_broad").categories
    assert list(broad) == [
        "Asian, Asian British or Asian Welsh",
        "Black, Black British, Black Welsh, Caribbean or African",
        "Mixed or Multiple ethnic groups",
        "White",
        "Other ethnic group",
    ]


@pytest.mark.parametrize("name", ["religion", "sexual_orientation", "gender_identity"])
def test_not_answered_is_separate_for_voluntary_questions(name: str) -> None:
    profile = census.census_profile(one("Lambeth"), name)
    assert "Not answered" not in profile.categories
    assert profile.not_answered is not None and profile.not_answered > 0


def test_not_answered_is_none_for_imputed_questions() -> None:
    assert census.census_profile(one("Lambeth"), "ethnic_group").not_answered is None


def test_gender_identity_always_carries_the_quality_caveat() -> None:
    for eligible in (None, census.parse_age_range("18+")):
        profile = census.census_profile(one("Lambeth"), "gender_identity", eligible)
        assert any("official statistics in development" in c for c in profile.caveats)


def test_broad_ethnic_group_is_the_sum_of_the_detailed_one() -> None:
    lambeth = one("Lambeth")
    detailed = census.census_profile(lambeth, "ethnic_group").categories
    broad = census.census_profile(lambeth, "ethnic_group_broad").categories
    for group, count in broad.items():
        assert count == sum(v for k, v in detailed.items() if k.startswith(group + ":"))


def test_eligible_16_plus_uses_the_16_plus_table() -> None:
    profile = census.census_profile(one("Lambeth"), "religion", census.parse_age_range("16+"))
    assert profile.universe == "Usual residents aged 16+"
    assert profile.table.startswith("ONS custom dataset")
    assert not any("stand in" in c or "cannot separate" in c for c in profile.caveats)


def test_eligible_18_plus_uses_the_16_plus_table_with_a_caveat() -> None:
    profile = census.census_profile(one("Lambeth"), "disability", census.parse_age_range("18+"))
    assert profile.universe == "Usual residents aged 16+"
    assert "18+" in profile.base
    assert any("18+" in c for c in profile.caveats)


def test_eligible_age_without_a_16_plus_table_uses_all_ages_with_a_caveat() -> None:
    profile = census.census_profile(
        one("Lambeth"), "english_proficiency", census.parse_age_range("16+")
    )
    assert profile.universe == "Usual residents aged 3+"
    assert "16+" in profile.base
    assert any("16+" in c for c in profile.caveats)


def test_detailed_ethnic_groups_are_fitted_to_the_16_plus_margin() -> None:
    """Issue 12: no longer all-ages shares standing in (tests/reference/test_age_matched.py)."""
    profile = census.census_profile(one("Lambeth"), "ethnic_group", census.parse_age_range("16+"))
    assert profile.universe == "Usual residents aged 16+"
    assert "iterative proportional fitting" in profile.base


def test_households_ignore_eligible_age_with_a_caveat() -> None:
    profile = census.census_profile(one("Lambeth"), "tenure", census.parse_age_range("18+"))
    assert profile.unit == "households"
    assert "households" in profile.base.lower()


def test_eligible_ages_outside_the_universe() -> None:
    with pytest.raises(census.CharacteristicNotAvailableError) as caught:
        census.census_profile(one("Lambeth"), "sexual_orientation", census.parse_age_range("0-15"))
    assert "16" in caught.value.reason
    assert isinstance(caught.value, InputError)


def test_sex_for_eligible_ages() -> None:
    lambeth = one("Lambeth")
    exact = census.census_profile(lambeth, "sex", census.parse_age_range("16-24"))
    assert exact.universe == "Usual residents aged 16-24"
    assert within_noise(sum(exact.categories.values()), 38_669)
    approx = census.census_profile(lambeth, "sex", census.parse_age_range("18+"))
    assert any("16+" in c and "18+" in c for c in approx.caveats)


def test_unknown_characteristic() -> None:
    with pytest.raises(census.CharacteristicNotAvailableError, match="not a Census"):
        census.census_profile(one("Lambeth"), "shoe_size")


def test_wards_offer_only_lsoa_characteristics() -> None:
    ward = one("Abbey, Barking and Dagenham")
    assert census.available_characteristics(ward) == [
        "ethnic_group_broad",
        "disability",
        "religion",
        "tenure",
        "household_deprivation",
    ]
    profile = census.census_profile(ward, "religion")
    assert any("approximate" in c for c in profile.caveats)
    for name in ("sexual_orientation", "age", "sex"):
        with pytest.raises(census.CharacteristicNotAvailableError) as caught:
            census.census_profile(ward, name)
        assert caught.value.reason


def test_northern_ireland_uses_nisra_figures() -> None:
    belfast = one("Belfast")
    assert census.available_characteristics(belfast) == [
        "age",
        "sex",
        "ethnic_group",
        "religion",
        "sexual_orientation",
    ]
    religion = census.census_profile(belfast, "religion")
    assert "Catholic" in religion.categories
    assert religion.not_answered and religion.not_answered > 0
    assert any("NISRA" in c for c in religion.caveats)
    so = census.census_profile(belfast, "sexual_orientation")
    assert so.universe == "Usual residents aged 16+"
    with pytest.raises(census.CharacteristicNotAvailableError, match="separately"):
        census.census_profile(census.resolve_areas(["Belfast", "Lambeth"]), "religion")


def test_northern_ireland_age_bands_must_line_up() -> None:
    belfast = one("Belfast")
    ok = census.age_profile(belfast, [("16-24", 16, 24), ("25+", 25, None)])
    assert ok.universe == "Usual residents aged 16+"
    with pytest.raises(census.CharacteristicNotAvailableError, match="line up"):
        census.age_profile(belfast, [("18-24", 18, 24)])


# ---------------------------------------------------------------------------
# Age bands


def test_age_bands_sum_to_the_total() -> None:
    lambeth = one("Lambeth")
    bands = [("Under 18", 0, 17), ("18-24", 18, 24), ("25-64", 25, 64), ("65+", 65, None)]
    profile = census.age_profile(lambeth, bands)
    assert sum(profile.categories.values()) == 317_662
    assert list(profile.categories) == ["Under 18", "18-24", "25-64", "65+"]


def test_age_bands_are_clipped_to_the_eligible_ages() -> None:
    lambeth = one("Lambeth")
    eligible = census.parse_age_range("16+")
    bands = [("Under 18", 0, 17), ("18-24", 18, 24), ("25+", 25, None)]
    clipped = census.age_profile(lambeth, bands, eligible)
    exact = census.age_profile(lambeth, [("16+", 16, None)])
    assert sum(clipped.categories.values()) == exact.categories["16+"]
    single = census.age_profile(lambeth, [("16-17", 16, 17)])
    assert clipped.categories["Under 18"] == single.categories["16-17"]
    assert any("Under 18" in c for c in clipped.caveats)


def test_bands_outside_or_missing_from_the_eligible_ages() -> None:
    lambeth = one("Lambeth")
    eligible = census.parse_age_range("18-64")
    profile = census.age_profile(lambeth, [("Under 18", 0, 17), ("18-24", 18, 24)], eligible)
    assert profile.categories["Under 18"] == 0
    assert any("25-64" in c for c in profile.caveats)


def test_default_age_profile_uses_ons_bands() -> None:
    profile = census.census_profile(one("Lambeth"), "age", census.parse_age_range("18+"))
    assert next(iter(profile.categories)) == "Aged 18 to 24 years"
    assert list(profile.categories)[-1] == "Aged 75 years and over"


@settings(max_examples=30, deadline=None)
@given(cuts=st.sets(st.integers(1, 100), max_size=12), low=st.integers(0, 95))
def test_any_partition_of_ages_adds_up(cuts: set[int], low: int) -> None:
    starts = [0, *sorted(cuts)]
    bands: list[tuple[str, int, int | None]] = [
        (f"band {i}", start, starts[i + 1] - 1 if i + 1 < len(starts) else None)
        for i, start in enumerate(starts)
    ]
    eligible = census.AgeRange(low, None, f"{low}+")
    lambeth = one("Lambeth")
    banded = census.age_profile(lambeth, bands, eligible)
    whole = census.age_profile(lambeth, [("all", low, None)])
    assert sum(banded.categories.values()) == whole.categories["all"]


@pytest.mark.parametrize(
    "bands",
    [
        [("a", 10, 20), ("b", 20, 30)],
        [("a", 30, 20)],
        [("a", -1, 20)],
        [("a", 0, None), ("b", 65, None)],
    ],
)
def test_bad_age_bands(bands: list[tuple[str, int, int | None]]) -> None:
    with pytest.raises(census.AgeBandError):
        census.age_profile(one("Lambeth"), bands)


def test_no_bands_gives_the_standard_bands_over_the_eligible_ages() -> None:
    profile = census.age_profile(one("Lambeth"), [], census.parse_age_range("18-70"))
    assert list(profile.categories) == [
        "18-24",
        "25-34",
        "35-44",
        "45-54",
        "55-64",
        "65-70",
    ]
    whole = census.age_profile(one("Lambeth"), [("all", 18, 70)])
    assert sum(profile.categories.values()) == whole.categories["all"]


# ---------------------------------------------------------------------------
# parse_age_range


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("16+", census.AgeRange(16, None, "16+")),
        (" 18 + ", census.AgeRange(18, None, "18+")),
        ("0+", census.AgeRange(0, None, "0+")),
        ("16-24", census.AgeRange(16, 24, "16-24")),
        ("16–24", census.AgeRange(16, 24, "16-24")),
        ("16 to 24", census.AgeRange(16, 24, "16-24")),
        ("18-18", census.AgeRange(18, 18, "18-18")),
        ("all", census.AgeRange(0, None, "all")),
        ("ALL", census.AgeRange(0, None, "all")),
    ],
)
def test_parse_age_range(spec: str, expected: census.AgeRange) -> None:
    assert census.parse_age_range(spec) == expected


@pytest.mark.parametrize("spec", ["", "adults", "24-16", "16-", "-5", "200+", "16.5+", "16++"])
def test_parse_age_range_errors(spec: str) -> None:
    with pytest.raises(EligibleAgeError) as caught:
        census.parse_age_range(spec)
    message = str(caught.value)
    assert f"'{spec}'" in message
    assert "16+" in message or "write the lower age first" in message


@given(low=st.integers(0, 120), span=st.integers(0, 120))
def test_parse_age_range_round_trips(low: int, span: int) -> None:
    high = min(low + span, 120)
    parsed = census.parse_age_range(f"{low}-{high}")
    assert (parsed.low, parsed.high) == (low, high)
    assert census.parse_age_range(parsed.label) == parsed


def test_all_ages_flag() -> None:
    assert census.parse_age_range("all").is_all_ages
    assert census.parse_age_range("0+").is_all_ages
    assert not census.parse_age_range("16+").is_all_ages


# ---------------------------------------------------------------------------
# Locating and guarding the data


def test_reference_data_dir_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(census.ENV_VAR, str(tmp_path))
    with pytest.raises(ReferenceDataError, match=census.ENV_VAR):
        census.reference_data_dir()


def test_a_corrupted_table_fails_its_checksum(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "reference_data"
    shutil.copytree(census.reference_data_dir(), copy)
    path = copy / "ts030_religion.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setenv(census.ENV_VAR, str(copy))
    assert census.reference_data_dir() == copy
    with pytest.raises(ReferenceDataError, match="checksum"):
        census.census_profile(one("Lambeth"), "religion")


@pytest.mark.parametrize(
    "name", ["age", "sex", "ethnic_group", "ethnic_group_broad", "religion", "tenure"]
)
def test_categories_are_the_profile_without_the_counts(name: str) -> None:
    adults, young = census.parse_age_range("16+"), census.parse_age_range("5-10")
    for areas, age in [(one("Lambeth"), None), (one("Lambeth"), adults), (one("Belfast"), young)]:
        try:
            expected = list(census.census_profile(areas, name, age).categories)
        except census.CharacteristicNotAvailableError as error:
            with pytest.raises(census.CharacteristicNotAvailableError) as caught:
                census.census_categories(areas, name, age)
            assert caught.value.reason == error.reason
        else:
            assert census.census_categories(areas, name, age) == expected


def test_tables_that_would_not_be_chosen_are_not_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "reference_data"
    shutil.copytree(census.reference_data_dir(), copy)
    for name in ("ts030_religion", "ts038_disability", "nisra_northern_ireland"):
        path = copy / f"{name}.parquet"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    monkeypatch.setenv(census.ENV_VAR, str(copy))
    adults = census.parse_age_range("16+")
    for name in ("religion", "disability"):
        assert census.census_profile(one("Lambeth"), name, adults).table.startswith("ONS custom")
        with pytest.raises(ReferenceDataError, match="checksum"):
            census.census_profile(one("Lambeth"), name)


def test_manifest_is_a_copy() -> None:
    manifest = census.reference_manifest()
    manifest["tables"].clear()
    assert census.reference_manifest()["tables"]


def test_manifest_records_provenance_and_licence() -> None:
    manifest = census.reference_manifest()
    for name, entry in manifest["tables"].items():
        assert entry["licence"]["name"] == "Open Government Licence v3.0", name
        assert any(
            "Office for National Statistics" in a or "NISRA" in a
            for a in entry["licence"]["attribution"]
        )
        assert entry["sources"] and all(len(s["commit"]) == 40 for s in entry["sources"])
        assert entry["vintage"].startswith("Census 2021")
        for key in ("ons_table", "geography_levels", "population_base", "universe", "rows"):
            assert entry[key], (name, key)
    nisra = manifest["tables"]["nisra_northern_ireland"]["licence"]["attribution"]
    assert any("NISRA" in a for a in nisra)


def test_the_package_never_reads_the_raw_files() -> None:
    package = Path(census.__file__).resolve().parents[1]
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "census2021/raw" not in text, path


def test_profiles_are_remembered_and_each_caller_gets_its_own_copy() -> None:
    # Every audit of an area asks for the same profiles; a service works them out
    # once. A caller changing its copy must not change the next caller's.
    from inclusion_audit.reference import census, geography
    from inclusion_audit.reference.areas import resolve_areas

    lambeth = resolve_areas(["Lambeth"])
    sixteen = census.parse_age_range("16+")
    first = census.census_profile(lambeth, "religion", sixteen)
    first.categories.clear()
    again = census.census_profile(lambeth, "religion", sixteen)
    assert again.categories and sum(again.categories.values()) > 0
    place = geography.place_reference(lambeth, sixteen, "Census 2021 for Lambeth")
    assert isinstance(place.wards, geography.ReferenceCharacteristic)
    place.wards.categories.clear()
    place.ward_names.clear()
    later = geography.place_reference(lambeth, sixteen, "Census 2021 for Lambeth")
    assert isinstance(later.wards, geography.ReferenceCharacteristic)
    assert later.wards.categories and later.ward_names
    with pytest.raises(census.CharacteristicNotAvailableError):
        census.census_profile(resolve_areas(["Belfast"]), "english_proficiency")
    with pytest.raises(census.CharacteristicNotAvailableError):  # remembered, raised again
        census.census_profile(resolve_areas(["Belfast"]), "english_proficiency")
