"""The benchmarks keep working: a tiny run of every case that exists (not a timing test).

``benchmarks/run.py --smoke`` generates a 10,000-row register as CSV and Parquet,
runs the floor, the audit, the pandas baseline, ``--help``, a bare click program
and the PDF of a typical event once each, and checks that the audit's JSON agrees
with the pandas + scipy + statsmodels baseline and with the floor's raw counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
