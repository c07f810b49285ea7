"""Weight a register to a population: the order of the steps, as ``audit.py`` has the audit's.

read → harmonise (exactly as the audit does, through ``prepare_register``) →
codes per participant → rake (``stats.weighting``) → weights in register order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from inclusion_audit.audit import columns_read, prepare_register
from inclusion_audit.errors import InputError
from inclusion_audit.ingest.harmonise import AnswerPlacer
from inclusion_audit.ingest.mapping import UserMapping
from inclusion_audit.ingest.readers import OVERFLOW_COLUMN, Table, collect
from inclusion_audit.ingest.validate import check_has_rows, check_unmatched
from inclusion_audit.reference.profiles import (
    NotAvailable,
    ReferenceCharacteristic,
    ReferenceSource,
)
from inclusion_audit.stats import weighting
from inclusion_audit.vocab.columns import find_id_column
from inclusion_audit.vocab.folding import column_key

ROW_COLUMN = "row"
"""The identifier column written when the register has none: its row as messages number it."""


class WeightingError(InputError):
    """The weights cannot be computed from what was given."""


@dataclass(frozen=True)
class Collapse:
    """Categories of one characteristic weighted as one (``--collapse 'age:65-74|75+'``)."""

    characteristic: str
    categories: tuple[str, ...]

    @property
    def label(self) -> str:
        """The merged category's name, e.g. ``65-74 or 75+``."""
        return " or ".join(self.categories)


def parse_collapse(text: str) -> Collapse:
    """Read ``CHARACTERISTIC:CATEGORY|CATEGORY[|...]``.

    >>> parse_collapse("age:65-74|75+")
    Collapse(characteristic='age', categories=('65-74', '75+'))
    """
    name, sep, rest = text.partition(":")
    parts = tuple(p.strip() for p in rest.split("|"))
    if not sep or not name.strip() or len(parts) < 2 or not all(parts):
        raise WeightingError(
            f"--collapse {text!r}: write it as CHARACTERISTIC:CATEGORY|CATEGORY, e.g. "
            "--collapse 'age:65-74|75+'."
        )
    return Collapse(name.strip(), parts)


@dataclass(frozen=True)
class WeightSettings:
    """How to weight: which characteristics, and the raking's limits."""

    characteristics: tuple[str, ...]
    max_iterations: int = weighting.DEFAULT_MAX_ITERATIONS
    tolerance: float = weighting.DEFAULT_TOLERANCE
    trim_ratio: float | None = None
    collapse: tuple[Collapse, ...] = ()


@dataclass
class RegisterWeights:
    """Weights for every participant, in register order, with what they rest on."""

    register: str
    reference: str
    id_column: str
    identifiers: pl.Series
    raking: weighting.Raking
    margins: list[weighting.Margin]
    settings: WeightSettings
    bases: dict[str, str]

    def to_frame(self) -> pl.DataFrame:
        """The weights file: the identifier column and ``weight``, one row per participant."""
        return pl.DataFrame({self.id_column: self.identifiers, "weight": self.raking.weights})

    def diagnostics(self) -> dict[str, Any]:
        """Everything printed and in ``--format json``; no identifier, no single row."""
        r = self.raking
        weights = r.weights
        return {
            "register": self.register,
            "reference": self.reference,
            "n_participants": r.n,
            "characteristics": [
                {
                    "name": m.name,
                    "base": self.bases.get(m.name),
                    "categories": list(m.categories),
                }
                for m in self.margins
            ],
            "settings": {
                "max_iterations": self.settings.max_iterations,
                "tolerance": self.settings.tolerance,
                "trim_ratio": self.settings.trim_ratio,
                "collapse": [
                    {"characteristic": c.characteristic, "categories": list(c.categories)}
                    for c in self.settings.collapse
                ],
            },
            "convergence": {
                "converged": r.converged,
                "iterations": r.iterations,
                "largest_margin_error": r.largest_margin_error,
            },
            "effective_sample_size": r.effective_sample_size,
            "design_effect": r.design_effect,
            "weights": {
                "mean": float(weights.mean()),
                "min": float(weights.min()),
                "max": float(weights.max()),
                "percentiles": r.percentiles(),
            },
            "trimming": {
                "trim_ratio": r.trim_ratio,
                "applied": r.trim_ratio is not None,
                "participants_capped": r.trimmed,
                "reraked_after_trimming": r.trim_ratio is not None,
            },
            "margins": [
                {
                    "characteristic": f.characteristic,
                    "category": f.category,
                    "participants": f.participants,
                    "population_share": f.population_share,
                    "unweighted_share": f.unweighted_share,
                    "weighted_share": f.weighted_share,
                    "error": f.error,
                }
                for f in r.fits
            ],
            "balance": [
                {
                    "characteristic": b.name,
                    "asmd_before": b.asmd_before,
                    "asmd_after": b.asmd_after,
                    "unknown": b.unknown,
                    "unknown_share": b.unknown_share,
                    "unknown_share_weighted": b.unknown_share_weighted,
                }
                for b in r.balance
            ],
            "warnings": [
                {
                    "code": w.code,
                    "message": w.message,
                    "characteristic": w.characteristic,
                    "category": w.category,
                }
                for w in r.warnings
            ],
        }


class _Only:
    """A reference narrowed to the characteristics asked for, with categories collapsed."""

    def __init__(
        self, reference: ReferenceSource, names: Sequence[str], collapse: Sequence[Collapse]
    ) -> None:
        self._reference = reference
        self._names = list(names)
        self._collapse = {c.characteristic: c for c in collapse}

    @property
    def description(self) -> str:
        return self._reference.description

    @property
    def report_missing_columns(self) -> bool:
        return True

    def characteristic_names(self) -> list[str]:
        return self._names

    def profile(self, name: str, answers: Sequence[str]) -> ReferenceCharacteristic | NotAvailable:
        return self._reference.profile(name, answers)


def weight_register(
    table: Table,
    reference: ReferenceSource,
    settings: WeightSettings,
    mapping: UserMapping | None = None,
    event_date: dt.date | None = None,
) -> RegisterWeights:
    """Rake a register's participants to the reference's margins of the chosen characteristics.

    See ``_weigh``.
    """
    return _weigh(table, reference, settings, mapping, event_date, ())[0]


def _weigh(
    table: Table,
    reference: ReferenceSource,
    settings: WeightSettings,
    mapping: UserMapping | None,
    event_date: dt.date | None,
    questions: Sequence[str],
) -> tuple[RegisterWeights, pl.DataFrame]:
    """Rake a register's participants to the reference's margins of the chosen characteristics.

    Answers are harmonised exactly as ``audit`` harmonises them (same column
    recognition, answer knowledge and mapping file), and an answer that matches no
    category stops the weighting as it stops the audit. Raises ``WeightingError`` (or
    the audit's ``RegisterError``) naming what to fix.
    """
    names = _check_names(settings, reference)
    narrowed = _Only(reference, names, settings.collapse)
    table = _read_once(table, narrowed, mapping, [*questions])
    prepared = prepare_register(table, narrowed, mapping=mapping, event_date=event_date)
    check_has_rows(table, prepared.n_rows)
    check_unmatched(table, prepared.unmatched, prepared.allowed)
    missing = {n.name: n.reason for n in prepared.not_audited}
    for name in names:
        if name in missing:
            raise WeightingError(
                f"cannot weight register {table.name} on {name!r}: {missing[name]} "
                "Drop that --characteristic or give a population that has it."
            )
    chosen = {
        assignment.characteristic: (assignment, profile)
        for assignment, profile, _ in prepared.characteristics
        if assignment.characteristic in names
    }
    id_column = find_id_column(table.columns)
    expressions = []
    margins_meta: list[tuple[str, tuple[str, ...], tuple[float, ...]]] = []
    bases: dict[str, str] = {}
    for name in names:
        assignment, profile = chosen[name]
        placer = prepared.placers[assignment.column]
        categories, population, merged = _collapsed(name, profile, settings.collapse)
        codes = _answer_codes(prepared.counts[assignment.column], placer, merged, categories)
        expressions.append(
            pl.col(assignment.column)
            .cast(pl.String)
            .replace_strict(codes, default=-1, return_dtype=pl.Int64)
            .fill_null(-1)
            .alias(f"__code_{len(margins_meta)}")
        )
        margins_meta.append((name, categories, population))
        bases[name] = profile.base
    if id_column is not None:
        expressions.append(pl.col(id_column).cast(pl.String).alias("__id"))
    expressions += [
        pl.col(q).cast(pl.String).alias(f"__question_{i}") for i, q in enumerate(questions)
    ]
    frame = collect(table, table.frame.select(expressions))
    margins = [
        weighting.Margin(name, categories, population, frame[f"__code_{i}"].to_numpy())
        for i, (name, categories, population) in enumerate(margins_meta)
    ]
    try:
        raking = weighting.rake(
            margins,
            max_iterations=settings.max_iterations,
            tolerance=settings.tolerance,
            trim_ratio=settings.trim_ratio,
        )
    except weighting.RakingError as error:
        raise WeightingError(f"cannot weight register {table.name}: {error}") from error
    if id_column is not None:
        identifiers = frame["__id"]
    else:
        identifiers = pl.Series(ROW_COLUMN, np.arange(2, frame.height + 2))
    answers = frame.select(pl.col(f"__question_{i}").alias(q) for i, q in enumerate(questions))
    return RegisterWeights(
        register=table.name,
        reference=reference.description,
        id_column=id_column or ROW_COLUMN,
        identifiers=identifiers,
        raking=raking,
        margins=margins,
        settings=settings,
        bases=bases,
    ), answers


def _read_once(
    table: Table, reference: ReferenceSource, mapping: UserMapping | None, extra: Sequence[str]
) -> Table:
    """The register's columns that weighting reads, read once into memory.

    Harmonising counts each column's distinct answers and weighting then needs every
    participant's answer: one scan of the file serves both (a second scan of a
    million-row CSV costs as much as everything else together).
    """
    identifier = find_id_column(table.columns)
    wanted = columns_read(
        table, reference, mapping, [*extra, *([identifier] if identifier else [])]
    )
    if not wanted:
        return table  # prepare_register says what is missing
    source = table.with_overflow if table.with_overflow is not None else table.frame
    read = [*wanted, *([OVERFLOW_COLUMN] if table.with_overflow is not None else [])]
    frame = collect(table, source.select(pl.col(c).cast(pl.String) for c in read))
    return replace(
        table,
        frame=frame.select(wanted).lazy(),
        with_overflow=frame.lazy() if table.with_overflow is not None else None,
    )


def _check_names(settings: WeightSettings, reference: ReferenceSource) -> list[str]:
    names = list(dict.fromkeys(settings.characteristics))
    if not names:
        raise WeightingError("name at least one --characteristic to weight on (e.g. age).")
    known = reference.characteristic_names()
    by_key = {column_key(k): k for k in known}
    resolved = []
    for name in names:
        found = by_key.get(column_key(name))
        if found is None:
            raise WeightingError(
                f"--characteristic {name!r}: {reference.description} has no figures for it. "
                f"It has {', '.join(known)}."
            )
        resolved.append(found)
    for collapse in settings.collapse:
        if collapse.characteristic not in resolved:
            raise WeightingError(
                f"--collapse names {collapse.characteristic!r}, which is not a --characteristic."
            )
    return resolved


def _collapsed(
    name: str, profile: ReferenceCharacteristic, collapse: Sequence[Collapse]
) -> tuple[tuple[str, ...], tuple[float, ...], dict[str, str]]:
    """Categories and population after merging; ``merged`` maps an old category to its new one."""
    merged: dict[str, str] = {}
    for rule in collapse:
        if rule.characteristic != name:
            continue
        for category in rule.categories:
            if category not in profile.categories:
                raise WeightingError(
                    f"--collapse {name}: {category!r} is not one of its categories "
                    f"({', '.join(profile.categories)})."
                )
            if category in merged:
                raise WeightingError(f"--collapse {name}: {category!r} is merged twice.")
            merged[category] = rule.label
    population: dict[str, float] = {}
    for category, count in profile.categories.items():
        target = merged.get(category, category)
        population[target] = population.get(target, 0.0) + count
    return tuple(population), tuple(population.values()), merged


def _answer_codes(
    counts: Sequence[tuple[str | None, int]],
    placer: AnswerPlacer,
    merged: dict[str, str],
    categories: tuple[str, ...],
) -> dict[str, int]:
    """Each distinct answer's category index (answers not placed are left out: -1)."""
    index = {category: i for i, category in enumerate(categories)}
    codes: dict[str, int] = {}
    for answer, _ in counts:
        if answer is None:
            continue
        placement = placer.place(answer)
        if placement.kind == "category" and placement.category is not None:
            codes[answer] = index[merged.get(placement.category, placement.category)]
    return codes
