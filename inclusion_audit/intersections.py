"""Intersectional cells: the audit's statistics on the cross of two characteristics.

``audit --intersect age,sex`` audits each cell (``25-34×Female``) with the same
statistics, thresholds and verdicts as a characteristic's groups, against a joint
population table: the Census age by sex table for residents aged 16+, or a
population file's joint rows (``characteristic`` = ``age×sex``, ``category`` =
``25-34×Female``; ``age x sex`` and ``25-34 x Female`` are read the same). Where the
population has only the separate margins, the cross is listed as not audited and no
joint distribution is invented. The cells are their own multiple-comparison family,
so adding a cross never changes a characteristic's verdicts. Crosses of sexual
orientation or gender identity with ethnic group, religion or disability are refused:
such tables are not published (the domain brief's disclosure section), since they
single people out.

Answers are placed exactly as the audit places them (``prepare_register``); a
participant whose answer to either question is unknown is left out of the cells.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from inclusion_audit.audit import (
    _draft_characteristic,
    _group_result,
    _judge_drafts,
    prepare_register,
)
from inclusion_audit.config import AuditConfig
from inclusion_audit.errors import InputError
from inclusion_audit.ingest.harmonise import ColumnAssignment, HarmonisedColumn
from inclusion_audit.ingest.mapping import UserMapping
from inclusion_audit.ingest.readers import Table, collect
from inclusion_audit.reference import census
from inclusion_audit.reference.profiles import (
    CensusReference,
    CustomReference,
    NotAvailable,
    ReferenceCharacteristic,
    ReferenceSource,
)
from inclusion_audit.result import AuditResult, CharacteristicResult, NotAudited
from inclusion_audit.vocab.folding import column_key, normalise

JOINT = "×"
TOO_FEW = "Too few participants to say."
SPECIAL_CROSS = frozenset({"sexual_orientation", "gender_identity", "trans_status"})
NOT_CROSSED_WITH = frozenset({"ethnic_group", "ethnic_group_broad", "religion", "disability"})
_SEPARATOR = re.compile(r"\s*×\s*|\s+x\s+", re.IGNORECASE)


class IntersectionError(InputError):
    """An ``--intersect`` that names no pair, or a cross that is not published."""


def parse_pairs(specs: Sequence[str]) -> list[tuple[str, str]]:
    """``age,sex`` (or ``age×sex``) per option, each a pair of characteristics.

    >>> parse_pairs(["age,sex", "sex × ethnic_group"])
    [('age', 'sex'), ('sex', 'ethnic_group')]
    """
    pairs = []
    for spec in specs:
        parts = [p.strip() for p in re.split(r",|×", spec) if p.strip()]
        if len(parts) != 2 or column_key(parts[0]) == column_key(parts[1]):
            raise IntersectionError(
                f"--intersect {spec!r}: name two different characteristics, e.g. "
                "--intersect age,sex."
            )
        first, second = (column_key(p) for p in parts)
        if {first, second} & SPECIAL_CROSS and {first, second} & NOT_CROSSED_WITH:
            raise IntersectionError(
                f"--intersect {spec!r}: crosses of sexual orientation or gender identity "
                "with ethnic group, religion or disability are not published, because such "
                "small cells single people out (special category data). Audit each on its own."
            )
        pairs.append((first, second))
    return pairs


def add_intersections(
    result: AuditResult,
    table: Table,
    reference: ReferenceSource,
    pairs: Sequence[tuple[str, str]],
    config: AuditConfig | None = None,
    mapping: UserMapping | None = None,
    event_date: dt.date | None = None,
) -> AuditResult:
    """``result`` with the cells of each pair in ``intersections``, and the pairs that
    could not be audited (a column missing, margins only) in ``not_audited``."""
    config = config or AuditConfig()
    prepared = prepare_register(table, reference, mapping=mapping, event_date=event_date)
    found = {a.characteristic: (a, p) for a, p, _ in prepared.characteristics}
    skipped: list[NotAudited] = []
    planned = []
    for first, second in pairs:
        name = f"{first}{JOINT}{second}"
        missing = [n for n in (first, second) if n not in found]
        if missing:
            skipped.append(
                NotAudited(name, f"{' and '.join(missing)} is not audited in this register.")
            )
            continue
        (a_first, p_first), (a_second, p_second) = found[first], found[second]
        joint = _joint(reference, first, second, p_first, p_second)
        if isinstance(joint, NotAvailable):
            skipped.append(NotAudited(name, joint.reason))
            continue
        planned.append((name, a_first, p_first, a_second, p_second, joint))
    if not planned:
        return replace(result, not_audited=(*result.not_audited, *skipped))

    expressions = []
    for column in dict.fromkeys(c for _, a, _, b, _, _ in planned for c in (a.column, b.column)):
        placer = prepared.placers[column]
        codes: dict[str, str] = {}
        for answer, _ in prepared.counts[column]:
            if answer is None:
                continue
            placement = placer.place(answer)
            if placement.kind == "category" and placement.category is not None:
                codes[answer] = placement.category
        expressions.append(
            pl.col(column).cast(pl.String).replace_strict(codes, default=None).alias(column)
        )
    frame = collect(table, table.frame.select(expressions))
    drafts = []
    for name, a_first, _, a_second, _, joint in planned:
        counted = (
            frame.select(a_first.column, a_second.column)
            .drop_nulls()
            .group_by(a_first.column, a_second.column)
            .len()
        )
        counts = dict.fromkeys(joint.categories, 0)
        for x, y, n in counted.iter_rows():
            counts[f"{x}{JOINT}{y}"] = counts.get(f"{x}{JOINT}{y}", 0) + int(n)
        n_known = sum(counts.values())
        harmonised = HarmonisedColumn(counts=counts, n_blank=prepared.n_rows - n_known)
        assignment = ColumnAssignment(
            name,
            f"{a_first.column} {JOINT} {a_second.column}",
            name,
            False,
            None,
            f"the cross of {a_first.column!r} and {a_second.column!r}",
        )
        drafts.append(_draft_characteristic(assignment, joint, harmonised, config))
    verdicts = _judge_drafts(drafts, config)
    cells = []
    for draft, row in zip(drafts, verdicts, strict=True):
        draft.pop("broad_answers", None)
        draft.pop("share_bounds", None)  # a cross: the joint table's own base, no bounds
        draft.pop("base_gap", None)
        groups = []
        for group, verdict in zip(draft.pop("groups"), row, strict=True):
            if verdict.status == "insufficient_data" and not group.get("note"):
                group = {**group, "note": TOO_FEW}
            groups.append(_group_result(group, verdict, verdict.status, config))
        cells.append(CharacteristicResult(**draft, groups=tuple(groups)))
    return replace(
        result,
        intersections=tuple(cells),
        not_audited=(*result.not_audited, *skipped),
    )


def _joint(
    reference: ReferenceSource,
    first: str,
    second: str,
    p_first: ReferenceCharacteristic,
    p_second: ReferenceCharacteristic,
) -> ReferenceCharacteristic | NotAvailable:
    """The joint population of the two, in the margins' own categories, or why not."""
    name = f"{first}{JOINT}{second}"
    if isinstance(reference, CensusReference):
        if {first, second} != {"age", "sex"}:
            return NotAvailable(
                name,
                f"Census 2021 in the reference data has {first.replace('_', ' ')} and "
                f"{second.replace('_', ' ')} as separate margins only, not crossed, and a "
                "joint distribution is not invented from margins.",
            )
        ages = p_first if first == "age" else p_second
        try:
            profile = census.age_sex_profile(
                reference.areas, list(ages.categories), reference.eligible_age
            )
        except census.CharacteristicNotAvailableError as error:
            return NotAvailable(name, error.reason)
        categories = profile.categories
        if first != "age":
            categories = {
                f"{s}{JOINT}{a}": count
                for a_s, count in categories.items()
                for a, s in [a_s.split(JOINT)]
            }
        categories = _ordered(categories, p_first, p_second)
        return ReferenceCharacteristic(
            name=name,
            categories=categories,
            base=profile.base,
            universe=profile.universe,
            source=reference.description,
            table=profile.table,
            unit=profile.unit,
            caveats=profile.caveats,
            attribution=reference.attribution,
        )
    if isinstance(reference, CustomReference):
        return _custom_joint(reference, first, second, p_first, p_second)
    return NotAvailable(
        name, "this population gives margins only, and a joint distribution is not invented."
    )


def _ordered(
    categories: dict[str, float],
    p_first: ReferenceCharacteristic,
    p_second: ReferenceCharacteristic,
) -> dict[str, float]:
    return {
        f"{x}{JOINT}{y}": categories.get(f"{x}{JOINT}{y}", 0.0)
        for x in p_first.categories
        for y in p_second.categories
    }


def _custom_joint(
    reference: CustomReference,
    first: str,
    second: str,
    p_first: ReferenceCharacteristic,
    p_second: ReferenceCharacteristic,
) -> ReferenceCharacteristic | NotAvailable:
    name = f"{first}{JOINT}{second}"
    for key, found in reference.joint.items():
        parts = [column_key(p) for p in _SEPARATOR.split(key)]
        if parts not in ([first, second], [second, first]):
            continue
        swapped = parts == [second, first]
        by_first = {normalise(c): c for c in p_first.categories}
        by_second = {normalise(c): c for c in p_second.categories}
        categories: dict[str, float] = {}
        for cell, count in found.categories.items():
            halves = _SEPARATOR.split(cell)
            if len(halves) != 2:
                return NotAvailable(
                    name, f"the population file's {key!r} row {cell!r} is not two categories."
                )
            x, y = (halves[1], halves[0]) if swapped else (halves[0], halves[1])
            if normalise(x) not in by_first or normalise(y) not in by_second:
                return NotAvailable(
                    name,
                    f"the population file's {key!r} category {cell!r} does not match the "
                    f"categories of {first} and {second} in the same file.",
                )
            cell_name = f"{by_first[normalise(x)]}{JOINT}{by_second[normalise(y)]}"
            categories[cell_name] = categories.get(cell_name, 0.0) + count
        return replace(found, name=name, categories=_ordered(categories, p_first, p_second))
    return NotAvailable(
        name,
        f"the population file gives {first} and {second} as margins only (no {name!r} "
        "rows), and a joint distribution is not invented from margins.",
    )
