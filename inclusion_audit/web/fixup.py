"""The fix-up page: an officer says what columns and answers mean, and gets the report.

``POST /audit`` that stops at answers no category matches, or at a register
with no recognised column, or that finds a column it does not recognise that
probably holds a characteristic, keeps what the next step needs
(``web.kept``) and shows this page instead: each unrecognised column whose
answers look like a closed question's, with the characteristics it could hold
(closest first; "not a characteristic" always offered), and each unknown
answer with its row count and a choice of categories (the closest first; "not
an answer: count as unknown" always offered). ``POST /fixup`` either makes the
report with those choices (asking next about unknown answers in the chosen
columns), or downloads them as the mapping file the command line reads
(``audit --mapping``), to upload next time.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inclusion_audit import __version__
from inclusion_audit.web.forms import AuditForm

NOT_AN_ANSWER = "unplaceable"
"""The mapping file's word for an answer that is reported and counted in no group."""
IGNORE_COLUMN = "ignore"
"""The mapping file's word for a column that holds no characteristic."""

_KEPT_FILES = ("reference", "targets", "partners", "mapping", "event")


def fixup_material(
    register: Path,
    areas: list[str],
    eligible_age: str | None,
    reference: Path | None,
    targets: Path | None,
    mapping: Path | None,
    questions: Sequence[str] = (),
) -> dict[str, Any]:
    """What the fix-up keeps of a register, and the columns it asks about (in an audit process).

    Kept: every header, but the answers only of the columns the audit
    recognises (the shipped column names and the mapping's ``[columns]``), so
    names, contact details, postcodes and comments never are; of the
    unrecognised columns whose answers look like a closed question's
    (``reference.suggest.column_choices``), which the officer is asked about;
    and of the columns of ``questions`` to re-weight (not asked about), unless
    they look identifying or free text, which the weighting refuses anyway.
    The postcodes' places (by ward and deprivation decile) and the reported
    barriers are counted now (``audit.precount``), so the report made after the
    fix-up is the one a direct audit gives. Returns ``{"name", "csv",
    "columns", "precounted"}``: the kept CSV's file name and bytes, each column
    to ask about, and those counts, as JSON-able data.
    """
    import polars as pl

    from inclusion_audit.audit import precount
    from inclusion_audit.ingest.harmonise import assign_columns
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import collect, read_table
    from inclusion_audit.reference.sources import choose_reference
    from inclusion_audit.reference.suggest import column_choices
    from inclusion_audit.vocab.columns import guess_column
    from inclusion_audit.vocab.folding import column_key

    source, quotas = choose_reference(areas, eligible_age, reference, targets)
    table = read_table(register)
    user_mapping = read_mapping(mapping) if mapping else None
    quota_names = list(dict.fromkeys(q.characteristic for q in quotas))
    wanted = [*source.characteristic_names(), *quota_names]
    assigned = assign_columns(table.columns, wanted, user_mapping, source=table.name)
    by_key = {column_key(c): c for c in table.columns}
    asked = [
        column
        for question in questions
        if (column := question if question in table.columns else by_key.get(column_key(question)))
        is not None
        and guess_column(column).kind not in ("identifying", "free_text")
    ]
    offered = [
        choice
        for choice in column_choices(table, source, user_mapping, quota_names)
        if choice.column not in asked
    ]
    kept = {*(a.column for a in assigned.values()), *(c.column for c in offered), *asked}
    frame = collect(
        table,
        table.frame.select(
            [
                pl.col(c).cast(pl.String) if c in kept else pl.lit(None, pl.String).alias(c)
                for c in table.columns
            ]
        ),
    )
    out = io.BytesIO()
    frame.write_csv(out)
    return {
        "name": f"{Path(table.name).stem or 'register'}.csv",
        "csv": out.getvalue(),
        "columns": [
            {
                "column": choice.column,
                "suggestions": [dataclasses.asdict(s) for s in choice.suggestions],
                "choices": list(choice.choices),
            }
            for choice in offered
        ],
        "precounted": precount(table, source, user_mapping).to_dict(),
    }


def columns_to_ask(
    register: Path,
    areas: list[str],
    eligible_age: str | None,
    reference: Path | None,
    targets: Path | None,
    mapping: Path | None,
    questions: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Only the columns to ask about (for the API's 400), in an audit process."""
    material = fixup_material(register, areas, eligible_age, reference, targets, mapping, questions)
    columns: list[dict[str, Any]] = material["columns"]
    return columns


def record_for(
    form: AuditForm,
    material: dict[str, Any],
    files: dict[str, Path | None],
    unknown: list[dict[str, Any]],
) -> dict[str, Any]:
    """What is kept for the fix-up: JSON-able, to be encrypted."""
    kept_files = {
        name: {"name": path.name, "data": base64.b64encode(path.read_bytes()).decode("ascii")}
        for name in _KEPT_FILES
        if (path := files.get(name)) is not None
    }
    return {
        "form": dataclasses.asdict(form),
        "register": {
            "name": material["name"],
            "data": base64.b64encode(material["csv"]).decode("ascii"),
        },
        "files": kept_files,
        "unknown": unknown,
        "columns": material["columns"],
        "precounted": material["precounted"],
    }


def restore_files(record: dict[str, Any], folder: Path) -> dict[str, Path | None]:
    """Write a kept record's files into a request's folder; their paths by name."""
    paths: dict[str, Path | None] = dict.fromkeys(("register", *_KEPT_FILES))
    for name, item in [("register", record["register"]), *record["files"].items()]:
        (folder / name).mkdir()
        path = folder / name / Path(item["name"]).name
        path.write_bytes(base64.b64decode(item["data"]))
        paths[name] = path
    return paths


def restore_form(record: dict[str, Any]) -> AuditForm:
    return AuditForm(**record["form"])


def read_column_choices(
    columns: list[dict[str, Any]], fields: dict[str, str]
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each asked-about column's choice (a characteristic or ``ignore``), and errors by field id.

    One characteristic can be held by one column only: a second column chosen
    for it is an error on that column's field.
    """
    chosen: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    taken: dict[str, str] = {}
    for index, item in enumerate(columns):
        value = fields.get(f"column-{index}", "")
        field = f"column-{index}"
        if value == IGNORE_COLUMN:
            chosen[item["column"]] = value
        elif value in item["choices"]:
            chosen[item["column"]] = value
            if value in taken:
                errors[field] = (
                    f"The columns “{taken[value]}” and “{item['column']}” are both chosen as "
                    f"{characteristic_words(value)}: choose it for one column only."
                )
            taken.setdefault(value, item["column"])
        else:
            chosen[item["column"]] = None
            errors[field] = (
                f"Choose what the column “{item['column']}” holds, or choose "
                "“Not a characteristic: leave it out”."
            )
    return chosen, errors


def answers_asked(
    unknown: list[dict[str, Any]], columns: dict[str, str | None]
) -> list[tuple[int, dict[str, Any]]]:
    """The unknown answers still to decide, with their indexes: an answer of an asked-about
    column counts only while that column is still chosen as the same characteristic."""
    return [
        (index, item)
        for index, item in enumerate(unknown)
        if item["column"] not in columns or columns[item["column"]] == item["characteristic"]
    ]


def read_choices(
    unknown: list[dict[str, Any]],
    fields: dict[str, str],
    columns: dict[str, str | None] | None = None,
) -> tuple[dict[int, str | None], dict[str, str]]:
    """Each unknown answer's choice from the submitted fields by index, and errors by field id.

    Answers of a column no longer chosen as their characteristic are left out.
    """
    choices: dict[int, str | None] = {}
    errors: dict[str, str] = {}
    for index, item in answers_asked(unknown, columns or {}):
        value = fields.get(f"answer-{index}", "")
        if value == NOT_AN_ANSWER or value in item["categories"]:
            choices[index] = value
        else:
            choices[index] = None
            errors[f"answer-{index}"] = (
                f"Choose what {item['answer']!r} in the column {item['column']!r} means, "
                "or choose “not an answer: count as unknown”."
            )
    return choices, errors


def characteristic_words(name: str) -> str:
    """A characteristic's name in words ("ethnic group")."""
    return name.replace("_", " ")


def mapping_toml(
    unknown: list[dict[str, Any]],
    choices: dict[int, str | None],
    uploaded: bytes | None,
    columns: dict[str, str | None] | None = None,
) -> str:
    """The choices as a mapping file (``audit --mapping`` reads it), after any uploaded one.

    ``columns`` are the asked-about columns' choices (``[columns]``: a
    characteristic or ``"ignore"``), ``choices`` the unknown answers' by index.
    """
    from inclusion_audit.ingest.mapping import toml_string

    lines = [
        f"# Mapping file written by the inclusion-audit service {__version__}.",
        "# Upload it with the register next time (More options > Mapping file), or run",
        "# inclusion-audit audit REGISTER --mapping THIS_FILE.",
    ]
    old: dict[str, Any] = {}
    if uploaded:
        import tomllib

        old = tomllib.loads(uploaded.decode("utf-8-sig"))
    written: dict[str, str] = dict(old.get("columns", {}))
    written.update({k: v for k, v in (columns or {}).items() if v is not None})
    answers: dict[str, dict[str, str]] = {
        name: dict(table) for name, table in old.get("answers", {}).items()
    }
    for index, choice in choices.items():
        if choice is not None:
            item = unknown[index]
            answers.setdefault(item["characteristic"], {})[item["answer"]] = choice
    if written:
        lines += ["", "[columns]"]
        lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in written.items()]
    for name, table in answers.items():
        lines += ["", f"[answers.{toml_string(name)}]"]
        lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def render_fixup(
    token: str,
    record: dict[str, Any],
    *,
    fields: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    minutes: int,
) -> str:
    """The fix-up page: the asked-about columns, then the unknown answers still to decide.

    ``fields`` are the officer's submitted choices (kept on the page after an
    error); ``errors`` messages by field id, linked from the error summary.
    """
    from inclusion_audit.report.formatters import characteristic_title
    from inclusion_audit.report.render import environment

    fields = fields or {}
    columns = []
    for index, item in enumerate(record.get("columns", [])):
        suggested = [s["characteristic"] for s in item["suggestions"]]
        best = item["suggestions"][0] if item["suggestions"] else None
        columns.append(
            {
                "index": index,
                "column": item["column"],
                "best": best and {**best, "words": characteristic_words(best["characteristic"])},
                "closest": [
                    (s["characteristic"], characteristic_title(s["characteristic"]))
                    for s in item["suggestions"]
                ],
                "others": [
                    (name, characteristic_title(name))
                    for name in item["choices"]
                    if name not in suggested
                ],
                "chosen": fields.get(f"column-{index}", ""),
            }
        )
    current = {c["column"]: (c["chosen"] or None) for c in columns}
    items = []
    for index, item in answers_asked(record["unknown"], current):
        closest = [c for c in item["closest"] if c in item["categories"]]
        others = [c for c in item["categories"] if c not in closest]
        items.append(
            {
                **item,
                "index": index,
                "closest": closest,
                "others": others,
                "chosen": fields.get(f"answer-{index}", ""),
            }
        )
    template = environment().get_template("service/fixup.html")
    return template.render(
        token=token,
        columns=columns,
        items=items,
        errors=errors or {},
        notice=notice,
        register=record["register"]["name"],
        not_an_answer=NOT_AN_ANSWER,
        ignore_column=IGNORE_COLUMN,
        minutes=minutes,
        tool_version=__version__,
    )
