"""inclusion-audit: who are we not hearing from?

Compare the participants of an engagement event with Census 2021 figures for
the area, flag under-represented groups with honest statistics, and write
reports that recommend outreach.

The public API is small and imported lazily, so ``inclusion-audit --help``
never pays for polars or the report engines::

    from inclusion_audit import read_register, read_reference_csv, run_audit
    result = run_audit(read_register("register.csv"), read_reference_csv("ref.csv"))
    print(result.to_json())
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "AuditConfig": "config",
    "AuditResult": "result",
    "Status": "result",
    "audit_register": "audit",
    "run_audit": "audit",
    "read_register": "ingest.readers",
    "read_reference_csv": "reference.profiles",
    "CheckRules": "check.suite",
    "check_register": "check.suite",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    if name == "read_register":
        return importlib.import_module(".ingest.readers", __name__).read_table
    if name in _PUBLIC:
        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'inclusion_audit' has no attribute {name!r}")
