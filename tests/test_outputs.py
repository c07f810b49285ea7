"""Output planning and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusion_audit.outputs import OutputError, choose_formats, plan_outputs, write_atomic
from inclusion_audit.render import FILE_NAMES


def test_formats_default_to_json_or_the_suffix() -> None:
    assert choose_formats((), None) == ["json"]
    assert choose_formats((), "report.pdf") == ["pdf"]
    assert choose_formats(("html", "html", "json"), "out") == ["html", "json"]


def test_several_formats_go_into_a_folder(tmp_path: Path) -> None:
    plan = plan_outputs(["json", "pdf"], str(tmp_path / "out"), FILE_NAMES)
    assert plan == [
        ("json", tmp_path / "out" / "audit.json"),
        ("pdf", tmp_path / "out" / "report.pdf"),
    ]


def test_one_format_into_an_existing_folder(tmp_path: Path) -> None:
    assert plan_outputs(["html"], str(tmp_path), FILE_NAMES) == [("html", tmp_path / "report.html")]


def test_stdout(tmp_path: Path) -> None:
    assert plan_outputs(["md"], "-", FILE_NAMES) == [("md", None)]


def test_several_formats_cannot_share_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "x"
    existing.write_text("")
    with pytest.raises(OutputError, match="is a file"):
        plan_outputs(["json", "html"], str(existing), FILE_NAMES)
    with pytest.raises(OutputError, match="looks like a file name"):
        plan_outputs(["json", "html"], str(tmp_path / "r.json"), FILE_NAMES)


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.html"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")

    def explode(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
