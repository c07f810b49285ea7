"""The documentation cannot drift from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from inclusion_audit.cli.app import cli

from .conftest import REPO


def test_readme_gives_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "audit",
        "check",
        "serve",
        "review",
        "store add",
        "store list",
        "store remove",
        "weights",
        "results",
    ],
)
def test_every_command_option_is_in_the_readme(path: str) -> None:
    readme = (REPO / "README.md").read_text()
    command = cli
    for name in path.split():
        command = command.commands[name]
    assert f"inclusion-audit {path}" in readme
    for parameter in command.params:
        for option in getattr(parameter, "opts", []):
            if option.startswith("--") and option != "--help":
                assert f"`{option}" in readme, f"{option} is missing from the README"


def test_every_result_key_is_documented(example_register, example_reference) -> None:
    schema = (REPO / "docs" / "result-schema.md").read_text()
    result = CliRunner().invoke(
        cli, ["audit", str(example_register), "--reference", str(example_reference), "-q"]
    )
    keys: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                keys.add(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(result.stdout))
    documented = set(re.findall(r"`([a-z_]+)`", schema))
    assert keys - documented == set()


TOP_LEVEL = tuple(
    path.name + ("/" if path.is_dir() else "")
    for path in REPO.iterdir()
    if not path.name.startswith(".") or path.name == ".ci"
)
GENERATED = ("out/", "benchmarks/data/", ".venv/")
"""Folders that commands create; the docs name files in them that a fresh clone lacks."""
DOCUMENTS = ("README.md", "docs/*.md", "benchmarks/README.md", "examples/*.md")


def named_paths(document: Path) -> set[str]:
    """Repository paths a document names: link targets, and `code` that starts at the top."""
    text = document.read_text(encoding="utf-8")
    found = set()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            found.add((document.parent / target).resolve().relative_to(REPO).as_posix())
    for code in re.findall(r"`([^`\s]+)`", text):
        if code.startswith(TOP_LEVEL) and not code.startswith(GENERATED):
            found.add(code.rstrip("/"))
    return found


def test_every_repository_path_in_the_docs_exists() -> None:
    missing = []
    for pattern in DOCUMENTS:
        for document in sorted(REPO.glob(pattern)):
            for name in sorted(named_paths(document)):
                if not list(REPO.glob(name)):
                    missing.append(f"{document.relative_to(REPO)}: {name}")
    assert missing == []
