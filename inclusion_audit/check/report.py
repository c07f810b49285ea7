"""A ``CheckResult`` as text for a terminal or CI log, as JSON, and as JUnit XML.

JUnit XML is the format CI systems (GitHub Actions, GitLab, Jenkins, Azure)
show as a test report: each expectation is a test case, a failed one carries
its message and the answers behind it, and a characteristic that could not be
checked is a skipped case.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from inclusion_audit.check.suite import CheckResult, Expectation

# XML 1.0 forbids most control characters even as references; a register's
# answer could hold any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def to_json(result: CheckResult) -> bytes:
    """The whole result, Great Expectations' own validation result and suite included."""
    return (json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def to_text(result: CheckResult) -> str:
    """A summary for a person: one line per expectation, the failures explained."""
    lines = [
        f"Checked {result.file} ({result.file_format}, {result.rows:,} rows) against "
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
        else:
            yield f"an identifier on {rows}{first}"


def to_junit_xml(result: CheckResult) -> bytes:
    """One ``testsuite`` for the register, one ``testcase`` per expectation."""
    failures = len(result.failed)
    counts = {
        "tests": str(len(result.expectations) + len(result.not_checked)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(len(result.not_checked)),
        "time": f"{result.seconds:.3f}",
    }
    root = ET.Element("testsuites", {"name": "inclusion-audit check", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": _clean(result.file), "timestamp": result.checked_at, **counts},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("file_format", result.file_format),
        ("rows", str(result.rows)),
        ("reference", result.reference),
        ("inclusion_audit_version", result.tool_version),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    classname = f"inclusion_audit.check.{_clean(result.file)}"
    for expectation in result.expectations:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": classname, "name": _clean(_title(expectation))},
        )
        if not expectation.success:
            failure = ET.SubElement(
                case,
                "failure",
                {"message": _clean(expectation.message), "type": expectation.expectation_type},
            )
            failure.text = _clean("\n".join([expectation.message, *_problem_lines(expectation)]))
        if expectation.notes:
            ET.SubElement(case, "system-out").text = _clean("\n".join(expectation.notes))
    for skipped in result.not_checked:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": classname, "name": _clean(f"{skipped.name.replace('_', ' ')}")},
        )
        ET.SubElement(case, "skipped", {"message": _clean(skipped.reason)})
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
