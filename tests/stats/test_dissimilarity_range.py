"""``dissimilarity_range`` against enumeration of every completion (an independent check)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from inclusion_audit.stats.measures import dissimilarity_index, dissimilarity_range


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[int], list[bool], list[tuple[int, int]], list[float]]:
    k = draw(st.integers(2, 5))
    counts = draw(st.lists(st.integers(0, 12), min_size=k, max_size=k))
    hidden = draw(st.lists(st.booleans(), min_size=k, max_size=k))
    bounds = []
    for count in counts:
        low = draw(st.integers(0, count))
        bounds.append((low, count + draw(st.integers(0, 6))))
    weights = draw(st.lists(st.integers(1, 20), min_size=k, max_size=k))
    return counts, hidden, bounds, [w / sum(weights) for w in weights]


@settings(max_examples=150)
@given(tables())
def test_the_range_is_the_least_and_greatest_index_over_every_completion(table) -> None:
    counts, hidden, bounds, shares = table
    n = sum(counts)
    if n == 0:
        return
    shown = [None if h else c for c, h in zip(counts, hidden, strict=True)]
    found = dissimilarity_range(shown, bounds, shares, n)
    values = []
    choices = [
        range(lo, hi + 1) if h else [c]
        for c, h, (lo, hi) in zip(counts, hidden, bounds, strict=True)
    ]
    for completion in itertools.product(*choices):
        if sum(completion) == n:
            values.append(dissimilarity_index([x / n for x in completion], shares))
    assert found is not None  # the true counts are one completion
    assert abs(found[0] - min(values)) < 1e-12 and abs(found[1] - max(values)) < 1e-12


def test_no_completion_and_too_much_work_give_none() -> None:
    assert dissimilarity_range([5, None], [(0, 0), (0, 2)], [0.5, 0.5], 10) is None
    assert (
        dissimilarity_range(
            [None, None], [(0, 10**4), (0, 10**4)], [0.5, 0.5], 10**4, max_work=1000
        )
        is None
    )
