"""The committed reference_data/ is intact and is what the build script makes.

The checksum test always runs. The rebuild test needs the raw ONS files, which
live outside the repository in ``../shared/census2021/raw``; it is skipped (the
only skip in the suite) when they are absent, e.g. in a plain clone.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from inclusion_audit.reference import census

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "reference_data"
RAW = ROOT.parent / "shared" / "census2021" / "raw"
SCRIPT = ROOT / "scripts" / "build_reference_data.py"

# Entries that legitimately differ when pyarrow/polars write the same frame differently.
BYTE_LEVEL = ("bytes", "sha256")


def load_manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return data


def without_bytes(manifest: dict[str, Any]) -> dict[str, Any]:
    stripped = json.loads(json.dumps(manifest))
    for entry in [*stripped["tables"].values(), *stripped.get("place_tables", {}).values()]:
        for key in BYTE_LEVEL:
            entry.pop(key)
    return stripped


def test_committed_files_match_the_manifest() -> None:
    assert census.reference_data_dir(), "reference_data/ must be found"
    manifest = load_manifest(COMMITTED)
    tables = {**manifest["tables"], **manifest["place_tables"]}
    listed = {entry["file"] for entry in tables.values()}
    on_disk = {p.name for p in COMMITTED.glob("*.parquet")}
    assert listed == on_disk
    for name, entry in tables.items():
        path = COMMITTED / entry["file"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["bytes"], name
        assert pl.read_parquet(path).height == entry["rows"], name


def test_committed_data_stays_small() -> None:
    total = sum(p.stat().st_size for p in COMMITTED.iterdir())
    assert total < 5 * 1024 * 1024


def test_knowledge_files_rebuild_without_the_raw_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--knowledge-only", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name in ("answer_knowledge.json", "barriers.json"):
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name


@pytest.mark.skipif(
    not RAW.is_dir(),
    reason=f"raw ONS files not found at {RAW} (they live outside the repository); "
    "the rebuild comparison needs them",
)
def test_rebuild_reproduces_the_committed_tables(tmp_path: Path) -> None:
    out = tmp_path / "reference_data"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--raw", str(RAW), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    committed, rebuilt = load_manifest(COMMITTED), load_manifest(out)
    assert without_bytes(rebuilt) == without_bytes(committed)
    for name, entry in {**rebuilt["tables"], **rebuilt["place_tables"]}.items():
        path = out / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], name
        assert_frame_equal(
            pl.read_parquet(path), pl.read_parquet(COMMITTED / entry["file"]), check_exact=True
        )
    assert (out / "README.md").read_text(encoding="utf-8") == (COMMITTED / "README.md").read_text(
        encoding="utf-8"
    )
    for name in ("answer_knowledge.json", "barriers.json"):
        assert (out / name).read_bytes() == (COMMITTED / name).read_bytes(), name
