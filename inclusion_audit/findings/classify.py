"""Findings: turn a group's numbers into a status a reader can act on."""

from __future__ import annotations

from inclusion_audit.config import AuditConfig
from inclusion_audit.result import Status

# Shares are ratios of floats: 800/10,000 against 10% comes out at 0.7999…, and a
# group exactly at a threshold must not be flagged for the last bit of a double.
_TOLERANCE = 1e-9


def classify(
    ratio: float | None,
    p_value_adjusted: float | None,
    expected_count: float,
    config: AuditConfig,
) -> Status:
    """The status of one group.

    ``insufficient_data`` when fewer than ``min_expected`` participants would be
    expected (``n_known × population_share``), since one or two people then swing
    the ratio wildly. Otherwise the ratio picks the direction and the adjusted
    p-value decides between a firm and a possible finding.

    >>> classify(0.5, 0.01, 20.0, AuditConfig())
    <Status.UNDER: 'under'>
    >>> classify(0.5, 0.20, 20.0, AuditConfig())
    <Status.POSSIBLE_UNDER: 'possible_under'>
    >>> classify(0.5, 0.01, 4.0, AuditConfig())
    <Status.INSUFFICIENT_DATA: 'insufficient_data'>
    >>> classify((800 / 10_000) / 0.1, 0.001, 1000.0, AuditConfig())  # exactly 0.8
    <Status.OK: 'ok'>
    """
    if ratio is None or expected_count < config.min_expected or expected_count == 0:
        return Status.INSUFFICIENT_DATA
    significant = p_value_adjusted is not None and p_value_adjusted < config.alpha
    if ratio < config.under_threshold * (1 - _TOLERANCE):
        return Status.UNDER if significant else Status.POSSIBLE_UNDER
    if ratio > config.over_threshold * (1 + _TOLERANCE):
        return Status.OVER if significant else Status.POSSIBLE_OVER
    return Status.OK
