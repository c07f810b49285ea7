"""Render an ``AuditResult`` as JSON, HTML, Markdown or PDF.

Renderers read the result and nothing else. HTML and Markdown come from the
Jinja2 templates in ``report_templates/`` (overridable with a template folder);
the PDF is the HTML report typeset by WeasyPrint, imported only when a PDF is
asked for because it takes most of a second to load.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inclusion_audit.errors import InputError, require_modules
from inclusion_audit.paths import templates_dir
from inclusion_audit.report.disclosure import DEFAULT_THRESHOLD, suppress_small_counts
from inclusion_audit.result import AuditResult

if TYPE_CHECKING:
    from jinja2 import Environment
    from jinja2.bccache import Bucket, BytecodeCache

FORMATS = ("json", "html", "md", "pdf", "csv")
FILE_NAMES = {
    "json": "audit.json",
    "html": "report.html",
    "md": "report.md",
    "pdf": "report.pdf",
    "csv": "groups.csv",
}


@dataclass(frozen=True)
class RenderOptions:
    """Choices that change how a report looks, not what the audit found."""

    template_dir: Path | None = None
    title: str | None = None
    suppress_below: int = DEFAULT_THRESHOLD
    internal: bool = False
    json_indent: int | None = 2
    """The JSON's indentation; ``None`` writes it compact (the service's answers)."""


@functools.lru_cache(maxsize=8)
def environment(template_dir: Path | None = None) -> Environment:
    """The Jinja2 environment: user templates first, then the shipped ones.

    A council template can extend a shipped one of the same name through the
    ``default:`` prefix, e.g. ``{% extends "default:base.html" %}``.

    One environment per template folder and process, so a template is compiled
    once (the service renders many reports; ``--event-column`` one per event);
    Jinja2 still reloads a template whose file changed.
    """
    # Deferred: a JSON or CSV result never needs Jinja2 (30 ms to import).
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        PrefixLoader,
        StrictUndefined,
        select_autoescape,
    )

    from inclusion_audit.report.formatters import FILTERS

    shipped = FileSystemLoader(templates_dir())
    loaders: list[FileSystemLoader | PrefixLoader] = []
    if template_dir is not None:
        loaders.append(FileSystemLoader(template_dir))
    loaders += [shipped, PrefixLoader({"default": shipped}, delimiter=":")]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Only the shipped templates are kept compiled between runs: a council's own
        # templates stay where the council put them.
        bytecode_cache=_shipped_bytecode_cache() if template_dir is None else None,
    )
    env.filters.update(FILTERS)
    return env


def _shipped_bytecode_cache() -> BytecodeCache | None:
    """The shipped templates' compiled code, kept between processes.

    Compiling the report's eleven templates took ~0.2 s of every HTML or PDF report
    (more than rendering them). Jinja2's own file cache keeps the code in a folder of
    the temporary directory that only this user may read or write (it refuses any
    other), checks each template's source against it, and ignores a file it cannot
    read. The names carry the Jinja2 and package versions, because the code depends
    on both. Any failure here or later only means compiling as before.
    """
    import jinja2
    from jinja2 import FileSystemBytecodeCache

    from inclusion_audit import __version__

    class QuietCache(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Bucket) -> None:
            with contextlib.suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    tag = re.sub(r"[^0-9A-Za-z.]", "_", f"{__version__}-jinja{jinja2.__version__}")
    try:
        return QuietCache(pattern=f"inclusion-audit-{tag}-%s.cache")
    except (OSError, RuntimeError):
        # RuntimeError: Jinja2 found no temporary folder it considers safe.
        return None


def render(result: AuditResult, file_format: str, options: RenderOptions | None = None) -> bytes:
    """The result in one format, as bytes ready to write."""
    options = options or RenderOptions()
    if file_format == "json":
        return result.to_json(indent=options.json_indent).encode("utf-8")
    if file_format == "html":
        return render_html(result, options).encode("utf-8")
    if file_format == "md":
        return _render_template("report.md", result, options).encode("utf-8")
    if file_format == "pdf":
        return html_to_pdf(render_html(result, options), options.template_dir)
    if file_format == "csv":
        return groups_csv(result, options).encode("utf-8-sig")
    raise ValueError(f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}")


def render_formats(
    result: AuditResult, formats: Sequence[str], options: RenderOptions | None = None
) -> dict[str, bytes]:
    """Several formats at once; the HTML report is rendered once for HTML and PDF."""
    options = options or RenderOptions()
    rendered: dict[str, bytes] = {}
    if "html" in formats or "pdf" in formats:
        html = render_html(result, options)
        if "html" in formats:
            rendered["html"] = html.encode("utf-8")
        if "pdf" in formats:
            rendered["pdf"] = html_to_pdf(html, options.template_dir)
    for file_format in formats:
        if file_format not in rendered:
            rendered[file_format] = render(result, file_format, options)
    return rendered


def render_html(result: AuditResult, options: RenderOptions) -> str:
    """The HTML report."""
    return _render_template("report.html", result, options)


GROUP_COLUMNS = (
    "characteristic",
    "category",
    "count",
    "share",
    "share_ci_low",
    "share_ci_high",
    "population_count",
    "population_share",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "p_value",
    "p_value_adjusted",
    "status",
    "shortfall",
    "suppressed",
)


def groups_csv(result: AuditResult, options: RenderOptions) -> str:
    """Every group of every characteristic as one table, for spreadsheets.

    Disclosure control applies as in the reports (hidden values are empty
    cells), and text cells that a spreadsheet would run as a formula are
    defused with a leading apostrophe. Written with a BOM so Excel reads UTF-8.
    """
    threshold = 0 if options.internal else options.suppress_below
    shown = suppress_small_counts(result.to_dict(), threshold)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GROUP_COLUMNS)
    for characteristic in shown["characteristics"]:
        for group in characteristic["groups"]:
            row = {"characteristic": characteristic["name"], **group}
            writer.writerow([_csv_cell(row.get(column)) for column in GROUP_COLUMNS])
    return buffer.getvalue()


def _csv_cell(value: object) -> object:
    """Empty for null; text that starts like a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def html_to_pdf(html: str, template_dir: Path | None = None) -> bytes:
    """Typeset an HTML report as a tagged PDF/UA-1 document on A4.

    Relative links (a council's logo, say) resolve against the user's template
    folder when there is one, else the shipped templates.
    """
    require_modules("pdf", "PDF output needs WeasyPrint", "weasyprint")
    # Deferred: WeasyPrint takes ~0.4 s to import (0.7 s with its own library search).
    from inclusion_audit.report.weasy import import_weasyprint

    weasyprint = import_weasyprint()
    base_url = str(template_dir or templates_dir()) + "/"
    pdf: bytes = weasyprint.HTML(string=html, base_url=base_url).write_pdf(pdf_variant="pdf/ua-1")
    return pdf


def _render_template(name: str, result: AuditResult, options: RenderOptions) -> str:
    from jinja2 import TemplateSyntaxError

    from inclusion_audit.report.context import build_context

    context = build_context(
        result,
        title=options.title,
        suppress_below=options.suppress_below,
        internal=options.internal,
    )
    try:
        template = environment(options.template_dir).get_template(name)
        return template.render(**context.as_dict())
    except Exception as error:
        # A council's own template can fail in any way (a syntax error, a division
        # by zero, a file saved in the wrong encoding): that is bad input, not a bug.
        if options.template_dir is None:
            raise
        where = (
            f" ({error.filename}, line {error.lineno})"
            if isinstance(error, TemplateSyntaxError)
            else ""
        )
        raise TemplateRenderError(
            f"the templates in {options.template_dir} could not be rendered{where}: "
            f"{type(error).__name__}: {error}. Fix the template, or leave out --template-dir "
            "to use the shipped ones."
        ) from error


class TemplateRenderError(InputError):
    """A user's template (from a template folder) fails to load or render."""
