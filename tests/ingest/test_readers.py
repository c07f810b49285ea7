"""Reading registers as they come: encodings, delimiters, spreadsheets, Parquet."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from inclusion_audit.errors import FileReadError
from inclusion_audit.ingest.readers import answer_counts, collect, read_table

ROWS = [["Name", "Sex", "Ethnic group"], ["Zoë", "Female", "White"], ["José", "Male", ""]]


def frame_of(path: Path) -> pl.DataFrame:
    table = read_table(path)
    return collect(table, table.frame)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_csv_encodings_and_delimiters(write_csv, delimiter: str, encoding: str) -> None:
    path = write_csv("r.csv", ROWS, delimiter=delimiter, encoding=encoding)
    frame = frame_of(path)
    assert frame.columns == ["Name", "Sex", "Ethnic group"]
    assert frame["Name"].to_list() == ["Zoë", "José"]
    assert frame["Ethnic group"].to_list() == ["White", None]


def test_every_column_is_text(write_csv) -> None:
    path = write_csv("r.csv", [["Age", "Sex"], ["034", "Female"], ["18-24", "Male"]])
    assert frame_of(path)["Age"].to_list() == ["034", "18-24"]


def test_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    pl.DataFrame({"Age": [34, 71], "Sex": ["Female", "Male"]}).write_excel(path)
    frame = frame_of(path)
    assert frame["Sex"].to_list() == ["Female", "Male"]
    assert frame["Age"].to_list() == ["34", "71"]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pl.DataFrame({"Age": [34, None], "Sex": ["Female", "Male"]}).write_parquet(path)
    assert frame_of(path)["Age"].to_list() == ["34", None]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "does not exist"),
        ("empty.csv", b"", "is empty"),
        ("register.docx", b"PK\x03\x04", "not supported"),
        ("broken.xlsx", b"not a spreadsheet", "could not be read as a spreadsheet"),
        ("broken.parquet", b"not parquet", "not a readable Parquet file"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FileReadError, match=message) as caught:
        read_table(path)
    assert name in str(caught.value)


@pytest.mark.parametrize("where", ["middle", "last"])
def test_ragged_rows_are_caught_whichever_columns_are_read(tmp_path: Path, where: str) -> None:
    rows = ["Name,Sex,Comment", "A,Female,ok", "C,Male,fine"]
    rows.insert(2 if where == "middle" else 3, "B,I am, Male,x")
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(FileReadError, match=r"row (3|4) has more fields than the header"):
        answer_counts(read_table(path), ["Sex"])


def test_short_rows_are_blank_answers(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("Name,Sex,Age\nA,Female\nB,Male,18-24\n")
    counts, rows = answer_counts(read_table(path), ["Age"])
    assert rows == 2 and dict(counts["Age"]) == {None: 1, "18-24": 1}


def test_quoted_separators_and_line_breaks_are_answers(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('Sex,Comment\nFemale,"one, two\nthree"\nMale,plain\n')
    counts, rows = answer_counts(read_table(path), ["Sex"])
    assert rows == 2 and dict(counts["Sex"]) == {"Female": 1, "Male": 1}


def test_duplicate_headers_are_recorded(write_csv) -> None:
    path = write_csv("dup.csv", [["sex", "age", "sex"], ["Female", "18-24", "Male"]])
    table = read_table(path)
    assert table.duplicates == {"sex": 2}
    assert table.columns == ("sex", "age", "sex_duplicated_0")


def test_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("Sex,Age\nFemale,18-24\n".encode("utf-16-le"))
    assert frame_of(path)["Sex"].to_list() == ["Female"]


def test_mixed_encodings_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("Name,Sex\nZoë,Female\n".encode() + "José,Male\n".encode("latin-1"))
    with pytest.raises(FileReadError, match="mixes text encodings: it is UTF-8 up to line 3"):
        read_table(path)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileReadError, match="is a folder"):
        read_table(tmp_path)


def test_answer_counts_counts_blanks_and_rows(write_csv) -> None:
    path = write_csv("r.csv", [["Sex", "Age"], ["Female", "18-24"], ["Female", ""], ["", "18-24"]])
    counts, rows = answer_counts(read_table(path), ["Sex", "Age"])
    assert rows == 3
    assert dict(counts["Sex"]) == {"Female": 2, None: 1}
    assert dict(counts["Age"]) == {"18-24": 2, None: 1}


def test_answer_counts_without_columns_still_counts_rows(write_csv) -> None:
    path = write_csv("r.csv", [["Name"], ["a"], ["b"]])
    assert answer_counts(read_table(path), []) == ({}, 2)


def test_truncated_utf16_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(b"\xff\xfe" + "Sex\r\nFemale\r\n".encode("utf-16-le") + b"\x01")
    with pytest.raises(FileReadError, match=r"looks like UTF-16 text but is broken at byte 28"):
        read_table(path)


def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/bad\xff.csv"
    with open(raw, "wb") as handle:
        handle.write(b"Sex\nFemale\n")
    with pytest.raises(FileReadError, match=r"has a name that is not valid UTF-8 text\. Rename"):
        read_table(os.fsdecode(raw))


def test_columns_in_memory_count_as_the_file_does(tmp_path: Path) -> None:
    """Weighting reads its columns once and counts them in memory, column by column:
    the same counts and row count as the stacked pass over the file, and a ragged row
    (the overflow column) is still refused."""
    from dataclasses import replace

    path = tmp_path / "r.csv"
    path.write_text("Name,Sex,Age\nA,Female,18-24\nB,,18-24\nC,Male\nD,Female,65+\n")
    table = read_table(path)
    assert table.with_overflow is not None
    read = collect(table, table.with_overflow)
    in_memory = replace(
        table,
        frame=read.select(table.columns).lazy(),
        with_overflow=read.lazy(),
        in_memory=True,
    )
    assert answer_counts(in_memory, ["Sex", "Age"]) == answer_counts(table, ["Sex", "Age"])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Name,Sex\nA,Female\nB,I am, Male\n")
    table = read_table(ragged)
    assert table.with_overflow is not None
    read = collect(table, table.with_overflow)
    in_memory = replace(table, frame=read.lazy(), with_overflow=read.lazy(), in_memory=True)
    with pytest.raises(FileReadError, match="row 3 has more fields than the header"):
        answer_counts(in_memory, ["Sex"])
