"""Findings: turn a group's numbers into a status a reader can act on."""

from __future__ import annotations

from .config import AuditConfig
from .result import Status


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
    """
    if ratio is None or expected_count < config.min_expected or expected_count == 0:
        return Status.INSUFFICIENT_DATA
    significant = p_value_adjusted is not None and p_value_adjusted < config.alpha
    if ratio < config.under_threshold:
        return Status.UNDER if significant else Status.POSSIBLE_UNDER
    if ratio > config.over_threshold:
        return Status.OVER if significant else Status.POSSIBLE_OVER
    return Status.OK
