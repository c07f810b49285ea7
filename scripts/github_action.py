"""The GitHub Action's two steps (``action.yml``): install the wheel, then check registers.

    python scripts/github_action.py install   # venv in $RUNNER_TEMP with inclusion-audit[check]
    python scripts/github_action.py check     # run `inclusion-audit check` from the INPUT_* values

Standard library only: ``install`` runs before anything else is installed.
The ``check`` step turns the action's inputs (environment variables ``INPUT_*``,
set by ``action.yml``) into ``inclusion-audit check`` options, with GitHub
annotations, a job summary appended to ``$GITHUB_STEP_SUMMARY`` and no answer
quoted anywhere, since CI logs are often public. Its exit code is the check's:
0 every expectation met, 1 one failed, 2 a register or input cannot be used.
Run it locally with the same variables to see what the action would do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lines(value: str) -> list[str]:
    """An input holding one item per line, blank lines ignored.

    >>> lines("data/a.csv\\n\\n  data/b.csv ")
    ['data/a.csv', 'data/b.csv']
    """
    return [line.strip() for line in value.splitlines() if line.strip()]


def check_arguments(env: dict[str, str]) -> list[str]:
    """The ``inclusion-audit check`` arguments the inputs ask for.

    >>> check_arguments({"INPUT_FILES": "a.csv", "INPUT_AREA": "Lambeth\\nSouthwark",
    ...                  "INPUT_REQUIRE": "age,sex", "INPUT_JUNIT_XML": "out.xml"})
    ... # doctest: +NORMALIZE_WHITESPACE
    ['a.csv', '--area', 'Lambeth', '--area', 'Southwark', '--require', 'age,sex',
     '--junit-xml', 'out.xml', '--annotations', 'github', '--no-answers']
    """

    def value(name: str) -> str:
        return env.get(f"INPUT_{name}", "").strip()

    files = lines(env.get("INPUT_FILES", ""))
    if not files:
        raise SystemExit("Error: the action's `files` input is empty: name the registers to check.")
    arguments = [*files]
    for area in lines(env.get("INPUT_AREA", "")):
        arguments += ["--area", area]
    for name, option in (
        ("ELIGIBLE_AGE", "--eligible-age"),
        ("REFERENCE", "--reference"),
        ("MAPPING", "--mapping"),
        ("REQUIRE", "--require"),
        ("MIN_ROWS", "--min-rows"),
        ("MAX_UNKNOWN", "--max-unknown"),
        ("ID_COLUMN", "--id-column"),
        ("EVENT_COLUMN", "--event-column"),
        ("JUNIT_XML", "--junit-xml"),
    ):
        if value(name):
            arguments += [option, value(name)]
    summary = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if summary:
        arguments += ["--summary", summary]
    return [*arguments, "--annotations", "github", "--no-answers"]


def install(env: dict[str, str]) -> int:
    """Build this repository's wheel and install it with ``[check]`` into a fresh venv.

    Versions come from ``requirements/lock.txt`` (as constraints), as `make` installs them.
    """
    home = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir()) / "inclusion-audit"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheels = home / "wheel"
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)], check=True)
    (wheel,) = wheels.glob("inclusion_audit-*.whl")
    constraints = ["--constraint", str(ROOT / "requirements" / "lock.txt")]
    subprocess.run([*pip, "install", *constraints, f"{wheel}[check]"], check=True)
    output = env.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"python={python}\n")
    print(f"Installed {wheel.name}[check] into {home}")
    return 0


def check(env: dict[str, str]) -> int:
    """Run ``inclusion-audit check`` as the inputs ask; its exit code is the step's."""
    command = [sys.executable, "-m", "inclusion_audit", "check", *check_arguments(env)]
    return subprocess.run(command, check=False).returncode


def main(argv: list[str]) -> int:
    steps = {"install": install, "check": check}
    if len(argv) != 1 or argv[0] not in steps:
        print("usage: github_action.py install|check", file=sys.stderr)
        return 2
    return steps[argv[0]](dict(os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
