"""The attacker of the disclosure attack test: what a reader can work out from a shared output.

A reader who knows the tool's rules turns everything a shared report publishes
into linear constraints on the true counts, and asks, for every hidden cell,
what the smallest and largest true value are that fit all of them: a small
integer linear programme (``scipy.optimize.milp``, a test-only dependency).

The published figures are read from the template context, the documented
contract every shared format (HTML, PDF, Markdown, web page) is rendered from:
``report.context.build_context`` for an audit and ``history.render.
build_review_context`` for a review. What the attacker reads:

* every table: shown counts; a hidden cell's label ("fewer than T": 0 to T-1,
  or from its published band ``count_low``/``count_high``; "withheld": T or
  more); the table's total and unknown-answer counts; that a characteristic
  whose categories come from the register's own answers (age bands) lists a
  band only when someone chose it, so each listed band holds at least 1; that a
  table hides anything only when some small cell holds 1 to T-1;
* linked tables: the broad ethnic table is the detailed one summed within each
  broad group, plus answers that named only the broad group;
* unknown answers: blank + declined + broad only + unplaceable = unknown,
  known + unknown = participants, and each named unplaced answer was given at
  least once;
* statuses and ratios: a shown ratio (to 2 decimals), a shown ratio band, and
  what each status word implies about the ratio (below the under threshold, in
  line, above the over threshold) and, for a firm ``under``, that the raw
  p-value was below alpha;
* quotas: shown counts, met / not met with the quota's range, "short by k";
  a quota on an audited characteristic is the same count as its group;
* the words of recommendations and of "what worked": "were 7% of their census
  share (29 more people needed...)", "no people aged 16-24 took part",
  "reached well (1.3x their census share)";
* a review: each event's own report as above, the pooled and trend counts,
  ranges, ratios and statuses as sums over the events.

The order of recommendations is not a linear constraint; the invariance test
(hidden counts moved within their bands must not change a shared output)
covers it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.stats import binomtest

INF = 10**7


@dataclass
class Attack:
    """Integer variables with bounds, linear constraints, and the truth to check against."""

    names: list[str] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    truth: list[int] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float, str]] = field(default_factory=list)
    watched: list[int] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    checks: list[tuple[dict[int, float], float, float, str]] = field(default_factory=list)

    def var(self, name: str, truth: int, lower: float = 0, upper: float = INF) -> int:
        if name in self.index:
            return self.index[name]
        self.index[name] = len(self.names)
        self.names.append(name)
        self.lower.append(lower)
        self.upper.append(upper)
        self.truth.append(int(truth))
        return self.index[name]

    def bound(self, i: int, lower: float | None = None, upper: float | None = None) -> None:
        if lower is not None:
            self.lower[i] = max(self.lower[i], lower)
        if upper is not None:
            self.upper[i] = min(self.upper[i], upper)

    def add(self, coefficients: dict[int, float], lower: float, upper: float, why: str) -> None:
        if len(coefficients) == 1 and next(iter(coefficients.values())) == 1:
            # One count between two numbers: a bound, rounded inwards (counts are whole).
            (i,) = coefficients
            self.bound(i, math.ceil(lower - 1e-9), math.floor(upper + 1e-9))
            self.checks.append((coefficients, lower, upper, why))
            return
        self.rows.append((coefficients, lower, upper, why))

    def watch(self, i: int) -> None:
        if i not in self.watched:
            self.watched.append(i)

    def violations(self) -> list[str]:
        """Constraints the true counts break: a wrong model of what is published."""
        found = []
        for i, name in enumerate(self.names):
            if not self.lower[i] - 1e-9 <= self.truth[i] <= self.upper[i] + 1e-9:
                found.append(f"{name}={self.truth[i]} outside [{self.lower[i]}, {self.upper[i]}]")
        for coefficients, lower, upper, why in self.rows + self.checks:
            value = sum(a * self.truth[i] for i, a in coefficients.items())
            if not lower - 1e-6 <= value <= upper + 1e-6:
                found.append(f"{why}: {value} outside [{lower}, {upper}]")
        return found

    def ranges(self, only_below: int | None = None) -> dict[str, tuple[int, int]]:
        """The feasible range of every watched variable (whose true value is below
        ``only_below``, if given)."""
        n = len(self.names)
        if not self.watched:
            return {}
        matrix = np.zeros((max(len(self.rows), 1), n))
        low = np.full(max(len(self.rows), 1), -np.inf)
        high = np.full(max(len(self.rows), 1), np.inf)
        for r, (coefficients, lower, upper, _) in enumerate(self.rows):
            for i, a in coefficients.items():
                matrix[r, i] += a
            low[r], high[r] = lower, upper
        constraints = LinearConstraint(matrix, low, high)
        bounds = Bounds(np.array(self.lower, dtype=float), np.array(self.upper, dtype=float))
        found = {}
        for i in self.watched:
            if only_below is not None and self.truth[i] >= only_below:
                continue
            ends = []
            for sign in (1.0, -1.0):
                objective = np.zeros(n)
                objective[i] = sign
                relaxed = linprog(
                    objective,
                    A_ub=np.vstack([matrix, -matrix]),
                    b_ub=np.concatenate([np.minimum(high, 1e12), np.minimum(-low, 1e12)]),
                    bounds=list(zip(self.lower, self.upper, strict=True)),
                    method="highs",
                )
                if relaxed.status == 0 and np.allclose(relaxed.x, np.round(relaxed.x), atol=1e-7):
                    # A whole-number optimum of the relaxation is the integer optimum.
                    ends.append(round(float(relaxed.x[i])))
                    continue
                solved = milp(
                    objective,
                    constraints=constraints,
                    integrality=np.ones(n),
                    bounds=bounds,
                    options={"presolve": True},
                )
                assert solved.status == 0, (self.names[i], solved.message)
                ends.append(round(float(solved.x[i])))
            found[self.names[i]] = (ends[0], ends[1])
        return found

    def narrow(self, minimum_values: int, below: int) -> dict[str, tuple[int, int, int]]:
        """Hidden cells whose true count is below ``below`` (the threshold: the people the
        hiding protects) that a reader can narrow to fewer than ``minimum_values`` values,
        as name: (least, most, true count). A withheld cell of 5 or more may be worked
        out: its count could have been shown."""
        return {
            name: (low, high, self.truth[self.index[name]])
            for name, (low, high) in self.ranges(below).items()
            if high - low + 1 < minimum_values and self.truth[self.index[name]] < below
        }


# ---------------------------------------------------------------------------
# What status words and ratios say about a count


def status_rows(
    attack: Attack,
    coefficients: dict[int, float],
    status: str | None,
    expected: float | None,
    settings: dict[str, Any],
    why: str,
    *,
    n: int | None = None,
    share: float | None = None,
) -> None:
    """Constraints a shown status puts on a count (or a sum of counts) with ``expected``."""
    if status is None or expected is None or expected <= 0:
        return
    under = float(settings.get("under_threshold", 0.8))
    over = float(settings.get("over_threshold", 1.25))
    tolerance = 1e-6
    if status in ("under", "possible_under", "few_under", "missed"):
        attack.add(coefficients, -INF, under * expected * (1 - 1e-9) - tolerance, why + " under")
        if status == "under" and n is not None and share is not None and n > 0:
            alpha = float(settings.get("alpha", 0.05))
            top = max(
                (c for c in range(0, math.ceil(under * expected) + 1) if _p(c, n, share) < alpha),
                default=None,
            )
            if top is not None:
                attack.add(coefficients, -INF, top, why + " firm under")
    elif status == "ok":
        attack.add(coefficients, under * expected * (1 - 1e-9) - tolerance, INF, why + " ok low")
        attack.add(coefficients, -INF, over * expected * (1 + 1e-9) + tolerance, why + " ok high")
    elif status in ("possible_over", "over"):
        attack.add(coefficients, over * expected * (1 + 1e-9) + tolerance, INF, why + " over")


def _p(count: int, n: int, share: float) -> float:
    if count > n:
        return 1.0
    return float(binomtest(count, n, share).pvalue)


def ratio_rows(
    attack: Attack,
    coefficients: dict[int, float],
    low: float | None,
    high: float | None,
    expected: float | None,
    why: str,
) -> None:
    """A ratio (or ratio band) shown: the count lies between low × expected and high × expected."""
    if expected is None or expected <= 0 or (low is None and high is None):
        return
    lower = -INF if low is None else low * expected - 1e-6
    upper = INF if high is None else high * expected + 1e-6
    attack.add(coefficients, lower, upper, why)


# ---------------------------------------------------------------------------
# Reading the words of recommendations


_GAP = re.compile(
    r"(?P<who>[^:;,()]+?) were (?P<pct>\d+)% of their (?:census|population) share "
    r"\((?P<more>\d+) more (?:people|person) needed to reach (?P<t>\d+)% of it"
)
_NONE = re.compile(r"no (?P<who>[^:;,()]+?) took part, though")
_WELL = re.compile(r"(?P<who>.+?) were reached well \((?P<ratio>[\d.]+)× their")


def figures_in_text(
    text: str, describe: dict[str, tuple[str, str]]
) -> list[tuple[tuple[str, str], str, tuple[float, ...]]]:
    """Figures about named groups in a sentence: (group, kind, numbers).

    ``describe`` maps a group's plain-English name ("people aged 16-24") to
    (characteristic, category).
    """
    found = []
    for match in _GAP.finditer(text):
        who = _who(match["who"], describe)
        if who is not None:
            found.append(
                (who, "gap", (float(match["pct"]), float(match["more"]), float(match["t"])))
            )
    for match in _NONE.finditer(text):
        who = _who(match["who"], describe)
        if who is not None:
            found.append((who, "none", ()))
    for match in _WELL.finditer(text):
        who = _who(match["who"], describe)
        if who is not None:
            found.append((who, "well", (float(match["ratio"]),)))
    return found


def _who(text: str, describe: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    text = text.strip()
    for words, group in describe.items():
        if text.casefold().endswith(words.casefold()):
            return group
    return None


def text_rows(
    attack: Attack,
    variable: int,
    kind: str,
    numbers: tuple[float, ...],
    n: int,
    share: float,
    why: str,
) -> None:
    expected = n * share
    if kind == "none":
        attack.add({variable: 1}, 0, 0, why + " nobody took part")
    elif kind == "gap":
        percent, more, target = numbers
        attack.add(
            {variable: 1},
            (percent - 0.5) / 100 * expected - 1e-6,
            (percent + 0.5) / 100 * expected + 1e-6,
            why + " ratio in words",
        )
        t = target / 100 * share
        # more = smallest m with c + m >= t (n + m): c >= t(n+more) - more, and
        # c < t(n + more - 1) - (more - 1) when more > 0.
        attack.add({variable: 1}, t * (n + more) - more - 1e-6, INF, why + " shortfall low")
        if more > 0:
            attack.add(
                {variable: 1}, -INF, t * (n + more - 1) - (more - 1) + 1e-6, why + " shortfall high"
            )
    elif kind == "well":
        (ratio,) = numbers
        attack.add(
            {variable: 1},
            (ratio - 0.05) * expected - 1e-6,
            (ratio + 0.05) * expected + 1e-6,
            why + " reached well",
        )


# ---------------------------------------------------------------------------
# An audit's shared report


def _fold(text: str) -> str:
    return " ".join(str(text).casefold().replace("_", " ").split())


def _broad_of(category: str) -> str:
    return category.split(": ", 1)[0]


def audit_attack(
    shown: dict[str, Any],
    truth: dict[str, Any],
    threshold: int,
    *,
    texts: list[str] = (),  # type: ignore[assignment]
    describe: Any = None,
    prefix: str = "",
    attack: Attack | None = None,
) -> Attack:
    """The constraints a reader gets from one audit's shared report.

    ``shown`` is the result as the templates receive it (after disclosure
    control), ``truth`` the JSON result; ``texts`` are the recommendations'
    evidence and "what worked" sentences as shared; ``describe`` is
    ``describe_group``.
    """
    attack = attack or Attack()
    settings = shown.get("settings", {})
    rows_total = truth["n_participants"]
    truth_by_name = {c["name"]: c for c in truth["characteristics"]}
    cells: dict[tuple[str, str], int] = {}
    known_vars: dict[str, int] = {}
    names = {_fold(c["name"]): c["name"] for c in shown["characteristics"]}
    for characteristic in shown["characteristics"]:
        name = characteristic["name"]
        real = truth_by_name[name]
        real_groups = {g["category"]: g for g in real["groups"]}
        key = f"{prefix}{name}"
        n_known = known_vars[name] = attack.var(f"{key}:n_known", real["n_known"])
        if characteristic.get("n_known") is not None:
            attack.bound(n_known, characteristic["n_known"], characteristic["n_known"])
        # Categories that come from the register's answers are listed only when chosen.
        listed_if_chosen = _answer_listed(characteristic)
        small_vars = []
        group_vars = []
        for group in characteristic["groups"]:
            category = group["category"]
            true_count = real_groups[category]["count"]
            v = attack.var(f"{key}:{category}", true_count)
            cells[name, category] = v
            group_vars.append(v)
            if group.get("count") is not None:
                attack.bound(v, group["count"], group["count"])
            else:
                attack.watch(v)
                low, high = _hidden_band(group, threshold)
                if listed_if_chosen:
                    low = max(low, 1)
                attack.bound(v, low, high)
                if group.get("hidden_reason") == "small":
                    small_vars.append(v)
            expected = group.get("expected_count")
            if expected is None and characteristic.get("n_known") is not None:
                expected = characteristic["n_known"] * group["population_share"]
            if group.get("count") is None:
                status_rows(
                    attack,
                    {v: 1},
                    group.get("status"),
                    expected,
                    settings,
                    f"{key}:{category} status",
                    n=characteristic.get("n_known"),
                    share=group["population_share"],
                )
                ratio = group.get("ratio")
                ratio_rows(
                    attack,
                    {v: 1},
                    group.get("ratio_low", None if ratio is None else ratio - 0.005),
                    group.get("ratio_high", None if ratio is None else ratio + 0.005),
                    expected,
                    f"{key}:{category} ratio",
                )
                shortfall = group.get("shortfall")
                n = characteristic.get("n_known")
                if shortfall is not None and n:
                    _shortfall_rows(
                        attack,
                        v,
                        shortfall,
                        n,
                        group["population_share"],
                        settings,
                        f"{key}:{category} shortfall",
                    )
        if group_vars:
            attack.add({**{v: 1 for v in group_vars}, n_known: -1}, 0, 0, f"{key} adds up")
        if small_vars:
            attack.add({v: 1 for v in small_vars}, 1, INF, f"{key} something small was hidden")
        _unknown_rows(attack, characteristic, real, n_known, rows_total, key, threshold)

    # The broad table is the detailed one summed within broad groups, plus broad-only answers.
    for characteristic in shown["characteristics"]:
        name = characteristic["name"]
        if not name.endswith("_broad"):
            continue
        detailed = names.get(_fold(name[: -len("_broad")]))
        if detailed is None:
            continue
        detail = next(c for c in shown["characteristics"] if c["name"] == detailed)
        if detail.get("column") != characteristic.get("column"):
            continue
        real_detail = {g["category"]: g["count"] for g in truth_by_name[detailed]["groups"]}
        real_broad = {g["category"]: g["count"] for g in truth_by_name[name]["groups"]}
        bo_vars = []
        for group in characteristic["groups"]:
            broad = group["category"]
            members = [c for c in real_detail if _broad_of(c) == broad]
            truth_bo = real_broad[broad] - sum(real_detail[c] for c in members)
            bo = attack.var(f"{prefix}{name}:broad-only:{broad}", truth_bo)
            bo_vars.append(bo)
            coefficients = {cells[name, broad]: 1, bo: -1}
            for c in members:
                coefficients[cells[detailed, c]] = coefficients.get(cells[detailed, c], 0) - 1
            attack.add(coefficients, 0, 0, f"{name}:{broad} is its detailed groups")
        n_bo = detail.get("n_broad_only")
        if n_bo is not None:
            attack.add({v: 1 for v in bo_vars}, n_bo, n_bo, f"{detailed} broad-only answers")

    _quota_rows(attack, shown, truth, cells, names, threshold, prefix)

    if describe is not None:
        words = {
            describe(c["name"], g["category"]): (c["name"], g["category"])
            for c in shown["characteristics"]
            for g in c["groups"]
        }
        words = dict(sorted(words.items(), key=lambda item: -len(item[0])))
        for text in texts:
            for group, kind, numbers in figures_in_text(text, words):
                characteristic = next(c for c in shown["characteristics"] if c["name"] == group[0])
                n = characteristic.get("n_known")
                real = truth_by_name[group[0]]
                n = real["n_known"] if n is None else n
                share = next(
                    g["population_share"]
                    for g in characteristic["groups"]
                    if g["category"] == group[1]
                )
                text_rows(attack, cells[group], kind, numbers, n, share, f"{prefix}text {group}")
    return attack


def _shortfall_rows(
    attack: Attack, v: int, more: int, n: int, share: float, settings: dict[str, Any], why: str
) -> None:
    t = float(settings.get("under_threshold", 0.8)) * share
    if more <= 0:
        attack.add({v: 1}, t * n - 1e-6, INF, why + " none needed")
        return
    attack.add({v: 1}, t * (n + more) - more - 1e-6, INF, why + " low")
    attack.add({v: 1}, -INF, t * (n + more - 1) - (more - 1) + 1e-6, why + " high")


def _hidden_band(group: dict[str, Any], threshold: int) -> tuple[float, float]:
    if group.get("count_low") is not None or group.get("count_high") is not None:
        low = group.get("count_low")
        high = group.get("count_high")
        return (0 if low is None else low, INF if high is None else high)
    if group.get("hidden_reason") == "small":
        return 0, threshold - 1
    return threshold, INF


def _answer_listed(characteristic: dict[str, Any]) -> bool:
    """Age bands from a banded register are listed only when someone chose them
    (before zero-count groups were listed): a listed band then holds at least one."""
    if _fold(characteristic["name"]) != "age":
        return False
    caveats = " ".join(characteristic.get("reference", {}).get("caveats", []))
    zeros_listed = any(g.get("count") == 0 for g in characteristic["groups"])
    return "fall in no band" in caveats and not zeros_listed


def review_attack(
    review: dict[str, Any],
    reports: dict[int, tuple[dict[str, Any], dict[str, Any], list[str]]],
    threshold: int,
    describe: Any = None,
) -> Attack:
    """A review together with its events' own shared reports.

    ``review`` is the review as its templates receive it; ``reports`` maps each
    event's id to (its shared result, its JSON result, its shared sentences).
    """
    attack = Attack()
    for event_id, (shown, truth, texts) in reports.items():
        audit_attack(
            shown,
            truth,
            threshold,
            texts=texts,
            describe=describe,
            prefix=f"e{event_id}:",
            attack=attack,
        )
    settings = review.get("settings", {})
    events = review["events"]

    def add_table(characteristic: dict[str, Any], members: list[dict[str, Any]], why: str) -> None:
        name = characteristic["name"]
        audited = [e for e in members if f"e{e['id']}:{name}:n_known" in attack.index]
        if characteristic.get("n_known") is not None:
            attack.add(
                {attack.index[f"e{e['id']}:{name}:n_known"]: 1 for e in audited},
                characteristic["n_known"],
                characteristic["n_known"],
                f"{why} {name} known",
            )
        for group in characteristic["groups"]:
            category = group["category"]
            terms = {
                attack.index[f"e{e['id']}:{name}:{category}"]: 1
                for e in audited
                if f"e{e['id']}:{name}:{category}" in attack.index
            }
            if not terms:
                continue
            label = f"{why} {name}:{category}"
            if group.get("count") is not None:
                attack.add(terms, group["count"], group["count"], label + " count")
                continue
            low, high = group.get("count_low"), group.get("count_high")
            if low is not None or high is not None:
                attack.add(
                    terms,
                    -INF if low is None else low,
                    INF if high is None else high,
                    label + " count band",
                )
            expected = group.get("expected_count")
            ratio = group.get("ratio")
            ratio_rows(
                attack,
                terms,
                group.get("ratio_low", None if ratio is None else ratio - 0.005),
                group.get("ratio_high", None if ratio is None else ratio + 0.005),
                expected,
                label + " ratio",
            )
            status_rows(attack, terms, group.get("status"), expected, settings, label + " status")

    for characteristic in review["pooled"]:
        add_table(characteristic, events, "pooled")
    for period in review["trend"]:
        members = [e for e in events if period["start"] <= e["date"] <= period["end"]]
        for characteristic in period["characteristics"]:
            add_table(characteristic, members, f"period {period['label']}")
    return attack


def _unknown_rows(
    attack: Attack,
    characteristic: dict[str, Any],
    real: dict[str, Any],
    n_known: int,
    rows_total: int,
    key: str,
    threshold: int,
) -> None:
    parts = {}
    for part in ("n_blank", "n_declined", "n_broad_only", "n_unplaceable"):
        parts[part] = attack.var(f"{key}:{part}", real.get(part) or 0)
        if characteristic.get(part) is not None:
            attack.bound(parts[part], characteristic[part], characteristic[part])
    unknown = attack.var(f"{key}:n_unknown", real["n_unknown"])
    if characteristic.get("n_unknown") is not None:
        attack.bound(unknown, characteristic["n_unknown"], characteristic["n_unknown"])
    attack.add({**{v: 1 for v in parts.values()}, unknown: -1}, 0, 0, f"{key} unknown parts")
    attack.add({n_known: 1, unknown: 1}, rows_total, rows_total, f"{key} every row")
    items = []
    real_items = {i["answer"]: i["count"] for i in real.get("unplaceable", [])}
    for item in characteristic.get("unplaceable", []):
        v = attack.var(f"{key}:unplaced:{item['answer']}", real_items[item["answer"]], 1)
        items.append(v)
        if item.get("count") is not None:
            attack.bound(v, item["count"], item["count"])
        else:
            attack.watch(v)
    if items and len(items) == len(real.get("unplaceable", [])):
        attack.add(
            {**{v: 1 for v in items}, parts["n_unplaceable"]: -1},
            -INF,
            0,
            f"{key} named answers are unplaceable",
        )


def _quota_rows(
    attack: Attack,
    shown: dict[str, Any],
    truth: dict[str, Any],
    cells: dict[tuple[str, str], int],
    names: dict[str, str],
    threshold: int,
    prefix: str,
) -> None:
    quotas = shown.get("quotas") or []
    for quota, real in zip(quotas, truth.get("quotas") or [], strict=True):
        name = names.get(_fold(quota["characteristic"]))
        linked = None
        if name is not None:
            linked = next(
                (
                    cells[name, c]
                    for (n, c) in cells
                    if n == name and _fold(c) == _fold(quota["category"])
                ),
                None,
            )
        v = attack.var(
            f"{prefix}quota:{quota['characteristic']}:{quota['category']}", real["count"]
        )
        if linked is not None:
            attack.add({v: 1, linked: -1}, 0, 0, f"quota {quota['category']} is its group")
        if quota.get("count") is not None:
            attack.bound(v, quota["count"], quota["count"])
        else:
            attack.watch(v)
        low, high = quota["minimum"], quota["maximum"]
        if quota.get("met") is True:
            attack.bound(v, low, high)
        elif quota.get("met") is False:
            gap = quota.get("gap")
            if gap is not None and gap < 0:
                attack.bound(v, low + gap, low + gap)
            elif gap is not None and gap > 0:
                attack.bound(v, high + gap, high + gap)
