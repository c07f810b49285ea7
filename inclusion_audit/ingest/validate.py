"""Validate: checks on a harmonised register before any statistic is computed.

Problems are collected across every column and reported together, so a user
fixes their file once rather than once per error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from inclusion_audit.errors import NothingToAuditError, RegisterError, UnknownValuesError
from inclusion_audit.ingest.readers import Table, collect
from inclusion_audit.vocab.classifications import closest_categories
from inclusion_audit.vocab.folding import column_key

_MAX_VALUES_LISTED = 20
_MAX_VALUE_LENGTH = 60
_MAX_ANSWER_LISTED = 500


def check_has_rows(table: Table, n_rows: int) -> None:
    """A register must have at least one participant row."""
    if n_rows == 0:
        raise RegisterError(
            f"register {table.name} has a header but no participant rows. "
            "Check you exported the responses, not just the questions."
        )


def check_has_characteristics(
    table: Table, matched: Mapping[str, str], wanted: Sequence[str]
) -> None:
    """At least one of the reference's characteristics must be a register column."""
    if matched:
        return
    shown = ", ".join(repr(c) for c in list(table.columns)[:12])
    more = " …" if len(table.columns) > 12 else ""
    wanted_shown = ", ".join(repr(c) for c in list(wanted)[:12])
    header_row = _header_further_down(table, wanted)
    if header_row is not None:
        raise RegisterError(
            f"register {table.name}: the column names seem to be on row {header_row}, not "
            f"row 1. Delete the {header_row - 1} row{'s' if header_row > 2 else ''} above them "
            "(titles, notes or instructions) and try again."
        )
    raise NothingToAuditError(
        f"register {table.name} has none of the reference's characteristics "
        f"({wanted_shown}). Its columns are {shown}{more}. Rename the register's "
        "columns to match the characteristic names (case and spaces do not matter)."
    )


def _header_further_down(table: Table, wanted: Sequence[str]) -> int | None:
    """The spreadsheet row that holds the column names, when title rows sit above it."""
    keys = {column_key(name) for name in wanted}
    top = collect(table, table.frame.head(10).select(pl.all().cast(pl.String)))
    for index, row in enumerate(top.iter_rows()):
        if any(cell is not None and column_key(cell) in keys for cell in row):
            return index + 2
    return None


def check_no_duplicate_columns(table: Table, matched: Mapping[str, str]) -> None:
    """A characteristic's column must appear once: two "sex" columns cannot both be read."""
    for name, column in matched.items():
        copies = table.duplicates.get(column)
        if copies:
            raise RegisterError(
                f"register {table.name} has {copies} columns headed {column!r} (for {name}). "
                "Delete or rename all but one and try again."
            )


def check_something_audited(
    table: Table, audited: int, quotas: int, not_audited: Sequence[tuple[str, str]]
) -> None:
    """An audit that compared nothing must not pass as "no group under-represented"."""
    if audited or quotas:
        return
    reasons = "; ".join(f"{name}: {reason}" for name, reason in not_audited)
    raise NothingToAuditError(
        f"register {table.name}: nothing could be audited ({reasons}). Choose an area or "
        "reference that has these characteristics."
    )


def check_unmatched(
    table: Table,
    unmatched: Mapping[str, Mapping[str, int]],
    categories: Mapping[str, Sequence[str]],
    characteristics: Mapping[str, str] | None = None,
) -> None:
    """Every answer must be a known category, blank or a "prefer not to say".

    ``unmatched`` maps a register column to its unplaced answers and their
    counts; ``categories`` maps the column to the categories it may take.
    Raises one ``UnknownValuesError`` listing every unplaced answer with its
    row count and the first row it is on.
    """
    columns = {column: values for column, values in unmatched.items() if values}
    if not columns:
        return
    total = sum(len(values) for values in columns.values())
    lines = [
        f"register {table.name}: {total} answer{'s' if total != 1 else ''} "
        f"{'match' if total != 1 else 'matches'} no reference category."
    ]
    unknown: list[dict[str, object]] = []
    for column, values in columns.items():
        first = first_rows(table, column, list(values))
        listed = sorted(values.items(), key=lambda item: (-item[1], item[0]))
        options = list(categories.get(column, ()))
        unknown.extend(
            {
                "column": column,
                "characteristic": (characteristics or {}).get(column, column),
                "answer": value,
                "count": count,
                "first_row": first.get(value),
                "closest": closest_categories(value, options, limit=3),
                "categories": options,
            }
            for value, count in listed
            # An answer this long is no answer to map (and would swell the reply).
            if len(value) <= _MAX_ANSWER_LISTED
        )
        described = [
            f"{show_value(value)} ({rows_phrase(count)}, first on row {first.get(value, '?')}"
            + closest_hint(value, options)
            + ")"
            for value, count in listed[:_MAX_VALUES_LISTED]
        ]
        if len(listed) > _MAX_VALUES_LISTED:
            described.append(f"and {len(listed) - _MAX_VALUES_LISTED} more")
        lines.append(f"  column {column!r}: " + ", ".join(described))
        allowed = ", ".join(repr(c) for c in categories.get(column, ()))
        lines.append(f"    its categories are: {allowed}")
    lines.append(
        "Say what they mean in a mapping file: `inclusion-audit mapping suggest "
        f"{table.name} … --output mapping.toml` lists every answer, then "
        "`audit --mapping mapping.toml`. Or correct them in the register."
    )
    raise UnknownValuesError("\n".join(lines), unknown)


def first_rows(table: Table, column: str, values: list[str]) -> dict[str, int]:
    """Spreadsheet row of each value's first occurrence (the header is row 1)."""
    found = collect(
        table,
        table.frame.select(pl.col(column).cast(pl.String))
        .with_row_index("index")
        .filter(pl.col(column).is_in(values))
        .group_by(column)
        .agg(pl.col("index").min()),
    )
    return {value: int(index) + 2 for value, index in found.iter_rows()}


def rows_with(table: Table, column: str, values: list[str], limit: int) -> list[int]:
    """Spreadsheet rows (the header is row 1) holding any of ``values``, the first ``limit``.

    Only row numbers come back, never the values: this is how a register's postcodes
    that were not found are pointed at without writing a postcode anywhere.
    """
    found = collect(
        table,
        table.frame.select(pl.col(column).cast(pl.String))
        .with_row_index("index")
        .filter(pl.col(column).is_in(values))
        .select("index")
        .head(limit),
    )
    return [int(index) + 2 for index in found["index"].to_list()]


def closest_hint(value: str, options: list[str]) -> str:
    near = closest_categories(value, options, limit=2)
    return "; closest: " + " or ".join(repr(c) for c in near) if near else ""


def show_value(value: str) -> str:
    """A value quoted for a terminal: control characters escaped, long ones cut."""
    shown = repr(value)
    return shown if len(shown) <= _MAX_VALUE_LENGTH else shown[: _MAX_VALUE_LENGTH - 1] + "…"


def rows_phrase(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"
