"""The benchmarks keep working: a tiny run of every case that exists (not a timing test).

``benchmarks/run.py --smoke`` generates a 10,000-row register as CSV and Parquet,
runs the floor, the audit, the pandas baseline, ``--help``, a bare click program
and the PDF of a typical event once each, and checks that the audit's JSON agrees
with the pandas + scipy + statsmodels baseline and with the floor's raw counts.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "benchmarks" / "run.py"


def test_benchmark_smoke_run(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(RUNNER), "--smoke", "--data-dir", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    cases = [case for group in results["groups"].values() for case in group["cases"]]

    # Every case whose command exists ran and exited 0; the others are listed, not run.
    assert {case["status"] for case in cases} <= {"ok", "not_built", "not_written"}
    ran = {case["role"] for case in cases if case["status"] == "ok"}
    assert {"floor", "audit", "pandas", "help", "click", "pdf"} <= ran
    for case in cases:
        if case["status"] == "ok":
            assert len(case["seconds"]) == 1 and case["peak_rss_mb"] > 0, case["key"]

    # Same counts, statuses and shortfalls; p-values and intervals to 1e-6.
    agreement = [check for group in results["groups"].values() for check in group["agreement"]]
    assert {check["file_format"] for check in agreement} == {"csv", "parquet"}
    for check in agreement:
        assert check["pandas_problems"] == [], check
        assert check["floor_problems"] == [], check
        assert check["groups_compared"] == 42
        assert check["pandas_max_relative_difference"] < 1e-6
        assert check["agree"]


def test_smoke_run_leaves_the_committed_results_alone(tmp_path: Path) -> None:
    """--smoke writes only into its data folder, never RESULTS.md or results.json."""
    tracked = [REPO / "benchmarks" / "RESULTS.md", REPO / "benchmarks" / "results.json"]
    before = {path: path.stat().st_mtime_ns for path in tracked if path.exists()}
    subprocess.run(
        [
            sys.executable,
            str(RUNNER),
            "--smoke",
            "--data-dir",
            str(tmp_path),
            "--quiet",
            "--only",
            "startup",
            "--no-bytecode-cache",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert {path: path.stat().st_mtime_ns for path in tracked if path.exists()} == before
    assert (tmp_path / "results.json").exists()


def _runner(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """benchmarks/run.py as a module (it imports its neighbour spec.py)."""
    monkeypatch.syspath_prepend(str(RUNNER.parent))
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_only_replaces_the_cases_it_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """--only re-measures some cases of a group: the others stay, with their time and machine,
    and the re-measured ones say when and at what commit they were measured."""
    run = _runner(monkeypatch)

    def outcome(key: str, seconds: float) -> Any:
        return run.Outcome(
            key, "other", key, f"case {key}", None, "ok", [seconds], [100 * 1024], note="n"
        )

    old_machine = {"commit": "aaaaaaa", "cpu": "x"}
    first = run.merge_results({}, [outcome("a", 1.0), outcome("b", 2.0)], [], old_machine, {})
    again = run.merge_results(
        first, [outcome("b", 3.0)], [], {"commit": "bbbbbbb", "cpu": "x"}, {}, only=True
    )
    group = again["groups"]["other"]
    assert [c["key"] for c in group["cases"]] == ["a", "b"]
    assert [c["median_seconds"] for c in group["cases"]] == [1.0, 3.0]
    assert group["machine"] == old_machine
    assert group["measured_at"] == first["groups"]["other"]["measured_at"]
    assert "measured_at" not in group["cases"][0]
    assert group["cases"][1]["commit"] == "bbbbbbb"
    table = run._group_table("other", {**group, "measured_at": "earlier"})
    rows = [line for line in table if line.startswith(("| case a", "| case b"))]
    assert rows[0].endswith("| n |")
    assert rows[1].endswith(
        f"| n; re-measured alone {group['cases'][1]['measured_at']} at commit bbbbbbb |"
    )

    # Without --only the group is replaced whole, as before.
    whole = run.merge_results(first, [outcome("b", 3.0)], [], old_machine, {})
    assert [c["key"] for c in whole["groups"]["other"]["cases"]] == ["b"]
