"""The floor: read the register once with polars and count each characteristic's answers.

This is the least any audit has to do: a lazy scan of the file and one group-by
count per characteristic column, run together so polars reads the file once.
It prints the counts as JSON (so the work cannot be optimised away, and so the
smoke test can compare them with the audit's).

    python benchmarks/floor.py REGISTER [--columns Age,Sex,...] [--engine auto|streaming|in-memory]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from generate import HEADERS


def scan(path: Path) -> pl.LazyFrame:
    """A lazy frame of the register's columns as text, as the audit reads them."""
    if path.suffix.lower() == ".parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def count_answers(
    path: Path, columns: Sequence[str], engine: str = "auto"
) -> dict[str, dict[str, int]]:
    """Each column's answers and their counts; a blank answer is the key ''."""
    frame = scan(path)
    queries = [frame.group_by(column).len() for column in columns]
    results = pl.collect_all(queries, engine=engine)  # type: ignore[arg-type]
    return {
        column: {answer or "": int(count) for answer, count in result.iter_rows()}
        for column, result in zip(columns, results, strict=True)
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("register", type=Path)
    parser.add_argument("--columns", default=",".join(HEADERS.values()))
    parser.add_argument("--engine", default="auto", choices=["auto", "streaming", "in-memory"])
    parser.add_argument("--output", "-o", type=Path, help="write the counts here (JSON)")
    args = parser.parse_args(argv)
    counts = count_answers(args.register, args.columns.split(","), args.engine)
    text = json.dumps(counts, ensure_ascii=False, sort_keys=True)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
