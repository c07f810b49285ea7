"""The attack test: from everything a shared output publishes, no hidden count can be narrowed.

For random registers (detailed and broad ethnic groups, banded ages with empty
bands, a yes/no question, unknown and unplaceable answers) and random reviews
of 2 to 8 events, a reader's knowledge is turned into an integer programme
(``tests/disclosure_attack.py``) and every hidden cell's feasible range is
computed. It must hold at least ``threshold - 1`` values: as many as "fewer
than 5" leaves for a group someone is known to be in (1 to 4).
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inclusion_audit.action.wording import describe_group
from inclusion_audit.audit import run_audit
from inclusion_audit.history.render import build_review_context
from inclusion_audit.history.review import build_review
from inclusion_audit.history.store import open_store
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.reference.sources import choose_reference
from inclusion_audit.report.context import build_context

from .disclosure_attack import audit_attack, review_attack

THRESHOLD = 5
MINIMUM_VALUES = THRESHOLD - 1

ETHNIC = [
    "White: English, Welsh, Scottish, Northern Irish or British",
    "White: Irish",
    "White: Gypsy or Irish Traveller",
    "White: Other White",
    "Mixed or Multiple ethnic groups: White and Asian",
    "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "Asian, Asian British or Asian Welsh: Indian",
    "Asian, Asian British or Asian Welsh: Pakistani",
    "Black, Black British, Black Welsh, Caribbean or African: African",
    "Other ethnic group: Arab",
]
BROAD_ONLY = ["Mixed race", "Asian", "Black"]
AGES = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
UNKNOWN = ["", "Prefer not to say"]


def reference():
    return choose_reference(["Leicester"], "16+")[0]


_REFERENCE = None


def leicester():
    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = reference()
    return _REFERENCE


def write_register(folder: Path, columns: dict[str, list[str]], name: str = "register.csv") -> Path:
    lengths = {len(v) for v in columns.values()}
    assert len(lengths) == 1
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        writer.writerows(zip(*columns.values(), strict=True))
    return path


def answers(counts: dict[str, int]) -> list[str]:
    return [answer for answer, n in counts.items() for _ in range(n)]


@st.composite
def registers(draw: st.DrawFn) -> dict[str, list[str]]:
    """A register of 10 to 70 people: ethnic group, banded age, sex and a yes/no question."""
    small = st.integers(0, 4)
    ethnic = {label: draw(small if i else st.integers(5, 40)) for i, label in enumerate(ETHNIC)}
    ethnic.update({label: draw(st.integers(0, 3)) for label in BROAD_ONLY})
    ethnic.update({"BAME": draw(st.integers(0, 2)), "": draw(st.integers(0, 3))})
    rows = sum(ethnic.values())
    chosen = draw(st.lists(st.sampled_from(AGES), min_size=2, max_size=7, unique=True))
    age = _spread(draw, chosen, rows, extra=UNKNOWN)
    sex = _spread(draw, ["Female", "Male", "Non-binary", ""], rows)
    disabled = _spread(draw, ["Yes", "No", "Prefer not to say"], rows)
    ethnic_list = answers(ethnic)
    order = draw(st.permutations(range(rows)))
    return {
        "Ethnic group": [ethnic_list[i] for i in order],
        "Age": age,
        "Sex": sex,
        "Do you consider yourself disabled?": disabled,
    }


def _spread(draw: st.DrawFn, choices: list[str], rows: int, extra: list[str] = ()) -> list[str]:
    pool = [*choices, *extra]
    weights = [draw(st.integers(0, 6)) for _ in pool]
    if not any(weights[: len(choices)]):
        weights[0] = 1
    picked = draw(st.lists(st.integers(0, 10**6), min_size=rows, max_size=rows))
    total = sum(weights)
    out = []
    for value in picked:
        point = value % total
        for answer, weight in zip(pool, weights, strict=True):
            if point < weight:
                out.append(answer)
                break
            point -= weight
    return out


def shared_audit(result: Any, threshold: int = THRESHOLD) -> tuple[dict[str, Any], list[str]]:
    """What a shared report publishes: its template context's result and sentences."""
    context = build_context(result, suppress_below=threshold)
    shown = context.result
    texts = [a["evidence"] for a in context.actions]
    texts += list(shown.get("what_worked") or [])
    texts += [" ".join(b.get("evidence") or []) for b in shown.get("barriers") or []]
    return shown, texts


def attack_audit(result: Any, threshold: int = THRESHOLD) -> dict[str, tuple[int, int, int]]:
    shown, texts = shared_audit(result, threshold)
    attack = audit_attack(shown, result.to_dict(), threshold, texts=texts, describe=describe_group)
    broken = attack.violations()
    assert not broken, broken  # the model of what is published fits the truth
    return attack.narrow(MINIMUM_VALUES, threshold)


def audit(columns: dict[str, list[str]], suppress_below: int = THRESHOLD, **options: Any) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        path = write_register(Path(folder), columns)
        return run_audit(read_table(path), leicester(), suppress_below=suppress_below, **options)


# ---------------------------------------------------------------------------
# The four leaks of the issue, one example each


def test_detailed_and_broad_tables_do_not_give_hidden_cells_away() -> None:
    ethnic = {
        ETHNIC[0]: 40,
        ETHNIC[1]: 6,
        ETHNIC[2]: 5,
        ETHNIC[3]: 8,
        "White: Roma": 0,
        ETHNIC[4]: 2,
        ETHNIC[5]: 7,
        "Mixed or Multiple ethnic groups: White and Black African": 6,
        "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups": 6,
        ETHNIC[6]: 12,
        ETHNIC[7]: 9,
        ETHNIC[8]: 7,
        "Mixed race": 3,
    }
    result = audit({"Ethnic group": answers(ethnic)})
    assert attack_audit(result) == {}


def test_age_bands_listed_only_when_chosen_do_not_pin_small_cells() -> None:
    ages = {"16-24": 1, "25-34": 1, "35-44": 1, "45-54": 20, "55-64": 15, "65-74": 10}
    result = audit({"Age": answers(ages)})
    assert attack_audit(result) == {}


def test_recommendation_words_do_not_give_a_hidden_count() -> None:
    # Audited for internal use (figures in the evidence), then shared.
    ages = {"16-24": 2, "25-34": 30, "35-44": 30, "45-54": 30, "55-64": 25, "65-74": 20, "75+": 12}
    result = audit({"Age": answers(ages)}, suppress_below=0)
    assert attack_audit(result) == {}


def test_unplaced_answers_do_not_count_one_person() -> None:
    sex = {"Female": 20, "Male": 18, "Non-binary": 1}
    result = audit({"Sex": answers(sex)})
    assert attack_audit(result) == {}


# ---------------------------------------------------------------------------
# Random registers


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_no_hidden_cell_of_a_random_audit_can_be_narrowed(columns: dict[str, list[str]]) -> None:
    result = audit(columns)
    assert attack_audit(result) == {}


# ---------------------------------------------------------------------------
# Reviews of 2 to 8 events, with the events' own reports


def stored_review(
    results: list[tuple[dt.date, Any]], threshold: int = THRESHOLD
) -> tuple[Any, Any]:
    """Store the audits, review them all, and return the review and its shared context."""
    with (
        tempfile.TemporaryDirectory() as folder,
        open_store(Path(folder) / "history.sqlite", create=True) as store,
    ):
        for number, (day, result) in enumerate(results, start=1):
            store.add(result, name=f"Event {number}", date=day, check_duplicates=False)
        events = store.events(None, None)
    review = build_review(events)
    return review, build_review_context(review, suppress_below=threshold)


def attack_review(results: list[tuple[dt.date, Any]], threshold: int = THRESHOLD) -> dict:
    review, context = stored_review(results, threshold)
    reports = {}
    by_name = {f"Event {number}": result for number, (_, result) in enumerate(results, start=1)}
    for event in review.events:
        result = by_name[event.name]
        shown, texts = shared_audit(result, threshold)
        reports[event.id] = (shown, result.to_dict(), texts)
    attack = review_attack(context.review, reports, threshold, describe=describe_group)
    broken = attack.violations()
    assert not broken, broken
    return attack.narrow(MINIMUM_VALUES, threshold)


@st.composite
def small_registers(draw: st.DrawFn) -> dict[str, list[str]]:
    """An event of 8 to 40 people: banded age (some bands empty) and a yes/no question."""
    chosen = draw(st.lists(st.sampled_from(AGES), min_size=2, max_size=7, unique=True))
    rows = draw(st.integers(8, 40))
    return {
        "Age": _spread(draw, chosen, rows, extra=UNKNOWN),
        "Do you consider yourself disabled?": _spread(draw, ["Yes", "No"], rows, UNKNOWN),
    }


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(small_registers(), min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_no_hidden_cell_of_a_random_review_can_be_narrowed(events, random) -> None:
    start = dt.date(2026, 1, 5)
    results = [
        (start + dt.timedelta(days=random.randrange(0, 240)), audit(columns)) for columns in events
    ]
    assert attack_review(results) == {}
