"""Quarterly review: pooled statistics, trend, persistence, disclosure, reports and CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bs4 import BeautifulSoup
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from scipy.optimize import brentq

from inclusion_audit.cli.app import cli
from inclusion_audit.config import AuditConfig
from inclusion_audit.errors import InputError
from inclusion_audit.history.render import ReviewContext, build_review_context, render_review
from inclusion_audit.history.review import (
    ReviewError,
    build_review,
    persistence,
    pool,
    quarter_bounds,
    reevaluate,
)
from inclusion_audit.history.store import StoredCharacteristic, StoredEvent, StoredGroup, open_store
from inclusion_audit.report.render import RenderOptions

from ..conftest import REPO

GOLDEN = Path(__file__).parents[1] / "golden"


def make_event(
    event_id: int,
    day: dt.date,
    tables: dict[str, list[tuple[str, int, float, str]]],
    name: str | None = None,
) -> StoredEvent:
    """An event from (category, count, population share, status) per characteristic."""
    characteristics = []
    for characteristic, groups in tables.items():
        n_known = sum(count for _, count, _, _ in groups)
        characteristics.append(
            StoredCharacteristic(
                characteristic,
                n_known,
                3,
                2,
                1,
                tuple(
                    StoredGroup(category, count, share, n_known * share, None, status)
                    for category, count, share, status in groups
                ),
            )
        )
    return StoredEvent(
        id=event_id,
        name=name or f"Event {event_id}",
        date=day,
        reference="reference file population.csv",
        area_codes=(),
        eligible_age=None,
        n_participants=max(c.n_known for c in characteristics) + 3,
        tool_version="test",
        result_schema_version="1.0",
        settings=AuditConfig().to_dict(),
        added_at="2026-01-01T00:00:00+00:00",
        characteristics=tuple(characteristics),
    )


shares_of_two = st.floats(min_value=0.02, max_value=0.98)
two_groups = st.tuples(st.integers(0, 400), st.integers(0, 400), shares_of_two).filter(
    lambda t: t[0] + t[1] > 0
)
events_strategy = st.lists(st.tuples(two_groups, st.integers(0, 400)), min_size=1, max_size=8).map(
    lambda items: [
        make_event(
            i + 1,
            dt.date(2025, 1, 1) + dt.timedelta(days=day),
            {"sex": [("Female", a, share, "ok"), ("Male", b, 1 - share, "ok")]},
        )
        for i, ((a, b, share), day) in enumerate(items)
    ]
)


def scipy_sum_of_binomials(ns: list[int], ps: list[float]) -> np.ndarray:
    """The exact distribution of a sum of binomials, by full convolution of scipy's pmfs."""
    total = np.ones(1)
    for n, p in zip(ns, ps, strict=True):
        total = np.convolve(total, scipy_stats.binom.pmf(np.arange(n + 1), n, p))
    return total


def scipy_pooled(observed: int, ns: list[int], shares: list[float], confidence: float):
    """p-value and interval of the pooled ratio, written out with scipy and brentq."""

    def tails(ratio: float) -> tuple[float, float]:
        d = scipy_sum_of_binomials(ns, [min(1.0, ratio * s) for s in shares])
        return float(d[: observed + 1].sum()), float(d[observed:].sum())

    below, above = tails(1.0)
    p_value = min(1.0, 2 * min(below, above))
    tail = (1 - confidence) / 2
    top = 1 / max(shares)
    estimate = observed / sum(n * s for n, s in zip(ns, shares, strict=True))
    low = 0.0 if observed == 0 else brentq(lambda r: tails(r)[1] - tail, 1e-12, estimate)
    # The ratio cannot pass 1 / (largest share): where even there the lower tail stays
    # above its level (an event whose share reaches 1 fixes part of the count), the
    # interval runs to that end, as the exact interval does for x = n.
    if observed == sum(ns) or tails(top)[0] > tail:
        high = top
    else:
        high = brentq(lambda r: tails(r)[0] - tail, estimate, top)
    return p_value, low, high


@given(events_strategy)
@example(
    [
        make_event(
            1, dt.date(2025, 1, 1), {"sex": [("Female", 0, 0.5, "ok"), ("Male", 1, 0.5, "ok")]}
        ),
        make_event(
            2, dt.date(2025, 1, 1), {"sex": [("Female", 1, 0.75, "ok"), ("Male", 0, 0.25, "ok")]}
        ),
    ]
)
@settings(max_examples=30, deadline=None)
def test_pooled_statistics_match_independent_implementations(events) -> None:
    """A sum of independent binomials (issue 12, item 5), against scipy's convolution."""
    config = AuditConfig()
    [pooled] = pool(events, config)
    for group in pooled.groups:
        cells = [
            (g.count, c.n_known, g.population_share)
            for e in events
            for c in e.characteristics
            for g in c.groups
            if g.category == group.category and c.n_known > 0 and g.population_share > 0
        ]
        observed = sum(x for x, _, _ in cells)
        expected = sum(n * s for _, n, s in cells)
        assert group.count == observed
        assert group.expected_count == pytest.approx(expected, rel=1e-12)
        assert group.ratio == pytest.approx(observed / expected, rel=1e-12)
        ns, shares = [n for _, n, _ in cells], [s for _, _, s in cells]
        # Pearson's dispersion statistic, written out.
        if len(cells) >= 2:
            rho = observed / expected
            phi = sum(
                (x - n * rho * s) ** 2 / (n * rho * s * (1 - rho * s))
                for x, n, s in cells
                if 0 < rho * s < 1
            ) / (len(cells) - 1)
            assert group.dispersion == pytest.approx(phi, rel=1e-9, abs=1e-12)
        else:
            assert group.dispersion is None
        if group.dispersion is not None and group.dispersion > 1:
            continue  # widened: checked in test_over_dispersion_widens_the_interval
        assert group.ratio_ci_level is not None
        p_value, low, high = scipy_pooled(observed, ns, shares, group.ratio_ci_level)
        assert group.p_value == pytest.approx(p_value, rel=1e-6, abs=1e-12)
        assert group.ratio_ci_low == pytest.approx(low, rel=1e-6, abs=1e-9)
        assert group.ratio_ci_high == pytest.approx(high, rel=1e-6)
        # The status comes from the interval printed beside it.
        if group.status in ("under", "possible_under"):
            assert (group.status == "under") == (group.ratio_ci_high < 1)
        if group.status in ("over", "possible_over"):
            assert (group.status == "over") == (group.ratio_ci_low > 1)


@given(events_strategy.map(lambda events: events[:1]))
@settings(max_examples=40, deadline=None)
def test_a_review_of_one_event_gives_its_audit_statuses(events) -> None:
    """Issue 12, item 5: one event reviewed is that event's audit."""
    config = AuditConfig()
    [pooled] = pool(events, config)
    [audited] = reevaluate(events[0], config).characteristics
    assert [g.status for g in pooled.groups] == [g.status for g in audited.groups]


def test_the_issue_case_a_review_of_one_event() -> None:
    # 45 of 100 at a share of 0.6: the audit says under; the Poisson review said possible_under.
    event = make_event(
        1, dt.date(2025, 1, 1), {"disability": [("A", 45, 0.6, "under"), ("B", 55, 0.4, "over")]}
    )
    [pooled] = pool([event], AuditConfig())
    assert pooled.groups[0].status == "under"
    assert pooled.groups[0].p_value == pytest.approx(
        2 * scipy_stats.binom.cdf(45, 100, 0.6), rel=1e-9
    )


def test_over_dispersion_widens_the_interval() -> None:
    steady = [
        make_event(
            i + 1, dt.date(2025, 1, 1 + i), {"sex": [("F", 30, 0.5, "ok"), ("M", 70, 0.5, "ok")]}
        )
        for i in range(4)
    ]
    swinging = [
        make_event(
            i + 1,
            dt.date(2025, 1, 1 + i),
            {"sex": [("F", f, 0.5, "ok"), ("M", 100 - f, 0.5, "ok")]},
        )
        for i, f in enumerate([5, 55, 10, 50])
    ]
    [calm] = pool(steady, AuditConfig())
    [wild] = pool(swinging, AuditConfig())
    assert calm.groups[0].dispersion < 1 < wild.groups[0].dispersion
    assert calm.groups[0].ratio == pytest.approx(wild.groups[0].ratio)
    calm_width = calm.groups[0].ratio_ci_high - calm.groups[0].ratio_ci_low
    wild_width = wild.groups[0].ratio_ci_high - wild.groups[0].ratio_ci_low
    assert wild_width > 1.5 * calm_width
    assert calm.groups[0].status == "under" and wild.groups[0].status == "possible_under"


def test_categories_pool_by_their_canonical_name() -> None:
    """Issue 12, item 6: `16–24` (en dash) and `16-24` are one group."""
    first = make_event(
        1, dt.date(2025, 1, 1), {"age": [("16–24", 2, 0.2, "under"), ("25+", 98, 0.8, "ok")]}
    )
    second = make_event(
        2, dt.date(2025, 2, 1), {"age": [("16 - 24 yrs", 3, 0.2, "under"), ("25+", 97, 0.8, "ok")]}
    )
    third = make_event(
        3, dt.date(2025, 3, 1), {"age": [("16-24", 1, 0.2, "under"), ("25+", 99, 0.8, "ok")]}
    )
    review = build_review([first, second, third])
    [age] = review.pooled
    assert [g.category for g in age.groups] == ["16-24", "25+"]
    assert age.groups[0].count == 6 and age.groups[0].n_events == 3
    [missed] = [p for p in review.persistent if p.category == "16-24"]
    assert missed.n_events == 3 and missed.missed_again_and_again


@given(events_strategy)
@settings(max_examples=40, deadline=None)
def test_pooling_one_event_gives_its_own_counts(events) -> None:
    event = events[0]
    [pooled] = pool([event], AuditConfig())
    [own] = event.characteristics
    assert pooled.n_known == own.n_known and pooled.n_unknown == own.n_unknown
    for group, original in zip(pooled.groups, own.groups, strict=True):
        assert (group.category, group.count) == (original.category, original.count)
        assert group.expected_count == original.expected_count
        assert group.n_events == 1


@given(events_strategy, st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_the_order_events_are_given_in_changes_nothing(events, shuffler) -> None:
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    assert build_review(shuffled).to_dict() == build_review(events).to_dict()


def test_the_order_events_are_added_to_the_store_changes_nothing(tmp_path, example_result) -> None:
    days = [dt.date(2026, 1, 5), dt.date(2026, 2, 9), dt.date(2026, 2, 9), dt.date(2026, 5, 1)]
    reviews = []
    for index, order in enumerate([[0, 1, 2, 3], [3, 2, 0, 1]]):
        with open_store(tmp_path / f"{index}.sqlite", create=True) as store:
            for i in order:
                store.add(example_result, name=f"E{i}", date=days[i], check_duplicates=False)
            data = build_review(store.events()).to_dict()
        for event in data.pop("events"):
            assert event["name"] in {"E0", "E1", "E2", "E3"}
        reviews.append(data)
    assert reviews[0] == reviews[1]


@pytest.mark.parametrize(
    ("statuses", "missed", "judged", "run", "flag"),
    [
        (["under", "under"], 2, 2, 2, True),
        (["under", "ok", "possible_under", "ok"], 2, 4, 1, True),
        (["under", "ok", "ok", "possible_under", "ok"], 2, 5, 1, False),
        (["under"], 1, 1, 1, False),
        (["under", "insufficient_data", "under"], 2, 2, 2, True),
        (["ok", "possible_over", "over"], 0, 3, 0, False),
        (["insufficient_data", "insufficient_data"], 0, 0, 0, False),
        (["few_under", "withheld", "under", "ok"], 2, 3, 2, True),
    ],
)
def test_persistence_rule(statuses, missed, judged, run, flag) -> None:
    [item] = persistence([("age", "16-24", statuses)])
    assert (item.n_missed, item.n_judged, item.longest_run, item.missed_again_and_again) == (
        missed,
        judged,
        run,
        flag,
    )
    assert item.n_events == len(statuses)


statuses = st.sampled_from(
    ["under", "possible_under", "ok", "possible_over", "over", "insufficient_data"]
)


@given(st.lists(statuses, max_size=30))
def test_persistence_invariants(sequence) -> None:
    [item] = persistence([("sex", "Male", sequence)])
    assert item.n_under + item.n_possible_under == item.n_missed
    assert item.longest_run <= item.n_missed <= item.n_judged <= item.n_events
    assert item.missed_again_and_again == (
        item.n_missed >= 2 and 2 * item.n_missed >= item.n_judged
    )
    runs = [
        len(list(g))
        for k, g in itertools.groupby(
            [s for s in sequence if s != "insufficient_data"],
            key=lambda s: s in ("under", "possible_under"),
        )
        if k
    ]
    assert item.longest_run == max(runs, default=0)


def test_trend_is_by_period_oldest_first_and_persistent_groups_lead() -> None:
    def sex(female: int, male: int, male_status: str) -> dict:
        return {"sex": [("Female", female, 0.5, "ok"), ("Male", male, 0.5, male_status)]}

    events = [
        make_event(1, dt.date(2026, 8, 2), sex(40, 10, "under")),
        make_event(2, dt.date(2026, 2, 1), sex(30, 28, "ok")),
        make_event(3, dt.date(2026, 2, 20), sex(35, 12, "under")),
        make_event(4, dt.date(2026, 9, 30), sex(30, 9, "under")),
    ]
    review = build_review(events)
    assert [p.label for p in review.trend] == ["2026Q1", "2026Q3"]
    assert [p.n_events for p in review.trend] == [2, 2]
    assert review.persistent[0].category == "Male"
    assert review.persistent[0].statuses == ("ok", "under", "under", "under")
    assert review.persistent[0].longest_run == 3
    monthly = build_review(events, by="month")
    assert [p.label for p in monthly.trend] == ["2026-02", "2026-08", "2026-09"]
    q3 = build_review(events, start=dt.date(2026, 7, 1), end=dt.date(2026, 9, 30))
    assert q3.n_events == 2 and q3.pooled[0].groups[1].count == 19
    with pytest.raises(ReviewError, match="no events"):
        build_review(events, start=dt.date(2027, 1, 1))


def test_quarter_bounds() -> None:
    assert quarter_bounds("2026q1") == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert quarter_bounds("2025-Q4") == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    with pytest.raises(ReviewError, match="2026Q3"):
        quarter_bounds("2026Q5")


def test_review_json_is_plain_and_keeps_exact_counts() -> None:
    events = [
        make_event(
            1, dt.date(2026, 1, 5), {"sex": [("Female", 40, 0.5, "ok"), ("X", 2, 0.02, "ok")]}
        )
    ]
    data = json.loads(build_review(events).to_json())
    assert data["schema_version"] == "2.0"
    assert data["method_version"] == "2"
    assert data["pooled"][0]["groups"][1]["count"] == 2
    assert data["events"][0]["characteristics"][0]["groups"][1]["count"] == 2


def test_every_review_key_is_documented(example_result) -> None:
    import re

    schema = (REPO / "docs" / "review-schema.md").read_text()
    events = [
        make_event(
            1, dt.date(2026, 1, 5), {"sex": [("Female", 40, 0.5, "ok"), ("Male", 9, 0.5, "under")]}
        )
    ]
    keys: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                keys.add(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(build_review(events).to_dict())
    assert keys - set(re.findall(r"`([a-z_]+)`", schema)) == set()


# ---------------------------------------------------------------------------
# Disclosure control


def sex_event(event_id: int, day: dt.date, female: int, other: int, male: int) -> StoredEvent:
    return make_event(
        event_id,
        day,
        {
            "sex": [
                ("Female", female, 0.49, "ok"),
                ("Other", other, 0.02, "insufficient_data"),
                ("Male", male, 0.49, "ok"),
            ]
        },
    )


def shown_pooled(review, threshold: int = 5) -> dict[str, object]:
    context = build_review_context(review, suppress_below=threshold)
    return {g["category"]: g["count"] for g in context.review["pooled"][0]["groups"]}


def test_a_count_hidden_in_one_events_report_cannot_be_subtracted_out() -> None:
    events = [
        sex_event(1, dt.date(2026, 1, 10), 30, 3, 28),  # Other hidden in this event's report
        sex_event(2, dt.date(2026, 2, 10), 25, 6, 30),
        sex_event(3, dt.date(2026, 3, 10), 27, 7, 26),
    ]
    review = build_review(events)
    context = build_review_context(review)
    shown_events = context.review["events"]
    assert [e["characteristics"][0]["groups"][1]["count"] for e in shown_events] == [None, 6, 7]
    # Pooled, Other is 16: shown, 16 - 6 - 7 would give the hidden 3 away.
    assert shown_pooled(review)["Other"] is None
    pooled = context.review["pooled"][0]
    assert pooled["groups"][1]["hidden_reason"] == "withheld"
    # ... and then the pooled table would give it away (n_known − Female − Male): withheld too.
    assert sum(g["count"] is None for g in pooled["groups"]) >= 2
    html = render_review(review, ["html"])["html"].decode()
    table = BeautifulSoup(html, "html.parser").select_one("section.pooled table.groups")
    assert ">16<" not in str(table)
    internal = render_review(review, ["html"], RenderOptions(internal=True))["html"].decode()
    assert "Restricted:" in internal
    internal_table = BeautifulSoup(internal, "html.parser").select_one("section.pooled table")
    assert "16" in [td.get_text() for td in internal_table.select("td.num")]


def test_a_pooled_count_is_withheld_when_any_event_hid_its_own() -> None:
    events = [
        sex_event(1, dt.date(2026, 1, 10), 30, 3, 28),
        sex_event(2, dt.date(2026, 1, 11), 25, 2, 30),
        sex_event(3, dt.date(2026, 1, 12), 27, 7, 26),
    ]
    # Pooled Other is 12 = 3 + 2 + 7: two of those were hidden in their events' reports,
    # so 12 is not a sum of published counts (it would bound them: 12 - 7 = 5).
    context = build_review_context(build_review(events))
    other = context.review["pooled"][0]["groups"][1]
    assert other["count"] is None and other["hidden_reason"] == "withheld"
    assert other["ratio"] is None and other["p_value"] is None
    assert other["status"] in ("withheld", "insufficient_data")


def test_small_pooled_counts_are_hidden_like_an_audits() -> None:
    events = [
        sex_event(1, dt.date(2026, 1, 10), 30, 0, 28),
        sex_event(2, dt.date(2026, 4, 10), 25, 2, 30),
    ]
    context = build_review_context(build_review(events))
    trend = {p["label"]: p["characteristics"][0]["groups"] for p in context.review["trend"]}
    assert [g["count"] for g in trend["2026Q1"]] == [30, 0, 28]
    assert trend["2026Q2"][1]["count"] is None and trend["2026Q2"][1]["hidden_reason"] == "withheld"
    assert context.review["pooled"][0]["groups"][1]["count"] is None


def test_the_reviewers_bounding_attack_is_closed(runner, tmp_path) -> None:
    """Two events hide Red (3 each); a pooled Red of 6 would pin both to 3."""
    (tmp_path / "ref.csv").write_text(
        "characteristic,category,count\nColour,Red,100\nColour,Green,100\nColour,Blue,100\n"
    )
    (tmp_path / "e1.csv").write_text("Colour\n" + "Red\n" * 3 + "Blue\n" * 5)
    (tmp_path / "e2.csv").write_text("Colour\n" + "Red\n" * 3 + "Green\n" * 15)
    store = tmp_path / "h.sqlite"
    for name, day in (("e1", "2026-07-01"), ("e2", "2026-08-01")):
        done = invoke(
            runner,
            "audit",
            tmp_path / f"{name}.csv",
            "--reference",
            tmp_path / "ref.csv",
            "--event-date",
            day,
            "--store",
            store,
            "-o",
            tmp_path / f"{name}.md",
            "-q",
        )
        assert done.exit_code == 0, done.output
    done = invoke(
        runner, "review", "--store", store, "--quarter", "2026Q3", "-o", tmp_path / "r.md", "-q"
    )
    assert done.exit_code == 0, done.output
    e1, e2 = ((tmp_path / f"{n}.md").read_text() for n in ("e1", "e2"))
    # 0 to 3: what the table's total leaves for the two hidden cells.
    assert "| Red | 0–3 |" in e1 and "| Red | 0–3 |" in e2
    review_md = (tmp_path / "r.md").read_text()
    rows = [line for line in review_md.splitlines() if line.startswith("| Red |")]
    assert rows and all(row.split("|")[2].strip() != "6" for row in rows), rows
    # The pooled count shows only what the events' reports allow: 0-3 twice.
    assert "| Red | 0–6 |" in review_md
    # Green and Blue were each hidden at one event: the shown count plus 0 to 3.
    assert "| Green | 15–18 |" in review_md and "| Blue | 5–8 |" in review_md
    done = invoke(
        runner,
        "review",
        "--store",
        store,
        "--quarter",
        "2026Q3",
        "--internal",
        "-o",
        tmp_path / "internal.md",
        "-q",
    )
    assert "| Red | 6 |" in (tmp_path / "internal.md").read_text()


_COLOURS = ("Red", "Green", "Blue")


@given(
    st.lists(
        st.tuples(
            st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 12)),
            st.integers(0, 200),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([3, 5, 10]),
)
@settings(max_examples=30, deadline=None)
def test_every_shown_pooled_count_is_a_sum_of_published_counts(rows, threshold) -> None:
    """Real audits: whatever a shared review shows adds up what the events' reports show."""
    import tempfile

    from inclusion_audit.audit import run_audit
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.profiles import read_reference_csv
    from inclusion_audit.report.disclosure import suppress_small_counts

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "ref.csv").write_text(
            "characteristic,category,count\n" + "".join(f"Colour,{c},100\n" for c in _COLOURS)
        )
        reference = read_reference_csv(root / "ref.csv")
        published: dict[int, dict[str, Any]] = {}
        with open_store(root / "h.sqlite", create=True) as store:
            for index, (counts, day) in enumerate(rows):
                register = root / f"e{index}.csv"
                lines = [c for c, n in zip(_COLOURS, counts, strict=True) for _ in range(n)]
                register.write_text("Colour\n" + "".join(f"{c}\n" for c in lines or ["x"]))
                try:
                    result = run_audit(read_table(register), reference)
                except InputError:
                    continue
                added = store.add(
                    result,
                    name=f"e{index}",
                    date=dt.date(2026, 1, 1) + dt.timedelta(days=day),
                    check_duplicates=False,
                )
                own = suppress_small_counts(result.to_dict(), threshold)["characteristics"][0]
                published[added.event_id] = own
            events = store.events()
    if not events:
        return
    review = build_review(events)
    shown = build_review_context(review, suppress_below=threshold).review
    tables = [(shown["pooled"], review.events)]
    for period in shown["trend"]:
        members = [
            e for e in review.events if period["start"] <= e.date.isoformat() <= period["end"]
        ]
        tables.append((period["characteristics"], tuple(members)))
    for characteristics, members in tables:
        for characteristic in characteristics:
            own = [published[e.id] for e in members]
            if characteristic["n_known"] is not None:
                assert all(o["n_known"] is not None for o in own)
                assert characteristic["n_known"] == sum(o["n_known"] for o in own)
            for group in characteristic["groups"]:
                parts = [
                    g["count"]
                    for o in own
                    for g in o["groups"]
                    if g["category"] == group["category"]
                ]
                if group["count"] is not None:
                    assert None not in parts, (rows, threshold, group)
                    assert group["count"] == sum(parts)
                else:
                    assert group["ratio"] is None and group["p_value"] is None


@given(
    st.lists(
        st.tuples(
            st.integers(20, 60), st.integers(0, 12), st.integers(20, 60), st.integers(0, 200)
        ),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=40, deadline=None)
def test_no_pooled_sum_reveals_a_hidden_count(rows) -> None:
    """Brute force: every hidden count of Other keeps at least two possible values."""
    events = [
        sex_event(i + 1, dt.date(2026, 1, 1) + dt.timedelta(days=day), f, o, m)
        for i, (f, o, m, day) in enumerate(rows)
    ]
    review = build_review(events)
    shown = build_review_context(review).review
    other_events = [e["characteristics"][0]["groups"][1]["count"] for e in shown["events"]]
    pooled_other = shown["pooled"][0]["groups"][1]["count"]
    periods = [
        (p["start"], p["end"], p["characteristics"][0]["groups"][1]["count"])
        for p in shown["trend"]
    ]
    hidden = [i for i, c in enumerate(other_events) if c is None]
    if not hidden:
        return
    # Each hidden Other count is known to lie in 0-4 here (no firm under finding); every
    # assignment that fits all visible sums is possible, and each hidden count must keep two.
    possible: list[set[int]] = [set() for _ in hidden]
    for values in itertools.product(range(5), repeat=len(hidden)):
        counts = list(other_events)
        for index, value in zip(hidden, values, strict=True):
            counts[index] = value
        if pooled_other is not None and sum(counts) != pooled_other:
            continue
        ok = True
        for start, end, total in periods:
            if total is None:
                continue
            members = [
                c for c, e in zip(counts, shown["events"], strict=True) if start <= e["date"] <= end
            ]
            ok = ok and sum(members) == total
        if ok:
            for slot, value in enumerate(values):
                possible[slot].add(value)
    truth = [review.events[i].characteristics[0].groups[1].count for i in hidden]
    for slot, value in enumerate(truth):
        assert value in possible[slot]
        assert len(possible[slot]) >= 2, (rows, other_events, pooled_other, periods)


# ---------------------------------------------------------------------------
# Reports


@pytest.fixture
def example_result(example_register):
    from inclusion_audit.audit import run_audit
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference import census
    from inclusion_audit.reference.profiles import CensusReference

    reference = CensusReference(
        tuple(census.resolve_areas(["Lambeth"])), census.parse_age_range("16+")
    )
    return run_audit(read_table(example_register), reference)


@pytest.fixture
def example_review(tmp_path, example_result):
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        for i, day in enumerate([dt.date(2026, 1, 20), dt.date(2026, 4, 2), dt.date(2026, 5, 9)]):
            store.add(
                example_result, name=f"Riverside forum {i + 1}", date=day, check_duplicates=False
            )
        return build_review(store.events(), store_name="h.sqlite")


def structure(html: str) -> dict[str, object]:
    soup = BeautifulSoup(html, "html.parser")
    return {
        "lang": soup.html["lang"],
        "headings": [
            (h.name, h.get_text(" ", strip=True)) for h in soup.find_all(["h1", "h2", "h3"])
        ],
        "tables": [
            {
                "caption": t.caption.get_text(" ", strip=True),
                "columns": [th.get_text(" ", strip=True) for th in t.thead.find_all("th")],
                "rows": [tr.th.get_text(" ", strip=True) for tr in t.tbody.find_all("tr")],
            }
            for t in soup.find_all("table")
        ],
    }


def test_review_html_structure_matches_golden(example_review, update_golden) -> None:
    html = render_review(example_review, ["html"])["html"].decode()
    golden = GOLDEN / "example_review_structure.json"
    found = json.loads(json.dumps(structure(html)))
    if update_golden:
        golden.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    assert found == json.loads(golden.read_text())


def test_review_html_is_accessible(example_review) -> None:
    soup = BeautifulSoup(render_review(example_review, ["html"])["html"].decode(), "html.parser")
    levels = [int(h.name[1]) for h in soup.find_all(["h1", "h2", "h3", "h4"])]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))
    for table in soup.find_all("table"):
        assert table.caption is not None
        assert all(th.get("scope") in ("col", "row") for th in table.find_all("th"))
    charts = soup.select("section.trend figure.chart svg")
    assert len(charts) == len(example_review.pooled)
    for svg, characteristic in zip(charts, example_review.pooled, strict=True):
        assert svg["role"] == "img"
        title_id, desc_id = svg["aria-labelledby"].split()
        assert svg.find(id=title_id).get_text()
        description = svg.find(id=desc_id).get_text()
        drawn = characteristic.groups if len(characteristic.groups) <= 6 else []
        for group in drawn:
            assert group.category in description
        # The text alternative table follows each chart, one row per group.
        table = svg.find_parent("figure").find_next_sibling("table")
        assert len(table.tbody.find_all("tr")) == len(characteristic.groups)
    persistent = [tr.th.get_text() for tr in soup.select("table.persistence tbody tr")]
    assert "16-24 (age)" in persistent and "3 (imd decile)" in persistent


def test_review_markdown_and_pdf(tmp_path, example_review) -> None:
    outputs = render_review(example_review, ["md", "pdf", "json"])
    markdown = outputs["md"].decode()
    assert markdown.startswith("# Quarterly review: 2026-01-20 to 2026-05-09")
    assert "## Missed again and again" in markdown and "| 2026Q1 | 2026Q2 |" in markdown
    assert json.loads(outputs["json"])["n_events"] == 3
    pdf = tmp_path / "review.pdf"
    pdf.write_bytes(outputs["pdf"])
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for section in ("Summary", "Missed again and again", "All events pooled", "Trend by quarter"):
        assert section in text


def test_review_context_is_documented() -> None:
    doc = (REPO / "docs" / "review-schema.md").read_text()
    for field in ReviewContext.__dataclass_fields__.values():
        assert f"`{field.name}`" in doc, f"{field.name} is not documented"
        assert field.metadata.get("help")


# ---------------------------------------------------------------------------
# Command line


def invoke(runner, *args: object):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def history(runner, tmp_path, example_register) -> Path:
    """Two events: one stored by `audit --store`, one by `store add` of a saved result."""
    store = tmp_path / "history.sqlite"
    base = ["audit", example_register, "--area", "Lambeth", "-q"]
    done = invoke(
        runner,
        *base,
        "--eligible-age",
        "16+",
        "--event-date",
        "2026-07-14",
        "--store",
        store,
        "-o",
        tmp_path / "audit-16.json",
    )
    assert done.exit_code == 0, done.output
    saved = tmp_path / "audit-18.json"
    assert invoke(runner, *base, "--eligible-age", "18+", "-o", saved).exit_code == 0
    done = invoke(runner, "store", "add", saved, "--store", store, "--event-date", "2026-09-03")
    assert done.exit_code == 0, done.output
    return store


def test_review_command_writes_every_format(runner, tmp_path, history) -> None:
    out = tmp_path / "out"
    done = invoke(
        runner,
        "review",
        "--store",
        history,
        "--quarter",
        "2026Q3",
        "--format",
        "json",
        "--format",
        "html",
        "--format",
        "md",
        "-o",
        out,
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["review.html", "review.json", "review.md"]
    data = json.loads((out / "review.json").read_text())
    assert (data["start"], data["end"], data["n_events"]) == ("2026-07-01", "2026-09-30", 2)
    assert "Missed again and again:" in done.stderr
    to_stdout = invoke(runner, "review", "--store", history, "-q")
    assert json.loads(to_stdout.stdout)["n_participants"] == 480


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quarter", "2026Q3", "--to", "2026-09-30"], "not both"),
        (["--quarter", "2026Q9"], "2026Q3"),
        (["--quarter", "9999Q4"], "from 1900 to 2999"),
        (["--quarter", "0000Q1"], "from 1900 to 2999"),
        (["--from", "2026-10-01"], "no events"),
        (["--from", "2026-10-01", "--to", "2026-01-01"], "after it ends"),
        (["-o", "review.csv"], "json, html, md or pdf"),
        (["--format", "pdf"], "cannot go to the terminal"),
    ],
)
def test_review_command_refuses_and_writes_nothing(
    runner, tmp_path, history, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    done = invoke(runner, "review", "--store", history, *args)
    assert done.exit_code == 2
    assert message in done.stderr
    assert sorted(tmp_path.rglob("*")) == before


def test_review_of_a_missing_store_fails_cleanly(runner, tmp_path) -> None:
    done = invoke(runner, "review", "--store", tmp_path / "none.sqlite")
    assert done.exit_code == 2 and "does not exist" in done.stderr
    assert not (tmp_path / "none.sqlite").exists()
