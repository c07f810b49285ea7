"""Disclosure control for anything meant to be shared.

Registers hold special category data, so a published table must not let a
reader work out how many people, down to one, are in a small group. Every rule
lives here; reports, the CSV and the template context all read the result of
``suppress_small_counts`` and apply nothing of their own.

The rules, per characteristic (and per quota characteristic):

* **Primary suppression**: counts from 1 to ``threshold − 1`` are shown as
  "fewer than 5", and so are the zeros of the same table, so that "fewer than
  5" may be 0 and reveals no more than it says.
* **Secondary suppression**: a reader who knows these rules knows what the
  hidden cells add up to, that a small cell holds 0 to 4 and a withheld one at
  least 5. While that pins any hidden cell to a single value, the smallest
  visible count is withheld too. When nothing is left to withhold, the
  characteristic's answer counts are withheld as well.
* **Everything derived from a hidden count is hidden with it**: share,
  interval, ratio, p-values, the bounds for unknown answers and the shortfall;
  and the characteristic's dissimilarity index and chi-square test, which with
  the other counts known would pin the hidden ones down.
* **Statuses** that would narrow a hidden count are coarsened. A small group
  that is under-represented keeps that finding, as ``few_under``, as long as it
  still leaves at least two possible counts; any other status of a hidden group
  that depends on its count becomes ``withheld``. ``insufficient_data`` depends
  only on the expected count, so it stays.
* **Answers that were not placed** ("Non-binary" under sex, "BAME"): when any of
  their counts is small, the breakdown (blank, declined, broad only, could not
  be placed, and each answer's count) is withheld and only the total remains. The
  finding "more than a quarter of the answers could not be read" stays only while
  it leaves the hidden count at least two possible values.
* **Quotas** follow the same rules, and a quota is hidden wherever the matching
  group is hidden in its characteristic's table.
* **Places** (deprivation deciles and wards, from postcodes) are tables like any
  other. A ward is listed as one nobody came from only while its zero is shown,
  and the matched and outside-area postcode counts are withheld with a place
  table's total.
* **Intersections** (``audit --intersect``): each cross is a table with the same
  rules, and then its lines (the cells of one age band, of one sex) are checked
  against the totals the margin tables show: visible cells are withheld until no
  hidden cell holding someone can be pinned down, else the whole cross is withheld.
* **Weighted results** (``--question``): each question's answer options are a table
  with the same rules; a hidden option loses its shares, intervals and sentence too.

A zero stays visible in a table with no small counts: "nobody aged 16-24 took
part" identifies nobody, and it is the finding the report exists to show. Where
a zero is hidden, a ``few_under`` status still says the group was missed. Counts
of blank and
"prefer not to say" answers are not characteristics and stay visible. ONS
secure-research practice uses a threshold of 10; this tool defaults to 5.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

from inclusion_audit.config import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from inclusion_audit.result import AuditResult
from inclusion_audit.vocab.folding import column_key, normalise

FEW_UNDER = "few_under"
WITHHELD = "withheld"
_HIDDEN_WITH_COUNT = (
    "count",
    "share",
    "share_ci_low",
    "share_ci_high",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "p_value",
    "p_value_adjusted",
    "p_value_binom_test",
    "share_if_unknown_in_group",
    "share_if_unknown_not_in_group",
    "shortfall",
    "shortfall_parity",
    "robust_to_unknown",
    "dispersion",
)
_COUNT_FREE_STATUSES = ("insufficient_data",)


def hidden_indices(counts: Sequence[int], threshold: int) -> tuple[set[int], set[int]]:
    """Cells shown as "fewer than threshold" and cells withheld to protect them.

    Any count from 1 to ``threshold − 1`` hides, with every zero of the same table
    (so "fewer than 5" may mean 0 and says nothing more); then visible counts are
    withheld, smallest first, until no hidden count can be worked out.

    >>> hidden_indices([2, 7, 30], 5)
    ({0}, {1})
    >>> hidden_indices([1, 6, 5], 5)  # 1 + 5 = 6 would pin both: withhold the 6 too
    ({0}, {1, 2})
    >>> hidden_indices([3, 0, 12], 5)
    ({0, 1}, set())
    >>> hidden_indices([1, 2, 30], 5)
    ({0, 1}, set())
    """
    small, withheld, _ = _hidden_cells(counts, [threshold - 1] * len(counts), threshold)
    return small, withheld


def _hidden_cells(
    counts: Sequence[int], uppers: Sequence[int], threshold: int
) -> tuple[set[int], set[int], bool]:
    """Small and withheld cells, and whether a hidden count is still pinned down.

    A reader who knows these rules knows a small cell holds 0 to its upper bound
    (at least 1 when it is the only small cell), a withheld one at least the
    threshold, and what they add up to. Cells are withheld, smallest first,
    until every hidden cell could hold at least two values.
    """
    if not any(0 < c < threshold for c in counts):
        return set(), set(), False
    small = {i for i, c in enumerate(counts) if c < threshold}
    withheld: set[int] = set()
    while _pinned(counts, uppers, small, withheld, threshold):
        candidates = [(c, i) for i, c in enumerate(counts) if i not in small | withheld]
        if not candidates:
            return small, withheld, True
        withheld.add(min(candidates)[1])
    return small, withheld, False


def _pinned(
    counts: Sequence[int],
    uppers: Sequence[int],
    small: set[int],
    withheld: set[int],
    threshold: int,
) -> bool:
    hidden = sorted(small | withheld)
    total = sum(counts[i] for i in hidden)
    low = {i: (1 if len(small) == 1 else 0) if i in small else threshold for i in hidden}
    high = {i: uppers[i] if i in small else total for i in hidden}
    sum_low, sum_high = sum(low.values()), sum(high.values())
    for i in hidden:
        least = max(low[i], total - (sum_high - high[i]))
        most = min(high[i], total - (sum_low - low[i]))
        if most - least < 1:
            return True
    return False


def suppress_small_counts(result: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of a result dictionary with small counts, and what reveals them, hidden.

    Every group and quota gains ``suppressed`` (bool), every group
    ``hidden_reason`` (``"small"`` for a count below the threshold, ``"withheld"``
    for one hidden to protect another, else None), and every characteristic
    ``statistics_withheld`` (bool). ``threshold`` 0 or 1 hides nothing.

    >>> result = {"settings": {"under_threshold": 0.8}, "characteristics": [{"groups": [
    ...     {"category": "A", "count": 2, "shortfall": 8, "status": "under",
    ...      "population_share": 0.2, "expected_count": 10},
    ...     {"category": "B", "count": 7, "shortfall": 0, "status": "ok",
    ...      "population_share": 0.2, "expected_count": 10},
    ...     {"category": "C", "count": 41, "shortfall": 0, "status": "over",
    ...      "population_share": 0.6, "expected_count": 30}]}]}
    >>> groups = suppress_small_counts(result, 5)["characteristics"][0]["groups"]
    >>> [(g["category"], g["count"], g["status"], g["suppressed"]) for g in groups]
    [('A', None, 'few_under', True), ('B', None, 'withheld', True), ('C', 41, 'over', False)]
    """
    shown = copy.deepcopy(result)
    under_threshold = float(shown.get("settings", {}).get("under_threshold", 0.8))
    hidden_categories: dict[str, set[str]] = {}
    for characteristic in shown["characteristics"]:
        groups = characteristic["groups"]
        n_known = characteristic.get("n_known", sum(g["count"] for g in groups))
        uppers = [_largest_possible(g, n_known, threshold, under_threshold) for g in groups]
        small, withheld, pinned = _hidden_cells([g["count"] for g in groups], uppers, threshold)
        characteristic["statistics_withheld"] = bool(small)
        if small:
            characteristic["dissimilarity_index"] = None
            characteristic["chi_square"] = None
        if pinned:
            # Every category is hidden and the total alone would give them away.
            for key in (
                "n_known",
                "n_unknown",
                "n_blank",
                "n_declined",
                "unknown_rate",
                "unplaceable_rate",
                "answers_unreadable",
            ):
                characteristic[key] = None
        for i, group in enumerate(groups):
            group["suppressed"] = i in small or i in withheld
            group["hidden_reason"] = "small" if i in small else WITHHELD if i in withheld else None
            if group["suppressed"]:
                group["status"] = _shown_status(group, i in small and not pinned, uppers[i])
                for key in _HIDDEN_WITH_COUNT:
                    if key in group:
                        group[key] = None
        _suppress_unplaced(characteristic, threshold)
        hidden_categories[column_key(characteristic.get("name", ""))] = {
            normalise(g["category"]) for g in groups if g["suppressed"]
        }
    _suppress_quotas(shown.get("quotas", []), hidden_categories, threshold)
    _suppress_geography(shown)
    if shown.get("intersections") and threshold > 1:
        shown["intersections"] = _suppress_intersections(
            shown, suppress_small_counts, threshold, hidden_categories
        )
    if shown.get("weighted_results"):
        shown["weighted_results"] = suppress_weighted_results(shown["weighted_results"], threshold)
    if threshold > 1:
        _withhold_recommendations(shown)
    return shown


def _suppress_geography(shown: dict[str, Any]) -> None:
    """Keep the postcode counts from revealing what the ward and decile tables hide.

    A ward is named as one nobody came from only while its count (0) is shown in
    the ward table. When a place table's total is withheld, the matched and
    outside-area counts go too: with the other postcode counts and the number of
    participants, either would give that total back.
    """
    block = shown.get("geography")
    if not block:
        return
    places = [c for c in shown["characteristics"] if c.get("name") in ("imd_decile", "ward")]
    visible_wards = {
        g["category"]
        for c in places
        if c.get("name") == "ward"
        for g in c["groups"]
        if not g.get("suppressed")
    }
    block["wards_nobody_came"] = [
        ward for ward in block.get("wards_nobody_came", []) if ward in visible_wards
    ]
    if any(c.get("n_known") is None for c in places):
        block["matched"] = None
        block["outside_area"] = None


def _withhold_recommendations(shown: dict[str, Any]) -> None:
    """Recommendations name only groups whose missed status the tables show.

    Their order and wording were made from the published view already (see
    :func:`shown_statuses`); what is left is to drop the groups whose status the
    report withholds, and the entries that serve only those (they rank last, so
    the order of the rest is the JSON's).
    """
    kept = []
    for item in shown.get("recommendations", []):
        item["withheld_groups"] = []
        if item.get("groups", [(item.get("characteristic"), item.get("category"))]):
            kept.append(item)
    if "recommendations" in shown:
        shown["recommendations"] = kept
    # The barriers table names the groups each barrier may explain: never one whose
    # status the tables withhold.
    withheld = {
        (c.get("name"), g["category"])
        for c in shown.get("characteristics", [])
        for g in c["groups"]
        if g.get("status") == WITHHELD
    }
    for barrier in shown.get("barriers", []) or []:
        barrier["groups"] = [p for p in barrier.get("groups", []) if tuple(p) not in withheld]


def _suppress_unplaced(characteristic: dict[str, Any], threshold: int) -> None:
    """Small counts of answers that were not placed can be as telling as a group's.

    "Non-binary (2)" under a sex question says two people are non-binary. When any
    such count is small, the breakdown of unplaced answers is withheld and only
    their total (``n_unknown``) stays; the answers are still named.
    """
    items = characteristic.get("unplaceable", [])
    parts = [characteristic.get("n_broad_only", 0), characteristic.get("n_unplaceable", 0)]
    small = [c for c in [*parts, *(i["count"] for i in items)] if c and 0 < c < threshold]
    if not small:
        return
    for key in ("n_blank", "n_declined", "n_broad_only", "n_unplaceable", "unplaceable_rate"):
        if key in characteristic:
            characteristic[key] = None
    if characteristic.get("answers_unreadable") and not _unreadable_leaves_room(characteristic):
        characteristic["answers_unreadable"] = None
    for item in items:
        item["count"] = None


def _unreadable_leaves_room(characteristic: dict[str, Any]) -> bool:
    """Whether "more than a quarter of answers could not be read" leaves the hidden count open.

    With answers placed (k) and not placed (u) shown, the finding says the answers
    that could not be read, x, satisfy 3x > k + (broad-only answers) ≥ k, and x ≤ u:
    it may be shown only while that leaves at least two possible values of x.
    """
    known, unknown = characteristic.get("n_known"), characteristic.get("n_unknown")
    if known is None or unknown is None:
        return False
    return bool(unknown - (known // 3 + 1) >= 1)


def _largest_possible(
    group: dict[str, Any], n_known: int, threshold: int, under_threshold: float
) -> int:
    """The largest count a reader could think a hidden small cell holds."""
    if group["status"] in ("under", "possible_under"):
        # Under means count < under_threshold × π × n.
        bound = under_threshold * group["population_share"] * n_known
        return int(max(0, min(threshold - 1, math.ceil(bound) - 1)))
    return threshold - 1


def _shown_status(group: dict[str, Any], small: bool, largest: int) -> str:
    """The status a hidden group may show without narrowing its count further."""
    status = str(group["status"])
    if status in _COUNT_FREE_STATUSES:
        return status
    if small and status in ("under", "possible_under") and largest >= 1:
        return FEW_UNDER
    return WITHHELD


def _suppress_quotas(
    quotas: list[dict[str, Any]], hidden_categories: dict[str, set[str]], threshold: int
) -> None:
    by_characteristic: dict[str, list[dict[str, Any]]] = {}
    for quota in quotas:
        by_characteristic.setdefault(column_key(quota["characteristic"]), []).append(quota)
    for key, group in by_characteristic.items():
        linked = hidden_categories.get(key, set())
        primary, secondary = hidden_indices([q["count"] for q in group], threshold)
        hidden = primary | secondary
        hidden |= {i for i, q in enumerate(group) if normalise(q["category"]) in linked}
        if len(hidden) == 1:
            others = [(q["count"], i) for i, q in enumerate(group) if i not in hidden]
            if others:
                hidden.add(min(others)[1])
        if hidden:
            hidden |= {i for i, q in enumerate(group) if q["count"] == 0}
        for i, quota in enumerate(group):
            quota["suppressed"] = i in hidden
            if i in hidden:
                quota["count"] = quota["met"] = quota["gap"] = None


def suppress_review(review: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of a review dictionary (``ReviewResult.to_dict``) with small counts hidden.

    Each event's groups are hidden exactly as that event's own report hides
    them (``suppress_small_counts`` on what the store kept, with the same
    threshold). A pooled count (the whole period's, and each trend period's)
    is shown only when **every** event it adds up showed its count for that
    group in its own report; otherwise it is withheld, with everything derived
    from it (ratio, interval, p-values and a status that depends on the count).
    Likewise a pooled table's answer counts (``n_known``, ``n_unknown``) are
    shown only when every event showed its own, and a pooled expected count only
    when every event's ``n_known`` behind it was shown.

    So every number a shared review shows is a sum (or a function of sums) of
    numbers the events' own reports already show: no differencing between
    events, periods and the pooled table, and no bounding by "fewer than 5",
    can reveal more than those reports do. A withheld pooled count says nothing
    about its size (``hidden_reason`` is ``"withheld"``, never ``"small"``).
    Groups gain ``suppressed`` and ``hidden_reason``.
    """
    shown = copy.deepcopy(review)
    if threshold <= 1:
        for table in _review_tables(shown):
            for group in table["groups"]:
                group["suppressed"] = False
                group["hidden_reason"] = None
        return shown
    # (event id, characteristic, category) whose count the event's own report shows,
    # and (event id, characteristic) whose answer counts it shows.
    published_counts: set[tuple[int, str, str]] = set()
    published_totals: set[tuple[int, str]] = set()
    for event in shown["events"]:
        own = suppress_small_counts(
            {
                "settings": event.get("settings") or {},
                "characteristics": event["characteristics"],
            },
            threshold,
        )
        for characteristic in own["characteristics"]:
            # The store does not keep the unplaced answers' breakdown the audit uses to
            # decide whether these may be shown, so a review never shows them.
            characteristic["n_blank"] = characteristic["n_declined"] = None
            characteristic.pop("statistics_withheld", None)
            characteristic.pop("dissimilarity_index", None)
            characteristic.pop("chi_square", None)
            characteristic.pop("unknown_rate", None)
            name = characteristic["name"]
            if characteristic["n_known"] is not None:
                published_totals.add((event["id"], name))
            for group in characteristic["groups"]:
                if not group["suppressed"]:
                    published_counts.add((event["id"], name, group["category"]))
        event["characteristics"] = own["characteristics"]

    _withhold_pooled(shown["pooled"], shown["events"], published_counts, published_totals)
    for period in shown["trend"]:
        members = [e for e in shown["events"] if period["start"] <= e["date"] <= period["end"]]
        _withhold_pooled(period["characteristics"], members, published_counts, published_totals)
    return shown


def _review_tables(review: dict[str, Any]) -> list[dict[str, Any]]:
    tables = list(review["pooled"])
    tables += [c for period in review["trend"] for c in period["characteristics"]]
    tables += [c for event in review["events"] for c in event["characteristics"]]
    return tables


def _withhold_pooled(
    characteristics: list[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    published_counts: set[tuple[int, str, str]],
    published_totals: set[tuple[int, str]],
) -> None:
    """Hide each pooled figure that is not a sum of figures the events' reports show."""
    for characteristic in characteristics:
        name = characteristic["name"]
        audited = [e for e in events if any(c["name"] == name for c in e["characteristics"])]
        totals_shown = all((e["id"], name) in published_totals for e in audited)
        if not totals_shown:
            characteristic["n_known"] = characteristic["n_unknown"] = None
        for group in characteristic["groups"]:
            category = group["category"]
            contributors = [
                e
                for e in audited
                for c in e["characteristics"]
                if c["name"] == name and any(g["category"] == category for g in c["groups"])
            ]
            shown = all((e["id"], name, category) in published_counts for e in contributors)
            group["suppressed"] = not shown
            group["hidden_reason"] = None if shown else WITHHELD
            if shown:
                continue
            expected_shown = all((e["id"], name) in published_totals for e in contributors)
            if not (expected_shown and group["status"] in _COUNT_FREE_STATUSES):
                group["status"] = WITHHELD
            for key in _HIDDEN_WITH_COUNT:
                if key in group:
                    group[key] = None
            if not expected_shown:
                group["expected_count"] = None


def hidden_groups(result: AuditResult, suppress_below: int) -> frozenset[tuple[str, str]]:
    """(characteristic, category) of groups whose figures the report hides.

    The same rules as the report (:func:`suppress_small_counts`), so a
    recommendation never gives away a count the report's tables withhold.
    """
    if suppress_below <= 1:
        return frozenset()
    shown = suppress_small_counts(result.to_dict(), suppress_below)
    return frozenset(
        (characteristic["name"], group["category"])
        for characteristic in shown["characteristics"]
        for group in characteristic["groups"]
        if group.get("suppressed")
    )


_HIDDEN_WITH_ANSWER = (
    "count",
    "share",
    "share_ci_low",
    "share_ci_high",
    "share_design_ci_low",
    "share_design_ci_high",
    "weighted_share",
    "weighted_ci_low",
    "weighted_ci_high",
    "sentence",
)


def suppress_weighted_results(results: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of weighted results with small answer counts, and what reveals them, hidden.

    Per question, the answer options are one table: the same primary and secondary
    suppression as a characteristic's groups (``hidden_indices``). A hidden option
    loses its count, raw and weighted shares, intervals and sentence, since a
    weighted share with the weights' margins known narrows the count; ``differs``
    becomes None. The weighting summary has no counts and stays.

    >>> data = {"questions": [{"answers": [
    ...     {"answer": "Yes", "count": 30, "share": 0.9, "differs": False},
    ...     {"answer": "No", "count": 3, "share": 0.1, "differs": True}]}]}
    >>> shown = suppress_weighted_results(data, 5)["questions"][0]["answers"]
    >>> [(a["count"], a["suppressed"], a["differs"]) for a in shown]
    [(None, 'withheld', None), (None, 'few', None)]
    """
    shown = copy.deepcopy(results)
    for question in shown.get("questions", []):
        answers = question["answers"]
        small, withheld = hidden_indices([a["count"] for a in answers], threshold)
        for index, answer in enumerate(answers):
            hidden = "few" if index in small else "withheld" if index in withheld else None
            answer["suppressed"] = hidden
            if hidden:
                for key in _HIDDEN_WITH_ANSWER:
                    answer[key] = None
                answer["differs"] = None
    return shown


def _suppress_intersections(
    shown: dict[str, Any],
    suppress: Any,
    threshold: int,
    hidden_margins: dict[str, set[str]],
) -> list[dict[str, Any]]:
    """Intersectional cells: each cross as a table of its own, then linked to its margins.

    A cross is also read along its lines (the cells of one age band, of one sex),
    whose totals the margin tables give away (exactly, when nobody left the other
    question blank). So, until nothing changes: every cell of a line whose margin
    group is hidden in its own table is withheld; and in a line with hidden cells,
    visible cells are withheld, smallest first, while the line's total would pin a
    hidden cell to one value (the rule of the characteristic's own table, applied to
    every line). Where a line would pin a hidden cell with nothing left to withhold,
    the whole cross is withheld: every cell, with no "fewer than" bound.
    """
    crossed = suppress(
        {"settings": shown.get("settings", {}), "characteristics": shown["intersections"]},
        threshold,
    )["characteristics"]
    originals = {c.get("name"): c for c in shown["intersections"]}
    for table in crossed:
        first, _, second = str(table.get("name", "")).partition("×")
        groups = table["groups"]
        counts = [int(g["count"]) for g in originals[table.get("name")]["groups"]]
        parts = [str(g["category"]).split("×", 1) for g in groups]
        lines: list[list[int]] = []
        keys: list[tuple[str, str]] = []
        for position, name in ((0, first), (1, second)):
            hidden = hidden_margins.get(column_key(name), set())
            for value in dict.fromkeys(p[position] for p in parts if len(p) == 2):
                line = [i for i, p in enumerate(parts) if len(p) == 2 and p[position] == value]
                lines.append(line)
                keys.append((column_key(name), normalise(value)))
                if normalise(value) in hidden:
                    for i in line:
                        _withhold(groups[i])
        totals = _line_totals(keys, shown)
        whole = False
        while True:
            pinned = _pinned_cells(lines, totals, groups, counts, threshold)
            if not pinned:
                break
            visible = [
                i
                for line in lines
                if any(k in line for k in pinned)
                for i in line
                if not groups[i]["suppressed"]
            ]
            if not visible:
                whole = True
                break
            _withhold(groups[min(visible, key=lambda i: counts[i])])
        if whole:
            for group in groups:
                _withhold(group)
                group["hidden_reason"] = WITHHELD
            table["n_known"] = table["n_unknown"] = None
        if any(g["suppressed"] for g in groups):
            table["statistics_withheld"] = True
            table["dissimilarity_index"] = None
            table["chi_square"] = None
    return list(crossed)


def _line_totals(keys: list[tuple[str, str]], shown: dict[str, Any]) -> list[int | None]:
    """Each line's total as the margin tables show it (None where hidden or absent)."""
    shown_counts: dict[tuple[str, str], int | None] = {}
    for characteristic in shown.get("characteristics", []):
        name = column_key(characteristic.get("name", ""))
        for group in characteristic["groups"]:
            shown_counts[(name, normalise(group["category"]))] = group.get("count")
    return [shown_counts.get(key) for key in keys]


def _pinned_cells(
    lines: list[list[int]],
    totals: list[int | None],
    groups: list[dict[str, Any]],
    counts: list[int],
    threshold: int,
) -> set[int]:
    """Hidden cells (holding someone) whose value the lines' totals pin down.

    Interval propagation, as a reader would reason: a "fewer than" cell holds 0 to
    threshold − 1, a withheld one at least threshold; in every line whose total the
    margins show, each hidden cell lies between the total less the others' highest
    values and the total less their lowest. Repeated until the bounds settle. The
    margins count everyone who answered that question, so the totals are upper
    bounds on the lines when some left the other question blank: treating them as
    exact errs on the side of hiding more.
    """
    big = sum(counts) + threshold
    low = [counts[i] if not g["suppressed"] else 0 for i, g in enumerate(groups)]
    high = [counts[i] if not g["suppressed"] else big for i, g in enumerate(groups)]
    for i, g in enumerate(groups):
        if g["suppressed"] and g["hidden_reason"] == "small":
            high[i] = threshold - 1
        elif g["suppressed"]:
            low[i] = threshold
    for _ in range(50):
        moved = False
        for line, total in zip(lines, totals, strict=True):
            if total is None:
                continue
            sum_low = sum(low[i] for i in line)
            sum_high = sum(high[i] for i in line)
            for i in line:
                least = max(low[i], total - (sum_high - high[i]))
                most = min(high[i], total - (sum_low - low[i]))
                if (least, most) != (low[i], high[i]) and least <= most:
                    low[i], high[i] = least, most
                    moved = True
        if not moved:
            break
    return {
        i for i, g in enumerate(groups) if g["suppressed"] and counts[i] > 0 and low[i] >= high[i]
    }


def _withhold(group: dict[str, Any]) -> None:
    if group["suppressed"]:
        return
    group["suppressed"] = True
    group["hidden_reason"] = WITHHELD
    group["status"] = _shown_status(group, False, 0)
    for key in _HIDDEN_WITH_COUNT:
        if key in group:
            group[key] = None


def shown_statuses(result: AuditResult, suppress_below: int) -> dict[tuple[str, str], str]:
    """(characteristic, category) → the status a shared report shows for each group.

    A group whose figures are shown keeps its status; a hidden one shows what
    :func:`suppress_small_counts` leaves (``few_under``, ``withheld`` or a status
    that says nothing about its count). Recommendations rank and name groups by
    this view only, so that their order and wording publish nothing the tables hide.
    """
    if suppress_below <= 1:
        return {
            (characteristic.name, group.category): group.status.value
            for characteristic in result.characteristics
            for group in characteristic.groups
        }
    shown = suppress_small_counts(result.to_dict(), suppress_below)
    return {
        (characteristic["name"], group["category"]): str(group["status"])
        for characteristic in shown["characteristics"]
        for group in characteristic["groups"]
    }
