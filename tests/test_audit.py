"""The audit end to end through the library, and invariants that must always hold."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from inclusion_audit import AuditConfig, Status, audit_register, read_reference_csv, run_audit
from inclusion_audit.action.event import load_event
from inclusion_audit.errors import RegisterError, UnknownValuesError
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.result import AuditResult, plain

from .conftest import EXAMPLES, register_rows


def run(write_csv, reference: Path, counts: dict[str, dict[str, int]], **config) -> AuditResult:
    register = write_csv("register.csv", register_rows(counts))
    return audit_register(
        read_table(register), read_reference_csv(reference), AuditConfig(**config)
    )


def group(result: AuditResult, characteristic: str, category: str):
    found = next(c for c in result.characteristics if c.name == characteristic)
    return next(g for g in found.groups if g.category == category)


def test_numbers_of_one_group_match_independent_implementations(write_csv, small_reference):
    counts = {
        "sex": {"Female": 70, "Male": 25, "Prefer not to say": 5},
        "age": {"16-34": 20, "35-64": 40, "65+": 38, "": 2},
    }
    result = run(write_csv, small_reference, counts)
    assert result.n_participants == 100
    young = group(result, "age", "16-34")
    assert young.count == 20 and young.population_share == pytest.approx(0.5)
    assert young.share == pytest.approx(20 / 98)
    low, high = proportion_confint(20, 98, method="wilson")
    assert (young.share_ci_low, young.share_ci_high) == (pytest.approx(low), pytest.approx(high))
    assert young.ratio == pytest.approx((20 / 98) / 0.5)
    # The verdict's interval: Clopper-Pearson at the family's level (issue 12).
    assert young.ratio_ci_level is not None
    cp_low, cp_high = proportion_confint(20, 98, alpha=1 - young.ratio_ci_level, method="beta")
    assert young.ratio_ci_low == pytest.approx(cp_low / 0.5)
    assert young.ratio_ci_high == pytest.approx(cp_high / 0.5)
    central = 2 * scipy_stats.binom.cdf(20, 98, 0.5)
    assert young.p_value == pytest.approx(central, rel=1e-9)
    assert young.p_value_binom_test == pytest.approx(
        scipy_stats.binomtest(20, 98, 0.5).pvalue, rel=1e-9
    )
    assert young.status is Status.UNDER
    assert young.shortfall == 32  # (20 + 32) / (98 + 32) = 0.4 = 0.8 × 0.5, exactly
    assert (20 + young.shortfall) / (98 + young.shortfall) >= 0.8 * 0.5
    assert (20 + young.shortfall - 1) / (98 + young.shortfall - 1) < 0.8 * 0.5
    assert young.share_if_unknown_in_group == pytest.approx(22 / 100)
    assert young.share_if_unknown_not_in_group == pytest.approx(20 / 100)

    age = next(c for c in result.characteristics if c.name == "age")
    assert (age.n_known, age.n_unknown, age.n_blank, age.n_declined) == (98, 2, 2, 0)
    chi = scipy_stats.chisquare([20, 40, 38], [98 * 0.5, 98 * 0.25, 98 * 0.25])
    assert age.chi_square is not None
    assert age.chi_square.statistic == pytest.approx(chi.statistic)
    assert age.chi_square.p_value == pytest.approx(chi.pvalue, rel=1e-9)
    assert age.dissimilarity_index == pytest.approx(
        0.5 * (abs(20 / 98 - 0.5) + abs(40 / 98 - 0.25) + abs(38 / 98 - 0.25))
    )


def test_p_values_are_adjusted_over_the_family_of_the_audit(write_csv, small_reference):
    """Every group that can get a verdict, a two-category question counted once (issue 12)."""
    from statsmodels.stats.multitest import multipletests

    counts = {"sex": {"Female": 70, "Male": 30}, "age": {"16-34": 20, "35-64": 40, "65+": 40}}
    result = run(write_csv, small_reference, counts, correction="holm")
    sex, age = (next(c for c in result.characteristics if c.name == n) for n in ("sex", "age"))
    family = [sex.groups[0].p_value, *(g.p_value for g in age.groups)]
    expected = multipletests(family, method="holm")[1]
    assert [g.p_value_adjusted for g in sex.groups] == pytest.approx([expected[0]] * 2)
    assert [g.p_value_adjusted for g in age.groups] == pytest.approx(list(expected[1:]))


def test_groups_without_participants_are_listed(write_csv, small_reference):
    result = run(write_csv, small_reference, {"age": {"35-64": 30, "65+": 30}})
    young = group(result, "age", "16-34")
    assert (young.count, young.share, young.status) == (0, 0.0, Status.UNDER)
    assert [n.name for n in result.not_audited] == ["sex"]


def test_small_groups_get_no_verdict(write_csv, small_reference):
    result = run(write_csv, small_reference, {"sex": {"Female": 9, "Male": 0}})
    assert group(result, "sex", "Male").status is Status.INSUFFICIENT_DATA


def test_zero_population_category_is_excluded_not_a_crash(write_csv):
    reference = write_csv(
        "ref.csv",
        [
            ["characteristic", "category", "count"],
            ["sex", "Female", 50],
            ["sex", "Male", 50],
            ["sex", "Other", 0],
        ],
    )
    counts = {"sex": {"Female": 30, "Male": 30, "Other": 2}}
    result = run(write_csv, reference, counts)
    other = group(result, "sex", "Other")
    assert other.status is Status.INSUFFICIENT_DATA
    assert other.ratio is None and other.p_value is None and other.note
    sex = result.characteristics[0]
    assert sex.chi_square is None  # someone is in a category the population lacks
    text = result.to_json()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


def test_nobody_answered(write_csv, small_reference):
    result = run(write_csv, small_reference, {"sex": {"": 3, "Prefer not to say": 2}})
    sex = result.characteristics[0]
    assert sex.n_known == 0 and sex.dissimilarity_index is None and sex.chi_square is None
    assert all(g.status is Status.INSUFFICIENT_DATA and g.share is None for g in sex.groups)
    json.loads(result.to_json())


def test_unknown_answers_stop_the_audit_with_every_value_listed(write_csv, small_reference):
    counts = {"sex": {"Female": 3, "Femle": 2, "=cmd|' /C calc'!A0": 1}, "age": {"16-34": 6}}
    register = write_csv("register.csv", register_rows(counts))
    with pytest.raises(UnknownValuesError) as caught:
        audit_register(read_table(register), read_reference_csv(small_reference))
    message = str(caught.value)
    assert "2 answers match no reference category" in message
    assert "'Femle' (2 rows, first on row 5; closest: 'Female'" in message
    assert "mapping suggest" in message
    assert "=cmd|" in message and "'Female', 'Male'" in message


def test_register_without_reference_characteristics(write_csv, small_reference):
    register = write_csv("register.csv", [["Name", "Postcode"], ["a", "b"]])
    with pytest.raises(RegisterError, match="none of the reference's characteristics"):
        audit_register(read_table(register), read_reference_csv(small_reference))


def test_register_with_no_rows(write_csv, small_reference):
    register = write_csv("register.csv", [["Sex", "Age"]])
    with pytest.raises(RegisterError, match="no participant rows"):
        audit_register(read_table(register), read_reference_csv(small_reference))


def test_identifying_columns_never_reach_the_result(write_csv, small_reference):
    rows = register_rows(
        {"sex": {"Female": 10, "Male": 10}},
        extra={"Email": "secret.person@example.org", "Comments": "I live at 1 Main St"},
    )
    register = write_csv("register.csv", rows)
    result = audit_register(read_table(register), read_reference_csv(small_reference))
    text = result.to_json()
    for secret in ("secret.person", "Main St", "Person 1", "Email", "Comments"):
        assert secret not in text
    assert result.register.columns_ignored == 3


def test_example_register_is_audited(example_register, example_reference):
    result = audit_register(read_table(example_register), read_reference_csv(example_reference))
    assert result.n_participants == 240
    assert {c.name for c in result.characteristics} == {"age", "sex", "ethnic_group", "disability"}
    assert group(result, "age", "16-24").status is Status.UNDER


def test_plain_data_is_asdict_with_lists_and_no_nan(example_register, example_reference):
    def finite(value):
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [finite(v) for v in value]
        return value

    event = load_event(EXAMPLES / "riverside-forum-event.yaml")
    result = run_audit(
        read_table(example_register), read_reference_csv(example_reference), event=event
    )
    first = result.characteristics[0]
    odd = replace(
        result,
        settings={**result.settings, "nan": math.nan},
        characteristics=(replace(first, dissimilarity_index=math.inf), *result.characteristics),
    )
    assert result.barriers and result.recommendations and result.event
    for value in (result, odd):
        expected = json.dumps(finite(asdict(value)), allow_nan=False)
        assert json.dumps(plain(value), allow_nan=False) == expected


@st.composite
def registers(draw):
    shares = draw(st.lists(st.integers(1, 100), min_size=2, max_size=5))
    counts = draw(st.lists(st.integers(0, 60), min_size=len(shares), max_size=len(shares)))
    return shares, counts


@given(registers(), st.integers(2, 5))
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_invariants(write_csv, case, scale) -> None:
    population, counts = case
    if sum(counts) == 0:
        counts[0] = 1
    categories = [f"Group {i}" for i in range(len(population))]
    reference = write_csv(
        "ref.csv",
        [
            ["characteristic", "category", "count"],
            *[["group", c, p] for c, p in zip(categories, population, strict=True)],
        ],
    )
    result = run(write_csv, reference, {"group": dict(zip(categories, counts, strict=True))})
    scaled = run(
        write_csv,
        reference,
        {"group": {c: n * scale for c, n in zip(categories, counts, strict=True)}},
    )
    ref_scaled = write_csv(
        "ref2.csv",
        [
            ["characteristic", "category", "count"],
            *[["group", c, p * 7] for c, p in zip(categories, population, strict=True)],
        ],
    )
    same = run(write_csv, ref_scaled, {"group": dict(zip(categories, counts, strict=True))})
    groups = result.characteristics[0].groups
    assert math.fsum(g.share for g in groups) == pytest.approx(1)
    assert math.fsum(g.population_share for g in groups) == pytest.approx(1)
    others = zip(scaled.characteristics[0].groups, same.characteristics[0].groups, strict=True)
    for g, (s, r) in zip(groups, others, strict=True):
        # Ratios depend on shares only; population counts matter only as shares.
        assert g.ratio == pytest.approx(s.ratio)
        assert g.ratio == pytest.approx(r.ratio) and g.p_value == pytest.approx(r.p_value)
        assert g.share_ci_low <= g.share <= g.share_ci_high
        assert g.share_if_unknown_not_in_group <= g.share_if_unknown_in_group
        assert 0 <= g.p_value <= 1
        # Only groups that can get a verdict are adjusted (the family of issue 12).
        assert (g.p_value_adjusted is None) == (g.status is Status.INSUFFICIENT_DATA)
        if g.p_value_adjusted is not None:
            assert 0 <= g.p_value_adjusted <= 1
            assert g.p_value_adjusted >= g.p_value - 1e-15


@given(st.lists(st.integers(1, 20), min_size=2, max_size=6), st.integers(1, 40))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_register_at_census_proportions_has_no_findings(write_csv, weights, multiple) -> None:
    categories = [f"Group {i}" for i in range(len(weights))]
    reference = write_csv(
        "ref.csv",
        [
            ["characteristic", "category", "count"],
            *[["group", c, w] for c, w in zip(categories, weights, strict=True)],
        ],
    )
    result = run(
        write_csv,
        reference,
        {"group": {c: w * multiple for c, w in zip(categories, weights, strict=True)}},
    )
    characteristic = result.characteristics[0]
    assert characteristic.dissimilarity_index == pytest.approx(0, abs=1e-12)
    assert all(g.status in (Status.OK, Status.INSUFFICIENT_DATA) for g in characteristic.groups)
    assert all(g.shortfall == 0 for g in characteristic.groups)
