"""Age-matched populations: fitting detailed categories to an age-matched margin.

Census tables give the 19 detailed ethnic groups for all usual residents only,
but the 5 high-level groups also for residents aged 16+ (ONS custom dataset).
For an event open to ages 16+, the detailed shares are rescaled so that each
high-level group adds up to its 16+ total: iterative proportional fitting
(Deming and Stephan, 1940), which for margins that nest the detailed
categories fits exactly in one pass::

    n_c ← n_c · M_g / Σ_{c' ∈ g} n_{c'}      for each group g and each c ∈ g

It keeps each group's internal mix (the all-ages mix) and gives each group its
age-matched weight. Worked example: Mixed groups are 3.77% of all ages in
Leicester but 2.68% of residents aged 16+; after fitting, the four Mixed
categories add up to 2.68%, so a group exactly in line with the 16+ population
gets a ratio of 1, not 0.71.

Imports: the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def iterative_proportional_fit(
    cells: Mapping[str, float],
    group_of: Mapping[str, str],
    margins: Mapping[str, float],
    *,
    tolerance: float = 1e-12,
    max_iterations: int = 100,
) -> dict[str, float]:
    """Rescale ``cells`` until each group's cells add up to its margin (raking).

    ``group_of`` names each cell's group; a group whose cells add up to 0 cannot
    be scaled and stays 0. Stops when no factor differs from 1 by more than
    ``tolerance``.

    >>> fitted = iterative_proportional_fit(
    ...     {"Mixed: A": 30.0, "Mixed: B": 10.0, "White: C": 60.0},
    ...     {"Mixed: A": "Mixed", "Mixed: B": "Mixed", "White: C": "White"},
    ...     {"Mixed": 20.0, "White": 70.0},
    ... )
    >>> {k: round(v, 9) for k, v in fitted.items()}
    {'Mixed: A': 15.0, 'Mixed: B': 5.0, 'White: C': 70.0}
    """
    fitted = {cell: float(value) for cell, value in cells.items()}
    members: dict[str, list[str]] = {}
    for cell in fitted:
        members.setdefault(group_of[cell], []).append(cell)
    for _ in range(max_iterations):
        worst = 0.0
        for group, target in margins.items():
            inside = members.get(group, [])
            total = math.fsum(fitted[cell] for cell in inside)
            if total <= 0:
                continue
            factor = target / total
            worst = max(worst, abs(factor - 1))
            for cell in inside:
                fitted[cell] *= factor
        if worst <= tolerance:
            break
    return fitted
