"""Raking weights against an independent implementation, textbook tables and invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inclusion_audit.stats.weighting import (
    Margin,
    RakingError,
    design_effect,
    kish_effective_sample_size,
    rake,
    standardised_mean_difference,
)


def naive_rake(
    codes: list[list[int]], targets: list[list[float]], iterations: int = 2000
) -> list[float]:
    """Row-by-row raking in plain Python, written from Deming and Stephan's description.

    Unknown answers (-1) are left out of their characteristic's step; targets are
    shares renormalised over the categories someone is in.
    """
    n = len(codes[0])
    weights = [1.0] * n
    for _ in range(iterations):
        for var, target in zip(codes, targets, strict=True):
            present = {c for c in var if c >= 0}
            total_target = sum(t for k, t in enumerate(target) if k in present)
            known_total = sum(w for w, c in zip(weights, var, strict=True) if c >= 0)
            by_category = dict.fromkeys(present, 0.0)
            for w, c in zip(weights, var, strict=True):
                if c >= 0:
                    by_category[c] += w
            for i, c in enumerate(var):
                if c >= 0:
                    weights[i] *= (target[c] / total_target) * known_total / by_category[c]
    return weights


def margins_of(codes: list[list[int]], targets: list[list[float]]) -> list[Margin]:
    return [
        Margin(
            f"v{i}",
            tuple(f"c{k}" for k in range(len(t))),
            tuple(t),
            np.array(c, dtype=np.int64),
        )
        for i, (c, t) in enumerate(zip(codes, targets, strict=True))
    ]


def test_agrees_with_an_independent_row_by_row_implementation() -> None:
    rng = np.random.default_rng(7)
    n = 300
    codes = [
        rng.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4]).tolist(),
        rng.choice(2, size=n, p=[0.7, 0.3]).tolist(),
        rng.choice(5, size=n).tolist(),
    ]
    codes[0][:11] = [-1] * 11  # unknown answers
    codes[2][50:57] = [-1] * 7
    targets = [[25.0, 25, 25, 25], [48.0, 52], [10.0, 20, 30, 20, 20]]
    ours = rake(margins_of(codes, targets), tolerance=1e-12)
    theirs = naive_rake(codes, targets)
    assert ours.converged
    np.testing.assert_allclose(ours.weights, theirs, rtol=1e-9)
    assert ours.weights.mean() == pytest.approx(1.0)


def test_textbook_two_way_table_fitted_to_row_and_column_totals() -> None:
    """A seed table raked to row and column totals (Deming and Stephan, 1940; the
    IPF article's 4 × 4 example): the fit meets both sets of totals and keeps every
    odds ratio of the seed (Bishop, Fienberg and Holland, 1975, ch. 3)."""
    seed = np.array(
        [[40, 30, 20, 10], [35, 50, 100, 75], [30, 80, 70, 120], [20, 30, 40, 50]], dtype=float
    )
    rows_target = np.array([150.0, 300, 400, 150])
    cols_target = np.array([200.0, 300, 400, 100])
    cells = list(itertools.product(range(4), range(4)))
    margins = [
        Margin("row", tuple("abcd"), tuple(rows_target), np.array([r for r, _ in cells])),
        Margin("col", tuple("abcd"), tuple(cols_target), np.array([c for _, c in cells])),
    ]
    base = np.array([seed[r, c] for r, c in cells])
    result = rake(margins, base_weights=base, tolerance=1e-12)
    fitted = (result.weights * rows_target.sum() / base.sum()).reshape(4, 4)
    np.testing.assert_allclose(fitted.sum(axis=1), rows_target, rtol=1e-9)
    np.testing.assert_allclose(fitted.sum(axis=0), cols_target, rtol=1e-9)
    for (i, j), (k, m) in itertools.combinations(itertools.product(range(4), range(4)), 2):
        if i != k and j != m:
            seed_ratio = seed[i, j] * seed[k, m] / (seed[i, m] * seed[k, j])
            fit_ratio = fitted[i, j] * fitted[k, m] / (fitted[i, m] * fitted[k, j])
            assert fit_ratio == pytest.approx(seed_ratio, rel=1e-9)


def test_textbook_seed_of_ones_gives_the_independence_table_in_one_step() -> None:
    """With a seed of ones, IPF gives row total × column total / grand total at once
    (the expected counts of the chi-square test of independence)."""
    rows_target, cols_target = np.array([20.0, 30, 50]), np.array([60.0, 40])
    cells = list(itertools.product(range(3), range(2)))
    margins = [
        Margin("row", tuple("abc"), tuple(rows_target), np.array([r for r, _ in cells])),
        Margin("col", tuple("xy"), tuple(cols_target), np.array([c for _, c in cells])),
    ]
    result = rake(margins, tolerance=1e-12)
    fitted = (result.weights * 100 / 6).reshape(3, 2)
    np.testing.assert_allclose(fitted, np.outer(rows_target, cols_target) / 100, rtol=1e-12)
    assert result.iterations == 1


def test_textbook_three_way_table_with_one_and_two_way_margins() -> None:
    """Fitted to an AB two-way margin and a C one-way margin, the fit is the seed times
    f(a, b) × g(c): every ratio fit/seed between two levels of C is the same in all AB
    cells (no AC, BC or ABC adjustment), and both margins are met."""
    rng = np.random.default_rng(3)
    seed = rng.integers(1, 30, size=(2, 3, 4)).astype(float)
    ab_target = np.array([[10.0, 20, 30], [15, 15, 10]])
    c_target = np.array([30.0, 30, 20, 20])
    cells = list(itertools.product(range(2), range(3), range(4)))
    margins = [
        Margin(
            "a×b",
            tuple(f"{a}×{b}" for a in range(2) for b in range(3)),
            tuple(ab_target.ravel()),
            np.array([a * 3 + b for a, b, _ in cells]),
        ),
        Margin("c", tuple("wxyz"), tuple(c_target), np.array([c for *_, c in cells])),
    ]
    base = np.array([seed[a, b, c] for a, b, c in cells])
    result = rake(margins, base_weights=base, tolerance=1e-13)
    fitted = (result.weights * 100 / base.sum()).reshape(2, 3, 4)
    np.testing.assert_allclose(fitted.sum(axis=2), ab_target, rtol=1e-9)
    np.testing.assert_allclose(fitted.sum(axis=(0, 1)), c_target, rtol=1e-9)
    factor = fitted / seed
    ratios = factor / factor[:, :, :1]
    np.testing.assert_allclose(ratios, np.broadcast_to(ratios[:1, :1, :], ratios.shape), rtol=1e-9)


def test_kish_and_design_effect_against_their_definitions() -> None:
    weights = np.array([0.2, 0.9, 1.1, 1.8, 1.0])
    n_eff = weights.sum() ** 2 / (weights**2).sum()
    assert kish_effective_sample_size(weights) == pytest.approx(n_eff)
    cv2 = weights.var() / weights.mean() ** 2
    assert design_effect(weights) == pytest.approx(1 + cv2)


def test_standardised_mean_difference_by_its_formula() -> None:
    p, q = 0.42, 0.3
    assert standardised_mean_difference(p, q) == pytest.approx(
        (p - q) / np.sqrt((p * (1 - p) + q * (1 - q)) / 2)
    )
    assert standardised_mean_difference(0.0, 0.0) == 0.0


def test_trimming_caps_weights_rerakes_and_names_what_it_misses() -> None:
    # 2 men among 40: men's weight would be 10; a cap of 3 cannot meet the sex margin.
    sex = np.array([0] * 38 + [1] * 2)
    age = np.array([0, 1] * 20)
    margins = margins_of([sex.tolist(), age.tolist()], [[50.0, 50.0], [40.0, 60.0]])
    result = rake(margins, trim_ratio=3)
    assert result.weights.max() <= 3 + 1e-9
    assert result.weights.mean() == pytest.approx(1.0)
    assert result.trimmed == 2
    missed = {(f.characteristic, f.category) for f in result.fits if f.error > result.tolerance}
    warned = {(w.characteristic, w.category) for w in result.warnings if w.code == "margin_not_met"}
    assert missed and missed <= warned
    assert any(w.code == "not_converged" for w in result.warnings)


def test_a_feasible_trim_meets_every_margin() -> None:
    rng = np.random.default_rng(5)
    codes = [rng.choice(3, size=500, p=[0.5, 0.3, 0.2]).tolist(), rng.choice(2, size=500).tolist()]
    result = rake(margins_of(codes, [[30.0, 30, 40], [60.0, 40]]), trim_ratio=2.2)
    assert result.converged
    assert result.weights.max() <= 2.2 + 1e-9
    assert result.largest_margin_error <= result.tolerance
    assert not [w for w in result.warnings if w.code == "margin_not_met"]


def test_a_category_nobody_is_in_is_named_with_a_collapse_offer() -> None:
    margins = margins_of([[0, 0, 1, 1, 1]], [[20.0, 30.0, 50.0]])
    result = rake(margins)
    (warning,) = [w for w in result.warnings if w.code == "category_without_participants"]
    assert warning.category == "c2" and "--collapse 'v0:c2|c1'" in warning.message
    assert result.weights.sum() == pytest.approx(5)
    np.testing.assert_allclose(result.weights, [1.0, 1.0, 1.0, 1.0, 1.0])  # 2:3 already
    # The others meet their shares renormalised without c2: no "margin not met" for them.
    assert not [w for w in result.warnings if w.code == "margin_not_met"]
    assert result.largest_margin_error == pytest.approx(0, abs=1e-12)


def test_participants_outside_the_population_get_weight_zero() -> None:
    result = rake(margins_of([[0, 0, 1, 2]], [[50.0, 50.0, 0.0]]))
    assert result.weights[3] == 0
    assert result.weights.sum() == pytest.approx(4)
    assert any(w.code == "outside_population" for w in result.warnings)


def test_nothing_to_rake_is_a_named_error() -> None:
    with pytest.raises(RakingError, match="trim ratio"):
        rake(margins_of([[0, 1]], [[1.0, 1.0]]), trim_ratio=0.5)
    with pytest.raises(RakingError, match="no participants"):
        rake(margins_of([[]], [[1.0, 1.0]]))


@st.composite
def samples(draw: st.DrawFn) -> tuple[list[list[int]], list[list[float]]]:
    n = draw(st.integers(min_value=20, max_value=200))
    n_vars = draw(st.integers(min_value=1, max_value=3))
    codes, targets = [], []
    for _ in range(n_vars):
        k = draw(st.integers(min_value=2, max_value=4))
        # Every category present, so the margins can be met.
        column = list(range(k)) + draw(
            st.lists(st.integers(min_value=0, max_value=k - 1), min_size=n - k, max_size=n - k)
        )
        codes.append(column)
        targets.append(draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))
    return codes, targets


@settings(max_examples=40, deadline=None)
@given(samples())
def test_weights_reproduce_the_margins(sample: tuple[list[list[int]], list[list[float]]]) -> None:
    codes, targets = sample
    result = rake(margins_of(codes, targets), max_iterations=5000, tolerance=1e-9)
    if not result.converged:
        # Raking one-way margins with every category present always converges
        # (Csiszár, 1975), but slowly for some patterns; then the miss is named.
        assert {w.code for w in result.warnings} >= {"not_converged"}
        return
    for fit in result.fits:
        assert fit.weighted_share == pytest.approx(fit.population_share, abs=1e-8)
    assert result.weights.mean() == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=4, max_size=80))
def test_a_sample_matching_the_margins_gets_weights_of_one(column: list[int]) -> None:
    counts = np.bincount(column, minlength=4).astype(float)
    present = [k for k in range(4) if counts[k] > 0]
    result = rake(margins_of([column], [[float(counts[k]) for k in range(4)]]))
    np.testing.assert_allclose(result.weights, 1.0)
    assert result.iterations == 1 and len(present) >= 1


@settings(max_examples=30, deadline=None)
@given(samples(), st.randoms(use_true_random=False))
def test_permuting_rows_permutes_weights(
    sample: tuple[list[list[int]], list[list[float]]], random: object
) -> None:
    codes, targets = sample
    n = len(codes[0])
    order = list(range(n))
    random.shuffle(order)  # type: ignore[attr-defined]
    shuffled = [[column[i] for i in order] for column in codes]
    first = rake(margins_of(codes, targets), max_iterations=200)
    second = rake(margins_of(shuffled, targets), max_iterations=200)
    np.testing.assert_allclose(second.weights, first.weights[order], rtol=1e-12)
