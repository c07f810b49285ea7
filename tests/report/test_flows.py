"""A ward's range from the flow method, against an integer programme (scipy ``milp``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import LinearConstraint

from inclusion_audit.report.flows import ward_ranges

from .test_places_attack import integer_range


@st.composite
def tables(draw: st.DrawFn) -> tuple[list, list, set, int]:
    """Spans of a true ward × decile table: each margin exact, or widened around its count."""
    n_w, n_d = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    allowed = {
        (w, d)
        for w in range(n_w)
        for d in draw(st.sets(st.integers(0, n_d - 1), min_size=1, max_size=n_d))
    }
    joint = {pair: draw(st.integers(0, 12)) for pair in allowed}
    total = sum(joint.values())

    def spans(size: int, axis: int) -> list[tuple[int, int]]:
        found = []
        for i in range(size):
            count = sum(v for pair, v in joint.items() if pair[axis] == i)
            below, above = draw(st.integers(0, 6)), draw(st.integers(0, 6))
            exact = draw(st.booleans())
            found.append(
                (count, count) if exact else (max(0, count - below), min(total, count + above))
            )
        return found

    return spans(n_w, 0), spans(n_d, 1), allowed, total


def _exact(w_spans, d_spans, allowed, total, ward) -> tuple[int, int]:
    pairs = sorted(allowed)
    k = len(pairs)
    constraints = [LinearConstraint(np.ones((1, k)), total, total)]
    for axis, spans in ((0, w_spans), (1, d_spans)):
        for i, (low, high) in enumerate(spans):
            row = np.array([1.0 if p[axis] == i else 0.0 for p in pairs])
            constraints.append(LinearConstraint(row[None, :], low, high))
    return integer_range(np.array([1.0 if p[0] == ward else 0.0 for p in pairs]), constraints)


@settings(max_examples=150, deadline=None)
@given(tables(), st.integers(1, 12))
def test_ward_ranges_agree_with_an_integer_programme(drawn, reach) -> None:
    w_spans, d_spans, allowed, total = drawn
    wards = range(len(w_spans))
    exact = ward_ranges(w_spans, d_spans, allowed, total, {w: total + 1 for w in wards})
    capped = ward_ranges(w_spans, d_spans, allowed, total, {w: reach for w in wards})
    assert exact is not None and capped is not None
    for ward in wards:
        least, most = _exact(w_spans, d_spans, allowed, total, ward)
        assert exact[ward] == (least, most)
        low, high = capped[ward]
        if most - least + 1 < reach:
            assert (low, high) == (least, most)
        else:
            assert least <= low <= high <= most and high - low + 1 >= reach


def test_spans_no_table_fits_give_none() -> None:
    # Two wards of 3 each in one decile, which shows 10.
    assert ward_ranges([(3, 3), (3, 3)], [(10, 10)], {(0, 0), (1, 0)}, 6, {0: 9}) is None
