"""Verdicts that never contradict their interval, and the correction family (issue 12, items 3-4).

References: statsmodels' Clopper-Pearson interval and multipletests, scipy's
binomial distribution.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from inclusion_audit.config import AuditConfig, ConfigError
from inclusion_audit.findings.verdicts import (
    BinomialEvidence,
    Question,
    judge,
    status_from_interval,
)
from inclusion_audit.result import Status

FIRM = {Status.UNDER, Status.OVER}


def question(name: str, n: int, counts_and_shares: list[tuple[int, float]]) -> Question:
    return Question(name, [BinomialEvidence(c, n, s) for c, s in counts_and_shares])


def test_the_issue_cases_agree_with_their_intervals() -> None:
    config = AuditConfig(correction="none")
    # n=107, k=1, share 0.05: was `under` beside 0.033-1.021; parity is not ruled out.
    [[verdict]] = judge([question("q", 107, [(1, 0.05)])], config)
    assert verdict.ratio_ci_high is not None and verdict.ratio_ci_high > 1
    assert verdict.status == Status.POSSIBLE_UNDER
    # n=11, k=2, share 0.5 (expected 5.5): was `possible_under` beside 0.10-0.95.
    [[verdict]] = judge([question("q", 11, [(2, 0.5)])], config)
    assert verdict.status == Status.POSSIBLE_UNDER
    assert verdict.ratio_ci_high is not None and verdict.ratio_ci_high >= 1
    low, high = proportion_confint(2, 11, alpha=0.05, method="beta")
    assert (verdict.ratio_ci_low, verdict.ratio_ci_high) == pytest.approx((low / 0.5, high / 0.5))


def test_alpha_is_tied_to_confidence() -> None:
    assert AuditConfig().alpha == pytest.approx(0.05)
    assert AuditConfig(confidence=0.99).alpha == pytest.approx(0.01)
    assert AuditConfig(alpha=0.1).confidence == pytest.approx(0.9)
    assert AuditConfig(confidence=0.9, alpha=0.1).alpha == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="disagree"):
        AuditConfig(confidence=0.95, alpha=0.01)


groups = st.lists(
    st.tuples(st.integers(min_value=0, max_value=400), st.floats(min_value=0.005, max_value=0.9)),
    min_size=1,
    max_size=6,
)


@given(
    st.lists(st.tuples(st.integers(min_value=1, max_value=600), groups), min_size=1, max_size=4),
    st.sampled_from(["bh", "holm", "none"]),
    st.sampled_from([0.9, 0.95, 0.99]),
)
@settings(max_examples=120, deadline=None)
def test_a_firm_status_holds_exactly_when_its_interval_excludes_parity(
    tables: list[tuple[int, list[tuple[int, float]]]], correction: str, confidence: float
) -> None:
    """The invariant of issue 12, item 3, over random audits and every correction."""
    config = AuditConfig(confidence=confidence, correction=correction)
    questions = [
        question(f"q{i}", n, [(min(c, n), s) for c, s in cells])
        for i, (n, cells) in enumerate(tables)
    ]
    for q, row in zip(questions, judge(questions, config), strict=True):
        for evidence, verdict in zip(q.groups, row, strict=True):
            assert evidence is not None
            ratio = evidence.ratio
            if verdict.status == Status.INSUFFICIENT_DATA or ratio is None:
                continue
            low, high = verdict.ratio_ci_low, verdict.ratio_ci_high
            assert low is not None and high is not None
            assert low <= ratio * (1 + 1e-9) and ratio <= high * (1 + 1e-9)
            firm_under = ratio < config.under_threshold * (1 - 1e-9) and high < 1
            firm_over = ratio > config.over_threshold * (1 + 1e-9) and low > 1
            assert (verdict.status == Status.UNDER) == firm_under
            assert (verdict.status == Status.OVER) == firm_over
            # The adjusted p-value tells the same story, away from the edge itself.
            assert verdict.p_value_adjusted is not None
            edge = abs(verdict.p_value_adjusted - config.alpha) < 1e-6
            if not edge and verdict.status != Status.OK:
                assert (verdict.p_value_adjusted < config.alpha) == (verdict.status in FIRM)


def test_the_family_leaves_out_groups_that_cannot_get_a_verdict() -> None:
    """Issue 12, item 4: 29 tiny categories no longer change another group's verdict."""
    config = AuditConfig()
    main = question("age", 200, [(8, 0.08), (60, 0.3), (132, 0.62)])
    alone = judge([main], config)[0]
    tiny = question("language", 200, [(0, 0.001)] * 29 + [(200, 0.971)])
    together = judge([main, tiny], config)
    assert [v.status for v in together[0]] == [v.status for v in alone]
    assert not any(v.in_family for v in together[1][:29])
    family = [v.p_value for v in together[0]] + [together[1][29].p_value]
    _, adjusted, _, _ = multipletests(family, alpha=0.05, method="fdr_bh")
    assert [v.p_value_adjusted for v in together[0]] == pytest.approx(list(adjusted[:3]))


def test_bh_adjustment_and_level_match_statsmodels() -> None:
    config = AuditConfig()
    q = question("ethnic", 300, [(5, 0.05), (20, 0.1), (40, 0.15), (90, 0.3), (145, 0.4)])
    [row] = judge([q], config)
    p_values = [v.p_value for v in row]
    rejected, adjusted, _, _ = multipletests(p_values, alpha=0.05, method="fdr_bh")
    assert [v.p_value_adjusted for v in row] == pytest.approx(list(adjusted))
    r = int(rejected.sum())
    assert row[0].ratio_ci_level == pytest.approx(1 - max(r, 1) * 0.05 / 5)
    for (count, share), verdict in zip([(5, 0.05), (20, 0.1)], row, strict=False):
        expected = 2 * min(
            scipy_stats.binom.cdf(count, 300, share), scipy_stats.binom.sf(count - 1, 300, share)
        )
        assert verdict.p_value == pytest.approx(min(1.0, expected), rel=1e-9)


def test_a_two_category_question_counts_once() -> None:
    config = AuditConfig()
    sex = question("sex", 100, [(40, 0.52), (60, 0.48)])
    age = question("age", 100, [(10, 0.2), (30, 0.3), (60, 0.5)])
    row_sex, row_age = judge([sex, age], config)
    assert row_sex[0].p_value == pytest.approx(row_sex[1].p_value)
    members = [v for v in row_sex + row_age if v.in_family]
    p_family = [row_sex[0].p_value] + [v.p_value for v in row_age]
    _, adjusted, _, _ = multipletests(p_family, alpha=0.05, method="fdr_bh")
    assert len(members) == 5  # both sex groups are marked, but the family has 4 hypotheses
    assert row_sex[0].p_value_adjusted == pytest.approx(adjusted[0])
    assert [v.p_value_adjusted for v in row_age] == pytest.approx(list(adjusted[1:]))


def test_a_broader_view_is_not_counted_twice() -> None:
    config = AuditConfig()
    detailed = question("ethnic_group", 400, [(10, 0.1), (100, 0.2), (290, 0.7)])
    broad = question("ethnic_group_broad", 400, [(110, 0.3), (290, 0.7)])
    row_detailed, row_broad = judge([detailed, broad], config)
    [alone] = judge([detailed], config)
    assert [v.p_value_adjusted for v in row_detailed] == [v.p_value_adjusted for v in alone]
    assert not any(v.in_family for v in row_broad)
    assert row_broad[0].ratio_ci_level == row_detailed[0].ratio_ci_level


def test_status_thresholds() -> None:
    config = AuditConfig()
    assert status_from_interval(0.5, 0.2, 0.9, config) == Status.UNDER
    assert status_from_interval(0.5, 0.2, 1.0, config) == Status.POSSIBLE_UNDER
    assert status_from_interval(1.5, 1.1, 2.0, config) == Status.OVER
    assert status_from_interval(1.5, 0.9, 2.0, config) == Status.POSSIBLE_OVER
    assert status_from_interval(1.0, 0.9, 1.1, config) == Status.OK
    assert math.isclose(config.alpha, 1 - config.confidence)
