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
    """

    confidence: float = 0.95
    correction: str = "bh"
    alpha: float = 0.05
    under_threshold: float = 0.8
    over_threshold: float = 1.25
    min_expected: float = 5.0

    def __post_init__(self) -> None:
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

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready mapping."""
        return asdict(self)
