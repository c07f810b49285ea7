"""Eligible ages, and the Census age and sex profiles built from single-year counts.

Age is exact from single-year counts, so any bands and any eligible range work.

>>> parse_age_range("16–24")
AgeRange(low=16, high=24, label='16-24')
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from inclusion_audit.errors import (
    EligibleAgeError,
    InputError,
)
from inclusion_audit.reference.areas import area_caveats, data_codes
from inclusion_audit.reference.census_data import (
    OPEN_AGE,
    Area,
    CensusProfile,
    CharacteristicNotAvailableError,
    DataStore,
    data_store,
    remembered_profile,
    short_table,
    unique,
)
from inclusion_audit.vocab.ages import (
    STANDARD_STARTS,
    AgeSpan,
    band_label,
    parse_age_band,
    uncovered_spans,
)

__all__ = [
    "AgeBandError",
    "AgeRange",
    "age_profile",
    "parse_age_bands",
    "parse_age_range",
]


MAX_AGE = 120


class AgeBandError(InputError):
    """Age bands passed to :func:`age_profile` are malformed or overlap."""


@dataclass(frozen=True)
class AgeRange:
    """Eligible ages, inclusive; ``high`` is None for an open-ended range such as 16+."""

    low: int
    high: int | None
    label: str

    @property
    def is_all_ages(self) -> bool:
        """True when the range does not restrict anything (``all`` or ``0+``)."""
        return self.low == 0 and self.high is None


_PLUS = re.compile(r"(\d{1,3})\s*\+")


_RANGE = re.compile(r"(\d{1,3})\s*(?:-|–|—|to)\s*(\d{1,3})")


_ALL = {"all", "all ages", "any", "any age"}


_ACCEPTED = "'all', a minimum age such as '16+' or '18+', or an inclusive range such as '16-24'"


def parse_age_range(spec: str) -> AgeRange:
    """Parse an ``--eligible-age`` value: ``all``, ``16+``, ``16-24`` or ``16–24``.

    Raises:
        EligibleAgeError: naming the value and the accepted forms.

    >>> parse_age_range("18+")
    AgeRange(low=18, high=None, label='18+')
    >>> parse_age_range("all")
    AgeRange(low=0, high=None, label='all')
    """
    text = spec.strip().casefold()
    if text in _ALL:
        return AgeRange(0, None, "all")
    if match := _PLUS.fullmatch(text):
        low = int(match.group(1))
        _check_age(spec, low)
        return AgeRange(low, None, f"{low}+")
    if match := _RANGE.fullmatch(text):
        low, high = int(match.group(1)), int(match.group(2))
        _check_age(spec, low)
        _check_age(spec, high)
        if low > high:
            raise EligibleAgeError(
                f"Eligible age '{spec}' starts above where it ends; write the lower age "
                f"first, e.g. '{high}-{low}'."
            )
        return AgeRange(low, high, f"{low}-{high}")
    raise EligibleAgeError(f"Eligible age '{spec}' is not understood. Use {_ACCEPTED}.")


def _check_age(spec: str, age: int) -> None:
    if age > MAX_AGE:
        raise EligibleAgeError(
            f"Eligible age '{spec}' uses age {age}, above {MAX_AGE}. Use {_ACCEPTED}."
        )


_ONS_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 15),
    (16, 24),
    (25, 34),
    (35, 44),
    (45, 54),
    (55, 64),
    (65, 74),
    (75, None),
)


def _age_label(low: int, high: int | None) -> str:
    """ONS-style band label, e.g. 'Aged 16 to 24 years', 'Aged 75 years and over'."""
    if high is None:
        return f"Aged {low} years and over"
    if low == 0:
        return f"Aged {high} years and under"
    if low == high:
        return f"Aged {low} year" if low == 1 else f"Aged {low} years"
    return f"Aged {low} to {high} years"


def _range_text(low: int, high: int | None) -> str:
    if high is None:
        return "all ages" if low == 0 else f"{low}+"
    return f"{low}" if low == high else f"{low}-{high}"


@dataclass(frozen=True)
class _AgeSource:
    key: str
    meta: dict[str, Any]
    bands: tuple[tuple[int, int], ...]  # high uses OPEN_AGE for open-ended

    def aligned(self, low: int, high: int) -> bool:
        """True when [low, high] is exactly a union of this source's bands."""
        starts = {b[0] for b in self.bands}
        ends = {b[1] for b in self.bands}
        inside = [b for b in self.bands if b[0] >= low and b[1] <= high]
        covered = sum(b[1] - b[0] + 1 for b in inside)
        return low in starts and high in ends and covered == high - low + 1

    def superset(self, low: int, high: int) -> tuple[int, int] | None:
        """The smallest union of bands containing [low, high], if the source reaches it."""
        over = [b for b in self.bands if b[1] >= low and b[0] <= high]
        if not over:
            return None
        first, last = min(b[0] for b in over), max(b[1] for b in over)
        if first > low or last < high:
            return None
        return first, last


def age_sources(
    store: DataStore, codes: Iterable[str], sexes: tuple[str, ...] | None
) -> list[_AgeSource]:
    """Age sources with rows for every code; ``sexes`` None means any (summed over sex)."""
    wanted = set(codes)
    meta = store.manifest["tables"]["age_sex"]["age_sources"]
    found: list[_AgeSource] = []
    for key, info in meta.items():
        if sexes is not None and not set(sexes) <= set(info["sex"]):
            continue
        if not all(store.areas.has_rows(code, "age_sex", key) for code in wanted):
            continue
        found.append(_AgeSource(key, info, store.age_bands(key)))
    return found


def _age_counts(
    store: DataStore, source: _AgeSource, codes: Sequence[str], by_sex: bool
) -> pl.LazyFrame:
    # Lazy, so the caller's last steps run in the same query: each query on these
    # small tables costs more in overhead than in work.
    keys = ["age_low", "age_high", *(["sex"] if by_sex else [])]
    frame = (
        store.table("age_sex")
        .lazy()
        .filter(pl.col("source") == source.key, pl.col("area_code").is_in(list(codes)))
    )
    if by_sex:
        frame = frame.filter(pl.col("sex").is_in(["Female", "Male"]))
    return (
        frame.with_columns(pl.col("age_high").fill_null(OPEN_AGE))
        .group_by(keys)
        .agg(pl.col("count").sum())
    )


def _sum_range(counts: Sequence[tuple[int, int, int]], low: int, high: int) -> float:
    # In Python: a polars filter per band costs 0.2 ms, and there are at most 101 rows.
    return float(sum(count for lo, hi, count in counts if lo >= low and hi <= high))


def age_profile(
    areas: Sequence[Area],
    bands: Sequence[tuple[str, int, int | None]],
    eligible_age: AgeRange | None = None,
) -> CensusProfile:
    """Census population in the caller's age bands, covering every eligible age.

    ``bands`` are ``(label, low, high)`` with inclusive ages and ``high`` None for an
    open-ended band, e.g. ``[("18-24", 18, 24), ("75+", 75, None)]``; each is
    clipped to the eligible ages (a band wholly outside them is kept with a count
    of 0 and a caveat). The eligible ages no band covers are never dropped: they
    become groups of their own, cut where the standard bands start (16-24, 25-34,
    …, 75+), so the categories always add up to the whole eligible population.
    With no bands at all, that gives the standard bands. England and Wales
    figures are exact sums of single-year counts (TS007). Northern Ireland has
    only broad NISRA bands, so its bands must line up with them.

    Raises:
        AgeBandError: a band is inverted or bands overlap.
        CharacteristicNotAvailableError: no age table lines up with the bands.

    >>> from inclusion_audit.reference.areas import resolve_areas
    >>> lambeth = resolve_areas(["Lambeth"])
    >>> profile = age_profile(lambeth, [("18-24", 18, 24)], parse_age_range("16+"))
    >>> list(profile.categories)
    ['16-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65-74', '75+']
    >>> sum(profile.categories.values()) == sum(
    ...     age_profile(lambeth, [], parse_age_range("16+")).categories.values())
    True
    """
    return remembered_profile(
        ("age_profile", tuple(areas), tuple(tuple(band) for band in bands), eligible_age),
        lambda: _age_profile(areas, bands, eligible_age),
    )


def _age_profile(
    areas: Sequence[Area],
    bands: Sequence[tuple[str, int, int | None]],
    eligible_age: AgeRange | None,
) -> CensusProfile:
    store = data_store()
    codes = data_codes(store.areas, areas, "age")
    clipped = _clip_bands(bands, eligible_age)
    sources = age_sources(store, codes, sexes=None)
    fitting = _fitting_source(sources, clipped, eligible_age)
    if fitting is None:
        if sources:
            offered = "; ".join(
                f"{s.meta['ons_table']}: "
                + ", ".join(_range_text(lo, None if hi == OPEN_AGE else hi) for lo, hi in s.bands)
                for s in sources
                if len(s.bands) < 20
            )
            reason = (
                f"the bands do not line up with the published age groups ({offered}); "
                "use bands made of these groups."
            )
        else:
            reason = _missing_age_reason(store, areas)
        raise CharacteristicNotAvailableError("age", areas, reason)
    source, gaps = fitting
    counts = _age_counts(store, source, codes, by_sex=False)
    rows = counts.select("age_low", "age_high", "count").collect().rows()
    groups = [
        (lo if lo <= hi else low, label, _sum_range(rows, lo, hi) if lo <= hi else 0.0)
        for (label, lo, hi), (_, low, _) in zip(clipped, bands, strict=True)
    ]
    for lo, hi in gaps:
        top = OPEN_AGE if hi is None else hi
        groups.append((lo, band_label(lo, hi), _sum_range(rows, lo, top)))
    categories = {label: count for _, label, count in sorted(groups, key=lambda g: g[0])}
    restricted = eligible_age is not None and not eligible_age.is_all_ages
    caveats = _band_caveats(bands, clipped, eligible_age)
    left_out = uncovered_spans(
        [(lo, None if hi == OPEN_AGE else hi) for _, lo, hi in clipped if lo <= hi] + list(gaps),
        0 if eligible_age is None else eligible_age.low,
        None if eligible_age is None else eligible_age.high,
        (),
    )
    if left_out:
        caveats.append(
            f"Ages {', '.join(_gap_text(left_out))} fall in no band {source.meta['ons_table']} "
            "publishes for these areas, so they are left out of the census base."
        )
    if bands and gaps:
        labels = ", ".join(f"'{band_label(lo, hi)}'" for lo, hi in gaps)
        every = "every eligible age" if restricted else "every age"
        caveats.append(
            f"The register's age bands leave ages {' and '.join(_gap_text(gaps))} uncovered; "
            f"those ages are groups of their own ({labels}), so the census base still covers "
            f"{every}, and answers in whole years of those ages are counted there."
        )
    if not restricted and any(lo == 0 for lo, _ in gaps):
        caveats.append(
            "No eligible ages were given, so children are compared too, as a group of their "
            f"own ('{band_label(*gaps[0])}'). If the event was not open to them, audit again "
            "with --eligible-age (e.g. 16+ or 18+)."
        )
    caveats.extend(area_caveats(store.areas, areas))
    universe = source.meta["universe"]
    base = f"{universe} (Census 2021, {source.meta['ons_table']})"
    if restricted and eligible_age is not None:
        how = "exact from single-year counts" if source.key == "ts007" else "from age bands"
        base += f", aged {eligible_age.label} ({how})"
    return CensusProfile(
        name="age",
        base=base + ".",
        universe=universe,
        table=source.meta["ons_table"],
        categories=categories,
        not_answered=None,
        caveats=tuple(unique(caveats)),
        unit="persons",
    )


def _fitting_source(
    sources: Sequence[_AgeSource],
    clipped: Sequence[tuple[str, int, int]],
    eligible: AgeRange | None,
) -> tuple[_AgeSource, list[AgeSpan]] | None:
    """The first source whose published groups line up with the bands and the gaps between them.

    Gaps are cut where the standard bands start, or, for a source that does not
    publish those (NISRA's), where its own groups start.
    """
    inside = [(lo, None if hi == OPEN_AGE else hi) for _, lo, hi in clipped if lo <= hi]
    e_low = 0 if eligible is None else eligible.low
    e_high = None if eligible is None else eligible.high
    for source in sources:
        own_starts = tuple(lo for lo, _ in source.bands)
        for starts in (STANDARD_STARTS, own_starts):
            gaps = uncovered_spans(inside, e_low, e_high, starts)
            spans = [*inside, *gaps]
            if all(source.aligned(lo, OPEN_AGE if hi is None else hi) for lo, hi in spans):
                return source, gaps
    # Northern Ireland's tables for residents aged 16+ cannot give the younger ages:
    # there, bands that line up are used alone and the caveat names the ages left out.
    for source in sources:
        if inside and all(source.aligned(lo, OPEN_AGE if hi is None else hi) for lo, hi in inside):
            return source, []
    return None


def _gap_text(gaps: Sequence[AgeSpan]) -> list[str]:
    """Adjacent gap pieces joined again: [(16, 17), (35, 44), (45, None)] → 16-17, 35+."""
    joined: list[list[int | None]] = []
    for lo, hi in gaps:
        if joined and joined[-1][1] is not None and joined[-1][1] + 1 == lo:
            joined[-1][1] = hi
        else:
            joined.append([lo, hi])
    return [_range_text(int(lo or 0), hi) for lo, hi in joined]


def parse_age_bands(spec: str) -> tuple[tuple[str, int, int | None], ...]:
    """Parse an ``--age-bands`` value: bands separated by commas, e.g. ``16-29,30-49,50+``.

    Each band is written as people write them (``16-29``, ``16 to 29``, ``50+``,
    ``Under 18``); a single age is not a band.

    Raises:
        AgeBandError: a band that cannot be read, or two that overlap, named.

    >>> parse_age_bands("16-29, 30 to 49, 50+")
    (('16-29', 16, 29), ('30 to 49', 30, 49), ('50+', 50, None))
    """
    bands: list[tuple[str, int, int | None]] = []
    for part in spec.split(","):
        label = part.strip()
        span = parse_age_band(label) if label else None
        if span is None:
            raise AgeBandError(
                f"--age-bands {spec!r}: {label!r} is not an age band. Write bands such as "
                "'16-24,25-44,45-64,65+' (a range, 'Under 18' or '75+'; a single age is not "
                "a band)."
            )
        bands.append((label, span[0], span[1]))
    _clip_bands(bands, None)  # refuses overlapping bands, naming them
    return tuple(bands)


def _clip_bands(
    bands: Sequence[tuple[str, int, int | None]], eligible: AgeRange | None
) -> list[tuple[str, int, int]]:
    """Validate bands and clip them to the eligible range (empty bands get low > high)."""
    spans: list[tuple[str, int, int]] = []
    for label, low, high in bands:
        top = OPEN_AGE if high is None else high
        if low < 0 or top < low:
            raise AgeBandError(
                f"Age band '{label}' runs from {low} to {high}; ages must be 0 or more and "
                "the band must not end before it starts."
            )
        spans.append((label, low, top))
    ordered = sorted(spans, key=lambda s: s[1])
    for (first, _, first_top), (second, second_low, _) in itertools.pairwise(ordered):
        if second_low <= first_top:
            raise AgeBandError(
                f"Age bands '{first}' and '{second}' overlap, so people would be counted "
                "twice. Make the bands disjoint."
            )
    if eligible is None:
        return spans
    e_low, e_high = eligible.low, OPEN_AGE if eligible.high is None else eligible.high
    return [(label, max(lo, e_low), min(hi, e_high)) for label, lo, hi in spans]


def _band_caveats(
    bands: Sequence[tuple[str, int, int | None]],
    clipped: list[tuple[str, int, int]],
    eligible: AgeRange | None,
) -> list[str]:
    caveats: list[str] = []
    for (label, lo, hi), (_, c_lo, c_hi) in zip(bands, clipped, strict=True):
        if c_lo > c_hi and eligible is not None:
            caveats.append(
                f"Age band '{label}' lies outside the eligible ages {eligible.label}; its "
                "census population is 0."
            )
        elif eligible is not None and (c_lo, c_hi) != (lo, OPEN_AGE if hi is None else hi):
            caveats.append(
                f"Age band '{label}' is limited to the eligible ages "
                f"({_range_text(c_lo, None if c_hi == OPEN_AGE else c_hi)})."
            )
    return caveats


def _missing_age_reason(store: DataStore, areas: Sequence[Area]) -> str:
    if any(a.type == "ward" for a in areas):
        return (
            "ward figures are added up from LSOA tables, and the Census sources the reference "
            "data is built from hold age only by MSOA (TS007, single years), whose areas do not "
            "nest in wards, so there are no ward age figures; compare with the ward's local "
            "authority, or give the ward's ages with --reference."
        )
    return "no age table in the reference data covers all of these areas together."


def default_age_profile(
    store: DataStore, areas: Sequence[Area], codes: Sequence[str], eligible: AgeRange | None
) -> CensusProfile:
    """Age in ONS's standard bands, or the source's own bands where those do not fit."""
    sources = age_sources(store, codes, sexes=None)
    if not sources:
        raise CharacteristicNotAvailableError("age", areas, _missing_age_reason(store, areas))
    e_low = 0 if eligible is None else eligible.low
    e_high = OPEN_AGE if eligible is None or eligible.high is None else eligible.high
    candidates = [(lo, OPEN_AGE if hi is None else hi) for lo, hi in _ONS_BANDS]
    if not all(sources[0].aligned(lo, hi) for lo, hi in candidates):
        # Northern Ireland: use the published bands that fit the eligible ages best.
        fitting = [s for s in sources if s.aligned(e_low, e_high)]
        covering = [s for s in sources if s.superset(e_low, e_high) is not None]
        if not fitting and covering and eligible is not None:
            return _widened_age_profile(areas, covering, eligible)
        candidates = list((fitting or covering or sources)[0].bands)
    bands: list[tuple[str, int, int | None]] = []
    for lo, hi in candidates:
        c_lo, c_hi = max(lo, e_low), min(hi, e_high)
        if c_lo <= c_hi:
            top = None if c_hi == OPEN_AGE else c_hi
            bands.append((_age_label(c_lo, top), c_lo, top))
    return age_profile(areas, bands, eligible)


def _widened_age_profile(
    areas: Sequence[Area], covering: Sequence[_AgeSource], eligible: AgeRange
) -> CensusProfile:
    """Age for eligible ages that no published band starts or ends at (18+ in Northern Ireland).

    NISRA publishes Northern Ireland's ages only in bands (0-19, 20-64, 65+; and
    16-24, 25-39, 40-64, 65+ for residents aged 16+). For an 18+ event the base is
    the smallest run of whole bands that contains the eligible ages (16+), and the
    caveat says how much wider it is; participants' ages are placed in those bands.
    """
    e_high = OPEN_AGE if eligible.high is None else eligible.high

    def excess(source: _AgeSource) -> int:
        span = source.superset(eligible.low, e_high)
        assert span is not None
        return (eligible.low - span[0]) + (min(span[1], 120) - min(e_high, 120))

    source = min(covering, key=excess)
    span = source.superset(eligible.low, e_high)
    assert span is not None
    low, high = span
    top = None if high == OPEN_AGE else high
    bands: list[tuple[str, int, int | None]] = [
        (_age_label(lo, None if hi == OPEN_AGE else hi), lo, None if hi == OPEN_AGE else hi)
        for lo, hi in source.bands
        if lo >= low and hi <= high
    ]
    widened = AgeRange(low, top, _range_text(low, top))
    profile = age_profile(areas, bands, widened)
    published = ", ".join(
        _range_text(lo, None if hi == OPEN_AGE else hi) for lo, hi in source.bands
    )
    caveat = (
        f"Age is published only in the bands {published} ({source.meta['ons_table']}), none "
        f"of which starts or ends where the eligible ages {eligible.label} do: the age base is "
        f"residents aged {widened.label}, a little wider than the event's."
    )
    return replace(profile, caveats=(caveat, *profile.caveats))


def sex_profile(
    store: DataStore, areas: Sequence[Area], codes: Sequence[str], eligible: AgeRange | None
) -> CensusProfile:
    """Sex for the eligible ages, from the age x sex table that fits them best."""
    sources = age_sources(store, codes, sexes=("Female", "Male"))
    if not sources:
        reason = (
            "the Census sources the reference data is built from hold sex only for local "
            "authorities, regions and countries (no LSOA or MSOA table of sex), so there are "
            "no ward sex figures; compare with the ward's local authority, or give the ward's "
            "figures with --reference."
            if any(a.type == "ward" for a in areas)
            else "no sex table in the reference data covers all of these areas together."
        )
        raise CharacteristicNotAvailableError("sex", areas, reason)
    e_low = 0 if eligible is None else eligible.low
    e_high = OPEN_AGE if eligible is None or eligible.high is None else eligible.high

    def rank(source: _AgeSource) -> tuple[int, int]:
        if source.aligned(e_low, e_high):
            return (0, 0)
        span = source.superset(e_low, e_high)
        if span is not None:
            return (1, (e_low - span[0]) + (min(span[1], 120) - min(e_high, 120)))
        return (2, 0)

    source = min(sources, key=rank)
    span = source.superset(e_low, e_high)
    used_low, used_high = span if span is not None else (source.bands[0][0], source.bands[-1][1])
    counts = _age_counts(store, source, codes, by_sex=True)
    inside = counts.filter(pl.col("age_low") >= used_low, pl.col("age_high") <= used_high)
    totals = dict(inside.group_by("sex").agg(pl.col("count").sum()).collect().iter_rows())
    categories = {sex: float(totals.get(sex, 0)) for sex in ("Female", "Male")}
    universe = source.meta["universe"]
    table = source.meta["ons_table"]
    used = _range_text(used_low, None if used_high == OPEN_AGE else used_high)
    caveats: list[str] = []
    note = ""
    restricted = eligible is not None and not eligible.is_all_ages
    if rank(source)[0] == 0:
        if restricted and eligible is not None and (used_low, used_high) != (0, OPEN_AGE):
            universe = f"Usual residents aged {eligible.label}"
    elif eligible is not None:
        used_text = used if used == "all ages" else f"ages {used}"
        note = f"sex for {used_text} stands in for the eligible ages {eligible.label}"
        caveats.append(
            f"Sex: {short_table(table)} gives sex only for {used_text}; those figures stand "
            f"in for the eligible ages {eligible.label}."
        )
    caveats.extend(area_caveats(store.areas, areas))
    base = f"{universe} (Census 2021, {short_table(table)})"
    gap = None
    if note:
        from inclusion_audit.reference.base_gap import base_gap

        gap = base_gap(
            store, codes, used_low, None if used_high >= OPEN_AGE else used_high, eligible
        )
    return CensusProfile(
        name="sex",
        base=f"{base}; {note}." if note else f"{base}.",
        universe=universe,
        table=table,
        categories=categories,
        not_answered=None,
        caveats=tuple(unique(caveats)),
        unit="persons",
        base_gap=gap,
    )


JOINT = "×"
"""Joins the parts of a joint characteristic and of its cells: ``age×sex``, ``25-34×Female``."""


def age_sex_profile(
    areas: Sequence[Area], age_categories: Sequence[str], eligible_age: AgeRange | None = None
) -> CensusProfile:
    """Census population in age band × sex cells (``25-34×Female``), from a published joint table.

    ``age_categories`` are the age profile's own categories (the register's bands,
    clipped to the eligible ages), so the cells line up with the age margin. The
    figures come from a table of age by sex whose bands line up with them (for
    England and Wales areas, ONS's age by sex table for residents aged 16+, in
    16-24, 25-34, …, 75+). Nothing is modelled: where no joint table lines up, the
    cross is not available, whatever the separate age and sex figures say.

    Raises:
        CharacteristicNotAvailableError: no published joint table lines up with the bands.
    """
    from inclusion_audit.vocab.ages import parse_age_span

    store = data_store()
    name = f"age{JOINT}sex"
    codes = data_codes(store.areas, areas, "age")
    e_low = 0 if eligible_age is None else eligible_age.low
    e_high = OPEN_AGE if eligible_age is None or eligible_age.high is None else eligible_age.high
    bands: list[tuple[str, int, int]] = []
    for label in age_categories:
        span = parse_age_span(label)
        if span is None:
            raise CharacteristicNotAvailableError(
                name, areas, f"the age category {label!r} is not a band of ages."
            )
        low, high = span
        top = OPEN_AGE if high is None else high
        bands.append((label, max(low, e_low), min(top, e_high)))
    sources = [s for s in age_sources(store, codes, sexes=("Female", "Male")) if len(s.bands) > 1]
    wanted = [(lo, hi) for _, lo, hi in bands if lo <= hi]
    source = next((s for s in sources if all(s.aligned(lo, hi) for lo, hi in wanted)), None)
    if source is None:
        offered = "; ".join(
            f"{s.meta['ons_table']}: "
            + ", ".join(_range_text(lo, None if hi == OPEN_AGE else hi) for lo, hi in s.bands)
            for s in sources
        )
        reason = (
            "the age bands do not line up with the published age by sex table "
            f"({offered}), and a joint distribution is not invented from the separate "
            "age and sex figures."
            if sources
            else "no published age by sex table covers these areas: the age and sex "
            "figures are margins only, and a joint distribution is not invented from them."
        )
        raise CharacteristicNotAvailableError(name, areas, reason)
    rows = _age_counts(store, source, codes, by_sex=True).collect().rows()
    categories: dict[str, float] = {}
    for label, lo, hi in bands:
        for sex in ("Female", "Male"):
            categories[f"{label}{JOINT}{sex}"] = (
                float(sum(c for a, b, s, c in rows if s == sex and a >= lo and b <= hi))
                if lo <= hi
                else 0.0
            )
    universe = source.meta["universe"]
    return CensusProfile(
        name=name,
        base=f"{universe} (Census 2021, {short_table(source.meta['ons_table'])}).",
        universe=universe,
        table=source.meta["ons_table"],
        categories=categories,
        not_answered=None,
        caveats=tuple(unique(area_caveats(store.areas, areas))),
        unit="persons",
    )
