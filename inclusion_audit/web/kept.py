"""Uploads kept for the fix-up page: encrypted, short-lived, swept by age.

When a register has answers no category matches, the officer answers them on
the page instead of uploading the file again. What the next request needs is
kept in the service's private folder (``web.scratch``), in its own area
``fixup``:

- only the register's characteristic columns (as the audit recognised them),
  never names, contact details, postcodes or free text; the other files of the
  form (population, quota, partners, mapping) and the form's fields;
- encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography``
  package) under a fresh random key that is not stored: it travels only in the
  officer's token (``<id>.<key>``), in a hidden form field, so neither the file
  nor the service's logs can be read without the page that holds it;
- for at most ``lifetime`` seconds (30 minutes), or until the report is made,
  whichever comes first: opening it checks the age by the clock (injectable for
  tests) as well as Fernet's own timestamp, and every worker's sweeper deletes
  it by age at start-up and every minute, so a killed worker cannot leave it
  behind.

>>> import tempfile
>>> kept = KeptUploads(Path(tempfile.mkdtemp()), lifetime=1800, clock=lambda: 1_000_000.0)
>>> token = kept.keep({"form": {"area": "Lambeth"}})
>>> kept.open(token)["form"]
{'area': 'Lambeth'}
>>> kept.discard(token); kept.open(token) is None
True
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXUP_AREA = "fixup"
KEEP_SECONDS = 30 * 60
"""The longest a kept upload may exist."""

_ID = re.compile(r"[A-Za-z0-9_-]{22}")


class KeptUploads:
    """Encrypted, expiring records in one folder of the private folder (see the module notes)."""

    def __init__(
        self,
        folder: Path,
        *,
        lifetime: float,
        clock: Callable[[], float] = time.time,
        make_folder: Callable[[], object] | None = None,
    ) -> None:
        self.folder = folder
        self.lifetime = lifetime
        self.clock = clock
        self._make_folder = make_folder or (lambda: folder.mkdir(mode=0o700, exist_ok=True))

    def keep(self, record: dict[str, Any], *, born: float | None = None) -> str:
        """Encrypt and write ``record`` (JSON-able); the token that opens it.

        ``born`` (default now) is when its time started: a record that replaces
        another keeps the first one's, so a fix-up never outlives its upload's 30 minutes.
        """
        from cryptography.fernet import Fernet

        self._make_folder()
        key = Fernet.generate_key()
        name = secrets.token_urlsafe(16)
        now = self.clock() if born is None else born
        data = Fernet(key).encrypt_at_time(json.dumps(record).encode("utf-8"), int(now))
        path = self.folder / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.utime(path, (now, now))  # the sweeper goes by this age
        return f"{name}.{key.decode('ascii')}"

    def open(self, token: str) -> dict[str, Any] | None:
        """The record, or None when the token is malformed, wrong, or its time is up."""
        from cryptography.fernet import Fernet, InvalidToken

        path, key = self._parse(token)
        if path is None or key is None:
            return None
        try:
            data = path.read_bytes()
            age = self.clock() - path.stat().st_mtime
        except OSError:
            return None
        if age >= self.lifetime:
            self._remove(path)
            return None
        try:
            plain = Fernet(key).decrypt_at_time(
                data, ttl=int(self.lifetime), current_time=int(self.clock())
            )
        except (InvalidToken, ValueError):
            return None
        record: dict[str, Any] = json.loads(plain)
        return record

    def replace(self, token: str, record: dict[str, Any]) -> str | None:
        """Keep ``record`` under a new token, as old as the one it replaces (then deleted);
        None when that one is gone."""
        path, _ = self._parse(token)
        if path is None:
            return None
        try:
            born = path.stat().st_mtime
        except OSError:
            return None
        fresh = self.keep(record, born=born)
        self._remove(path)
        return fresh

    def discard(self, token: str) -> None:
        """Delete the record now (its report is made)."""
        path, _ = self._parse(token)
        if path is not None:
            self._remove(path)

    def sweep(self) -> int:
        """Delete every record as old as the lifetime, by this store's clock."""
        now = self.clock()
        removed = 0
        with contextlib.suppress(OSError):
            for path in self.folder.iterdir():
                if _ID.fullmatch(path.name) and now - path.stat().st_mtime >= self.lifetime:
                    self._remove(path)
                    removed += 1
        return removed

    def _parse(self, token: str) -> tuple[Path | None, bytes | None]:
        name, _, key = token.strip().partition(".")
        if not _ID.fullmatch(name) or len(key) != 44:
            return None, None
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return None, None
        if len(raw) != 32:
            return None, None
        return self.folder / name, key.encode("ascii")

    @staticmethod
    def _remove(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
