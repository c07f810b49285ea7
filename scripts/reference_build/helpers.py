"""Small helpers every builder shares: checks that fail loudly, reading, tidying and ordering."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl


class BuildError(RuntimeError):
    """The raw files do not look as PROVENANCE.md describes them."""


def check(condition: bool, message: str) -> None:
    """Fail the build with a message naming the file and what was expected."""
    if not condition:
        raise BuildError(message)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large inputs stay cheap."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_csv(raw: Path, rel: str, **kwargs: Any) -> pl.DataFrame:
    """Read one raw CSV (gzip or plain), failing with the missing path."""
    path = raw / rel
    check(path.is_file(), f"raw file missing: {path}")
    return pl.read_csv(path, **kwargs)


def tidy(frame: pl.DataFrame, characteristic: str, category_col: str = "category") -> pl.DataFrame:
    """Return the long ``area_code, characteristic, category, count`` shape."""
    return frame.select(
        pl.col("area_code"),
        pl.lit(characteristic).alias("characteristic"),
        pl.col(category_col).alias("category"),
        pl.col("count").round(0).cast(pl.Int64),
    )


def sum_by(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Group and sum ``count`` (the frame's only value column)."""
    return frame.group_by(list(keys)).agg(pl.col("count").sum())


def collapse(frame: pl.DataFrame, mapping: dict[str, str]) -> pl.DataFrame:
    """Map categories through ``mapping`` and add up the merged ones."""
    missing = set(frame["category"].unique().to_list()) - set(mapping)
    check(not missing, f"categories without a mapping: {sorted(missing)}")
    mapped = frame.with_columns(pl.col("category").replace_strict(mapping))
    return sum_by(mapped, ["area_code", "characteristic", "category"])


def expect_categories(frame: pl.DataFrame, expected: Sequence[str], what: str) -> None:
    """Every area must carry exactly the expected category set."""
    found = set(frame["category"].unique().to_list())
    check(
        found == set(expected),
        f"{what}: categories {sorted(found ^ set(expected))} differ from the ONS list",
    )
    per_area = frame.group_by("area_code").agg(pl.col("category").n_unique().alias("n"))
    check(
        per_area["n"].min() == len(expected),
        f"{what}: some areas miss categories",
    )


def max_row_gap(frame: pl.DataFrame, parts: Sequence[str], total: str) -> int:
    """Largest absolute difference between a row's parts and its total column."""
    gap = frame.select((pl.sum_horizontal(list(parts)) - pl.col(total)).abs().max())
    return int(gap.item())


def order_rows(frame: pl.DataFrame, orders: dict[str, Sequence[str]]) -> pl.DataFrame:
    """Sort by area, characteristic, then the ONS category order (deterministic)."""
    rank = {(c, cat): i for c, cats in orders.items() for i, cat in enumerate(cats)}
    keys = pl.DataFrame(
        {
            "characteristic": [k[0] for k in rank],
            "category": [k[1] for k in rank],
            "_rank": list(rank.values()),
        },
        schema={"characteristic": pl.String, "category": pl.String, "_rank": pl.Int64},
    )
    joined = frame.join(keys, on=["characteristic", "category"], how="left")
    check(joined["_rank"].null_count() == 0, "a category is missing from the order list")
    return joined.sort(["area_code", "characteristic", "_rank"]).drop("_rank")
