"""Audit settings: thresholds, confidence and multiple-comparison correction."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from inclusion_audit.errors import InputError

CORRECTIONS = ("bh", "holm", "none")


DEFAULT_THRESHOLD = 5
"""Counts from 1 to this minus one are hidden in shared reports (``--suppress-below``)."""


class ConfigError(InputError):
    """An audit setting is out of range."""


@dataclass(frozen=True)
class AuditConfig:
    """How groups are tested and labelled.

    The defaults follow the domain brief: the four-fifths rule (ratio below
    0.8) and its mirror image (above 1.25) as effect-size thresholds, paired
    with a Benjamini-Hochberg adjusted exact binomial test at 5%, and no
    verdict where fewer than 5 participants would be expected.

    ``alpha`` is always ``1 − confidence``: a verdict is firm when the interval
    printed beside it leaves out parity, so the two cannot be set apart. Give
    either (the other follows; NaN, the default, means "not given"); giving
    both with ``alpha ≠ 1 − confidence`` raises ``ConfigError``.
    """

    confidence: float = math.nan
    correction: str = "bh"
    alpha: float = math.nan
    under_threshold: float = 0.8
    over_threshold: float = 1.25
    min_expected: float = 5.0

    def __post_init__(self) -> None:
        self._tie_alpha_to_confidence()
        for name in ("confidence", "alpha", "under_threshold", "over_threshold", "min_expected"):
            value = getattr(self, name)
            if not math.isfinite(value):
                option = "--" + name.replace("_", "-")
                raise ConfigError(f"{option} {value} is not a finite number: give a number.")
        if not 0 < self.confidence < 1:
            raise ConfigError(
                f"--confidence {self.confidence} is out of range: give a level between 0 and 1, "
                "such as 0.95."
            )
        if self.correction not in CORRECTIONS:
            raise ConfigError(
                f"--correction {self.correction!r} is not known: "
                f"use one of {', '.join(CORRECTIONS)}."
            )
        if not 0 < self.alpha < 1:
            raise ConfigError(f"--alpha {self.alpha} is out of range: give a level such as 0.05.")
        if not 0 < self.under_threshold < 1:
            raise ConfigError(
                f"--under-threshold {self.under_threshold} is out of range: give a ratio "
                "between 0 and 1, such as 0.8."
            )
        if self.over_threshold <= 1:
            raise ConfigError(
                f"--over-threshold {self.over_threshold} is out of range: give a ratio above 1, "
                "such as 1.25."
            )
        if self.min_expected < 0:
            raise ConfigError(
                f"--min-expected {self.min_expected} is negative: give a count such as 5."
            )

    def _tie_alpha_to_confidence(self) -> None:
        confidence, alpha = self.confidence, self.alpha
        if math.isnan(confidence) and math.isnan(alpha):
            confidence, alpha = 0.95, 0.05
        elif math.isnan(alpha):
            alpha = round(1 - confidence, 12)  # 0.1, not 0.09999999999999998
        elif math.isnan(confidence):
            confidence = round(1 - alpha, 12)
        elif math.isfinite(confidence) and math.isfinite(alpha):
            if abs(alpha - (1 - confidence)) > 1e-9:
                raise ConfigError(
                    f"--alpha {alpha} and --confidence {confidence} disagree: a finding is firm "
                    "when the interval printed beside it leaves out parity, so alpha is "
                    "1 − confidence. Give only one of them (e.g. --confidence 0.99 alone)."
                )
            alpha = round(1 - confidence, 12)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "alpha", alpha)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready mapping."""
        return asdict(self)


class ArrangementError(InputError):
    """``serve`` was asked to serve a store in a way that anyone could use."""


def check_service_arrangement(
    has_store: bool,
    token: str | None,
    user_header: str | None,
    host: str | None,
    unix_socket: bool,
) -> None:
    """Refuse a served store without a sign-in token, and a trusted user header on an
    address others can reach (anyone could send the header there).

    >>> check_service_arrangement(True, "s" * 20, "X-Forwarded-User", "127.0.0.1", False)
    >>> try:
    ...     check_service_arrangement(True, None, None, "127.0.0.1", False)
    ... except ArrangementError as error:
    ...     print(str(error)[:25])
    --store needs --token (or
    """
    if not has_store:
        if token or user_header:
            raise ArrangementError("--token and --user-header are for --store: give a store.")
        return
    if not token:
        raise ArrangementError(
            "--store needs --token (or INCLUSION_AUDIT_TOKEN): every history page and API "
            "call must be signed in. Make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'"
        )
    if len(token) < 16:
        raise ArrangementError("--token is too short to be secret: give 16 characters or more.")
    if user_header and not (unix_socket or _loopback(host)):
        raise ArrangementError(
            f"--user-header {user_header} trusts whoever sends that header, so the service "
            "must listen only where its reverse proxy can reach it: on loopback (--host "
            f"127.0.0.1) or a Unix socket (--uds), not {host}."
        )


def _loopback(host: str | None) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
