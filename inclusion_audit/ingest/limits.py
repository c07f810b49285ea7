"""Hard limits on what the tool reads, checked before the work starts.

A file past one of these is refused with a message (exit 2 on the command
line, 400 or 413 in the service) instead of being read. Each limit is far
beyond any genuine engagement register or hand-written file, and low enough
that a few hundred hostile bytes cannot cost gigabytes of memory or minutes of
CPU.

========================  ==========  ==================================================
limit                     value       why
========================  ==========  ==================================================
``MAX_COLUMNS``           2,000       a form export has tens of questions
``MAX_HEADER_CHARS``      4,096       a question's full wording fits many times over
``MAX_ANSWER_CHARS``      1,000       a longer answer in an audited column is no
                                      category: it is reported, never compared
``MAX_UNPACKED_BYTES``    1 GiB       a spreadsheet's unpacked contents (a 7.7 MB
                                      ``.xlsx`` can unpack to 50 million rows; a 3 MB
                                      ``.xls`` whose cells share one long text, to 6 GB)
``MAX_ROWS``              20,000,000  rows of a Parquet file (Excel stops at 1,048,576)
``MAX_ROW_GROUPS``        10,000      row groups of a Parquet file (writers make one per
                                      100,000s of rows; each costs a read)
``MAX_PARQUET_BYTES``     16 GiB      a Parquet file's uncompressed data; each row group
                                      at most ``MAX_UNPACKED_BYTES``, since it is read whole
``MAX_SMALL_FILE_BYTES``  16 MiB      event, mapping, partner and reference files,
                                      which are read whole
``MAX_NESTING``           32          lists and tables inside one another in an event
                                      or mapping file (YAML, JSON or TOML)
========================  ==========  ==================================================
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_COLUMNS = 2_000
MAX_HEADER_CHARS = 4_096
MAX_ANSWER_CHARS = 1_000
MAX_UNPACKED_BYTES = 1024**3
MAX_ROWS = 20_000_000
MAX_ROW_GROUPS = 10_000
MAX_PARQUET_BYTES = 16 * 1024**3
MAX_SMALL_FILE_BYTES = 16 * 1024**2
MAX_NESTING = 32

_BRACKETS = re.compile(r"""[\[\]{}"'\\\n#]""")


def too_large_to_read_whole(path: Path) -> str | None:
    """Why a file read whole (event, mapping, partners, reference) is refused, or None.

    The reason names the size and the limit, ``MAX_SMALL_FILE_BYTES``; the
    caller raises its own error with it.
    """
    try:
        size = path.stat().st_size
    except OSError:
        return None  # the reader says what is wrong with a missing file
    if size <= MAX_SMALL_FILE_BYTES:
        return None
    return (
        f"it is {size / 1024**2:,.0f} MB, more than the {MAX_SMALL_FILE_BYTES // 1024**2} MB "
        "such a file may be: check it is the right file"
    )


def nesting_depth(text: str, limit: int = MAX_NESTING) -> int:
    """How deeply ``[`` and ``{`` nest in JSON or TOML text, counted up to ``limit + 1``.

    Brackets inside quoted strings and TOML comments do not count. Counting
    stops just past the limit, so a file of a million ``[`` costs no more to
    refuse than one of ``limit``.

    >>> nesting_depth('{"a": [1, {"b": "[[["}]}  # [[[[')
    3
    """
    depth = deepest = 0
    quote: str | None = None
    comment = escaped = False
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if comment:
            comment = char != "\n"
        elif quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                # Only a character the search stops at can be escaped here.
                escaped = _BRACKETS.match(text, match.end()) is not None
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in "]}":
            depth -= 1
    return deepest
