"""Census areas: listing them and resolving what a user typed (a code, a name in any case).

Authorities created since 2021 resolve to the areas the Census published, and
areas that overlap are refused, since adding them up would count people twice.
"""

from __future__ import annotations

import difflib
import re
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
    welsh = WELSH_NAMES.get(area_name_key(text))
    if welsh is not None and index.by_code.get(welsh) is not None:
        return index.by_code[welsh].area
    scottish = _scottish_council(text)
    if scottish is not None:
        raise AreaNotFoundError(_scotland_message(spec, scottish))
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


# Welsh-language names of Wales and its 22 principal areas (the Welsh Language
# Commissioner's standardised forms, as listed in the alt-names of mySociety's
# uk_local_authority_names_and_codes in the shared Census sources), folded by
# area_name_key.
WELSH_NAMES: dict[str, str] = {
    area_name_key(name): code
    for code, names in {
        "W92000004": ("Cymru",),
        "W06000001": ("Ynys Môn", "Sir Ynys Môn", "Cyngor Sir Ynys Môn"),
        "W06000002": ("Cyngor Gwynedd", "Cyngor Sir Gwynedd"),
        "W06000003": ("Cyngor Bwrdeistref Sirol Conwy",),
        "W06000004": ("Sir Ddinbych", "Cyngor Sir Ddinbych"),
        "W06000005": ("Sir y Fflint", "Cyngor Sir y Fflint"),
        "W06000006": ("Wrecsam", "Cyngor Bwrdeistref Sirol Wrecsam"),
        "W06000008": ("Cyngor Sir Ceredigion",),
        "W06000009": ("Sir Benfro", "Cyngor Sir Penfro"),
        "W06000010": ("Sir Gaerfyrddin", "Cyngor Sir Gâr"),
        "W06000011": ("Abertawe", "Dinas a Sir Abertawe"),
        "W06000012": ("Castell-nedd Port Talbot",),
        "W06000013": ("Pen-y-bont ar Ogwr",),
        "W06000014": ("Bro Morgannwg",),
        "W06000015": ("Caerdydd", "Cyngor Caerdydd", "Dinas Caerdydd"),
        "W06000016": ("Rhondda Cynon Taf",),
        "W06000018": ("Caerffili",),
        "W06000019": ("Blaenau Gwent",),
        "W06000020": ("Tor-faen",),
        "W06000021": ("Sir Fynwy",),
        "W06000022": ("Casnewydd",),
        "W06000023": ("Cyngor Sir Powys",),
        "W06000024": ("Merthyr Tudful",),
    }.items()
    for name in names
}

# Scotland's 32 council areas (mySociety's uk_local_authority_names_and_codes in
# the shared Census sources) and common short names. Scotland's Census (2022, NRS) is not in
# the reference data: these names get a message that says so, not a near miss.
_SCOTTISH_COUNCILS: dict[str, tuple[str, ...]] = {
    "S92000003": ("Scotland", "Alba"),
    "S12000005": ("Clackmannanshire",),
    "S12000006": ("Dumfries and Galloway",),
    "S12000008": ("East Ayrshire",),
    "S12000010": ("East Lothian",),
    "S12000011": ("East Renfrewshire",),
    "S12000013": ("Na h-Eileanan Siar", "Eilean Siar", "Western Isles"),
    "S12000014": ("Falkirk",),
    "S12000017": ("Highland",),
    "S12000018": ("Inverclyde",),
    "S12000019": ("Midlothian",),
    "S12000020": ("Moray",),
    "S12000021": ("North Ayrshire",),
    "S12000023": ("Orkney Islands", "Orkney"),
    "S12000026": ("Scottish Borders", "The Scottish Borders"),
    "S12000027": ("Shetland Islands", "Shetland"),
    "S12000028": ("South Ayrshire",),
    "S12000029": ("South Lanarkshire",),
    "S12000030": ("Stirling",),
    "S12000033": ("Aberdeen City", "Aberdeen"),
    "S12000034": ("Aberdeenshire",),
    "S12000035": ("Argyll and Bute",),
    "S12000036": ("City of Edinburgh", "Edinburgh"),
    "S12000038": ("Renfrewshire",),
    "S12000039": ("West Dunbartonshire",),
    "S12000040": ("West Lothian",),
    "S12000041": ("Angus",),
    "S12000042": ("Dundee City", "Dundee"),
    "S12000045": ("East Dunbartonshire",),
    "S12000047": ("Fife",),
    "S12000048": ("Perth and Kinross",),
    "S12000049": ("Glasgow City", "Glasgow"),
    "S12000050": ("North Lanarkshire",),
}


def _scottish_council(text: str) -> str | None:
    """The name of the Scottish area ``text`` names or codes, else None."""
    code = text.strip().upper()
    if code in _SCOTTISH_COUNCILS:
        return _SCOTTISH_COUNCILS[code][0]
    if re.fullmatch(r"S(?:12|13|16|92)\d{6}", code):
        return code
    key = area_name_key(text)
    for names in _SCOTTISH_COUNCILS.values():
        for name in names:
            if area_name_key(name) in (key, key.removesuffix(" council")):
                return names[0]
    return None


def _scotland_message(spec: str, name: str) -> str:
    return (
        f"Area '{spec}' is in Scotland ({name}): Scotland's Census (2022, National Records of "
        "Scotland) is not included in the reference data, which holds Census 2021 for England "
        "and Wales and for Northern Ireland. Audit against Scotland's figures with a population "
        "file: `inclusion-audit reference show Lambeth --format csv > population.csv` writes a "
        "template in the characteristic,category,count layout; replace its counts with the "
        "council's figures from scotlandscensus.gov.uk, then run `inclusion-audit audit "
        "REGISTER --reference population.csv`."
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
