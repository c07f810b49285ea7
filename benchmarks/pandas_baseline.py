"""The baseline: the same audit as a user would script it with pandas, scipy and statsmodels.

Read the register with pandas (only the characteristic columns, as text), count
each column's answers with ``value_counts``, and compute per group what the
tool's JSON holds: Wilson interval (statsmodels ``proportion_confint``), ratio,
equal-tailed exact binomial test (scipy's binomial tails) and R's ``binom.test``
(scipy ``binomtest``), Benjamini-Hochberg adjustment over the family of groups
that can get a verdict, a two-category question once (statsmodels
``multipletests``), status and shortfall; per characteristic, Pearson's
chi-square (scipy ``chisquare``) and Duncan's dissimilarity index. The population
is the ``characteristic,category,count`` file ``generate.py`` writes, which holds
exactly the figures the audit uses.

It is written the straightforward way, not tuned; it is still a fair user: it
reads only the columns it needs and reads them as text.

    python benchmarks/pandas_baseline.py REGISTER --reference REFERENCE.csv -o result.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import binom, binomtest, chisquare
from spec import DECLINED, HEADERS
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

CONFIDENCE = 0.95
ALPHA = 0.05
UNDER, OVER = 0.8, 1.25
MIN_EXPECTED = 5.0


def read_register(path: Path, columns: list[str]) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path, columns=columns)
    return pd.read_csv(path, usecols=columns, dtype=str)


def audit(register: Path, reference: Path) -> dict[str, Any]:
    population = pd.read_csv(reference)
    df = read_register(register, list(HEADERS.values()))
    characteristics = []
    for name, column in HEADERS.items():
        pop = population[population["characteristic"] == name].set_index("category")["count"]
        counts = df[column].value_counts(dropna=False)
        blank = int(counts[counts.index.isna()].sum())
        declined = int(counts.get(DECLINED, 0))
        unexpected = set(counts.index.dropna()) - set(pop.index) - {DECLINED}
        if unexpected:
            raise SystemExit(f"{column}: answers not in the population: {sorted(unexpected)}")
        observed = counts.reindex(pop.index, fill_value=0).astype(int)
        n = int(observed.sum())
        pop_share = pop / pop.sum()
        low, high = proportion_confint(observed, n, alpha=1 - CONFIDENCE, method="wilson")
        groups = pd.DataFrame(
            {
                "category": pop.index,
                "count": observed.values,
                "share": (observed / n).values,
                "share_ci_low": low.values,
                "share_ci_high": high.values,
                "population_share": pop_share.values,
                "expected_count": (n * pop_share).values,
                "ratio": (observed / n / pop_share).values,
                "p_value": [
                    min(1.0, 2 * min(binom.cdf(int(k), n, float(p)), binom.sf(int(k) - 1, n, p)))
                    for k, p in zip(observed, pop_share, strict=True)
                ],
                "p_value_binom_test": [
                    binomtest(int(k), n, float(p)).pvalue
                    for k, p in zip(observed, pop_share, strict=True)
                ],
            }
        )
        chi = chisquare(observed.values, n * pop_share.values)
        characteristics.append(
            {
                "name": name,
                "column": column,
                "n_known": n,
                "n_unknown": blank + declined,
                "n_blank": blank,
                "n_declined": declined,
                "dissimilarity_index": 0.5 * float((observed / n - pop_share).abs().sum()),
                "chi_square": {
                    "statistic": float(chi.statistic),
                    "df": len(observed) - 1,
                    "p_value": float(chi.pvalue),
                },
                "groups": groups,
            }
        )
    # The family: groups that can get a verdict; a two-category question counts once.
    members: list[tuple[int, int]] = []
    twins: dict[tuple[int, int], tuple[int, int]] = {}
    for i, item in enumerate(characteristics):
        groups = item["groups"]
        judged = [j for j, e in enumerate(groups["expected_count"]) if e >= MIN_EXPECTED and e > 0]
        tested = [j for j, s in enumerate(groups["population_share"]) if s > 0]
        if len(tested) == 2 and judged == tested:
            members.append((i, judged[0]))
            twins[i, judged[1]] = (i, judged[0])
        else:
            members.extend((i, j) for j in judged)
    family = [characteristics[i]["groups"]["p_value"].iloc[j] for i, j in members]
    adjusted = dict(
        zip(members, multipletests(family, alpha=ALPHA, method="fdr_bh")[1], strict=True)
        if family
        else []
    )
    for i, item in enumerate(characteristics):
        groups = item["groups"]
        groups["p_value_adjusted"] = [
            float(adjusted[twins.get((i, j), (i, j))])
            if twins.get((i, j), (i, j)) in adjusted
            else None
            for j in range(len(groups))
        ]
        for j, twin in ((j, twins[i, j]) for j in range(len(groups)) if (i, j) in twins):
            groups.loc[j, "p_value"] = groups["p_value"].iloc[twin[1]]
        groups["status"] = [status(row) for row in groups.itertuples()]
        groups["shortfall"] = [
            shortfall(row.count, item["n_known"], row.population_share)
            for row in groups.itertuples()
        ]
        item["groups"] = [
            {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
            for record in groups.to_dict(orient="records")
        ]
    return {"n_participants": len(df), "characteristics": characteristics}


def status(row: Any) -> str:
    if row.expected_count < MIN_EXPECTED or row.p_value_adjusted is None:
        return "insufficient_data"
    firm = row.p_value_adjusted < ALPHA
    if row.ratio < UNDER:
        return "under" if firm else "possible_under"
    if row.ratio > OVER:
        return "over" if firm else "possible_over"
    return "ok"


def shortfall(count: int, n: int, population_share: float) -> int:
    """Smallest m with (count + m) / (n + m) >= UNDER × population share."""
    target = UNDER * population_share
    if count >= target * n:
        return 0
    return max(0, math.ceil((target * n - count) / (1 - target)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("register", type=Path)
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--output", "-o", type=Path, required=True)
    args = parser.parse_args(argv)
    result = audit(args.register, args.reference)
    args.output.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
