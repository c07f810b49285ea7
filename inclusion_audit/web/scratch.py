"""The service's one private folder for files, and the sweeper that bounds their lifetime.

Every file the service writes lives under one folder that only its user can
open (mode 0700), ``$INCLUSION_AUDIT_SCRATCH`` or ``inclusion-audit-<uid>`` in
the system's temporary folder::

    requests/<pid>-<random>/   one request's uploads: deleted when its answer is ready
    <area>/                    files a feature keeps on purpose, each for at most the
                               seconds written in <area>/.lifetime

A request folder is deleted by its request; if the worker process dies first
(killed, or out of memory), any worker's sweeper deletes it: at start-up, and
then every minute, it removes request folders whose process has gone or that
are older than a request may last, and an area's entries older than its
lifetime. Sweeping goes by age and owner, never by "everything", so one
worker restarting does not delete what another is using, and files an area
keeps on purpose survive a restart until their time is up.

>>> import tempfile
>>> scratch = Scratch(Path(tempfile.mkdtemp()) / "s", request_lifetime=60)
>>> scratch.prepare()
>>> with scratch.request_folder() as folder:
...     _ = (folder / "register.csv").write_text("Age\\n16-24\\n")
>>> list((scratch.root / "requests").iterdir())
[]
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from inclusion_audit.errors import InputError

_REQUESTS = "requests"
_LIFETIME_FILE = ".lifetime"


class ScratchError(InputError):
    """The service's private folder cannot be used safely."""


def default_root() -> Path:
    """``$INCLUSION_AUDIT_SCRATCH``, else ``inclusion-audit-<uid>`` in the temporary folder."""
    chosen = os.environ.get("INCLUSION_AUDIT_SCRATCH")
    if chosen:
        return Path(chosen)
    return Path(tempfile.gettempdir()) / f"inclusion-audit-{os.getuid()}"


class Scratch:
    """The private folder (see the module notes); ``prepare`` it before use."""

    def __init__(self, root: Path, *, request_lifetime: float) -> None:
        self.root = root
        self.request_lifetime = request_lifetime

    def prepare(self) -> None:
        """Create the folder (0700), or check an existing one is a private folder of ours."""
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.root.lstat()
        except OSError as error:
            raise ScratchError(
                f"the service's private folder {self.root} cannot be made ({error.strerror}): "
                "set INCLUSION_AUDIT_SCRATCH to a folder the service may write."
            ) from error
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise ScratchError(
                f"{self.root} is not a folder of this user's (a link, a file, or another "
                "user's): the service keeps uploads only in a private folder. Remove it, or "
                "set INCLUSION_AUDIT_SCRATCH to another path."
            )
        if info.st_mode & 0o077:
            self.root.chmod(0o700)
        (self.root / _REQUESTS).mkdir(mode=0o700, exist_ok=True)

    def area(self, name: str, lifetime: float) -> Path:
        """A folder whose entries are swept once older than ``lifetime`` seconds.

        For features that keep a file on purpose for a short time; the lifetime
        is written in the folder, so every worker's sweeper honours it.
        """
        if not name.isidentifier() or name == _REQUESTS:
            raise ValueError(f"area name {name!r}: use letters, digits and underscores")
        folder = self.root / name
        folder.mkdir(mode=0o700, exist_ok=True)
        (folder / _LIFETIME_FILE).write_text(f"{lifetime:g}\n", encoding="ascii")
        return folder

    @contextlib.contextmanager
    def request_folder(self) -> Iterator[Path]:
        """A new folder for one request's files, deleted when the block ends, however it ends."""
        folder = self.root / _REQUESTS / f"{os.getpid()}-{secrets.token_hex(8)}"
        folder.mkdir(mode=0o700)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Delete what has outlived its lifetime; returns how many entries went."""
        now = time.time() if now is None else now
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for area in self.root.iterdir():
                if area.name == _REQUESTS:
                    removed += self._sweep_requests(area, now)
                elif area.is_dir() and not area.is_symlink():
                    removed += self._sweep_area(area, now)
        return removed

    def _sweep_requests(self, folder: Path, now: float) -> int:
        removed = 0
        for entry in _entries(folder):
            owner = entry.name.partition("-")[0]
            alive = owner.isdigit() and _process_alive(int(owner))
            if not alive or now - _modified(entry) > self.request_lifetime:
                _remove(entry)
                removed += 1
        return removed

    def _sweep_area(self, area: Path, now: float) -> int:
        try:
            lifetime = float((area / _LIFETIME_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            lifetime = self.request_lifetime  # unknown: keep nothing longer than a request
        removed = 0
        for entry in _entries(area):
            if entry.name != _LIFETIME_FILE and now - _modified(entry) > lifetime:
                _remove(entry)
                removed += 1
        return removed


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _modified(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
