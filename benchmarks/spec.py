"""What every benchmark script agrees on: the register's columns, area, sizes and paths.

Standard library only, so importing it costs nothing in a timed process.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "data"

AREA = "Lambeth"
ELIGIBLE_AGE = "16+"
REFERENCE_FILE = "reference-lambeth-16plus.csv"
DECLINED = "Prefer not to say"

# Characteristic -> register header, as a form would export it; the audit folds
# "Ethnic group" to ethnic_group.
HEADERS = {
    "age": "Age",
    "sex": "Sex",
    "ethnic_group": "Ethnic group",
    "disability": "Disability",
    "religion": "Religion",
    "sexual_orientation": "Sexual orientation",
}
CHARACTERISTICS = tuple(HEADERS)


def parse_size(text: str) -> int:
    """'10k' -> 10_000, '1m' -> 1_000_000, '2500' -> 2500.

    >>> parse_size("10k"), parse_size("1m"), parse_size("2500")
    (10000, 1000000, 2500)
    """
    text = text.strip().lower().replace("_", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1_000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    value = float(text) * factor
    if value < 1 or value != int(value):
        raise ValueError(f"not a row count: {text!r}")
    return int(value)


def size_label(rows: int) -> str:
    """1_000_000 -> '1m', 10_000 -> '10k', 2500 -> '2500'."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def register_path(data_dir: Path, rows: int, file_format: str) -> Path:
    """Where the register of this size and format lives."""
    return data_dir / f"register-{size_label(rows)}.{file_format}"
