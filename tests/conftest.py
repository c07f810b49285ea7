"""Shared fixtures: paths to the bundled example and writers for small registers."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

# Speed goals live in benchmarks/, not in tests: on a loaded 2-core machine one example
# can take longer than hypothesis' default 200 ms deadline without anything being wrong.
settings.register_profile("inclusion-audit", deadline=None)
settings.load_profile("inclusion-audit")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture
def example_register() -> Path:
    return EXAMPLES / "riverside-forum-register.csv"


@pytest.fixture
def example_reference() -> Path:
    return EXAMPLES / "riverside-reference.csv"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write rows (first row = header) as a CSV in tmp_path and return its path."""

    def write(
        name: str,
        rows: Sequence[Sequence[object]],
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> Path:
        path = tmp_path / name
        with path.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter).writerows(rows)
        return path

    return write


@pytest.fixture
def small_reference(write_csv: WriteCsv) -> Path:
    """Sex 50/50 and three age bands in proportion 2:1:1."""
    return write_csv(
        "reference.csv",
        [
            ["characteristic", "category", "count"],
            ["sex", "Female", 500],
            ["sex", "Male", 500],
            ["age", "16-34", 400],
            ["age", "35-64", 200],
            ["age", "65+", 200],
        ],
    )


def register_rows(
    counts: dict[str, dict[str, int]], extra: dict[str, str] | None = None
) -> list[list[str]]:
    """Build register rows where column c has counts[c][answer] rows of each answer.

    Every column must add up to the same number of rows.
    """
    columns = list(counts)
    expanded = {c: [a for a, n in counts[c].items() for _ in range(n)] for c in columns}
    lengths = {len(v) for v in expanded.values()}
    assert len(lengths) == 1, "columns must have equal totals"
    extra = extra or {}
    header = ["Name", *columns, *extra]
    rows = [header]
    for i in range(lengths.pop()):
        rows.append([f"Person {i}", *(expanded[c][i] for c in columns), *extra.values()])
    return rows


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="Rewrite golden files from current output."
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
