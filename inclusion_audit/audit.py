"""Run an audit: register and reference in, one ``AuditResult`` out.

This is the only module that knows the order of the layers: read → harmonise
→ validate → reference → stats → findings → result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import __version__, stats
from .config import AuditConfig
from .findings import classify
from .harmonise import CategoryMatcher, HarmonisedColumn, harmonise_column, match_columns
from .quotas import Quota, check_quotas
from .readers import Table, answer_counts
from .reference import NotAvailable, ReferenceCharacteristic, ReferenceSource
from .result import (
    AuditResult,
    CharacteristicResult,
    ChiSquare,
    GroupResult,
    NotAudited,
    ReferenceInfo,
    RegisterInfo,
)
from .validate import (
    check_has_characteristics,
    check_has_rows,
    check_no_duplicate_columns,
    check_something_audited,
    check_unmatched,
)


def audit_register(
    table: Table,
    reference: ReferenceSource,
    config: AuditConfig | None = None,
    quotas: Sequence[Quota] = (),
) -> AuditResult:
    """Audit a register against a reference population, and check any quotas.

    Raises ``RegisterError`` (or its subclass ``UnknownValuesError``) when the
    register cannot be audited; nothing is computed from partial data.
    """
    config = config or AuditConfig()
    wanted = reference.characteristic_names()
    quota_names = list(dict.fromkeys(q.characteristic for q in quotas))
    all_matched = match_columns(table.columns, [*wanted, *quota_names], source=table.name)
    matched = {name: column for name, column in all_matched.items() if name in wanted}
    check_has_characteristics(table, all_matched, [*wanted, *quota_names])
    check_no_duplicate_columns(table, all_matched)
    columns = list(dict.fromkeys(all_matched.values()))
    counts, n_rows = answer_counts(table, columns)
    check_has_rows(table, n_rows)

    not_audited = [
        NotAudited(name, "the register has no column for it")
        for name in (wanted if reference.report_missing_columns else []) + quota_names
        if name not in all_matched
    ]
    quota_results = check_quotas(
        quotas, {name: counts[column] for name, column in all_matched.items()}
    )
    prepared: list[tuple[str, str, ReferenceCharacteristic, HarmonisedColumn]] = []
    unmatched: dict[str, dict[str, int]] = {}
    allowed: dict[str, list[str]] = {}
    for name, column in matched.items():
        answers = [answer for answer, _ in counts[column] if answer is not None]
        profile = reference.profile(name, answers)
        if isinstance(profile, NotAvailable):
            not_audited.append(NotAudited(name, profile.reason))
            continue
        harmonised = harmonise_column(counts[column], CategoryMatcher(list(profile.categories)))
        unmatched[column] = harmonised.unmatched
        allowed[column] = list(profile.categories)
        prepared.append((name, column, profile, harmonised))
    check_unmatched(table, unmatched, allowed)
    check_something_audited(
        table, len(prepared), len(quota_results), [(n.name, n.reason) for n in not_audited]
    )

    drafts = [
        _draft_characteristic(name, column, profile, harmonised, config)
        for name, column, profile, harmonised in prepared
    ]
    adjusted = iter(
        stats.adjust_p_values(
            [group["p_value"] for draft in drafts for group in draft["groups"]],
            config.correction,
        )
    )
    characteristics = []
    for draft in drafts:
        groups = []
        for group in draft.pop("groups"):
            p_adjusted = next(adjusted)
            status = classify(group["ratio"], p_adjusted, group["expected_count"], config)
            groups.append(GroupResult(**group, p_value_adjusted=p_adjusted, status=status))
        characteristics.append(CharacteristicResult(**draft, groups=tuple(groups)))

    return AuditResult(
        tool_version=__version__,
        register=RegisterInfo(
            file=table.name,
            file_format=table.file_format,
            rows=n_rows,
            columns_used=tuple(columns),
            columns_ignored=len(table.columns) - len(columns),
        ),
        reference=reference.description,
        settings=config.to_dict(),
        n_participants=n_rows,
        characteristics=tuple(characteristics),
        not_audited=tuple(not_audited),
        quotas=tuple(quota_results),
    )


def _draft_characteristic(
    name: str,
    column: str,
    profile: ReferenceCharacteristic,
    harmonised: HarmonisedColumn,
    config: AuditConfig,
) -> dict[str, Any]:
    """Every statistic of one characteristic except the adjusted p-values."""
    n = harmonised.n_known
    unknown = harmonised.n_unknown
    population_total = math.fsum(profile.categories.values())
    groups = []
    for category, population_count in profile.categories.items():
        count = harmonised.counts[category]
        population_share = population_count / population_total
        groups.append(
            _draft_group(category, count, n, unknown, population_count, population_share, config)
        )

    testable = [g for g in groups if g["population_share"] > 0]
    dissimilarity = chi_square = None
    if n > 0:
        dissimilarity = stats.dissimilarity_index(
            [g["count"] / n for g in groups], [g["population_share"] for g in groups]
        )
        in_empty_category = any(g["count"] > 0 for g in groups if g["population_share"] == 0)
        if len(testable) >= 2 and not in_empty_category:
            statistic, df, p_value = stats.chi_square_goodness_of_fit(
                [g["count"] for g in testable], [g["population_share"] for g in testable]
            )
            chi_square = ChiSquare(
                statistic, df, p_value, min(g["expected_count"] for g in testable)
            )
    return {
        "name": name,
        "column": column,
        "n_known": n,
        "n_unknown": unknown,
        "n_blank": harmonised.n_blank,
        "n_declined": harmonised.n_declined,
        "dissimilarity_index": dissimilarity,
        "chi_square": chi_square,
        "groups": groups,
        "reference": ReferenceInfo(
            source=profile.source,
            base=profile.base,
            universe=profile.universe,
            table=profile.table,
            unit=profile.unit,
            caveats=profile.caveats,
            attribution=profile.attribution,
        ),
    }


def _draft_group(
    category: str,
    count: int,
    n: int,
    unknown: int,
    population_count: float,
    population_share: float,
    config: AuditConfig,
) -> dict[str, Any]:
    share = count / n if n else None
    low = high = ratio = ratio_low = ratio_high = p_value = None
    note = None
    if n:
        low, high = stats.wilson_interval(count, n, config.confidence)
    if population_share > 0 and n:
        ratio = stats.representation_ratio(count / n, population_share)
        assert low is not None and high is not None
        ratio_low, ratio_high = low / population_share, high / population_share
        p_value = stats.binomial_test(count, n, population_share)
    elif population_share == 0:
        note = "The reference population has nobody in this category, so it is not tested."
    everyone = n + unknown
    target = config.under_threshold * population_share
    return {
        "category": category,
        "count": count,
        "share": share,
        "share_ci_low": low,
        "share_ci_high": high,
        "population_count": population_count,
        "population_share": population_share,
        "expected_count": n * population_share,
        "ratio": ratio,
        "ratio_ci_low": ratio_low,
        "ratio_ci_high": ratio_high,
        "p_value": p_value,
        "shortfall": stats.shortfall(count, n, population_share, config.under_threshold)
        if 0 < target < 1
        else 0,
        "share_if_unknown_in_group": (count + unknown) / everyone if everyone else None,
        "share_if_unknown_not_in_group": count / everyone if everyone else None,
        "note": note,
    }
