"""Output planning and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusion_audit.report.outputs import OutputError, choose_formats, plan_outputs, write_all
from inclusion_audit.report.render import FILE_NAMES


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
    write_all([(target, b"one")])
    write_all([(target, b"two")])
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")

    def explode(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(OutputError, match="disk full"):
        write_all([(target, b"new"), (tmp_path / "audit.json", b"{}")])
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_unwritable_destination_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="could not write"):
        write_all([(blocker / "report.html", b"x")])


def test_inputs_are_never_overwritten(tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text("sex\nFemale\n")
    with pytest.raises(OutputError, match="is one of the input files"):
        plan_outputs(["csv"], str(register), FILE_NAMES, [register])
    with pytest.raises(OutputError, match="no known suffix"):
        plan_outputs(["json"], str(tmp_path / "out.xyz"), FILE_NAMES)
    (tmp_path / "out" / "report.md").mkdir(parents=True)
    with pytest.raises(OutputError, match="not a regular file"):
        plan_outputs(["json", "md"], str(tmp_path / "out"), FILE_NAMES)
