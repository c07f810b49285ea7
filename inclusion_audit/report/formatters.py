"""Formatting filters for report templates: pure functions, tested by table."""

from __future__ import annotations

import math
import re
from typing import Any

STATUS_WORDS = {
    "under": "Under-represented",
    "possible_under": "Possibly under-represented",
    "ok": "In line with the area",
    "possible_over": "Possibly over-represented",
    "over": "Over-represented",
    "insufficient_data": "Too few to tell",
    "few_under": "Under-represented, firmly or possibly (figures withheld)",
    "withheld": "Withheld to protect small counts",
}

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def fmt_percent(value: float | None, digits: int = 1) -> str:
    """A proportion as a percentage; tiny non-zero values are not shown as 0.

    >>> fmt_percent(0.1234), fmt_percent(0.0004), fmt_percent(0), fmt_percent(None)
    ('12.3%', '<0.1%', '0.0%', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    smallest = 10 ** (-digits)
    if 0 < value * 100 < smallest:
        return f"<{smallest:.{digits}f}%"
    return f"{value * 100:.{digits}f}%"


def fmt_ratio(value: float | None) -> str:
    """A representation ratio to two decimals.

    >>> fmt_ratio(0.456), fmt_ratio(None)
    ('0.46', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f}"


def fmt_p(value: float | None) -> str:
    """A p-value, with anything below 0.001 shown as such.

    >>> fmt_p(0.0312), fmt_p(0.00001), fmt_p(None)
    ('0.031', '<0.001', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def fmt_count(value: float | None) -> str:
    """A count with thousands separators; fractional reference counts keep one decimal.

    >>> fmt_count(1234), fmt_count(12.5), fmt_count(None)
    ('1,234', '12.5', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def fmt_count_band(group: dict[str, Any], withheld_band: bool = False) -> str:
    """A count as a shared output shows it: exact, a band such as "0–4", or withheld.

    A count withheld to protect another shows "withheld", unless ``withheld_band``
    (a review's pooled count, which shows the range its events' reports allow).

    >>> fmt_count_band({"count": 12}), fmt_count_band({"count": None, "count_low": 0,
    ...     "count_high": 4, "hidden_reason": "small"})
    ('12', '0–4')
    >>> fmt_count_band({"count": None, "count_low": 5, "count_high": 9,
    ...     "hidden_reason": "withheld"})
    'withheld'
    >>> fmt_count_band({"count": None, "count_low": 5, "count_high": 9,
    ...     "hidden_reason": "withheld"}, withheld_band=True)
    '5–9'
    """
    if group.get("count") is not None:
        return fmt_count(group["count"])
    low, high = group.get("count_low"), group.get("count_high")
    if group.get("hidden_reason") != "small" and not withheld_band:
        return "withheld"
    if high is None:
        return f"{fmt_count(low)} or more" if low else "withheld"
    if low == high:
        return fmt_count(low)
    return f"{fmt_count(low or 0)}–{fmt_count(high)}"


def fmt_ratio_band(group: dict[str, Any]) -> str:
    """A ratio as a shared output shows it: exact, or the band a hidden count allows.

    >>> fmt_ratio_band({"ratio": 0.456}), fmt_ratio_band({"ratio": None, "ratio_low": 0.0,
    ...     "ratio_high": 0.667})
    ('0.46', 'at most 0.67')
    >>> fmt_ratio_band({"ratio": None, "ratio_low": 0.28, "ratio_high": 0.39})
    '0.28 to 0.39'
    >>> fmt_ratio_band({"ratio": None, "ratio_low": 0.0, "ratio_high": 9.5,
    ...     "status": "insufficient_data"})
    '—'
    """
    if group.get("ratio") is not None:
        return fmt_ratio(group["ratio"])
    low, high = group.get("ratio_low"), group.get("ratio_high")
    if high is None or group.get("status") == "insufficient_data":
        return "—"
    if not low:
        return f"at most {fmt_ratio(high)}"
    return f"{fmt_ratio(low)} to {fmt_ratio(high)}"


def status_word(status: str) -> str:
    """The plain-English label of a status.

    >>> status_word("possible_under")
    'Possibly under-represented'
    """
    return STATUS_WORDS.get(status, status)


CHARACTERISTIC_TITLES = {"imd_decile": "Deprivation decile", "ward": "Ward"}
"""Titles for characteristic names that do not read well as words."""


def characteristic_title(name: str) -> str:
    """A characteristic's name as a title.

    >>> characteristic_title("ethnic_group_broad"), characteristic_title("imd_decile")
    ('Ethnic group broad', 'Deprivation decile')
    """
    return CHARACTERISTIC_TITLES.get(name) or name.replace("_", " ").capitalize()


def md_escape(text: object) -> str:
    """Escape text for Markdown so cell contents cannot add markup or HTML.

    >>> md_escape("<script>|x*")
    '\\\\<script\\\\>\\\\|x\\\\*'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def sentence(text: object) -> str:
    """A clause as a sentence: first character capitalised (and nothing else), full stop.

    >>> sentence("no BSL interpreter was booked"), sentence("Done.")
    ('No BSL interpreter was booked.', 'Done.')
    """
    words = str(text).strip()
    if not words:
        return ""
    words = words[0].upper() + words[1:]
    return words if words.endswith((".", "!", "?")) else words + "."


def group_pairs(
    items: list[dict[str, Any]], first: str, second: str
) -> list[tuple[tuple[Any, Any], list[dict[str, Any]]]]:
    """Group items by two keys, keeping the order in which each pair first appears.

    >>> rows = [{"a": 1, "b": 2, "n": 1}, {"a": 3, "b": 4, "n": 2}, {"a": 1, "b": 2, "n": 3}]
    >>> [(key, [r["n"] for r in group]) for key, group in group_pairs(rows, "a", "b")]
    [((1, 2), [1, 3]), ((3, 4), [2])]
    """
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault((item[first], item[second]), []).append(item)
    return list(groups.items())


FILTERS = {
    "percent": fmt_percent,
    "ratio": fmt_ratio,
    "p_value": fmt_p,
    "count": fmt_count,
    "count_band": fmt_count_band,
    "ratio_band": fmt_ratio_band,
    "status_word": status_word,
    "characteristic_title": characteristic_title,
    "md": md_escape,
    "groupby_pair": group_pairs,
    "sentence": sentence,
}
