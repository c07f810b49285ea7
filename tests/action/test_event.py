"""Event details files: YAML, TOML and JSON read the same, and every mistake is named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from inclusion_audit.action.event import (
    EventDetails,
    EventFileError,
    Payment,
    Venue,
    load_event,
    parse_event,
)
from inclusion_audit.errors import InputError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"

FULL = EventDetails(
    id="ev-1",
    title="Riverside forum",
    date=dt.date(2025, 3, 5),
    start_time=dt.time(10, 0),
    end_time=dt.time(12, 30),
    format="hybrid",
    venue=Venue("Town Hall", True, False, True, None),
    childcare=False,
    carers_welcome=True,
    interpreters=("Bengali", "Somali"),
    bsl=False,
    translated_materials=(),
    easy_read=True,
    payment=Payment("voucher", 20.0),
    travel_paid=True,
    online_option=True,
    paper_option=False,
    recruitment="targeted",
    event_type="neighbourhood_forum",
)

YAML_TEXT = """\
id: ev-1
title: Riverside forum
date: 2025-03-05
start_time: 10:00
end_time: "12:30"
format: hybrid
venue:
  name: Town Hall
  step_free: true
  hearing_loop: false
  accessible_toilet: yes
childcare: false
carers_welcome: true
interpreters: [Bengali, Somali]
bsl: false
translated_materials: []
easy_read: true
payment: {kind: voucher, amount: 20}
travel_paid: true
online_option: true
paper_option: false
recruitment: targeted
event_type: neighbourhood_forum
"""

TOML_TEXT = """\
id = "ev-1"
title = "Riverside forum"
date = 2025-03-05
start_time = 10:00:00
end_time = "12:30"
format = "hybrid"
childcare = false
carers_welcome = true
interpreters = ["Bengali", "Somali"]
bsl = false
translated_materials = []
easy_read = true
travel_paid = true
online_option = true
paper_option = false
recruitment = "targeted"
event_type = "neighbourhood_forum"

[venue]
name = "Town Hall"
step_free = true
hearing_loop = false
accessible_toilet = true

[payment]
kind = "voucher"
amount = 20
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("event.yaml", YAML_TEXT),
        ("event.yml", YAML_TEXT),
        ("event.toml", TOML_TEXT),
        ("event.json", json.dumps(FULL.to_dict())),
    ],
)
def test_every_format_reads_the_same_details(tmp_path: Path, name: str, text: str) -> None:
    assert load_event(write(tmp_path, name, text)) == FULL


def test_to_dict_round_trips_through_json() -> None:
    data = json.loads(json.dumps(FULL.to_dict()))
    assert data["start_time"] == "10:00" and data["date"] == "2025-03-05"
    assert data["venue"]["hearing_loop"] is False and data["interpreters"] == ["Bengali", "Somali"]
    assert parse_event(data) == FULL


def test_missing_fields_are_unknown_never_no(tmp_path: Path) -> None:
    details = load_event(write(tmp_path, "e.yaml", "title: Drop-in\nvenue:\n  step_free: false\n"))
    assert details.childcare is None and details.interpreters is None and details.payment is None
    assert details.venue == Venue(step_free=False)
    assert details.duration_minutes is None
    assert load_event(write(tmp_path, "empty.yaml", "")) == EventDetails()
    assert load_event(write(tmp_path, "nulls.json", '{"childcare": null}')) == EventDetails()


def test_bundled_fixtures_load() -> None:
    town_hall = load_event(FIXTURES / "town_hall.yaml")
    assert town_hall.start_time == dt.time(10) and town_hall.date == dt.date(2025, 3, 5)
    assert town_hall.childcare is False and town_hall.interpreters == ()
    assert town_hall.payment == Payment("none", None) and town_hall.duration_minutes == 120
    assert load_event(FIXTURES / "online_survey.toml").format == "online"
    assembly = load_event(FIXTURES / "citizens_assembly.json")
    assert assembly.payment == Payment("stipend", 75.0)
    assert assembly.recruitment == "civic_lottery"


def test_friendly_spellings_of_allowed_values(tmp_path: Path) -> None:
    text = "format: In-Person\nevent_type: Drop in\nid: 42\nvenue: Library\ninterpreters: false\n"
    details = load_event(write(tmp_path, "e.yaml", text))
    assert details.format == "in_person" and details.event_type == "drop_in"
    assert details.id == "42" and details.venue == Venue(name="Library")
    assert details.interpreters == ()


def test_seconds_are_accepted_and_dropped(tmp_path: Path) -> None:
    details = load_event(write(tmp_path, "e.json", '{"start_time": "09:30:15"}'))
    assert details.start_time == dt.time(9, 30)


ERRORS = [
    # (file name, text, key named, words the message must contain)
    ("e.yaml", "chilcare: false\n", "chilcare", ["not a known key", "Did you mean 'childcare'"]),
    ("e.yaml", "venue:\n  stepfree: true\n", "venue.stepfree", ["'venue.stepfree'", "step_free"]),
    ("e.json", '{"childcare": "yes"}', "childcare", ['"yes"', "true or false"]),
    ("e.yaml", "format: zoom\n", "format", ['"zoom"', "in_person, online, hybrid, postal, phone"]),
    ("e.yaml", "recruitment: lottery\n", "recruitment", ["open_invitation, targeted"]),
    ("e.yaml", "event_type: rally\n", "event_type", ["citizens_assembly", "online_survey"]),
    ("e.json", '{"date": "05/03/2025"}', "date", ['"05/03/2025"', "YYYY-MM-DD"]),
    ("e.json", '{"date": "2025-02-30"}', "date", ["not a date"]),
    ("e.yaml", "date: 2025-03-05 10:00:00\n", "date", ["date with a time", "start_time"]),
    ("e.json", '{"start_time": "10am"}', "start_time", ['"10am"', "HH:MM"]),
    ("e.json", '{"start_time": "25:00"}', "start_time", ["not a time of day"]),
    ("e.yaml", "start_time: 1000\n", "start_time", ["1000", "HH:MM"]),
    ("e.json", '{"start_time": "18:00", "end_time": "17:00"}', "end_time", ["after start_time"]),
    ("e.json", '{"interpreters": "Bengali"}', "interpreters", ["list such as [Bengali"]),
    ("e.json", '{"interpreters": ["Bengali", 3]}', "interpreters[1]", ["language name"]),
    ("e.json", '{"payment": {"kind": "cash"}}', "payment.kind", ["none, voucher, stipend"]),
    ("e.json", '{"payment": {"amount": "£75"}}', "payment.amount", ['"£75"', "number"]),
    ("e.json", '{"payment": {"amount": -5}}', "payment.amount", ["-5"]),
    ("e.json", '{"payment": {"kind": "none", "amount": 5}}', "payment.amount", ["voucher or"]),
    ("e.json", '{"payment": true}', "payment", ["none, voucher, stipend"]),
    ("e.json", '{"venue": ["Hall"]}', "venue", ["not a set of keys", "step_free"]),
    ("e.json", '{"venue": {"step_free": 1}}', "venue.step_free", ["true or false"]),
    ("e.json", '{"title": ""}', "title", ["not a piece of text"]),
    ("e.json", '{"id": true}', "id", ["not a piece of text"]),
    ("e.yaml", "childcare: false\nchildcare: true\n", "childcare", ["given twice", "line 2"]),
]


@pytest.mark.parametrize(("name", "text", "key", "words"), ERRORS)
def test_wrong_values_name_the_file_key_value_and_fix(
    tmp_path: Path, name: str, text: str, key: str, words: list[str]
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(EventFileError) as caught:
        load_event(path)
    message = str(caught.value)
    assert message.startswith(f"event file {path}: ")
    assert caught.value.key == key
    for word in words:
        assert word in message, message
    assert isinstance(caught.value, InputError)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("e.txt", "date: 2025-03-05", ["'.txt' is not supported", ".yaml, .toml or .json"]),
        ("e.yaml", "date: [2025\n", ["not valid YAML at line 2"]),
        ("e.toml", "date = \n", ["not valid TOML"]),
        ("e.json", '{"date": }', ["not valid JSON (line 1, column 10"]),
        ("e.yaml", "- a list\n", ["not a set of keys"]),
        ("e.json", '"just text"', ["not a set of keys"]),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, text: str, words: list[str]) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(EventFileError) as caught:
        load_event(path)
    assert caught.value.key is None
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(EventFileError, match="does not exist"):
        load_event(tmp_path / "nope.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("title: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(EventFileError, match="not UTF-8"):
        load_event(latin)
