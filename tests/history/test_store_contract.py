"""The store's contract with `audit --store`: refuse before writing; one writer; events by rows.

* The store is checked (writable, not locked, the event new) before any report is
  written, in the write transaction that then stores the event; a refusal writes
  nothing and exits 2 with one message.
* Two processes adding the same register at once: one is stored, the other is
  refused and has written no report.
* An event is known by its rows' answers: the March and April registers of a monthly
  forum (same file name, same counts, different people) are both kept; the same
  register renamed or re-sorted is refused, naming the earlier event and when it was
  added; events stored before schema 4 keep the earlier rule.
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from inclusion_audit.history import store as store_module
from inclusion_audit.history.store import open_store

from ..conftest import EXAMPLES, REPO
from .test_store import _store_of_schema_1, invoke

EXAMPLE = EXAMPLES / "riverside-forum-register.csv"
AUDIT = ["--area", "Lambeth", "--eligible-age", "16+", "-q"]


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _april(folder: Path) -> Path:
    """The example register with two people's ethnic groups swapped: other people, but
    every characteristic's counts (and so the whole result) the same as March's."""
    rows = _rows(EXAMPLE)
    head, body = rows[0], rows[1:]
    ethnic, age = head.index("Ethnic group"), head.index("Age")
    other = next(
        i
        for i, row in enumerate(body)
        if row[ethnic] != body[0][ethnic] and row[age] != body[0][age]
    )
    body[0][ethnic], body[other][ethnic] = body[other][ethnic], body[0][ethnic]
    return _write(folder / EXAMPLE.name, [head, *body])


def test_march_and_april_with_the_same_counts_are_both_stored(runner, tmp_path) -> None:
    store = tmp_path / "h.sqlite"
    march = invoke(
        runner,
        "audit",
        EXAMPLE,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'march'}/",
        "--event-name",
        "Forum March",
        "--event-date",
        "2025-03-05",
    )
    assert march.exit_code == 0, march.stderr
    april_register = _april(tmp_path / "april-export")
    april = invoke(
        runner,
        "audit",
        april_register,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'april'}/",
        "--event-name",
        "Forum April",
        "--event-date",
        "2025-04-02",
    )
    assert april.exit_code == 0, april.stderr
    assert (tmp_path / "march" / "audit.json").read_bytes().replace(b"2025-03-05", b"") == (
        tmp_path / "april" / "audit.json"
    ).read_bytes().replace(b"2025-04-02", b"")
    with open_store(store) as history:
        assert [e.name for e in history.events(details=False)] == ["Forum March", "Forum April"]


def test_the_same_register_renamed_or_re_sorted_is_refused_and_writes_nothing(
    runner, tmp_path
) -> None:
    store = tmp_path / "h.sqlite"
    first = invoke(
        runner,
        "audit",
        EXAMPLE,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'first'}/",
        "--event-name",
        "Forum March",
        "--event-date",
        "2025-03-05",
    )
    assert first.exit_code == 0, first.stderr
    rows = _rows(EXAMPLE)
    body = rows[1:]
    random.Random(7).shuffle(body)
    # Renamed, rows re-sorted, columns in another order and one column more.
    moved = [[r[-1], *r[:-1], "x"] for r in [rows[0], *body]]
    again = _write(tmp_path / "export" / "forum-march-final.csv", moved)
    refused = invoke(
        runner,
        "audit",
        again,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'again'}/",
        "--event-date",
        "2025-05-01",
    )
    assert refused.exit_code == 2
    message = refused.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert (
        "forum-march-final.csv is already in h.sqlite as event 1 ('Forum March', 2025-03-05"
        in message
    )
    assert ", added 20" in message and "the same answers, row for row" in message
    assert "--replace" in message
    assert not (tmp_path / "again").exists()
    replaced = invoke(
        runner,
        "audit",
        again,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'again'}/",
        "--event-date",
        "2025-05-01",
        "--replace",
    )
    assert replaced.exit_code == 0, replaced.stderr
    with open_store(store) as history:
        assert [(e.id, e.date.isoformat()) for e in history.events(details=False)] == [
            (2, "2025-05-01")
        ]


def test_a_locked_store_refuses_before_any_report_is_written(runner, tmp_path, monkeypatch) -> None:
    store = tmp_path / "h.sqlite"
    open_store(store, create=True).close()
    monkeypatch.setattr(store_module, "_BUSY_SECONDS", 0.1)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program is writing: readers may still read
    try:
        done = invoke(
            runner,
            "audit",
            EXAMPLE,
            *AUDIT,
            "--store",
            store,
            "-o",
            f"{tmp_path / 'out'}/",
            "--event-date",
            "2025-03-05",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.exit_code == 2
    assert "is in use" in done.stderr and "nothing was written" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_read_only_store_refuses_before_any_report_is_written(
    runner, tmp_path, monkeypatch
) -> None:
    store = tmp_path / "h.sqlite"
    open_store(store, create=True).close()
    connect = sqlite3.connect

    def read_only(path, *args, **kwargs):  # what a file the user may not change gives
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", read_only)
    done = invoke(
        runner,
        "audit",
        EXAMPLE,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'out'}/",
        "--event-date",
        "2025-03-05",
    )
    assert done.exit_code == 2
    assert "cannot be written" in done.stderr and "nothing was written" in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_report_that_cannot_be_written_stores_nothing(runner, tmp_path) -> None:
    store = tmp_path / "h.sqlite"
    (tmp_path / "taken").write_text("a file where the report folder should go")
    done = invoke(
        runner,
        "audit",
        EXAMPLE,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'taken' / 'out'}/",
        "--event-date",
        "2025-03-05",
    )
    assert done.exit_code != 0
    with open_store(store, create=True) as history:
        assert history.events(details=False) == []


def test_two_processes_adding_the_same_register_at_once_store_it_once(tmp_path) -> None:
    store = tmp_path / "h.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inclusion_audit",
                "audit",
                str(EXAMPLE),
                *AUDIT,
                "--store",
                str(store),
                "-o",
                str(tmp_path / f"out{i}") + "/",
                "--event-date",
                "2025-03-05",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    outcomes = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        outcomes.append((process.returncode, stderr))
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    for i, (code, stderr) in enumerate(outcomes):
        written = tmp_path / f"out{i}" / "audit.json"
        if code == 2:
            assert "is already in h.sqlite as event 1" in stderr
            assert not written.exists() and not written.parent.exists()
        else:
            assert written.exists()
    with open_store(store) as history:
        assert len(history.events(details=False)) == 1


def test_events_stored_before_rows_were_known_keep_the_earlier_rule(runner, tmp_path) -> None:
    # The schema-1 store holds the example register (Lambeth, 16+), known by its bytes.
    store = _store_of_schema_1(tmp_path / "old.sqlite")
    done = invoke(
        runner,
        "audit",
        EXAMPLE,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'out'}/",
        "--event-date",
        "2025-06-01",
    )
    assert done.exit_code == 2 and "is already in old.sqlite as event 1" in done.stderr
    assert "row for row" not in done.stderr
    assert not (tmp_path / "out").exists()
    with open_store(store) as history:
        (row,) = history._db.execute(
            "SELECT content_fingerprint, result_digest IS NOT NULL FROM events"
        ).fetchall()
    assert row == (None, 1)


def test_the_store_keeps_no_answer_only_a_keyed_digest(runner, tmp_path) -> None:
    store = tmp_path / "h.sqlite"
    invoke(
        runner,
        "audit",
        EXAMPLE,
        *AUDIT,
        "--store",
        store,
        "-o",
        f"{tmp_path / 'out'}/",
        "--event-date",
        "2025-03-05",
    )
    import hashlib
    import json

    from inclusion_audit.history.identity import answer_rows
    from inclusion_audit.ingest.readers import read_table

    result = json.loads((tmp_path / "out" / "audit.json").read_text())
    connection = sqlite3.connect(store)
    (stored,) = connection.execute("SELECT content_fingerprint FROM events").fetchone()
    connection.close()
    assert len(stored) == 64
    assert "Synthetic Person" not in store.read_bytes().decode("latin-1")
    # Not a plain digest of the answers: it is keyed by the store's salt.
    from inclusion_audit.audit import run_audit  # noqa: F401  (the audit the CLI ran)

    assert result["n_participants"] == 240
    text = answer_rows(read_table(EXAMPLE), _audited(EXAMPLE))
    assert text is not None and b"synthetic" not in text.lower() and b"@" not in text
    assert hashlib.sha256(text).hexdigest() != stored


def _audited(path: Path):
    from inclusion_audit.audit import run_audit
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference

    source, quotas = choose_reference(["Lambeth"], "16+", None, None)
    return run_audit(read_table(path), source, quotas=quotas)


@pytest.mark.parametrize("order", ["same", "reversed"])
def test_answer_rows_ignore_row_order_names_and_contact_details(tmp_path, order) -> None:
    from inclusion_audit.history.identity import answer_rows
    from inclusion_audit.ingest.readers import read_table

    rows = _rows(EXAMPLE)
    body = rows[1:] if order == "same" else rows[:0:-1]
    for row in body:
        row[1], row[2] = "Someone Else", "else@example.invalid"
    copy = _write(tmp_path / "copy.csv", [rows[0], *body])
    result = _audited(EXAMPLE)
    assert answer_rows(read_table(copy), result) == answer_rows(read_table(EXAMPLE), result)
