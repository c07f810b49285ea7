"""Every part of the eligible population is accounted for, whatever the register says.

Whole-year answers in any written form are placed in the band containing them;
the age base is the Census single-year population (TS007) summed over the
eligible ages whatever bands the answers fall in; and for every characteristic
and every type of area, the groups listed (zero-count groups included) make up
the whole population, so their shares add up to 1.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inclusion_audit.audit import audit_register
from inclusion_audit.ingest.harmonise import AnswerPlacer, harmonise_column
from inclusion_audit.ingest.readers import Table
from inclusion_audit.reference import census
from inclusion_audit.reference.profiles import CensusReference, NotAvailable
from inclusion_audit.vocab.ages import parse_age_span

LAMBETH = tuple(census.resolve_areas(["E09000022"]))


def ts007_total(codes: list[str], low: int, high: int | None) -> float:
    """Residents aged low..high, summed straight from the shipped TS007 rows."""
    entry = census.reference_manifest()["tables"]["age_sex"]
    rows = pl.read_parquet(census.reference_data_dir() / entry["file"]).filter(
        pl.col("source") == "ts007", pl.col("area_code").is_in(codes)
    )
    inside = rows.filter(pl.col("age_low") >= low)
    if high is not None:
        inside = inside.filter(pl.col("age_high").is_not_null(), pl.col("age_high") <= high)
    return float(inside["count"].sum())


ELIGIBLE = [None, "16+", "18+", "16-64", "18-74", "25-49"]
YEAR_FORMS = ["{}", "{}.0", "{} years", "{} yrs", "{}yo", "aged {}", "Age: {}", "{} y/o"]


def band_text(low: int, high: int | None, form: int) -> str:
    if high is None:
        return [f"{low}+", f"{low} and over", f"Aged {low} years and over"][form % 3]
    if low == 0:
        return f"Under {high + 1}"
    return [f"{low}-{high}", f"{low} to {high}", f"Aged {low} to {high} years"][form % 3]


@st.composite
def age_columns(draw: st.DrawFn) -> tuple[str | None, list[str], list[tuple[str, int]]]:
    """A column mixing whole years in several forms, some of a form's bands, blanks, declines."""
    eligible = draw(st.sampled_from(ELIGIBLE))
    age_range = census.parse_age_range(eligible) if eligible else None
    low = age_range.low if age_range else 0
    high = age_range.high if age_range and age_range.high is not None else 100
    # The form's bands: a partition of the eligible ages, of which people chose some.
    cuts = sorted(draw(st.sets(st.integers(low + 1, high), max_size=6)))
    starts = [low, *cuts]
    partition: list[tuple[int, int | None]] = [
        (s, (starts[i + 1] - 1) if i + 1 < len(starts) else None) for i, s in enumerate(starts)
    ]
    if age_range is not None and age_range.high is not None:
        partition[-1] = (partition[-1][0], age_range.high)
    chosen = draw(st.lists(st.sampled_from(partition), unique=True, max_size=len(partition)))
    answers = [
        band_text(b_low, b_high, draw(st.integers(0, 2)))
        for b_low, b_high in chosen
        if b_high is None or b_high > b_low
    ]
    ages = draw(st.lists(st.integers(low, high), max_size=12))
    years = [(draw(st.sampled_from(YEAR_FORMS)).format(age), age) for age in ages]
    extras = draw(st.lists(st.sampled_from(["", "Prefer not to say", "n/a"]), max_size=3))
    return eligible, [*answers, *(text for text, _ in years), *extras], years


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(age_columns())
def test_whole_years_land_in_their_band_and_the_base_covers_the_eligible_ages(
    column: tuple[str | None, list[str], list[tuple[str, int]]],
) -> None:
    eligible, answers, years = column
    age_range = census.parse_age_range(eligible) if eligible else None
    profile = CensusReference(LAMBETH, age_range).profile("age", answers)
    assert not isinstance(profile, NotAvailable)
    placer = AnswerPlacer("age", list(profile.categories))
    harmonised = harmonise_column([(answer, 1) for answer in answers], placer)
    assert harmonised.unmatched == {}
    assert harmonised.n_unplaceable == 0
    for text, age in years:
        placement = placer.place(text)
        assert placement.kind == "category", text
        span = parse_age_span(placement.category or "")
        assert span is not None and span[0] <= age and (span[1] is None or age <= span[1])
    low = age_range.low if age_range else 0
    high = age_range.high if age_range else None
    # Acceptance: the base is TS007 summed over the eligible ages, whatever the bands.
    assert sum(profile.categories.values()) == ts007_total(["E09000022"], low, high)


def test_a_register_of_typed_ages_keeps_the_whole_eligible_base() -> None:
    """The issue's case: numbers with a few "N years" answers, audited for residents 16+."""
    answers = ["34", "22 years", "61 years", "45", "70.0", "aged 19"]
    profile = CensusReference(LAMBETH, census.parse_age_range("16+")).profile("age", answers)
    assert not isinstance(profile, NotAvailable)
    assert list(profile.categories) == [
        "16-24",
        "25-34",
        "35-44",
        "45-54",
        "55-64",
        "65-74",
        "75+",
    ]
    assert sum(profile.categories.values()) == ts007_total(["E09000022"], 16, None)
    assert not any("left out" in caveat for caveat in profile.caveats)


def test_bands_nobody_chose_are_groups_with_no_participants() -> None:
    answers = ["25-34", "35-44", "45-54", "55-64"]
    reference = CensusReference(LAMBETH, census.parse_age_range("16+"))
    profile = reference.profile("age", answers)
    assert not isinstance(profile, NotAvailable)
    assert list(profile.categories) == [
        "16-24",
        "25-34",
        "35-44",
        "45-54",
        "55-64",
        "65-74",
        "75+",
    ]
    assert any("groups of their own ('16-24', '65-74', '75+')" in c for c in profile.caveats)
    rows: dict[str, list[str | None]] = {"age": [a for a in answers for _ in range(50)]}
    result = audit_register(_table(rows), reference)
    groups = {g.category: g for g in result.characteristics[0].groups}
    assert groups["75+"].count == 0 and groups["75+"].status == "under"
    assert groups["16-24"].count == 0 and groups["16-24"].status == "under"


def _table(columns: dict[str, list[str | None]]) -> Table:
    frame = pl.LazyFrame(
        {name: pl.Series(values, dtype=pl.String) for name, values in columns.items()}
    )
    return Table(frame, tuple(columns), Path("register.csv"), "csv")


def _areas_by_type() -> dict[str, list[census.Area]]:
    found: dict[str, list[census.Area]] = {}
    for area in census.list_areas():
        found.setdefault(area.type, []).append(area)
    return found


AREAS_BY_TYPE = _areas_by_type()


@st.composite
def registers(draw: st.DrawFn) -> tuple[list[census.Area], census.AgeRange | None, Table]:
    """A random area of a random type, eligible ages, and a register answering a few questions."""
    area_type = draw(st.sampled_from(sorted(AREAS_BY_TYPE)))
    area = draw(st.sampled_from(AREAS_BY_TYPE[area_type]))
    eligible_spec = draw(st.sampled_from([None, "16+", "18+"]))
    eligible = census.parse_age_range(eligible_spec) if eligible_spec else None
    available = [
        name
        for name in census.available_characteristics([area])
        if name not in ("age", "ethnic_group_broad", "unpaid_care_broad", "tenure_persons")
    ]
    names = draw(st.lists(st.sampled_from(available), unique=True, min_size=1, max_size=3))
    n = draw(st.integers(5, 60))
    columns: dict[str, list[str | None]] = {}
    for name in names:
        categories = census.census_categories([area], name, eligible)
        chosen = draw(st.lists(st.sampled_from(categories), min_size=1, max_size=3, unique=True))
        columns[name] = draw(st.lists(st.sampled_from([*chosen, None]), min_size=n, max_size=n))
    low = eligible.low if eligible else 0
    columns["age"] = [str(a) for a in draw(st.lists(st.integers(low, 99), min_size=n, max_size=n))]
    return [area], eligible, _table(columns)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_every_characteristic_accounts_for_the_whole_population(
    case: tuple[list[census.Area], census.AgeRange | None, Table],
) -> None:
    areas, eligible, table = case
    reference = CensusReference(tuple(areas), eligible)
    result = audit_register(table, reference)
    for characteristic in result.characteristics:
        groups = characteristic.groups
        assert math.isclose(sum(g.population_share for g in groups), 1.0, rel_tol=1e-9)
        if characteristic.name != "age":
            listed = [g.category for g in groups]
            assert listed == census.census_categories(areas, characteristic.name, eligible)
        elif not areas[0].code.startswith("N"):
            low = eligible.low if eligible else 0
            total = sum(g.population_count for g in groups)
            codes = census.data_codes(census.data_store().areas, areas, "age")
            assert total == ts007_total(list(codes), low, None)


def test_all_ages_says_children_are_a_group_and_how_to_leave_them_out() -> None:
    everyone = CensusReference(LAMBETH, None).profile("age", ["34", "25-34"])
    assert not isinstance(everyone, NotAvailable)
    assert next(iter(everyone.categories)) == "Under 16"
    assert any("--eligible-age" in caveat for caveat in everyone.caveats)
    adults = CensusReference(LAMBETH, census.parse_age_range("18+")).profile("age", ["34"])
    assert not isinstance(adults, NotAvailable)
    assert not any("--eligible-age" in caveat for caveat in adults.caveats)
