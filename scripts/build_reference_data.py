"""Build ``reference_data/`` from the raw ONS and NISRA Census 2021 files.

Usage::

    python scripts/build_reference_data.py --raw ../shared/census2021/raw --out reference_data
    python scripts/build_reference_data.py --knowledge-only --out reference_data

The raw files are the ones described in ``../shared/census2021/PROVENANCE.md``:
ONS outputs collected from public GitHub repositories. The package never reads
them; it reads only what this script writes: tidy long Parquet tables (zstd), a
manifest with per-table provenance, licence, row counts and sha256 checksums, and
a README. The output is deterministic (sorted rows, no timestamps), so a rebuild
from the same raw files gives the same tables and ``tests/test_reference_build.py``
can check the committed copy against a fresh build.

It also writes two files made from the package's own curated knowledge rather
than from the raw files, so that an audit need not parse that knowledge each
time: ``answer_knowledge.json`` (the classification TOML files, checked and
folded) and ``barriers.json`` (``reference_data/barriers.yaml`` as JSON). Each
records the sha256 of what it was made from, and the package reads the curated
files themselves once they no longer match.

Every check below fails the build loudly rather than writing a table that
silently disagrees with the published figures.

The build is split by source in ``scripts/reference_build/`` (sources and licences,
labels, geography, the age and sex table, the characteristic tables, Northern
Ireland, areas, the catalogue, output); this file is only its command line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# The package of this checkout, not whichever one is installed: the knowledge files
# are made by the code that will read them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference_build.helpers import BuildError
from reference_build.output import build, write_knowledge


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints a one-line-per-table summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--raw", type=Path, help="raw Census files directory")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--geography-raw",
        type=Path,
        help="raw postcode and deprivation files (default: geography/raw beside the "
        "--raw folder's parent, i.e. ../shared/geography/raw)",
    )
    parser.add_argument(
        "--knowledge-only",
        action="store_true",
        help="only rewrite answer_knowledge.json and barriers.json, after editing the "
        "classification TOML files or barriers.yaml (needs no raw files)",
    )
    args = parser.parse_args(argv)
    if args.knowledge_only:
        for path in write_knowledge(args.out):
            print(f"{path.name:32} {path.stat().st_size / 1024:>22.1f} KiB")
        return 0
    if args.raw is None:
        parser.error("--raw is required (unless --knowledge-only)")
    started = time.perf_counter()
    try:
        manifest = build(args.raw, args.out, args.geography_raw)
    except BuildError as exc:
        print(f"build_reference_data: {exc}", file=sys.stderr)
        return 1
    total = 0
    for name, entry in {**manifest["tables"], **manifest["place_tables"]}.items():
        total += entry["bytes"]
        print(f"{name:32} {entry['rows']:>8,} rows {entry['bytes'] / 1024:>8.1f} KiB")
    print(f"{'total':32} {'':>13} {total / 1024:>8.1f} KiB in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
