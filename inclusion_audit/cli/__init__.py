"""The ``inclusion-audit`` command line: thin, one module per command group.

Each module parses its options, calls the library and formats the output; none
holds logic of its own. ``app`` holds the group, error handling and exit codes;
importing this package registers every command on it. The CLI may import every
other package (it is the top layer, beside ``web``); nothing imports it.
"""

from __future__ import annotations

from inclusion_audit.cli import audit, check, history, mapping, reference, serve, weights
from inclusion_audit.cli.app import cli, main

__all__ = [
    "audit",
    "check",
    "cli",
    "history",
    "main",
    "mapping",
    "reference",
    "serve",
    "weights",
]
