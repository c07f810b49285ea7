"""Mapping files: a user's reviewable say over columns and answers.

``inclusion-audit mapping suggest`` writes one; ``audit --mapping`` applies it on
top of the built-in knowledge. It is TOML, so it can be read, commented and kept
under version control next to the register's export settings::

    [columns]
    "What is your ethnic group?" = "ethnic_group"
    "Comments" = "ignore"

    [answers.ethnic_group]
    "White British" = "White: English, Welsh, Scottish, Northern Irish or British"
    "BAME" = "unplaceable"
    "Whte Britsh" = ""   # TODO

An answer's value is a category, ``"unplaceable"`` (reported, not counted in
any group), ``"declined"`` (counted with "prefer not to say"), or ``""``: not
decided yet, which stops the audit until it is filled in.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from pathlib import Path

from inclusion_audit.errors import InputError
from inclusion_audit.ingest.limits import MAX_NESTING, nesting_depth, too_large_to_read_whole
from inclusion_audit.vocab.answer_keys import answer_key

IGNORE = "ignore"
UNPLACEABLE = "unplaceable"
DECLINED = "declined"
TODO = ""


class MappingFileError(InputError):
    """A mapping file cannot be read or holds something the audit cannot use."""


@dataclass(frozen=True)
class UserMapping:
    """Columns and answers as the user decided them, keyed for lookup.

    ``columns`` maps a register header to a characteristic or ``"ignore"``;
    ``answers`` maps a characteristic to {normalised answer: decision}.
    """

    columns: dict[str, str] = field(default_factory=dict)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = ""

    def column_for(self, header: str) -> str | None:
        """The user's choice for a header, if any."""
        return self.columns.get(header)

    def answer_for(self, characteristic: str, answer: str) -> str | None:
        """The user's decision for an answer (None when the file does not say)."""
        return self.answers.get(characteristic, {}).get(answer_key(answer))


def read_mapping(path: str | Path) -> UserMapping:
    """Read and check a mapping file."""
    # Deferred: tomllib takes 1.5 ms to import, and most audits have no mapping file.
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise MappingFileError(f"mapping file {path} does not exist. Check the path.")
    if (too_large := too_large_to_read_whole(path)) is not None:
        raise MappingFileError(f"mapping file {path}: {too_large}.")
    try:
        text = path.read_text(encoding="utf-8-sig")
        if nesting_depth(text) > MAX_NESTING:
            raise MappingFileError(
                f"mapping file {path} nests lists or tables more than {MAX_NESTING} levels "
                "deep; a mapping file has [columns] and [answers.<question>] tables of "
                '"text" = "text" lines. Write a new one with `inclusion-audit mapping suggest`.'
            )
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MappingFileError(
            f"mapping file {path} is not valid TOML ({error}). Fix that line, or write a new "
            "one with `inclusion-audit mapping suggest`."
        ) from error
    except RecursionError:
        raise MappingFileError(
            f"mapping file {path} nests lists or tables too deeply. Write a new one with "
            "`inclusion-audit mapping suggest`."
        ) from None
    unknown = set(data) - {"columns", "answers"}
    if unknown:
        raise MappingFileError(
            f"mapping file {path} has unknown section(s) {', '.join(sorted(unknown))}; "
            "only [columns] and [answers.<characteristic>] are read."
        )
    columns = data.get("columns", {})
    answers = data.get("answers", {})
    if not isinstance(columns, dict) or not isinstance(answers, dict):
        raise MappingFileError(f"mapping file {path}: [columns] and [answers] must be tables.")
    for header, value in columns.items():
        if not isinstance(value, str) or not value:
            raise MappingFileError(
                f"mapping file {path}: column {header!r} = {value!r}; give a characteristic "
                f"name or {IGNORE!r}."
            )
    folded: dict[str, dict[str, str]] = {}
    for characteristic, table in answers.items():
        if not isinstance(table, dict):
            raise MappingFileError(
                f"mapping file {path}: [answers.{characteristic}] must be a table of "
                '"answer" = "category" lines.'
            )
        for answer, value in table.items():
            if not isinstance(value, str):
                raise MappingFileError(
                    f"mapping file {path}: answer {answer!r} under {characteristic} = {value!r}; "
                    "give a category in quotes."
                )
            folded.setdefault(characteristic, {})[answer_key(answer)] = value
    return UserMapping(columns=dict(columns), answers=folded, source=path.name)


def check_decisions(mapping: UserMapping, categories: MappingType[str, list[str]]) -> None:
    """Every decided answer must name a category of its characteristic (or a keyword)."""
    for characteristic, decisions in mapping.answers.items():
        allowed = categories.get(characteristic)
        if allowed is None:
            continue
        for answer, value in decisions.items():
            if value in (TODO, UNPLACEABLE, DECLINED) or value in allowed:
                continue
            shown = ", ".join(repr(c) for c in allowed[:8])
            raise MappingFileError(
                f"mapping file {mapping.source}: under [answers.{characteristic}], {answer!r} "
                f"maps to {value!r}, which is not one of its categories ({shown}…). Use a "
                f"category exactly as written, {UNPLACEABLE!r} or {DECLINED!r}."
            )


def toml_string(text: str) -> str:
    """A TOML basic string, with quotes, backslashes and control characters escaped.

    >>> toml_string('He said "hi"\\n')
    '"He said \\\\"hi\\\\"\\\\n"'
    """
    escaped = []
    for char in text:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
