"""Findings: a status for every group, and whether a panel meets its quotas.

``classify`` turns a group's statistics into a status word under the audit's
thresholds; ``quotas`` counts a selected panel against its quota file.

Imports: ``vocab``, ``ingest``, ``reference``, ``stats`` and the base modules.
"""
