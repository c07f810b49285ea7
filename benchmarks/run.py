"""Time whole processes side by side: the floor, the audit, a pandas baseline and the rest.

Each case is one command run as its own process, the way a user runs it: the
wall-clock time covers start-up, imports, reading, statistics and writing, and
the peak memory is the process's maximum resident set size (``ru_maxrss`` from
``wait4``, which includes any child process it waited for). Runs of the cases of
one table are interleaved (A B C, A B C, ...) after one untimed warm-up each,
so a slow spell on the machine hits every case alike; the table reports medians.

    python benchmarks/run.py --sizes 10k,1m --runs 5     # measure, update RESULTS.md
    python benchmarks/run.py --sizes 10m                 # add the 10M table
    python benchmarks/run.py --smoke                     # tiny check, as CI runs it

After the warm-up the audit's JSON is compared with the pandas baseline's (counts,
p-values, intervals, statuses) and with the floor's raw counts, so a fast but
wrong audit cannot pass. A case whose ``inclusion-audit`` subcommand does not
exist yet is listed as "not yet built" and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spec import (
    AREA,
    DECLINED,
    DEFAULT_DATA,
    ELIGIBLE_AGE,
    HERE,
    REFERENCE_FILE,
    parse_size,
    register_path,
    size_label,
)

REPO = HERE.parent
EXAMPLE_EVENT = REPO / "examples" / "riverside-forum-register.csv"
DEFAULT_RESULTS = HERE / "results.json"
DEFAULT_MARKDOWN = HERE / "RESULTS.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
SMOKE_ROWS = 10_000
CHECK_ROWS = 1_000_000
REVIEW_EVENTS = 1_000
REVIEW_STORE = "review-store.sqlite"
SERVICE_REQUESTS = 200
WEIGHT_CHARACTERISTICS = ("age", "sex", "ethnic_group")
SMOKE_SERVICE_REQUESTS = 16
# One worker per core: the audit is CPU-bound.
SERVICE_WORKERS = 2
# Relative tolerance for the audit and the baseline to agree: both compute in
# double precision, by different algorithms.
AGREEMENT_TOLERANCE = 1e-6

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One command to time, and where its row goes in the results."""

    key: str
    group: str
    role: str
    label: str
    argv: tuple[str, ...] | None
    runs: int
    file_format: str | None = None
    needs: str | None = None
    output: str | None = None
    note: str = ""
    setup: Setup | None = field(default=None, compare=False, repr=False)


@dataclass
class Outcome:
    """What happened to one case: its runs, or why it was not run."""

    key: str
    group: str
    role: str
    label: str
    file_format: str | None
    status: str  # ok, failed, not_built, not_written
    seconds: list[float] = field(default_factory=list)
    max_rss_kb: list[int] = field(default_factory=list)
    command: str = ""
    note: str = ""
    error: str = ""
    rates: list[float] = field(default_factory=list)
    """The service's audits a second in each timed run (the load driver's own count)."""

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def peak_rss_mb(self) -> float | None:
        return max(self.max_rss_kb) / 1024 if self.max_rss_kb else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["median_seconds"] = self.median
        data["peak_rss_mb"] = self.peak_rss_mb
        return data


# ---------------------------------------------------------------------------
# Measuring one process


@dataclass(frozen=True)
class Measurement:
    seconds: float
    max_rss_kb: int
    returncode: int


def measure(argv: Sequence[str], env: dict[str, str], log: Path) -> Measurement:
    """Run ``argv`` to completion; wall-clock seconds, peak RSS (KiB) and exit code.

    The command is started by ``launch.py``, a small process of its own, which
    times it and reads its ``ru_maxrss``: a child forked from this runner would be
    charged the runner's memory too.
    """
    report = log.with_suffix(".measure.json")
    with log.open("wb") as sink:
        subprocess.run(
            [sys.executable, str(HERE / "launch.py"), str(report), "--", *argv],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
            check=True,
        )
    measured = json.loads(report.read_text(encoding="utf-8"))
    report.unlink()
    return Measurement(measured["seconds"], measured["max_rss_kb"], measured["returncode"])


def child_environment(data_dir: Path, bytecode_cache: bool) -> dict[str, str]:
    """The environment every timed process gets.

    With ``bytecode_cache``, compiled bytecode is cached under the data folder
    (``PYTHONPYCACHEPREFIX``), as an installed package has it, even where the shell
    sets ``PYTHONDONTWRITEBYTECODE``; nothing is written into the source tree.
    """
    env = dict(os.environ)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(data_dir / "pycache")
    return env


def tool_executable() -> str:
    """The ``inclusion-audit`` console script beside this Python, else on PATH."""
    beside = Path(sys.executable).with_name("inclusion-audit")
    if beside.exists():
        return str(beside)
    found = shutil.which("inclusion-audit")
    if found is None:
        raise SystemExit("inclusion-audit is not installed: run `make test` or `make demo` first")
    return found


def subcommand_exists(tool: str, name: str, env: dict[str, str]) -> bool:
    """Whether ``inclusion-audit NAME --help`` succeeds."""
    result = subprocess.run(
        [tool, name, "--help"], capture_output=True, env=env, cwd=REPO, check=False
    )
    return result.returncode == 0


# ---------------------------------------------------------------------------
# The cases


def size_cases(
    rows: int, formats: Sequence[str], data_dir: Path, tool: str, *, runs: int
) -> list[Case]:
    """Floor, audit and pandas baseline on the register of ``rows`` rows, per format."""
    group = size_label(rows)
    out = data_dir / "out"
    python = sys.executable
    cases = []
    for file_format in formats:
        register = str(register_path(data_dir, rows, file_format))
        stem = f"{group}-{file_format}"
        cases += [
            Case(
                key=f"{stem}-floor",
                group=group,
                role="floor",
                label="floor: polars scan + group-by count per characteristic",
                argv=(python, str(HERE / "floor.py"), register, "-o", f"{out}/floor-{stem}.json"),
                runs=runs,
                file_format=file_format,
                output=f"{out}/floor-{stem}.json",
            ),
            Case(
                key=f"{stem}-audit",
                group=group,
                role="audit",
                label="inclusion-audit audit --format json",
                argv=(
                    tool,
                    "audit",
                    register,
                    "--area",
                    AREA,
                    "--eligible-age",
                    ELIGIBLE_AGE,
                    "--format",
                    "json",
                    "-o",
                    f"{out}/audit-{stem}.json",
                ),
                runs=runs,
                file_format=file_format,
                output=f"{out}/audit-{stem}.json",
            ),
            Case(
                key=f"{stem}-pandas",
                group=group,
                role="pandas",
                label="pandas + scipy + statsmodels script",
                argv=(
                    python,
                    str(HERE / "pandas_baseline.py"),
                    register,
                    "--reference",
                    str(data_dir / REFERENCE_FILE),
                    "-o",
                    f"{out}/pandas-{stem}.json",
                ),
                runs=runs,
                file_format=file_format,
                output=f"{out}/pandas-{stem}.json",
            ),
        ]
    return cases


def other_cases(
    data_dir: Path,
    tool: str,
    *,
    check_rows: int,
    runs: int,
    fast_runs: int,
    service_requests: int = SERVICE_REQUESTS,
) -> list[Case]:
    """Start-up, the PDF of a typical event, `check`, `review` and the service.

    To add a case once its command exists: give it ``argv`` (and a ``setup`` that
    prepares its input under the data folder, if it needs one); ``needs`` names the
    subcommand whose absence makes the runner skip it.
    """
    out = data_dir / "out"
    check_register = str(register_path(data_dir, check_rows, "csv"))
    return [
        Case(
            key="startup-help",
            group="other",
            role="help",
            label="inclusion-audit --help",
            argv=(tool, "--help"),
            runs=fast_runs,
        ),
        Case(
            key="startup-click",
            group="other",
            role="click",
            label="bare click program --help",
            argv=(sys.executable, str(HERE / "bare_click.py"), "--help"),
            runs=fast_runs,
        ),
        Case(
            key="event-pdf",
            group="other",
            role="pdf",
            label="PDF report, typical event (240 people, 4 characteristics)",
            argv=(
                tool,
                "audit",
                str(EXAMPLE_EVENT),
                "--area",
                AREA,
                "--eligible-age",
                ELIGIBLE_AGE,
                "--format",
                "pdf",
                "-o",
                f"{out}/event.pdf",
            ),
            runs=runs,
            output=f"{out}/event.pdf",
        ),
        Case(
            key="check",
            group="other",
            role="check",
            label=f"inclusion-audit check, {size_label(check_rows)} rows",
            argv=(tool, "check", check_register, "--area", AREA, "--eligible-age", ELIGIBLE_AGE),
            runs=runs,
            file_format="csv",
            needs="check",
        ),
        Case(
            key="check-import",
            group="other",
            role="import",
            label="import great_expectations alone, as any script imports it",
            # Its own DeprecationWarning silenced, as check does. check itself imports less of
            # it (no pyarrow, scipy.stats only if used), so it can take less time than this.
            argv=(
                sys.executable,
                "-W",
                "ignore::DeprecationWarning",
                "-c",
                "import great_expectations",
            ),
            runs=runs,
            needs="check",
        ),
        Case(
            key="weights",
            group="other",
            role="weights",
            label=f"inclusion-audit weights, {size_label(check_rows)} rows on age, sex and "
            "ethnic group (weights file written)",
            argv=(
                tool,
                "weights",
                check_register,
                "--area",
                AREA,
                "--eligible-age",
                ELIGIBLE_AGE,
                *(f"--characteristic={name}" for name in WEIGHT_CHARACTERISTICS),
                "--output",
                f"{out}/weights.csv",
                "--quiet",
            ),
            runs=runs,
            file_format="csv",
            needs="weights",
            output=f"{out}/weights.csv",
        ),
        Case(
            key="review",
            group="other",
            role="review",
            label=f"inclusion-audit review, {REVIEW_EVENTS:,} stored events",
            argv=(
                tool,
                "review",
                "--store",
                str(data_dir / REVIEW_STORE),
                "--format",
                "json",
                "-o",
                f"{out}/review.json",
            ),
            runs=runs,
            needs="review",
            output=f"{out}/review.json",
            setup=write_review_store,
        ),
        Case(
            key="service",
            group="other",
            role="service",
            label=f"service JSON audit: {service_requests} requests, 8 concurrent clients, "
            f"{SERVICE_WORKERS} workers, on loopback (whole run, service start-up included)",
            argv=(
                sys.executable,
                str(HERE / "load.py"),
                "--requests",
                str(service_requests),
                "--clients",
                "8",
                "--workers",
                str(SERVICE_WORKERS),
                "--output",
                f"{out}/service-load.json",
            ),
            runs=runs,
            needs="serve",
            output=f"{out}/service-load.json",
        ),
    ]


def write_review_store(data_dir: Path) -> None:
    """A store of ``REVIEW_EVENTS`` events, one a day up to today (inside the store's 3-year
    retention): the 10k register, audited once.

    The result is added under a new name and date each time through the store's
    own API, skipping the duplicate check that would refuse the same register.
    """
    import datetime as dt

    from inclusion_audit.audit import run_audit
    from inclusion_audit.history.store import open_store
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference import census
    from inclusion_audit.reference.profiles import CensusReference

    ensure_data([SMOKE_ROWS], ["csv"], data_dir)
    reference = CensusReference(
        tuple(census.resolve_areas([AREA])), census.parse_age_range(ELIGIBLE_AGE)
    )
    result = run_audit(read_table(register_path(data_dir, SMOKE_ROWS, "csv")), reference)
    path = data_dir / REVIEW_STORE
    path.unlink(missing_ok=True)
    first = dt.date.today() - dt.timedelta(days=REVIEW_EVENTS - 1)
    with open_store(path, create=True) as store:
        for day in range(REVIEW_EVENTS):
            store.add(
                result,
                name=f"Event {day + 1:04d}",
                date=first + dt.timedelta(days=day),
                check_duplicates=False,
            )


# ---------------------------------------------------------------------------
# Running


def run_group(
    cases: Sequence[Case],
    *,
    env: dict[str, str],
    tool: str,
    logs: Path,
    warmup: int,
    data_dir: Path,
    verbose: bool = True,
) -> list[Outcome]:
    """Warm up and then time every runnable case, interleaving their runs."""
    outcomes: dict[str, Outcome] = {}
    runnable: list[Case] = []
    for case in cases:
        outcome = Outcome(
            case.key,
            case.group,
            case.role,
            case.label,
            case.file_format,
            "ok",
            note=case.note,
            command=" ".join(_short(a) for a in case.argv or ()),
        )
        outcomes[case.key] = outcome
        if case.needs and not subcommand_exists(tool, case.needs, env):
            outcome.status = "not_built"
            missing = f"`inclusion-audit {case.needs}` does not exist yet"
            outcome.note = f"{missing}; {case.note}" if case.note else missing
            continue
        if case.argv is None:
            outcome.status = "not_written"
            continue
        if case.setup is not None:
            case.setup(data_dir)
        runnable.append(case)

    for case in runnable:
        for _ in range(warmup):
            _run_once(case, outcomes[case.key], env, logs, timed=False, verbose=verbose)
    rounds = max((c.runs for c in runnable), default=0)
    for round_number in range(rounds):
        for case in runnable:
            outcome = outcomes[case.key]
            if round_number < case.runs and outcome.status == "ok":
                _run_once(case, outcome, env, logs, timed=True, verbose=verbose)
    return [outcomes[c.key] for c in cases]


def _run_once(
    case: Case, outcome: Outcome, env: dict[str, str], logs: Path, *, timed: bool, verbose: bool
) -> None:
    assert case.argv is not None
    log = logs / f"{case.key}.log"
    result = measure(case.argv, env, log)
    if result.returncode != 0:
        outcome.status = "failed"
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        outcome.error = f"exit code {result.returncode}: {tail}"
        if verbose:
            print(f"  FAILED {case.key} ({outcome.error})", file=sys.stderr)
        return
    if timed:
        outcome.seconds.append(round(result.seconds, 4))
        outcome.max_rss_kb.append(result.max_rss_kb)
        if case.role == "service" and case.output:
            measured = json.loads(Path(case.output).read_text(encoding="utf-8"))
            outcome.rates.append(float(measured["requests_per_second"]))
            outcome.note = _load_note(measured, outcome.rates)
    if verbose:
        kind = "run" if timed else "warm-up"
        print(
            f"  {case.key:<22} {kind:<7} {result.seconds:8.3f} s "
            f"{result.max_rss_kb / 1024:8.1f} MB",
            file=sys.stderr,
        )


def _load_note(measured: dict[str, Any], rates: list[float]) -> str:
    """The load driver's own measurements, for the results table: the audits a second of
    every timed run so far (the host's steal time moves them), the last run's latency."""
    latency = measured["latency_ms"]
    runs = ", ".join(f"{rate:g}" for rate in rates)
    return (
        f"{statistics.median(rates):g} audits/s, the median of the runs ({runs}); "
        f"the last: {measured['seconds']} s of load, latency median {latency['median']} ms, "
        f"p95 {latency['p95']} ms, p99 {latency['p99']} ms; every answer checked"
    )


def _short(arg: str) -> str:
    """Paths relative to the repository, so logged commands read the same anywhere."""
    if arg == sys.executable:
        return "python"
    if arg.endswith("/inclusion-audit"):
        return "inclusion-audit"
    try:
        path = Path(arg)
        if path.is_absolute():
            relative = path.relative_to(REPO)
            return str(relative)
    except ValueError:
        pass
    return f'"{arg}"' if " " in arg else arg


# ---------------------------------------------------------------------------
# Agreement: the audit, the baseline and the floor give the same numbers


def compare_with_baseline(
    audit: dict[str, Any], baseline: dict[str, Any]
) -> tuple[float, list[str]]:
    """Largest relative difference, and every disagreement, between the two results."""
    problems: list[str] = []
    worst = 0.0
    if audit["n_participants"] != baseline["n_participants"]:
        problems.append(f"n_participants {audit['n_participants']} vs {baseline['n_participants']}")
    mine = {c["name"]: c for c in audit["characteristics"]}
    for theirs in baseline["characteristics"]:
        name = theirs["name"]
        ours = mine.get(name)
        if ours is None:
            problems.append(f"{name}: not in the audit")
            continue
        for key in ("n_known", "n_unknown", "n_blank", "n_declined"):
            if ours[key] != theirs[key]:
                problems.append(f"{name}.{key}: {ours[key]} vs {theirs[key]}")
        for key in ("statistic", "p_value"):
            worst = _close(
                ours["chi_square"][key],
                theirs["chi_square"][key],
                f"{name}.chi_square.{key}",
                worst,
                problems,
            )
        worst = _close(
            ours["dissimilarity_index"],
            theirs["dissimilarity_index"],
            f"{name}.D",
            worst,
            problems,
        )
        groups = {g["category"]: g for g in ours["groups"]}
        for group in theirs["groups"]:
            where = f"{name}[{group['category']}]"
            found = groups.get(group["category"])
            if found is None:
                problems.append(f"{where}: not in the audit")
                continue
            for key in ("count", "status", "shortfall"):
                if found[key] != group[key]:
                    problems.append(f"{where}.{key}: {found[key]} vs {group[key]}")
            for key in ("p_value", "p_value_adjusted", "share_ci_low", "share_ci_high", "ratio"):
                worst = _close(found[key], group[key], f"{where}.{key}", worst, problems)
    return worst, problems


def _close(
    ours: float | None, theirs: float | None, where: str, worst: float, problems: list[str]
) -> float:
    if ours is None or theirs is None:
        if ours is not theirs:
            problems.append(f"{where}: {ours} vs {theirs}")
        return worst
    difference = abs(ours - theirs) / max(abs(theirs), 1e-300)
    # Tiny p-values differ in absolute terms far below anything that matters.
    if abs(ours - theirs) < 1e-300:
        difference = 0.0
    if difference > AGREEMENT_TOLERANCE:
        problems.append(f"{where}: {ours!r} vs {theirs!r}")
    return max(worst, difference)


def compare_with_floor(audit: dict[str, Any], floor: dict[str, dict[str, int]]) -> list[str]:
    """The floor's raw answer counts must add up to the audit's counts."""
    problems = []
    for item in audit["characteristics"]:
        counts = floor.get(item["column"])
        if counts is None:
            problems.append(f"{item['column']}: not counted by the floor")
            continue
        expected = {g["category"]: g["count"] for g in item["groups"]}
        expected[""] = item["n_blank"]
        expected[DECLINED] = item["n_declined"]
        found = {answer: counts.get(answer, 0) for answer in expected}
        if found != expected or sum(counts.values()) != audit["n_participants"]:
            problems.append(f"{item['column']}: floor counts differ from the audit's")
    return problems


def check_agreement(outcomes: Sequence[Outcome], cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Compare outputs of each (size, format): audit vs pandas baseline and floor."""
    by_key = {c.key: c for c in cases}
    ok = {o.key for o in outcomes if o.status == "ok"}
    checks = []
    for outcome in outcomes:
        if outcome.role != "audit" or outcome.key not in ok:
            continue
        stem = outcome.key.removesuffix("-audit")
        audit_file = by_key[outcome.key].output
        assert audit_file is not None
        audit = json.loads(Path(audit_file).read_text(encoding="utf-8"))
        check: dict[str, Any] = {"group": outcome.group, "file_format": outcome.file_format}
        pandas_case = by_key.get(f"{stem}-pandas")
        if pandas_case is not None and pandas_case.key in ok and pandas_case.output:
            baseline = json.loads(Path(pandas_case.output).read_text(encoding="utf-8"))
            worst, problems = compare_with_baseline(audit, baseline)
            check["pandas_max_relative_difference"] = worst
            check["pandas_problems"] = problems[:20]
            check["groups_compared"] = sum(len(c["groups"]) for c in baseline["characteristics"])
        floor_case = by_key.get(f"{stem}-floor")
        if floor_case is not None and floor_case.key in ok and floor_case.output:
            floor = json.loads(Path(floor_case.output).read_text(encoding="utf-8"))
            check["floor_problems"] = compare_with_floor(audit, floor)
        check["agree"] = not check.get("pandas_problems") and not check.get("floor_problems")
        checks.append(check)
    return checks


# ---------------------------------------------------------------------------
# The machine


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that matter, for the results."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))} (kernel {platform.release()})"
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("inclusion-audit", "polars", "pyarrow", "pandas", "scipy", "statsmodels"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "inclusion_audit"],
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": system,
        "python": platform.python_version(),
        "versions": versions,
        "commit": f"{commit}{' (inclusion_audit/ modified)' if dirty else ''}" or None,
        "pythonpath": os.environ.get("PYTHONPATH") or None,
    }


# ---------------------------------------------------------------------------
# Results: JSON, goals and Markdown


def load_results(path: Path) -> dict[str, Any]:
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    return {"groups": {}}


def merge_results(
    previous: dict[str, Any],
    outcomes: Sequence[Outcome],
    agreement: Sequence[dict[str, Any]],
    machine_info: dict[str, Any],
    settings: dict[str, Any],
    *,
    only: bool = False,
) -> dict[str, Any]:
    """Replace the measured groups in ``previous`` and keep the others.

    With ``only`` (``--only``: some cases of a group re-measured), a group
    already in ``previous`` keeps its other cases, its time and its machine;
    each re-measured case replaces its namesake and carries its own time and
    commit, which the tables show beside it.
    """
    measured_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    groups: dict[str, Any] = dict(previous.get("groups", {}))
    for group in dict.fromkeys(o.group for o in outcomes):
        cases = [o.to_dict() for o in outcomes if o.group == group]
        checks = [a for a in agreement if a["group"] == group]
        kept = groups.get(group)
        if only and kept is not None:
            stamped = {
                c["key"]: {**c, "measured_at": measured_at, "commit": machine_info.get("commit")}
                for c in cases
            }
            formats = {a["file_format"] for a in checks}
            older = [a for a in kept.get("agreement", []) if a["file_format"] not in formats]
            merged = [stamped.pop(c["key"], c) for c in kept["cases"]]
            groups[group] = {
                **kept,
                "cases": merged + list(stamped.values()),
                "agreement": older + checks,
            }
            continue
        groups[group] = {
            "measured_at": measured_at,
            "machine": machine_info,
            "settings": settings,
            "cases": cases,
            "agreement": checks,
        }
    return {"schema": 1, "groups": dict(sorted(groups.items(), key=_group_order))}


def _group_order(item: tuple[str, Any]) -> tuple[int, int]:
    name = item[0]
    if name == "other":
        return (1, 0)
    try:
        return (0, parse_size(name))
    except ValueError:
        return (0, 0)


def _case(results: dict[str, Any], group: str, key: str) -> dict[str, Any] | None:
    for case in results["groups"].get(group, {}).get("cases", []):
        if case["key"] == key and case["status"] == "ok":
            found: dict[str, Any] = case
            return found
    return None


@dataclass(frozen=True)
class Goal:
    text: str
    met: bool | None  # None: not measured
    evidence: str


def evaluate_goals(results: dict[str, Any]) -> list[Goal]:
    """The issue's goals, each met, missed or not measured, with the numbers."""
    goals = []
    for file_format in ("csv", "parquet"):
        name = "CSV" if file_format == "csv" else "Parquet"
        floor = _case(results, "1m", f"1m-{file_format}-floor")
        audit = _case(results, "1m", f"1m-{file_format}-audit")
        pandas = _case(results, "1m", f"1m-{file_format}-pandas")
        if floor and audit:
            ratio = audit["median_seconds"] / floor["median_seconds"]
            goals.append(
                Goal(
                    f"1M-row audit within 1.5× the floor ({name})",
                    ratio <= 1.5,
                    f"{audit['median_seconds']:.2f} s vs {floor['median_seconds']:.2f} s: "
                    f"{ratio:.2f}×",
                )
            )
        else:
            goals.append(Goal(f"1M-row audit within 1.5× the floor ({name})", None, "not run"))
        if pandas and audit:
            speedup = pandas["median_seconds"] / audit["median_seconds"]
            memory = audit["peak_rss_mb"] / pandas["peak_rss_mb"]
            goals.append(
                Goal(
                    f"1M-row audit ≥ 2× faster than pandas, ≤ ½ its peak memory ({name})",
                    speedup >= 2 and memory <= 0.5,
                    f"{speedup:.2f}× faster ({audit['median_seconds']:.2f} s vs "
                    f"{pandas['median_seconds']:.2f} s); memory {memory:.2f}× "
                    f"({audit['peak_rss_mb']:.0f} MB vs {pandas['peak_rss_mb']:.0f} MB)",
                )
            )
        else:
            goals.append(
                Goal(
                    f"1M-row audit ≥ 2× faster than pandas, ≤ ½ its peak memory ({name})",
                    None,
                    "not run",
                )
            )
        big = _case(results, "10m", f"10m-{file_format}-audit")
        text = f"10M-row audit completes, streaming, within 2 GB peak memory ({name})"
        if big:
            goals.append(
                Goal(
                    text,
                    big["peak_rss_mb"] < 2048,
                    f"{big['median_seconds']:.1f} s, peak {big['peak_rss_mb']:.0f} MB",
                )
            )
        else:
            goals.append(Goal(text, None, "not run"))
    help_case = _case(results, "other", "startup-help")
    click_case = _case(results, "other", "startup-click")
    if help_case and click_case:
        ratio = help_case["median_seconds"] / click_case["median_seconds"]
        goals.append(
            Goal(
                "`--help` within 3× a bare click program's start-up",
                ratio <= 3,
                f"{help_case['median_seconds']:.3f} s vs {click_case['median_seconds']:.3f} s: "
                f"{ratio:.2f}×",
            )
        )
    else:
        goals.append(Goal("`--help` within 3× a bare click program's start-up", None, "not run"))
    check = _case(results, "other", "check")
    floor = _case(results, "other", "check-import")
    text = "1M-row `check` within 1 s of importing Great Expectations, under 300 MB"
    if check and floor:
        above = check["median_seconds"] - floor["median_seconds"]
        goals.append(
            Goal(
                text,
                above <= 1 and check["peak_rss_mb"] < 300,
                f"{check['median_seconds']:.2f} s vs {floor['median_seconds']:.2f} s: "
                f"{above:+.2f} s; peak {check['peak_rss_mb']:.0f} MB "
                f"(the import alone {floor['peak_rss_mb']:.0f} MB)",
            )
        )
    else:
        goals.append(Goal(text, None, "not run"))
    weights = _case(results, "other", "weights")
    goals.append(
        Goal(
            "Weighting 1M participants on three characteristics under 2 s, whole command",
            weights["median_seconds"] < 2 if weights else None,
            f"{weights['median_seconds']:.2f} s, peak {weights['peak_rss_mb']:.0f} MB"
            if weights
            else "not run",
        )
    )
    service = _case(results, "other", "service")
    rates = (service or {}).get("rates") or []
    goals.append(
        Goal(
            "The service: 55 audits a second of the example register, 8 clients, 2 workers",
            statistics.median(rates) >= 55 if rates else None,
            f"{statistics.median(rates):g} audits/s, the median of the runs "
            f"({', '.join(f'{r:g}' for r in rates)})"
            if rates
            else "not run",
        )
    )
    pdf = _case(results, "other", "event-pdf")
    goals.append(
        Goal(
            "Typical event PDF under 2 s, whole process",
            pdf["median_seconds"] < 2 if pdf else None,
            f"{pdf['median_seconds']:.2f} s, peak {pdf['peak_rss_mb']:.0f} MB"
            if pdf
            else "not run",
        )
    )
    return goals


def render_markdown(results: dict[str, Any]) -> str:
    """The generated part of RESULTS.md: machine, one table per group, goals."""
    lines: list[str] = []
    groups = results["groups"]
    machines = {json.dumps(g["machine"], sort_keys=True) for g in groups.values()}
    for index, machine_json in enumerate(sorted(machines)):
        info = json.loads(machine_json)
        title = "Machine" if len(machines) == 1 else f"Machine {index + 1}"
        versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
        lines += [
            f"### {title}",
            "",
            f"- CPU: {info['cpu']}, {info['cores']} cores",
            f"- Memory: {info['memory_gb']} GB",
            f"- OS: {info['os']}",
            f"- Python {info['python']}; {versions}",
            f"- Code: commit {info['commit']}"
            + (f", PYTHONPATH={info['pythonpath']}" if info.get("pythonpath") else ""),
            "",
        ]
    lines += ["### Goals", "", "| goal | result | numbers |", "|---|---|---|"]
    for goal in evaluate_goals(results):
        verdict = {True: "met", False: "**missed**", None: "not measured"}[goal.met]
        lines.append(f"| {goal.text} | {verdict} | {goal.evidence} |")
    lines.append("")
    for name, group in groups.items():
        lines += _group_table(name, group)
    return "\n".join(lines).rstrip() + "\n"


def _group_table(name: str, group: dict[str, Any]) -> list[str]:
    cases = group["cases"]
    settings = group.get("settings", {})
    if name == "other":
        title = "Start-up, reports, check, weights, review and the service"
    else:
        title = f"{parse_size(name):,} rows"
    lines = [
        f"### {title}",
        "",
        f"Measured {group['measured_at']}; median of the runs shown, after "
        f"{settings.get('warmup', 1)} untimed warm-up; peak RSS is the largest of the runs.",
        "",
    ]
    if name == "other":
        lines += ["| case | median s | runs | peak RSS MB | note |", "|---|---:|---:|---:|---|"]
        for case in cases:
            note = "; ".join(filter(None, [case["note"], _remeasured(case, group)]))
            if case["status"] == "ok":
                lines.append(
                    f"| {case['label']} | {case['median_seconds']:.3f} | {len(case['seconds'])} "
                    f"| {case['peak_rss_mb']:.0f} | {note} |"
                )
            else:
                lines.append(f"| {case['label']} | {_status_text(case)} | | | {note} |")
        return [*lines, ""]
    lines += [
        "| format | case | median s | × floor | min–max s | runs | peak RSS MB | × floor RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for file_format in dict.fromkeys(c["file_format"] for c in cases):
        rows = [c for c in cases if c["file_format"] == file_format]
        floor = next((c for c in rows if c["role"] == "floor" and c["status"] == "ok"), None)
        for case in rows:
            if case["status"] != "ok":
                lines.append(f"| {file_format} | {case['label']} | {_status_text(case)} |||||")
                continue
            times = case["seconds"]
            ratio = rss_ratio = ""
            if floor:
                ratio = f"{case['median_seconds'] / floor['median_seconds']:.2f}"
                rss_ratio = f"{case['peak_rss_mb'] / floor['peak_rss_mb']:.2f}"
            lines.append(
                f"| {file_format} | {case['label']} | {case['median_seconds']:.3f} | {ratio} "
                f"| {min(times):.3f}–{max(times):.3f} | {len(times)} "
                f"| {case['peak_rss_mb']:.0f} | {rss_ratio} |"
            )
    for case in cases:
        if _remeasured(case, group):
            lines += ["", f"{case['label']} ({case['file_format']}): {_remeasured(case, group)}."]
    for check in group.get("agreement", []):
        if "pandas_max_relative_difference" in check:
            verdict = "agree" if check["agree"] else "**disagree**"
            lines.append("")
            lines.append(
                f"{check['file_format']}: audit and pandas baseline {verdict} on every count, "
                f"status and shortfall of {check['groups_compared']} groups; largest relative "
                f"difference in p-values, intervals and ratios "
                f"{check['pandas_max_relative_difference']:.1e}; floor counts "
                f"{'match' if not check.get('floor_problems') else 'differ'}."
            )
    return [*lines, ""]


def _remeasured(case: dict[str, Any], group: dict[str, Any]) -> str:
    """When and at what commit a case re-measured alone (``--only``) was, if so."""
    if case.get("measured_at", group["measured_at"]) == group["measured_at"]:
        return ""
    commit = f" at commit {case['commit']}" if case.get("commit") else ""
    return f"re-measured alone {case['measured_at']}{commit}"


def _status_text(case: dict[str, Any]) -> str:
    status = str(case["status"])
    return {
        "not_built": "not yet built",
        "not_written": "case not written yet",
        "failed": "**failed**",
    }.get(status, status)


def write_markdown(path: Path, generated: str) -> None:
    """Replace the generated block of RESULTS.md, keeping the hand-written text around it."""
    block = f"{BEGIN}\n<!-- written by benchmarks/run.py; edit outside these markers -->\n\n"
    block += f"{generated}\n{END}"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            after = rest.split(END, 1)[1]
            path.write_text(before + block + after, encoding="utf-8")
            return
    path.write_text(f"# Benchmark results\n\n{block}\n", encoding="utf-8")


# ---------------------------------------------------------------------------
# Command line


def ensure_data(sizes: Iterable[int], formats: Sequence[str], data_dir: Path) -> None:
    """Generate whatever registers are missing (and the reference file)."""
    sizes = list(sizes)
    missing = [
        rows
        for rows in sizes
        if any(not register_path(data_dir, rows, f).exists() for f in formats)
    ]
    if missing or (sizes and not (data_dir / REFERENCE_FILE).exists()):
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--sizes",
                ",".join(size_label(r) for r in missing or [SMOKE_ROWS]),
                "--formats",
                ",".join(formats),
                "--data-dir",
                str(data_dir),
            ],
            check=True,
        )


def print_summary(outcomes: Sequence[Outcome], agreement: Sequence[dict[str, Any]]) -> None:
    for outcome in outcomes:
        if outcome.status == "ok" and outcome.median is not None:
            print(
                f"{outcome.key:<22} {outcome.median:8.3f} s  {outcome.peak_rss_mb or 0:8.1f} MB"
                f"  ({len(outcome.seconds)} runs)"
            )
        else:
            print(f"{outcome.key:<22} {outcome.status} {outcome.note}")
    for check in agreement:
        print(
            f"agreement {check['group']}/{check['file_format']}: "
            f"{'ok' if check['agree'] else 'MISMATCH'}"
            + "".join(f"\n  {p}" for p in check.get("pandas_problems", []))
            + "".join(f"\n  {p}" for p in check.get("floor_problems", []))
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="10k,1m", help="register sizes: 10k,1m,10m")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--runs", type=int, help="timed runs per case (default 5; 3 from 10M rows)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--only", help="comma-separated substrings of case keys to run")
    parser.add_argument(
        "--no-other", action="store_true", help="skip start-up, PDF and future-command cases"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--results", type=Path, help=f"JSON results (default {DEFAULT_RESULTS})")
    parser.add_argument(
        "--markdown", type=Path, help=f"Markdown to update (default {DEFAULT_MARKDOWN})"
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="do not cache compiled bytecode for the timed processes",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"tiny version for CI: {SMOKE_ROWS:,} rows, one run, no warm-up, "
        "results kept in the data folder (a temporary one by default)",
    )
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.smoke:
        data_dir = args.data_dir if args.data_dir != DEFAULT_DATA else Path(tempfile.mkdtemp())
        sizes = [SMOKE_ROWS]
        warmup, check_rows = 0, SMOKE_ROWS
        results_path = args.results or data_dir / "results.json"
        markdown_path = args.markdown
    else:
        data_dir = args.data_dir
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
        warmup, check_rows = args.warmup, CHECK_ROWS
        results_path = args.results or DEFAULT_RESULTS
        markdown_path = args.markdown or DEFAULT_MARKDOWN
    data_dir = data_dir.resolve()
    (data_dir / "out").mkdir(parents=True, exist_ok=True)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)

    tool = tool_executable()
    # The smoke run's folder is new each time: a bytecode cache there would only
    # make every process compile its imports from scratch.
    bytecode_cache = not args.no_bytecode_cache and not args.smoke
    env = child_environment(data_dir, bytecode_cache)
    if args.smoke:
        # As in the test suite, a warning is an error.
        env["PYTHONWARNINGS"] = "error"
    groups: list[list[Case]] = []
    for rows in sizes:
        default_runs = 1 if args.smoke else (3 if rows >= 10_000_000 else 5)
        groups.append(size_cases(rows, formats, data_dir, tool, runs=args.runs or default_runs))
    if not args.no_other:
        runs = 1 if args.smoke else (args.runs or 5)
        fast_runs = 1 if args.smoke else max(runs, 10)
        groups.append(
            other_cases(
                data_dir,
                tool,
                check_rows=check_rows,
                runs=runs,
                fast_runs=fast_runs,
                service_requests=SMOKE_SERVICE_REQUESTS if args.smoke else SERVICE_REQUESTS,
            )
        )
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        groups = [[c for c in g if any(w in c.key for w in wanted)] for g in groups]
        groups = [g for g in groups if g]

    needed_sizes = {r for r in sizes if any(c.group == size_label(r) for g in groups for c in g)}
    check_needed = any(c.role in ("check", "weights") for g in groups for c in g)
    if check_needed and subcommand_exists(tool, "check", env):
        needed_sizes.add(check_rows)
    ensure_data(sorted(needed_sizes), formats, data_dir)

    outcomes: list[Outcome] = []
    agreement: list[dict[str, Any]] = []
    for cases in groups:
        if not args.quiet:
            print(f"== {cases[0].group}", file=sys.stderr)
        group_outcomes = run_group(
            cases,
            env=env,
            tool=tool,
            logs=logs,
            warmup=warmup,
            data_dir=data_dir,
            verbose=not args.quiet,
        )
        outcomes += group_outcomes
        agreement += check_agreement(group_outcomes, cases)

    settings = {"warmup": warmup, "bytecode_cache": bytecode_cache}
    results = merge_results(
        load_results(results_path),
        outcomes,
        agreement,
        machine(),
        settings,
        only=bool(args.only),
    )
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
    if markdown_path is not None:
        write_markdown(markdown_path, render_markdown(results))
    if not args.quiet:
        print_summary(outcomes, agreement)
        print(f"results: {results_path}" + (f", {markdown_path}" if markdown_path else ""))
    failed = [o.key for o in outcomes if o.status == "failed"]
    disagree = [f"{a['group']}/{a['file_format']}" for a in agreement if not a["agree"]]
    if failed or disagree:
        print(f"FAILED: {', '.join(failed + disagree)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
