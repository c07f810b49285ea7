"""A history of audits: one SQLite file of aggregates, for quarterly reviews.

The store keeps, per audited event, what a review needs and nothing more: the
event's name and date, what it was compared with, the settings, and per
characteristic and category the counts, population share, expected count,
ratio and status of the ``AuditResult``. Never names, contact details,
postcodes, free text or rows. An event is known by its rows' answers: a keyed
digest (HMAC-SHA-256) of them (``history.identity``), so the same register is
caught however it is named or sorted, and two events with equal counts are not
confused; a saved result, which has no rows, is known by a salted SHA-256 of its
register's bytes and of the result, as every event was before schema 4. The salt
is random, made with the store, and kept in it; it stops anyone matching a
store's fingerprints against those of another store or a list of known files.

Design notes:

* Every write is one transaction (``BEGIN IMMEDIATE``, so two officers adding at
  once cannot both pass the duplicate check): an event is stored whole or not
  at all. ``Store.adding`` keeps it open while the caller writes its reports, so
  a store that refuses leaves no report behind.
* Rollback journal, not WAL: a store is a single file that leads copy, email
  and keep on shared drives, where WAL's ``-wal`` and ``-shm`` side files get
  left behind and network file systems break its shared memory; writes are a
  few per quarter, so WAL's concurrency buys nothing.
* ``secure_delete`` is on, so a removed event's rows are overwritten, not left
  in free pages.
* The schema is versioned: the file records its version (SQLite's
  ``user_version``, and each step's time in ``schema_migrations``);
  ``_MIGRATIONS`` lists every step, and opening a store runs the ones it lacks,
  in order, in one transaction, so a store is upgraded whole or not at all. A
  store that is up to date opens without the write lock, so a read-only copy
  can still be listed and reviewed.

The module is one thing, the store's file format and every read and write of it
(migrations, the ``Store`` class, the stored types); checking a saved result file
before it is stored lives apart, in :mod:`.result_file`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inclusion_audit.errors import InputError
from inclusion_audit.history.result_file import (
    FIRST_YEAR,
    LAST_YEAR,
    ResultFileError,
    validate_result,
)
from inclusion_audit.result import AuditResult

_SALT_BYTES = 32


_CHUNK = 1 << 20


_AREA_CODE = re.compile(r"\(([EKNSW]\d{8})\)")


_ELIGIBLE_AGE = re.compile(r"residents aged (\S+)$")


_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


DEFAULT_RETENTION_YEARS = 3
"""How many years a new store keeps an event, unless it is made with another number."""

MAX_RETENTION_YEARS = 100


Migration = Callable[[sqlite3.Connection], None]
"""One step of the store's schema. It runs inside the transaction that opens the store."""


def _sql(*statements: str) -> Migration:
    """A migration of SQL statements, run in order."""

    def apply(db: sqlite3.Connection) -> None:
        for statement in statements:
            db.execute(statement)

    return apply


def _schema_1(db: sqlite3.Connection) -> None:
    """Events, their characteristics and groups, and the store's random salt."""
    _sql(
        "CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            event_date TEXT NOT NULL,
            reference TEXT NOT NULL,
            area_codes TEXT NOT NULL,
            eligible_age TEXT,
            n_participants INTEGER NOT NULL,
            tool_version TEXT NOT NULL,
            result_schema_version TEXT NOT NULL,
            settings TEXT NOT NULL,
            register_fingerprint TEXT UNIQUE,
            result_fingerprint TEXT UNIQUE,
            added_at TEXT NOT NULL
        )""",
        "CREATE INDEX events_by_date ON events (event_date, id)",
        """CREATE TABLE characteristics (
            event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            position INTEGER NOT NULL,
            n_known INTEGER NOT NULL,
            n_unknown INTEGER NOT NULL,
            n_blank INTEGER,
            n_declined INTEGER,
            PRIMARY KEY (event_id, name)
        )""",
        """CREATE TABLE groups (
            event_id INTEGER NOT NULL,
            characteristic TEXT NOT NULL,
            category TEXT NOT NULL,
            position INTEGER NOT NULL,
            count INTEGER NOT NULL,
            population_share REAL NOT NULL,
            expected_count REAL NOT NULL,
            ratio REAL,
            status TEXT NOT NULL,
            PRIMARY KEY (event_id, characteristic, category),
            FOREIGN KEY (event_id, characteristic)
                REFERENCES characteristics (event_id, name) ON DELETE CASCADE
        )""",
    )(db)
    db.execute(
        "INSERT INTO metadata (key, value) VALUES ('salt', ?)", (secrets.token_hex(_SALT_BYTES),)
    )


_MIGRATIONS: dict[int, Migration] = {
    1: _schema_1,
    # An event's identity from its own rows: a salted SHA-256 of the content of the
    # rows it was audited from (``None`` for events stored before, and for results
    # that do not say).
    2: _sql(
        "ALTER TABLE events ADD COLUMN content_fingerprint TEXT",
        "CREATE UNIQUE INDEX events_by_content ON events (content_fingerprint)",
    ),
    # How long events are kept (UK GDPR storage limitation): a number of years, set when
    # the store is made; events dated earlier are deleted when the store is opened.
    3: _sql(
        "INSERT OR IGNORE INTO metadata (key, value) VALUES "
        f"('retention_years', '{DEFAULT_RETENTION_YEARS}')",
    ),
    # Two events may have identical results (the March and April registers of a monthly
    # forum, with the same counts): an event known by its rows keeps its result's
    # fingerprint here, where it need not be unique, and none in ``result_fingerprint``
    # (UNIQUE since schema 1, which SQLite cannot drop without rebuilding the table).
    4: _sql(
        "ALTER TABLE events ADD COLUMN result_digest TEXT",
        "UPDATE events SET result_digest = result_fingerprint",
        "CREATE INDEX events_by_result ON events (result_digest)",
    ),
}
"""Every step of the store's schema, numbered 1, 2, 3… without gaps.

To change the schema, add the next number: ``_sql("ALTER TABLE …", …)`` or a
function of the connection. Never edit a step that has been released: stores
in use have run it already. Opening a store runs the steps it lacks, in order,
in one transaction, and records the new version in the file (SQLite's
``user_version``) and in ``schema_migrations`` with the time each step ran.
"""

STORE_SCHEMA_VERSION = max(_MIGRATIONS)
"""The newest store schema this version of the tool writes and reads."""


class StoreError(InputError):
    """The store file cannot be opened, read or written as asked."""


class DuplicateEventError(StoreError):
    """The register (or the same audit result) is already in the store."""


class EventNotFoundError(StoreError):
    """No stored event has the given id."""


@dataclass(frozen=True)
class StoredGroup:
    """One category of one characteristic at one event."""

    category: str
    count: int
    population_share: float
    expected_count: float
    ratio: float | None
    status: str


@dataclass(frozen=True)
class StoredCharacteristic:
    """One audited characteristic at one event; ``n_blank``/``n_declined`` may be unknown."""

    name: str
    n_known: int
    n_unknown: int
    n_blank: int | None
    n_declined: int | None
    groups: tuple[StoredGroup, ...]


@dataclass(frozen=True)
class StoredEvent:
    """An audited event as the store holds it: aggregates only."""

    id: int
    name: str
    date: dt.date
    reference: str
    area_codes: tuple[str, ...]
    eligible_age: str | None
    n_participants: int
    tool_version: str
    result_schema_version: str
    settings: dict[str, Any]
    added_at: str
    characteristics: tuple[StoredCharacteristic, ...] = ()


@dataclass(frozen=True)
class Added:
    """What ``Store.add`` did: the new event's id, and the id it replaced, if any."""

    event_id: int
    replaced: int | None = None


@dataclass(frozen=True)
class NewEvent:
    """An event to add: its result, name and date, and what it is known by.

    ``content_fingerprint`` (``Store.content_fingerprint``) is the event's identity
    when its rows are known: two events are the same exactly when their rows'
    answers are. Without it (a saved result file), the event is known by its
    register's fingerprint and its result, as before schema 4. ``source`` names
    the event in messages.
    """

    result: AuditResult | Mapping[str, Any]
    name: str
    date: dt.date
    register_fingerprint: str | None = None
    content_fingerprint: str | None = None
    source: str = "the result"


class Store:
    """An open store. Use ``open_store``; close it (or use it as a context manager)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @property
    def retention_years(self) -> int:
        """How many years an event is kept, counted from its date."""
        row = self._db.execute(
            "SELECT value FROM metadata WHERE key = 'retention_years'"
        ).fetchone()
        return int(row[0]) if row else DEFAULT_RETENTION_YEARS

    def retention_cutoff(self, today: dt.date | None = None) -> dt.date:
        """The oldest event date the store keeps today (events before it are purged)."""
        return years_before(today or dt.date.today(), self.retention_years)

    def purge(self, before: dt.date) -> list[StoredEvent]:
        """Delete every event dated before ``before``; the events deleted, oldest first."""
        old = self._expired(before)
        if old:
            with self._transaction():
                self._db.execute("DELETE FROM events WHERE event_date < ?", (before.isoformat(),))
        return old

    def _expired(self, before: dt.date) -> list[StoredEvent]:
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_date < ? ORDER BY event_date, id",
            (before.isoformat(),),
        ).fetchall()
        return [_event(row) for row in rows]

    def fingerprint(self, data: bytes | Path) -> str:
        """The salted SHA-256 (hex) of a register's bytes, or of a file's, read in chunks."""
        digest = hashlib.sha256(self._salt())
        if isinstance(data, Path):
            try:
                with data.open("rb") as stream:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
            except OSError as error:
                raise StoreError(f"could not read {data} to fingerprint it: {error}.") from error
        else:
            digest.update(data)
        return digest.hexdigest()

    def add(
        self,
        result: AuditResult | Mapping[str, Any],
        *,
        name: str,
        date: dt.date,
        register_fingerprint: str | None = None,
        content_fingerprint: str | None = None,
        replace: bool = False,
        check_duplicates: bool = True,
        source: str = "the result",
    ) -> Added:
        """Store one audit result as an event; all of it or nothing.

        ``result`` is an ``AuditResult`` or its JSON form (``to_dict``), which is
        validated first. An event already stored (see ``adding``) raises
        ``DuplicateEventError``, unless ``replace`` swaps the old event for it.
        ``check_duplicates=False`` stores no fingerprints at all: for bulk loads
        of results known to differ, such as benchmarks. ``source`` names the
        result in error messages.
        """
        event = NewEvent(result, name, date, register_fingerprint, content_fingerprint, source)
        with self.adding([event], replace=replace, check_duplicates=check_duplicates) as added:
            pass
        return added[0]

    @contextmanager
    def adding(
        self,
        events: Sequence[NewEvent],
        *,
        replace: bool = False,
        check_duplicates: bool = True,
    ) -> Iterator[list[Added]]:
        """Add events in one write transaction that stays open for the ``with`` block.

        The transaction (``BEGIN IMMEDIATE``) is taken first, so the duplicate check
        and the insert see the store as no other process can change it until the
        commit: of two processes adding the same register at once, the second waits,
        then is refused. Every refusal (an event already stored, a store that is
        locked, read-only or full) is raised on entry, before the block runs, so a
        caller writes its reports inside the block and writes nothing when the store
        refuses. An error in the block rolls everything back.

        Which events are the same: an event with a ``content_fingerprint`` is the
        stored one with the same fingerprint (the same rows, whatever the file's
        name or the rows' order), and never one whose rows differ, even where every
        count is equal. Events stored without one (before schema 4, or from a result
        file) keep the earlier rule: the same register's bytes, or the same result.
        """
        data = []
        for event in events:
            found = _as_dict(event.result)
            validate_result(found, event.source)
            data.append(found)
        names = [self._checked_name_and_date(event) for event in events]
        identities = [
            _Identity.of(self, event, found, check_duplicates)
            for event, found in zip(events, data, strict=True)
        ]
        with self._transaction():
            refused = []
            replaced: list[int | None] = []
            for identity in identities:
                try:
                    replaced.append(
                        self._check_new(identity, replace) if check_duplicates else None
                    )
                except DuplicateEventError as error:
                    refused.append(str(error))
            if refused:
                ending = " Nothing was written." if len(events) > 1 else ""
                raise DuplicateEventError(
                    "; ".join(m.removesuffix(".") for m in refused) + "." + ending
                )
            added = []
            for event, found, name, identity, old in zip(
                events, data, names, identities, replaced, strict=True
            ):
                if old is not None:
                    if identity.register is None and identity.content is None:
                        # A saved result replacing an audited register still stands for it.
                        row = self._db.execute(
                            "SELECT register_fingerprint FROM events WHERE id = ?", (old,)
                        ).fetchone()
                        identity = _with_register(identity, row[0])
                    self._db.execute("DELETE FROM events WHERE id = ?", (old,))
                added.append(Added(self._insert(found, name, event.date, identity), old))
            yield added

    def _checked_name_and_date(self, event: NewEvent) -> str:
        name = clean_text(event.name)
        if not name:
            raise StoreError("the event name is empty: give one with --event-name.")
        _check_year(event.date)
        if event.date < (cutoff := self.retention_cutoff()):
            raise StoreError(
                f"the event's date {event.date.isoformat()} is before {cutoff.isoformat()}: "
                f"this store keeps events for {self.retention_years} years (UK GDPR storage "
                "limitation), so it would be deleted at once. Check the date."
            )
        return name

    def check_new(
        self,
        result: AuditResult | Mapping[str, Any],
        register_fingerprint: str | None = None,
        *,
        content_fingerprint: str | None = None,
        replace: bool = False,
        source: str = "the result",
    ) -> int | None:
        """Raise ``DuplicateEventError`` if ``add`` would refuse this result now.

        Returns the id of the event ``replace`` would swap out, if any. Another
        process may add the same event before this one does: to check and add as
        one step, use ``adding``.
        """
        event = NewEvent(
            result, "-", dt.date.today(), register_fingerprint, content_fingerprint, source
        )
        return self._check_new(_Identity.of(self, event, _as_dict(result), True), replace)

    def content_fingerprint(self, rows: bytes) -> str:
        """The event's identity from its rows: a keyed digest (HMAC-SHA-256, keyed by
        the store's random salt) of ``rows``, the canonical text of the rows' answers
        (``history.identity.answer_rows``)."""
        return hmac.new(self._salt(), b"content-v1\0" + rows, hashlib.sha256).hexdigest()

    def events(
        self, start: dt.date | None = None, end: dt.date | None = None, *, details: bool = True
    ) -> list[StoredEvent]:
        """Stored events dated from ``start`` to ``end`` (inclusive), oldest first.

        With ``details`` each carries its characteristics and groups.
        """
        # Past the retention period an event is never used, even in a store that could
        # not be purged when it was opened (a read-only copy).
        start = max(start or dt.date.min, self.retention_cutoff())
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_date >= ? AND event_date <= ? "
            "ORDER BY event_date, id",
            (start.isoformat(), (end or dt.date.max).isoformat()),
        ).fetchall()
        events = [_event(row) for row in rows]
        if not details or not events:
            return events
        window = (events[0].date.isoformat(), events[-1].date.isoformat())
        groups: dict[tuple[int, str], list[StoredGroup]] = {}
        for row in self._db.execute(
            "SELECT g.event_id, g.characteristic, g.category, g.count, g.population_share, "
            "g.expected_count, g.ratio, g.status FROM groups g JOIN events e ON e.id = g.event_id "
            "WHERE e.event_date BETWEEN ? AND ? ORDER BY g.event_id, g.characteristic, g.position",
            window,
        ):
            groups.setdefault((row[0], row[1]), []).append(StoredGroup(*row[2:]))
        characteristics: dict[int, list[StoredCharacteristic]] = {}
        for row in self._db.execute(
            "SELECT c.event_id, c.name, c.n_known, c.n_unknown, c.n_blank, c.n_declined "
            "FROM characteristics c JOIN events e ON e.id = c.event_id "
            "WHERE e.event_date BETWEEN ? AND ? ORDER BY c.event_id, c.position",
            window,
        ):
            event_id, name, n_known, n_unknown, n_blank, n_declined = row
            characteristics.setdefault(event_id, []).append(
                StoredCharacteristic(
                    name,
                    n_known,
                    n_unknown,
                    n_blank,
                    n_declined,
                    tuple(groups.get((event_id, name), ())),
                )
            )
        return [
            replace(event, characteristics=tuple(characteristics.get(event.id, ())))
            for event in events
        ]

    def remove(self, event_id: int) -> StoredEvent:
        """Remove one event and everything stored with it; returns what was removed."""
        with self._transaction():
            event = self._summary(event_id)
            self._db.execute("DELETE FROM events WHERE id = ?", (event_id,))
        return event

    def _summary(self, event_id: int) -> StoredEvent:
        row = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
        ).fetchone()
        if row is None:
            raise EventNotFoundError(
                f"{self.path.name} has no event {event_id}. See the ids with "
                f"`inclusion-audit store list --store {self.path}`."
            )
        return _event(row)

    def _salt(self) -> bytes:
        row = self._db.execute("SELECT value FROM metadata WHERE key = 'salt'").fetchone()
        return bytes.fromhex(row[0])

    def _result_fingerprint(self, data: Mapping[str, Any]) -> str:
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return self.fingerprint(canonical.encode("utf-8"))

    def _check_new(self, identity: _Identity, replace: bool) -> int | None:
        existing = self._duplicate_id(identity)
        if existing is not None and not replace:
            event = self._summary(existing)
            stored = (
                f"event {event.id} ({event.name!r}, {event.date.isoformat()}, added "
                f"{event.added_at})"
            )
            by_rows = (
                identity.content is not None
                and self._db.execute(
                    "SELECT 1 FROM events WHERE id = ? AND content_fingerprint = ?",
                    (existing, identity.content),
                ).fetchone()
            )
            why = ": the same answers, row for row" if by_rows else ""
            raise DuplicateEventError(
                f"{identity.source} is already in {self.path.name} as {stored}{why}. Leave it "
                "out, or add --replace to store this one in its place."
            )
        return existing

    def _duplicate_id(self, identity: _Identity) -> int | None:
        if identity.content is not None:
            # Known by its rows: the same rows, or an event stored before rows were known
            # (schema < 4, or a result file) that matches by the earlier rule.
            row = self._db.execute(
                "SELECT id FROM events WHERE content_fingerprint = ? OR (content_fingerprint IS "
                "NULL AND (result_digest = ? OR register_fingerprint = ?)) ORDER BY id",
                (identity.content, identity.result, identity.register),
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT id FROM events WHERE result_digest = ? OR register_fingerprint = ? "
                "ORDER BY id",
                (identity.result, identity.register),
            ).fetchone()
        return int(row[0]) if row is not None else None

    def _insert(
        self, data: Mapping[str, Any], name: str, date: dt.date, identity: _Identity
    ) -> int:
        reference = clean_text(str(data["reference"]))
        age = _ELIGIBLE_AGE.search(reference)
        cursor = self._db.execute(
            "INSERT INTO events (name, event_date, reference, area_codes, eligible_age, "
            "n_participants, tool_version, result_schema_version, settings, "
            "register_fingerprint, result_fingerprint, result_digest, content_fingerprint, "
            "added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                date.isoformat(),
                reference,
                json.dumps(_AREA_CODE.findall(reference)),
                age.group(1) if age else None,
                int(data["n_participants"]),
                str(data["tool"]["version"]),
                str(data["schema_version"]),
                # The method behind the stored statuses: results before method 2 had none.
                json.dumps(
                    {**data["settings"], "method_version": str(data.get("method_version", "1"))},
                    sort_keys=True,
                ),
                identity.register,
                # Unique: only for events known by their result (see migration 4).
                identity.result if identity.content is None else None,
                identity.result,
                identity.content,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            ),
        )
        event_id = cursor.lastrowid
        assert event_id is not None
        for position, characteristic in enumerate(data["characteristics"]):
            self._db.execute(
                "INSERT INTO characteristics (event_id, name, position, n_known, n_unknown, "
                "n_blank, n_declined) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    characteristic["name"],
                    position,
                    characteristic["n_known"],
                    characteristic["n_unknown"],
                    characteristic.get("n_blank"),
                    characteristic.get("n_declined"),
                ),
            )
            self._db.executemany(
                "INSERT INTO groups (event_id, characteristic, category, position, count, "
                "population_share, expected_count, ratio, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        event_id,
                        characteristic["name"],
                        group["category"],
                        index,
                        group["count"],
                        group["population_share"],
                        group["expected_count"],
                        group.get("ratio"),
                        group["status"],
                    )
                    for index, group in enumerate(characteristic["groups"])
                ],
            )
        return event_id

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise _store_error(self.path, error, "written") from error
        try:
            yield
        except sqlite3.OperationalError as error:
            self._db.execute("ROLLBACK")
            raise _store_error(self.path, error, "written") from error
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self._db.execute("ROLLBACK")
            raise _store_error(self.path, error, "written") from error


@dataclass(frozen=True)
class _Identity:
    """What an event is known by: its rows' content, its register's bytes, its result."""

    content: str | None
    register: str | None
    result: str | None
    source: str

    @classmethod
    def of(
        cls, store: Store, event: NewEvent, data: Mapping[str, Any], check_duplicates: bool
    ) -> _Identity:
        if not check_duplicates:
            return cls(None, None, None, event.source)
        return cls(
            event.content_fingerprint,
            event.register_fingerprint,
            store._result_fingerprint(data),
            event.source,
        )


def _with_register(identity: _Identity, register: str | None) -> _Identity:
    return replace(identity, register=register)


_EVENT_COLUMNS = (
    "id, name, event_date, reference, area_codes, eligible_age, n_participants, tool_version, "
    "result_schema_version, settings, added_at"
)


def open_store(path: Path, *, create: bool = False, retention_years: int | None = None) -> Store:
    """Open the store at ``path``, bringing its schema up to date, and purge old events.

    A new store keeps events for ``retention_years`` (default 3); the period is
    set when the store is made, and asking an existing store for another is an
    error. Events dated before the period are deleted on open (when the file can
    be written; a read-only copy just never shows them).

    With ``create`` a missing file becomes a new, empty store with a fresh salt;
    without it a missing file is an error, so a mistyped name never starts a
    second history. Raises ``StoreError`` for a folder, a file that is not a
    store, one written by a newer version of the tool, one that another program
    holds locked, or one that needs upgrading but cannot be written.
    """
    if path.is_dir():
        raise StoreError(
            f"{path} is a folder, not a store. Give the store's file, e.g. "
            f"{path / 'history.sqlite'}."
        )
    if not create and not path.is_file():
        raise StoreError(
            f"{path} does not exist. Audits are added with `inclusion-audit audit ... --store "
            f"{path}` or `inclusion-audit store add AUDIT.json --store {path}`."
        )
    if path.exists() and not path.is_file():
        raise StoreError(f"{path} is not a file. Give the store's file name, e.g. history.sqlite.")
    if not create and path.stat().st_size == 0:
        raise StoreError(
            f"{path} is empty, not a store made by `audit --store` or `store add`. Give the "
            "store's file name; nothing was written to it."
        )
    if retention_years is not None and not 1 <= retention_years <= MAX_RETENTION_YEARS:
        raise StoreError(
            f"a retention period of {retention_years} years: give a whole number of years from "
            f"1 to {MAX_RETENTION_YEARS} (UK GDPR: keep events no longer than the reviews need)."
        )
    new = not path.exists() or path.stat().st_size == 0
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_SECONDS)
    except sqlite3.Error as error:
        raise StoreError(f"{path} cannot be opened as a store: {error}.") from error
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA secure_delete = ON")
        _migrate(connection, path, create=create)
        store = Store(path, connection)
        _set_retention(store, connection, retention_years, new=new)
        with contextlib.suppress(StoreError):  # a read-only copy: events() hides them
            store.purge(store.retention_cutoff())
    except sqlite3.DatabaseError as error:
        connection.close()
        raise _store_error(path, error, "opened") from error
    except BaseException:
        connection.close()
        raise
    return store


def _set_retention(
    store: Store, connection: sqlite3.Connection, years: int | None, *, new: bool
) -> None:
    if years is None or years == store.retention_years:
        return
    if not new:
        raise StoreError(
            f"{store.path} keeps events for {store.retention_years} years, set when it was made; "
            "leave out the retention period, or start a new store."
        )
    connection.execute("UPDATE metadata SET value = ? WHERE key = 'retention_years'", (str(years),))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same date ``years`` earlier (28 February for a 29th of February).

    >>> years_before(dt.date(2028, 2, 29), 3)
    datetime.date(2025, 2, 28)
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


_BUSY_SECONDS = 10
"""How long to wait for another process's write to a store to finish."""


def _store_error(path: Path, error: sqlite3.DatabaseError, doing: str) -> StoreError:
    """The message for an SQLite error: locked, read-only, full, or not a store at all."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            f"{path} is in use: another program has held it locked for over {_BUSY_SECONDS} "
            f"seconds, so it could not be {doing}. Try again when the other audit, review or "
            "program has finished with it; nothing was written."
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(
            f"{path} cannot be written ({error}). Check that you may change the file and the "
            "folder it is in (SQLite writes a journal file next to it); nothing was written."
        )
    if "disk" in text or "full" in text or "i/o" in text:
        return StoreError(f"{path} could not be {doing} ({error}); nothing was written.")
    if isinstance(error, sqlite3.OperationalError) and doing != "opened":
        return StoreError(f"{path} could not be {doing} ({error}); nothing was written.")
    return StoreError(
        f"{path} is not an inclusion-audit store ({error}). Give the file made by "
        "`audit --store` or `store add`."
    )


def store_version(connection: sqlite3.Connection) -> int:
    """The schema version a store's file records (0: not a store yet).

    The version is SQLite's ``user_version``, with each step's time in
    ``schema_migrations``; stores made before ``user_version`` was set (schema
    1) have only the table, so the newer of the two counts.
    """
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    try:
        (newest,) = connection.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except sqlite3.OperationalError:  # no such table
        newest = 0
    return max(int(version), int(newest or 0))


def _migrate(connection: sqlite3.Connection, path: Path, *, create: bool) -> None:
    tables = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    if (tables or not create) and "schema_migrations" not in tables:
        # Without ``create`` only a store is opened: an empty SQLite file is left as it is.
        raise StoreError(
            f"{path} is an SQLite file but not an inclusion-audit store. Give another file name."
        )
    if _check_version(store_version(connection), path) == STORE_SCHEMA_VERSION:
        return  # up to date: open without taking the write lock, so read-only stores open
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        raise _store_error(path, error, "upgraded to this version's schema") from error
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        # Read again under the lock: another process may have upgraded it meanwhile.
        version = _check_version(store_version(connection), path)
        for step in range(version + 1, STORE_SCHEMA_VERSION + 1):
            _MIGRATIONS[step](connection)
            connection.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (step, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
            )
        connection.execute(f"PRAGMA user_version = {STORE_SCHEMA_VERSION:d}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    try:
        connection.execute("COMMIT")
    except sqlite3.OperationalError as error:
        connection.execute("ROLLBACK")
        raise _store_error(path, error, "upgraded to this version's schema") from error


def _check_version(version: int, path: Path) -> int:
    if version > STORE_SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer inclusion-audit (store schema {version}; this "
            f"version reads up to {STORE_SCHEMA_VERSION}). Upgrade inclusion-audit."
        )
    return version


def event_name_and_date(
    result: AuditResult | Mapping[str, Any],
    name: str | None,
    date: dt.date | None,
    source: str,
) -> tuple[str, dt.date]:
    """The name and date to store a result under: as given, else from its event details.

    The name falls back to the register's file name without its suffix; a date
    must come from somewhere, since reviews group events by it.
    """
    data = _as_dict(result)
    event = data.get("event") or {}
    register = data.get("register") or {}
    if not isinstance(event, dict) or not isinstance(register, dict):
        raise ResultFileError(f"{source}: keys 'event' and 'register' must be objects.")
    if name is None:
        title = event.get("title")
        if title is not None and not isinstance(title, str):
            raise ResultFileError(f"{source}: key 'event.title' is not a string.")
        name = title or Path(str(register.get("file") or source)).stem
    name = clean_text(name)
    if not name:
        raise StoreError(f"{source}: the event name is empty: give one with --event-name.")
    if date is None:
        given = event.get("date")
        if not given:
            raise StoreError(
                f"{source} has no event date, and reviews group events by date: add "
                "--event-date YYYY-MM-DD (or an --event file with a date, when auditing)."
            )
        try:
            date = dt.date.fromisoformat(str(given))
        except ValueError as error:
            raise ResultFileError(f"{source}: key 'event.date' {given!r} is not a date.") from error
    _check_year(date)
    return name, date


def _check_year(date: dt.date) -> None:
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        raise StoreError(
            f"the event date {date.isoformat()} is not a year this tool stores: give a date "
            f"from {FIRST_YEAR} to {LAST_YEAR}."
        )


def clean_text(text: str) -> str:
    """Text safe to print on a terminal: control and bidi characters become spaces.

    Newlines, escape sequences and direction overrides in an event name would
    otherwise reach ``store list`` and the reports raw.

    >>> clean_text("Forum\\n\\x1b[2Jday ")
    'Forum [2Jday'
    """
    return " ".join("".join(" " if _is_control(char) else char for char in text).split())


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS


def _as_dict(result: AuditResult | Mapping[str, Any]) -> dict[str, Any]:
    return result.to_dict() if isinstance(result, AuditResult) else dict(result)


def _event(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        name=clean_text(row[1]),
        date=dt.date.fromisoformat(row[2]),
        reference=clean_text(row[3]),
        area_codes=tuple(json.loads(row[4])),
        eligible_age=row[5],
        n_participants=row[6],
        tool_version=row[7],
        result_schema_version=row[8],
        settings=json.loads(row[9]),
        added_at=row[10],
    )
