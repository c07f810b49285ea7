"""The fix-up page: an officer says what unknown answers mean, and gets the report.

``POST /audit`` that stops at answers no category matches keeps what the next
step needs (``web.kept``) and shows this page instead of an error: each
unknown answer with its row count and a choice of categories (the closest
first; "not an answer: count as unknown" always offered). ``POST /fixup``
either makes the report with those choices, or downloads them as the mapping
file the command line reads (``audit --mapping``), to upload next time.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path
from typing import Any

from inclusion_audit import __version__
from inclusion_audit.web.forms import AuditForm

NOT_AN_ANSWER = "unplaceable"
"""The mapping file's word for an answer that is reported and counted in no group."""

_KEPT_FILES = ("reference", "targets", "partners", "mapping", "event")


def kept_register(
    register: Path,
    areas: list[str],
    eligible_age: str | None,
    reference: Path | None,
    targets: Path | None,
    mapping: Path | None,
) -> tuple[str, bytes]:
    """The register's characteristic columns only, as CSV (run in an audit process).

    Columns are chosen as the audit chooses them (the shipped column names and
    the mapping's ``[columns]``), so names, contact details, postcodes and
    comments are never kept. Returns the CSV's file name and bytes.
    """
    import polars as pl

    from inclusion_audit.ingest.harmonise import assign_columns
    from inclusion_audit.ingest.mapping import read_mapping
    from inclusion_audit.ingest.readers import collect, read_table
    from inclusion_audit.reference.sources import choose_reference

    source, quotas = choose_reference(areas, eligible_age, reference, targets)
    table = read_table(register)
    user_mapping = read_mapping(mapping) if mapping else None
    wanted = [*source.characteristic_names(), *dict.fromkeys(q.characteristic for q in quotas)]
    assigned = assign_columns(table.columns, wanted, user_mapping, source=table.name)
    columns = list(dict.fromkeys(a.column for a in assigned.values()))
    frame = collect(table, table.frame.select([pl.col(c).cast(pl.String) for c in columns]))
    out = io.BytesIO()
    frame.write_csv(out)
    return f"{Path(table.name).stem or 'register'}.csv", out.getvalue()


def record_for(
    form: AuditForm,
    register_name: str,
    register_csv: bytes,
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
            "name": register_name,
            "data": base64.b64encode(register_csv).decode("ascii"),
        },
        "files": kept_files,
        "unknown": unknown,
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


def read_choices(
    unknown: list[dict[str, Any]], fields: dict[str, str]
) -> tuple[list[str | None], dict[int, str]]:
    """Each unknown answer's choice from the submitted fields, and errors by answer index."""
    choices: list[str | None] = []
    errors: dict[int, str] = {}
    for index, item in enumerate(unknown):
        value = fields.get(f"answer-{index}", "")
        if value == NOT_AN_ANSWER or value in item["categories"]:
            choices.append(value)
        else:
            choices.append(None)
            errors[index] = (
                f"Choose what {item['answer']!r} in the column {item['column']!r} means, "
                "or choose “not an answer: count as unknown”."
            )
    return choices, errors


def mapping_toml(
    unknown: list[dict[str, Any]], choices: list[str | None], uploaded: bytes | None
) -> str:
    """The choices as a mapping file (``audit --mapping`` reads it), after any uploaded one."""
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
    columns: dict[str, str] = dict(old.get("columns", {}))
    answers: dict[str, dict[str, str]] = {
        name: dict(table) for name, table in old.get("answers", {}).items()
    }
    for item, choice in zip(unknown, choices, strict=True):
        if choice is not None:
            answers.setdefault(item["characteristic"], {})[item["answer"]] = choice
    if columns:
        lines += ["", "[columns]"]
        lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in columns.items()]
    for name, table in answers.items():
        lines += ["", f"[answers.{toml_string(name)}]"]
        lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def render_fixup(
    token: str,
    record: dict[str, Any],
    *,
    chosen: list[str | None] | None = None,
    errors: dict[int, str] | None = None,
    minutes: int,
) -> str:
    from inclusion_audit.report.render import environment

    unknown = record["unknown"]
    chosen = chosen or [None] * len(unknown)
    items = []
    for index, item in enumerate(unknown):
        closest = [c for c in item["closest"] if c in item["categories"]]
        others = [c for c in item["categories"] if c not in closest]
        items.append(
            {
                **item,
                "index": index,
                "closest": closest,
                "others": others,
                "chosen": chosen[index],
            }
        )
    template = environment().get_template("service/fixup.html")
    return template.render(
        token=token,
        items=items,
        errors=errors or {},
        register=record["register"]["name"],
        not_an_answer=NOT_AN_ANSWER,
        minutes=minutes,
        tool_version=__version__,
    )
