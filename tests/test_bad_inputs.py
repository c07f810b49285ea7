"""The bad-input corpus: every hostile or broken file, through the command line and the service.

Each case is a file (or a few) that once crashed the tool (exit 70, HTTP 500),
hung it, or was blamed on the wrong thing. Every one must now be refused the
way the contract says: on the command line exit code 2 and one ``Error:``
message naming the file and the fix, without a traceback, and nothing written
(no report, no store); in the service status 400 (or 413) with
``{"error": ...}`` saying the same, and no upload left on disk.

The files are built in the test's folder, so the corpus costs no space in the
repository; each builder says what the file imitates.
"""

from __future__ import annotations

import functools
import io
import json
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from inclusion_audit.cli.app import cli
from inclusion_audit.web.app import create_app
from inclusion_audit.web.settings import ServiceSettings

from .conftest import EXAMPLES
from .web.test_service import left_behind

REGISTER = EXAMPLES / "riverside-forum-register.csv"
Builder = Callable[[Path], Path]


def _text(name: str, text: str) -> Builder:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path

    return build


def _bytes(name: str, make: Callable[[], bytes]) -> Builder:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(make())
        return path

    return build


def _example() -> str:
    return REGISTER.read_text(encoding="utf-8")


def _parquet(frame: pl.DataFrame, keep: float = 1.0) -> Callable[[], bytes]:
    def make() -> bytes:
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        data = buffer.getvalue()
        return data[: int(len(data) * keep)]

    return make


def _xlsx_that_unpacks_to_4_gb() -> bytes:
    """A small .xlsx whose zip directory declares a 4 GB sheet, as a zip bomb's does.

    (A real one takes seconds to compress; the reader trusts the directory's
    sizes to refuse it before unpacking, so the declared size is what matters.)
    """
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    data = bytearray(buffer.getvalue())
    directory = data.rindex(b"PK\x01\x02")
    data[directory + 24 : directory + 28] = struct.pack("<I", 0xFFFFFFF0)
    return bytes(data)


@functools.cache
def _xls_sharing_one_long_text() -> bytes:
    """A 3 MB .xls whose 65,000 rows each point at one shared 30,000-character text:
    every cell becomes its own copy when read, 6 GB in all."""
    import xlwt  # test-only: the tool reads .xls, it never writes one

    book = xlwt.Workbook()
    sheet = book.add_sheet("Register")
    sheet.write(0, 0, "Age")
    sheet.write(0, 1, "Sex")
    text = "x" * 30_000
    for row in range(1, 65_000):
        sheet.write(row, 0, text)
        sheet.write(row, 1, "Female")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@functools.cache
def _parquet_of_10_001_row_groups() -> bytes:
    """A Parquet file written one row per row group: its footer alone is megabytes."""
    buffer = io.BytesIO()
    frame = pl.DataFrame({"Age": ["25-34"] * 10_001, "Sex": ["Female"] * 10_001})
    frame.write_parquet(buffer, row_group_size=1)
    return buffer.getvalue()


_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@dataclass(frozen=True)
class Case:
    """A bad input: the files by role, and what the message must say."""

    id: str
    files: dict[str, Builder]
    message: str
    status: int = 400
    extra: tuple[str, ...] = field(default=())

    def build(self, folder: Path) -> dict[str, Path]:
        files = {"register": lambda _: REGISTER} | self.files
        return {role: build(folder) for role, build in files.items()}


CASES = [
    # Registers
    Case(
        "header-over-the-csv-field-limit",
        {"register": _text("wide.csv", "Age," + "x" * 140_000 + "\n16-24,a\n")},
        "first line cannot be read as the header row",
    ),
    Case(
        "header-cell-over-the-limit",
        {"register": _text("wide.csv", "Age," + "x" * 5_000 + "\n16-24,a\n")},
        "column 2's name is 5,000 characters long",
    ),
    Case(
        "too-many-columns",
        {"register": _text("wide.csv", ",".join(f"q{i}" for i in range(2_001)) + "\n")},
        "has 2,001 columns, more than the 2,000",
    ),
    Case(
        "parquet-cut-short",
        {"register": _bytes("cut.parquet", _parquet(pl.read_csv(REGISTER), keep=0.5))},
        "is not a readable Parquet file",
    ),
    Case(
        "parquet-with-nested-columns",
        {
            "register": _bytes(
                "nested.parquet",
                _parquet(pl.DataFrame({"Age": [{"x": 1}, {"x": 2}], "Sex": ["Female", "Male"]})),
            )
        },
        "column 'Age' holds lists or records",
    ),
    Case(
        "xlsx-zip-bomb",
        {"register": _bytes("bomb.xlsx", _xlsx_that_unpacks_to_4_gb)},
        "unpacks to 4.0 GB, more than the 1 GB",
    ),
    Case(
        "xls-shared-text-bomb",
        {"register": _bytes("bomb.xls", _xls_sharing_one_long_text)},
        "unpacks to 5.5 GB (130,000 cells in up to 65,000 rows), more than the 1 GB",
    ),
    Case(
        "parquet-too-many-row-groups",
        {"register": _bytes("groups.parquet", _parquet_of_10_001_row_groups)},
        "has 10,001 row groups (at most 10,000), more than a register may have here",
    ),
    Case(
        "five-megabyte-answer",
        {"register": _text("long.csv", "Age,Sex\n16-24," + "F" * 5_000_000 + "\n25-34,Male\n")},
        "column 'Sex'",
    ),
    # Reference files
    Case(
        "reference-count-too-large-to-add",
        {
            "reference": _text(
                "ref.csv", "characteristic,category,count\nsex,F,1e308\nsex,M,1e308\n"
            )
        },
        "is larger than any population",
    ),
    # Event files
    Case(
        "yaml-alias-bomb",
        {"event": _text("event.yaml", _BOMB)},
        "repeats an earlier value with an alias (*a)",
    ),
    Case(
        "yaml-complex-key",
        {"event": _text("event.yaml", "? [a, b]\n: 1\n")},
        "has a key that is a list or a set of keys",
    ),
    Case(
        "yaml-nested-too-deep",
        {"event": _text("event.yaml", "a: " + "[" * 5_000 + "]" * 5_000 + "\n")},
        "nested more than 32 levels deep",
    ),
    Case(
        "json-nested-too-deep",
        {"event": _text("event.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")},
        "nested more than 32 levels deep",
    ),
    Case(
        "toml-nested-too-deep",
        {"event": _text("event.toml", "a = " + "[" * 5_000 + "]" * 5_000 + "\n")},
        "nested more than 32 levels deep",
    ),
    Case(
        "impossible-date",
        {"event": _text("event.yaml", "date: 2025-02-30\n")},
        'date is "2025-02-30", not a date',
    ),
    # Mapping files
    Case(
        "mapping-target-not-a-category",
        {"mapping": _text("mapping.toml", '[answers.sex]\n"Female" = "Woman-ish"\n')},
        '"Female" = "Woman-ish", which is not one of its categories',
    ),
    Case(
        "mapping-column-to-an-unknown-characteristic",
        {"mapping": _text("mapping.toml", '[columns]\n"Age" = "agee"\n')},
        '"Age" = "agee", which is not a characteristic',
    ),
    Case(
        "mapping-nested-too-deep",
        {"mapping": _text("mapping.toml", "[columns]\na = " + "[" * 3_000 + "]" * 3_000 + "\n")},
        "more than 32 levels deep",
    ),
    # Partners
    Case(
        "partners-field-over-the-csv-limit",
        {
            "partners": _text(
                "partners.csv", 'name,serves,contact\nOrg,"age:' + "y" * 140_000 + '",c\n'
            )
        },
        "partners file",
    ),
]
FLAGS = {
    "reference": "--reference",
    "event": "--event",
    "mapping": "--mapping",
    "partners": "--partners",
}


def _cli_args(paths: dict[str, Path], output: Path) -> list[str]:
    args = ["audit", str(paths["register"])]
    for role, flag in FLAGS.items():
        if role in paths:
            args += [flag, str(paths[role])]
    if "reference" not in paths:
        args += ["--area", "Lambeth", "--eligible-age", "16+"]
    return [*args, "--format", "json", "--format", "html", "-o", f"{output}/"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_command_line_refuses_it_with_exit_2_and_writes_nothing(
    case: Case, tmp_path: Path
) -> None:
    paths = case.build(tmp_path)
    output, store = tmp_path / "out", tmp_path / "history.sqlite"
    args = [*_cli_args(paths, output), "--store", str(store), "--event-date", "2025-03-05"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 2, (done.output, done.exception)
    assert done.stderr.startswith("Error: ") and done.stderr.count("Error:") == 1
    assert case.message in done.stderr, done.stderr
    assert "Traceback" not in done.output and len(done.stderr) < 2_000
    assert not output.exists() and not store.exists()


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[TestClient, Path]]:
    with tempfile.TemporaryDirectory() as scratch:
        settings = ServiceSettings(max_upload_mb=20, scratch=Path(scratch) / "service")
        with TestClient(create_app(settings)) as client:
            yield client, Path(scratch)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_service_refuses_it_in_the_documented_shape_and_keeps_nothing(
    case: Case, tmp_path: Path, service: tuple[TestClient, Path]
) -> None:
    client, scratch = service
    paths = case.build(tmp_path)
    files = {role: (path.name, path.read_bytes()) for role, path in paths.items()}
    data = {} if "reference" in paths else {"area": "Lambeth", "eligible_age": "16+"}
    response = client.post("/api/audit", files=files, data=data)
    assert response.status_code == case.status, response.text[:500]
    body = response.json()
    # Unknown answers and unrecognised columns are also listed for a system to map
    # (issue 18); nothing else.
    assert next(iter(body)) == "error", body
    assert set(body) <= {"error", "unknown_answers", "unrecognised_columns"}, body
    assert case.message in body["error"], body
    assert str(tmp_path) not in body["error"] and len(body["error"]) < 2_000
    assert len(response.content) < 20_000
    assert left_behind(scratch) == [], "an upload was left behind"


def test_a_header_with_a_line_break_and_doubled_quotes_is_read(tmp_path: Path) -> None:
    register = tmp_path / "quoted.csv"
    rows = ["16-24,Female", "25-34,Male"] * 10
    register.write_text('"What is your\nage? ""in years""",Sex\n' + "\n".join(rows) + "\n")
    mapping = tmp_path / "mapping.toml"
    runner = CliRunner()
    done = runner.invoke(cli, ["mapping", "suggest", str(register), "-o", str(mapping)])
    assert done.exit_code == 0, done.output
    assert '"What is your\\nage? \\"in years\\"" = "age"' in mapping.read_text()
    args = ["audit", str(register), "--area", "Lambeth", "--mapping", str(mapping), "-o", "-"]
    done = runner.invoke(cli, [*args, "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [c["name"] for c in json.loads(done.stdout)["characteristics"]] == ["age", "sex"]


def test_cr_only_line_endings_are_read(tmp_path: Path) -> None:
    register = tmp_path / "mac.csv"
    register.write_bytes(REGISTER.read_bytes().replace(b"\n", b"\r"))
    args = ["audit", str(register), "--area", "Lambeth", "--format", "json", "-o", "-"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["n_participants"] == 240


def test_a_folder_given_as_the_store_is_named_as_one(tmp_path: Path) -> None:
    done = CliRunner().invoke(cli, ["store", "list", "--store", f"{tmp_path}/"])
    assert done.exit_code == 2 and "is a folder, not a store" in done.stderr
