"""Whether a panel meets its quotas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inclusion_audit.reference.targets import Quota
from inclusion_audit.result import QuotaResult
from inclusion_audit.vocab.classifications import place_answer
from inclusion_audit.vocab.folding import column_key


def unplaced_quota_answers(
    quotas: Sequence[Quota], answers: dict[str, Iterable[tuple[str | None, int]]]
) -> dict[str, tuple[int, int]]:
    """Per quota characteristic, the answered rows that fit none of its quota categories.

    Returns characteristic → (rows fitting no quota category, rows answered), for those
    with any: such people count towards no quota, which the result must say.
    """
    found: dict[str, tuple[int, int]] = {}
    categories: dict[str, list[str]] = {}
    for quota in quotas:
        categories.setdefault(quota.characteristic, []).append(quota.category)
    for characteristic, names in categories.items():
        unplaced = answered = 0
        for answer, count in answers.get(characteristic, ()):
            placement = place_answer(column_key(characteristic), answer, names)
            if placement.kind in ("blank", "declined"):
                continue
            answered += count
            if placement.kind != "category":
                unplaced += count
        if unplaced:
            found[characteristic] = (unplaced, answered)
    return found


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
