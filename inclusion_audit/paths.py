"""Where the shipped data folders are: installed wheel first, then the repo checkout."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """The shipped ``report_templates/`` folder."""
    override = os.environ.get("INCLUSION_AUDIT_TEMPLATES")
    if override:
        return Path(override)
    installed = _PACKAGE / "_data" / "report_templates"
    return installed if installed.is_dir() else _PACKAGE.parent / "report_templates"


def reference_data_candidates() -> tuple[Path, Path]:
    """Where the shipped ``reference_data/`` may be: the installed wheel, then the checkout."""
    return _PACKAGE / "_data" / "reference_data", _PACKAGE.parent / "reference_data"


def shipped_reference_data() -> Path:
    """The shipped ``reference_data/`` folder, whatever ``$INCLUSION_AUDIT_REFERENCE_DATA`` says.

    For what is built there from the package's own files, which a Census
    directory chosen by the user need not hold.
    """
    installed, checkout = reference_data_candidates()
    return installed if installed.is_dir() else checkout
