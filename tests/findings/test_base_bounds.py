"""Verdicts where the population base stands in for the eligible ages (issue 12, item 2).

A firm verdict must hold at both bounds of what the ages outside the eligible
range could be. References: scipy's linear programming for the bounds (the
extreme eligible shares over every way of placing the residents who differ),
scipy's exact binomial interval for the test at each bound, and TS007 read
with polars for the counts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy import stats as scipy_stats

from inclusion_audit import stats
from inclusion_audit.cli import cli
from inclusion_audit.config import AuditConfig
from inclusion_audit.findings.verdicts import BinomialEvidence, Question, judge
from inclusion_audit.reference import census
from inclusion_audit.result import Status

LEVEL = 0.95


def lp_bounds(n_k: float, total: float, x: float, y: float) -> tuple[float, float]:
    """Extreme shares by linear programming: a of the X in the group, b of the Y."""
    eligible = total - x + y
    # share = (n_k − a + b) / eligible with 0 ≤ a ≤ min(x, n_k), 0 ≤ b ≤ y.
    box = [(0, min(x, n_k)), (0, y)]
    low = optimize.linprog([-1, 1], bounds=box, method="highs")  # maximise a − b
    high = optimize.linprog([1, -1], bounds=box, method="highs")  # maximise b − a
    a_low, b_low = low.x
    a_high, b_high = high.x
    return (n_k - a_low + b_low) / eligible, min(n_k - a_high + b_high, eligible) / eligible


@given(
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=1, max_value=1e6),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1e5),
)
@settings(max_examples=60)
def test_bounds_match_linear_programming(
    n_share: float, total: float, x_fraction: float, y: float
) -> None:
    n_k = n_share / 1e6 * total
    x = x_fraction * total * 0.9
    low, high = stats.base_share_bounds(n_k, total, x, y)
    expected = lp_bounds(n_k, total, x, y)
    assert (low, high) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert low <= n_k / total + 1e-12 and n_k / total <= high + 1e-12


def test_bounds_refuse_impossible_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        stats.base_share_bounds(-1, 10, 0, 0)
    with pytest.raises(ValueError, match="no eligible"):
        stats.base_share_bounds(5, 10, 10, 0)


def scipy_status(count: int, n: int, share: float, level: float, config: AuditConfig) -> Status:
    """The verdict's rule at one share, from scipy's exact interval."""
    if share <= 0:
        return Status.OVER if count > 0 else Status.INSUFFICIENT_DATA
    ci = scipy_stats.binomtest(count, n, share).proportion_ci(level, method="exact")
    ratio, low, high = count / n / share, ci.low / share, ci.high / share
    if ratio < config.under_threshold * (1 - 1e-9):
        return Status.UNDER if high < 1 else Status.POSSIBLE_UNDER
    if ratio > config.over_threshold * (1 + 1e-9):
        return Status.OVER if low > 1 else Status.POSSIBLE_OVER
    return Status.OK


bounded_groups = st.tuples(
    st.integers(min_value=20, max_value=2000),  # n
    st.floats(min_value=0.0, max_value=1.0),  # count / n
    st.floats(min_value=0.02, max_value=0.6),  # stand-in share
    st.floats(min_value=0.0, max_value=0.3),  # X / T
    st.floats(min_value=0.0, max_value=0.1),  # Y / T
)


@given(bounded_groups, st.sampled_from(["none", "bh"]))
@settings(max_examples=120, deadline=None)
def test_a_firm_verdict_holds_at_both_bounds(
    group: tuple[int, float, float, float, float], correction: str
) -> None:
    n, fraction, share, x_part, y_part = group
    count = round(fraction * n)
    total = 100_000.0
    bounds = stats.base_share_bounds(share * total, total, x_part * total, y_part * total)
    config = AuditConfig(correction=correction)
    evidence = BinomialEvidence(count, n, share, bounds)
    [[verdict]] = judge([Question("q", [evidence])], config)
    if verdict.status == Status.INSUFFICIENT_DATA:
        return
    level = verdict.ratio_ci_level
    assert level is not None and verdict.bounds is not None
    at_low = scipy_status(count, n, bounds[0], level, config)
    at_high = scipy_status(count, n, bounds[1], level, config)
    assert verdict.bounds.status_at_share_low == at_low
    assert verdict.bounds.status_at_share_high == at_high
    # The invariant: firm only when both bounds give that firm status.
    if verdict.status in (Status.UNDER, Status.OVER):
        assert at_low == at_high == verdict.status
    stand_in = scipy_status(count, n, share, level, config)
    if stand_in in (Status.UNDER, Status.OVER) and at_low == at_high == stand_in:
        assert verdict.status == stand_in
    # And the status still agrees with the interval printed beside it.
    ratio = count / n / share
    assert verdict.ratio_ci_low is not None and verdict.ratio_ci_high is not None
    if verdict.status == Status.UNDER:
        assert ratio < config.under_threshold and verdict.ratio_ci_high < 1
    if verdict.status == Status.OVER:
        assert ratio > config.over_threshold and verdict.ratio_ci_low > 1
    if verdict.status == Status.POSSIBLE_UNDER and verdict.ratio_ci_high < 1:
        # Below parity at both ends, but not below the threshold at the lowest share.
        assert count / n / bounds[0] >= config.under_threshold * (1 - 1e-9) if bounds[0] else True
    ci = scipy_stats.binomtest(count, n, share).proportion_ci(level, method="exact")
    assert verdict.ratio_ci_low == pytest.approx(ci.low / bounds[1], rel=1e-7, abs=1e-12)
    if bounds[0] > 0:
        assert verdict.ratio_ci_high == pytest.approx(ci.high / bounds[0], rel=1e-7)
    else:
        assert math.isinf(verdict.ratio_ci_high)


def test_without_a_gap_the_verdict_is_the_stand_in_one() -> None:
    config = AuditConfig(correction="none")
    plain = judge([Question("q", [BinomialEvidence(45, 100, 0.6)])], config)[0][0]
    same = judge([Question("q", [BinomialEvidence(45, 100, 0.6, (0.6, 0.6))])], config)[0][0]
    assert plain.status == same.status == Status.UNDER
    assert (plain.ratio_ci_low, plain.ratio_ci_high) == pytest.approx(
        (same.ratio_ci_low, same.ratio_ci_high)
    )


def test_an_under_verdict_that_fails_at_one_bound_becomes_possible() -> None:
    # 45 of 100 against 60%: under. If 20% of the base were outside the eligible ages
    # and all in the group, the eligible share could be (60 − 20) / 80 = 50%: ratio 0.9.
    config = AuditConfig(correction="none")
    bounds = stats.base_share_bounds(60, 100, 20, 0)
    assert bounds == pytest.approx((0.5, 0.75))
    [[verdict]] = judge([Question("q", [BinomialEvidence(45, 100, 0.6, bounds)])], config)
    assert verdict.status == Status.POSSIBLE_UNDER
    assert verdict.coarsened
    assert verdict.bounds is not None
    assert verdict.bounds.status_at_stand_in == Status.UNDER
    assert verdict.bounds.status_at_share_low == Status.OK
    assert verdict.bounds.status_at_share_high == Status.UNDER


def ts007_count(code: str, low: int, high: int) -> float:
    table = pl.read_parquet(census.reference_data_dir() / "age_sex.parquet")
    rows = table.filter(
        pl.col("source") == "ts007",
        pl.col("area_code") == code,
        pl.col("age_low") >= low,
        pl.col("age_high") <= high,
    )
    return float(rows["count"].sum())


def test_an_18_plus_event_from_16_plus_tables_is_bounded_by_the_16_17s() -> None:
    lambeth = census.resolve_areas(["Lambeth"])
    profile = census.census_profile(lambeth, "religion", census.parse_age_range("18+"))
    assert profile.base_gap is not None
    assert profile.base_gap.ages_outside_eligible == "16-17"
    assert profile.base_gap.outside_eligible == ts007_count("E09000022", 16, 17)
    assert profile.base_gap.outside_base == 0
    # Age-matched exactly: no gap.
    exact = census.census_profile(lambeth, "religion", census.parse_age_range("16+"))
    assert exact.base_gap is None
    # Households: ages do not apply.
    assert census.census_profile(lambeth, "tenure", census.parse_age_range("18+")).base_gap is None


def test_a_ward_from_all_ages_tables_is_bounded_by_its_children() -> None:
    ward = census.resolve_areas(["E05000932"])
    profile = census.census_profile(ward, "religion", census.parse_age_range("16+"))
    gap = profile.base_gap
    assert gap is not None and gap.ages_outside_eligible == "0-15"
    assert "approximated" in gap.how
    total = sum(profile.categories.values())
    assert 0.05 * total < gap.outside_eligible < 0.4 * total


def test_northern_ireland_uses_the_narrowest_band_as_an_upper_count() -> None:
    belfast = census.resolve_areas(["Belfast"])
    profile = census.census_profile(belfast, "sexual_orientation", census.parse_age_range("18+"))
    gap = profile.base_gap
    assert gap is not None and gap.ages_outside_eligible == "16-17"
    assert "at most" in gap.how and "16-24" in gap.how


def test_the_audit_records_the_bounds_and_the_report_says_why(
    tmp_path: Path, runner: CliRunner, example_register: Path
) -> None:
    result = runner.invoke(
        cli,
        [
            "audit",
            str(example_register),
            "--area",
            "Lambeth",
            "--eligible-age",
            "18+",
            "--format",
            "json",
            "--format",
            "md",
            "-o",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "audit.json").read_text())
    disability = next(c for c in data["characteristics"] if c["name"] == "disability")
    gap = disability["base_bounds"]
    assert gap["ages_outside_eligible"] == "16-17"
    assert gap["outside_eligible"] == ts007_count("E09000022", 16, 17)
    markdown = (tmp_path / "report.md").read_text()
    for group in disability["groups"]:
        bounds = group["base_bounds"]
        assert bounds is not None
        assert bounds["share_low"] <= group["population_share"] <= bounds["share_high"]
        if group["status"] in ("under", "over"):
            assert bounds["status_at_share_low"] == bounds["status_at_share_high"]
            assert bounds["status_at_share_low"] == group["status"]
        if bounds["held_at_both"] is False:
            assert group["status"] in ("possible_under", "possible_over")
            assert bounds["reason"] and bounds["reason"] in markdown.replace("\\", "")
    assert gap["n_not_firm"] == sum(
        g["base_bounds"]["held_at_both"] is False for g in disability["groups"]
    )
    assert "bounds what each group's eligible share could be" in markdown


def test_a_hidden_count_hides_its_bounds_too() -> None:
    from inclusion_audit.report import disclosure

    assert "base_bounds" in disclosure._HIDDEN_WITH_COUNT
