"""Request uploads: saved to the request's own private folder, size-limited, deleted with it."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import UploadFile

from inclusion_audit.errors import InputError
from inclusion_audit.ingest.readers import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES
from inclusion_audit.web.scratch import Scratch

REGISTER_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES


_CHUNK = 1024 * 1024


class UploadTooLargeError(InputError):
    """An upload is bigger than the service accepts."""


class UploadError(InputError):
    """An upload is missing or of a type the service cannot read."""


@dataclass
class Uploads:
    """A request's uploads, saved in a private folder that is always deleted."""

    folder: Path
    limit_bytes: int
    paths: dict[str, Path] = field(default_factory=dict)

    async def save(
        self, name: str, upload: UploadFile | None, suffixes: frozenset[str] | None = None
    ) -> Path | None:
        if upload is None or not upload.filename:
            return None
        filename = safe_filename(upload.filename, name)
        suffix = Path(filename).suffix.lower()
        if suffixes is not None and suffix not in suffixes:
            allowed = ", ".join(sorted(suffixes))
            raise UploadError(
                f"the {name.replace('_', ' ')} file {filename!r} is not one the service reads: "
                f"upload one ending in {allowed}."
            )
        # Each upload has its own folder so two files with one name cannot collide.
        folder = self.folder / name
        folder.mkdir()
        path = folder / filename
        written = 0
        with path.open("wb") as handle:
            while chunk := await upload.read(_CHUNK):
                written += len(chunk)
                if written > self.limit_bytes:
                    raise UploadTooLargeError(
                        f"the {name.replace('_', ' ')} file {filename!r} is larger than the "
                        f"{self.limit_bytes // (1024 * 1024)} MB this service accepts. Keep only "
                        "the columns the audit needs, save it as Parquet, or run "
                        "`inclusion-audit audit` on your own computer."
                    )
                handle.write(chunk)
        self.paths[name] = path
        return path

    def tidy(self, message: str) -> str:
        """A message without the temporary folders' paths, which mean nothing to a user."""
        for name in self.paths:
            message = message.replace(f"{self.folder}{os.sep}{name}{os.sep}", "")
        return message.replace(f"{self.folder}{os.sep}", "").replace(str(self.folder), "")


@contextlib.contextmanager
def request_uploads(scratch: Scratch, limit_mb: int) -> Iterator[Uploads]:
    """A request's own folder in the service's private folder, deleted when the block ends.

    If the process dies first, the sweeper deletes it (see ``web.scratch``).
    """
    with scratch.request_folder() as folder:
        yield Uploads(folder, limit_mb * 1024 * 1024)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]")


_MAX_NAME_BYTES = 200  # file systems allow 255 bytes; leave room for the suffix


def safe_filename(filename: str, fallback: str) -> str:
    """The upload's own base name (it names the register in the report), made safe.

    A long name is shortened before its suffix, by bytes (the file system's
    limit), so that "….csv" stays a CSV.
    """
    base = _UNSAFE.sub("_", re.split(r"[/\\]", filename)[-1]).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = base, ""
    stem = stem.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", errors="ignore").strip(" .")
    if not stem:
        return fallback
    return f"{stem}.{suffix}" if suffix else stem
