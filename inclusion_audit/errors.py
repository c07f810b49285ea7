"""Named exceptions raised by the library.

Library code raises these; only the CLI and web layers turn them into messages
and exit codes. Every message is a full sentence naming the file, row or column,
the offending value and how to fix it.
"""

from __future__ import annotations


class InclusionAuditError(Exception):
    """Base class for every error the library raises on purpose."""


class InputError(InclusionAuditError):
    """The user's input (file, column, value or option) cannot be used."""


class FileReadError(InputError):
    """A file cannot be opened or parsed as a table."""


class RegisterError(InputError):
    """The participant register cannot be read or audited."""


class ReferenceFileError(InputError):
    """A reference population file is malformed."""


class NothingToAuditError(RegisterError):
    """No register column answers any characteristic the reference has, so nothing is
    compared (the service then asks what its unrecognised columns hold)."""


class UnknownValuesError(RegisterError):
    """Register answers that match no reference category.

    ``unknown`` lists each one for a program (the service's structured 400 and
    its fix-up page): ``{"column", "answer", "count", "first_row", "closest",
    "categories"}``, most frequent first within each column.
    """

    def __init__(self, message: str, unknown: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.unknown = unknown or []


class AreaNotFoundError(InputError):
    """An area name or code matches no Census area, or matches several."""


class EligibleAgeError(InputError):
    """An eligible-age specification such as ``18+`` cannot be parsed."""


class ReferenceDataError(InclusionAuditError):
    """The shipped reference data is missing or fails its checksum."""


class MissingExtraError(InclusionAuditError):
    """A command needs an optional part of inclusion-audit that is not installed.

    The core install audits and writes JSON, CSV, Markdown and HTML; PDF reports,
    ``check`` and ``serve`` each need an extra (``pip install 'inclusion-audit[pdf]'``).
    """

    @classmethod
    def for_extra(cls, extra: str, needs: str) -> MissingExtraError:
        """The error for ``needs`` (e.g. "PDF output needs WeasyPrint"), naming the install line.

        >>> error = MissingExtraError.for_extra("pdf", "PDF output needs WeasyPrint")
        >>> "not installed. Install it with: pip install 'inclusion-audit[pdf]'" in str(error)
        True
        """
        return cls(
            f"{needs}, which is not installed. Install it with: pip install "
            f"'inclusion-audit[{extra}]' (or 'inclusion-audit[all]' for every extra)."
        )


def require_modules(extra: str, needs: str, *modules: str) -> None:
    """Raise ``MissingExtraError`` unless every module can be imported (without importing it)."""
    from importlib.util import find_spec

    if any(find_spec(module) is None for module in modules):
        raise MissingExtraError.for_extra(extra, needs)
