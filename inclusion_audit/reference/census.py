"""Census 2021 reference populations: the profile of a characteristic for some areas.

The tables are built by ``scripts/build_reference_data.py`` from ONS and NISRA
outputs and committed with the package, so an audit never needs the network or
the raw files. This module only reads them: it resolves area names and codes,
picks the table whose population base best matches the event's eligible ages,
and adds areas up.

This module is also the one entry point callers use for the shipped Census data:
it re-exports what :mod:`.census_data` (loading, the area index), :mod:`.areas`
(resolving names) and :mod:`.ages` (eligible ages, age and sex profiles) define,
so ``census.resolve_areas`` and ``census.age_profile`` read as one API.

Design choices worth knowing (details in ``docs/reference-data.md``):

* Tables are loaded lazily, checked against the sha256 in ``manifest.json`` on
  first use (a corrupted checkout fails loudly rather than auditing against
  wrong numbers) and cached per directory.
* Age is exact from single-year counts, so any bands and any eligible range
  work. Other characteristics use a 16+ table when the eligible range starts at
  16 or above and one exists; otherwise the all-ages shares stand in, and the
  profile says so in ``base`` and ``caveats``.
* "Not answered" (religion, sexual orientation, gender identity) is returned
  separately from the categories, never as one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from inclusion_audit.reference.ages import (
    JOINT,
    MAX_AGE,
    AgeBandError,
    AgeRange,
    age_profile,
    age_sex_profile,
    age_sources,
    default_age_profile,
    parse_age_bands,
    parse_age_range,
    sex_profile,
)
from inclusion_audit.reference.areas import (
    AREA_TYPES,
    OverlappingAreasError,
    area_caveats,
    data_codes,
    list_areas,
    resolve_areas,
)
from inclusion_audit.reference.base_gap import BaseGap, base_gap
from inclusion_audit.reference.census_data import (
    AREAS_HINT,
    ENV_VAR,
    Area,
    CensusProfile,
    CharacteristicNotAvailableError,
    DataStore,
    area_name_key,
    data_store,
    licence_attribution,
    reference_data_dir,
    reference_manifest,
    remembered_profile,
    short_table,
    unique,
)
from inclusion_audit.reference.fitting import iterative_proportional_fit

__all__ = [
    "AREAS_HINT",
    "AREA_TYPES",
    "ENV_VAR",
    "JOINT",
    "MAX_AGE",
    "AgeBandError",
    "AgeRange",
    "Area",
    "BaseGap",
    "CensusProfile",
    "CharacteristicNotAvailableError",
    "OverlappingAreasError",
    "age_profile",
    "age_sex_profile",
    "area_name_key",
    "available_characteristics",
    "census_categories",
    "census_profile",
    "known_characteristics",
    "licence_attribution",
    "list_areas",
    "parse_age_bands",
    "parse_age_range",
    "reference_data_dir",
    "reference_manifest",
    "resolve_areas",
]


def known_characteristics() -> list[str]:
    """Every characteristic name the reference data defines, for any area."""
    return list(data_store().catalogue)


def available_characteristics(areas: Sequence[Area]) -> list[str]:
    """Characteristics :func:`census_profile` can give for these areas (all ages)."""
    store = data_store()
    codes = set(data_codes(store.areas, areas, "the characteristics list"))
    names: list[str] = []
    for name, spec in store.catalogue.items():
        if name == "age":
            if age_sources(store, codes, sexes=None):
                names.append(name)
        elif name == "sex":
            if age_sources(store, codes, sexes=("Female", "Male")):
                names.append(name)
        elif any(_covers(store, v, name, codes) for v in spec["variants"]):
            names.append(name)
    return names


def census_profile(
    areas: Sequence[Area], characteristic: str, eligible_age: AgeRange | None = None
) -> CensusProfile:
    """The Census distribution of a characteristic for the areas added together.

    ``eligible_age`` picks the population base: see the module docstring and
    ``docs/reference-data.md``. Age uses standard ONS bands clipped to the
    eligible range; call :func:`age_profile` for the register's own bands.

    Raises:
        CharacteristicNotAvailableError: no table covers the characteristic for all
            the areas (``reason`` says why).
        OverlappingAreasError: the areas overlap.
    """
    return remembered_profile(
        ("census_profile", tuple(areas), characteristic, eligible_age),
        lambda: _census_profile(areas, characteristic, eligible_age),
    )


def _census_profile(
    areas: Sequence[Area], characteristic: str, eligible_age: AgeRange | None
) -> CensusProfile:
    store = data_store()
    codes = data_codes(store.areas, areas, f"'{characteristic}'")
    if characteristic == "age":
        return default_age_profile(store, areas, codes, eligible_age)
    if characteristic == "sex":
        return sex_profile(store, areas, codes, eligible_age)
    spec, variant, note, caveat = _chosen_variant(store, areas, codes, characteristic, eligible_age)
    totals = dict(
        store.table(variant["table"])
        .lazy()
        .filter(pl.col("characteristic") == characteristic, pl.col("area_code").is_in(codes))
        .group_by("category")
        .agg(pl.col("count").sum())
        .collect()
        .iter_rows()
    )
    categories = {c: float(totals.get(c, 0)) for c in variant["categories"]}
    universe = variant["universe"]
    base_low = variant["min_age"]
    matched = _age_matched(store, codes, spec, variant, categories, eligible_age)
    if matched is not None:
        categories, note, caveat, universe, base_low = matched
    gap = None if base_low is None else base_gap(store, codes, int(base_low), None, eligible_age)
    not_answered = (
        float(sum(totals.get(c, 0) for c in variant["not_answered"])) if spec["voluntary"] else None
    )
    caveats = [*spec["caveats"], *variant["caveats"]]
    if caveat:
        caveats.append(caveat)
    caveats.extend(area_caveats(store.areas, areas))
    base = f"{universe} (Census 2021, {short_table(variant['ons_table'])})"
    return CensusProfile(
        name=characteristic,
        base=f"{base}; {note}." if note else f"{base}.",
        universe=universe,
        table=variant["ons_table"],
        categories=categories,
        not_answered=not_answered,
        caveats=tuple(unique(caveats)),
        unit=variant["unit"],
        base_gap=gap,
    )


def _age_matched(
    store: DataStore,
    codes: Sequence[str],
    spec: dict[str, Any],
    variant: dict[str, Any],
    categories: dict[str, float],
    eligible: AgeRange | None,
) -> tuple[dict[str, float], str, str, str, int] | None:
    """Detailed categories fitted to an age-matched margin, with the base's note, caveat,
    universe and lowest age.

    Where the catalogue names an ``age_matching`` margin (ethnic group: the 5
    high-level groups for residents aged 16+) and the table used stands in for
    younger ages, the categories are rescaled by iterative proportional fitting
    (``reference.fitting``). None where no margin fits the areas and ages.
    """
    how = spec.get("age_matching")
    if how is None or eligible is None or eligible.is_all_ages:
        return None
    if variant["table"] not in how["tables"] or variant["min_age"] is None:
        return None
    if variant["min_age"] >= eligible.low:
        return None
    margin_spec = store.catalogue.get(how["margin"])
    if margin_spec is None:
        return None
    wanted = set(codes)
    margin_variant = next(
        (
            v
            for v in margin_spec["variants"]
            if v["min_age"] is not None
            and variant["min_age"] < v["min_age"] <= eligible.low
            and _covers(store, v, how["margin"], wanted)
        ),
        None,
    )
    if margin_variant is None:
        return None
    group_of = {
        c: next((g for g in margin_variant["categories"] if c.startswith(g + ":")), "")
        for c in categories
    }
    if not all(group_of.values()):
        return None
    margins = dict(
        store.table(margin_variant["table"])
        .lazy()
        .filter(pl.col("characteristic") == how["margin"], pl.col("area_code").is_in(codes))
        .group_by("category")
        .agg(pl.col("count").sum())
        .collect()
        .iter_rows()
    )
    fitted = iterative_proportional_fit(
        categories, group_of, {g: float(margins.get(g, 0)) for g in margin_variant["categories"]}
    )
    min_age = int(margin_variant["min_age"])
    table = short_table(margin_variant["ons_table"])
    note = (
        f"all-ages detailed categories fitted by iterative proportional fitting to the 5 "
        f"high-level groups for residents aged {min_age}+ ({table})"
    )
    caveat = ""
    if min_age != eligible.low or eligible.high is not None:
        note += f", which stand in for the eligible ages {eligible.label}"
        caveat = (
            f"{spec['label']}: the age-matched figures are for residents aged {min_age}+, "
            f"and stand in for the eligible ages {eligible.label}."
        )
    return fitted, note, caveat, str(margin_variant["universe"]), min_age


def census_categories(
    areas: Sequence[Area], characteristic: str, eligible_age: AgeRange | None = None
) -> list[str]:
    """The categories :func:`census_profile` gives, in order, without counting anyone.

    Raises what :func:`census_profile` raises.
    """
    if characteristic in ("age", "sex"):
        return list(census_profile(areas, characteristic, eligible_age).categories)
    store = data_store()
    codes = data_codes(store.areas, areas, f"'{characteristic}'")
    variant = _chosen_variant(store, areas, codes, characteristic, eligible_age)[1]
    return list(variant["categories"])


def _chosen_variant(
    store: DataStore,
    areas: Sequence[Area],
    codes: Sequence[str],
    characteristic: str,
    eligible_age: AgeRange | None,
) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """The catalogue entry, the variant (table) that gives it, and that choice's note and caveat."""
    spec = store.catalogue.get(characteristic)
    if spec is None or "variants" not in spec:
        known = ", ".join(store.catalogue)
        raise CharacteristicNotAvailableError(
            characteristic,
            areas,
            f"'{characteristic}' is not a Census characteristic in the reference data "
            f"(known: {known}).",
        )
    # Best variant first: the first that covers the areas is the one to use.
    wanted = set(codes)
    variant = next(
        (
            v
            for v in _by_preference(spec["variants"], eligible_age)
            if _covers(store, v, characteristic, wanted)
        ),
        None,
    )
    if variant is None:
        raise CharacteristicNotAvailableError(
            characteristic, areas, _missing_reason(store, characteristic, spec, areas)
        )
    try:
        note, caveat = _variant_note(variant, eligible_age, spec["label"])
    except _OutsideUniverse as exc:
        raise CharacteristicNotAvailableError(characteristic, areas, str(exc)) from None
    return spec, variant, note, caveat


def _covers(store: DataStore, variant: dict[str, Any], name: str, codes: set[str]) -> bool:
    return all(store.areas.has_rows(code, variant["table"], name) for code in codes)


def _by_preference(
    variants: list[dict[str, Any]], eligible: AgeRange | None
) -> list[dict[str, Any]]:
    """The variants best first for the eligible ages; the first that covers the areas is used.

    Households tables ignore age and come first. Then, for restricted ages, the
    variants by minimum age from the highest not above the eligible minimum down
    (16+ tables for 16+ or 18+ events), then those starting above it, youngest
    first; for all ages, youngest first.
    """
    households = [v for v in variants if v["min_age"] is None]
    by_age = sorted(
        (v for v in variants if v["min_age"] is not None), key=lambda v: int(v["min_age"])
    )
    if eligible is None or eligible.is_all_ages:
        return households + by_age
    below = [v for v in by_age if v["min_age"] <= eligible.low]
    above = [v for v in by_age if v["min_age"] > eligible.low]
    return households + below[::-1] + above


def _variant_note(chosen: dict[str, Any], eligible: AgeRange | None, label: str) -> tuple[str, str]:
    """A note for ``base`` and a caveat spelling out how the table differs from the ages."""
    if eligible is None or eligible.is_all_ages:
        return "", ""
    if chosen["min_age"] is None:
        return (
            f"households, so the eligible ages {eligible.label} do not apply",
            f"{label} is counted in households, not people: the eligible ages "
            f"{eligible.label} cannot be applied to it.",
        )
    universe, table = chosen["universe"], short_table(chosen["ons_table"])
    min_age = int(chosen["min_age"])
    if eligible.high is not None and eligible.high < min_age:
        raise _OutsideUniverse(
            f"Census 2021 figures cover {universe[0].lower() + universe[1:]} only, and the "
            f"eligible ages {eligible.label} are all below {min_age}."
        )
    if min_age == eligible.low and eligible.high is None:
        return "", ""
    notes: list[str] = []
    caveats: list[str] = []
    if min_age < eligible.low or eligible.high is not None:
        notes.append(f"shares for this base stand in for the eligible ages {eligible.label}")
        caveats.append(
            f"{label}: {table} cannot separate the eligible ages {eligible.label}, so the "
            f"shares for {universe[0].lower() + universe[1:]} are used."
        )
    if min_age > eligible.low:
        notes.append(f"eligible people under {min_age} are outside this base")
        caveats.append(
            f"{label}: Census 2021 figures cover {universe[0].lower() + universe[1:]} only; "
            f"eligible people aged {eligible.low}-{min_age - 1} are not in the base."
        )
    return " and ".join(notes), " ".join(caveats)


class _OutsideUniverse(Exception):
    """Internal: the eligible ages fall wholly outside the table's population base."""


def _missing_reason(
    store: DataStore, name: str, spec: dict[str, Any], areas: Sequence[Area]
) -> str:
    """Why no single table covers the areas: wrong geography, or mixed classifications."""
    index = store.areas
    uncovered = [
        a
        for a in areas
        if not any(_covers(store, v, name, set(index.data_codes(a))) for v in spec["variants"])
    ]
    label = spec["label"]
    if not uncovered:
        return (
            f"England and Wales and Northern Ireland publish {label.lower()} with different "
            "categories, so their figures cannot be added up; audit them separately."
        )
    listed = ", ".join(f"{a.name} ({a.code})" for a in uncovered[:5])
    reasons = [f"no Census 2021 table in the reference data gives {label.lower()} for {listed}"]
    if any(a.type == "ward" for a in uncovered):
        ward_ok = _characteristics_for(store, "ward")
        reasons.append(
            "ward figures are built from LSOA tables, and only these exist at LSOA: "
            + ", ".join(ward_ok)
        )
    if any(a.code.startswith("N") for a in uncovered):
        reasons.append(
            "for Northern Ireland only NISRA's "
            + ", ".join(_characteristics_for(store, "lgd"))
            + " are included"
        )
    return "; ".join(reasons) + "."


def _characteristics_for(store: DataStore, area_type: str) -> list[str]:
    sample = next(r.area for r in store.areas.records if r.area.type == area_type)
    return available_characteristics([sample])
