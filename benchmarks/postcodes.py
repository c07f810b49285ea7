"""Benchmark: what a postcode column costs an audit (issue 19).

Writes two copies of the 1-million-row benchmark register: one whose ``Postcode``
column holds real Lambeth postcodes (picked from the shipped lookup, with 1% blank
and 1% malformed), one without the column. Then times
``inclusion-audit audit REGISTER --area Lambeth --eligible-age 16+ --format json``
on each, whole processes started by ``launch.py``, interleaved, median of 5 after a
warm-up. The goal: with postcodes within 1.5× of without.

Not a test: run it when the machine is quiet.

    python benchmarks/postcodes.py [--rows 1m] [--runs 5] [--format csv|parquet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
from spec import AREA, DEFAULT_DATA, ELIGIBLE_AGE, parse_size, register_path, size_label

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LAMBETH = "E09000022"
SEED = 19


def lambeth_postcodes(rows: int) -> pl.Series:
    """``rows`` postcodes as written on forms: real Lambeth ones, some blank or malformed."""
    data = REPO / "reference_data"
    small = pl.read_parquet(data / "small_areas.parquet").filter(pl.col("ltla_code") == LAMBETH)
    districts = pl.read_parquet(data / "postcode_districts.parquet")
    codes = (
        pl.read_parquet(data / "postcodes.parquet")
        .with_columns(districts.select(pl.col("outward").repeat_by("count").explode()).to_series())
        .join(small.select("lsoa"), on="lsoa")
    )
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    written = codes.select(
        pl.format(
            "{} {}{}{}",
            "outward",
            pl.col("inward") // 676,
            (pl.col("inward") % 676 // 26).map_elements(lambda i: letters[i], pl.String),
            (pl.col("inward") % 26).map_elements(lambda i: letters[i], pl.String),
        )
    ).to_series()
    rng = np.random.default_rng(SEED)
    picks = written.gather(rng.integers(0, written.len(), rows))
    noise = rng.random(rows)
    return (
        pl.select(
            pl.when(pl.lit(pl.Series(noise)) < 0.01)
            .then(pl.lit(""))
            .when(pl.lit(pl.Series(noise)) < 0.02)
            .then(pl.lit("SW9 8Q"))
            .otherwise(pl.lit(picks))
        )
        .to_series()
        .alias("Postcode")
    )


def prepare(rows: int, file_format: str, data_dir: Path) -> tuple[Path, Path]:
    """The two registers (with and without postcodes), written once."""
    source = register_path(data_dir, rows, file_format)
    if not source.exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--sizes",
                size_label(rows),
                "--formats",
                file_format,
                "--data-dir",
                str(data_dir),
            ],
            check=True,
        )
    with_codes = data_dir / f"postcodes-{size_label(rows)}.{file_format}"
    without = data_dir / f"no-postcodes-{size_label(rows)}.{file_format}"
    if not with_codes.exists() or not without.exists():
        reader = pl.read_csv if file_format == "csv" else pl.read_parquet
        frame = reader(source, infer_schema=False) if file_format == "csv" else reader(source)
        frame = frame.with_columns(lambeth_postcodes(frame.height))
        writer = "write_csv" if file_format == "csv" else "write_parquet"
        getattr(frame, writer)(with_codes)
        getattr(frame.drop("Postcode"), writer)(without)
    return with_codes, without


def time_audit(register: Path, out: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "inclusion_audit",
        "audit",
        str(register),
        "--area",
        AREA,
        "--eligible-age",
        ELIGIBLE_AGE,
        "-q",
        "--format",
        "json",
        "-o",
        str(out),
    ]
    result = out.with_suffix(".time.json")
    subprocess.run(
        [sys.executable, str(HERE / "launch.py"), str(result), "--", *command], check=True
    )
    measured = json.loads(result.read_text(encoding="utf-8"))
    if measured["returncode"] != 0:
        raise SystemExit(f"audit of {register} failed")
    return float(measured["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1m")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", dest="file_format", default="csv", choices=["csv", "parquet"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    rows = parse_size(args.rows)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with_codes, without = prepare(rows, args.file_format, args.data_dir)
    out = args.data_dir / "postcodes-audit.json"
    time_audit(with_codes, out)
    time_audit(without, out)
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(args.runs):
        times["with"].append(time_audit(with_codes, out))
        times["without"].append(time_audit(without, out))
    with_s, without_s = (statistics.median(times[k]) for k in ("with", "without"))
    print(
        f"{size_label(rows)} rows, {args.file_format}: with postcodes {with_s:.2f} s "
        f"(range {min(times['with']):.2f}-{max(times['with']):.2f}), without "
        f"{without_s:.2f} s (range {min(times['without']):.2f}-{max(times['without']):.2f}): "
        f"{with_s / without_s:.2f}x (goal: 1.5x or less)"
    )
    return 0 if with_s <= 1.5 * without_s else 1


if __name__ == "__main__":
    sys.exit(main())
