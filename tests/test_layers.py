"""The package's layers: data flows one way, and the import graph shows it.

Every import in ``inclusion_audit/`` (including the lazy ones inside functions,
which keep ``--help`` fast but are imports all the same) goes from a layer to a
layer listed before it, or within its own package. The order is the pipeline's:

    base modules (errors, paths, config, result, the package root)
    vocab → ingest → reference → stats → findings → action → report → audit
    → weighting | intersections → history | check → cli | web → __main__

Layers on one rung (history and check; cli and web) do not import each other.
The README's "Layout" section and each package's docstring say the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = "inclusion_audit"
BASE = frozenset({"errors", "paths", "config", "result", "__init__"})
"""Modules every layer may import; they import nothing of the package but each other."""
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"vocab"}),
    frozenset({"ingest"}),
    frozenset({"reference"}),
    frozenset({"stats"}),
    frozenset({"findings"}),
    frozenset({"action"}),
    frozenset({"report"}),
    frozenset({"audit"}),
    frozenset({"weighting", "intersections"}),
    frozenset({"history", "check"}),
    frozenset({"cli", "web"}),
    frozenset({"__main__"}),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def unit_of(module: str) -> str:
    """The layer (or base module) a dotted module name belongs to: its first part below the root."""
    parts = module.split(".")
    assert parts[0] == PACKAGE, module
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of the package in one file, lazy ones too."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            if target == PACKAGE:
                # ``from inclusion_audit import stats`` imports a module; ``__version__`` is base.
                for alias in node.names:
                    submodule = f"{PACKAGE}.{alias.name}"
                    is_module = (root / PACKAGE / alias.name).is_dir() or (
                        root / PACKAGE / f"{alias.name}.py"
                    ).is_file()
                    yield node.lineno, submodule if is_module else PACKAGE
            else:
                yield node.lineno, target


def violations(root: Path) -> list[str]:
    """Every import that goes up the layers or across a rung, as ``file:line: a -> b``."""
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        source = unit_of(module_name(path, root))
        for line, target in imports_of(path, root):
            destination = unit_of(target)
            if destination == source or destination in BASE:
                continue
            where = f"{path.relative_to(root)}:{line}: {source} -> {destination}"
            if source in BASE:
                found.append(f"{where} (a base module imports a layer)")
            elif destination not in RANK:
                found.append(f"{where} (not a known layer: add it to LAYERS)")
            elif RANK[destination] >= RANK[source]:
                found.append(where)
    return found


def test_imports_go_down_the_layers_only() -> None:
    assert violations(REPO) == []


def test_every_package_is_a_known_layer() -> None:
    units = {unit_of(module_name(path, REPO)) for path in (REPO / PACKAGE).rglob("*.py")}
    assert units <= BASE | set(RANK), units - BASE - set(RANK)


def test_every_package_docstring_says_what_it_may_import() -> None:
    for init in sorted((REPO / PACKAGE).glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in docstring.lower(), f"{init.relative_to(REPO)} does not say"


def write(root: Path, relative: str, text: str) -> None:
    path = root / PACKAGE / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("relative", "text", "expected"),
    [
        ("vocab/folding.py", "from inclusion_audit.report import render\n", "vocab -> report"),
        (
            "ingest/readers.py",
            "def later():\n    from ..cli import app\n",
            "ingest -> cli",
        ),
        ("history/store.py", "import inclusion_audit.check.suite\n", "history -> check"),
        ("result.py", "from inclusion_audit.stats import binomial\n", "base module imports"),
        ("stats/binomial.py", "from inclusion_audit import audit\n", "stats -> audit"),
    ],
)
def test_the_contract_fails_when_a_lower_layer_imports_a_higher_one(
    tmp_path: Path, relative: str, text: str, expected: str
) -> None:
    write(tmp_path, "__init__.py", "")
    write(tmp_path, "audit.py", "")
    for package in ("vocab", "ingest", "report", "cli", "history", "check", "stats"):
        write(tmp_path, f"{package}/__init__.py", "")
    write(tmp_path, relative, text)
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0], found


def test_downward_and_base_imports_pass(tmp_path: Path) -> None:
    write(tmp_path, "__init__.py", "__version__ = '0'\n")
    write(tmp_path, "report/__init__.py", "")
    write(
        tmp_path,
        "report/render.py",
        "from inclusion_audit import __version__\n"
        "from inclusion_audit.errors import InputError\n"
        "from inclusion_audit.vocab.folding import normalise\n"
        "from . import charts\n",
    )
    assert violations(tmp_path) == []
