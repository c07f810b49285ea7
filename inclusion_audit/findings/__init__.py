"""Findings: a status for every group, and whether a panel meets its quotas.

``verdicts`` turns each group's counts into a status with the test and the
interval it comes from, one method for audits and reviews (issue 12);
``quotas`` counts a selected panel against its quota file.

Imports: ``vocab``, ``ingest``, ``reference``, ``stats`` and the base modules.
"""
