"""What .xls and Parquet files declare about their size, read before them (ingest.containers)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from inclusion_audit.errors import InputError
from inclusion_audit.ingest import readers
from inclusion_audit.ingest.containers import parquet_size, xls_size
from inclusion_audit.ingest.readers import read_table


def _xls(path: Path, rows: list[list[str]]) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Register")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))
    return path


def test_xls_cells_and_shared_texts_are_counted_across_continue_records(tmp_path) -> None:
    # A 9,000-character text is longer than one BIFF record (8,224 bytes): it runs on
    # into CONTINUE records, each starting with its own flags byte.
    long, other = "é" * 9_000, "y" * 5_000  # one byte a character in the file
    rows = [["Age", "Sex"], *[[long, "Female"]] * 3, [other, "Male"], *[["25-34", "Male"]] * 400]
    size = xls_size(_xls(tmp_path / "r.xls", rows))
    assert size is not None
    assert size.cells == 2 * len(rows) and size.rows == len(rows)
    text = sum(len(value) for row in rows for value in row)
    assert size.unpacked_bytes == 32 * size.cells + 3 * text
    assert pl.read_excel(tmp_path / "r.xls", engine="calamine").height == len(rows) - 1


def test_a_tiny_or_foreign_xls_is_left_to_the_reader(tmp_path) -> None:
    tiny = xls_size(_xls(tmp_path / "tiny.xls", [["Age"], ["16-24"]]))
    assert tiny is None or tiny.unpacked_bytes < 1_000
    (tmp_path / "text.xls").write_text("Age,Sex\n16-24,Female\n")
    assert xls_size(tmp_path / "text.xls") is None


def test_a_damaged_xls_is_named_as_one(tmp_path) -> None:
    path = _xls(tmp_path / "r.xls", [["Age", "Sex"], *[["25-34", "Male"]] * 2_000])
    data = path.read_bytes()
    path.write_bytes(data[:600])
    with pytest.raises(InputError, match=r"r\.xls could not be read as a spreadsheet"):
        read_table(path)


def test_parquet_sizes_are_those_pyarrow_reads(tmp_path) -> None:
    path = tmp_path / "r.parquet"
    frame = pl.DataFrame({"Age": ["25-34", "16-24"] * 5_000, "Sex": ["F", "M"] * 5_000})
    frame.write_parquet(path, row_group_size=3_000)
    size = parquet_size(path)
    meta = pq.ParquetFile(path).metadata
    assert (size.columns, size.rows, size.row_groups) == (2, 10_000, meta.num_row_groups)
    groups = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    assert size.uncompressed_bytes == sum(groups)
    assert size.largest_row_group_bytes == max(groups)


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_PARQUET_BYTES", 1_000, "GB of data uncompressed (at most"),
        ("MAX_UNPACKED_BYTES", 10, "a row group of 0.0 GB uncompressed (at most"),
        ("MAX_COLUMNS", 1, "2 columns (at most 1)"),
        ("MAX_ROW_GROUPS", 2, "row groups (at most 2)"),
    ],
)
def test_a_parquet_file_past_a_limit_is_refused_before_it_is_read(
    tmp_path, monkeypatch, limit, value, message
) -> None:
    path = tmp_path / "r.parquet"
    frame = pl.DataFrame({"Age": ["25-34", "16-24"] * 5_000, "Sex": ["F", "M"] * 5_000})
    frame.write_parquet(path, row_group_size=3_000)
    monkeypatch.setattr(readers, limit, value)
    scanned = []
    monkeypatch.setattr(readers.pl, "scan_parquet", lambda *a, **k: scanned.append(a))
    with pytest.raises(InputError, match=r"r\.parquet has .*more than a register may have") as e:
        read_table(path)
    assert message in str(e.value) and "write it again" in str(e.value)
    assert scanned == []


def test_a_parquet_footer_that_lies_is_named(tmp_path) -> None:
    path = tmp_path / "r.parquet"
    pl.DataFrame({"Age": ["25-34"]}).write_parquet(path)
    data = bytearray(path.read_bytes())
    data[-8:-4] = (10**9).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"is not a readable Parquet file .*footer declares"):
        read_table(path)
