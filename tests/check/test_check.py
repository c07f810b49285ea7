"""`check`: Great Expectations validation of a register, as a CI pipeline runs it.

Counts are checked against independent tallies of the same rows made here with
the csv module, not against the code under test.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inclusion_audit.audit import audit_register
from inclusion_audit.check.report import to_junit_xml, to_text
from inclusion_audit.check.suite import (
    CheckRules,
    _gx,
    _repeated_ids,
    check_register,
    defer_import,
)
from inclusion_audit.cli.app import cli
from inclusion_audit.errors import UnknownValuesError
from inclusion_audit.ingest.readers import read_table
from inclusion_audit.reference.profiles import read_reference_csv

from ..conftest import WriteCsv

HEADER = ["Participant ID", "Name", "Email", "Sex", "Age", "Comments"]
ROWS = [
    ["P1", "Ann Smith", "ann@example.org", "Female", "16-34", "Too far, no bus"],
    ["P2", "Bob Jones", "bob@example.org", "M", "35-64", ""],
    ["P1", "Ann Smith", "ann@example.org", "Female", "16-34", "Again"],
    ["P3", "Cat Green", "cat@example.org", "Woman?", "", ""],
    ["P4", "Dan Brown", "dan@example.org", "Prefer not to say", "65+", ""],
    ["P5", "Eve Black", "eve@example.org", "Woman?", "eighty", ""],
    ["P6", "Fay White", "fay@example.org", "", "35-64", ""],
    ["P2", "Bob Jones", "bob@example.org", "M", "35-64", ""],
]


def invoke(*args: object):
    return CliRunner().invoke(cli, ["check", *(str(a) for a in args)], catch_exceptions=False)


@pytest.fixture
def messy(write_csv: WriteCsv) -> Path:
    return write_csv("messy.csv", [HEADER, *ROWS])


def _tally(path: Path, column: str) -> Counter[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return Counter(row[column] for row in csv.DictReader(handle))


def test_clean_register_passes(example_register: Path, example_reference: Path) -> None:
    result = invoke(example_register, "--reference", example_reference)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.stdout
    assert "check passed" in result.stdout
    # The example has a Participant ID column: its uniqueness is checked.
    assert "Participant identifiers do not repeat (column 'Participant ID')" in result.stdout


def test_failures_exit_1_with_counts_rows_and_fix(messy: Path, small_reference: Path) -> None:
    result = invoke(messy, "--reference", small_reference)
    assert result.exit_code == 1
    out = result.stdout
    unknown_sex = {"Woman?"}
    tally = _tally(messy, "Sex")
    count = sum(tally[a] for a in unknown_sex)
    assert f"1 distinct answer(s) in column 'Sex' ({count} rows) match no reference category" in out
    first = next(i for i, row in enumerate(ROWS) if row[3] == "Woman?") + 2
    assert f"'Woman?' ({count} rows, first on row {first}" in out
    assert "inclusion-audit mapping suggest" in out  # the fix
    assert "'eighty' (1 row, first on row 7" in out
    ids = Counter(row[0] for row in ROWS)
    repeated = {i: n for i, n in ids.items() if n > 1}
    assert (
        f"{len(repeated)} identifier(s) in column 'Participant ID' appear more than once "
        f"({sum(repeated.values()) - len(repeated)} extra row(s))" in out
    )
    assert "an identifier on 2 rows, first on row 2" in out
    assert "an identifier on 2 rows, first on row 3" in out
    assert "check FAILED" in out


def test_nothing_private_in_any_output(messy: Path, small_reference: Path, tmp_path: Path) -> None:
    outputs = {o: tmp_path / f"out.{o}" for o in ("json", "xml", "suite")}
    result = invoke(
        messy,
        "--reference",
        small_reference,
        "--json",
        outputs["json"],
        "--junit-xml",
        outputs["xml"],
        "--suite",
        outputs["suite"],
    )
    assert result.exit_code == 1
    texts = [result.stdout, *(p.read_text(encoding="utf-8") for p in outputs.values())]
    for row in ROWS:
        for private in (row[0], row[1], row[2], row[5]):
            if private and len(private) > 2:
                assert all(private not in text for text in texts), private
    data = json.loads(outputs["json"].read_text(encoding="utf-8"))
    # Great Expectations sees how many rows each identifier is on, never an identifier.
    (unique,) = [
        r
        for r in data["great_expectations"]["results"]
        if r["expectation_config"]["kwargs"]["column"] == "(rows per participant id)"
    ]
    assert unique["result"]["observed_value"] == 2
    (ids,) = [e for e in data["expectations"] if e["key"] == "unique_ids"]
    assert ids["unexpected_count"] == 4  # every copy, as a uniqueness expectation counts


def test_json_carries_great_expectations_result_and_reusable_suite(
    messy: Path, small_reference: Path, tmp_path: Path
) -> None:
    gx = _gx()
    result = invoke(messy, "--reference", small_reference, "--json", "-", "--suite", tmp_path / "s")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["success"] is False and data["rows"] == len(ROWS)
    ge = data["great_expectations"]
    assert ge["success"] is False
    assert ge["statistics"]["evaluated_expectations"] == len(data["expectations"])
    assert ge["statistics"]["unsuccessful_expectations"] == sum(
        not e["success"] for e in data["expectations"]
    )
    sex = next(e for e in data["expectations"] if e["key"] == "answers_known.sex")
    assert sex["unexpected_count"] == _tally(messy, "Sex")["Woman?"]
    assert sex["element_count"] == len(ROWS)
    # The human summary goes to stderr when JSON takes stdout.
    assert "check FAILED" in result.stderr
    suite = json.loads((tmp_path / "s").read_text())
    rebuilt = gx.ExpectationSuite(**suite)
    assert len(rebuilt.expectations) == len(data["expectations"])
    assert all("id" not in e for e in suite["expectations"])


def test_junit_xml_structure(messy: Path, small_reference: Path) -> None:
    result = invoke(messy, "--reference", small_reference, "--junit-xml", "-", "--quiet")
    assert result.exit_code == 1 and result.stderr == ""
    root = ET.fromstring(result.stdout.encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("tests", "")) == len(cases)
    assert int(suite.get("failures", "")) == len(failures) == 3  # sex, age, identifiers
    types = {c.find("failure").get("type") for c in failures}  # type: ignore[union-attr]
    assert types == {"expect_column_values_to_be_in_set", "expect_column_max_to_be_between"}
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["rows"] == str(len(ROWS))


def test_junit_xml_survives_control_characters(write_csv: WriteCsv, small_reference: Path):
    path = write_csv("ctrl.csv", [["Sex"], ["Fe\x01male\x0b"], ["Male"]])
    result = check_register(read_table(path), read_reference_csv(small_reference))
    assert not result.success
    ET.fromstring(to_junit_xml(result))  # would raise on an unescaped control character
    assert "\\x01" in to_text(result)


def test_max_unknown_boundary_is_inclusive(write_csv: WriteCsv, small_reference: Path) -> None:
    def run(blanks: int) -> bool:
        rows = [["Sex"], *[["Female"]] * (10 - blanks), *[[""]] * blanks]
        path = write_csv(f"b{blanks}.csv", rows)
        result = check_register(
            read_table(path), read_reference_csv(small_reference), CheckRules(max_unknown=0.2)
        )
        (answered,) = [e for e in result.expectations if e.key == "answered.sex"]
        assert answered.unexpected_count == blanks
        return answered.success

    assert run(2) is True  # 2 of 10 unknown: exactly the 20% allowed
    assert run(3) is False


def test_required_columns_min_rows_and_events(write_csv: WriteCsv, small_reference: Path):
    path = write_csv(
        "events.csv",
        [["Sex", "Meeting"], ["Female", "North"], ["Male", ""], ["Male", "South"], ["Male", " "]],
    )
    result = invoke(
        path,
        "--reference",
        small_reference,
        "--require",
        "sex,age",
        "--min-rows",
        5,
        "--event-column",
        "Meeting",
    )
    assert result.exit_code == 1
    out = result.stdout
    assert "FAIL  At least 5 participant row(s) [4]" in out
    assert "PASS  Has a column for sex (column 'Sex')" in out
    assert "FAIL  Has a column for age" in out
    assert "2 row(s) have no event in column 'Meeting', the first on row 3" in out


def test_mapping_file_settles_unknown_answers(
    messy: Path, small_reference: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[answers.sex]\n"Woman?" = "Female"\n\n[answers.age]\neighty = "65+"\n')
    result = invoke(messy, "--reference", small_reference, "--mapping", mapping)
    assert "PASS  sex: every answer is a category" in result.stdout, result.stdout
    assert "PASS  age: every answer is a category" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id-column", "Nope"], "--id-column 'Nope': register messy.csv has no such column"),
        (["--max-unknown", "nan"], "--max-unknown nan: give a share between 0 and 1"),
        (["--max-unknown", "1.5"], "--max-unknown 1.5: give a share between 0 and 1"),
        (["--min-rows", "-1"], "--min-rows -1: give 0 or more"),
        (["--require", "religon"], "--require religon: the reference has no characteristic"),
        (["--json", "-", "--junit-xml", "-"], "--json and --junit-xml both ask for standard"),
        (["--json", "{register}"], "--json {register} is one of the input files"),
        (["--json", "{tmp}/a.json", "--suite", "{tmp}/a.json"], "must name different files"),
        (["--json", "{tmp}"], "exists and is not a regular file"),
    ],
)
def test_bad_options_exit_2_with_one_message(
    messy: Path, small_reference: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    filled = [a.format(register=messy, tmp=tmp_path) for a in args]
    result = invoke(messy, "--reference", small_reference, *filled)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert message.format(register=messy, tmp=tmp_path) in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.csv", "reference.csv"]


def test_unusable_registers_exit_2(write_csv: WriteCsv, small_reference: Path) -> None:
    no_characteristic = write_csv("other.csv", [["Foo", "Bar"], ["1", "2"]])
    result = invoke(no_characteristic, "--reference", small_reference)
    assert result.exit_code == 2 and "has none of the reference's characteristics" in result.stderr
    result = invoke(no_characteristic.with_name("missing.csv"), "--reference", small_reference)
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_empty_register_fails_the_row_count(write_csv: WriteCsv, small_reference: Path) -> None:
    path = write_csv("empty.csv", [["Sex", "Age"]])
    result = invoke(path, "--reference", small_reference)
    assert result.exit_code == 1
    assert "FAIL  At least 1 participant row(s) [0]" in result.stdout


def test_default_reference_is_england_and_wales(example_register: Path) -> None:
    result = invoke(example_register)
    assert result.exit_code == 0, result.output
    assert "England and Wales" in result.stdout


def test_set_aside_answers_are_notes_not_failures(write_csv: WriteCsv) -> None:
    path = write_csv(
        "ethnic.csv",
        [["Ethnic group"], ["White British"], ["BAME"], ["Mixed race"], ["Indian"]],
    )
    result = invoke(path, "--area", "Lambeth")
    assert result.exit_code == 0, result.output
    assert "note: 'BAME' (1 row) is counted as unknown" in result.stdout
    assert "name only a broad group" in result.stdout


# Answers a form might hold: known to the audit, declined, blank, or unknown to it.
_ANSWERS = ["Female", "Male", "F", "m", "Prefer not to say", "", "  ", "Woman?", "(blank)"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.lists(st.sampled_from(_ANSWERS), min_size=1, max_size=30),
    seed=st.integers(0, 2**32),
)
def test_check_passes_exactly_when_the_audit_can_run(
    answers: list[str], seed: int, small_reference: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With no other rules, `check` passes if and only if `audit` accepts every answer."""
    path = tmp_path_factory.mktemp("h") / "register.csv"
    ids = [f"P{i}" for i in random.Random(seed).sample(range(10**6), len(answers))]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["ID", "Sex"], *zip(ids, answers, strict=True)])
    reference = read_reference_csv(small_reference)
    result = check_register(read_table(path), reference)
    try:
        audit_register(read_table(path), reference)
        audit_ran = True
    except UnknownValuesError:
        audit_ran = False
    assert result.success is audit_ran
    unknown = sum(a in ("Woman?", "(blank)") for a in answers)
    (sex,) = [e for e in result.expectations if e.key == "answers_known.sex"]
    assert sex.unexpected_count == unknown


# Identifiers as typed: repeats, blanks, spaces around, and numbers with leading zeros.
_IDS = ["P1", "P2", " P1 ", "p1", "", "   ", "007", "7", "P3", "P3"]


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.sampled_from(_IDS), max_size=40))
def test_repeated_ids_agree_with_a_counter(
    ids: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Repeats found by sorting hashes equal a Counter over the stripped identifiers."""
    path = tmp_path_factory.mktemp("ids") / "register.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["ID", "Sex"], *([i, "Female"] for i in ids)])
    stripped = [i.strip() for i in ids]
    counts = Counter(i for i in stripped if i)
    firsts = {i: stripped.index(i) + 2 for i in counts}  # the header is row 1
    repeats = [(n, firsts[i]) for i, n in counts.items() if n > 1]
    expected = tuple(sorted(repeats, key=lambda repeat: repeat[1]))
    repeated, rows_per_id = _repeated_ids(read_table(path), "ID")
    assert repeated == expected
    assert rows_per_id == tuple(sorted(set(counts.values())))


def test_deferred_module_runs_at_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`from package import module` binds a deferred module without running it; reading an
    attribute of it runs it, once, and it then behaves as if imported normally."""
    package = tmp_path / "deferpkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "heavy.py").write_text(
        "import sys\nsys.modules['deferpkg'].runs = getattr(sys.modules['deferpkg'], 'runs', 0) + 1"
        "\nVALUE = 42\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("deferpkg", "deferpkg.heavy"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert defer_import("deferpkg.heavy")
    from deferpkg import heavy  # type: ignore[import-not-found]

    package_module = sys.modules["deferpkg"]
    assert getattr(package_module, "runs", 0) == 0
    assert heavy.VALUE == 42
    assert package_module.runs == 1
    assert not defer_import("deferpkg.heavy")  # already imported: left alone
    assert not defer_import("deferpkg.missing")
    assert not defer_import("no_such_package_anywhere.heavy")


def test_sampled_answers_are_clipped_and_escaped(write_csv: WriteCsv, small_reference: Path):
    long = "Alice Smith, 12 High St, SW1A 1AA " * 100
    path = write_csv("wild.csv", [["Sex"], [long], ["\u202eelaM"], ["Female"]])
    result = check_register(read_table(path), read_reference_csv(small_reference))
    (sex,) = [
        r
        for r in result.great_expectations["results"]
        if r["expectation_config"]["kwargs"].get("column") == "sex"
    ]
    sampled = sex["result"]["partial_unexpected_list"]
    assert sorted(sampled) == sorted([long[:59] + "…", "\\u202eelaM"])
    assert all(len(v) <= 60 for v in sampled)
    assert long not in json.dumps(result.to_dict())


def test_characteristics_named_like_internal_columns(write_csv: WriteCsv) -> None:
    reference = write_csv(
        "ref.csv",
        [["characteristic", "category", "count"], ["event", "A", 5], ["event", "B", 5]],
    )
    path = write_csv("r.csv", [["ID", "event"], ["1", "A"], ["2", "B"]])
    result = check_register(
        read_table(path), read_reference_csv(reference), CheckRules(event_column="event")
    )
    assert result.success, [e.message for e in result.failed]


_CHECK_WITHOUT_PYARROW = """
import atexit, sys
# scipy.stats is bound (Great Expectations imports it) but never run: its submodules never load.
atexit.register(lambda: print("pyarrow" in sys.modules, "pandas" in sys.modules,
    "scipy.stats" in sys.modules, "scipy.stats._stats_py" in sys.modules,
    sys.modules["polars"].thread_pool_size(), file=sys.stderr))
sys.argv = ["inclusion-audit", "check", *sys.argv[1:]]
from inclusion_audit.cli.app import main
main()
"""


def test_the_command_checks_without_loading_pyarrow(
    messy: Path, small_reference: Path, tmp_path: Path
) -> None:
    """pandas 3 would load pyarrow (33 MB) as it is imported, and Great Expectations
    scipy.stats (60 MB); `check` needs neither, and runs scipy.stats only if used.
    polars counts on one thread (its buffers grow with threads) unless told otherwise.

    Run as its own process, as a user runs it, so pandas is imported there for
    the first time: same expectations, counts and rows as the library's result,
    and the same verdicts and observed values from Great Expectations.
    """
    output = tmp_path / "check.json"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHECK_WITHOUT_PYARROW,
            str(messy),
            "--reference",
            str(small_reference),
            "--json",
            str(output),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False True True False 1"
    expected = check_register(read_table(messy), read_reference_csv(small_reference))
    got = json.loads(output.read_text(encoding="utf-8"))
    keys = ("key", "success", "element_count", "unexpected_count", "problems", "message")
    wanted = json.loads(json.dumps(expected.to_dict(), default=str))
    assert [{k: e[k] for k in keys} for e in got["expectations"]] == [
        {k: e[k] for k in keys} for e in wanted["expectations"]
    ]
    results = ("success", "result")
    assert [{k: r[k] for k in results} for r in got["great_expectations"]["results"]] == [
        {k: r[k] for k in results} for r in wanted["great_expectations"]["results"]
    ]
