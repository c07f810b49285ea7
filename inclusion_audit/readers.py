"""Readers: participant registers and tables from CSV, XLSX or Parquet into polars.

Every column is read as text: the harmonise layer decides what an answer means,
so nothing is guessed here (an age column of "18-24" and "25" stays as written).
CSV and Parquet are scanned lazily so a register of millions of rows is read
once, by the aggregation that needs it.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .errors import FileReadError

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
SUPPORTED = "CSV (.csv, .tsv, .txt), Excel (.xlsx, .xlsm, .xls, .ods) or Parquet (.parquet)"

# Files up to this size are checked whole for valid UTF-8 before scanning; beyond
# it only the head is checked, so the check never costs a second full read.
_FULL_UTF8_CHECK_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 1024 * 1024
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Table:
    """A file read into a lazy frame of text columns, with how it was read."""

    frame: pl.LazyFrame
    columns: tuple[str, ...]
    path: Path
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def name(self) -> str:
        """The file name, for messages."""
        return self.path.name


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
    except pl.exceptions.ComputeError as error:
        raise FileReadError(_explain_polars_error(table, error)) from error


def _read_csv(path: Path, what: str) -> Table:
    head = _read_head(path)
    encoding = _detect_encoding(path, head)
    if encoding == "utf-8":
        text_head = head.decode("utf-8-sig", errors="ignore")
        delimiter = _sniff_delimiter(text_head)
        frame = pl.scan_csv(
            path, separator=delimiter, infer_schema=False, encoding="utf8", raise_if_empty=False
        )
    else:
        # Excel's "CSV" on Windows is Windows-1252 (or UTF-16 for "Unicode text").
        # polars reads UTF-8 only, so decode in memory: such exports are small.
        text = path.read_bytes().decode(encoding)
        text = text.removeprefix("\ufeff")
        delimiter = _sniff_delimiter(text[:_HEAD_BYTES])
        data = io.BytesIO(text.encode("utf-8"))
        try:
            frame = pl.read_csv(
                data, separator=delimiter, infer_schema=False, raise_if_empty=False
            ).lazy()
        except pl.exceptions.ComputeError as error:
            raise FileReadError(_explain_message(path, what, str(error))) from error
    try:
        columns = tuple(frame.collect_schema().names())
    except pl.exceptions.ComputeError as error:
        raise FileReadError(_explain_message(path, what, str(error))) from error
    return Table(frame, columns, path, "csv", encoding, delimiter)


def _read_excel(path: Path, what: str) -> Table:
    try:
        frame = pl.read_excel(path, engine="calamine", infer_schema_length=0, raise_if_empty=False)
    except Exception as error:  # fastexcel raises its own exception types
        raise FileReadError(
            f"{what} file {path} could not be read as a spreadsheet ({_first_line(error)}). "
            "Open it in Excel or LibreOffice and save it again as .xlsx or .csv."
        ) from error
    frame = frame.select(pl.all().cast(pl.String))
    return Table(frame.lazy(), tuple(frame.columns), path, "excel")


def _read_parquet(path: Path, what: str) -> Table:
    try:
        frame = pl.scan_parquet(path)
        columns = tuple(frame.collect_schema().names())
    except Exception as error:  # pyarrow and polars raise several types for corrupt files
        raise FileReadError(
            f"{what} file {path} is not a readable Parquet file ({_first_line(error)}). "
            "Export it again, or save the register as CSV."
        ) from error
    return Table(frame.select(pl.all().cast(pl.String)), columns, path, "parquet")


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD_BYTES)


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, or else Windows-1252."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if path.stat().st_size <= _FULL_UTF8_CHECK_BYTES:
        try:
            path.read_bytes().decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


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


def _explain_polars_error(table: Table, error: Exception) -> str:
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
    a few hundred distinct answers however long the register is.
    """
    if not columns:
        rows = collect(table, table.frame.select(pl.len())).item()
        return {}, int(rows)
    stacked = table.frame.select(pl.col(c).cast(pl.String) for c in columns).unpivot(
        variable_name="column", value_name="answer"
    )
    counted = collect(table, stacked.group_by("column", "answer").len(name="count"))
    result: dict[str, list[tuple[str | None, int]]] = {column: [] for column in columns}
    for column, answer, count in counted.sort("column", "answer").iter_rows():
        result[column].append((answer, int(count)))
    rows = sum(count for _, count in result[columns[0]])
    return result, rows
