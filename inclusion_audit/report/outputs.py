"""Where results go: plan output paths and write files atomically.

Nothing is written until every output has been rendered, and each file is
written to a temporary name beside its destination and renamed into place, so
a failure never leaves a half-written report behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from inclusion_audit.errors import InputError

STDOUT = "-"
_SUFFIX_FORMATS = {
    ".json": "json",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".pdf": "pdf",
    ".csv": "csv",
}
_TEXT_FORMATS = ("json", "md", "html", "csv")


class OutputError(InputError):
    """The requested output cannot be written as asked."""


def choose_formats(formats: Sequence[str], output: str | None) -> list[str]:
    """The formats to write: as given, else from the output's suffix, else JSON."""
    if formats:
        return list(dict.fromkeys(formats))
    if output and output != STDOUT:
        inferred = _SUFFIX_FORMATS.get(Path(output).suffix.lower())
        if inferred:
            return [inferred]
    return ["json"]


def plan_outputs(
    formats: Sequence[str],
    output: str | None,
    file_names: dict[str, str],
    inputs: Sequence[Path] = (),
) -> list[tuple[str, Path | None]]:
    """Pair each format with its destination; ``None`` means standard output.

    A destination may not be one of the ``inputs`` (the register, the reference),
    nor anything but a regular file, and a single file's suffix must fit its format.
    """
    plan = _plan(formats, output, file_names)
    for _, destination in plan:
        if destination is not None:
            check_destination(destination, inputs)
    return plan


def check_destination(
    destination: Path, inputs: Sequence[Path] = (), option: str = "--output"
) -> None:
    """A destination may be neither an input file nor anything but a regular file."""
    protected = {_identity(p) for p in inputs if p.exists()}
    if destination.exists() and _identity(destination) in protected:
        raise OutputError(
            f"{option} {destination} is one of the input files; writing there would "
            "destroy it. Choose another name."
        )
    if destination.exists() and not destination.is_file():
        raise OutputError(
            f"{option} {destination} exists and is not a regular file. Choose another name."
        )


def _identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def _plan(
    formats: Sequence[str], output: str | None, file_names: dict[str, str]
) -> list[tuple[str, Path | None]]:
    if output is None or output == STDOUT:
        if len(formats) > 1:
            raise OutputError(
                f"{len(formats)} formats were asked for but no output folder: add "
                "--output FOLDER to write them side by side."
            )
        if formats[0] not in _TEXT_FORMATS:
            raise OutputError(
                f"a {formats[0].upper()} report cannot go to the terminal: add --output FILE "
                f"(for example --output {file_names[formats[0]]})."
            )
        return [(formats[0], None)]
    target = Path(output)
    if len(formats) > 1 or target.is_dir() or output.endswith(("/", os.sep)):
        if target.exists() and not target.is_dir():
            raise OutputError(
                f"--output {output} is a file, but several formats need a folder. "
                "Give a folder name instead."
            )
        if target.suffix.lower() in _SUFFIX_FORMATS and not target.exists():
            raise OutputError(
                f"--output {output} looks like a file name, but {len(formats)} formats were "
                "asked for. Give a folder name, or one --format."
            )
        return [(f, target / file_names[f]) for f in formats]
    expected = _SUFFIX_FORMATS.get(target.suffix.lower())
    if expected is None:
        raise OutputError(
            f"--output {output} has no known suffix. Name the file for its format, e.g. "
            f"{target.with_suffix('.' + formats[0]).name}, or give a folder ending in /."
        )
    if expected != formats[0]:
        raise OutputError(
            f"--output {output} ends in {target.suffix} but the format is {formats[0]}. "
            f"Use a .{formats[0]} file name or --format {expected}."
        )
    return [(formats[0], target)]


def write_all(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write several files all or none: every temporary first, then the renames.

    Raises ``OutputError`` naming the path when a folder cannot be made or
    written to; no temporary file is left behind.
    """
    temporaries: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            temporaries.append((_write_temporary(path, data), path))
        for temporary, path in temporaries:
            os.replace(temporary, path)
    except OSError as error:
        raise OutputError(
            f"could not write {error.filename or path}: {error.strerror or error}. Check the "
            "folder exists, is a folder, and you may write to it."
        ) from error
    finally:
        for temporary, _ in temporaries:
            Path(temporary).unlink(missing_ok=True)


def _write_temporary(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        # mkstemp makes the file private; a report is meant to be opened by others.
        os.chmod(temporary, 0o644)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary
