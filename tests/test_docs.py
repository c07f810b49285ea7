"""The documentation cannot drift from the code."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from inclusion_audit.cli import cli

from .conftest import REPO


def test_readme_gives_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize(
    "path", ["audit", "check", "serve", "review", "store add", "store list", "store remove"]
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
