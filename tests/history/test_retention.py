"""Retention (issue 18): a store keeps events for a set number of years (UK GDPR)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from inclusion_audit import audit_register, read_reference_csv
from inclusion_audit.cli.app import cli
from inclusion_audit.history.store import Store, StoreError, open_store, years_before
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.result import AuditResult

from ..conftest import register_rows

TODAY = dt.date.today()


@pytest.fixture
def result(write_csv, small_reference) -> AuditResult:
    rows = register_rows({"sex": {"Female": 30, "Male": 12}, "age": {"16-34": 20, "35-64": 22}})
    register = write_csv("register.csv", rows)
    return audit_register(read_table(register), read_reference_csv(small_reference))


def _backdate(path: Path, event_id: int, day: dt.date) -> None:
    connection = sqlite3.connect(path)
    connection.execute("UPDATE events SET event_date = ? WHERE id = ?", (day.isoformat(), event_id))
    connection.commit()
    connection.close()


def test_a_new_store_keeps_events_three_years_and_purges_older_ones_on_open(
    tmp_path: Path, result: AuditResult
) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path, create=True) as store:
        assert store.retention_years == 3
        old = store.add(result, name="Old", date=TODAY, check_duplicates=False).event_id
        store.add(result, name="Recent", date=TODAY, check_duplicates=False)
        with pytest.raises(StoreError, match="keeps events for 3 years"):
            store.add(result, name="Ancient", date=years_before(TODAY, 4))
    _backdate(path, old, years_before(TODAY, 3) - dt.timedelta(days=1))
    with open_store(path) as store:
        assert [e.name for e in store.events()] == ["Recent"]
        assert store._db.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert store._db.execute(
            "SELECT count(*) FROM groups WHERE event_id = ?", (old,)
        ).fetchone() == (0,)


def test_retention_is_set_at_creation_only(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    open_store(path, create=True, retention_years=1).close()
    with open_store(path) as store:
        assert store.retention_years == 1
    with pytest.raises(StoreError, match="set when it was made"):
        open_store(path, retention_years=5)
    with pytest.raises(StoreError, match="whole number of years"):
        open_store(tmp_path / "other.sqlite", create=True, retention_years=0)


def test_a_read_only_copy_never_shows_expired_events(
    tmp_path: Path, result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path, create=True) as store:
        old = store.add(result, name="Old", date=TODAY).event_id
    _backdate(path, old, years_before(TODAY, 5))

    def cannot_write(self: Store, before: dt.date) -> None:
        raise StoreError("read-only")

    monkeypatch.setattr(Store, "purge", cannot_write)
    with open_store(path) as store:
        assert store.events() == []
        assert store._db.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_store_list_shows_retention_and_purge_deletes_older_events(
    runner, tmp_path: Path, result: AuditResult
) -> None:
    saved = tmp_path / "audit.json"
    saved.write_text(json.dumps(result.to_dict()), encoding="utf-8")
    path = tmp_path / "h.sqlite"
    added = runner.invoke(
        cli,
        [
            "store",
            "add",
            str(saved),
            "--store",
            str(path),
            "--event-name",
            "Forum",
            "--event-date",
            TODAY.isoformat(),
            "--retention-years",
            "2",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["store", "list", "--store", str(path)])
    assert "keeps events for 2 years" in listed.output
    assert "UK GDPR storage limitation" in listed.output
    _backdate(path, 1, TODAY - dt.timedelta(days=400))
    purged = runner.invoke(cli, ["store", "purge", "--store", str(path), "--older-than", "1y"])
    assert purged.exit_code == 0, purged.output
    assert "Deleted 1 event dated before" in purged.output
    wrong = runner.invoke(cli, ["store", "purge", "--store", str(path), "--older-than", "soon"])
    assert wrong.exit_code == 2
    assert "give years (2y), months (18m) or a date" in wrong.output
