"""Readers: participant registers and tables from CSV, XLSX or Parquet into polars.

Every column is read as text: the harmonise layer decides what an answer means,
so nothing is guessed here (an age column of "18-24" and "25" stays as written).
CSV and Parquet are scanned lazily so a register of millions of rows is read
once, by the aggregation that needs it.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import os
import re
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from inclusion_audit.errors import FileReadError
from inclusion_audit.ingest.limits import (
    MAX_COLUMNS,
    MAX_HEADER_CHARS,
    MAX_PARQUET_BYTES,
    MAX_ROW_GROUPS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
)

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
SUPPORTED = "CSV (.csv, .tsv, .txt), Excel (.xlsx, .xlsm, .xls, .ods) or Parquet (.parquet)"

# Files up to this size are checked whole for valid UTF-8 before scanning; beyond
# it only the head is checked, so the check never costs a second full read.
_FULL_UTF8_CHECK_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 1024 * 1024
_DELIMITERS = (",", ";", "\t", "|")


# Rows with more fields than the header spill into this extra column, so a stray
# unquoted comma is caught instead of silently shifting answers to the next column.
OVERFLOW_COLUMN = "__inclusion_audit_overflow__"


@dataclass(frozen=True)
class Table:
    """A file read into a lazy frame of text columns, with how it was read.

    ``duplicates`` maps a column name to how many columns carry it, where more
    than one does. For CSV, ``with_overflow`` is the same scan plus a column
    (``OVERFLOW_COLUMN``) that catches rows with more fields than the header.
    """

    frame: pl.LazyFrame
    columns: tuple[str, ...]
    path: Path
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    duplicates: dict[str, int] = field(default_factory=dict)
    with_overflow: pl.LazyFrame | None = None
    in_memory: bool = False
    """The frame is over columns already read into memory (weighting reads the few it
    needs once): ``answer_counts`` then counts column by column, which beats stacking."""

    @property
    def name(self) -> str:
        """The file name, for messages."""
        return self.path.name


def expand_paths(patterns: Sequence[str], *, what: str = "register") -> list[Path]:
    """Paths as given, with glob patterns (``data/*.csv``, ``data/**/*.xlsx``) expanded.

    A name that exists is taken as it is, even with ``*`` or ``[`` in it; a pattern
    expands to its files in sorted order; each path comes once, first place kept.
    Raises ``FileReadError`` when a pattern matches no file: a misspelt pattern
    must not pass a CI job by checking nothing.
    """
    paths: list[Path] = []
    for pattern in patterns:
        if Path(pattern).exists() or not any(ch in pattern for ch in "*?["):
            paths.append(Path(pattern))
            continue
        matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]
        files = [m for m in matches if m.is_file()]
        if not files:
            raise FileReadError(
                f"{what} pattern {pattern!r} matches no file. Check the folder and the "
                "pattern (quote it so the shell leaves it to inclusion-audit; ** spans folders)."
            )
        paths += files
    return list(dict.fromkeys(paths))


def read_table(path: str | Path, *, what: str = "register") -> Table:
    """Open a CSV, Excel or Parquet file as a lazy frame of text columns.

    Raises ``FileReadError`` naming the file and the fix when the file is
    missing, empty, of an unsupported type or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise FileReadError(f"{what} file {path} does not exist. Check the path and try again.")
    if path.is_dir():
        raise FileReadError(f"{what} {path} is a folder; give the path of a file in it.")
    if path.stat().st_size == 0:
        raise FileReadError(
            f"{what} file {path} is empty. Export it again with a header row "
            "and one row per participant."
        )
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # polars (and Excel's reader) take file names as UTF-8 text only.
        raise FileReadError(
            f"{what} file {str(path)!r} has a name that is not valid UTF-8 text. Rename the "
            "file (letters, digits, spaces and hyphens are safe) and try again."
        ) from None
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        table = _read_csv(path, what)
    elif suffix in EXCEL_SUFFIXES:
        table = _read_excel(path, what)
    elif suffix in PARQUET_SUFFIXES:
        table = _read_parquet(path, what)
    else:
        raise FileReadError(
            f"{what} file {path} has the extension {suffix or '(none)'!r}, which is not "
            f"supported. Save it as {SUPPORTED}."
        )
    if not table.columns:
        raise FileReadError(f"{what} file {path} has no columns. Check it has a header row.")
    return table


def collect(table: Table, frame: pl.LazyFrame) -> pl.DataFrame:
    """Run a query on a table, turning the reader's failures into ``FileReadError``.

    CSV problems (a row with more fields than the header, bytes that are not
    UTF-8 deep in a large file) only surface when the file is read, so every
    query on a register goes through here.
    """
    try:
        return frame.collect(engine="streaming")
    except _READ_ERRORS as error:
        raise FileReadError(_explain_polars_error(table, error)) from error


def collect_all(table: Table, frames: list[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Run several queries on a table together, like ``collect``.

    Common-subplan elimination is off: it would cache the shared scan, that is
    materialise every column of the register (1 GB for 10M rows instead of 140 MB).
    """
    try:
        return pl.collect_all(
            frames,
            engine="streaming",
            optimizations=pl.QueryOptFlags(comm_subplan_elim=False),
        )
    except _READ_ERRORS as error:
        raise FileReadError(_explain_polars_error(table, error)) from error


# A Parquet file cut short, or a CSV broken deep inside, fails only when it is read.
_READ_ERRORS = (pl.exceptions.ComputeError, pl.exceptions.PanicException, OSError)


def _read_csv(path: Path, what: str) -> Table:
    head = _read_head(path)
    encoding = _detect_encoding(path, head, what)
    if encoding == "utf-8":
        text_head = head.decode("utf-8-sig", errors="ignore")
        source: Path | io.BytesIO = path
    else:
        # Excel's "CSV" on Windows is Windows-1252 (or UTF-16 for "Unicode text").
        # polars reads UTF-8 only, so decode in memory: such exports are small.
        try:
            text_head = path.read_bytes().decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            raise FileReadError(
                f"{what} file {path} looks like {encoding.upper()} text but is broken at byte "
                f"{error.start:,} ({error.reason}). It may be cut short: export it again, "
                "ideally as 'CSV UTF-8'."
            ) from None
        source = io.BytesIO(text_head.encode("utf-8"))
    if "\r" in text_head[:_HEAD_BYTES] and "\n" not in text_head[:_HEAD_BYTES]:
        # Lines end in CR alone, as old Mac Excel wrote them: polars and the csv module
        # need LF, so the (small) file is rewritten in memory.
        text_head = _cr_only_text(path, what, source, encoding)
        source = io.BytesIO(text_head.encode("utf-8"))
    delimiter = _sniff_delimiter(text_head[:_HEAD_BYTES])
    header = _header(text_head, delimiter, path, what)
    if not header or not any(name.strip() for name in header):
        raise FileReadError(
            f"{what} file {path} has no header row: its first line is empty. Delete any blank "
            "lines above the column names."
        )
    _check_header(header, path, what)
    columns = _unique_names(header)
    # A header with a line break inside quotes cannot be skipped as one line; such
    # files are read the plain way, without the overflow check.
    header_spans_lines = text_head.split("\n", 1)[0].count('"') % 2 == 1
    try:
        if header_spans_lines:
            # polars reads such a header its own way ("" stays doubled): name the
            # columns as the csv module read them, so every name lines up.
            frame = _csv_frame(source, separator=delimiter, infer_schema=False, new_columns=columns)
        else:
            frame = _csv_frame(
                source,
                separator=delimiter,
                has_header=False,
                skip_rows=1,
                schema={name: pl.String for name in [*columns, OVERFLOW_COLUMN]},
                truncate_ragged_lines=True,
                missing_columns="insert",
            )
    except pl.exceptions.ComputeError as error:
        raise FileReadError(_explain_message(path, what, str(error))) from error
    counts = Counter(header)
    duplicates = {name: n for name, n in counts.items() if n > 1 and name.strip()}
    return Table(
        frame.select(columns),
        tuple(columns),
        path,
        "csv",
        encoding,
        delimiter,
        duplicates=duplicates,
        with_overflow=None if header_spans_lines else frame,
    )


def _csv_frame(source: Path | io.BytesIO, **options: Any) -> pl.LazyFrame:
    """Scan a file lazily; decoded text in memory is read at once."""
    if isinstance(source, Path):
        # polars (2.1) reads a CSV ahead of the parser in 32 MiB chunks, several in
        # flight: ~250 MB resident for any file over that. 1 MiB chunks keep the
        # peak near 100 MB at the same speed. A value set by the user wins.
        os.environ.setdefault("POLARS_CSV_CHUNK_SIZE", str(1024 * 1024))
        return pl.scan_csv(source, raise_if_empty=False, **options)
    return pl.read_csv(source, raise_if_empty=False, **options).lazy()


def _header(text: str, delimiter: str, path: Path, what: str) -> list[str]:
    """The header row's cells, as the csv module reads them."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter)
    try:
        first = next(reader, [])
    except csv.Error as error:
        raise FileReadError(
            f"{what} file {path}: its first line cannot be read as the header row ({error}). "
            "Check the file is the register exported as CSV, with the column names on line 1."
        ) from None
    return [cell.strip() for cell in first]


def _check_header(header: list[str], path: Path, what: str) -> None:
    if len(header) > MAX_COLUMNS:
        raise FileReadError(
            f"{what} file {path} has {len(header):,} columns, more than the {MAX_COLUMNS:,} a "
            "register may have. Check the first line is the header row, or keep only the "
            "columns the audit needs."
        )
    for index, name in enumerate(header, start=1):
        if len(name) > MAX_HEADER_CHARS:
            raise FileReadError(
                f"{what} file {path}: column {index}'s name is {len(name):,} characters long "
                f"({name[:40]!r}…), more than the {MAX_HEADER_CHARS:,} a column name may be. "
                "Check the first line is the header row and its quotes are closed."
            )


def _cr_only_text(path: Path, what: str, source: Path | io.BytesIO, encoding: str) -> str:
    if isinstance(source, io.BytesIO):
        text = source.getvalue().decode("utf-8")
    else:
        if path.stat().st_size > _CR_ONLY_MAX_BYTES:
            raise FileReadError(
                f"{what} file {path} ends its lines with a carriage return alone (as old Mac "
                "Excel did) and is too large to convert here. Save it again as 'CSV UTF-8'."
            )
        text = path.read_bytes().decode(encoding, errors="replace").removeprefix("\ufeff")
    return text.replace("\r", "\n")


_CR_ONLY_MAX_BYTES = 256 * 1024 * 1024


def _unique_names(header: list[str]) -> list[str]:
    """Header names made unique the way polars does, so frame columns line up."""
    seen: Counter[str] = Counter()
    names = []
    for index, name in enumerate(header):
        label = name or f"column_{index + 1}"
        if seen[label]:
            names.append(f"{label}_duplicated_{seen[label] - 1}")
        else:
            names.append(label)
        seen[label] += 1
    return names


def _read_excel(path: Path, what: str) -> Table:
    _check_unpacked_size(path, what)
    try:
        frame = pl.read_excel(path, engine="calamine", infer_schema_length=0, raise_if_empty=False)
    except Exception as error:  # fastexcel raises its own exception types
        raise FileReadError(
            f"{what} file {path} could not be read as a spreadsheet ({_first_line(error)}). "
            "Open it in Excel or LibreOffice and save it again as .xlsx or .csv."
        ) from error
    frame = frame.select(pl.all().cast(pl.String))
    # fastexcel renames a repeated header "sex" to "sex_1", "sex_2"…
    bases = Counter(_excel_base(c, frame.columns) for c in frame.columns)
    duplicates = {name: n for name, n in bases.items() if n > 1}
    return Table(frame.lazy(), tuple(frame.columns), path, "excel", duplicates=duplicates)


def _excel_base(name: str, columns: list[str]) -> str:
    base, _, suffix = name.rpartition("_")
    return base if suffix.isdigit() and base in columns else name


def _check_unpacked_size(path: Path, what: str) -> None:
    """Refuse a zipped spreadsheet (.xlsx, .ods) that would unpack past ``MAX_UNPACKED_BYTES``.

    The reader holds the whole sheet in memory, so the sizes its zip directory
    declares are checked first: a few megabytes can unpack to tens of millions
    of rows.
    """
    import zipfile

    if not zipfile.is_zipfile(path):
        _check_xls_size(path, what)
        return
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise FileReadError(
            f"{what} file {path} could not be read as a spreadsheet ({_first_line(error)}). "
            "Open it in Excel or LibreOffice and save it again as .xlsx or .csv."
        ) from error
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileReadError(
            f"{what} file {path} unpacks to {unpacked / 1024**3:,.1f} GB, more than the "
            f"{MAX_UNPACKED_BYTES / 1024**3:g} GB a spreadsheet may hold here. Check it is the "
            "register; save a large register as CSV or Parquet, which are read in pieces."
        )


def _check_xls_size(path: Path, what: str) -> None:
    """Refuse an ``.xls`` workbook whose cells unpack past ``MAX_UNPACKED_BYTES``: its
    cell records and shared strings are counted first (``ingest.containers``), because
    each cell that points at a shared text becomes a copy of it."""
    from inclusion_audit.ingest.containers import ContainerError, xls_size

    try:
        size = xls_size(path)
    except (ContainerError, OSError, struct.error) as error:
        raise FileReadError(
            f"{what} file {path} could not be read as a spreadsheet ({error}). Open it in "
            "Excel or LibreOffice and save it again as .xlsx or .csv."
        ) from error
    if size is not None and size.unpacked_bytes > MAX_UNPACKED_BYTES:
        raise FileReadError(
            f"{what} file {path} unpacks to {size.unpacked_bytes / 1024**3:,.1f} GB "
            f"({size.cells:,} cells in up to {size.rows:,} rows), more than the "
            f"{MAX_UNPACKED_BYTES / 1024**3:g} GB a spreadsheet may hold here. Check it is the "
            "register; save a large register as CSV or Parquet, which are read in pieces."
        )


def _check_parquet_size(path: Path, what: str) -> None:
    """Refuse a Parquet file by what its footer declares, before any of it is read:
    columns, rows, row groups and uncompressed bytes (``ingest.limits``)."""
    from inclusion_audit.ingest.containers import ContainerError, parquet_size

    try:
        size = parquet_size(path)
    except (ContainerError, OSError, struct.error) as error:
        raise FileReadError(
            f"{what} file {path} is not a readable Parquet file ({error}). Export it again, "
            "or save the register as CSV."
        ) from error
    gb = 1024**3
    problems = [
        (size.columns > MAX_COLUMNS, f"{size.columns:,} columns (at most {MAX_COLUMNS:,})"),
        (size.rows > MAX_ROWS, f"{size.rows:,} rows (at most {MAX_ROWS:,})"),
        (
            size.row_groups > MAX_ROW_GROUPS,
            f"{size.row_groups:,} row groups (at most {MAX_ROW_GROUPS:,})",
        ),
        (
            size.uncompressed_bytes > MAX_PARQUET_BYTES,
            f"{size.uncompressed_bytes / gb:,.1f} GB of data uncompressed (at most "
            f"{MAX_PARQUET_BYTES / gb:g} GB)",
        ),
        (
            size.largest_row_group_bytes > MAX_UNPACKED_BYTES,
            f"a row group of {size.largest_row_group_bytes / gb:,.1f} GB uncompressed (at most "
            f"{MAX_UNPACKED_BYTES / gb:g} GB, since a row group is read whole)",
        ),
    ]
    found = [text for over, text in problems if over]
    if found:
        raise FileReadError(
            f"{what} file {path} has {'; '.join(found)}, more than a register may have here. "
            "Check it is the register; write it again with fewer, smaller row groups (e.g. "
            "polars' write_parquet or pandas' to_parquet defaults), or save it as CSV."
        )


def _read_parquet(path: Path, what: str) -> Table:
    _check_parquet_size(path, what)
    try:
        frame = pl.scan_parquet(path)
        schema = frame.collect_schema()
        n_rows = frame.select(pl.len()).collect().item()
    except Exception as error:  # pyarrow and polars raise several types for corrupt files
        raise FileReadError(
            f"{what} file {path} is not a readable Parquet file ({_first_line(error)}). "
            "Export it again, or save the register as CSV."
        ) from error
    nested = [name for name, dtype in schema.items() if dtype.is_nested()]
    if nested:
        raise FileReadError(
            f"{what} file {path}: column {nested[0]!r} holds lists or records "
            f"({schema[nested[0]]}), not answers. Export the register as a flat table: one "
            "column per question, one row per participant."
        )
    if len(schema) > MAX_COLUMNS or n_rows > MAX_ROWS:
        raise FileReadError(
            f"{what} file {path} has {n_rows:,} rows and {len(schema):,} columns, more than "
            f"a register may have here ({MAX_ROWS:,} rows, {MAX_COLUMNS:,} columns). Check it "
            "is the register."
        )
    return Table(frame.select(pl.all().cast(pl.String)), tuple(schema.names()), path, "parquet")


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD_BYTES)


def _detect_encoding(path: Path, head: bytes, what: str) -> str:
    """UTF-8 (with or without BOM), UTF-16, or else Windows-1252.

    A file that is UTF-8 in places and not in others was pasted together from
    two sources; guessing would garble half of it, so it is an error naming the
    first line that is not UTF-8.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if (utf16 := _utf16_without_bom(head)) is not None:
        return utf16
    whole = path.stat().st_size <= _FULL_UTF8_CHECK_BYTES
    data = path.read_bytes() if whole else head
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
        return "utf-8"
    except UnicodeDecodeError as error:
        if _UTF8_MULTIBYTE.search(data[: error.start]):
            line = data[: error.start].count(b"\n") + 1
            raise FileReadError(
                f"{what} file {path} mixes text encodings: it is UTF-8 up to line {line}, "
                f"which is not (byte {data[error.start]:#04x}). Open it in a spreadsheet and "
                "save it again as 'CSV UTF-8'."
            ) from None
        return "cp1252"


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when every other byte of the start is NUL."""
    sample = head[:400]
    if len(sample) < 8:
        return None
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    if odd_nuls > 0.6 and even_nuls < 0.1:
        return "utf-16-le"
    if even_nuls > 0.6 and odd_nuls < 0.1:
        return "utf-16-be"
    return None


def _sniff_delimiter(text: str) -> str:
    """The delimiter used most in the header line; a comma on a tie."""
    header = text.splitlines()[0] if text else ""
    counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def _explain_polars_error(table: Table, error: BaseException) -> str:
    if table.file_format == "parquet":
        return (
            f"register file {table.path} is not a readable Parquet file "
            f"({_first_line(error)}): it may be cut short. Export it again, or save the "
            "register as CSV."
        )
    if table.file_format == "excel":
        return (
            f"register file {table.path} could not be read as a spreadsheet "
            f"({_first_line(error)}). Open it in Excel or LibreOffice and save it again."
        )
    return _explain_message(table.path, "register", str(error))


def _explain_message(path: Path, what: str, message: str) -> str:
    if "invalid utf-8" in message:
        return (
            f"{what} file {path} mixes text encodings: it starts as UTF-8 but contains bytes "
            "that are not. Save it again as 'CSV UTF-8' and try again."
        )
    if "more fields than defined" in message:
        return (
            f"{what} file {path} has a row with more fields than the header. Check for "
            "unquoted commas or semicolons inside answers, or save it again from the "
            "spreadsheet as CSV."
        )
    return f"{what} file {path} could not be read as CSV ({_first_line(message)})."


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def answer_counts(
    table: Table, columns: list[str]
) -> tuple[dict[str, list[tuple[str | None, int]]], int]:
    """Distinct answers and their counts for each column, plus the row count.

    One pass over the file: the chosen columns are stacked into
    ``(column, answer)`` pairs and counted, so everything after this works on
    a few hundred distinct answers however long the register is. In the same
    pass, a CSV row with more fields than the header is caught: it means an
    unquoted separator inside an answer, which shifts every answer after it.
    """
    frame = table.frame
    stacked_columns = list(columns)
    if table.with_overflow is not None:
        frame = table.with_overflow
        stacked_columns.append(OVERFLOW_COLUMN)
    if not stacked_columns:
        rows = collect(table, frame.select(pl.len())).item()
        return {}, int(rows)
    result: dict[str, list[tuple[str | None, int]]] = {c: [] for c in stacked_columns}
    if table.file_format == "csv" and not table.in_memory:
        # A CSV is parsed row by row: stack the columns into (column, answer) pairs
        # and count them in one streaming pass (separate group-bys would parse the
        # file once per column).
        stacked = frame.select(pl.col(c).cast(pl.String) for c in stacked_columns).unpivot(
            variable_name="column", value_name="answer"
        )
        counted = collect(table, stacked.group_by("column", "answer").len(name="count"))
        for column, answer, count in counted.sort("column", "answer").iter_rows():
            result[column].append((answer, int(count)))
    else:
        # Parquet is stored column by column (and Excel, or columns read for weighting,
        # are already in memory): one group-by per column, run together, reads each
        # column once and only it.
        queries = [
            frame.select(pl.col(c).cast(pl.String).alias("answer"))
            .group_by("answer")
            .len(name="count")
            .sort("answer")
            for c in stacked_columns
        ]
        for column, counted in zip(stacked_columns, collect_all(table, queries), strict=True):
            result[column] = [(answer, int(count)) for answer, count in counted.iter_rows()]
    overflow = result.pop(OVERFLOW_COLUMN, [])
    if any(answer is not None for answer, _ in overflow):
        raise FileReadError(_overflow_message(table, frame))
    rows = sum(count for _, count in (result[columns[0]] if columns else overflow))
    return result, rows


def _overflow_message(table: Table, frame: pl.LazyFrame) -> str:
    found = collect(
        table,
        frame.with_row_index("index")
        .filter(pl.col(OVERFLOW_COLUMN).is_not_null())
        .select(pl.col("index").first(), pl.len()),
    )
    first, rows = found.row(0)
    return (
        f"register {table.name}: row {int(first) + 2} has more fields than the header "
        f"({rows} row{'s' if rows != 1 else ''} in all), so its answers would land in the "
        f"wrong columns. An answer probably contains an unquoted '{table.delimiter}': put "
        "quotes around it, or save the file again from the spreadsheet as CSV."
    )
