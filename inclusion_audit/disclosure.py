"""Disclosure control for anything meant to be shared.

Registers hold special category data, so a published table must not let a
reader learn about one person. Counts from 1 to ``threshold − 1`` are hidden
(primary suppression). Where a characteristic has a single hidden count it
could be recovered from the total by subtraction, so the next smallest count
is hidden too (secondary suppression). Whatever would let a reader work a
hidden count back out (share, interval, ratio, test, bounds) is hidden with
it, and its shortfall is rounded up to a multiple of 5. The dissimilarity
index and chi-square test of such a characteristic are withheld as well: with
the other counts known, either would pin the hidden counts down.

A zero stays visible: "nobody aged 16-24 took part" identifies nobody, and it
is the finding the report exists to show. The exception is a characteristic
whose every answer falls in one small group: the zeros are hidden too, or they
would point to it. ONS secure-research practice uses a
threshold of 10; this tool defaults to 5 and lets the user choose.
"""

from __future__ import annotations

import copy
import math
from typing import Any

DEFAULT_THRESHOLD = 5
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
    "share_if_unknown_in_group",
    "share_if_unknown_not_in_group",
)


def suppress_small_counts(result: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A copy of a result dictionary with small counts hidden.

    Every group gains ``suppressed`` and every characteristic
    ``statistics_withheld`` (bools). ``threshold`` 0 or 1 hides nothing.

    >>> result = {"characteristics": [{"groups": [
    ...     {"category": "A", "count": 2, "shortfall": 3},
    ...     {"category": "B", "count": 7, "shortfall": 0},
    ...     {"category": "C", "count": 30, "shortfall": 0}]}]}
    >>> shown = suppress_small_counts(result, 5)
    >>> groups = shown["characteristics"][0]["groups"]
    >>> [(g["category"], g["count"], g["suppressed"]) for g in groups]
    [('A', None, True), ('B', None, True), ('C', 30, False)]
    >>> groups[0]["shortfall"]
    5
    """
    shown = copy.deepcopy(result)
    for characteristic in shown["characteristics"]:
        groups = characteristic["groups"]
        hidden = {i for i, g in enumerate(groups) if 0 < g["count"] < threshold}
        if len(hidden) == 1:
            candidates = [
                (g["count"], i) for i, g in enumerate(groups) if i not in hidden and g["count"] > 0
            ]
            if candidates:
                hidden.add(min(candidates)[1])
            else:
                # Everyone who answered is in the one hidden group; hiding the zeros
                # as well stops a reader telling which group that is.
                hidden |= {i for i, g in enumerate(groups) if g["count"] == 0}
        characteristic["statistics_withheld"] = bool(hidden)
        if hidden:
            characteristic["dissimilarity_index"] = None
            characteristic["chi_square"] = None
        for i, group in enumerate(groups):
            group["suppressed"] = i in hidden
            if i in hidden:
                for key in _HIDDEN_WITH_COUNT:
                    if key in group:
                        group[key] = None
                if group.get("shortfall"):
                    group["shortfall"] = 5 * math.ceil(group["shortfall"] / 5)
    return shown
