"""History: the store of past audits and the quarterly review built on it.

``store`` keeps each ``AuditResult``'s aggregates in SQLite (with versioned
migrations), ``result_file`` checks a saved ``audit.json``, ``review`` pools
stored events into a ``ReviewResult``, and ``render`` writes the review report
through the report layer.

Imports: every layer below (``vocab`` … ``report``, and ``audit``) and the base
modules; beside ``check``, which it does not import.
"""
