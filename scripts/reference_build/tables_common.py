"""What a built table is, and building one from LSOA, MSOA or custom-dataset sources."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from reference_build.geography import Geography, with_higher_levels
from reference_build.helpers import check, read_csv, sum_by, tidy
from reference_build.sources import (
    NISRA_ATTRIBUTION,
    OGL,
    OGL_URL,
    ONS_ATTRIBUTION,
    REPOS,
    repo_path,
)


@dataclass
class Table:
    """One output table plus the manifest facts about it."""

    name: str
    frame: pl.DataFrame
    meta: dict[str, Any]


def lsoa_source(
    raw: Path,
    rel: str,
    category_col: str,
    total_col: str,
    expected: Sequence[str],
) -> pl.DataFrame:
    """Read an LSOA21 table (long: code, total, category, n) and check it adds up."""
    frame = read_csv(raw, rel).select(
        pl.col("lsoa21_code"),
        pl.col(total_col).alias("total"),
        pl.col(category_col).alias("category"),
        pl.col("n").alias("count"),
    )
    check(frame["lsoa21_code"].n_unique() == 35672, f"{rel}: expected 35,672 LSOAs")
    check(set(frame["category"].unique().to_list()) == set(expected), f"{rel}: categories")
    sums = frame.group_by("lsoa21_code").agg(
        (pl.col("count").sum() - pl.col("total").first()).abs().alias("gap")
    )
    check(sums["gap"].max() == 0, f"{rel}: categories do not add up to the LSOA total")
    return frame


def from_lsoa(
    frame: pl.DataFrame, characteristic: str, geo: Geography, wards: bool
) -> pl.DataFrame:
    """Aggregate an LSOA table to LTLA (exact nesting), higher levels and best-fit wards."""
    joined = frame.join(geo.lsoa, on="lsoa21_code", how="left")
    check(joined["ltla_code"].null_count() == 0, f"{characteristic}: LSOA not in lookup")
    ltla = sum_by(joined.rename({"ltla_code": "area_code"}), ["area_code", "category"])
    parts = [with_higher_levels(ltla, geo)]
    if wards:
        parts.append(sum_by(joined.rename({"ward_code": "area_code"}), ["area_code", "category"]))
    return tidy(
        pl.concat([p.select("area_code", "category", "count") for p in parts]), characteristic
    )


def from_msoa(frame: pl.DataFrame, characteristic: str, geo: Geography) -> pl.DataFrame:
    """Aggregate an MSOA21 table (msoa21_code, category, count) to LTLA and above."""
    joined = frame.join(geo.msoa, on="msoa21_code", how="left")
    check(joined["ltla_code"].null_count() == 0, f"{characteristic}: MSOA not in lookup")
    ltla = sum_by(joined.rename({"ltla_code": "area_code"}), ["area_code", "category"])
    return tidy(with_higher_levels(ltla, geo), characteristic)


def custom_margin(raw: Path, rel: str, dimension_prefix: str) -> pl.DataFrame:
    """One margin of an ONS custom-dataset cross-tab (LTLA, usual residents aged 16+).

    The other dimension is summed out. "Does not apply" (-8) rows are dropped; in
    these downloads they are all zero because the population base is already 16+.
    """
    frame = read_csv(raw, rel, infer_schema_length=0)
    cols = frame.columns
    label_cols = [c for c in cols[2:-1] if not c.endswith(" Code")]
    target = [c for c in label_cols if c.startswith(dimension_prefix)]
    check(len(target) == 1, f"{rel}: no single column starting {dimension_prefix!r}")
    code_col = target[0] + " Code"
    dropped = frame.filter(pl.col(code_col) == "-8")
    check(
        dropped["Observation"].cast(pl.Int64).sum() == 0,
        f"{rel}: 'Does not apply' rows are not all zero",
    )
    check(frame[cols[0]].n_unique() == 331, f"{rel}: expected 331 LTLAs")
    return sum_by(
        frame.filter(pl.col(code_col) != "-8").select(
            pl.col(cols[0]).alias("area_code"),
            pl.col(target[0]).alias("category"),
            pl.col("Observation").cast(pl.Int64).alias("count"),
        ),
        ["area_code", "category"],
    )


def source_entry(raw_rel: str, note: str | None = None) -> dict[str, str]:
    """Manifest entry for one raw input: repository, commit, path and local file."""
    top = raw_rel.partition("/")[0]
    entry = {
        "repo": REPOS[top]["repo"],
        "commit": REPOS[top]["commit"],
        "repo_path": repo_path(raw_rel),
        "raw_file": raw_rel,
        "repo_licence": REPOS[top]["repo_licence"],
    }
    if note:
        entry["note"] = note
    return entry


def licence(nisra: bool = False, extra: Iterable[str] = ()) -> dict[str, Any]:
    """The OGL block every table carries; NISRA tables get NISRA's attribution."""
    lines = [NISRA_ATTRIBUTION if nisra else ONS_ATTRIBUTION, *extra]
    return {"name": OGL, "url": OGL_URL, "attribution": lines}


EW_LEVELS = ["ltla", "region", "country (England, Wales, England and Wales)"]
