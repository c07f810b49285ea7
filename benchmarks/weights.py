"""Benchmark: raking weights for a million participants on three characteristics.

Goal (issue 21): weighting 1 million participants on three characteristics takes
under 2 s on this machine. Measured three ways, each the median of ``--runs`` runs
after one warm-up:

* ``rake``: ``stats.weighting.rake`` alone, on the register's codes already in memory
  (age, sex and ethnic group: 7 × 2 × 19 categories, with unknown answers);
* ``library``: ``weighting.weight_register`` on the CSV: read, harmonise, codes, rake;
* ``command``: ``inclusion-audit weights`` as a user runs it, start-up and writing the
  weights file included.

Not a test: run it alone (``python benchmarks/weights.py``), never beside anything
heavy. The register is ``generate.py``'s 1-million-row CSV (written if missing).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from spec import AREA, DEFAULT_DATA, ELIGIBLE_AGE, register_path  # noqa: E402

CHARACTERISTICS = ("age", "sex", "ethnic_group")
GOAL_SECONDS = 2.0


def _median(runs: int, action: Callable[[], object]) -> tuple[float, list[float]]:
    action()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from generate import generate

    register = register_path(args.data_dir, args.rows, "csv")
    if not register.exists():
        generate([args.rows], ["csv"], args.data_dir)

    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.stats.weighting import rake
    from inclusion_audit.weighting import WeightSettings, weight_register

    reference, _ = choose_reference([AREA], ELIGIBLE_AGE, None, None)
    settings = WeightSettings(characteristics=CHARACTERISTICS)
    table = read_table(register)
    weighted = weight_register(table, reference, settings)
    n = weighted.raking.n
    print(
        f"{n:,} participants on {', '.join(CHARACTERISTICS)}: "
        f"{weighted.raking.iterations} iterations, design effect "
        f"{weighted.raking.design_effect:.3f}, largest margin error "
        f"{weighted.raking.largest_margin_error:.1e}"
    )
    results = {}
    results["rake"] = _median(args.runs, lambda: rake(weighted.margins))
    results["library"] = _median(
        args.runs, lambda: weight_register(read_table(register), reference, settings)
    )
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "weights.csv"
        command = [
            sys.executable,
            "-m",
            "inclusion_audit",
            "weights",
            str(register),
            "--area",
            AREA,
            "--eligible-age",
            ELIGIBLE_AGE,
            *(f"--characteristic={c}" for c in CHARACTERISTICS),
            "--output",
            str(output),
            "--quiet",
        ]
        results["command"] = _median(
            args.runs, lambda: subprocess.run(command, check=True, capture_output=True)
        )
    for name, (median, times) in results.items():
        shown = ", ".join(f"{t:.2f}" for t in times)
        verdict = "meets" if median < GOAL_SECONDS else "MISSES"
        print(f"{name:8s} median {median:.2f} s ({shown}); {verdict} the {GOAL_SECONDS:g} s goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
