"""The wheel works anywhere: built here, installed into a fresh virtual environment, run elsewhere.

The environment reuses the locked environment's packages through a ``.pth``
file (nothing is downloaded) but not its editable install of this repository,
so the package, its reference data and its templates come from the wheel. A
second switch hides every optional dependency, as a core install
(``pip install inclusion-audit``) would lack them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

from .conftest import EXAMPLES, REPO

CORE_ONLY = "INCLUSION_AUDIT_TEST_CORE_ONLY"
# What `pip install inclusion-audit` leaves out: the extras and what only they bring.
OPTIONAL = (
    "great_expectations",
    "weasyprint",
    "fastapi",
    "uvicorn",
    "python_multipart",
    "multipart",
    "pandas",
    "pyarrow",
    "numpy",
    "scipy",
)


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "INCLUSION_AUDIT"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(out),
            str(REPO),
        ],
        check=True,
        env=_environment(),
        cwd=out,
    )
    (built,) = out.glob("inclusion_audit-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel installed (no dependencies), seeing the locked packages."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=_environment(),
    ).stdout.strip()
    hide = (
        f"import os, sys; os.environ.get({CORE_ONLY!r}) and "
        f"sys.modules.update(dict.fromkeys({OPTIONAL!r}))"
    )
    (Path(site) / "_locked_environment.pth").write_text(
        f"{sysconfig.get_paths()['purelib']}\n{hide}\n", encoding="utf-8"
    )
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        env=_environment(),
        cwd=home,
    )
    return home


def _run(
    home: Path, *args: str, cwd: Path, core_only: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [home / "bin" / "inclusion-audit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_environment(**({CORE_ONLY: "1"} if core_only else {})),
        check=False,
        timeout=300,
    )


def test_wheel_holds_the_data_and_declares_the_extras(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.removeprefix("Requires-Dist: ")
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    for shipped in (
        "inclusion_audit/_data/reference_data/manifest.json",
        "inclusion_audit/_data/report_templates/report.html",
        "inclusion_audit/_data/report_templates/service/form.html",
    ):
        assert shipped in names
    assert any(n.startswith("inclusion_audit/vocab/") and n.endswith(".toml") for n in names)
    core = {re.split(r"[<>=!~; \[]", r)[0].lower() for r in requires if "extra ==" not in r}
    assert core.isdisjoint({"great-expectations", "weasyprint", "fastapi", "uvicorn", "pyarrow"})
    extras = {
        extra: {
            re.split(r"[<>=!~; \[]", r)[0].lower()
            for r in requires
            if f"extra == '{extra}'" in r or f'extra == "{extra}"' in r
        }
        for extra in ("pdf", "check", "service", "all")
    }
    assert extras["pdf"] == {"weasyprint"}
    assert extras["check"] == {"great-expectations"}
    assert extras["service"] == {"fastapi", "uvicorn", "python-multipart", "httptools", "uvloop"}
    assert extras["all"] == extras["pdf"] | extras["check"] | extras["service"]


def test_core_install_audits_from_any_folder(installed: Path, tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    shutil.copy(EXAMPLES / "riverside-forum-register.csv", register)
    where = subprocess.run(
        [
            installed / "bin" / "python",
            "-c",
            "import inclusion_audit.paths as p; print(p.__file__); print(p.templates_dir()); "
            "print(p.shipped_reference_data())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_environment(**{CORE_ONLY: "1"}),
        check=True,
    ).stdout.splitlines()
    assert all(line.startswith(str(installed)) for line in where), where
    result = _run(
        installed,
        "audit",
        "register.csv",
        "--area",
        "Lambeth",
        "--eligible-age",
        "16+",
        *("--format", "json", "--format", "html", "--format", "md", "--format", "csv"),
        "--output",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    for name in ("audit.json", "report.html", "report.md", "groups.csv"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "Audited 240 participants" in result.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("check", "register.csv"), "check"),
        (("audit", "register.csv", "--area", "Lambeth", "--format", "pdf", "-o", "r.pdf"), "pdf"),
        (("serve",), "service"),
    ],
)
def test_a_missing_extra_exits_2_with_the_install_line(
    installed: Path, tmp_path: Path, args: tuple[str, ...], extra: str
) -> None:
    shutil.copy(EXAMPLES / "riverside-forum-register.csv", tmp_path / "register.csv")
    result = _run(installed, *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"pip install 'inclusion-audit[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_installed_check_with_its_extra(installed: Path, tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "riverside-forum-register.csv", tmp_path / "register.csv")
    result = _run(
        installed,
        "check",
        "register.csv",
        "--area",
        "Lambeth",
        "--junit-xml",
        "check.xml",
        cwd=tmp_path,
        core_only=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check passed" in result.stdout
    assert (tmp_path / "check.xml").exists()


def test_every_declared_dependency_is_pinned_in_the_lock() -> None:
    """`make` installs the lock, then the package without dependencies: it must cover [all]."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lock = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (REPO / "requirements" / "lock.txt").read_text().splitlines()
        if "==" in line
    }
    declared = [*project["dependencies"]]
    for requirements in project["optional-dependencies"].values():
        declared += [r for r in requirements if not r.startswith("inclusion-audit")]
    names = {re.split(r"[<>=!~; \[]", r)[0].lower().replace("_", "-") for r in declared}
    assert names - lock == set()


def test_pre_commit_hook() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "inclusion-audit-check"
    assert hook["entry"] == "inclusion-audit check"
    assert hook["language"] == "python"
    assert hook["additional_dependencies"] == [".[check]"]
    pattern = re.compile(hook["files"])
    for name in ("data/register.csv", "2026/Forum Participants.xlsx", "sign-in sheet.ods"):
        assert pattern.search(name), name
    for name in ("README.md", "data/register.py", "registers/notes.txt"):
        assert not pattern.search(name), name
    readme = (REPO / "README.md").read_text()
    assert "id: inclusion-audit-check" in readme
