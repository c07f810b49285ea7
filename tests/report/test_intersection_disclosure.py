"""The attacker's view of an intersection: visible cells, line totals, hidden ranges."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from inclusion_audit.report.disclosure import suppress_small_counts

THRESHOLD = 5


def group(category: str, count: int) -> dict[str, object]:
    return {
        "category": category,
        "count": count,
        "status": "ok",
        "shortfall": 0,
        "population_share": 0.2,
        "expected_count": 10.0,
        "share": 0.1,
    }


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 3).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(0, 14), min_size=cols, max_size=cols), min_size=2, max_size=2
        )
    )
)
def test_no_hidden_cell_is_pinned_by_its_lines(table: list[list[int]]) -> None:
    rows, cols = len(table), len(table[0])
    row_names, col_names = [f"r{i}" for i in range(rows)], [f"c{j}" for j in range(cols)]
    result = {
        "settings": {"under_threshold": 0.8},
        "characteristics": [
            {"name": "a", "groups": [group(r, sum(table[i])) for i, r in enumerate(row_names)]},
            {
                "name": "b",
                "groups": [group(c, sum(t[j] for t in table)) for j, c in enumerate(col_names)],
            },
        ],
        "intersections": [
            {
                "name": "a×b",
                "groups": [
                    group(f"{row_names[i]}×{col_names[j]}", table[i][j])
                    for i in range(rows)
                    for j in range(cols)
                ],
            }
        ],
    }
    shown = suppress_small_counts(result, THRESHOLD)
    margins = {g["category"]: g for c in shown["characteristics"] for g in c["groups"]}
    cells = shown["intersections"][0]["groups"]
    hidden = [k for k, g in enumerate(cells) if g["suppressed"]]
    if not hidden or shown["intersections"][0].get("n_known", 1) is None:
        return  # nothing hidden, or the whole cross withheld with no bound shown
    cap = sum(map(sum, table))

    def possible(k: int) -> range:
        if cells[k]["hidden_reason"] == "small":
            return range(0, THRESHOLD)
        return range(THRESHOLD, cap + 1)

    def fits(values: dict[int, int]) -> bool:
        full = [
            values.get(i * cols + j, cells[i * cols + j]["count"])
            for i in range(rows)
            for j in range(cols)
        ]
        for i, r in enumerate(row_names):
            total = margins[r]["count"]
            if total is not None and sum(full[i * cols : (i + 1) * cols]) != total:
                return False
        for j, c in enumerate(col_names):
            total = margins[c]["count"]
            if total is not None and sum(full[j::cols]) != total:
                return False
        return True

    if len(hidden) > 4:
        return  # enumeration too large for a unit test; the rule is the same
    feasible = [
        dict(zip(hidden, combo, strict=True))
        for combo in itertools.product(*(possible(k) for k in hidden))
        if fits(dict(zip(hidden, combo, strict=True)))
    ]
    assert feasible
    for k in hidden:
        if table[k // cols][k % cols] == 0:
            continue  # a cell known to be empty singles nobody out
        assert len({f[k] for f in feasible}) >= 2, (table, cells[k]["category"])
