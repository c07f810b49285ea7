"""Every nation's forms, every answer the tool can understand, no column dropped in silence.

The registers here are synthetic: invented answers, written the way each nation's
forms word their options (NISRA's 2021 questionnaire for Northern Ireland, the ONS
Welsh-language questionnaire and Welsh Government bilingual forms for Wales).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from inclusion_audit.audit import _broad_answers_guard
from inclusion_audit.cli import cli
from inclusion_audit.config import AuditConfig
from inclusion_audit.reference import census
from inclusion_audit.result import Status
from inclusion_audit.vocab.classifications import classification_for, hierarchy, place_answer
from inclusion_audit.vocab.columns import guess_column

from .conftest import register_rows


def audit(*args: object) -> tuple[int, dict, str]:
    """Run ``audit … -q`` and return the exit code, the JSON result and the output."""
    result = CliRunner().invoke(cli, ["audit", *map(str, args), "-q"], catch_exceptions=False)
    data = json.loads(result.stdout) if result.exit_code in (0, 1) else {}
    return result.exit_code, data, result.output


def characteristic(data: dict, name: str) -> dict:
    return next(c for c in data["characteristics"] if c["name"] == name)


def counts(data: dict, name: str) -> dict[str, int]:
    return {g["category"]: g["count"] for g in characteristic(data, name)["groups"]}


# ---------------------------------------------------------------------------
# Northern Ireland: NISRA's own classification


NISRA_ETHNIC = {
    "White": 6,
    "White - Irish Traveller": 2,
    "Traveller": 1,
    "Gypsy or Irish Traveller": 1,
    "White: Irish Traveller": 1,
    "Irish Traveller": 1,
    "White - Roma": 1,
    "Roma": 1,
    "Mixed ethnic group": 2,
    "Other ethnic group": 1,
    "Black African": 2,
    "Filipino": 1,
}


def test_northern_ireland_places_travellers_and_roma_in_their_own_groups(write_csv) -> None:
    total = sum(NISRA_ETHNIC.values())
    register = write_csv(
        "ni.csv",
        register_rows(
            {
                "What is your ethnic group?": NISRA_ETHNIC,
                "Sex": {"Female": total // 2, "Male": total - total // 2},
            }
        ),
    )
    code, data, output = audit(register, "--area", "Belfast")
    assert code == 0, output
    found = counts(data, "ethnic_group")
    assert found["Irish Traveller"] == 6
    assert found["Roma"] == 2
    assert found["White"] == 6
    assert found["Mixed"] == 2
    assert found["Other ethnicities"] == 1
    assert found["Black African"] == 2
    assert found["Filipino"] == 1
    assert characteristic(data, "ethnic_group")["n_unknown"] == 0


def test_england_and_wales_place_the_same_answers_under_white() -> None:
    categories = census.census_categories(census.resolve_areas(["Lambeth"]), "ethnic_group")
    for answer in ("Irish Traveller", "Traveller", "White - Irish Traveller"):
        placed = place_answer("ethnic_group", answer, categories)
        assert placed.category == "White: Gypsy or Irish Traveller", answer
    assert place_answer("ethnic_group", "White - Roma", categories).category == "White: Roma"


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("Roman Catholic", "Catholic"),
        ("Presbyterian", "Presbyterian Church in Ireland"),
        ("Church of Ireland", "Church of Ireland"),
        ("Methodist", "Methodist Church in Ireland"),
        ("Free Presbyterian", "Other Christian (including Christian related)"),
        ("Muslim", "Other religions"),
        ("None", "No religion"),
    ],
)
def test_northern_ireland_religion_wordings(answer: str, category: str) -> None:
    categories = census.census_categories(census.resolve_areas(["Belfast"]), "religion")
    assert place_answer("religion", answer, categories).category == category


def test_northern_ireland_whole_years_get_nisra_bands_and_an_18_plus_base(write_csv) -> None:
    register = write_csv("ni.csv", register_rows({"Age": {"18": 2, "30": 3, "50": 3, "70": 2}}))
    code, data, output = audit(register, "--area", "Belfast", "--eligible-age", "18+")
    assert code == 0, output
    age = characteristic(data, "age")
    assert {g["category"]: g["count"] for g in age["groups"]} == {
        "Aged 16 to 24 years": 2,
        "Aged 25 to 39 years": 3,
        "Aged 40 to 64 years": 3,
        "Aged 65 years and over": 2,
    }
    assert any("16+" in caveat for caveat in age["reference"]["caveats"])


def test_an_audit_in_northern_ireland_lists_what_it_lacks(write_csv) -> None:
    register = write_csv("ni.csv", register_rows({"Sex": {"Female": 3, "Male": 3}}))
    code, data, output = audit(register, "--area", "Belfast")
    assert code == 0, output
    lacking = {item["name"]: item["reason"] for item in data["not_audited"]}
    assert set(lacking) == {"disability", "unpaid_care", "gender_identity", "tenure"}
    assert all("Northern Ireland" in reason and "no wards" in reason for reason in lacking.values())


# ---------------------------------------------------------------------------
# Wales: bilingual and Welsh-only answers, Welsh area names


WELSH_REGISTER = {
    "Rhyw / Sex": {
        "Benyw / Female": 4,
        "Gwryw / Male": 3,
        "Gwell gennyf beidio â dweud / Prefer not to say": 1,
    },
    "Ydych chi'n anabl? / Are you disabled?": {"Ydw / Yes": 2, "Nac ydw / No": 6},
    "Crefydd / Religion": {"Dim crefydd": 4, "Cristnogaeth": 3, "Mwslim": 1},
    "Grŵp ethnig / Ethnic group": {
        "Gwyn: Cymreig": 5,
        "Gwyddelig": 1,
        "Indiaidd": 1,
        "Affricanaidd": 1,
    },
    "Prif iaith / Main language": {"Cymraeg": 3, "Saesneg": 4, "Arall / Other": 1},
    "Welsh language ability": {"Fluent": 3, "Some": 3, "None": 2},
}


def test_a_welsh_register_is_understood_in_caerdydd(write_csv) -> None:
    register = write_csv("cymru.csv", register_rows(WELSH_REGISTER))
    code, data, output = audit(register, "--area", "Caerdydd", "--eligible-age", "16+")
    assert code == 0, output
    assert data["reference"].startswith("Census 2021 for Cardiff (W06000015)")
    assert counts(data, "sex") == {"Female": 4, "Male": 3}
    assert characteristic(data, "sex")["n_declined"] == 1
    assert counts(data, "disability") == {
        "Disabled under the Equality Act": 2,
        "Not disabled under the Equality Act": 6,
    }
    religion = counts(data, "religion")
    assert (religion["No religion"], religion["Christian"], religion["Muslim"]) == (4, 3, 1)
    ethnic = counts(data, "ethnic_group")
    assert ethnic["White: English, Welsh, Scottish, Northern Irish or British"] == 5
    assert ethnic["White: Irish"] == 1
    assert ethnic["Asian, Asian British or Asian Welsh: Indian"] == 1
    language = characteristic(data, "english_proficiency")
    assert language["groups"][0]["count"] == 7  # Cymraeg and Saesneg: English or Welsh
    welsh = next(item for item in data["not_audited"] if item["name"] == "welsh_language")
    assert welsh["column"] == "Welsh language ability"
    assert "--reference" in welsh["fix"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Caerdydd", "W06000015"),
        ("Ynys Môn", "W06000001"),
        ("Ynys Mon", "W06000001"),
        ("Cyngor Gwynedd", "W06000002"),
        ("Wrecsam", "W06000006"),
        ("Cymru", "W92000004"),
    ],
)
def test_welsh_area_names_resolve(name: str, code: str) -> None:
    assert census.resolve_areas([name])[0].code == code


# ---------------------------------------------------------------------------
# Scotland: a clear message, not a near miss


@pytest.mark.parametrize("area", ["Glasgow", "City of Edinburgh", "S12000049", "Scotland"])
def test_scotland_points_to_a_population_file(write_csv, area: str) -> None:
    register = write_csv("r.csv", register_rows({"Sex": {"Female": 3, "Male": 3}}))
    code, _, output = audit(register, "--area", area)
    assert code == 2
    assert "Scotland's Census" in output
    assert "--reference" in output and "reference show" in output and "--format csv" in output
    assert "Did you mean" not in output


# ---------------------------------------------------------------------------
# Broad answers beside detailed categories: every characteristic with a hierarchy


def hierarchical_cases() -> list[tuple[str, str, str]]:
    """(characteristic, area, broad group) for every characteristic whose shipped
    categories sit below a group of its classification that an answer can name."""
    cases = []
    for area in ("Lambeth", "Belfast"):
        areas = census.resolve_areas([area])
        for name in census.available_characteristics(areas):
            if name == "age":
                continue
            categories = census.census_categories(areas, name)
            for group in _groups_above(name, categories):
                if place_answer(name, group, categories).kind == "broad_only":
                    cases.append((name, area, group))
                    break
    return cases


def _groups_above(name: str, categories: list[str]) -> list[str]:
    tree, _ = hierarchy(name)
    if not all(c in tree for c in categories):  # the nation's own classification
        tree, _ = hierarchy(classification_for(name, tuple(categories)))
    parents = {tree[c] for c in categories if tree.get(c)}
    return sorted(g for g in parents if g not in categories)


CASES = hierarchical_cases()


def test_the_hierarchical_cases_cover_the_characteristics_with_levels() -> None:
    names = {(name, area) for name, area, _ in CASES}
    for expected in [
        ("ethnic_group", "Lambeth"),
        ("ethnic_group", "Belfast"),
        ("english_proficiency", "Lambeth"),
        ("unpaid_care", "Lambeth"),
        ("tenure", "Lambeth"),
        ("economic_activity", "Lambeth"),
        ("religion", "Belfast"),
        ("sexual_orientation", "Lambeth"),
        ("gender_identity", "Lambeth"),
        ("legal_partnership_status", "Lambeth"),
    ]:
        assert expected in names


@pytest.mark.parametrize(("name", "area", "group"), CASES, ids=lambda v: str(v)[:30])
def test_broad_answers_are_audited_at_the_level_they_support(
    write_csv, name: str, area: str, group: str
) -> None:
    areas = census.resolve_areas([area])
    categories = census.census_categories(areas, name)
    inside = [c for c in categories if group in _ancestors(name, categories, c)]
    outside = [c for c in categories if c not in inside]
    assert inside and outside
    register = write_csv(
        "r.csv", register_rows({name: {group: 45, outside[0]: 215, inside[0]: 40}})
    )
    code, data, output = audit(register, "--area", area)
    assert code in (0, 1), output
    detailed = characteristic(data, name)
    assert detailed["n_broad_only"] == 45
    # Never "under" (ratio 0) only because answers were broad: a verdict on a group
    # inside the named group stands only if the broad answers could not change it.
    n = detailed["n_known"]
    guarded = 0
    for row in detailed["groups"]:
        if row["category"] not in inside:
            continue
        if row["status"] in ("under", "possible_under"):
            best = (row["count"] + 45) / (n + 45) / row["population_share"]
            assert best < 0.8, row
        if row["note"] and "named only" in row["note"]:
            assert row["status"] == "insufficient_data"
            guarded += 1
    broader = [c for c in data["characteristics"] if c["name"] != name and c["column"] == name]
    assert len(broader) == 1, [c["name"] for c in data["characteristics"]]
    assert broader[0]["n_broad_only"] == 0
    assert broader[0]["n_known"] == 300


def _ancestors(name: str, categories: list[str], category: str) -> list[str]:
    tree, _ = hierarchy(classification_for(name, tuple(categories)))
    found, current = [], tree.get(category)
    while current is not None:
        found.append(current)
        current = tree.get(current)
    return found


def test_the_broad_answer_guard_worked_example() -> None:
    """0 of 255 detailed answers, 45 broad ones, population share 8.8%: no verdict."""
    group = {"category": "x", "count": 0, "population_share": 0.088}
    status, note = _broad_answers_guard(
        group, Status.UNDER, {"x": (45, ("Main language is not English",))}, 255, AuditConfig()
    )
    assert status is Status.INSUFFICIENT_DATA and note is not None
    # With the 45 answers counted in: 45 / 300 = 15%, 1.70 times the share.
    assert pytest.approx(1.7045, abs=1e-4) == 45 / 300 / 0.088
    # A group that stays under even with every broad answer in it keeps its verdict.
    status, note = _broad_answers_guard(
        {"category": "x", "count": 0, "population_share": 0.5},
        Status.UNDER,
        {"x": (10, ("g",))},
        255,
        AuditConfig(),
    )
    assert status is Status.UNDER and note is None


# ---------------------------------------------------------------------------
# No characteristic dropped in silence


def test_every_recognised_column_is_audited_or_not_audited_with_a_reason(write_csv) -> None:
    columns = {
        "Age": {"30": 4, "50": 4},
        "Sex": {"Female": 4, "Male": 4},
        "Gender": {"Woman": 4, "Man": 4},
        "Ethnic group": {"White British": 5, "Indian": 3},
        "Welsh language ability": {"Fluent": 4, "None": 4},
        "Highest qualification": {"Degree": 4, "None": 4},
        "Community background": {"Catholic": 4, "Protestant": 4},
        "Background": {"Christian": 4, "No religion": 4},
        "Full name": {"A": 4, "B": 4},
        "Email": {"a@example.org": 8},
        "Comments": {"fine": 8},
    }
    register = write_csv("r.csv", register_rows(columns))
    code, data, output = audit(register, "--area", "Lambeth")
    assert code in (0, 1), output
    audited = {c["column"] for c in data["characteristics"]}
    explained = {item["column"]: item for item in data["not_audited"] if item["column"]}
    for header in columns:
        guess = guess_column(header)
        if guess.kind in ("characteristic", "date_of_birth"):
            assert header in audited | set(explained), header
    for item in explained.values():
        assert item["reason"] and item["fix"], item
    assert explained["Background"]["name"] == "religion"
    assert '[columns] "Background" = "religion"' in explained["Background"]["fix"]
    assert explained["Gender"]["name"] == "sex"
    for private in ("Full name", "Email", "Comments"):
        assert private not in audited and private not in explained
    text = json.dumps(data)
    assert "a@example.org" not in text and "fine" not in text


FIXTURES = Path(__file__).parent / "fixtures" / "registers"


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".csv", ".xlsx"))
)
@pytest.mark.parametrize("area", ["Lambeth", "Belfast", "E05000932"])
def test_every_fixture_column_is_audited_or_explained(fixture: str, area: str) -> None:
    """Real form exports, against an English borough, a Northern Ireland council and a
    ward: each column recognised as a characteristic is audited or listed with why."""
    from inclusion_audit.ingest.readers import read_table

    code, data, output = audit(FIXTURES / fixture, "--area", area, "--event-date", "2025-03-14")
    if code == 2:
        # Nothing could be compared (a ward has few tables): the message lists each reason.
        assert "nothing could be audited" in output, output
        return
    assert code in (0, 1), output
    audited = {c["column"] for c in data["characteristics"]}
    explained = {item["column"] for item in data["not_audited"] if item["column"]}
    for header in read_table(FIXTURES / fixture).columns:
        guess = guess_column(header)
        if guess.kind in ("characteristic", "date_of_birth"):
            assert header in audited | explained, (fixture, area, header)
    for item in data["not_audited"]:
        assert item["reason"], item


def test_targets_with_an_area_compare_every_census_column(write_csv, tmp_path: Path) -> None:
    register = write_csv(
        "panel.csv",
        register_rows(
            {
                "Age": {"20": 3, "40": 4, "60": 3},
                "Gender": {"Female": 5, "Male": 5},
                "Ethnicity": {"White British": 6, "Indian": 4},
            }
        ),
    )
    targets = write_csv(
        "quotas.csv",
        [["category", "name", "min", "max"], ["Age", "16-29", 2, 4], ["Age", "30+", 5, 8]],
    )
    code, data, output = audit(register, "--targets", targets, "--area", "Tower Hamlets")
    assert code == 0, output
    names = {c["name"] for c in data["characteristics"]}
    assert {"age", "sex", "ethnic_group"} <= names
    assert {q["characteristic"] for q in data["quotas"]} == {"Age"}


def test_a_ward_with_detailed_ethnic_answers_is_audited_at_the_broad_level(write_csv) -> None:
    register = write_csv(
        "ward.csv",
        register_rows({"Ethnic group": {"White British": 6, "Indian": 2, "Caribbean": 2}}),
    )
    code, data, output = audit(register, "--area", "E05000932")
    assert code == 0, output
    ethnic = characteristic(data, "ethnic_group")
    assert counts(data, "ethnic_group") == {
        "Asian, Asian British or Asian Welsh": 2,
        "Black, Black British, Black Welsh, Caribbean or African": 2,
        "Mixed or Multiple ethnic groups": 0,
        "White": 6,
        "Other ethnic group": 0,
    }
    assert "broader level" in ethnic["reference"]["caveats"][0]


# ---------------------------------------------------------------------------
# Multi-event registers and the store


def test_a_multi_event_register_is_stored_event_by_event(write_csv, tmp_path: Path) -> None:
    register = write_csv(
        "forum.csv",
        [
            ["Event", "Event date", "Age", "Sex"],
            ["March forum", "2025-03-05", "34", "Female"],
            ["March forum", "2025-03-05", "45", "Male"],
            ["March forum", "", "61", "Female"],
            ["April forum", "02/04/2025", "23", "Male"],
            ["April forum", "02/04/2025", "70", "Female"],
        ],
    )
    other = write_csv(
        "other.csv", register_rows({"Age": {"30": 2, "50": 2}, "Sex": {"Female": 2, "Male": 2}})
    )
    store = tmp_path / "history.sqlite"
    runner = CliRunner()

    def run(path: Path, *extra: str) -> tuple[int, str]:
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        result = runner.invoke(
            cli,
            [
                "audit",
                str(path),
                "--area",
                "Lambeth",
                "--store",
                str(store),
                "-o",
                f"{out}/",
                *extra,
            ],
            catch_exceptions=False,
        )
        return result.exit_code, result.output

    code, output = run(other, "--event-date", "2025-01-10", "--event-name", "January")
    assert code == 0, output
    code, output = run(register, "--event-column", "Event")
    assert code == 0, output
    listed = runner.invoke(cli, ["store", "list", "--store", str(store), "--format", "json"])
    events = {(e["name"], e["date"]) for e in json.loads(listed.stdout)}
    assert events == {
        ("January", "2025-01-10"),
        ("March forum", "2025-03-05"),
        ("April forum", "2025-04-02"),
    }
    # The second time, each event is refused by name, and nothing is written.
    before = store.read_bytes()
    code, output = run(register, "--event-column", "Event")
    assert code == 2
    assert "'March forum'" in output and "'April forum'" in output
    assert store.read_bytes() == before
    # --replace replaces exactly this register's events, never January's.
    code, output = run(register, "--event-column", "Event", "--replace")
    assert code == 0, output
    listed = runner.invoke(cli, ["store", "list", "--store", str(store), "--format", "json"])
    stored = json.loads(listed.stdout)
    assert sorted(e["name"] for e in stored) == ["April forum", "January", "March forum"]
    january = next(e for e in stored if e["name"] == "January")
    assert january["id"] == 1


def test_an_event_with_two_dates_is_refused(write_csv, tmp_path: Path) -> None:
    register = write_csv(
        "forum.csv",
        [
            ["Event", "Session date", "Sex"],
            ["Forum", "2025-03-05", "Female"],
            ["Forum", "2025-03-12", "Male"],
        ],
    )
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            str(register),
            "--area",
            "Lambeth",
            "--event-column",
            "Event",
            "--store",
            str(tmp_path / "h.sqlite"),
            "-o",
            f"{tmp_path}/out/",
        ],
    )
    assert result.exit_code == 2
    assert "'Forum'" in result.output and "2025-03-05, 2025-03-12" in result.output
    assert not (tmp_path / "out").exists()


def test_welsh_language_is_audited_against_a_population_file(write_csv) -> None:
    register = write_csv(
        "r.csv",
        register_rows({"Welsh language ability": {"Can speak Welsh": 3, "Cannot speak Welsh": 5}}),
    )
    reference = write_csv(
        "welsh.csv",
        [
            ["characteristic", "category", "count"],
            ["welsh_language", "Can speak Welsh", 26],
            ["welsh_language", "Cannot speak Welsh", 74],
        ],
    )
    code, data, output = audit(register, "--reference", reference)
    assert code == 0, output
    assert counts(data, "welsh_language") == {"Can speak Welsh": 3, "Cannot speak Welsh": 5}


def test_quota_answers_that_fit_no_quota_are_listed(write_csv) -> None:
    register = write_csv(
        "panel.csv",
        register_rows({"Tenure": {"Owner": 6, "Social rented": 2, "Private rented": 2}}),
    )
    targets = write_csv(
        "quotas.csv",
        [["category", "name", "min", "max"], ["Tenure", "Owner", 4, 7], ["Tenure", "Renter", 2, 5]],
    )
    code, data, output = audit(register, "--targets", targets, "--area", "Tower Hamlets")
    assert code == 0, output
    assert "tenure" in {c["name"] for c in data["characteristics"]}
    item = next(i for i in data["not_audited"] if i["name"] == "Tenure")
    assert item["reason"].startswith("Some answers in column 'Tenure' fit none")
    assert "4 of 10" not in item["reason"]  # shared reports publish the note
    assert item["column"] == "Tenure" and item["fix"]


def test_events_with_identical_figures_are_stored_apart(write_csv, tmp_path: Path) -> None:
    register = write_csv(
        "forum.csv",
        [
            ["Event", "Sex"],
            ["Morning", "Female"],
            ["Morning", "Male"],
            ["Evening", "Female"],
            ["Evening", "Male"],
        ],
    )
    store = tmp_path / "history.sqlite"
    args = ["audit", str(register), "--area", "Lambeth", "--event-column", "Event"]
    args += ["--event-date", "2025-05-01", "--store", str(store), "-o", f"{tmp_path}/out/"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(cli, ["store", "list", "--store", str(store), "--format", "json"])
    assert sorted(e["name"] for e in json.loads(listed.stdout)) == ["Evening", "Morning"]
