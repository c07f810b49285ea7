"""Whether a panel meets its quotas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inclusion_audit.reference.targets import Quota
from inclusion_audit.result import QuotaResult
from inclusion_audit.vocab.classifications import place_answer
from inclusion_audit.vocab.folding import column_key


def check_quotas(
    quotas: Sequence[Quota], answers: dict[str, Iterable[tuple[str | None, int]]]
) -> list[QuotaResult]:
    """Count the panel in each quota; ``answers`` maps characteristic to answer counts."""
    results = []
    by_characteristic: dict[str, list[Quota]] = {}
    for quota in quotas:
        by_characteristic.setdefault(quota.characteristic, []).append(quota)
    for characteristic, group in by_characteristic.items():
        categories = [q.category for q in group]
        counts = dict.fromkeys(categories, 0)
        for answer, count in answers.get(characteristic, ()):
            # The same knowledge as the audit: "F" meets a quota for "Female".
            placement = place_answer(column_key(characteristic), answer, categories)
            if placement.kind == "category" and placement.category is not None:
                counts[placement.category] += count
        for quota in group:
            count = counts[quota.category]
            gap = count - quota.minimum if count < quota.minimum else max(0, count - quota.maximum)
            results.append(
                QuotaResult(
                    characteristic=characteristic,
                    category=quota.category,
                    minimum=quota.minimum,
                    maximum=quota.maximum,
                    count=count,
                    met=gap == 0,
                    gap=gap,
                )
            )
    return results
