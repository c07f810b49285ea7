"""The store: aggregates only, salted fingerprints, whole-or-nothing writes, CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from inclusion_audit import audit_register, read_reference_csv
from inclusion_audit.cli.app import cli
from inclusion_audit.history import store as store_module
from inclusion_audit.history.result_file import ResultFileError, read_result_file
from inclusion_audit.history.store import (
    _MIGRATIONS,
    STORE_SCHEMA_VERSION,
    DuplicateEventError,
    EventNotFoundError,
    StoreError,
    event_name_and_date,
    open_store,
)
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.result import AuditResult

from ..conftest import EXAMPLES, REPO, register_rows

DAY = dt.date(2026, 7, 14)
SECRETS = [
    "Amelia Quartermaine",
    "amelia.q@example.org",
    "SW9 8QX",
    "07700 900123",
    "I nearly did not come because of the stairs",
]


def invoke(runner, *args: object):
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def identifying_register(write_csv) -> Path:
    """A register whose every row carries a name, email, postcode, phone and a comment."""
    rows = register_rows({"sex": {"Female": 30, "Male": 12}, "age": {"16-34": 20, "35-64": 22}})
    rows[0] += ["Email", "Postcode", "Phone", "Comments"]
    for row in rows[1:]:
        row[0] = SECRETS[0]
        row += SECRETS[1:]
    return write_csv("register.csv", rows)


@pytest.fixture
def result(identifying_register, small_reference) -> AuditResult:
    return audit_register(read_table(identifying_register), read_reference_csv(small_reference))


def test_stored_event_holds_the_results_aggregates(tmp_path, result) -> None:
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        added = store.add(result, name="Forum", date=DAY)
        [event] = store.events()
    assert (event.id, event.name, event.date) == (added.event_id, "Forum", DAY)
    assert event.n_participants == result.n_participants == 42
    assert event.reference == result.reference
    # The stored settings record the method behind the stored statuses (issue 12).
    assert event.settings == {**result.settings, "method_version": result.method_version}
    assert event.tool_version == result.tool_version
    for stored, original in zip(event.characteristics, result.characteristics, strict=True):
        assert (stored.name, stored.n_known, stored.n_unknown) == (
            original.name,
            original.n_known,
            original.n_unknown,
        )
        assert [
            (g.category, g.count, g.population_share, g.expected_count, g.ratio, g.status)
            for g in stored.groups
        ] == [
            (g.category, g.count, g.population_share, g.expected_count, g.ratio, g.status)
            for g in original.groups
        ]


def test_census_reference_gives_area_codes_and_eligible_age(tmp_path, example_register) -> None:
    from inclusion_audit.reference import census
    from inclusion_audit.reference.profiles import CensusReference

    reference = CensusReference(
        tuple(census.resolve_areas(["Lambeth"])), census.parse_age_range("16+")
    )
    result = audit_register(read_table(example_register), reference)
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        store.add(result, name="Forum", date=DAY)
        [event] = store.events(details=False)
    assert event.area_codes == ("E09000022",)
    assert event.eligible_age == "16+"


def test_the_store_file_holds_nothing_from_the_registers_rows(
    runner, tmp_path, identifying_register, small_reference
) -> None:
    store = tmp_path / "history.sqlite"
    done = invoke(
        runner,
        "audit",
        identifying_register,
        "--reference",
        small_reference,
        "--event-date",
        "2026-07-14",
        "--store",
        store,
        "-q",
        "-o",
        tmp_path / "audit.json",
    )
    assert done.exit_code == 0, done.output
    connection = sqlite3.connect(store)
    dump = "\n".join(connection.iterdump())
    connection.close()
    raw = store.read_bytes()
    for secret in SECRETS:
        assert secret not in dump
        assert secret.encode() not in raw
    # Nor anything that reverses to the file without the store's salt.
    assert hashlib.sha256(identifying_register.read_bytes()).hexdigest() not in dump


def test_fingerprints_are_salted_per_store(tmp_path, identifying_register) -> None:
    with (
        open_store(tmp_path / "a.sqlite", create=True) as first,
        open_store(tmp_path / "b.sqlite", create=True) as second,
    ):
        one, two = first.fingerprint(identifying_register), second.fingerprint(identifying_register)
        assert one != two
        assert one == first.fingerprint(identifying_register.read_bytes())
    assert hashlib.sha256(identifying_register.read_bytes()).hexdigest() not in (one, two)


def test_the_same_register_or_result_is_refused_unless_replaced(
    tmp_path, result, identifying_register
) -> None:
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        fingerprint = store.fingerprint(identifying_register)
        first = store.add(result, name="Forum", date=DAY, register_fingerprint=fingerprint)
        with pytest.raises(
            DuplicateEventError,
            match=r"already in h\.sqlite as event 1 \('Forum', 2026-07-14, added 20",
        ):
            store.add(result.to_dict(), name="Again", date=DAY)
        with pytest.raises(DuplicateEventError):
            # Another audit of the same file (here: different settings) is the same register.
            from dataclasses import replace

            store.add(
                replace(result, settings={**result.settings, "alpha": 0.01}),
                name="Again",
                date=DAY,
                register_fingerprint=fingerprint,
            )
        second = store.add(json.loads(result.to_json()), name="Again", date=DAY, replace=True)
        assert second.replaced == first.event_id
        [event] = store.events()
        assert event.name == "Again"
        # The register's fingerprint stays with the event that replaced it.
        with pytest.raises(DuplicateEventError):
            store.check_new({"other": 1}, fingerprint)


def test_a_failed_write_leaves_nothing(tmp_path, result, monkeypatch) -> None:
    from inclusion_audit.history.store import Store

    insert = Store._insert

    def insert_then_fail(self, *args, **kwargs):
        insert(self, *args, **kwargs)
        raise RuntimeError("disk unplugged")

    with open_store(tmp_path / "h.sqlite", create=True) as store:
        monkeypatch.setattr(Store, "_insert", insert_then_fail)
        with pytest.raises(RuntimeError):
            store.add(result, name="Forum", date=DAY)
        monkeypatch.undo()
        assert store.events() == []
        for table in ("events", "characteristics", "groups"):
            assert store._db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_remove_takes_everything_with_it(tmp_path, result) -> None:
    with open_store(tmp_path / "h.sqlite", create=True) as store:
        added = store.add(result, name="Forum", date=DAY)
        removed = store.remove(added.event_id)
        assert removed.name == "Forum"
        assert store._db.execute("SELECT count(*) FROM groups").fetchone() == (0,)
        with pytest.raises(EventNotFoundError, match="no event 1"):
            store.remove(added.event_id)
        # Ids are never reused, so an old id never names a new event.
        assert store.add(result, name="Forum", date=DAY).event_id == added.event_id + 1


def test_schema_is_versioned_and_salted(tmp_path) -> None:
    path = tmp_path / "h.sqlite"
    open_store(path, create=True).close()
    connection = sqlite3.connect(path)
    versions = [row[0] for row in connection.execute("SELECT version FROM schema_migrations")]
    salt = connection.execute("SELECT value FROM metadata WHERE key = 'salt'").fetchone()[0]
    assert versions == list(range(1, STORE_SCHEMA_VERSION + 1))
    assert len(bytes.fromhex(salt)) == 32
    connection.execute("INSERT INTO schema_migrations VALUES (99, 'later')")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="newer inclusion-audit"):
        open_store(path)


STORE_OF_SCHEMA_1 = REPO / "tests" / "fixtures" / "store-v1.sql"
"""A store as every release before the migration mechanism wrote it (schema 1, no
``user_version``): the example register audited for Lambeth, 16+, on 2025-03-05."""


def _store_of_schema_1(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.executescript(STORE_OF_SCHEMA_1.read_text(encoding="utf-8"))
    connection.close()
    return path


def _recorded_version(path: Path) -> tuple[int, list[int]]:
    connection = sqlite3.connect(path)
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        steps = [r[0] for r in connection.execute("SELECT version FROM schema_migrations")]
    finally:
        connection.close()
    return version, sorted(steps)


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert sorted(_MIGRATIONS) == list(range(1, STORE_SCHEMA_VERSION + 1))


def test_a_new_store_records_its_schema_version(tmp_path) -> None:
    path = tmp_path / "h.sqlite"
    open_store(path, create=True).close()
    assert _recorded_version(path) == (
        STORE_SCHEMA_VERSION,
        list(range(1, STORE_SCHEMA_VERSION + 1)),
    )


def test_a_store_of_todays_format_is_upgraded_on_open_and_keeps_its_events(tmp_path) -> None:
    path = _store_of_schema_1(tmp_path / "h.sqlite")
    assert _recorded_version(path) == (0, [1])
    with open_store(path) as store:
        [event] = store.events()
        assert (event.id, event.name, event.date) == (
            1,
            "Riverside Forum (synthetic)",
            dt.date(2025, 3, 5),
        )
        assert event.n_participants == 240 and event.area_codes == ("E09000022",)
        assert [c.name for c in event.characteristics] == [
            "age",
            "sex",
            "ethnic_group",
            "disability",
        ]
        assert sum(len(c.groups) for c in event.characteristics) == 16
        # The salt came along, so the register stored then is still recognised.
        fingerprint = store.fingerprint(EXAMPLES / "riverside-forum-register.csv")
        with pytest.raises(DuplicateEventError, match="as event 1"):
            store.check_new({"schema_version": "x"}, fingerprint)
    assert _recorded_version(path) == (
        STORE_SCHEMA_VERSION,
        list(range(1, STORE_SCHEMA_VERSION + 1)),
    )
    # Opening again finds nothing to do.
    open_store(path).close()
    assert _recorded_version(path)[0] == STORE_SCHEMA_VERSION


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch) -> None:
    path = _store_of_schema_1(tmp_path / "h.sqlite")
    broken = STORE_SCHEMA_VERSION + 1

    def half_done(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        db.execute("UPDATE events SET name = 'changed'")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setitem(_MIGRATIONS, broken, half_done)
    monkeypatch.setattr(store_module, "STORE_SCHEMA_VERSION", broken)
    with pytest.raises(StoreError, match=r"could not be opened \(disk I/O error\)"):
        open_store(path)
    assert _recorded_version(path) == (0, [1])
    connection = sqlite3.connect(path)
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    names = [r[0] for r in connection.execute("SELECT name FROM events")]
    connection.close()
    assert "half_done" not in tables and names == ["Riverside Forum (synthetic)"]


def test_an_up_to_date_store_opens_while_another_process_writes(tmp_path, result) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path, create=True) as store:
        store.add(result, name="Forum", date=DAY)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a write under way elsewhere
    try:
        with open_store(path) as store:
            assert [e.name for e in store.events()] == ["Forum"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_locked_store_says_it_is_in_use(tmp_path, monkeypatch) -> None:
    path = tmp_path / "h.sqlite"
    open_store(path, create=True).close()
    monkeypatch.setattr(store_module, "_BUSY_SECONDS", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="is in use: another program"):
            open_store(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_folder_is_not_a_store(tmp_path) -> None:
    with pytest.raises(StoreError, match="is a folder, not a store"):
        open_store(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"characteristic,category,count\n", "not an inclusion-audit store"),
        ("other-sqlite", "not an inclusion-audit store"),
        ("empty-sqlite", "not an inclusion-audit store"),
        (b"", "is empty, not a store"),
    ],
)
def test_only_a_store_opens_as_one(tmp_path, content, message) -> None:
    path = tmp_path / "h.sqlite"
    if content in ("other-sqlite", "empty-sqlite"):
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE t (x)")
        if content == "empty-sqlite":
            connection.execute("DROP TABLE t")  # an SQLite file with no tables at all
        connection.close()
    elif content is not None:
        path.write_bytes(content)
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(StoreError, match=message):
        open_store(path)
    # Opening without create never writes: the file is exactly as it was.
    assert (path.read_bytes() if path.exists() else None) == before


def test_read_only_commands_leave_an_empty_file_alone(runner, tmp_path) -> None:
    path = tmp_path / "h.sqlite"
    path.touch()
    for args in (["review"], ["store", "list"], ["store", "remove", "1"]):
        done = invoke(runner, *args, "--store", path)
        assert done.exit_code == 2 and "is empty, not a store" in done.stderr
        assert path.stat().st_size == 0


def test_event_names_lose_control_characters(runner, tmp_path, result) -> None:
    store = tmp_path / "h.sqlite"
    with open_store(store, create=True) as history:
        history.add(result, name="Forum\n\x1b[2J\u202eday\r ", date=DAY)
        [event] = history.events()
    assert event.name == "Forum [2J day"
    listed = invoke(runner, "store", "list", "--store", store).stdout
    assert "\x1b" not in listed and "\u202e" not in listed and "Forum [2J day" in listed
    with open_store(store) as history, pytest.raises(StoreError, match="name is empty"):
        history.add(result, name="\n\x1b", date=DAY, check_duplicates=False)


def test_a_non_string_event_title_is_refused(tmp_path, result) -> None:
    data = json.loads(result.to_json())
    data["event"] = {"title": ["a"], "date": "2026-07-14"}
    with pytest.raises(ResultFileError, match=r"'event\.title' is not a string"):
        event_name_and_date(data, None, None, "audit.json")
    data["event"] = {"title": "Forum\x1b]0;owned\x07", "date": "2026-07-14"}
    assert event_name_and_date(data, None, None, "audit.json") == (
        "Forum ]0;owned",
        dt.date(2026, 7, 14),
    )
    with pytest.raises(StoreError, match="from 1900 to 2999"):
        event_name_and_date(data, None, dt.date(9999, 12, 31), "audit.json")
    with (
        open_store(tmp_path / "h.sqlite", create=True) as store,
        pytest.raises(StoreError, match="from 1900 to 2999"),
    ):
        store.add(result, name="Forum", date=dt.date(9999, 12, 31))


def test_saved_result_is_validated(tmp_path, result) -> None:
    good = result.to_dict()
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(good))
    assert read_result_file(path) == json.loads(result.to_json())
    broken = json.loads(result.to_json())
    del broken["characteristics"][1]["groups"][0]["count"]
    path.write_text(json.dumps(broken))
    with pytest.raises(ResultFileError, match=r"characteristics\[1\]\.groups\[0\] has no key"):
        read_result_file(path)


def _group(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    group: dict[str, Any] = data["characteristics"][0]["groups"][index]
    return group


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.pop("settings"), "'settings'"),
        (lambda d: d.update(schema_version="9.0"), "schema_version"),
        (lambda d: d["characteristics"][0].update(n_known=-1), "'n_known'"),
        (lambda d: d["characteristics"][0]["groups"][0].update(ratio="high"), "'ratio'"),
        (lambda d: d.update(characteristics={}), "'characteristics'"),
        (lambda d: _group(d).update(expected_count=math.nan), "'expected_count'"),
        (lambda d: _group(d).update(population_share=math.inf), "'population_share'"),
        (lambda d: _group(d).update(ratio=-math.inf), "'ratio'"),
        (lambda d: _group(d).update(population_share=1.5), "'population_share'"),
        (lambda d: _group(d).update(population_share=-0.1), "'population_share'"),
        (lambda d: _group(d).update(count=-1), "'count'"),
        (lambda d: _group(d).update(count=2.5), "'count'"),
        (lambda d: _group(d).update(count=True), "'count'"),
        (lambda d: _group(d).update(count=2**63), "'count'"),
        (lambda d: d.update(n_participants=2**64), "'n_participants'"),
        (lambda d: _group(d).update(count=d["characteristics"][0]["n_known"] + 1), "'count'"),
        (lambda d: _group(d).update(count=_group(d)["count"] - 1), "'n_known'"),
        (lambda d: _group(d).update(status="great"), "'status'"),
        (lambda d: _group(d).update(status="few_under"), "'status'"),
        (lambda d: _group(d, 1).update(category=_group(d)["category"]), "'category'"),
        (lambda d: _group(d).update(category=7), "'category'"),
        (
            lambda d: d["characteristics"][1].update(name=d["characteristics"][0]["name"]),
            "'name'",
        ),
        (lambda d: d["characteristics"][0].update(name=["sex"]), "'name'"),
        (lambda d: d.update(event="Forum"), "'event'"),
        (lambda d: d.update(register=[1]), "'register'"),
        (lambda d: d.update(event={"title": ["a"]}), "'event.title'"),
        (lambda d: d["settings"].update(under_threshold=math.nan), "'settings.under_threshold'"),
    ],
)
def test_store_add_refuses_a_bad_file_and_names_it(runner, tmp_path, result, change, key) -> None:
    data = json.loads(result.to_json())
    change(data)
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data))
    store = tmp_path / "h.sqlite"
    done = invoke(runner, "store", "add", path, "--store", store, "--event-date", "2026-07-14")
    assert done.exit_code == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("Error: ") and str(path) in line and key in line
    assert not store.exists()


def test_store_commands(runner, tmp_path, result) -> None:
    path = tmp_path / "audit.json"
    path.write_text(result.to_json())
    store = tmp_path / "h.sqlite"
    done = invoke(runner, "store", "add", path, "--store", store)
    assert done.exit_code == 2 and "no event date" in done.stderr
    done = invoke(runner, "store", "add", path, "--store", store, "--event-date", "2026-07-14")
    assert done.exit_code == 0, done.output
    assert "Stored event 1 ('register', 2026-07-14)" in done.stderr
    again = invoke(runner, "store", "add", path, "--store", store, "--event-date", "2026-07-15")
    assert again.exit_code == 2 and "--replace" in again.stderr
    listed = json.loads(
        invoke(runner, "store", "list", "--store", store, "--format", "json").stdout
    )
    assert [(e["id"], e["date"], e["name"], e["participants"]) for e in listed] == [
        (1, "2026-07-14", "register", 42)
    ]
    table = invoke(runner, "store", "list", "--store", store).stdout
    assert table.splitlines()[0].split() == ["id", "date", "name", "participants", "reference"]
    assert invoke(runner, "store", "remove", "2", "--store", store).exit_code == 2
    assert invoke(runner, "store", "remove", "1", "--store", store).exit_code == 0
    assert invoke(runner, "store", "list", "--store", tmp_path / "nope.sqlite").exit_code == 2


def test_audit_store_needs_a_date_and_writes_nothing_without_one(
    runner, tmp_path, identifying_register, small_reference
) -> None:
    store, report = tmp_path / "h.sqlite", tmp_path / "audit.json"
    args = ["audit", identifying_register, "--reference", small_reference, "--store", store]
    done = invoke(runner, *args, "-o", report)
    assert done.exit_code == 2 and "--event-date" in done.stderr
    assert not store.exists() and not report.exists()
    done = invoke(
        runner, *args, "--event-date", "2026-07-14", "--event-name", "Forum", "-o", report
    )
    assert done.exit_code == 0 and "Stored event 1 ('Forum', 2026-07-14)" in done.stderr
    report.unlink()
    done = invoke(runner, *args, "--event-date", "2026-07-20", "-o", report)
    assert done.exit_code == 2 and "already in h.sqlite as event 1" in done.stderr
    assert not report.exists()
    done = invoke(runner, *args, "--event-date", "2026-07-20", "--replace", "-o", report)
    assert done.exit_code == 0 and "replacing event 1" in done.stderr
    event = invoke(
        runner, *args, "--event-column", "Name", "--event-date", "2026-07-20", "-o", tmp_path
    )
    assert event.exit_code == 2 and "cannot name events" in event.stderr


def test_store_list_shows_which_verdicts_change_under_the_current_method(
    runner, tmp_path, result
) -> None:
    """Issue 12: a result stored by an earlier method (schema 1.0) is judged again."""
    data = json.loads(result.to_json())
    data["schema_version"] = "1.0"
    del data["method_version"]
    # An earlier method called this group firmly under; today's calls it something else.
    group = data["characteristics"][0]["groups"][0]
    now = group["status"]
    group["status"] = "over" if now != "over" else "under"
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data))
    store = tmp_path / "h.sqlite"
    done = invoke(runner, "store", "add", path, "--store", store, "--event-date", "2026-07-14")
    assert done.exit_code == 0, done.output
    listed = json.loads(
        invoke(runner, "store", "list", "--store", store, "--format", "json", "--changes").stdout
    )
    [event] = listed
    assert event["method"] == "1" and event["verdicts_changed"] == 1
    [change] = event["changes"]
    assert change["stored"] == group["status"] and change["now"] == now
    table = invoke(runner, "store", "list", "--store", store, "--changes")
    assert table.stdout.splitlines()[0].split()[-2:] == ["method", "verdicts_changed"]
    assert "judged from the stored counts" in table.stderr
