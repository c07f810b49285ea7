"""Census areas: listing them and resolving what a user typed (a code, a name in any case).

Authorities created since 2021 resolve to the areas the Census published, and
areas that overlap are refused, since adding them up would count people twice.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from inclusion_audit.errors import (
    AreaNotFoundError,
    InputError,
)
from inclusion_audit.reference.census_data import (
    AREAS_HINT,
    Area,
    AreaIndex,
    area_name_key,
    data_store,
)

__all__ = [
    "OverlappingAreasError",
    "list_areas",
    "resolve_areas",
]


AREA_TYPES = ("country", "region", "ltla", "ltla23", "lgd", "ward")


class OverlappingAreasError(InputError):
    """Two requested areas overlap, so adding them up would count people twice."""


def list_areas(types: Sequence[str] | None = None) -> list[Area]:
    """Every area, optionally only of some types (country, region, ltla, ltla23, lgd, ward).

    Ordered by type (countries first, wards last) then code.
    """
    wanted = set(types) if types else set(AREA_TYPES)
    unknown = sorted(wanted - set(AREA_TYPES))
    if unknown:
        raise AreaNotFoundError(
            f"Unknown area type {', '.join(repr(u) for u in unknown)}; use one of "
            f"{', '.join(AREA_TYPES)}."
        )
    return [r.area for r in data_store().areas.records if r.area.type in wanted]


def resolve_areas(specs: Sequence[str]) -> list[Area]:
    """Resolve codes or names (case-insensitive) to areas, keeping order, without repeats.

    2023 merged authorities (Cumberland, Westmorland and Furness, North Yorkshire,
    Somerset) are accepted and stand for the sum of their 2021 predecessors. A name
    shared by a ward and a local authority, region or country means the larger area;
    give a ward as ``Ward, Local authority`` or by code.

    Raises:
        AreaNotFoundError: for an unknown or ambiguous value, listing up to five
            close candidates as ``Name (code)``.
    """
    index = data_store().areas
    found: list[Area] = []
    for spec in specs:
        area = _resolve_one(index, spec)
        if area not in found:
            found.append(area)
    return found


def _resolve_one(index: AreaIndex, spec: str) -> Area:
    text = spec.strip()
    if not text:
        raise AreaNotFoundError(f"An empty area name was given. {AREAS_HINT}")
    record = index.by_code.get(text.upper())
    if record is not None:
        return record.area
    matches = index.named(area_name_key(text))
    if len(matches) == 1:
        return matches[0].area
    if matches:
        exact = [m for m in matches if not m.area.approximate]
        if len(exact) == 1:
            return exact[0].area
        listed = "; ".join(f"{m.area.name} ({m.area.code})" for m in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise AreaNotFoundError(
            f"Area '{spec}' is ambiguous: it matches {len(matches)} areas: {listed}{more}. "
            f"Give the code, or a ward as 'Ward, Local authority'. {AREAS_HINT}"
        )
    close = difflib.get_close_matches(area_name_key(text), list(index.by_name), n=5, cutoff=0.6)
    candidates: list[str] = []
    for name in close:
        for match in index.by_name[name]:
            label = f"{match.area.name} ({match.area.code})"
            if label not in candidates:
                candidates.append(label)
    hint = f" Did you mean: {'; '.join(candidates[:5])}?" if candidates else ""
    raise AreaNotFoundError(
        f"Area '{spec}' matches no Census 2021 area name or code.{hint} {AREAS_HINT}"
    )


def data_codes(index: AreaIndex, areas: Sequence[Area], what: str) -> list[str]:
    """Table codes for the areas, refusing overlaps that would count people twice.

    Local authorities, regions and countries overlap when they share an LTLA (or
    LGD). A ward overlaps a larger area that wholly contains its local authority;
    a ward in a 2023 authority next to one of that authority's 2021 districts
    cannot be checked and is allowed.
    """
    if not areas:
        raise AreaNotFoundError(f"No area was given for {what}. {AREAS_HINT}")
    done: list[tuple[Area, set[str]]] = []
    codes: list[str] = []
    for area in areas:
        record = index.record(area)
        leaves = index.leaves(record.area.code)
        for other, other_leaves in done:
            if other == area:
                continue
            if area.type != "ward" and other.type != "ward":
                clash = bool(leaves & other_leaves)
            elif area.type == "ward" and other.type != "ward":
                clash = index.ward_authority(area) <= other_leaves
            elif other.type == "ward" and area.type != "ward":
                clash = index.ward_authority(other) <= leaves
            else:
                clash = False
            if clash:
                _overlap(area, other)
        done.append((area, leaves))
        codes.extend(index.data_codes(area))
    return codes


def _overlap(first: Area, second: Area) -> None:
    raise OverlappingAreasError(
        f"Areas {first.name} ({first.code}) and {second.name} ({second.code}) overlap, so "
        "adding them up would count residents twice. Give areas that do not contain each "
        "other."
    )


def area_caveats(index: AreaIndex, areas: Sequence[Area]) -> list[str]:
    caveats: list[str] = []
    for area in areas:
        record = index.record(area)
        if record.components:
            parts = ", ".join(index.by_code[c].area.name for c in record.components)
            caveats.append(
                f"{area.name} ({area.code}) was created in April 2023; its figures are the "
                f"sum of its 2021 predecessors: {parts}."
            )
    wards = [a for a in areas if a.type == "ward"]
    if wards:
        caveats.append(
            "Ward figures are approximate: they add up the LSOAs (2021) whose best fit is "
            "in the ward (May 2024 wards), and ward and LSOA boundaries do not nest."
        )
    return caveats
