"""Where a population base and the eligible ages differ: the residents on either side.

Where no table is age-matched to the event (a ward's religion or disability
from all-ages tables, an 18+ event compared with a 16+ table, Northern
Ireland's tables), the shares of the table's base stand in for the eligible
ages. What the stand-in hides is the make-up of the ages in one but not the
other. Their number, though, is published (ages by single year, or in bands),
and it bounds the eligible share of every category: with ``N_k`` of the base's
``T`` residents in category ``k``, ``X`` residents in the base but not eligible
(16-17-year-olds for an 18+ event from a 16+ table) and ``Y`` eligible
residents outside the base, the eligible population is ``T − X + Y`` and::

    lowest share  = max(0, N_k − X) / (T − X + Y)     all X in k, none of Y
    highest share = min(N_k + Y, T − X + Y) / (T − X + Y)   none of X in k, all of Y

(``stats.base_share_bounds``). A verdict is firm only if it holds at both ends
(``findings.verdicts``).

The counts come from the age tables (``ages``): exact where a published age
table lines up with the ages; where only a wider band is published (Northern
Ireland: 16-24 for 16-17), that band's count, which can only widen the bounds
(both ends move outwards as ``X`` or ``Y`` grows); where no age table covers the
areas (wards), each LSOA's residents scaled by the share of its MSOA's residents
in those ages (MSOA single years, TS007), as for the deprivation base.

Worked example: Lambeth, an 18+ event, religion from the 16+ custom table.
``X`` is Lambeth's residents aged 16-17 in TS007; no eligible resident is
outside the base, so ``Y = 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from inclusion_audit.reference.ages import AgeRange, _AgeSource, age_sources
from inclusion_audit.reference.census_data import OPEN_AGE, DataStore, short_table
from inclusion_audit.vocab.ages import AgeSpan, span_text

_SMALL_AREAS = "small_areas"
_MSOA_AGE = "msoa_age"
_OLDEST = 100
"""The oldest single year in the MSOA table (100 = 100 and over)."""


@dataclass(frozen=True)
class BaseGap:
    """Residents in the population base but not eligible, and eligible but outside it.

    ``outside_eligible`` is ``X`` and ``outside_base`` is ``Y`` of the module
    docstring; ``ages_*`` name their ages ("16-17"); ``how`` says where the
    counts come from, in words for a report.
    """

    outside_eligible: float
    outside_base: float
    ages_outside_eligible: str
    ages_outside_base: str
    how: str

    def to_dict(self) -> dict[str, float | str]:
        """The gap for the result JSON."""
        return {
            "outside_eligible": self.outside_eligible,
            "outside_base": self.outside_base,
            "ages_outside_eligible": self.ages_outside_eligible,
            "ages_outside_base": self.ages_outside_base,
            "how": self.how,
        }


def base_gap(
    store: DataStore,
    codes: Sequence[str],
    base_low: int,
    base_high: int | None,
    eligible: AgeRange | None,
) -> BaseGap | None:
    """The gap between a base of ages ``base_low``-``base_high`` and the eligible ages.

    None where there is none (the base is the eligible ages, or no ages were
    given) or no age table can count it for these areas.
    """
    if eligible is None or eligible.is_all_ages:
        return None
    outside_eligible = _difference((base_low, base_high), (eligible.low, eligible.high))
    outside_base = _difference((eligible.low, eligible.high), (base_low, base_high))
    if not outside_eligible and not outside_base:
        return None
    counted = _count(store, codes, [*outside_eligible, *outside_base])
    if counted is None:
        return None
    counts, how = counted
    return BaseGap(
        outside_eligible=float(sum(counts[: len(outside_eligible)])),
        outside_base=float(sum(counts[len(outside_eligible) :])),
        ages_outside_eligible=" and ".join(span_text(s) for s in outside_eligible),
        ages_outside_base=" and ".join(span_text(s) for s in outside_base),
        how=how,
    )


def _difference(first: AgeSpan, second: AgeSpan) -> list[AgeSpan]:
    """Ages of ``first`` not in ``second`` (``None`` = open-ended).

    >>> _difference((16, None), (18, None)), _difference((0, None), (16, 64))
    ([(16, 17)], [(0, 15), (65, None)])
    """
    low, high = first
    other_low, other_high = second
    found: list[AgeSpan] = []
    if low < other_low:
        found.append((low, other_low - 1 if high is None else min(high, other_low - 1)))
    if other_high is not None and (high is None or high > other_high):
        found.append((max(low, other_high + 1), high))
    return [(lo, hi) for lo, hi in found if hi is None or lo <= hi]


def _count(
    store: DataStore, codes: Sequence[str], spans: Sequence[AgeSpan]
) -> tuple[list[float], str] | None:
    """Residents of each span in the areas, and how they were counted (module docstring)."""
    sources = age_sources(store, codes, sexes=None)
    exact = next((s for s in sources if all(s.aligned(lo, _top(hi)) for lo, hi in spans)), None)
    if exact is not None:
        return _from_source(store, exact, codes, spans), (
            f"counted exactly from {short_table(exact.meta['ons_table'])}"
        )
    wider = [s for s in sources if all(s.superset(lo, _top(hi)) is not None for lo, hi in spans)]
    if wider:
        best = min(
            wider,
            key=lambda s: sum(_from_source(store, s, codes, [_widened(s, span) for span in spans])),
        )
        widened = [_widened(best, span) for span in spans]
        bands = ", ".join(span_text(w) for w in widened)
        return _from_source(store, best, codes, widened), (
            f"at most the residents aged {bands} in {short_table(best.meta['ons_table'])}, "
            "the narrowest published band around them"
        )
    return _apportioned(store, codes, spans)


def _top(high: int | None) -> int:
    return OPEN_AGE if high is None else high


def _widened(source: _AgeSource, span: AgeSpan) -> AgeSpan:
    low, high = span
    found = source.superset(low, _top(high))
    assert found is not None
    return found[0], None if found[1] >= OPEN_AGE else found[1]


def _from_source(
    store: DataStore, source: _AgeSource, codes: Sequence[str], spans: Sequence[AgeSpan]
) -> list[float]:
    rows = (
        store.table("age_sex")
        .lazy()
        .filter(
            pl.col("source") == source.key,
            pl.col("area_code").is_in(list(codes)),
        )
        .with_columns(pl.col("age_high").fill_null(OPEN_AGE))
        .select("age_low", "age_high", "count")
        .collect()
        .rows()
    )
    return [
        float(sum(c for lo, hi, c in rows if lo >= low and hi <= _top(high))) for low, high in spans
    ]


def _apportioned(
    store: DataStore, codes: Sequence[str], spans: Sequence[AgeSpan]
) -> tuple[list[float], str] | None:
    """Each LSOA's residents × its MSOA's share in the ages, summed (wards)."""
    wanted = list(codes)
    lsoas = store.table(_SMALL_AREAS).filter(
        (pl.col("ltla_code").is_in(wanted) | pl.col("ward_code").is_in(wanted)).fill_null(False)
    )
    if lsoas.height == 0:
        return None
    found = set(lsoas["ltla_code"].to_list()) | set(lsoas["ward_code"].to_list())
    if not set(wanted) <= found:
        return None
    ages = store.table(_MSOA_AGE).filter(
        pl.col("msoa21_code").is_in(lsoas["msoa21_code"].unique().to_list())
    )
    counts = []
    for low, high in spans:
        top = _OLDEST if high is None else min(high, _OLDEST)
        shares = ages.group_by("msoa21_code").agg(
            (
                pl.col("count").filter(pl.col("age").is_between(low, top)).sum()
                / pl.col("count").sum()
            ).alias("share")
        )
        joined = lsoas.join(shares, on="msoa21_code", how="left")
        counts.append(
            float((joined["residents"].cast(pl.Float64) * joined["share"].fill_null(0.0)).sum())
        )
    return counts, (
        "approximated: each LSOA's residents (Census 2021) scaled by the share of its "
        "MSOA's residents in those ages (TS007 by single year)"
    )
