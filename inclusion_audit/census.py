"""Census 2021 reference populations from the shipped ``reference_data/`` tables.

The tables are built by ``scripts/build_reference_data.py`` from ONS and NISRA
outputs and committed with the package, so an audit never needs the network or
the raw files. This module only reads them: it resolves area names and codes,
picks the table whose population base best matches the event's eligible ages,
and adds areas up.

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

>>> parse_age_range("16–24")
AgeRange(low=16, high=24, label='16-24')
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import io
import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from .errors import AreaNotFoundError, EligibleAgeError, InputError, ReferenceDataError

__all__ = [
    "ENV_VAR",
    "AgeBandError",
    "AgeRange",
    "Area",
    "CensusProfile",
    "CharacteristicNotAvailableError",
    "OverlappingAreasError",
    "age_profile",
    "area_name_key",
    "available_characteristics",
    "census_categories",
    "census_profile",
    "list_areas",
    "parse_age_range",
    "reference_data_dir",
    "reference_manifest",
    "resolve_areas",
]

ENV_VAR = "INCLUSION_AUDIT_REFERENCE_DATA"
AREA_TYPES = ("country", "region", "ltla", "ltla23", "lgd", "ward")
AREAS_HINT = "List the areas with `inclusion-audit reference areas`."
MAX_AGE = 120

# Ages the census publishes as one open-ended group ("Aged 100 years and over").
_OPEN = 10_000


class CharacteristicNotAvailableError(InputError):
    """The reference data has no Census figures for this characteristic and area.

    ``reason`` is a sentence the caller can print next to "not audited".
    """

    def __init__(self, characteristic: str, areas: Sequence[Area], reason: str) -> None:
        self.characteristic = characteristic
        self.areas = tuple(areas)
        self.reason = reason
        names = ", ".join(f"{a.name} ({a.code})" for a in areas) or "no area"
        super().__init__(f"Census 2021 '{characteristic}' is not available for {names}: {reason}")


class OverlappingAreasError(InputError):
    """Two requested areas overlap, so adding them up would count people twice."""


class AgeBandError(InputError):
    """Age bands passed to :func:`age_profile` are malformed or overlap."""


@dataclass(frozen=True)
class Area:
    """A Census area the reference data knows: a local authority, region, ward..."""

    code: str
    name: str
    type: str
    population: int | None
    approximate: bool = False


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


@dataclass(frozen=True)
class CensusProfile:
    """The Census distribution of one characteristic for one or more areas (summed)."""

    name: str
    base: str
    universe: str
    table: str
    categories: dict[str, float]
    not_answered: float | None
    caveats: tuple[str, ...]
    unit: str


# ---------------------------------------------------------------------------
# Eligible ages


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


# ---------------------------------------------------------------------------
# Locating and loading the data


def reference_data_dir() -> Path:
    """The ``reference_data`` directory: ``$INCLUSION_AUDIT_REFERENCE_DATA``, else shipped.

    Looks in the installed wheel (``inclusion_audit/_data/reference_data``) and
    then in the repository checkout next to the package (editable install).

    Raises:
        ReferenceDataError: when no directory with a ``manifest.json`` is found.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override).expanduser()
        if not (path / "manifest.json").is_file():
            raise ReferenceDataError(
                f"{ENV_VAR} is set to {path}, which has no manifest.json. Point it at a "
                "directory built by scripts/build_reference_data.py, or unset it to use "
                "the shipped reference data."
            )
        return path
    package = Path(__file__).resolve().parent
    candidates = (package / "_data" / "reference_data", package.parent / "reference_data")
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return candidate
    looked = " and ".join(str(c) for c in candidates)
    raise ReferenceDataError(
        f"The Census reference data is missing: no manifest.json in {looked}. Restore "
        "reference_data/ from git or rebuild it with `make reference-data`."
    )


def reference_manifest() -> dict[str, Any]:
    """The parsed ``manifest.json`` (a copy: callers may not change the cached one)."""
    return copy.deepcopy(_store().manifest)


def licence_attribution() -> tuple[str, ...]:
    """The manifest's licence attribution lines (ONS first, then NISRA), uncopied."""
    return tuple(_store().manifest["licence"]["attribution"])


def _store() -> _Store:
    return _store_for(reference_data_dir().resolve())


@lru_cache(maxsize=4)
def _store_for(directory: Path) -> _Store:
    return _Store(directory)


class _Store:
    """One reference_data directory: manifest, lazily loaded tables and the area index."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        path = directory / "manifest.json"
        try:
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReferenceDataError(
                f"{path} cannot be read ({exc}). Restore it from git or rebuild it with "
                "`make reference-data`."
            ) from exc
        self.catalogue: dict[str, Any] = self.manifest["characteristics"]
        self._tables: dict[str, pl.DataFrame] = {}
        self._age_bands: dict[str, tuple[tuple[int, int], ...]] | None = None
        self._areas: _AreaIndex | None = None

    def table(self, name: str) -> pl.DataFrame:
        """Load a table once, after checking its sha256 against the manifest."""
        if name not in self._tables:
            entry = self.manifest["tables"].get(name)
            if entry is None:
                raise ReferenceDataError(
                    f"{self.directory / 'manifest.json'} lists no table '{name}'. Rebuild "
                    "reference_data/ with `make reference-data`."
                )
            path = self.directory / entry["file"]
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ReferenceDataError(
                    f"{path} cannot be read ({exc}). Restore it from git or rebuild it with "
                    "`make reference-data`."
                ) from exc
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry["sha256"]:
                raise ReferenceDataError(
                    f"{path} fails its checksum (sha256 {digest}, manifest says "
                    f"{entry['sha256']}). Restore it from git or rebuild reference_data/ "
                    "with `make reference-data`."
                )
            self._tables[name] = pl.read_parquet(io.BytesIO(data))
        return self._tables[name]

    def age_bands(self, source: str) -> tuple[tuple[int, int], ...]:
        """The age bands of a source in ``age_sex``, youngest first (``_OPEN`` for no limit)."""
        if self._age_bands is None:
            # One query for every source: each age or sex profile asks for several.
            bands = (
                self.table("age_sex")
                .lazy()
                .select("source", "age_low", pl.col("age_high").fill_null(_OPEN))
                .unique()
                .sort("source", "age_low", "age_high")
                .collect()
            )
            found: dict[str, list[tuple[int, int]]] = {}
            for key, low, high in bands.iter_rows():
                found.setdefault(key, []).append((int(low), int(high)))
            self._age_bands = {key: tuple(spans) for key, spans in found.items()}
        return self._age_bands.get(source, ())

    @property
    def areas(self) -> _AreaIndex:
        if self._areas is None:
            frame = self.table("areas")
            missing = [c for c in ("name_keys", "coverage") if c not in frame.columns]
            if missing:
                raise ReferenceDataError(
                    f"{self.directory / 'areas.parquet'} has no {' or '.join(missing)} column: "
                    "it was built by an older scripts/build_reference_data.py. Rebuild "
                    "reference_data/ with `make reference-data`."
                )
            self._areas = _AreaIndex(frame)
        return self._areas


# ---------------------------------------------------------------------------
# Areas


@dataclass(frozen=True)
class _AreaRecord:
    area: Area
    parent_code: str | None
    components: tuple[str, ...]
    aliases: tuple[str, ...]
    coverage: frozenset[str]
    """``table:key`` for every table with rows for the area (see ``_AreaIndex.has_rows``)."""


def area_name_key(text: str) -> str:
    """Fold case, accents, dashes, apostrophes, '&' and spacing so names match loosely.

    ``scripts/build_reference_data.py`` stores every area name folded this way
    (``name_keys`` in ``areas.parquet``), so a name is looked up without folding
    all 15,000 names.

    >>> area_name_key("Brighton &  Hove"), area_name_key("Canolbarth Môn")
    ('brighton and hove', 'canolbarth mon')
    """
    if not text.isascii():  # most names are: skip the costly accent folding for them
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = text.casefold()
    text = text.replace("&", " and ").replace("’", "'").replace("‘", "'")
    text = _DASHES.sub("-", text)
    return " ".join(text.split())


_DASHES = re.compile(r"[‐-―]")


class _AreaIndex:
    """Codes, names and aliases of every area, for resolution and listing.

    Built lazily: resolving one area by code or exact name touches a few rows, so
    records, the full name index and the membership tree are made only when used.
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame
        self._row_of = {code.upper(): i for i, code in enumerate(frame["code"].to_list())}
        self._built: dict[int, _AreaRecord] = {}
        self.by_code = _RecordsByCode(self)

    def at(self, row: int) -> _AreaRecord:
        """The record of one row of the areas table."""
        record = self._built.get(row)
        if record is None:
            data = self._frame.row(row, named=True)
            record = _AreaRecord(
                area=Area(
                    code=data["code"],
                    name=data["display_name"],
                    type=data["type"],
                    population=data["population"],
                    approximate=bool(data["approximate"]),
                ),
                parent_code=data["parent_code"],
                components=tuple(data["components"] or ()),
                aliases=tuple(data["aliases"] or ()),
                coverage=frozenset(data["coverage"]),
            )
            self._built[row] = record
        return record

    def row_of(self, code: str) -> int | None:
        return self._row_of.get(code.upper())

    def has_rows(self, code: str, table: str, key: str) -> bool:
        """Whether a table has rows for an area and a characteristic (in ``age_sex``, a source).

        Read from the ``coverage`` the build recorded: no table is read to find out.
        """
        record = self.by_code.get(code)
        return record is not None and f"{table}:{key}" in record.coverage

    @cached_property
    def records(self) -> list[_AreaRecord]:
        return [self.at(row) for row in range(self._frame.height)]

    def named(self, key: str) -> list[_AreaRecord]:
        """Areas with a name, display name or alias that folds to ``key``, in table order."""
        rows = (
            self._frame.lazy()
            .select(pl.int_range(pl.len(), dtype=pl.Int64).alias("row"), "name_keys")
            .filter(pl.col("name_keys").list.contains(key))
            .collect()["row"]
            .to_list()
        )
        return [self.at(row) for row in rows]

    @cached_property
    def by_name(self) -> dict[str, list[_AreaRecord]]:
        """Every folded name and its areas (for suggestions when nothing matches)."""
        found: dict[str, list[_AreaRecord]] = {}
        for row, keys in enumerate(self._frame["name_keys"].to_list()):
            for key in keys:
                found.setdefault(key, []).append(self.at(row))
        return found

    @cached_property
    def children(self) -> dict[str, list[str]]:
        """Region and country membership, for the double-counting check."""
        kids = (
            self._frame.filter(
                pl.col("parent_code").is_not_null(),
                pl.col("type").is_in(["ltla", "region", "lgd", "country"]),
            )
            .group_by("parent_code", maintain_order=True)
            .agg("code")
        )
        return {parent: list(codes) for parent, codes in kids.iter_rows()}

    def record(self, area: Area) -> _AreaRecord:
        record = self.by_code.get(area.code)
        if record is None:
            raise AreaNotFoundError(
                f"Area code '{area.code}' is not in the Census reference data. {AREAS_HINT}"
            )
        return record

    def data_codes(self, area: Area) -> tuple[str, ...]:
        """Codes whose table rows make up the area (a 2023 authority's 2021 parts)."""
        record = self.record(area)
        return record.components or (record.area.code,)

    def ward_authority(self, ward: Area) -> set[str]:
        """The LTLAs of a ward's (2024) local authority."""
        parent = self.record(ward).parent_code
        return self.leaves(parent) if parent else set()

    def leaves(self, code: str) -> set[str]:
        """The LTLAs or LGDs (or the ward itself) inside an area, for overlap checks."""
        record = self.by_code[code.upper()]
        if record.components:
            return set(record.components)
        # By type first: most audits are of one authority, which then never needs
        # the membership tree (a group-by over every area).
        if record.area.type in ("ltla", "lgd"):
            return {code}
        kids = self.children.get(code)
        if not kids:
            return {code}
        found: set[str] = set()
        for kid in kids:
            found |= self.leaves(kid)
        return found


class _RecordsByCode:
    """``index.by_code[code]`` and ``.get(code)``, any case, building records on demand."""

    def __init__(self, index: _AreaIndex) -> None:
        self._index = index

    def get(self, code: str) -> _AreaRecord | None:
        row = self._index.row_of(code)
        return None if row is None else self._index.at(row)

    def __getitem__(self, code: str) -> _AreaRecord:
        record = self.get(code)
        if record is None:
            raise KeyError(code)
        return record


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
    return [r.area for r in _store().areas.records if r.area.type in wanted]


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
    index = _store().areas
    found: list[Area] = []
    for spec in specs:
        area = _resolve_one(index, spec)
        if area not in found:
            found.append(area)
    return found


def _resolve_one(index: _AreaIndex, spec: str) -> Area:
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


def _data_codes(index: _AreaIndex, areas: Sequence[Area], what: str) -> list[str]:
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


def _area_caveats(index: _AreaIndex, areas: Sequence[Area]) -> list[str]:
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


# ---------------------------------------------------------------------------
# Characteristics


def known_characteristics() -> list[str]:
    """Every characteristic name the reference data defines, for any area."""
    return list(_store().catalogue)


def available_characteristics(areas: Sequence[Area]) -> list[str]:
    """Characteristics :func:`census_profile` can give for these areas (all ages)."""
    store = _store()
    codes = set(_data_codes(store.areas, areas, "the characteristics list"))
    names: list[str] = []
    for name, spec in store.catalogue.items():
        if name == "age":
            if _age_sources(store, codes, sexes=None):
                names.append(name)
        elif name == "sex":
            if _age_sources(store, codes, sexes=("Female", "Male")):
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
    store = _store()
    codes = _data_codes(store.areas, areas, f"'{characteristic}'")
    if characteristic == "age":
        return _default_age_profile(store, areas, codes, eligible_age)
    if characteristic == "sex":
        return _sex_profile(store, areas, codes, eligible_age)
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
    not_answered = (
        float(sum(totals.get(c, 0) for c in variant["not_answered"])) if spec["voluntary"] else None
    )
    caveats = [*spec["caveats"], *variant["caveats"]]
    if caveat:
        caveats.append(caveat)
    caveats.extend(_area_caveats(store.areas, areas))
    base = f"{variant['universe']} (Census 2021, {_short_table(variant['ons_table'])})"
    return CensusProfile(
        name=characteristic,
        base=f"{base}; {note}." if note else f"{base}.",
        universe=variant["universe"],
        table=variant["ons_table"],
        categories=categories,
        not_answered=not_answered,
        caveats=tuple(_unique(caveats)),
        unit=variant["unit"],
    )


def census_categories(
    areas: Sequence[Area], characteristic: str, eligible_age: AgeRange | None = None
) -> list[str]:
    """The categories :func:`census_profile` gives, in order, without counting anyone.

    Raises what :func:`census_profile` raises.
    """
    if characteristic in ("age", "sex"):
        return list(census_profile(areas, characteristic, eligible_age).categories)
    store = _store()
    codes = _data_codes(store.areas, areas, f"'{characteristic}'")
    variant = _chosen_variant(store, areas, codes, characteristic, eligible_age)[1]
    return list(variant["categories"])


def _chosen_variant(
    store: _Store,
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


def _covers(store: _Store, variant: dict[str, Any], name: str, codes: set[str]) -> bool:
    return all(store.areas.has_rows(code, variant["table"], name) for code in codes)


def _short_table(ons_table: str) -> str:
    """'TS021' stays; long custom-dataset descriptions shorten for the base sentence."""
    return "ONS custom dataset" if ons_table.startswith("ONS custom dataset") else ons_table


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
    universe, table = chosen["universe"], _short_table(chosen["ons_table"])
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


def _missing_reason(store: _Store, name: str, spec: dict[str, Any], areas: Sequence[Area]) -> str:
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


def _characteristics_for(store: _Store, area_type: str) -> list[str]:
    sample = next(r.area for r in store.areas.records if r.area.type == area_type)
    return available_characteristics([sample])


# ---------------------------------------------------------------------------
# Age and sex


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
    bands: tuple[tuple[int, int], ...]  # high uses _OPEN for open-ended

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


def _age_sources(
    store: _Store, codes: Iterable[str], sexes: tuple[str, ...] | None
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
    store: _Store, source: _AgeSource, codes: Sequence[str], by_sex: bool
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
        frame.with_columns(pl.col("age_high").fill_null(_OPEN))
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
    """Census population in the caller's age bands, clipped to the eligible ages.

    ``bands`` are ``(label, low, high)`` with inclusive ages and ``high`` None for an
    open-ended band, e.g. ``[("18-24", 18, 24), ("75+", 75, None)]``. England and
    Wales figures are exact sums of single-year counts (TS007). A band wholly
    outside the eligible ages is kept with a count of 0 and a caveat. Northern
    Ireland has only broad NISRA bands, so its bands must line up with them.

    Raises:
        AgeBandError: a band is inverted or bands overlap.
        CharacteristicNotAvailableError: no age table lines up with the bands.
    """
    store = _store()
    codes = _data_codes(store.areas, areas, "age")
    clipped = _clip_bands(bands, eligible_age)
    wanted = [(lo, hi) for _, lo, hi in clipped if lo <= hi]
    sources = _age_sources(store, codes, sexes=None)
    source = next((s for s in sources if all(s.aligned(lo, hi) for lo, hi in wanted)), None)
    if source is None:
        if sources:
            offered = "; ".join(
                f"{s.meta['ons_table']}: "
                + ", ".join(_range_text(lo, None if hi == _OPEN else hi) for lo, hi in s.bands)
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
    counts = _age_counts(store, source, codes, by_sex=False)
    rows = counts.select("age_low", "age_high", "count").collect().rows()
    categories = {
        label: (_sum_range(rows, lo, hi) if lo <= hi else 0.0) for label, lo, hi in clipped
    }
    caveats = _band_caveats(bands, clipped, eligible_age)
    caveats.extend(_area_caveats(store.areas, areas))
    universe = source.meta["universe"]
    restricted = eligible_age is not None and not eligible_age.is_all_ages
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
        caveats=tuple(_unique(caveats)),
        unit="persons",
    )


def _clip_bands(
    bands: Sequence[tuple[str, int, int | None]], eligible: AgeRange | None
) -> list[tuple[str, int, int]]:
    """Validate bands and clip them to the eligible range (empty bands get low > high)."""
    if not bands:
        raise AgeBandError("No age bands were given; pass at least one (label, low, high).")
    spans: list[tuple[str, int, int]] = []
    for label, low, high in bands:
        top = _OPEN if high is None else high
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
    e_low, e_high = eligible.low, _OPEN if eligible.high is None else eligible.high
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
        elif eligible is not None and (c_lo, c_hi) != (lo, _OPEN if hi is None else hi):
            caveats.append(
                f"Age band '{label}' is limited to the eligible ages "
                f"({_range_text(c_lo, None if c_hi == _OPEN else c_hi)})."
            )
    if eligible is not None:
        e_high = _OPEN if eligible.high is None else eligible.high
        covered = sorted((lo, hi) for _, lo, hi in clipped if lo <= hi)
        gaps: list[str] = []
        cursor = eligible.low
        for lo, hi in covered:
            if lo > cursor:
                gaps.append(_range_text(cursor, lo - 1))
            cursor = max(cursor, hi + 1)
        if cursor <= e_high:
            gaps.append(_range_text(cursor, None if e_high == _OPEN else e_high))
        if gaps:
            caveats.append(
                f"Eligible ages {', '.join(gaps)} fall in no band and are left out of the "
                "census base."
            )
    return caveats


def _missing_age_reason(store: _Store, areas: Sequence[Area]) -> str:
    if any(a.type == "ward" for a in areas):
        return (
            "single-year age is published only down to MSOA, which does not nest in wards, "
            "so there are no ward age figures."
        )
    return "no age table in the reference data covers all of these areas together."


def _default_age_profile(
    store: _Store, areas: Sequence[Area], codes: Sequence[str], eligible: AgeRange | None
) -> CensusProfile:
    """Age in ONS's standard bands, or the source's own bands where those do not fit."""
    sources = _age_sources(store, codes, sexes=None)
    if not sources:
        raise CharacteristicNotAvailableError("age", areas, _missing_age_reason(store, areas))
    e_low = 0 if eligible is None else eligible.low
    e_high = _OPEN if eligible is None or eligible.high is None else eligible.high
    candidates = [(lo, _OPEN if hi is None else hi) for lo, hi in _ONS_BANDS]
    if not all(sources[0].aligned(lo, hi) for lo, hi in candidates):
        # Northern Ireland: use the published bands that fit the eligible ages best.
        fitting = [s for s in sources if s.aligned(e_low, e_high)]
        covering = [s for s in sources if s.superset(e_low, e_high) is not None]
        candidates = list((fitting or covering or sources)[0].bands)
    bands: list[tuple[str, int, int | None]] = []
    for lo, hi in candidates:
        c_lo, c_hi = max(lo, e_low), min(hi, e_high)
        if c_lo <= c_hi:
            top = None if c_hi == _OPEN else c_hi
            bands.append((_age_label(c_lo, top), c_lo, top))
    return age_profile(areas, bands, eligible)


def _sex_profile(
    store: _Store, areas: Sequence[Area], codes: Sequence[str], eligible: AgeRange | None
) -> CensusProfile:
    """Sex for the eligible ages, from the age x sex table that fits them best."""
    sources = _age_sources(store, codes, sexes=("Female", "Male"))
    if not sources:
        reason = (
            "sex is published for local authorities, regions and countries, not for wards."
            if any(a.type == "ward" for a in areas)
            else "no sex table in the reference data covers all of these areas together."
        )
        raise CharacteristicNotAvailableError("sex", areas, reason)
    e_low = 0 if eligible is None else eligible.low
    e_high = _OPEN if eligible is None or eligible.high is None else eligible.high

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
    used = _range_text(used_low, None if used_high == _OPEN else used_high)
    caveats: list[str] = []
    note = ""
    restricted = eligible is not None and not eligible.is_all_ages
    if rank(source)[0] == 0:
        if restricted and eligible is not None and (used_low, used_high) != (0, _OPEN):
            universe = f"Usual residents aged {eligible.label}"
    elif eligible is not None:
        used_text = used if used == "all ages" else f"ages {used}"
        note = f"sex for {used_text} stands in for the eligible ages {eligible.label}"
        caveats.append(
            f"Sex: {_short_table(table)} gives sex only for {used_text}; those figures stand "
            f"in for the eligible ages {eligible.label}."
        )
    caveats.extend(_area_caveats(store.areas, areas))
    base = f"{universe} (Census 2021, {_short_table(table)})"
    return CensusProfile(
        name="sex",
        base=f"{base}; {note}." if note else f"{base}.",
        universe=universe,
        table=table,
        categories=categories,
        not_answered=None,
        caveats=tuple(_unique(caveats)),
        unit="persons",
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
