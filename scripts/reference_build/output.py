"""Writing the build: deterministic Parquet tables, the manifest, the README, the knowledge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inclusion_audit.action.knowledge import KNOWLEDGE_BASE_FILE
from inclusion_audit.action.knowledge_loader import compile_knowledge_base
from inclusion_audit.vocab.knowledge import write_knowledge_index
from reference_build.areas import build_areas
from reference_build.catalogue import catalogue
from reference_build.census_tables import build_tables
from reference_build.geography import build_geography
from reference_build.helpers import check, sha256_of
from reference_build.places import build_places, place_inputs, write_places
from reference_build.sources import (
    MYSOCIETY_ATTRIBUTION,
    NISRA_ATTRIBUTION,
    OGL,
    OGL_URL,
    ONS_ATTRIBUTION,
    ROOT,
    SCHEMA_VERSION,
    VINTAGE,
)
from reference_build.tables_common import Table, licence, source_entry


def write_table(table: Table, out: Path) -> dict[str, Any]:
    """Write one Parquet file and return its manifest entry."""
    path = out / f"{table.name}.parquet"
    table.frame.write_parquet(path, compression="zstd", compression_level=19, statistics=False)
    meta = dict(table.meta)
    # 'population_base' in the metas is the detailed universe; the manifest keeps both:
    # the ONS population base (persons or households) and that universe.
    universe = meta.pop("population_base")
    meta["population_base"] = "Households" if meta["unit"] == "households" else "Usual residents"
    meta["universe"] = universe
    raw_files = meta.pop("raw_files")
    nisra = meta.pop("nisra", False)
    extra = meta.pop("extra_attribution", [])
    attribution_extra = [*extra]
    if nisra and table.name != "nisra_northern_ireland":
        attribution_extra.append(NISRA_ATTRIBUTION)
    entry: dict[str, Any] = {
        "file": path.name,
        **meta,
        "vintage": VINTAGE,
        "licence": licence(nisra=table.name == "nisra_northern_ireland", extra=attribution_extra),
        "sources": [source_entry(f) for f in raw_files],
        "rows": table.frame.height,
        "bytes": path.stat().st_size,
        "sha256": sha256_of(path),
    }
    entry.setdefault(
        "columns",
        {
            "area_code": "GSS code (see areas.parquet)",
            "characteristic": "characteristic name (see 'characteristics')",
            "category": "exact ONS (or NISRA) category label",
            "count": "persons or households, see 'unit'",
        },
    )
    return entry


README = """\
# reference_data/

Census 2021 tables the package reads at run time. **Generated** by
`scripts/build_reference_data.py` (`make reference-data`) from the raw files in
`../shared/census2021/raw` (see `../shared/census2021/PROVENANCE.md`); do not edit by hand.
`manifest.json` gives, for each table, the ONS table code, geography levels, population
base, vintage, source repository/file/commit, licence, row count and sha256, plus the
characteristics catalogue the library uses. `docs/reference-data.md` explains the choices.

`postcodes`, `small_areas` and `msoa_age` (listed under `place_tables` in the manifest) are
built from `../shared/geography/raw` (see `../shared/geography/PROVENANCE.md`): they place
a register's postcodes in 2021 LSOAs, wards and deprivation deciles. The postcode lookup
misses about 50,000 central-London postcodes (districts ending in a letter); the manifest
records this known gap. Postcode data: Contains OS data © Crown copyright and database
right; Contains Royal Mail data © Royal Mail copyright and database right; Source: Office
for National Statistics licensed under the Open Government Licence v.3.0.

| file | what | rows |
|---|---|---|
{rows}

`barriers.yaml` is not generated: it is the curated barrier → groups → actions knowledge
base the recommendations come from, edited by hand, with a source for every entry.

`answer_knowledge.json` and `barriers.json` are generated from the package's curated
knowledge (`inclusion_audit/classifications/*.toml` and `barriers.yaml`), not from the raw
files, so that an audit need not parse it: each records the sha256 of its sources, and the
package reads the sources themselves when they have changed since. After editing those,
`make knowledge-data` rewrites just these two, without the raw files.

Licence: {ogl}. {ons}. Northern Ireland figures: {nisra}. {mysociety}.
"""


def default_geography_raw(raw: Path) -> Path:
    """``../shared/geography/raw`` for ``../shared/census2021/raw``."""
    return raw.resolve().parent.parent / "geography" / "raw"


def write_knowledge(out: Path) -> list[Path]:
    """Write the files made from the package's curated knowledge (no raw files needed)."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        write_knowledge_index(out),
        compile_knowledge_base(ROOT / "reference_data" / KNOWLEDGE_BASE_FILE, out),
    ]


def build(raw: Path, out: Path, geo_raw: Path | None = None) -> dict[str, Any]:
    """Build every table into ``out`` and return the manifest (also written there).

    ``geo_raw`` holds the postcode, deprivation and LSOA lookups (default: the
    ``geography/raw`` folder beside the Census raw files' parent, as in ``../shared``).
    """
    check(raw.is_dir(), f"--raw {raw} is not a directory")
    geo_raw = geo_raw if geo_raw is not None else default_geography_raw(raw)
    out.mkdir(parents=True, exist_ok=True)
    geo = build_geography(raw)
    tables = build_tables(raw, geo)
    tables.insert(0, build_areas(raw, geo, tables))
    entries = {t.name: write_table(t, out) for t in tables}
    place_entries = write_places(build_places(raw, geo_raw, geo.lsoa), out, geo_raw)
    write_knowledge(out)
    all_raw = sorted({f for t in tables for f in t.meta["raw_files"]})
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "title": "inclusion-audit reference data: Census 2021 (England and Wales, Northern "
        "Ireland)",
        "vintage": VINTAGE,
        "built_by": "scripts/build_reference_data.py --raw ../shared/census2021/raw "
        "--out reference_data",
        "licence": {
            "name": OGL,
            "url": OGL_URL,
            "attribution": [ONS_ATTRIBUTION, NISRA_ATTRIBUTION, MYSOCIETY_ATTRIBUTION],
        },
        "tables": entries,
        "characteristics": catalogue(),
        "raw_inputs": {f: sha256_of(raw / f) for f in all_raw},
        "place_tables": place_entries,
        "place_raw_inputs": place_inputs(geo_raw),
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    rows = "\n".join(
        f"| `{e['file']}` | {e['title']} | {e['rows']:,} |"
        for e in [*entries.values(), *place_entries.values()]
    )
    (out / "README.md").write_text(
        README.format(
            rows=rows,
            ogl=OGL,
            ons=ONS_ATTRIBUTION,
            nisra=NISRA_ATTRIBUTION,
            mysociety=MYSOCIETY_ATTRIBUTION,
        ),
        encoding="utf-8",
    )
    return manifest
