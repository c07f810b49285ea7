"""Disclosure control: nothing a reader could use to recover a small count."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from inclusion_audit.report.disclosure import hidden_indices, suppress_small_counts

THRESHOLD = 5


def result_with(counts: list[int], shares: list[float], statuses: list[str]) -> dict:
    n = sum(counts)
    groups = [
        {
            "category": f"G{i}",
            "count": c,
            "share": c / n if n else None,
            "ratio": 1.0,
            "shortfall": 3,
            "population_share": p,
            "expected_count": n * p,
            "status": s,
        }
        for i, (c, p, s) in enumerate(zip(counts, shares, statuses, strict=True))
    ]
    return {
        "settings": {"under_threshold": 0.8},
        "characteristics": [
            {
                "name": "sex",
                "n_known": n,
                "groups": groups,
                "dissimilarity_index": 0.1,
                "chi_square": {},
            }
        ],
    }


tables = st.integers(2, 5).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(0, 30), min_size=k, max_size=k),
        st.lists(st.floats(0.05, 1), min_size=k, max_size=k),
        st.lists(st.booleans(), min_size=k, max_size=k),
        st.sampled_from([0.0, 5.0]),
    )
)


def consistent_status(count: int, n: int, share: float, significant: bool, minimum: float) -> str:
    """A status the audit could have given: the same rules as findings.verdicts."""
    if n == 0 or n * share < minimum or n * share == 0:
        return "insufficient_data"
    ratio = count / n / share
    if ratio < 0.8:
        return "under" if significant else "possible_under"
    if ratio > 1.25:
        return "over" if significant else "possible_over"
    return "ok"


@settings(deadline=None)
@given(tables)
def test_no_hidden_count_can_be_pinned_down(case) -> None:
    counts, weights, significant, minimum = case
    shares = [w / sum(weights) for w in weights]
    n_total = sum(counts)
    statuses = [
        consistent_status(c, n_total, p, s, minimum)
        for c, p, s in zip(counts, shares, significant, strict=True)
    ]
    shown = suppress_small_counts(result_with(counts, shares, statuses), THRESHOLD)
    characteristic = shown["characteristics"][0]
    groups = characteristic["groups"]
    n = characteristic["n_known"]
    hidden = [i for i, g in enumerate(groups) if g["suppressed"]]
    visible = [g["count"] for g in groups if not g["suppressed"]]
    assert all(c == 0 or c >= THRESHOLD for c in visible)
    if not hidden:
        return
    assert characteristic["dissimilarity_index"] is None and characteristic["chi_square"] is None
    for i in hidden:
        g = groups[i]
        assert g["share"] is None and g["ratio"] is None and g["shortfall"] is None
        assert g["status"] in ("few_under", "ok", "withheld", "insufficient_data")

    # The attacker's view: visible counts, the total, each hidden cell's band (0 to 4, or
    # what the band shows; a few_under status narrows nothing the band does not).
    # Every hidden cell must keep threshold - 1 possible values (as many as 1 to 4).
    if characteristic["n_known"] is None:
        return  # the total is withheld too: nothing to subtract from

    small = [i for i in hidden if groups[i]["hidden_reason"] == "small"]

    def possible(i: int) -> range:
        g = groups[i]
        top = n if g["count_high"] is None else g["count_high"]
        if g["status"] == "few_under":
            top = min(top, math.ceil(0.8 * shares[i] * n) - 1)
        return range(g["count_low"], top + 1)

    remaining = n - sum(visible)
    feasible = [
        combo
        for combo in itertools.product(*(possible(i) for i in hidden))
        if sum(combo) == remaining
        # something was hidden, so some small cell holds 1 to 4
        and any(v > 0 for i, v in zip(hidden, combo, strict=True) if i in small)
    ]
    assert feasible, "the true counts must be among the possibilities"
    for position in range(len(hidden)):
        values = {combo[position] for combo in feasible}
        if counts[hidden[position]] < THRESHOLD:
            assert len(values) >= THRESHOLD - 1, (counts, statuses, groups[hidden[position]])


def test_hidden_indices_examples() -> None:
    assert hidden_indices([2, 7, 30], 5) == ({0}, {1})
    assert hidden_indices([1, 6, 5], 5) == ({0}, {1, 2})
    assert hidden_indices([0, 0, 3], 5) == ({0, 1, 2}, set())
    assert hidden_indices([4, 4, 20], 5) == ({0, 1}, {2})  # 4 + 4 = 8 would pin both
    assert hidden_indices([10, 20], 5) == (set(), set())


def test_threshold_zero_shows_everything() -> None:
    shown = suppress_small_counts(result_with([1, 2, 30], [0.2, 0.2, 0.6], ["ok"] * 3), 0)
    assert [g["count"] for g in shown["characteristics"][0]["groups"]] == [1, 2, 30]


def test_input_is_not_modified() -> None:
    original = result_with([1, 30, 30], [0.2, 0.4, 0.4], ["ok"] * 3)
    suppress_small_counts(original, 5)
    assert original["characteristics"][0]["groups"][0]["count"] == 1


def test_quotas_are_hidden_with_their_groups() -> None:
    result = result_with([27, 3], [0.5, 0.5], ["ok", "under"])
    result["quotas"] = [
        {"characteristic": "Sex", "category": "female", "count": 27, "met": True, "gap": 0},
        {"characteristic": "Sex", "category": "male", "count": 3, "met": True, "gap": 0},
        {"characteristic": "age", "category": "16-24", "count": 2, "met": False, "gap": -3},
        {"characteristic": "age", "category": "25+", "count": 28, "met": True, "gap": 0},
    ]
    quotas = suppress_small_counts(result, 5)["quotas"]
    assert [q["suppressed"] for q in quotas] == [True, True, True, True]
    assert all(q["count"] is None and q["met"] is None for q in quotas)


def _place_table(name: str, counts: dict[str, int]) -> dict:
    total = sum(counts.values())
    share = 1 / len(counts)
    return {
        "name": name,
        "n_known": total,
        "n_unknown": 0,
        "dissimilarity_index": 0.1,
        "chi_square": None,
        "groups": [
            {
                "category": category,
                "count": count,
                "share": count / total,
                "population_share": share,
                "expected_count": total * share,
                "ratio": count / (total * share),
                "status": "ok",
            }
            for category, count in counts.items()
        ],
    }


def test_a_pinned_place_table_withholds_the_other_place_table_whole() -> None:
    # Two wards of 1 each: with their total shown each would be 0 to 2 only, so the
    # ward total is withheld. The decile table counts the same 2 postcodes; shown, it
    # would give that total back.
    wards = _place_table("ward", {"A": 1, "B": 1})
    deciles = _place_table("imd_decile", {"1": 1, "2": 1, "3": 1})
    for group, count in zip(deciles["groups"], (0, 0, 2), strict=True):
        group["count"] = count
    result = {"settings": {}, "characteristics": [wards, deciles], "geography": {"matched": 2}}
    shown = suppress_small_counts(result, 5)
    ward_table, decile_table = shown["characteristics"]
    assert ward_table["n_known"] is None
    assert decile_table["n_known"] is None and decile_table["n_unknown"] is None
    assert all(g["count"] is None and g["expected_count"] is None for g in decile_table["groups"])
    assert shown["geography"]["matched"] is None


def test_tables_of_different_columns_are_not_linked() -> None:
    small = _place_table("sex", {"Female": 1, "Male": 1})
    small["column"] = "Sex"
    other = _place_table("disability", {"Yes": 20, "No": 30})
    other["column"] = "Disabled?"
    shown = suppress_small_counts({"settings": {}, "characteristics": [small, other]}, 5)
    assert shown["characteristics"][0]["n_known"] is None
    assert shown["characteristics"][1]["n_known"] == 50


def test_a_pinned_detailed_table_withholds_its_broad_table_whole() -> None:
    # Two people gave a detailed ethnic group, twenty more only a broad one. The
    # detailed table is pinned (1 and 1: with the total each would be 0 to 2), so its
    # total is withheld; the broad table's total less the broad-only answers would
    # give it back, so the broad table is withheld whole.
    detailed = _place_table("ethnic_group", {"W: a": 1, "A: b": 1})
    detailed.update(column="Ethnic group", n_unknown=20, n_broad_only=20)
    broad = _place_table("ethnic_group_broad", {"W": 1, "A": 21})
    broad["column"] = "Ethnic group"
    shown = suppress_small_counts({"settings": {}, "characteristics": [detailed, broad]}, 5)
    shown_detailed, shown_broad = shown["characteristics"]
    assert shown_detailed["n_known"] is None
    assert shown_broad["n_known"] is None
    assert all(g["count"] is None for g in shown_broad["groups"])


def test_withheld_similarity_is_shown_as_the_range_the_table_allows() -> None:
    table = _place_table("age", {"16-24": 2, "25-34": 30, "35-44": 28})
    shown = suppress_small_counts({"settings": {}, "characteristics": [table]}, 5)
    characteristic = shown["characteristics"][0]
    assert characteristic["dissimilarity_index"] is None
    low, high = characteristic["dissimilarity_low"], characteristic["dissimilarity_high"]
    truth = 0.5 * sum(abs(c / 60 - 1 / 3) for c in (2, 30, 28))
    assert low <= truth <= high and low < high


def test_a_decile_found_in_two_wards_does_not_narrow_a_hidden_ward() -> None:
    # Decile 9 lies only in Castle and Knighton. Shown, decile 9 = 10 and Castle = 7
    # would put Knighton's "0–4" at 3 or 4; so decile 9 is withheld too.
    # Tiny's 2 and Knighton's 3 are hidden together (each 1 to 4 given their sum), so
    # Castle stays shown.
    wards = _place_table("ward", {"Abbey": 20, "Castle": 7, "Knighton": 3, "Tiny": 2, "Other": 30})
    deciles = _place_table("imd_decile", {"1": 22, "2": 30, "9": 10})
    geography = {
        "ward_deciles": {
            "Abbey": ["1"],
            "Castle": ["2", "9"],
            "Knighton": ["9"],
            "Tiny": ["1"],
            "Other": ["2"],
        }
    }
    result = {"settings": {}, "characteristics": [wards, deciles], "geography": geography}
    shown = suppress_small_counts(result, 5)
    ward_rows = {g["category"]: g for g in shown["characteristics"][0]["groups"]}
    decile_rows = {g["category"]: g for g in shown["characteristics"][1]["groups"]}
    assert ward_rows["Knighton"]["suppressed"] and not ward_rows["Castle"]["suppressed"]
    assert decile_rows["9"]["suppressed"]
    # Without the geography the decile table alone has nothing to hide.
    alone = suppress_small_counts({**result, "geography": {}}, 5)
    assert not any(g["suppressed"] for g in alone["characteristics"][1]["groups"])


def test_a_complementary_cell_is_never_a_zero_called_five_or_more() -> None:
    from inclusion_audit.report.disclosure import _protect

    # Cell 0 is forced hidden by a linked table; the smallest shown count is a 0.
    bands, small, pinned = _protect([12, 0, 30], [0, 0, 0], 5, {0})
    assert bands[1] == (0, 4) and 1 in small and not pinned
