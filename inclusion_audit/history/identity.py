"""What an event is known by in a store: the answers in its own rows.

Two registers are the same event exactly when their rows give the same answers
to the audited characteristics, whatever the file is called, the order of its
rows or columns, or the columns it has besides. The March and April registers
of a monthly forum, with the same file name and the same counts, are different
people, so their rows differ and both are kept; the same register added again,
renamed or re-sorted, is refused.

``answer_rows`` gives the canonical text the store digests
(``Store.content_fingerprint``): per row, the written answer to each audited
characteristic (trimmed, in lower case, runs of spaces as one), in the order of
the characteristics' names; the rows sorted, so their order does not count. It
reads only the columns of people's own characteristics (age, sex, ethnic
group...): never names, contact details, postcodes or free text, and never the
deprivation decile or ward a postcode gives.

Why the store's digest cannot be turned back into answers: it is an HMAC-SHA-256
keyed by the store's random 256-bit salt, so without the store's file nobody can
even test a guess; and with it, a guess must name every answer of every row of
the event at once. The store already holds the event's counts, which say more
than a confirmed guess could.
"""

from __future__ import annotations

import polars as pl

from inclusion_audit.ingest.readers import Table, collect
from inclusion_audit.reference.geography import PLACES
from inclusion_audit.result import AuditResult

_SEPARATOR = "\x1f"


def answer_rows(table: Table, result: AuditResult, event: str | None = None) -> bytes | None:
    """The canonical text of the rows' answers (module notes); None when the audit read
    no characteristic of people's own (a register of postcodes only).

    ``event`` names the event of a multi-event register: its name is part of its rows.
    For rows ``(Name "B", Age "34 ")`` and ``(Name "A", Age "71")`` with age audited
    from ``Age`` the text is ``"age\n34\n71"``: the names are not read.
    """
    columns: dict[str, str] = {}
    for characteristic in result.characteristics:
        if characteristic.name not in PLACES and characteristic.column in table.columns:
            columns.setdefault(characteristic.name, characteristic.column)
    if not columns:
        return None
    names = sorted(columns)
    answers = [
        pl.col(columns[name])
        .cast(pl.String)
        .fill_null("")
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"\s+", " ")
        for name in names
    ]
    rows = collect(
        table,
        table.frame.select(pl.concat_str(answers, separator=_SEPARATOR).alias("row")).sort("row"),
    )["row"]
    header = _SEPARATOR.join(names)
    if event is not None:
        header = f"event{_SEPARATOR}{event}\n{header}"
    body = rows.str.join("\n").item() if len(rows) else ""
    return f"{header}\n{body}".encode()
