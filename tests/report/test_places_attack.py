"""Wards and deprivation deciles, attacked together through the geography they share.

A reader knows which deciles each ward's LSOAs have. From the two shared tables
(shown counts, bands, totals) and that structure, an integer programme over the
ward × decile cells the geography allows gives each hidden ward's least and
greatest possible count; every hidden ward holding someone must keep at least
``threshold − 1`` values (the criterion of tests/report/test_disclosure_attack.py).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from inclusion_audit.report.disclosure import required_values, suppress_small_counts

from .test_disclosure import _place_table as _table

THRESHOLD = 5


@st.composite
def places(draw: st.DrawFn) -> tuple[dict[str, list[str]], dict[tuple[str, str], int]]:
    """A few wards, each with 1-3 deciles, and participants in each allowed pair."""
    n_wards = draw(st.integers(3, 6))
    wards = [f"W{i}" for i in range(n_wards)]
    geography = {
        w: sorted(
            draw(st.sets(st.sampled_from([str(d) for d in range(1, 6)]), min_size=1, max_size=3))
        )
        for w in wards
    }
    joint = {
        (w, d): draw(st.one_of(st.integers(0, 4), st.integers(5, 15)))
        for w in wards
        for d in geography[w]
    }
    return geography, joint


def _attack(shown: dict, geography: dict[str, list[str]], joint: dict) -> dict[str, tuple]:
    ward_table, decile_table = shown["characteristics"]
    pairs = list(joint)
    constraints = []

    def row(select) -> np.ndarray:
        return np.array([1.0 if select(p) else 0.0 for p in pairs])

    total = sum(joint.values())
    constraints.append(LinearConstraint(row(lambda p: True)[None, :], total, total))
    for table, axis in ((ward_table, 0), (decile_table, 1)):
        for group in table["groups"]:
            cells = row(lambda p, c=group["category"], a=axis: p[a] == c)
            if not cells.any():
                continue
            if group["count"] is not None:
                lo = hi = group["count"]
            else:
                lo = group.get("count_low") or 0
                hi = group.get("count_high")
                if hi is None:
                    hi = np.inf if group.get("hidden_reason") != "small" else THRESHOLD - 1
                if group.get("count_low") is None and group.get("hidden_reason") == "withheld":
                    lo = THRESHOLD
            constraints.append(LinearConstraint(cells[None, :], lo, hi))
    found = {}
    for group in ward_table["groups"]:
        if not group["suppressed"]:
            continue
        found[group["category"]] = integer_range(
            row(lambda p, c=group["category"]: p[0] == c), constraints
        )
    return found


def integer_range(cells: np.ndarray, constraints: list[LinearConstraint]) -> tuple[int, int]:
    """The least and greatest sum of ``cells`` over whole non-negative tables that meet
    ``constraints`` (two integer programmes)."""
    k = len(cells)
    ends = []
    for sign in (1.0, -1.0):
        result = milp(
            sign * cells,
            constraints=constraints,
            integrality=np.ones(k),
            bounds=Bounds(np.zeros(k), np.full(k, np.inf)),
        )
        assert result.status == 0, result.message
        ends.append(round(sign * result.fun))
    return ends[0], ends[1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(places())
def test_no_hidden_ward_is_narrowed_through_the_deciles(drawn) -> None:
    geography, joint = drawn
    wards = {w: sum(v for (x, _), v in joint.items() if x == w) for w in geography}
    labels = sorted({d for ds in geography.values() for d in ds})
    deciles = {d: sum(v for (_, y), v in joint.items() if y == d) for d in labels}
    if sum(wards.values()) == 0:
        return
    result = {
        "settings": {},
        "characteristics": [_table("ward", wards), _table("imd_decile", deciles)],
        "geography": {"ward_deciles": geography},
    }
    shown = suppress_small_counts(result, THRESHOLD)
    if shown["characteristics"][0]["n_known"] is None:
        return  # withheld whole
    for ward, (low, high) in _attack(shown, geography, joint).items():
        assert low <= wards[ward] <= high
        if wards[ward] > 0 and wards[ward] < THRESHOLD:
            assert high - low + 1 >= required_values(THRESHOLD), (ward, low, high, wards, deciles)
