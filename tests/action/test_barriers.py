"""The barrier knowledge base and engine: every entry fires under its condition and not otherwise.

Audit results come from the real library (small registers audited against
Census 2021), never from hand-made dictionaries, so the tests see exactly the
labels, bands and statuses an audit produces.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from inclusion_audit.action.barriers import BarrierFinding, analyse_barriers
from inclusion_audit.action.conditions import area_shares
from inclusion_audit.action.event import EventDetails, Payment, Venue
from inclusion_audit.action.knowledge import (
    COMPILED_FILE,
    KNOWLEDGE_BASE_FILE,
    OTHER,
    AreaShare,
    KnowledgeBaseError,
    OverRepresented,
)
from inclusion_audit.action.knowledge_loader import compile_knowledge_base, load_knowledge_base
from inclusion_audit.action.reported import (
    BarrierColumn,
    count_reported_barriers,
    reported_barrier_answers,
    reported_barrier_columns,
)
from inclusion_audit.action.wording import describe_group
from inclusion_audit.audit import audit_register
from inclusion_audit.errors import ReferenceDataError
from inclusion_audit.ingest.readers import answer_counts, read_table
from inclusion_audit.reference import census
from inclusion_audit.reference.profiles import CensusReference
from inclusion_audit.result import AuditResult, Status
from inclusion_audit.vocab.folding import normalise

from ..conftest import register_rows

KB = load_knowledge_base()
WEDNESDAY = dt.date(2025, 3, 5)
FRIDAY = dt.date(2025, 3, 7)
SATURDAY = dt.date(2025, 3, 8)
EW = "Main language is not English (English or Welsh in Wales): "
UNEMPLOYED = (
    "Unemployed: Seeking work or waiting to start a job already obtained: "
    "Available to start working within 2 weeks"
)


def audit_counts(
    path: Path, counts: dict[str, dict[str, int]], area: str, ages: str = "16+"
) -> AuditResult:
    """Write a register with these answer counts and audit it against an area's Census."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(register_rows(counts))
    reference = CensusReference(tuple(census.resolve_areas([area])), census.parse_age_range(ages))
    return audit_register(read_table(path), reference)


# A register that misses some group linked to every barrier in the knowledge base:
# young and working-age adults, the oldest, women, disabled people, Muslim and
# Jewish residents, LGB residents, carers, people with little English, renters,
# deprived households, workers, the unemployed and minority ethnic groups.
WIDE = {
    "age": {
        "16-24": 30,
        "25-34": 80,
        "35-44": 80,
        "45-54": 480,
        "55-64": 460,
        "65-74": 50,
        "75+": 20,
    },
    "sex": {"Female": 400, "Male": 800},
    "disability": {
        "Disabled under the Equality Act": 60,
        "Not disabled under the Equality Act": 1140,
    },
    "religion": {
        "Muslim": 10,
        "Christian": 700,
        "No religion": 460,
        "Buddhist": 10,
        "Hindu": 10,
        "Jewish": 2,
        "Sikh": 4,
        "Other religion": 4,
    },
    "sexual_orientation": {
        "Straight or Heterosexual": 1180,
        "Gay or Lesbian": 10,
        "Bisexual": 6,
        "All other sexual orientations": 4,
    },
    "unpaid_care": {
        "Provides no unpaid care": 1180,
        "Provides 9 hours or less unpaid care a week": 10,
        "Provides 10 to 19 hours unpaid care a week": 4,
        "Provides 20 to 34 hours unpaid care a week": 2,
        "Provides 35 to 49 hours unpaid care a week": 2,
        "Provides 50 or more hours unpaid care a week": 2,
    },
    "english_proficiency": {
        "Main language is English (English or Welsh in Wales)": 1180,
        EW + "Can speak English very well": 10,
        EW + "Can speak English well": 6,
        EW + "Cannot speak English well": 4,
    },
    "tenure": {
        "Owned: Owns outright": 600,
        "Owned: Owns with a mortgage or loan": 500,
        "Shared ownership: Shared ownership": 20,
        "Social rented: Rents from council or Local Authority": 20,
        "Social rented: Other social rented": 20,
        "Private rented: Private landlord or letting agency": 30,
        "Private rented: Other private rented": 6,
        "Lives rent free": 4,
    },
    "economic_activity": {
        "Economically active (excluding full-time students): In employment": 300,
        f"Economically active (excluding full-time students): {UNEMPLOYED}": 4,
        "Economically active and a full-time student: In employment": 10,
        f"Economically active and a full-time student: {UNEMPLOYED}": 2,
        "Economically inactive: Retired": 800,
        "Economically inactive: Student": 40,
        "Economically inactive: Looking after home or family": 10,
        "Economically inactive: Long-term sick or disabled": 10,
        "Economically inactive: Other": 24,
    },
    "household_deprivation": {
        "Household is not deprived in any dimension": 1000,
        "Household is deprived in one dimension": 180,
        "Household is deprived in two dimensions": 16,
        "Household is deprived in three dimensions": 4,
        "Household is deprived in four dimensions": 0,
    },
    "ethnic_group": {
        "White": 1100,
        "Asian, Asian British or Asian Welsh": 30,
        "Black, Black British, Black Welsh, Caribbean or African": 40,
        "Mixed or Multiple ethnic groups": 20,
        "Other ethnic group": 10,
    },
}


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return audit_counts(tmp_path_factory.mktemp("wide") / "wide.csv", WIDE, "Lambeth")


@pytest.fixture(scope="module")
def tower_hamlets_shares() -> dict[str, dict[str, float]]:
    return area_shares(census.resolve_areas(["Tower Hamlets"]), census.parse_age_range("16+"))


def finding(
    result: AuditResult,
    barrier: str,
    event: EventDetails | None = None,
    shares: dict[str, dict[str, float]] | None = None,
    reported: dict[str, int] | None = None,
) -> BarrierFinding | None:
    found = analyse_barriers(result, event, reported, shares)
    return next((f for f in found if f.barrier == barrier), None)


def says(found: BarrierFinding | None, fragment: str) -> bool:
    return found is not None and any(fragment in item for item in found.evidence)


# ---------------------------------------------------------------------------
# The knowledge base itself


def test_knowledge_base_has_every_row_of_the_domain_table() -> None:
    assert [b.row for b in KB.barriers] == list(range(1, 23))
    assert len({b.id for b in KB.barriers}) == 22
    for barrier in KB.barriers:
        assert barrier.sources and barrier.evidence_sources and barrier.actions, barrier.id
        assert barrier.likely, f"{barrier.id} has no event condition to test"
        for action in barrier.actions:
            assert action.text.endswith("."), (barrier.id, action.id)
            assert any(KB.sources[s].url for s in action.sources), (barrier.id, action.id)


def test_every_source_has_an_address_or_says_why_not() -> None:
    for source in KB.sources.values():
        assert source.url or source.note, source.id
    used = {s for b in KB.barriers for s in (*b.sources, *b.evidence_sources)}
    used |= {s for b in KB.barriers for a in b.actions for s in a.sources}
    assert used == set(KB.sources), "every source is used and every used source is listed"


def _manifest_labels() -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {}
    for name, spec in census.reference_manifest()["characteristics"].items():
        found = set(spec.get("categories", []))
        for variant in spec.get("variants", []):
            found |= set(variant["categories"])
        labels[name] = {normalise(label) for label in found}
    return labels


def test_every_group_uses_exact_census_labels() -> None:
    """A typo in a label would make a barrier silently never match its group."""
    labels = _manifest_labels()
    specs = []
    for barrier in KB.barriers:
        specs += list(barrier.groups)
        for clause in (*barrier.likely, *barrier.mitigations):
            specs += list(clause.groups)
            stack: list[Any] = [clause.when]
            while stack:
                node = stack.pop()
                stack += list(getattr(node, "parts", ())) + (
                    [node.part] if hasattr(node, "part") else []
                )
                if isinstance(node, OverRepresented):
                    specs += list(node.groups)
                if isinstance(node, AreaShare):
                    assert node.categories <= labels[node.characteristic]
    for spec in specs:
        if spec.characteristic is None:
            continue
        assert spec.characteristic in labels, spec
        if spec.ages is None:
            assert spec.categories <= labels[spec.characteristic], (
                spec.characteristic,
                spec.categories - labels[spec.characteristic],
            )


def _mutated(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = copy.deepcopy(yaml.safe_load(KB.path.read_text(encoding="utf-8")))
    change(data)
    path = tmp_path / "barriers.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _barrier(data: dict[str, Any], barrier_id: str) -> dict[str, Any]:
    return next(b for b in data["barriers"] if b["id"] == barrier_id)


MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("missing barriers", lambda d: d.pop("barriers"), "missing barriers"),
    ("unknown key", lambda d: _barrier(d, "childcare").update(colour="red"), "unknown key"),
    (
        "unknown field",
        lambda d: _barrier(d, "childcare")["likely"][0]["when"].update(field="chidcare"),
        "'chidcare' is not an event field",
    ),
    (
        "operator for another kind",
        lambda d: _barrier(d, "childcare")["likely"][0].update(
            when={"field": "childcare", "between": ["09:00", "10:00"]}
        ),
        "does not apply to childcare",
    ),
    (
        "bad time",
        lambda d: _barrier(d, "timing_weekday_daytime")["likely"][0]["when"].update(
            between=["9am", "17:00"]
        ),
        "quoted time",
    ),
    (
        "enum typo",
        lambda d: _barrier(d, "digital_exclusion")["likely"][0].update(
            when={"field": "format", "is": "onlne"}
        ),
        "values are in_person",
    ),
    (
        "unknown source",
        lambda d: _barrier(d, "childcare")["actions"][0].update(sources=["nowhere"]),
        "source 'nowhere' is not in `sources`",
    ),
    (
        "duplicate id",
        lambda d: _barrier(d, "childcare").update(id="unpaid_care"),
        "unique",
    ),
    (
        "bad placeholder",
        lambda d: _barrier(d, "childcare")["likely"][0].update(says="at {startime}"),
        "placeholder {startime}",
    ),
    (
        "weight out of range",
        lambda d: _barrier(d, "childcare")["groups"][0].update(weight=2),
        "at most 1",
    ),
    (
        "two kinds of group",
        lambda d: _barrier(d, "childcare")["groups"][0].update(category="Female"),
        "exactly one of",
    ),
    (
        "answer under two ids",
        lambda d: _barrier(d, "language")["reported_as"].append("Childcare"),
        "listed under both",
    ),
    (
        "alias to nowhere",
        lambda d: d["reported_aliases"]["timing"].update(barriers=["teatime"]),
        "unknown barrier id",
    ),
    (
        "fallback to nowhere",
        lambda d: d["fallback"].append({"barrier": "childcare", "action": "magic"}),
        "no action 'magic'",
    ),
    (
        "unknown condition key",
        lambda d: _barrier(d, "childcare")["likely"][0]["when"].update(equals=False),
        "unknown condition key",
    ),
]


@pytest.mark.parametrize(("name", "change", "words"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_malformed_knowledge_base_is_a_named_error(
    tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None], words: str
) -> None:
    with pytest.raises(KnowledgeBaseError, match=r".*") as caught:
        load_knowledge_base(_mutated(tmp_path, change))
    assert words in str(caught.value), str(caught.value)
    assert isinstance(caught.value, ReferenceDataError)


def test_a_missing_or_unparseable_knowledge_base_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="missing"):
        load_knowledge_base(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("barriers: [\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="not valid YAML"):
        load_knowledge_base(bad)


def test_a_rebuilt_census_directory_still_gets_the_curated_knowledge_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    (rebuilt / "manifest.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv(census.ENV_VAR, str(rebuilt))
    assert load_knowledge_base().path == KB.path
    _mutated(rebuilt, lambda d: d["barriers"][0].update(title="Working hours"))
    assert load_knowledge_base().barriers[0].title == "Working hours"


def test_the_shipped_file_round_trips_through_the_checker(tmp_path: Path) -> None:
    reloaded = load_knowledge_base(_mutated(tmp_path, lambda d: None))
    assert [b.id for b in reloaded.barriers] == [b.id for b in KB.barriers]


def test_the_shipped_barriers_json_is_compiled_from_the_yaml(tmp_path: Path) -> None:
    built = compile_knowledge_base(KB.path, tmp_path).read_bytes()
    assert built == (KB.path.parent / COMPILED_FILE).read_bytes(), (
        f"reference_data/{COMPILED_FILE} is out of date: run `make knowledge-data`"
    )


def test_the_compiled_knowledge_base_is_the_yaml_one(tmp_path: Path) -> None:
    alone = tmp_path / KNOWLEDGE_BASE_FILE
    shutil.copyfile(KB.path, alone)
    assert dataclasses.replace(load_knowledge_base(alone), path=KB.path) == KB


def test_barriers_json_is_used_only_beside_the_yaml_it_was_compiled_from(tmp_path: Path) -> None:
    compiled = json.loads((KB.path.parent / COMPILED_FILE).read_text(encoding="utf-8"))
    compiled["data"]["barriers"][0]["title"] = "From the JSON"
    (tmp_path / COMPILED_FILE).write_text(json.dumps(compiled), encoding="utf-8")
    shutil.copyfile(KB.path, tmp_path / KNOWLEDGE_BASE_FILE)
    assert load_knowledge_base(tmp_path / KNOWLEDGE_BASE_FILE).barriers[0].title == "From the JSON"
    edited = _mutated(tmp_path, lambda d: d["barriers"][0].update(title="Edited in the YAML"))
    assert load_knowledge_base(edited).barriers[0].title == "Edited in the YAML"


def test_compiling_refuses_values_json_would_change(tmp_path: Path) -> None:
    path = _mutated(
        tmp_path, lambda d: _barrier(d, "childcare")["likely"][0].update(weight=float("nan"))
    )
    with pytest.raises(KnowledgeBaseError, match="JSON cannot carry"):
        compile_knowledge_base(path, tmp_path)


# ---------------------------------------------------------------------------
# Rules: each barrier fires under its condition and not otherwise


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


IN_PERSON = {"format": "in_person"}
RULES: list[tuple[str, EventDetails, EventDetails, str]] = [
    (
        "timing_weekday_daytime",
        EventDetails(date=WEDNESDAY, start_time=t("10:00")),
        EventDetails(date=WEDNESDAY, start_time=t("19:00")),
        "the event started at 10:00 on a Wednesday",
    ),
    (
        "timing_evening_dark",
        EventDetails(date=dt.date(2025, 1, 15), start_time=t("18:30")),
        EventDetails(date=dt.date(2025, 6, 18), start_time=t("18:30")),
        "started at 18:30 in January, after dark",
    ),
    (
        "timing_evening_dark",
        EventDetails(date=WEDNESDAY, start_time=t("08:30")),
        EventDetails(date=WEDNESDAY, start_time=t("10:30")),
        "the event started early, at 08:30",
    ),
    (
        "shift_work",
        EventDetails(online_option=False, paper_option=False, event_type="workshop"),
        EventDetails(online_option=True, paper_option=False, event_type="workshop"),
        "there was one fixed session with no online, paper or drop-in route",
    ),
    (
        "childcare",
        EventDetails(childcare=False),
        EventDetails(childcare=True),
        "no childcare was offered",
    ),
    (
        "unpaid_care",
        EventDetails(carers_welcome=False),
        EventDetails(carers_welcome=True),
        "carers could not bring the person they care for",
    ),
    (
        "unpaid_care",
        EventDetails(start_time=t("10:00"), end_time=t("14:30")),
        EventDetails(start_time=t("10:00"), end_time=t("11:30")),
        "the event lasted 4 hours 30 minutes",
    ),
    (
        "physical_access",
        EventDetails(format="in_person", venue=Venue(step_free=False)),
        EventDetails(format="in_person", venue=Venue(step_free=True)),
        "the venue was not step-free",
    ),
    (
        "physical_access",
        EventDetails(venue=Venue(hearing_loop=False)),
        EventDetails(venue=Venue(hearing_loop=True)),
        "no hearing loop",
    ),
    ("deaf_bsl", EventDetails(bsl=False), EventDetails(bsl=True), "no BSL interpretation"),
    (
        "information_formats",
        EventDetails(easy_read=False),
        EventDetails(easy_read=True),
        "no Easy Read or other accessible formats",
    ),
    (
        "literacy",
        EventDetails(format="postal"),
        EventDetails(format="in_person"),
        "taking part meant reading and writing (post)",
    ),
    (
        "digital_exclusion",
        EventDetails(format="online"),
        EventDetails(event_type="workshop"),
        "the event was online only",
    ),
    (
        "cost_transport",
        EventDetails(travel_paid=False),
        EventDetails(travel_paid=True),
        "travel costs were not paid",
    ),
    (
        "cost_transport",
        EventDetails(venue=Venue(public_transport=False)),
        EventDetails(venue=Venue(public_transport=True)),
        "not on a public transport route",
    ),
    (
        "lost_income",
        EventDetails(payment=Payment("none")),
        EventDetails(payment=Payment("stipend", 75.0)),
        "not paid for their time",
    ),
    (
        "lost_income",
        EventDetails(payment=Payment("voucher", 20.0)),
        EventDetails(payment=Payment("voucher", 60.0)),
        "the payment of £20 a day was below Involve's £50 minimum",
    ),
    (
        "benefit_rules",
        EventDetails(payment=Payment("stipend", 75.0)),
        EventDetails(payment=Payment("voucher", 75.0)),
        "can affect means-tested benefits",
    ),
    (
        "religious_timing",
        EventDetails(date=FRIDAY, start_time=t("12:30")),
        EventDetails(date=WEDNESDAY, start_time=t("12:30")),
        "Friday midday prayers",
    ),
    (
        "religious_timing",
        EventDetails(date=FRIDAY, start_time=t("10:00"), end_time=t("13:00")),
        EventDetails(date=FRIDAY, start_time=t("10:00"), end_time=t("11:30")),
        "Friday midday prayers",
    ),
    (
        "religious_timing",
        EventDetails(date=SATURDAY, start_time=t("10:00")),
        EventDetails(date=dt.date(2025, 3, 9), start_time=t("10:00")),
        "Jewish Sabbath",
    ),
    (
        "distrust",
        EventDetails(recruitment="open_invitation"),
        EventDetails(recruitment="targeted"),
        "invited openly rather than through organisations they trust",
    ),
    (
        "consultation_fatigue",
        EventDetails(event_type="consultation"),
        EventDetails(event_type="workshop"),
        "another consultation",
    ),
    (
        "low_confidence",
        EventDetails(event_type="neighbourhood_forum", format="in_person"),
        EventDetails(event_type="workshop", format="in_person"),
        "formal public meeting (neighbourhood forum)",
    ),
    (
        "youth_disengagement",
        EventDetails(recruitment="open_invitation"),
        EventDetails(recruitment="civic_lottery"),
        "rarely reaches young people",
    ),
    (
        "isolation_oldest",
        EventDetails(event_type="online_survey"),
        EventDetails(format="postal"),
        "the event was online only",
    ),
    (
        "safety_outing",
        EventDetails(format="in_person", online_option=False, paper_option=False),
        EventDetails(format="in_person", online_option=True, paper_option=False),
        "no anonymous route",
    ),
    (
        "self_selection",
        EventDetails(recruitment="open_invitation"),
        EventDetails(recruitment="targeted"),
        "in response to an open invitation",
    ),
    (
        "self_selection",
        EventDetails(recruitment="civic_lottery"),
        EventDetails(recruitment="targeted"),
        "chose whether to answer the civic lottery invitation",
    ),
]


def test_every_barrier_has_a_rule_test() -> None:
    assert {rule[0] for rule in RULES} | {"language"} == {b.id for b in KB.barriers}


@pytest.mark.parametrize(
    ("barrier", "fires", "quiet", "fragment"), RULES, ids=[f"{r[0]}: {r[3]}" for r in RULES]
)
def test_barrier_fires_under_its_condition_and_not_otherwise(
    wide: AuditResult, barrier: str, fires: EventDetails, quiet: EventDetails, fragment: str
) -> None:
    fired = finding(wide, barrier, fires)
    calm = finding(wide, barrier, quiet)
    assert says(fired, fragment), fired
    assert not says(calm, fragment), calm
    assert fired is not None and fired.strength > (calm.strength if calm else 0.0)


def test_language_fires_where_many_cannot_speak_english_and_nothing_was_offered(
    wide: AuditResult, tower_hamlets_shares: dict[str, dict[str, float]]
) -> None:
    nothing = EventDetails(interpreters=(), translated_materials=())
    fired = finding(wide, "language", nothing, tower_hamlets_shares)
    assert says(fired, "no interpreters or translated materials were offered")
    assert says(fired, "6.2% of the area's residents cannot speak English well or at all")
    offered = EventDetails(interpreters=("Bengali",), translated_materials=())
    calm = finding(wide, "language", offered, tower_hamlets_shares)
    assert not says(calm, "no interpreters") and says(calm, "interpreters were offered (Bengali)")
    south_hams = area_shares(census.resolve_areas(["South Hams"]))
    rural = finding(wide, "language", nothing, south_hams)
    assert not says(rural, "no interpreters") and not says(rural, "of the area's residents")
    unknown_area = finding(wide, "language", nothing, None)
    assert says(unknown_area, "how many of the area's residents cannot speak English well")
    assert fired is not None and calm is not None and rural is not None
    assert fired.strength > max(calm.strength, rural.strength)


def test_unknown_details_are_said_to_be_not_known_never_taken_as_no(wide: AuditResult) -> None:
    found = analyse_barriers(wide)
    assert {f.barrier for f in found} == {b.id for b in KB.barriers}
    for item in found:
        assert any(e.endswith("not known") for e in item.evidence), item
        assert not any("less likely" in e for e in item.evidence), item
    childcare = next(f for f in found if f.barrier == "childcare")
    assert "whether childcare was offered is not known" in childcare.evidence
    said_no = finding(wide, "childcare", EventDetails(childcare=False))
    assert said_no is not None and childcare.strength < said_no.strength


def test_measures_taken_make_a_barrier_less_likely_and_drop_their_action(wide: AuditResult) -> None:
    offered = finding(wide, "childcare", EventDetails(childcare=True))
    assert offered is not None and says(
        offered, "childcare was offered, which makes this less likely"
    )
    assert "creche" not in offered.actions and "family_friendly" in offered.actions
    paid = finding(wide, "lost_income", EventDetails(payment=Payment("stipend", 75.0)))
    assert paid is not None and "stipend" not in paid.actions
    assert says(paid, "paid a stipend of £75 a day")


def test_barriers_that_cannot_arise_are_left_out(wide: AuditResult) -> None:
    online = EventDetails(format="online", event_type="online_survey")
    ids = {f.barrier for f in analyse_barriers(wide, online)}
    assert {"physical_access", "cost_transport", "timing_weekday_daytime"}.isdisjoint(ids)
    in_person = {f.barrier for f in analyse_barriers(wide, EventDetails(format="in_person"))}
    assert "digital_exclusion" not in in_person
    assert "benefit_rules" not in {
        f.barrier for f in analyse_barriers(wide, EventDetails(payment=Payment("none")))
    }


def test_findings_are_ranked_by_strength_and_name_their_groups(wide: AuditResult) -> None:
    found = analyse_barriers(wide, EventDetails(childcare=False, date=WEDNESDAY))
    strengths = [f.strength for f in found]
    assert strengths == sorted(strengths, reverse=True)
    childcare = next(f for f in found if f.barrier == "childcare")
    assert ("sex", "Female") in childcare.groups and ("age", "25-34") in childcare.groups
    assert ("age", "45-54") not in childcare.groups  # over-represented, not missed
    assert "https://involve.org.uk" in childcare.source
    assert childcare.evidence[-1].endswith(
        "(Involve citizens' assembly standard; citizensparliament.uk)"
    )
    assert childcare.why == ("no childcare was offered",)


def test_age_groups_match_by_range_not_label(tmp_path: Path) -> None:
    counts = {"age": {"18-29": 20, "30-49": 60, "50-69": 190, "70+": 10}}
    result = audit_counts(tmp_path / "r.csv", counts, "Lambeth", "18+")
    missed = {g.category for c, g in result.groups_with_status(Status.UNDER)}
    assert {"18-29", "70+"} <= missed
    found = {f.barrier: f.groups for f in analyse_barriers(result, EventDetails(format="online"))}
    assert ("age", "70+") in found["digital_exclusion"]  # 70+ within 70 and over
    assert ("age", "18-29") in found["youth_disengagement"]  # 18-24 is over half of 18-29
    assert ("age", "30-49") in found["timing_weekday_daytime"]


def test_self_selection_sees_the_usual_suspects_over_represented(wide: AuditResult) -> None:
    item = finding(wide, "self_selection", EventDetails(recruitment="open_invitation"))
    assert says(item, "were over-represented, the usual pattern of self-selection")
    assert item is not None and ("sex", "Male") not in item.groups  # Male was over


# ---------------------------------------------------------------------------
# What participants reported


def test_reported_answers_in_common_formats() -> None:
    counts = reported_barrier_answers(
        [
            ("Childcare;The time of day;", 5),  # Microsoft Forms, trailing ';'
            ("Getting there, I didn't know about it", 3),  # Google Forms
            ("I don’t use the internet", 2),  # curly apostrophe
            ("Childcare;Child care", 1),  # one participant, one count
            ("Caring responsibilities", 2),
            ("Language;Venue access", 1),
            ("The bus was on fire", 4),  # not curated: counted, not guessed
            ("None", 10),
            ("Prefer not to say", 3),
            (None, 40),
        ]
    )
    assert counts == {
        "childcare": 6,
        "timing": 5,
        "cost_transport": 3,
        "awareness": 3,
        "digital_exclusion": 2,
        "caring": 2,
        "language": 1,
        "physical_access": 1,
        OTHER: 4,
    }


def test_every_reported_id_is_known_to_the_engine(wide: AuditResult) -> None:
    everything = dict.fromkeys(KB.controlled_ids, 1)
    assert analyse_barriers(wide, reported=everything)
    with pytest.raises(ValueError, match="not in the knowledge base"):
        analyse_barriers(wide, reported={"haunted_venue": 3})


def test_reports_add_evidence_and_strength(wide: AuditResult) -> None:
    base = finding(wide, "childcare")
    reported = finding(wide, "childcare", reported={"childcare": 120})
    assert base is not None and reported is not None
    assert "120 participants named childcare among their barriers" in reported.evidence
    assert reported.strength == pytest.approx(base.strength + 3.0)
    assert reported.reported == 120
    assert reported.why == ("120 participants named childcare among their barriers",)
    caring = finding(wide, "unpaid_care", reported={"caring": 12})
    assert says(caring, "12 participants named caring responsibilities among their barriers")


def test_small_report_counts_are_hidden_in_the_text(wide: AuditResult) -> None:
    hidden = finding(wide, "childcare", reported={"childcare": 3})
    assert hidden is not None and hidden.reported == 3
    assert "fewer than 5 participants named childcare among their barriers" in hidden.evidence
    shown = analyse_barriers(wide, reported={"childcare": 3}, suppress_below=0)
    childcare = next(f for f in shown if f.barrier == "childcare")
    assert "3 participants named childcare among their barriers" in childcare.evidence


def test_a_reported_barrier_with_no_missed_group_is_still_listed(tmp_path: Path) -> None:
    result = audit_counts(tmp_path / "r.csv", {"sex": {"Female": 50, "Male": 50}}, "Lambeth")
    assert not result.groups_with_status(Status.UNDER, Status.POSSIBLE_UNDER)
    found = analyse_barriers(result, reported={"religious_timing": 9})
    assert [f.barrier for f in found] == ["religious_timing"]
    assert found[0].groups == ()


def test_barrier_columns_in_both_layouts() -> None:
    headers = [
        "ID",
        "Name",
        "What nearly stopped you taking part? (Select all that apply)",
        "Do you have any access needs?",
        "Barriers: Childcare",
        "What nearly stopped you taking part? [Getting there]",
        "Access needs - Step-free access",
        "Barriers: None of these",
        "Barriers: Haunted venue",
        "Barriers: Other (please specify)",
        "Please tell us about any access needs",
        "What is your ethnic group?",
    ]
    found = reported_barrier_columns(headers)
    assert found == [
        BarrierColumn("What nearly stopped you taking part? (Select all that apply)"),
        BarrierColumn("Do you have any access needs?"),
        BarrierColumn("Barriers: Childcare", "Childcare", "childcare"),
        BarrierColumn(
            "What nearly stopped you taking part? [Getting there]",
            "Getting there",
            "cost_transport",
        ),
        BarrierColumn("Access needs - Step-free access", "Step-free access", "physical_access"),
        BarrierColumn("Barriers: None of these", "None of these", None),
        BarrierColumn("Barriers: Haunted venue", "Haunted venue", OTHER),
    ]


def test_counting_reported_barriers_from_a_register(write_csv: Callable[..., Path]) -> None:
    """The wiring the audit command uses: readers.answer_counts, then count_reported_barriers."""
    rows = [
        [
            "Name",
            "What nearly stopped you taking part?",
            "Barriers: Childcare",
            "Access needs [Step-free access]",
        ]
    ]
    cells = [
        ("Childcare;The time of day;", "Yes", "TRUE"),
        ("Childcare;", "Yes", "FALSE"),
        ("The time of day;", "", "FALSE"),
        ("", "1", "✓"),
        ("Something else;", "No", ""),
    ]
    rows += [[f"Person {i}", *row] for i, row in enumerate(cells)]
    table = read_table(write_csv("register.csv", rows))
    columns = reported_barrier_columns(table.columns)
    assert [c.column for c in columns] == rows[0][1:]
    counts, _ = answer_counts(table, [c.column for c in columns])
    # The multi-select column says 2 for childcare, the tick column 3: columns cannot
    # be linked person by person, so the larger (a lower bound) is kept.
    assert count_reported_barriers(columns, counts) == {
        "childcare": 3,
        "timing": 2,
        OTHER: 1,
        "physical_access": 2,
    }


def test_area_shares_come_from_the_census_and_say_nothing_where_missing() -> None:
    shares = area_shares(census.resolve_areas(["Tower Hamlets"]))
    english = shares["english_proficiency"]
    assert sum(english.values()) == pytest.approx(1.0)
    assert english[EW + "Cannot speak English well"] > 0.05
    assert area_shares(census.resolve_areas(["Belfast"])) == {}  # no proficiency table in NI


def test_groups_in_plain_english() -> None:
    assert describe_group("age", "Under 18") == "people aged under 18"
    assert describe_group("sex", "Male") == "men"
    assert describe_group("disability", "Disabled under the Equality Act") == "disabled people"
    assert describe_group("english_proficiency", EW + "Cannot speak English well") == (
        "people who cannot speak English well"
    )
    assert describe_group("ethnic_group_broad", "Other ethnic group") == (
        "residents of other ethnic groups"
    )
    assert describe_group("religion", "Muslim") == "Muslim residents"
    assert describe_group("sexual_orientation", "Gay or Lesbian") == "gay or lesbian residents"
    assert describe_group("gender_identity", "Trans woman") == "trans women"
    assert describe_group("unpaid_care", "Provides 50 or more hours unpaid care a week") == (
        "people who provide 50 or more hours unpaid care a week"
    )
