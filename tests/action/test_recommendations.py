"""Recommendations a domain expert would expect, partners, and what worked.

Three scenarios from the issue, each audited through the real library against
Census 2021 with the event details read from the files in fixtures/events/.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from inclusion_audit.action.barriers import analyse_barriers
from inclusion_audit.action.conditions import area_shares
from inclusion_audit.action.event import EventDetails, load_event
from inclusion_audit.action.recommendations import (
    LOCAL_PARTNER,
    Partner,
    PartnersFileError,
    Recommendation,
    group_gap,
    load_partners,
    recommend,
    what_worked,
)
from inclusion_audit.errors import InputError
from inclusion_audit.reference import census
from inclusion_audit.report.disclosure import hidden_groups
from inclusion_audit.result import AuditResult, Status

from ..action.test_barriers import EW, audit_counts

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
BANGLADESHI = "Asian, Asian British or Asian Welsh: Bangladeshi"
CANNOT_WELL = EW + "Cannot speak English well"

TOWN_HALL_REGISTER = {
    "age": {"16-24": 50, "25-44": 90, "45-64": 110, "65+": 50},
    "sex": {"Female": 105, "Male": 195},
    "ethnic_group": {
        BANGLADESHI: 30,
        "White: English, Welsh, Scottish, Northern Irish or British": 135,
        "White: Other White": 45,
        "Black, Black British, Black Welsh, Caribbean or African: African": 15,
        "Asian, Asian British or Asian Welsh: Indian": 15,
        "Asian, Asian British or Asian Welsh: Chinese": 10,
        "White: Irish": 10,
        "Other ethnic group: Any other ethnic group": 10,
        "Black, Black British, Black Welsh, Caribbean or African: Caribbean": 10,
        "Other ethnic group: Arab": 5,
        "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups": 5,
        "Asian, Asian British or Asian Welsh: Other Asian": 10,
    },
    "english_proficiency": {
        "Main language is English (English or Welsh in Wales)": 270,
        EW + "Can speak English very well": 15,
        EW + "Can speak English well": 12,
        CANNOT_WELL: 3,
    },
}
SURVEY_REGISTER = {
    "age": {"16-24": 40, "25-34": 70, "35-44": 70, "45-54": 60, "55-64": 40, "65-74": 17, "75+": 3},
    "disability": {
        "Disabled under the Equality Act": 25,
        "Not disabled under the Equality Act": 275,
    },
}
ASSEMBLY_REGISTER = {
    "age": {"16-24": 3, "25-34": 20, "35-44": 20, "45-54": 20, "55-64": 20, "65-74": 10, "75+": 7},
    "sex": {"Female": 68, "Male": 32},
}


@pytest.fixture(scope="module")
def town_hall(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    path = tmp_path_factory.mktemp("th") / "register.csv"
    return audit_counts(path, TOWN_HALL_REGISTER, "Tower Hamlets")


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return audit_counts(tmp_path_factory.mktemp("sv") / "register.csv", SURVEY_REGISTER, "Cornwall")


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    path = tmp_path_factory.mktemp("ca") / "register.csv"
    return audit_counts(path, ASSEMBLY_REGISTER, "Lambeth")


def for_group(
    recommendations: list[Recommendation], characteristic: str, category: str
) -> list[str]:
    """The barriers of one group's recommendations, in priority order, without repeats."""
    barriers = [r.barrier for r in recommendations if (characteristic, category) in r.groups]
    return list(dict.fromkeys(barriers))


def assert_well_formed(result: AuditResult, recommendations: list[Recommendation]) -> None:
    assert [r.priority for r in recommendations] == list(range(1, len(recommendations) + 1))
    covered = {pair for r in recommendations for pair in (*r.groups, *r.withheld_groups)}
    for characteristic, group in result.groups_with_status(Status.UNDER):
        assert (characteristic.name, group.category) in covered, group.category
    for item in recommendations:
        assert item.action and item.source and item.evidence.split(": ", 1)[1], item
        assert "https://" in item.source or "http://" in item.source, item.source


# ---------------------------------------------------------------------------
# Scenario 1: a weekday-morning town-hall meeting without childcare in Tower Hamlets


def test_town_hall_meeting_gets_timing_childcare_and_language(town_hall: AuditResult) -> None:
    missed = {(c.name, g.category) for c, g in town_hall.groups_with_status(Status.UNDER)}
    assert {("age", "25-44"), ("sex", "Female"), ("ethnic_group", BANGLADESHI)} <= missed
    # English proficiency is published for ages 3+: its 3-15-year-olds could all be in the
    # group, so "under" does not hold at both bounds of the 16+ share (issue 12, item 2).
    [(_, english)] = [
        (c, g)
        for c, g in town_hall.groups_with_status(Status.POSSIBLE_UNDER)
        if (c.name, g.category) == ("english_proficiency", CANNOT_WELL)
    ]
    assert english.base_bounds is not None and english.base_bounds.held_at_both is False

    event = load_event(EVENTS / "town_hall.yaml")
    shares = area_shares(census.resolve_areas(["Tower Hamlets"]), census.parse_age_range("16+"))
    findings = analyse_barriers(town_hall, event, None, shares)
    recommendations = recommend(town_hall, findings, event=event, area_shares=shares)
    assert_well_formed(town_hall, recommendations)

    # The summary's top three: the three things an officer would fix first.
    assert {r.barrier for r in recommendations[:3]} == {
        "childcare",
        "timing_weekday_daytime",
        "language",
    }
    assert for_group(recommendations, "age", "25-44")[:2] in (
        ["childcare", "timing_weekday_daytime"],
        ["timing_weekday_daytime", "childcare"],
    )
    assert for_group(recommendations, "sex", "Female")[0] == "childcare"
    assert for_group(recommendations, "ethnic_group", BANGLADESHI)[0] == "language"
    assert for_group(recommendations, "english_proficiency", CANNOT_WELL)[0] == "language"

    timing = next(r for r in recommendations if r.barrier == "timing_weekday_daytime")
    assert timing.evidence == (
        "evening and weekend sessions: the event started at 10:00 on a Wednesday and people "
        "aged 25-44 were 55% of their census share (72 more people needed to reach 80% of it)"
    )
    language = next(r for r in recommendations if r.barrier == "language")
    assert "no interpreters or translated materials were offered" in language.evidence
    assert "6.2% of the area's residents cannot speak English well" in language.evidence
    # 32%, not 29%: the detailed groups are fitted to the 16+ population (issue 12).
    assert "Bangladeshi residents were 32% of their census share" in language.evidence
    # The venue was step-free with an accessible toilet: no venue-access action.
    assert not any(r.action.startswith("Use a step-free venue") for r in recommendations)


def test_small_groups_keep_their_recommendation_but_not_their_figures(
    town_hall: AuditResult,
) -> None:
    event = load_event(EVENTS / "town_hall.yaml")
    findings = analyse_barriers(town_hall, event)
    assert ("english_proficiency", CANNOT_WELL) in hidden_groups(town_hall, 5)
    shown = recommend(town_hall, findings, hidden=hidden_groups(town_hall, 5))
    few = [
        r
        for r in shown
        if ("english_proficiency", CANNOT_WELL) in r.groups
        and "people who cannot speak English well were" in r.evidence
    ]
    assert few and all("figures withheld to protect small counts" in r.evidence for r in few)
    for item in few:
        clause = item.evidence.split("people who cannot speak English well were")[1][:40]
        assert not re.search(r"\d+%", clause), item.evidence
    internal = recommend(town_hall, findings)
    assert [r.priority for r in internal] == [r.priority for r in shown]
    exact = next(r for r in internal if "people who cannot speak English well were 1" in r.evidence)
    assert "people who cannot speak English well were 19% of their census share" in exact.evidence


def test_recommendations_are_deterministic(town_hall: AuditResult) -> None:
    event = load_event(EVENTS / "town_hall.yaml")
    first = recommend(town_hall, analyse_barriers(town_hall, event))
    assert first == recommend(town_hall, analyse_barriers(town_hall, event))


# ---------------------------------------------------------------------------
# Scenario 2: an online-only survey that missed older and disabled people


def test_online_survey_gets_paper_and_phone_routes(survey: AuditResult) -> None:
    missed = {(c.name, g.category) for c, g in survey.groups_with_status(Status.UNDER)}
    assert {("age", "75+"), ("disability", "Disabled under the Equality Act")} <= missed
    event = load_event(EVENTS / "online_survey.toml")
    findings = analyse_barriers(survey, event)
    assert findings[0].barrier == "digital_exclusion"
    assert "the event was online only" in findings[0].evidence
    ids = {f.barrier for f in findings}
    assert {"physical_access", "cost_transport", "timing_weekday_daytime"}.isdisjoint(ids)

    recommendations = recommend(survey, findings, event=event)
    assert_well_formed(survey, recommendations)
    for group in (("age", "75+"), ("disability", "Disabled under the Equality Act")):
        assert for_group(recommendations, *group)[0] == "digital_exclusion"
    first = recommendations[0]
    assert first.barrier == "digital_exclusion"
    assert "paper, phone and in-person routes" in first.action
    older = for_group(recommendations, "age", "75+")
    assert "isolation_oldest" in older[:2]
    assert any("phone interviews" in r.action for r in recommendations if r.category == "75+")


# ---------------------------------------------------------------------------
# Scenario 3: a citizens' assembly with stipends that still missed young men


def test_assembly_with_stipends_gets_youth_outreach_not_another_stipend(
    assembly: AuditResult,
) -> None:
    missed = {(c.name, g.category) for c, g in assembly.groups_with_status(Status.UNDER)}
    assert {("age", "16-24"), ("sex", "Male")} <= missed
    event = load_event(EVENTS / "citizens_assembly.json")
    findings = analyse_barriers(assembly, event)
    recommendations = recommend(assembly, findings, event=event)
    assert_well_formed(assembly, recommendations)

    young = [r for r in recommendations if ("age", "16-24") in r.groups]
    men = [r for r in recommendations if ("sex", "Male") in r.groups]
    assert {"youth_disengagement", "self_selection"} <= {r.barrier for r in young[:3]}
    assert any("youth clubs" in r.action for r in young)
    # Recruited by civic lottery: booster invitations to the strata that answered less,
    # one entry for every group it serves, among the first three.
    booster = next(r for r in recommendations[:3] if r.barrier == "self_selection")
    assert "booster" in booster.action
    assert {("age", "16-24"), ("sex", "Male")} <= set(booster.groups)
    assert "civic lottery invitation" in booster.evidence
    # Men: a route that reaches them where they are, and the booster.
    assert {r.barrier for r in men[:2]} == {"shift_work", "self_selection"}
    # They were already paid, recruited by lottery and given childcare: nothing repeats it.
    for item in recommendations:
        assert "stipend" not in item.action.casefold(), item
        assert not item.action.startswith("Recruit by civic lottery"), item
        assert "crèche" not in item.action, item


# ---------------------------------------------------------------------------
# Fallback, partners and figures


def test_every_under_group_gets_a_fallback_when_nothing_else_applies(
    town_hall: AuditResult,
) -> None:
    recommendations = recommend(town_hall, [])
    assert_well_formed(town_hall, recommendations)
    # Groups with a route of their own get it (community organisations for a
    # language, informal settings for women); a group with none gets the fallbacks.
    assert for_group(recommendations, "age", "25-44") == ["distrust", "self_selection"]
    fallback = next(r for r in recommendations if ("age", "25-44") in r.groups)
    assert fallback.action.startswith("Reach people through trusted intermediaries")
    assert "no specific barrier stands out for this group" in fallback.evidence
    assert for_group(recommendations, "english_proficiency", CANNOT_WELL)[0] == "language"
    assert for_group(recommendations, "sex", "Female")[0] == "low_confidence"


def test_partners_add_work_with_recommendations(
    town_hall: AuditResult, assembly: AuditResult
) -> None:
    partners = load_partners(EVENTS / "partners.csv")
    event = load_event(EVENTS / "town_hall.yaml")
    recommendations = recommend(
        town_hall, analyse_barriers(town_hall, event), partners, event=event
    )
    assert_well_formed(town_hall, recommendations)
    bangla = [r for r in recommendations if r.barrier == LOCAL_PARTNER]
    # One entry for the partner, naming both groups it serves.
    assert len(bangla) == 1 and set(bangla[0].groups) == {
        ("ethnic_group", BANGLADESHI),  # a high-level group serves its detailed groups
        ("sex", "Female"),
    }
    assert bangla[0].action == "Work with Bangla Women's Network (info@banglawomen.example.org)"
    assert "local partner Bangla Women's Network: Bangla Women's Network works with" in (
        bangla[0].evidence
    )

    young = recommend(assembly, analyse_barriers(assembly, None), partners)
    work = [r for r in young if r.barrier == LOCAL_PARTNER]
    assert {(r.category, r.action) for r in work} == {
        ("16-24", "Work with Youth Voice Collective (https://youthvoice.example.org)"),
        ("Male", "Work with Lads' Football League"),
    }


def test_partner_matching_by_age_range_and_broad_group() -> None:
    partner = Partner("Elders", (("age", "65+"), ("ethnic_group_broad", "White")), None)
    assert partner.serves_group("age", "75+") == ("age", "65+")
    assert partner.serves_group("age", "55-64") is None
    assert partner.serves_group("ethnic_group", "White: Irish") == ("ethnic_group_broad", "White")
    assert partner.serves_group("ethnic_group", "Other ethnic group: Arab") is None


def test_gap_wording_for_missing_groups_and_unknown_ratios(assembly: AuditResult) -> None:
    characteristic = next(c for c in assembly.characteristics if c.name == "age")
    group = next(g for g in characteristic.groups if g.category == "16-24")
    nobody = dataclasses.replace(group, count=0)
    assert group_gap(assembly, characteristic, nobody).startswith("no people aged 16-24 took part")
    unknown = dataclasses.replace(group, ratio=None)
    assert (
        group_gap(assembly, characteristic, unknown) == "people aged 16-24 were under-represented"
    )


# ---------------------------------------------------------------------------
# What worked


def test_what_worked_names_groups_reached_well_and_what_helped(assembly: AuditResult) -> None:
    event = load_event(EVENTS / "citizens_assembly.json")
    sentences = what_worked(assembly, event)
    assert (
        "People aged 65-74 were reached well (1.7× their census share); the daytime start may "
        "have helped."
    ) in sentences
    women = next(s for s in sentences if s.startswith("Women were reached well"))
    assert "the childcare offered" in women and women.endswith("may have helped.")
    assert all("16-24" not in s and "Men " not in s for s in sentences)
    plain = what_worked(assembly, None)
    assert plain and not any("helped" in s for s in plain)


def test_what_worked_skips_groups_whose_figures_are_hidden(survey: AuditResult) -> None:
    sentences = what_worked(survey, EventDetails(format="online"))
    assert sentences and all("75+" not in s and "65-74" not in s for s in sentences)


# ---------------------------------------------------------------------------
# Partners file errors


def write(tmp_path: Path, text: str, name: str = "partners.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_partners_file_reads_exact_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Organisation,Groups served,Contact route,Notes\n"
        "Deaf Club,disability:disabled under the equality act,+44 20 7946 0001,private note\n"
        "\n",
    )
    assert load_partners(path) == [
        Partner(
            "Deaf Club", (("disability", "Disabled under the Equality Act"),), "+44 20 7946 0001"
        )
    ]


PARTNER_ERRORS = [
    ("name,contact\nA,https://a.org\n", "no 'serves' column"),
    ("group,serves\nA,sex:Female\n", "no 'name' column"),
    ("name,serves\n,sex:Female\n", "line 2, column 'name': '' is empty"),
    (
        "name,serves\nA,sex:Female\nA,sex:Male\n",
        "line 3, column 'name': 'A' is listed already on line 2",
    ),
    ("name,serves\nA,\n", "lists no groups"),
    ("name,serves\nA,young people\n", "'young people' is not characteristic:category"),
    ("name,serves\nA,colour:Blue\n", "unknown characteristic 'colour'"),
    ("name,serves\nA,sex:Femail\n", "Did you mean 'Female'"),
    ("name,serves\nA,age:young\n", "is not an age range"),
    ("name,serves,contact\nA,sex:Female,Jo Bloggs\n", "'Jo Bloggs' is not a web address"),
    ("name,serves,contact\nA,sex:Female,12345\n", "'12345' is not a web address"),
    ("name,serves\n", "lists no partners"),
    ("", "is empty"),
]


@pytest.mark.parametrize(("text", "words"), PARTNER_ERRORS)
def test_partners_file_errors_name_line_column_value_and_fix(
    tmp_path: Path, text: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PartnersFileError) as caught:
        load_partners(path)
    assert str(caught.value).startswith(f"partners file {path}")
    assert words in str(caught.value), str(caught.value)
    assert isinstance(caught.value, InputError)


def test_partners_file_missing_or_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(PartnersFileError, match="does not exist"):
        load_partners(tmp_path / "none.csv")
    path = tmp_path / "latin.csv"
    path.write_bytes("name,serves\nCaf\xe9,sex:Female\n".encode("latin-1"))
    with pytest.raises(PartnersFileError, match="not UTF-8"):
        load_partners(path)
