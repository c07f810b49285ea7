"""Multiple-comparison corrections of p-values (Benjamini-Hochberg, Holm)."""

from __future__ import annotations

from collections.abc import Sequence


def adjust_p_values(p_values: Sequence[float | None], method: str) -> list[float | None]:
    """Adjust p-values for multiple comparisons; ``None`` entries are skipped.

    ``bh`` (Benjamini-Hochberg, controls the false discovery rate), with the
    m p-values sorted ascending ``p_(1) ≤ … ≤ p_(m)``::

        p̃_(i) = min_{j ≥ i} min(1, m · p_(j) / j)

    ``holm`` (Holm-Bonferroni, controls the family-wise error rate)::

        p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) · p_(j))

    ``none`` returns the p-values unchanged.

    >>> adjust_p_values([0.01, 0.04, None, 0.03], "bh")
    [0.03, 0.04, None, 0.04]
    >>> adjust_p_values([0.01, 0.04, None, 0.03], "holm")
    [0.03, 0.06, None, 0.06]
    """
    if method not in ("bh", "holm", "none"):
        raise ValueError(f"unknown correction {method!r}; use bh, holm or none")
    present = [(i, p) for i, p in enumerate(p_values) if p is not None]
    result: list[float | None] = list(p_values)
    if method == "none" or not present:
        return result
    m = len(present)
    ordered = sorted(present, key=lambda item: item[1])
    if method == "bh":
        running = 1.0
        for rank in range(m, 0, -1):
            index, p = ordered[rank - 1]
            running = min(running, m * p / rank)
            result[index] = min(1.0, running)
    else:
        running = 0.0
        for rank in range(1, m + 1):
            index, p = ordered[rank - 1]
            running = max(running, (m - rank + 1) * p)
            result[index] = min(1.0, running)
    return result
