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
import numpy.typing as npt
import polars as pl

from inclusion_audit import stats
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
from inclusion_audit.result import AnswerShare, QuestionResult, WeightedResults
from inclusion_audit.stats import weighting
from inclusion_audit.vocab.columns import find_id_column, guess_column
from inclusion_audit.vocab.folding import column_key, is_declined, normalise

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
    attribution: str | None = None

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
    attribution: str | None = None
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
        attribution = attribution or profile.attribution
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
        attribution=attribution,
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
        in_memory=True,
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


MAX_ANSWER_OPTIONS = 30
"""A question with more distinct answers than this is free text, not a vote: refused."""
MATERIAL = "outside the raw share's design-adjusted interval"


def weighted_results(
    table: Table,
    reference: ReferenceSource,
    settings: WeightSettings,
    questions: Sequence[str],
    mapping: UserMapping | None = None,
    event_date: dt.date | None = None,
    confidence: float = 0.95,
) -> tuple[RegisterWeights, WeightedResults]:
    """Unweighted and weighted shares of each answer option of each question.

    For each question (register column), answers are grouped after folding case,
    spacing and punctuation, as everywhere in the tool; blank and "prefer not to
    say" answers are not options and are counted apart. For option ``k``:

    * raw share ``p = x / n`` with its Wilson interval;
    * weighted share ``p_w = Σ_{i: y_i = k} w_i / Σ_i w_i`` over those who answered;
    * intervals that account for the weights: Wilson at Kish's effective sample
      size ``n_eff = (Σ w)² / Σ w²`` of those who answered
      (``stats.weighting.effective_wilson_interval``), for both shares;
    * ``differs`` when ``p_w`` lies outside the raw share's design-adjusted
      interval, with a plain sentence saying so.
    """
    columns = _question_columns(table, questions, settings)
    weights, answers = _weigh(table, reference, settings, mapping, event_date, columns)
    w = weights.raking.weights
    names = [m.name.replace("_", " ") for m in weights.margins]
    results = [
        _question(
            column,
            answers[column],
            w,
            confidence,
            reference.description,
            names,
            [np.asarray(m.codes) for m in weights.margins],
        )
        for column in columns
    ]
    summary = weights.diagnostics()
    return weights, WeightedResults(
        reference=reference.description,
        characteristics=tuple(m.name for m in weights.margins),
        confidence=confidence,
        design_effect=weights.raking.design_effect,
        effective_sample_size=weights.raking.effective_sample_size,
        converged=weights.raking.converged,
        largest_margin_error=weights.raking.largest_margin_error,
        trim_ratio=settings.trim_ratio,
        warnings=tuple(w["message"] for w in summary["warnings"]),
        questions=tuple(results),
        attribution=weights.attribution,
        smallest_margin_count=_smallest_margin_count(weights.margins),
    )


def _smallest_margin_count(margins: Sequence[weighting.Margin]) -> int | None:
    """The fewest participants in any category of the margins that has any."""
    import numpy as np

    found: list[int] = []
    for margin in margins:
        codes = np.asarray(margin.codes)
        counts = np.bincount(codes[codes >= 0], minlength=len(margin.categories))
        found.extend(int(c) for c in counts if c > 0)
    return min(found) if found else None


def _question_columns(
    table: Table, questions: Sequence[str], settings: WeightSettings
) -> list[str]:
    if not questions:
        raise WeightingError("name at least one --question (a register column).")
    by_key = {column_key(c): c for c in table.columns}
    columns = []
    for question in dict.fromkeys(questions):
        column = question if question in table.columns else by_key.get(column_key(question))
        if column is None:
            shown = ", ".join(repr(c) for c in table.columns[:12])
            raise WeightingError(
                f"--question {question!r}: register {table.name} has no such column. Its "
                f"columns are {shown}."
            )
        guess = guess_column(column)
        if guess.kind in ("identifying", "free_text"):
            raise WeightingError(
                f"--question {column!r} looks like {guess.kind.replace('_', ' ')} "
                f"({guess.reason}): only closed questions (a vote, support or oppose, a first "
                "choice) are summarised, never names, contact details or free text."
            )
        columns.append(column)
    return columns


def _question(
    column: str,
    answers: pl.Series,
    weights: npt.NDArray[np.float64],
    confidence: float,
    reference: str,
    characteristics: Sequence[str],
    margin_codes: Sequence[npt.NDArray[np.int64]] = (),
) -> QuestionResult:
    keys: dict[str, int] = {}
    spellings: dict[int, dict[str, int]] = {}
    codes = np.full(answers.len(), -1, dtype=np.int64)
    distinct = answers.value_counts(sort=True)
    lookup: dict[str | None, int] = {}
    n_declined = 0
    for answer, count in distinct.iter_rows():
        if answer is None or not answer.strip():
            continue
        if is_declined(answer):
            n_declined += int(count)
            continue
        key = normalise(answer)
        code = keys.setdefault(key, len(keys))
        if len(keys) > MAX_ANSWER_OPTIONS:
            raise WeightingError(
                f"--question {column!r} has more than {MAX_ANSWER_OPTIONS} different answers, "
                "so it looks like free text: only closed questions (a vote, support or oppose, "
                "a first choice) are summarised."
            )
        lookup[answer] = code
        spellings.setdefault(code, {})[answer.strip()] = int(count)
    if lookup:
        codes = (
            answers.replace_strict(lookup, default=-1, return_dtype=pl.Int64)
            .fill_null(-1)
            .to_numpy()
        )
    answered = codes >= 0
    n = int(answered.sum())
    if n == 0:
        raise WeightingError(f"--question {column!r}: nobody answered it.")
    k = len(keys)
    counts = np.bincount(codes[answered], minlength=k)
    weighted = np.bincount(codes[answered], weights=weights[answered], minlength=k)
    total = float(weighted.sum())
    n_eff = weighting.kish_effective_sample_size(weights[answered])
    options = []
    for code in range(k):
        label = max(spellings[code].items(), key=lambda item: (item[1], item[0]))[0]
        x = int(counts[code])
        share = x / n
        low, high = stats.wilson_interval(x, n, confidence)
        d_low, d_high = (
            weighting.effective_wilson_interval(share, n_eff, confidence) if n_eff > 0 else (0, 1)
        )
        w_share = float(weighted[code]) / total if total > 0 else None
        w_low = w_high = None
        if w_share is not None and n_eff > 0:
            w_low, w_high = weighting.effective_wilson_interval(w_share, n_eff, confidence)
        differs = w_share is not None and not d_low <= w_share <= d_high
        options.append(
            AnswerShare(
                answer=label,
                count=x,
                share=share,
                share_ci_low=low,
                share_ci_high=high,
                share_design_ci_low=d_low,
                share_design_ci_high=d_high,
                weighted_share=w_share,
                weighted_ci_low=w_low,
                weighted_ci_high=w_high,
                differs=differs,
                sentence=_sentence(column, label, share, w_share, reference, characteristics)
                if differs
                else None,
            )
        )
    return QuestionResult(
        question=column,
        n_answered=n,
        n_no_answer=int(answers.len() - n - n_declined),
        n_declined=n_declined,
        effective_sample_size=n_eff,
        design_effect=n / n_eff if n_eff > 0 else None,
        answers=tuple(options),
        smallest_cross_count=_smallest_cross(codes, k, margin_codes),
    )


def _smallest_cross(
    codes: npt.NDArray[np.int64], k: int, margin_codes: Sequence[npt.NDArray[np.int64]]
) -> int | None:
    """The fewest participants, above 0, giving one answer within one category weighted on.

    A weighted share is a sum over those answer × category counts (exactly so with
    one characteristic: ``Σ_c π_c · x_ac / n_c``), so with the category sizes
    known it gives them back: shared outputs withhold a question's weighted shares
    while any is small.
    """
    found: list[int] = []
    for margin in margin_codes:
        both = (codes >= 0) & (margin >= 0)
        if not both.any():
            continue
        size = int(margin[both].max()) + 1
        cross = np.bincount(codes[both] * size + margin[both], minlength=k * size)
        found.extend(int(c) for c in cross if c > 0)
    return min(found) if found else None


def _sentence(
    column: str,
    answer: str,
    share: float,
    weighted: float | None,
    reference: str,
    characteristics: Sequence[str],
) -> str:
    assert weighted is not None
    by = _and(characteristics)
    return (
        f"Had participants matched {reference} by {by}, and had those in each group been "
        f"typical of it, the share answering {answer!r} to {column!r} would have been "
        f"{_percent(weighted)} rather than {_percent(share)}."
    )


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"
