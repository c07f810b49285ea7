"""Generate synthetic participant registers for the benchmarks: census-shaped, skewed, seeded.

Every register is one row per (invented) participant with six characteristics the
tool audits against Census 2021 for Lambeth, residents aged 16+ (age bands, sex,
the 19 ONS ethnic groups, disability, religion, sexual orientation), blanks and
"Prefer not to say" answers, and identifying columns the audit must ignore
(id, name, email, postcode, submission time, free-text comments with commas,
quotes and line breaks).

Shares start from the real Census 2021 figures for Lambeth (16+), read through
``inclusion_audit`` itself, and are then skewed the way engagement events skew:
older, whiter, more often Christian, less often disabled, slightly more women.

Rows are made in fixed blocks, each seeded from (SEED, block number), so the
first million rows of the 10-million-row register are the 1-million-row register:
every size is a prefix of one deterministic sequence.

It also writes ``reference-lambeth-16plus.csv`` (``characteristic,category,count``),
the exact population the audit compares with, for the pandas baseline.

    python benchmarks/generate.py --sizes 10k,1m,10m --formats csv,parquet
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from spec import (
    AREA,
    CHARACTERISTICS,
    DECLINED,
    DEFAULT_DATA,
    ELIGIBLE_AGE,
    HEADERS,
    REFERENCE_FILE,
    parse_size,
    register_path,
)

SEED = 20210321  # Census day
BLOCK_ROWS = 250_000
AGE_BANDS = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")

# Engagement skew: multiplier on each category's census share (then renormalised).
# Matched by substring on the category label; the first matching key wins.
SKEW: dict[str, tuple[tuple[str, float], ...]] = {
    "age": (
        ("16-24", 0.45),
        ("25-34", 0.6),
        ("35-44", 0.9),
        ("45-54", 1.25),
        ("55-64", 1.7),
        ("65-74", 2.1),
        ("75+", 1.6),
    ),
    "sex": (("Female", 1.12), ("Male", 0.9)),
    "ethnic_group": (
        ("White: English", 1.55),
        ("White: Irish", 1.3),
        ("Gypsy", 0.3),
        ("Roma", 0.35),
        ("White: Other", 0.8),
        ("African", 0.6),
        ("Caribbean", 0.85),
        ("Other Black", 0.6),
        ("Asian", 0.65),
        ("Mixed", 0.8),
        ("Arab", 0.5),
        ("Any other", 0.6),
    ),
    "disability": (("Not disabled", 1.0), ("Disabled", 0.65)),
    "religion": (
        ("Christian", 1.25),
        ("No religion", 0.9),
        ("Muslim", 0.6),
        ("Hindu", 0.8),
        ("Sikh", 0.8),
        ("Buddhist", 0.9),
        ("Jewish", 1.1),
        ("Other", 0.9),
    ),
    "sexual_orientation": (("Straight", 1.0), ("", 0.85)),
}

# (blank rate, "Prefer not to say" rate) per characteristic: voluntary questions
# are skipped and declined more often.
UNKNOWN_RATES: dict[str, tuple[float, float]] = {
    "age": (0.015, 0.01),
    "sex": (0.01, 0.015),
    "ethnic_group": (0.02, 0.03),
    "disability": (0.03, 0.04),
    "religion": (0.04, 0.06),
    "sexual_orientation": (0.05, 0.09),
}

FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Efua",
    "Femi",
    "Grace",
    "Hamza",
    "Ines",
    "Jack",
    "Kemi",
    "Leo",
    "Maya",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Ruth",
    "Sam",
    "Tomasz",
    "Uche",
    "Vera",
    "Wen",
    "Xavier",
    "Yusuf",
    "Zara",
    "Aisha",
    "Bola",
    "Ciara",
    "Dan",
]
LAST_NAMES = [
    "Adeyemi",
    "Brown",
    "Clarke",
    "Da Silva",
    "Evans",
    "Fernandes",
    "Green",
    "Hussain",
    "Ito",
    "Jones",
    "Kowalski",
    "Lewis",
    "Mensah",
    "Nowak",
    "O'Brien",
    "Patel",
    "Quashie",
    "Robinson",
    "Smith",
    "Taylor",
    "Usman",
    "Varga",
    "Williams",
    "Xu",
    "Young",
    "Zhou",
]
COMMENTS = (
    "More bins on the high street, please",
    'The "drop-in" was at 10am; I work then',
    "Great session.\nWould come again",
    "Step-free access was missing at the hall",
    "Please publish the slides, and the minutes",
    "Translation into Portuguese would help",
    "Childcare, please!",
    "Too many questions about parking",
)
COMMENT_RATE = 0.18


@dataclass(frozen=True)
class Distribution:
    """A characteristic's answer labels and their probabilities (unknowns included)."""

    name: str
    labels: tuple[str | None, ...]
    probabilities: np.ndarray


def census_profiles() -> dict[str, dict[str, float]]:
    """The population the audit compares each characteristic with, category -> count.

    Read through the tool's own Census reference, with the register's age bands
    and answers, so the baseline and the audit use the very same figures.
    """
    from inclusion_audit.reference import census
    from inclusion_audit.reference.profiles import CensusReference, NotAvailable

    areas = tuple(census.resolve_areas([AREA]))
    eligible = census.parse_age_range(ELIGIBLE_AGE)
    reference = CensusReference(areas, eligible)
    profiles: dict[str, dict[str, float]] = {}
    for name in CHARACTERISTICS:
        # The register answers with the Census's own labels (age in the usual bands).
        answers: Sequence[str] = (
            AGE_BANDS
            if name == "age"
            else list(census.census_profile(areas, name, eligible).categories)
        )
        profile = reference.profile(name, answers)
        if isinstance(profile, NotAvailable):
            raise SystemExit(f"Census has no {name} for {AREA}: {profile.reason}")
        profiles[name] = dict(profile.categories)
    return profiles


def distributions(profiles: dict[str, dict[str, float]]) -> list[Distribution]:
    """Skewed census shares plus blank (None) and declined answers, per characteristic."""
    result = []
    for name, categories in profiles.items():
        labels = list(categories)
        shares = np.array([categories[c] for c in labels], dtype=float)
        shares /= shares.sum()
        weights = np.array([_skew(name, label) for label in labels])
        skewed = shares * weights
        blank, declined = UNKNOWN_RATES[name]
        skewed = skewed / skewed.sum() * (1 - blank - declined)
        probabilities = np.append(skewed, [blank, declined])
        result.append(
            Distribution(name, (*labels, None, DECLINED), probabilities / probabilities.sum())
        )
    return result


def _skew(name: str, label: str) -> float:
    for key, weight in SKEW.get(name, ()):
        if key in label:
            return weight
    return 1.0


def make_block(block: int, rows: int, start: int, dists: Sequence[Distribution]) -> pl.DataFrame:
    """``rows`` participants numbered from ``start + 1``, from block ``block``'s seed."""
    rng = np.random.default_rng([SEED, block])
    ids = np.arange(start + 1, start + rows + 1)
    first = rng.integers(0, len(FIRST_NAMES), rows)
    last = rng.integers(0, len(LAST_NAMES), rows)
    frame = pl.DataFrame(
        {
            "id": ids,
            "first": pl.Series(FIRST_NAMES, dtype=pl.String).gather(first),
            "last": pl.Series(LAST_NAMES, dtype=pl.String).gather(last),
        }
    )
    postcode_letters = "ABDEFGHJLNPQRSTUWXYZ"
    columns: dict[str, pl.Series | pl.Expr] = {
        "Participant ID": pl.format("P{}", pl.col("id").cast(pl.String).str.zfill(8)),
        "Name": pl.format("{} {}", pl.col("first"), pl.col("last")),
        "Email": pl.format(
            "{}.{}{}@example.invalid",
            pl.col("first").str.to_lowercase(),
            pl.col("last").str.to_lowercase().str.replace_all(r"[^a-z]", ""),
            pl.col("id"),
        ),
        "Postcode": _postcodes(rng, rows, postcode_letters),
        "Submitted at": _timestamps(rng, rows),
    }
    for dist in dists:
        picks = rng.choice(len(dist.labels), size=rows, p=dist.probabilities)
        labels = pl.Series(dist.name, list(dist.labels), dtype=pl.String)
        columns[HEADERS[dist.name]] = labels.gather(picks)
    has_comment = rng.random(rows) < COMMENT_RATE
    which = rng.integers(0, len(COMMENTS), rows)
    comments = pl.Series(COMMENTS, dtype=pl.String).gather(which)
    columns["Comments"] = pl.when(pl.Series(has_comment)).then(comments).otherwise(None)
    return frame.select(
        *(
            (value if isinstance(value, pl.Expr) else pl.lit(value)).alias(name)
            for name, value in columns.items()
        )
    )


def _postcodes(rng: np.random.Generator, rows: int, letters: str) -> pl.Series:
    digit = pl.Series(rng.integers(1, 10, rows)).cast(pl.String)
    pool = pl.Series(list(letters), dtype=pl.String)
    first = pool.gather(rng.integers(0, len(letters), rows))
    second = pool.gather(rng.integers(0, len(letters), rows))
    return pl.select(pl.format("ZZ99 {}{}{}", digit, first, second)).to_series()


def _timestamps(rng: np.random.Generator, rows: int) -> pl.Series:
    base = np.datetime64("2025-01-06T09:00:00", "ms")
    offsets = (rng.integers(0, 90 * 24 * 3600, rows) * 1000).astype("timedelta64[ms]")
    return pl.Series(base + offsets).dt.to_string("%Y-%m-%dT%H:%M:%S")


def write_register(
    rows: int, formats: Sequence[str], data_dir: Path, dists: Sequence[Distribution]
) -> list[Path]:
    """Write one register of ``rows`` rows in each format, block by block."""
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {f: register_path(data_dir, rows, f) for f in formats}
    temporary = {f: p.with_name(p.name + ".partial") for f, p in paths.items()}
    parquet_writer: pq.ParquetWriter | None = None
    csv_handle = temporary["csv"].open("wb") if "csv" in formats else None
    try:
        written = 0
        for block in range((rows + BLOCK_ROWS - 1) // BLOCK_ROWS):
            count = min(BLOCK_ROWS, rows - written)
            frame = make_block(block, count, written, dists)
            if csv_handle is not None:
                frame.write_csv(csv_handle, include_header=block == 0)
            if "parquet" in formats:
                table = frame.to_arrow()
                if parquet_writer is None:
                    parquet_writer = pq.ParquetWriter(
                        temporary["parquet"], table.schema, compression="zstd"
                    )
                parquet_writer.write_table(table)
            written += count
    finally:
        if csv_handle is not None:
            csv_handle.close()
        if parquet_writer is not None:
            parquet_writer.close()
    for file_format, path in paths.items():
        temporary[file_format].replace(path)
    return list(paths.values())


def write_reference(data_dir: Path, profiles: dict[str, dict[str, float]]) -> Path:
    """The population as ``characteristic,category,count``, as the audit uses it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / REFERENCE_FILE
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["characteristic", "category", "count"])
        for name, categories in profiles.items():
            for category, count in categories.items():
                writer.writerow([name, category, repr(count)])
    return path


def generate(
    sizes: Sequence[int], formats: Sequence[str], data_dir: Path, *, force: bool = False
) -> list[Path]:
    """Write the registers (skipping existing ones unless ``force``) and the reference."""
    profiles = census_profiles()
    dists = distributions(profiles)
    written = [write_reference(data_dir, profiles)]
    for rows in sizes:
        wanted = [f for f in formats if force or not register_path(data_dir, rows, f).exists()]
        if not wanted:
            continue
        started = time.perf_counter()
        paths = write_register(rows, wanted, data_dir, dists)
        elapsed = time.perf_counter() - started
        for path in paths:
            megabytes = path.stat().st_size / 1e6
            print(f"wrote {path} ({rows:,} rows, {megabytes:,.1f} MB, {elapsed:.1f} s)")
        written.extend(paths)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,1m", help="row counts, e.g. 10k,1m,10m")
    parser.add_argument("--formats", default="csv,parquet", help="csv, parquet or both")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--force", action="store_true", help="rewrite existing files")
    args = parser.parse_args(argv)
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError as error:
        parser.error(str(error))
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - {"csv", "parquet"}
    if unknown:
        parser.error(f"unknown format(s) {', '.join(sorted(unknown))}; use csv and/or parquet")
    generate(sizes, formats, args.data_dir, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
