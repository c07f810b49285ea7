"""``CheckResult``s as text for a terminal or CI log, as JSON, JUnit XML, GitHub annotations
and a Markdown job summary.

JUnit XML is the format CI systems (GitHub Actions, GitLab, Jenkins, Azure)
show as a test report: one test suite per register, each expectation a test
case named by the expectation alone (never by a count or an answer, so CI
history follows the same test from run to run), a failed one carrying its
counts in the message, and a characteristic that could not be checked a
skipped case. GitHub annotations and the job summary cite expectations, counts
and row numbers only, never answers: CI logs are often public.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence

from inclusion_audit.check.suite import CheckResult, Expectation

# XML 1.0 forbids most control characters even as references; a register's
# answer could hold any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _many(results: CheckResult | Sequence[CheckResult]) -> list[CheckResult]:
    return [results] if isinstance(results, CheckResult) else list(results)


def to_json(results: CheckResult | Sequence[CheckResult]) -> bytes:
    """The whole result, Great Expectations' own validation result and suite included.

    One register gives its result; several give ``{"success": …, "registers": [result, …]}``.
    """
    checked = _many(results)
    data = (
        checked[0].to_dict()
        if len(checked) == 1
        else {
            "success": all(r.success for r in checked),
            "registers": [r.to_dict() for r in checked],
        }
    )
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def to_text(result: CheckResult) -> str:
    """A summary for a person: one line per expectation, the failures explained."""
    lines = [
        f"Checked {result.path} ({result.file_format}, {result.rows:,} rows) against "
        f"{result.reference}.",
        "",
    ]
    for expectation in result.expectations:
        mark = "PASS" if expectation.success else "FAIL"
        lines.append(f"  {mark}  {_title(expectation)}")
        if not expectation.success:
            lines.append(f"        {expectation.message}")
            lines += [f"          {line}" for line in _problem_lines(expectation)]
        lines += [f"        note: {note}" for note in expectation.notes]
    for skipped in result.not_checked:
        lines.append(f"  SKIP  {skipped.name}: not checked, {skipped.reason}")
    failed = len(result.failed)
    total = len(result.expectations)
    verdict = "passed" if result.success else "FAILED"
    lines += [
        "",
        f"{total - failed} of {total} expectations met; check {verdict} "
        f"({result.seconds:.1f} s, Great Expectations "
        f"{result.great_expectations.get('meta', {}).get('great_expectations_version', '')}).",
    ]
    return "\n".join(lines) + "\n"


def totals(results: Sequence[CheckResult]) -> str:
    """One line for several registers: how many passed.

    After each register's own summary, so a long CI log ends with the verdict.
    """
    failed = [r.path for r in results if not r.success]
    if not failed:
        return f"All {len(results)} registers passed.\n"
    return f"{len(failed)} of {len(results)} registers FAILED: {', '.join(failed)}.\n"


def _title(expectation: Expectation) -> str:
    where = f" (column {expectation.column!r})" if expectation.column else ""
    observed = f" [{expectation.observed:,}]" if isinstance(expectation.observed, int) else ""
    return f"{expectation.title}{where}{observed}"


def _problem_lines(expectation: Expectation) -> Iterator[str]:
    for problem in expectation.problems:
        rows = f"{problem.count:,} row{'s' if problem.count != 1 else ''}"
        first = f", first on row {problem.first_row:,}" if problem.first_row else ""
        hint = f"; {problem.hint}" if problem.hint else ""
        if problem.value:
            yield f"{problem.value} ({rows}{first}{hint})"
        elif expectation.key == "unique_ids":
            yield f"an identifier on {rows}{first}"
        else:
            yield f"an answer on {rows}{first}"


def to_junit_xml(results: CheckResult | Sequence[CheckResult]) -> bytes:
    """One ``testsuite`` per register, one ``testcase`` per expectation.

    A test case is named by its expectation alone ("sex: every answer is a
    category, blank, declined or set aside"), so it keeps its name whatever the
    register's size or answers; the column, counts and rows go in the failure.
    Its class name is the register's path with dots made underscores, since CI
    tools split a class name on its last dot.
    """
    checked = _many(results)
    expectations = sum(len(r.expectations) for r in checked)
    skipped = sum(len(r.not_checked) for r in checked)
    root = ET.Element(
        "testsuites",
        {
            "name": "inclusion-audit check",
            **_counts(expectations + skipped, sum(len(r.failed) for r in checked), skipped),
            "time": f"{sum(r.seconds for r in checked):.3f}",
        },
    )
    for result in checked:
        _junit_suite(root, result)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _counts(tests: int, failures: int, skipped: int) -> dict[str, str]:
    return {
        "tests": str(tests),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
    }


def _junit_suite(root: ET.Element, result: CheckResult) -> None:
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _clean(result.path),
            "timestamp": result.checked_at,
            **_counts(
                len(result.expectations) + len(result.not_checked),
                len(result.failed),
                len(result.not_checked),
            ),
            "time": f"{result.seconds:.3f}",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("file", result.path),
        ("file_format", result.file_format),
        ("rows", str(result.rows)),
        ("reference", result.reference),
        ("inclusion_audit_version", result.tool_version),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    attributes = {"classname": classname(result.path), "file": _clean(result.path)}
    for expectation in result.expectations:
        case = ET.SubElement(suite, "testcase", {**attributes, "name": _clean(expectation.title)})
        if not expectation.success:
            failure = ET.SubElement(
                case,
                "failure",
                {"message": _clean(expectation.message), "type": expectation.expectation_type},
            )
            failure.text = _clean("\n".join([expectation.message, *_problem_lines(expectation)]))
        out = [f"column: {expectation.column}"] if expectation.column else []
        if isinstance(expectation.observed, int):
            out.append(f"observed: {expectation.observed:,}")
        out += [f"note: {note}" for note in expectation.notes]
        if out:
            ET.SubElement(case, "system-out").text = _clean("\n".join(out))
    for item in result.not_checked:
        case = ET.SubElement(suite, "testcase", {**attributes, "name": _clean(_words(item.name))})
        ET.SubElement(case, "skipped", {"message": _clean(item.reason)})


def classname(path: str) -> str:
    """A JUnit class name for a register: its path, with no dot a CI tool could split on.

    >>> classname("data/2026-07.forum register.csv")
    'inclusion_audit_check.data/2026-07_forum register_csv'
    """
    return "inclusion_audit_check." + _clean(path).replace(".", "_")


def _words(name: str) -> str:
    return name.replace("_", " ")


def to_github_annotations(results: CheckResult | Sequence[CheckResult]) -> str:
    """GitHub Actions workflow commands: one ``::error`` per failed expectation.

    Each names the register (``file=``), and for a CSV the row of the first
    answer or identifier behind the failure (``line=``: a CSV row is its line
    unless a cell above it holds a line break); the message is the
    expectation's, with counts and first rows, never an answer.
    """
    lines = []
    for result in _many(results):
        for expectation in result.failed:
            rows = [p.first_row for p in expectation.problems if p.first_row]
            place = {"file": result.path}
            if rows and result.file_format == "csv":
                place["line"] = str(min(rows))
            place["title"] = f"inclusion-audit check: {expectation.title}"
            message = expectation.message
            if rows:
                message += f" First rows: {_rows_list(expectation)}."
            properties = ",".join(f"{k}={_escape_property(v)}" for k, v in place.items())
            lines.append(f"::error {properties}::{_escape_data(message)}")
    return "".join(f"{line}\n" for line in lines)


def _rows_list(expectation: Expectation) -> str:
    return ", ".join(
        f"row {p.first_row:,} ({p.count:,} row{'s' if p.count != 1 else ''})"
        for p in expectation.problems
        if p.first_row
    )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_markdown_summary(results: CheckResult | Sequence[CheckResult]) -> str:
    """A Markdown job summary (``$GITHUB_STEP_SUMMARY``): each register, then each failure.

    Expectations, counts and row numbers only, never an answer.
    """
    checked = _many(results)
    failed = [r for r in checked if not r.success]
    verdict = (
        f"{len(failed)} of {len(checked)} register(s) failed"
        if failed
        else f"{len(checked)} register(s) passed"
    )
    lines = [
        f"### inclusion-audit check: {verdict}",
        "",
        "| register | rows | result | expectations met |",
        "|---|---:|---|---:|",
    ]
    for result in checked:
        met = len(result.expectations) - len(result.failed)
        lines.append(
            f"| {_cell(result.path)} | {result.rows:,} | "
            f"{'passed' if result.success else '**failed**'} | "
            f"{met} of {len(result.expectations)} |"
        )
    for result in failed:
        lines += [
            "",
            f"#### {_cell(result.path)}",
            "",
            "| failed expectation | what | rows |",
            "|---|---|---|",
        ]
        for expectation in result.failed:
            lines.append(
                f"| {_cell(expectation.title)} | {_cell(expectation.message)} | "
                f"{_cell(_rows_list(expectation))} |"
            )
    return "\n".join(lines) + "\n\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
