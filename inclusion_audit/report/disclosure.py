"""Disclosure control: one model over everything a shared report or review shows.

Registers hold special category data, so nothing a council publishes may let a
reader work out how many people, down to fewer than ``threshold − 1`` possible
values, are in a small group. Reports (HTML, PDF, Markdown, the web page, the
CSV) and reviews read the result of :func:`suppress_small_counts` or
:func:`suppress_review` and apply nothing of their own.

**The rule.** A shared output shows a count exactly, or shows only a *band* a
reader already knows it lies in: "0–4" for a small cell (a count from 1 to
``threshold − 1``, and every zero of the same table, so small cells and zeros
look alike), or "withheld" (at least ``threshold``) for a cell hidden to protect
another. Every other figure about a hidden cell (its ratio, status, the words
and order of recommendations, a pooled total in a review) is computed **from
the bands and the figures already shown, never from the hidden count**, so it
tells a reader nothing the bands did not. The bands themselves are chosen so
that, with every total and linked table shown, each hidden cell could still hold
at least ``threshold − 1`` values (as many as "fewer than 5" leaves for a group
someone is known to be in: 1 to 4). ``tests/test_disclosure_attack.py`` checks
this with an integer programme over everything a report or review shows.

How the bands are chosen, per characteristic:

* **Primary**: counts from 1 to ``threshold − 1`` are small, with the table's
  zeros, and all are shown alike ("0–4"), since every category is listed
  whether or not anyone chose it.
* **Complementary**: a reader knows what the hidden cells add up to. While that
  sum, with the bands, leaves any hidden cell fewer than ``threshold − 1``
  values, the smallest shown count is withheld too; when none is left, the
  table's answer counts are withheld and every cell shows only "withheld".
* **Linked tables**: the detailed and broad ethnic tables of one column are
  protected together: a broad group with a hidden detailed cell is hidden, a
  hidden broad group has a hidden detailed cell, and each table is protected
  again until neither changes.
* **Findings without counts**: a hidden group's ratio is shown as the band of
  ratios its count band allows, and its status only where every count in the
  band gives the same answer: ``few_under`` (under-represented, firmly or
  possibly: the report says it cannot say which) when even the band's top is
  below the under threshold; ``ok`` when the whole band is in line; else
  ``withheld``. ``insufficient_data`` depends only on the expected count.
* **Answers that were not placed** ("Non-binary" under sex): when any of their
  counts is small, the breakdown is withheld, and the answers are not named
  when the unknown total would then count them. The finding "more than a
  quarter of the answers could not be read" stays only while it leaves the
  hidden count at least two possible values.
* **Quotas** are hidden with their group, and otherwise as a table of their
  own; a hidden quota's met / not met is shown only when its band gives the
  same answer for every count, or leaves enough values either way.
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
* **Recommendations and "what worked"**: a hidden group is named only when its
  shown status says it was missed, without figures; when any recommended group
  is hidden, the shared order is by figures that are shown (status, then the
  shown shortfall or the population share), one action per group in turn.

A zero stays visible in a table with no small counts: "nobody aged 16-24 took
part" identifies nobody, and it is the finding the report exists to show. ONS
secure-research practice uses a threshold of 10; this tool defaults to 5.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from inclusion_audit.config import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from inclusion_audit.report import flows
from inclusion_audit.result import AuditResult
from inclusion_audit.stats.measures import dissimilarity_range
from inclusion_audit.vocab.folding import column_key, normalise

FEW_UNDER = "few_under"
WITHHELD = "withheld"
MISSED_STATUSES = ("under", "possible_under", FEW_UNDER)
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
    "base_bounds",  # its ratios and reason come from the count
)
_COUNT_FREE_STATUSES = ("insufficient_data",)
_TOLERANCE = 1e-9


def required_values(threshold: int) -> int:
    """How many values every hidden count must keep: as many as "1 to threshold − 1"."""
    return max(threshold - 1, 1)


# ---------------------------------------------------------------------------
# One table


def hidden_indices(counts: Sequence[int], threshold: int) -> tuple[set[int], set[int]]:
    """Cells shown as small ("0–4") and cells withheld to protect them, in one table.

    >>> hidden_indices([2, 7, 30], 5)
    ({0}, {1})
    >>> hidden_indices([1, 6, 5], 5)
    ({0}, {1, 2})
    >>> hidden_indices([3, 0, 12], 5)  # 0 to 3 each: enough values
    ({0, 1}, set())
    >>> hidden_indices([10, 20], 5)
    (set(), set())
    """
    bands, small, _ = _protect(counts, [0] * len(counts), threshold, set())
    return small, set(bands) - small


Band = tuple[int, int | None]


def _protect(
    counts: Sequence[int], lows: Sequence[int], threshold: int, forced: set[int]
) -> tuple[dict[int, Band], set[int], bool]:
    """The band of every hidden cell, the small ones, and whether the whole table is withheld.

    ``lows`` are the least a reader knows each cell holds (1 for a band listed
    only when chosen). ``forced`` cells are hidden because a linked table hides
    them; they show no band at all (0 or more), whatever their size, so that
    which band they show says nothing.
    """
    bands: dict[int, Band] = {}
    if any(0 < c < threshold for c in counts):
        bands = {i: (lows[i], threshold - 1) for i, c in enumerate(counts) if c < threshold}
    small = set(bands)
    for i in forced:
        bands.setdefault(i, (0, None))
    if not bands:
        return {}, set(), False
    while _narrowed(counts, bands, small, threshold):
        candidates = [(c, i) for i, c in enumerate(counts) if i not in bands]
        if not candidates:
            return bands, small, True
        count, index = min(candidates)
        if count >= threshold:
            bands[index] = (threshold, None)
        else:
            # Only forced cells were hidden, so a zero (or small count) is still shown:
            # it joins the small ones, never "5 or more", which it is not.
            bands[index] = (lows[index], threshold - 1)
            small.add(index)
    return bands, small, False


def _narrowed(
    counts: Sequence[int], bands: dict[int, Band], small: set[int], threshold: int
) -> bool:
    """Whether the hidden cells' sum and bands leave any of them too few values.

    A reader knows the sum (the total less the shown counts) and each band; and,
    when one cell alone is small, that it holds at least 1 (something small was
    hidden). For one sum with bands the range of each cell is exact.
    """
    hidden = sorted(bands)
    total = sum(counts[i] for i in hidden)
    low = {i: bands[i][0] for i in hidden}
    if len(small) == 1:
        (only,) = small
        low[only] = max(low[only], 1)
    high = {}
    for i in hidden:
        top = bands[i][1]
        high[i] = total if top is None else min(total, top)
    sum_low, sum_high = sum(low.values()), sum(high.values())
    need = required_values(threshold)
    for i in hidden:
        least = max(low[i], total - (sum_high - high[i]))
        most = min(high[i], total - (sum_low - low[i]))
        if most - least + 1 < need:
            return True
    return False


# ---------------------------------------------------------------------------
# An audit result


def suppress_small_counts(result: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of a result dictionary as a shared output may show it.

    Every group and quota gains ``suppressed`` (bool); every group
    ``hidden_reason`` (``"small"``, ``"withheld"`` or None) and, when hidden, the
    band it shows (``count_low``, ``count_high``; None is unbounded) and the
    ratios that band allows (``ratio_low``, ``ratio_high``); every characteristic
    ``statistics_withheld``. Recommendations, barriers and "what worked" are
    reworded, filtered and reordered as the module docstring says. ``threshold``
    0 or 1 hides nothing.

    >>> result = {"settings": {"under_threshold": 0.8}, "characteristics": [{"name": "x",
    ...     "column": "x", "n_known": 50, "groups": [
    ...     {"category": "A", "count": 2, "shortfall": 8, "status": "under",
    ...      "population_share": 0.2, "expected_count": 10},
    ...     {"category": "B", "count": 7, "shortfall": 0, "status": "ok",
    ...      "population_share": 0.2, "expected_count": 10},
    ...     {"category": "C", "count": 41, "shortfall": 0, "status": "over",
    ...      "population_share": 0.6, "expected_count": 30}]}]}
    >>> groups = suppress_small_counts(result, 5)["characteristics"][0]["groups"]
    >>> [(g["category"], g["count"], g["status"], g["count_low"], g["count_high"]) for g in groups]
    [('A', None, 'few_under', 0, 4), ('B', None, 'withheld', 5, 9), ('C', 41, 'over', None, None)]
    """
    return _suppress_in_place(copy.deepcopy(result), threshold)


def _suppress_in_place(shown: dict[str, Any], threshold: int) -> dict[str, Any]:
    """``suppress_small_counts`` on a dictionary nobody else holds (no copy made)."""
    characteristics = shown.get("characteristics", [])
    for characteristic in characteristics:
        for group in characteristic["groups"]:
            group["suppressed"] = False
            group["hidden_reason"] = None
            group.setdefault("count_low", None)
            group.setdefault("count_high", None)
            group.setdefault("ratio_low", None)
            group.setdefault("ratio_high", None)
        characteristic["statistics_withheld"] = False
    for quota in shown.get("quotas", []) or []:
        quota["suppressed"] = False
    if threshold <= 1:
        return shown
    settings = shown.get("settings", {}) or {}
    plans = {id(c): _plan(c, threshold) for c in characteristics}
    _link_levels(characteristics, plans, threshold)
    _link_places(
        characteristics, plans, threshold, (shown.get("geography") or {}).get("ward_deciles")
    )
    hidden_categories: dict[str, dict[str, dict[str, Any]]] = {}
    for characteristic in characteristics:
        bands, small, pinned = plans[id(characteristic)]
        _apply(characteristic, bands, small, pinned, settings)
    _spread_pinned(characteristics)
    for characteristic in characteristics:
        _similarity_range(characteristic)
        _suppress_unplaced(characteristic, threshold)
        hidden_categories[column_key(characteristic.get("name", ""))] = {
            normalise(g["category"]): g for g in characteristic["groups"]
        }
    _suppress_quotas(shown.get("quotas", []) or [], hidden_categories, threshold)
    _suppress_geography(shown)
    if shown.get("intersections") and threshold > 1:
        hidden_margins = {
            key: {category for category, g in table.items() if g.get("suppressed")}
            for key, table in hidden_categories.items()
        }
        shown["intersections"] = _suppress_intersections(
            shown, suppress_small_counts, threshold, hidden_margins
        )
    if shown.get("weighted_results"):
        weighted_on = set(shown["weighted_results"].get("characteristics") or ())
        margins_hidden = any(
            g.get("suppressed")
            for c in characteristics
            if c.get("name") in weighted_on
            for g in c["groups"]
        )
        shown["weighted_results"] = suppress_weighted_results(
            shown["weighted_results"], threshold, margins_hidden
        )
    _protect_actions(shown)
    return shown


_PLACES = ("imd_decile", "ward")
_TOTALS = (
    "n_known",
    "n_unknown",
    "n_blank",
    "n_declined",
    "unknown_rate",
    "unplaceable_rate",
    "answers_unreadable",
)


def _spread_pinned(characteristics: list[dict[str, Any]]) -> None:
    """A table whose answer total is withheld withholds its linked tables whole.

    Tables that share a total give it back to each other: the detailed and broad
    tables of one column (the broad total is the detailed one plus the answers that
    named only a broad group), and the two place tables (wards and deprivation
    deciles both count the postcodes placed in the area). When one of them had to
    withhold its total because every cell was pinned, the others are withheld
    whole, cells and totals, so the total cannot come back from them.
    """
    linked: dict[str, list[dict[str, Any]]] = {}
    for characteristic in characteristics:
        name, column = str(characteristic.get("name", "")), characteristic.get("column")
        if name in _PLACES or column is not None:
            key = "places" if name in _PLACES else f"column:{column}"
            linked.setdefault(key, []).append(characteristic)
    for tables in linked.values():
        if len(tables) < 2 or all(t.get("n_known") is not None for t in tables):
            continue
        for table in tables:
            table["statistics_withheld"] = True
            table["dissimilarity_index"] = None
            table["chi_square"] = None
            for key in _TOTALS:
                if key in table:
                    table[key] = None
            for group in table["groups"]:
                if not group.get("suppressed"):
                    _withhold(group)
                group["hidden_reason"] = WITHHELD
                if str(group["status"]) not in _COUNT_FREE_STATUSES:
                    group["status"] = WITHHELD
                # As a pinned table's cells: anything from 0 ("withheld" here is not
                # "5 or more", since zeros are withheld with the rest).
                group["count_low"], group["count_high"] = 0, None
                group["ratio_low"] = group["ratio_high"] = None
                if group.get("expected_count") is not None:
                    group["expected_count"] = None


def _similarity_range(characteristic: dict[str, Any]) -> None:
    """Where the dissimilarity index is withheld, the range the shown table allows.

    Computed from the shown counts, the bands and the total only (so it tells a
    reader nothing the table does not): ``dissimilarity_low``/``_high``, the least
    and greatest index over every count the bands allow.
    """
    characteristic.setdefault("dissimilarity_low", None)
    characteristic.setdefault("dissimilarity_high", None)
    n = characteristic.get("n_known")
    if characteristic.get("dissimilarity_index") is not None or not n:
        return
    groups = characteristic["groups"]
    counts = [None if g.get("suppressed") else g.get("count") for g in groups]
    bounds = [
        (int(g.get("count_low") or 0), int(n if g.get("count_high") is None else g["count_high"]))
        for g in groups
    ]
    shares = [float(g.get("population_share") or 0) for g in groups]
    if any(c is None and not g.get("suppressed") for c, g in zip(counts, groups, strict=True)):
        return
    found = dissimilarity_range(counts, bounds, shares, int(n))
    if found is not None:
        characteristic["dissimilarity_low"], characteristic["dissimilarity_high"] = found


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


def _lows(characteristic: dict[str, Any]) -> list[int]:
    """The least a reader knows each cell holds: 0 for every listed group.

    Every category of the population is listed, with 0 where nobody chose it (the
    verdicts issue), so being listed says nothing; and a hidden zero is shown as
    "0–4" like a small count, so the band never tells a zero from a 1.
    """
    return [0 for _ in characteristic["groups"]]


def _plan(characteristic: dict[str, Any], threshold: int, forced: set[int] | None = None) -> Any:
    counts = [int(g["count"]) for g in characteristic["groups"]]
    return _protect(counts, _lows(characteristic), threshold, forced or set())


def _link_levels(
    characteristics: list[dict[str, Any]], plans: dict[int, Any], threshold: int
) -> None:
    """Protect the detailed and broad tables of one column together (see the module docstring)."""
    by_column: dict[str, list[dict[str, Any]]] = {}
    for characteristic in characteristics:
        by_column.setdefault(str(characteristic.get("column")), []).append(characteristic)
    for tables in by_column.values():
        if len(tables) != 2:
            continue
        detailed, broad = sorted(tables, key=lambda c: len(c["groups"]), reverse=True)
        parents = {b["category"]: i for i, b in enumerate(broad["groups"])}
        parent_of = {
            i: parents.get(g["category"].split(": ", 1)[0])
            for i, g in enumerate(detailed["groups"])
        }
        if any(p is None for p in parent_of.values()):
            continue
        forced_detail: set[int] = set()
        forced_broad: set[int] = set()
        for _ in range(len(detailed["groups"]) + len(broad["groups"])):
            hidden_detail = set(plans[id(detailed)][0])
            want_broad = {parent_of[i] for i in hidden_detail} | forced_broad
            plans[id(broad)] = _plan(broad, threshold, {p for p in want_broad if p is not None})
            hidden_broad = set(plans[id(broad)][0])
            extra = set()
            for p in hidden_broad:
                members = [i for i, q in parent_of.items() if q == p]
                if members and not any(i in hidden_detail for i in members):
                    extra.add(min(members, key=lambda i: detailed["groups"][i]["count"]))
            if not extra - forced_detail and want_broad <= hidden_broad:
                break
            forced_detail |= extra
            forced_broad |= hidden_broad
            plans[id(detailed)] = _plan(detailed, threshold, forced_detail | hidden_detail)


def _link_places(
    characteristics: list[dict[str, Any]],
    plans: dict[int, Any],
    threshold: int,
    ward_deciles: dict[str, Sequence[str]] | None,
) -> None:
    """Protect the ward table with the decile table, through the geography they share.

    A reader knows which deciles each ward's LSOAs have (public data the report
    cites). In Leicester decile 9 lies only in Castle and Knighton: with decile 9
    showing 10 and Castle 7, Knighton holds at least 3, and its "0–4" is narrowed
    to 3 or 4. Each hidden ward's exact range, given both tables as shown and the
    geography, comes from :func:`flows.ward_ranges` (a flow problem over the ward ×
    decile cells the geography allows, so exact in whole numbers). While a hidden
    ward holding someone is left fewer than ``threshold − 1`` values, more deciles
    are withheld: first that ward's own, then all; withheld so, a decile shows
    no band at all, and the two tables then say no more together than the ward
    table alone.
    """
    if not ward_deciles:
        return
    wards = next((c for c in characteristics if c.get("name") == "ward"), None)
    deciles = next((c for c in characteristics if c.get("name") == "imd_decile"), None)
    if wards is None or deciles is None:
        return
    w_index = {g["category"]: i for i, g in enumerate(wards["groups"])}
    d_index = {g["category"]: i for i, g in enumerate(deciles["groups"])}
    allowed = {
        (w_index[ward], d_index[label])
        for ward, found in ward_deciles.items()
        for label in found
        if ward in w_index and label in d_index
    }
    w_counts = [int(g["count"]) for g in wards["groups"]]
    d_counts = [int(g["count"]) for g in deciles["groups"]]
    total = sum(w_counts)
    if total != sum(d_counts) or not allowed:
        return
    need = required_values(threshold)

    def spans(counts: list[int], bands: dict[int, Band]) -> list[tuple[int, int]]:
        found = []
        for i, count in enumerate(counts):
            if i not in bands:
                found.append((count, count))
                continue
            low, high = bands[i]
            found.append((low, total if high is None else min(total, high)))
        return found

    forced: set[int] = set()
    for step in range(3):
        w_bands, _, w_pinned = plans[id(wards)]
        d_bands, _, d_pinned = plans[id(deciles)]
        if w_pinned or d_pinned:
            return
        w_spans, d_spans = spans(w_counts, w_bands), spans(d_counts, d_bands)
        narrowed = _narrowed_wards(
            [w for w in w_bands if 0 < w_counts[w] < threshold],
            w_spans,
            d_spans,
            allowed,
            total,
            need,
        )
        if not narrowed:
            return
        if step == 0:
            forced |= {d for w, d in allowed if w in narrowed}
            plans[id(deciles)] = _plan(deciles, threshold, forced | set(d_bands))
        else:
            # Every decile withheld with no band: only their total (the wards') is left.
            plans[id(deciles)] = ({i: (0, None) for i in range(len(d_counts))}, set(), False)


def _narrowed_wards(
    wards: list[int],
    w_spans: list[tuple[int, int]],
    d_spans: list[tuple[int, int]],
    allowed: set[tuple[int, int]],
    total: int,
    need: int,
) -> list[int]:
    """The hidden wards the two tables and the geography leave fewer values than they
    need: ``need``, or every value of the ward's band when the band holds fewer."""
    reach = {w: min(need, w_spans[w][1] - w_spans[w][0] + 1) for w in wards}
    ranges = flows.ward_ranges(w_spans, d_spans, allowed, total, reach)
    if ranges is None:  # no table fits: cannot happen with true spans; protect them all
        return wards
    return [w for w, (least, most) in ranges.items() if most - least + 1 < reach[w]]


def _apply(
    characteristic: dict[str, Any],
    bands: dict[int, Band],
    small: set[int],
    pinned: bool,
    settings: dict[str, Any],
) -> None:
    groups = characteristic["groups"]
    characteristic["statistics_withheld"] = bool(bands)
    if not bands:
        return
    characteristic["dissimilarity_index"] = None
    characteristic["chi_square"] = None
    if pinned:
        for key in _TOTALS:
            characteristic[key] = None
    n_known = characteristic.get("n_known")
    shown_total = sum(int(g["count"]) for i, g in enumerate(groups) if i not in bands)
    for i, band in bands.items():
        group = groups[i]
        low, high = (0, None) if pinned else band
        if n_known is not None:
            room = n_known - shown_total - sum(bands[j][0] for j in bands if j != i)
            high = room if high is None else min(high, room)
        group["suppressed"] = True
        group["hidden_reason"] = "small" if i in small and not pinned else WITHHELD
        group["count_low"], group["count_high"] = low, high
        expected = None if n_known is None else n_known * float(group["population_share"])
        group["status"] = _band_status(group, low, high, expected, settings)
        for key in _HIDDEN_WITH_COUNT:
            if key in group:
                group[key] = None
        if expected:
            group["ratio_low"] = low / expected
            group["ratio_high"] = None if high is None else high / expected
        if n_known is None:
            group["expected_count"] = None


def _band_status(
    group: dict[str, Any],
    low: int,
    high: int | None,
    expected: float | None,
    settings: dict[str, Any],
) -> str:
    """The status every count in the band gives, or ``withheld``."""
    status = str(group["status"])
    if expected is None:
        return WITHHELD
    if status in _COUNT_FREE_STATUSES:
        return status
    if expected <= 0:
        return WITHHELD
    under = float(settings.get("under_threshold", 0.8))
    over = float(settings.get("over_threshold", 1.25))
    if (
        high is not None
        and high / expected < under * (1 - _TOLERANCE)
        and status in ("under", "possible_under")
    ):
        return FEW_UNDER
    if (
        high is not None
        and low / expected >= under * (1 - _TOLERANCE)
        and high / expected <= over * (1 + _TOLERANCE)
        and status == "ok"
    ):
        return "ok"
    return WITHHELD


def _suppress_unplaced(characteristic: dict[str, Any], threshold: int) -> None:
    """Small counts of answers that were not placed can be as telling as a group's.

    "Non-binary (1)" under a sex question says one person is non-binary. When any
    such count is small, the breakdown is withheld; the answers stay named only
    while the unknown total, with each named answer given at least once, still
    leaves every one of them enough possible counts.
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
    unknown = characteristic.get("n_unknown")
    if unknown is None or unknown - len(items) + 1 < required_values(threshold):
        characteristic["unplaceable"] = []
        characteristic["unplaceable_withheld"] = True


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


def _suppress_quotas(
    quotas: list[dict[str, Any]],
    groups: dict[str, dict[str, dict[str, Any]]],
    threshold: int,
) -> None:
    """Quotas are hidden with their group, else as a table of their own (module docstring)."""
    by_characteristic: dict[str, list[dict[str, Any]]] = {}
    for quota in quotas:
        by_characteristic.setdefault(column_key(quota["characteristic"]), []).append(quota)
    need = required_values(threshold)
    for key, table in by_characteristic.items():
        linked = groups.get(key, {})
        counts = [int(q["count"]) for q in table]
        forced = {
            i
            for i, q in enumerate(table)
            if linked.get(normalise(q["category"]), {}).get("suppressed")
        }
        bands, small, _ = _protect(counts, [0] * len(table), threshold, forced)
        if len(bands) == 1:
            others = [(c, i) for i, c in enumerate(counts) if i not in bands]
            if others:
                bands[min(others)[1]] = (threshold, None)
        for i, quota in enumerate(table):
            hidden = i in bands
            quota["suppressed"] = hidden
            if not hidden:
                continue
            group = linked.get(normalise(quota["category"]))
            if group is not None and group.get("suppressed"):
                low, high = group["count_low"], group["count_high"]
            else:
                low, high = bands[i]
            quota["count_low"], quota["count_high"] = low, high
            small_band = (
                group.get("hidden_reason")
                if group is not None and group.get("suppressed")
                else ("small" if i in small else WITHHELD)
            )
            quota["hidden_reason"] = small_band
            met = quota["met"]
            quota["count"] = quota["gap"] = None
            quota["met"] = met if _met_shown(quota, low, high, need) else None


def _met_shown(quota: dict[str, Any], low: int, high: int | None, need: int) -> bool:
    """Whether "met" or "not met" may be shown: both answers leave enough values, or
    the band gives one answer for every count."""
    if quota.get("minimum") is None or quota.get("maximum") is None:
        return False
    top = high if high is not None else low + 10**6
    inside = max(0, min(top, int(quota["maximum"])) - max(low, int(quota["minimum"])) + 1)
    outside = (top - low + 1) - inside
    return inside == 0 or outside == 0 or (inside >= need and outside >= need)


# ---------------------------------------------------------------------------
# Recommendations, barriers and what worked


def _protect_actions(shown: dict[str, Any]) -> None:
    """Recommendations, barriers, "already offered" and "what worked" as a shared report
    may show them: a hidden group is named only with a missed status and without
    figures, a group whose status is withheld is never named, and the order is one
    computed from shown figures.

    A result audited for the same threshold has its recommendations worded and
    ranked from this view already (``recommend(..., hidden=, shown=)``), so this
    changes nothing but the JSON-only ``withheld_groups``. A result audited for
    internal use (``suppress_below=0``) and then shared is made safe here: each
    hidden group's gap clause ("people aged 16-24 were 7% of their census share
    (29 more people needed …)") is reworded without figures, reasons naming a
    group whose status is withheld are left out, an entry serving only such groups
    is dropped, and when anything changed the entries are ranked again from shown
    figures only (:func:`_shared_order`).
    """
    groups = {
        (str(c.get("name")), g["category"]): g
        for c in shown.get("characteristics", [])
        for g in c["groups"]
    }
    hidden = {pair for pair, g in groups.items() if g.get("suppressed")}
    from inclusion_audit.action.wording import describe_group

    def named(pair: tuple[str, str]) -> bool:
        return pair not in hidden or groups[pair]["status"] in MISSED_STATUSES

    secret = [describe_group(*pair).casefold() for pair in hidden if not named(pair)]

    def tells(text: str) -> bool:
        folded = text.casefold()
        return any(words in folded for words in secret)

    changed = False
    actions = []
    for item in shown.get("recommendations", []) or []:
        # An entry made for this view lists in `groups` only groups it may name; one
        # serving only withheld groups has none, ranks last and is simply left out
        # (leaving the others' order as it is). Only a group named at audit time and
        # hidden now (a result audited for another threshold) changes the order.
        listed = (
            item["groups"] if "groups" in item else [[item["characteristic"], item["category"]]]
        )
        pairs = [(str(p[0]), str(p[1])) for p in listed]
        kept = [p for p in pairs if named(p)]
        evidence = str(item.get("evidence", ""))
        for pair in kept:
            if pair in hidden:
                evidence = _without_figures(evidence, describe_group(*pair))
        if tells(evidence):
            label, _, _ = evidence.partition(": ")
            evidence = f"{label}: for groups whose figures are withheld in shared reports"
        changed = changed or kept != pairs or evidence != item.get("evidence")
        if not kept:
            continue
        actions.append(
            {
                **item,
                "characteristic": kept[0][0],
                "category": kept[0][1],
                "groups": [list(p) for p in kept],
                "withheld_groups": [],
                "evidence": evidence,
            }
        )
    if changed:
        actions = _shared_order(actions, groups)
    if "recommendations" in shown:
        shown["recommendations"] = actions
    for barrier in shown.get("barriers", []) or []:
        barrier["groups"] = [list(p) for p in barrier.get("groups", []) if named((p[0], p[1]))]
        barrier["evidence"] = [c for c in barrier.get("evidence", []) if not tells(c)]
    if shown.get("already_offered"):
        offered = []
        for item in shown["already_offered"]:
            still = [list(p) for p in item.get("groups", []) if named((p[0], p[1]))]
            if still and not tells(str(item.get("text", ""))):
                offered.append({**item, "groups": still})
        shown["already_offered"] = offered
    shown["what_worked"] = [s for s in shown.get("what_worked", []) or [] if not tells(s)]


def _without_figures(evidence: str, who: str) -> str:
    """The evidence with ``who``'s gap clause worded without figures.

    >>> _without_figures("Timing: no people aged 16-24 took part, though they are 12% "
    ...                  "of the population", "people aged 16-24")
    'Timing: people aged 16-24 were under-represented (figures withheld to protect small counts)'
    """
    plain = f"{who} were under-represented (figures withheld to protect small counts)"
    who_ = re.escape(who)
    for pattern in (
        rf"no {who_} took part, though they are [\d.]+% of the population",
        rf"{who_} were [\d.]+% of their [a-z ]+ share \([^)]*\)",
        rf"{who_} were under-represented(; too few took part to be sure)?(?! \(figures)",
    ):
        evidence = re.sub(pattern, plain, evidence)
    return evidence


def _shared_order(
    actions: list[dict[str, Any]], groups: dict[tuple[str, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Entries in an order computed from shown figures only, priorities renumbered.

    Each entry ranks by its best group: shown status (firm, possible, then a hidden
    missed one), then shown shortfall, then population share; ties keep their order.
    """
    tier = {"under": 0, "possible_under": 1, FEW_UNDER: 2}

    def group_key(pair: tuple[str, str]) -> tuple[float, float, float]:
        group = groups.get(pair, {})
        return (
            tier.get(str(group.get("status")), 3),
            -float(group.get("shortfall") or 0),
            -float(group.get("population_share") or 0),
        )

    def key(action: dict[str, Any]) -> tuple[float, float, float]:
        return min(group_key((str(p[0]), str(p[1]))) for p in action["groups"])

    ranked = sorted(actions, key=key)
    return [{**action, "priority": n} for n, action in enumerate(ranked, start=1)]


def shared_view(
    result: AuditResult, suppress_below: int
) -> tuple[frozenset[tuple[str, str]], dict[tuple[str, str], str]]:
    """``hidden_groups`` and ``shown_statuses`` together, from one pass of the rules."""
    if suppress_below <= 1:
        return hidden_groups(result, suppress_below), shown_statuses(result, suppress_below)
    shown = _suppress_in_place(result.to_dict(), suppress_below)  # to_dict is a new dict
    return _hidden_in(shown), _statuses_in(shown)


def hidden_groups(result: AuditResult, suppress_below: int) -> frozenset[tuple[str, str]]:
    """(characteristic, category) of groups whose figures the report hides.

    The same rules as the report (:func:`suppress_small_counts`), so a
    recommendation never gives away a count the report's tables withhold.
    """
    if suppress_below <= 1:
        return frozenset()
    return _hidden_in(suppress_small_counts(result.to_dict(), suppress_below))


def _hidden_in(shown: dict[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset(
        (characteristic["name"], group["category"])
        for characteristic in shown["characteristics"]
        for group in characteristic["groups"]
        if group.get("suppressed")
    )


# ---------------------------------------------------------------------------
# A review


def suppress_review(review: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of a review dictionary (``ReviewResult.to_dict``) as a shared review may show it.

    Each event's groups are hidden exactly as that event's own report hides them
    (:func:`suppress_small_counts` on what the store kept, with the same
    threshold). A pooled count (the whole period's, and each trend period's) is
    shown when every event it adds up showed its count for that group; otherwise
    it shows the band those events' own figures allow (the shown counts plus
    each hidden count's band: ``count_low``, ``count_high``), the ratios that band
    allows, and a status only where every count in the band gives it (as for a
    hidden group of an audit). A pooled table's answer counts, and a pooled
    expected count, are shown only when every event showed its own.

    So every figure a shared review shows is a function of figures the events'
    own reports already show: it can tell a reader nothing they do not. Groups
    gain ``suppressed`` and ``hidden_reason``.
    """
    shown = copy.deepcopy(review)
    if threshold <= 1:
        for table in _review_tables(shown):
            for group in table["groups"]:
                group["suppressed"] = False
                group["hidden_reason"] = None
        return shown
    settings = shown.get("settings", {}) or {}
    # Each event's groups, and answer counts, as its own report shows them.
    published: dict[tuple[int, str, str], dict[str, Any]] = {}
    published_totals: set[tuple[int, str]] = set()
    for event in shown["events"]:
        own = suppress_small_counts(
            {
                "settings": event.get("settings") or {},
                "characteristics": [
                    {**c, "column": c["name"].removesuffix("_broad")}
                    for c in event["characteristics"]
                ],
            },
            threshold,
        )
        for characteristic in own["characteristics"]:
            # The store does not keep the unplaced answers' breakdown, so a review never
            # shows it.
            characteristic.pop("column", None)
            characteristic["n_blank"] = characteristic["n_declined"] = None
            for key in ("statistics_withheld", "dissimilarity_index", "chi_square"):
                characteristic.pop(key, None)
            characteristic.pop("unknown_rate", None)
            name = characteristic["name"]
            if characteristic["n_known"] is not None:
                published_totals.add((event["id"], name))
            for group in characteristic["groups"]:
                published[event["id"], name, group["category"]] = group
        event["characteristics"] = own["characteristics"]

    _withhold_pooled(shown["pooled"], shown["events"], published, published_totals, settings)
    for period in shown["trend"]:
        members = [e for e in shown["events"] if period["start"] <= e["date"] <= period["end"]]
        _withhold_pooled(period["characteristics"], members, published, published_totals, settings)
    return shown


def _review_tables(review: dict[str, Any]) -> list[dict[str, Any]]:
    tables = list(review["pooled"])
    tables += [c for period in review["trend"] for c in period["characteristics"]]
    tables += [c for event in review["events"] for c in event["characteristics"]]
    return tables


def _withhold_pooled(
    characteristics: list[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    published: dict[tuple[int, str, str], dict[str, Any]],
    published_totals: set[tuple[int, str]],
    settings: dict[str, Any],
) -> None:
    """Each pooled figure as the sum of what the events' reports show (see suppress_review)."""
    for characteristic in characteristics:
        name = characteristic["name"]
        audited = [e for e in events if any(c["name"] == name for c in e["characteristics"])]
        if not all((e["id"], name) in published_totals for e in audited):
            characteristic["n_known"] = characteristic["n_unknown"] = None
        for group in characteristic["groups"]:
            category = group["category"]
            parts = [
                published[e["id"], name, category]
                for e in audited
                if (e["id"], name, category) in published
            ]
            hidden = [p for p in parts if p.get("suppressed")]
            group["suppressed"] = bool(hidden)
            group["hidden_reason"] = WITHHELD if hidden else None
            group.setdefault("count_low", None)
            group.setdefault("count_high", None)
            group.setdefault("ratio_low", None)
            group.setdefault("ratio_high", None)
            if not hidden:
                continue
            contributors = [e for e in audited if (e["id"], name, category) in published]
            expected_shown = all((e["id"], name) in published_totals for e in contributors)
            shown_sum = sum(int(p["count"]) for p in parts if not p.get("suppressed"))
            low = shown_sum + sum(int(p.get("count_low") or 0) for p in hidden)
            tops = [p.get("count_high") for p in hidden]
            high = None
            if all(t is not None for t in tops):
                high = shown_sum + sum(int(t) for t in tops if t is not None)
            expected = group.get("expected_count") if expected_shown else None
            group["status"] = _band_status(group, low, high, expected, settings)
            for key in _HIDDEN_WITH_COUNT:
                if key in group:
                    group[key] = None
            group["count_low"], group["count_high"] = low, high
            if expected:
                group["ratio_low"] = low / expected
                group["ratio_high"] = None if high is None else high / expected
            if not expected_shown:
                group["expected_count"] = None


_MADE_AT_EFFECTIVE_SIZE = (
    "share_design_ci_low",
    "share_design_ci_high",
    "weighted_ci_low",
    "weighted_ci_high",
    "differs",
    "sentence",
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


def suppress_weighted_results(
    results: dict[str, Any], threshold: int, margins_hidden: bool = False
) -> dict[str, Any]:
    """A copy of weighted results with small answer counts, and what reveals them, hidden.

    Per question, the answer options are one table: the same primary and secondary
    suppression as a characteristic's groups (``hidden_indices``). A hidden option
    loses its count, raw and weighted shares, intervals and sentence, since a
    weighted share with the weights' margins known narrows the count; ``differs``
    becomes None. The weighting summary has no counts and stays, unless
    ``margins_hidden``: a characteristic weighted on has a hidden group, and the
    weights are the population's shares over the participants' counts, so the design
    effect, the effective size (and every interval made at it, so whether a weighted
    share "differs"), the largest weight and the warnings would give that count back
    (a weight of 9.53 for a share of 0.205 among 93 is 2 people). Then only the
    weighted shares themselves are shown.

    >>> data = {"questions": [{"answers": [
    ...     {"answer": "Yes", "count": 30, "share": 0.9, "differs": False},
    ...     {"answer": "No", "count": 3, "share": 0.1, "differs": True}]}]}
    >>> shown = suppress_weighted_results(data, 5)["questions"][0]["answers"]
    >>> [(a["count"], a["suppressed"], a["differs"]) for a in shown]
    [(None, 'withheld', None), (None, 'few', None)]
    """
    shown = copy.deepcopy(results)
    smallest = shown.get("smallest_margin_count")
    margins_hidden = margins_hidden or (smallest is not None and 0 < smallest < threshold)
    shown["diagnostics_withheld"] = bool(margins_hidden and threshold > 1)
    shown["smallest_margin_count"] = None
    if shown["diagnostics_withheld"]:
        for key in ("design_effect", "effective_sample_size", "largest_margin_error"):
            shown[key] = None
        shown["warnings"] = []
    for question in shown.get("questions", []):
        answers = question["answers"]
        cross = question.get("smallest_cross_count")
        question["weighted_withheld"] = bool(threshold > 1 and cross and cross < threshold)
        question["smallest_cross_count"] = None
        if question["weighted_withheld"]:
            for answer in answers:
                for key in (*_MADE_AT_EFFECTIVE_SIZE, "weighted_share"):
                    answer[key] = None
        if shown["diagnostics_withheld"]:
            question["effective_sample_size"] = question["design_effect"] = None
            for answer in answers:
                for key in _MADE_AT_EFFECTIVE_SIZE:
                    answer[key] = None
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
                # A cell shown as small before is withheld like the rest: no band, and
                # no status or ratio from its band ("0–4, under-represented" would
                # still mark it small).
                group["hidden_reason"] = WITHHELD
                group["count_low"], group["count_high"] = 0, None
                group["ratio_low"] = group["ratio_high"] = None
                if str(group["status"]) not in _COUNT_FREE_STATUSES:
                    group["status"] = WITHHELD
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
    """Hidden cells (holding someone) whose value the lines' totals narrow too far.

    Too far is fewer than ``required_values(threshold)`` possible values (as for
    every table): 16-24×Female in {2, 3} is as much a leak as exactly 2.

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
    need = required_values(threshold)
    return {
        i
        for i, g in enumerate(groups)
        if g["suppressed"] and counts[i] > 0 and high[i] - low[i] + 1 < need
    }


def _withhold(group: dict[str, Any]) -> None:
    if group["suppressed"]:
        return
    group["suppressed"] = True
    group["hidden_reason"] = WITHHELD
    # A cell withheld for its line shows no band, so no status that depends on its count.
    if str(group["status"]) not in _COUNT_FREE_STATUSES:
        group["status"] = WITHHELD
    group["count_low"] = group["count_high"] = None
    group["ratio_low"] = group["ratio_high"] = None
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
    return _statuses_in(suppress_small_counts(result.to_dict(), suppress_below))


def _statuses_in(shown: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (characteristic["name"], group["category"]): str(group["status"])
        for characteristic in shown["characteristics"]
        for group in characteristic["groups"]
    }
