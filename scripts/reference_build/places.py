"""Places: postcodes to 2021 LSOAs, best-fit wards and deprivation deciles.

Reads ``../shared/geography/raw`` (see its PROVENANCE.md) plus two Census files
(LSOA residents from TS021, MSOA single years of age from TS007) and writes:

* ``postcodes``: every postcode of the NSPL (August 2024) as ``outward`` (text,
  sorted, so Parquet keeps it as a few runs), ``inward`` (the inward code as a
  number 0..6759) and ``lsoa`` (the row of ``small_areas``);
* ``small_areas``: one row per 2021 LSOA of England and Wales (authority, best-fit
  2024 ward, MSOA, residents, IMD 2019 or WIMD 2019 decile, change code, number of
  postcodes, postcode-gap flag), then five pseudo-places for postcodes outside
  England and Wales or without a location;
* ``msoa_age``: residents by single year of age (0..100+) of each 2021 MSOA.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from reference_build.helpers import check, read_csv, sha256_of
from reference_build.sources import F_MSOA_NAMES, F_TS021_LSOA, OGL, OGL_URL, ONS_ATTRIBUTION
from reference_build.tables_common import source_entry

F_POSTCODES = "postcode_lad24_wd24_lsoa21_nspl_aug2024.csv.gz"
F_IMD = "imd2019_england_lsoa11_File_1_official.csv.gz"
F_WIMD = "wimd2019_wales_lsoa11.csv"
F_LSOA11_21 = "lookup_lsoa11_lsoa21_ltla22.csv"
F_LSOA21_WARD = "lookup_lsoa21_ward24_ltla24.csv"

NSPL_ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right; Contains Royal Mail data © "
    "Royal Mail copyright and database right; Source: Office for National Statistics "
    "licensed under the Open Government Licence v.3.0"
)
MHCLG_ATTRIBUTION = (
    "English Indices of Deprivation 2019: Ministry of Housing, Communities and Local "
    "Government, licensed under the Open Government Licence v.3.0"
)
WIMD_ATTRIBUTION = (
    "Welsh Index of Multiple Deprivation 2019: Welsh Government, licensed under the Open "
    "Government Licence v.3.0"
)

GEOGRAPHY_SOURCES: dict[str, dict[str, str]] = {
    F_POSTCODES: {
        "repo": "https://github.com/open-innovations/culturedale-audience-tool",
        "commit": "3aa5ce5d73677419ab4378386a0d2f87298ca516",
        "repo_path": "lookup/<AREA>.json (flattened to CSV)",
        "source": "ONS National Statistics Postcode Lookup (2021 Census geographies), "
        "August 2024: columns laua, ward, lsoa21",
        "repo_licence": "none stated (data only; no code copied)",
    },
    F_IMD: {
        "repo": "https://github.com/anetobradley/energy_flex",
        "commit": "9ed0574760bbe6fa7ac41205d9bef62fe83feb48",
        "repo_path": "02-EnergyModel/Energy_Intensity_Analysis/data/imd/"
        "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz",
        "source": "MHCLG English Indices of Deprivation 2019, File 1 (rank and decile)",
        "repo_licence": "MIT (code); data OGL v3.0",
    },
    F_WIMD: {
        "repo": "https://github.com/humaniverse/IMD",
        "commit": "e7b16b609afe8b2b4eb400539b2bf805ce63f717",
        "repo_path": "data-raw/imd_wales_lsoa.csv",
        "source": "Welsh Government WIMD 2019 index ranks by LSOA 2011",
        "repo_licence": "MIT (package); data OGL v3.0",
    },
    F_LSOA11_21: {
        "repo": "https://github.com/humaniverse/geographr",
        "commit": "0470ab979ec56c0ad30e72c09b8091312d9b5f22",
        "repo_path": "data/lookup_lsoa11_lsoa21_ltla22.rda (converted to CSV)",
        "source": "ONS LSOA (2011) to LSOA (2021) to LAD (2022) exact-fit lookup",
        "repo_licence": "MIT (package); data OGL v3.0",
    },
    F_LSOA21_WARD: {
        "repo": "https://github.com/humaniverse/geographr",
        "commit": "484d32b89ba6b8df291eade9b19b5f28da981467",
        "repo_path": "data/lookup_lsoa21_ward24_ltla24.rda (converted to CSV)",
        "source": "ONS LSOA (2021) to ward (2024) to LAD (2024) best-fit lookup",
        "repo_licence": "MIT (package); data OGL v3.0",
    },
}

KNOWN_GAP = (
    "The postcode lookup lacks every postcode whose district ends in a letter (EC1A-EC4Y, "
    "WC1A-WC2N, W1A-W1W, SW1A-SW1Y, E1W, N1C, N1P, NW1W, SE1P): about 50,000 central-London "
    "postcodes, so 64 English LSOAs (Westminster 35, Camden 13, Islington 11, City of London "
    "4, Kensington and Chelsea 1) have no postcode at all. A postcode in one of those "
    "districts is reported as 'in the known gap of the lookup'; wards with an LSOA flagged "
    "'gap' are never said to have had nobody come."
)
GAP_RULE = (
    "gap is true when the LSOA has fewer than 5 postcodes in the lookup per 1,000 residents "
    "(77 LSOAs: the 64 with none, 13 partly in the missing districts, and 2 in Newham with "
    "few postcodes for their residents, which are flagged to be safe). Elsewhere every LSOA "
    "has more."
)
GAP_PER_1000 = 5.0
CHANGE_RULE = (
    "IMD 2019 and WIMD 2019 rank 2011 LSOAs. A 2021 LSOA that is unchanged (U) or split from "
    "one 2011 LSOA (S) takes that LSOA's decile. One merged from several (M), or redrawn "
    "(X), takes the decile of the mean rank of the 2011 LSOAs it came from, on the index's "
    "own decile boundaries."
)
WELSH_DECILES = (
    "WIMD 2019 deciles are computed from the official ranks: decile = ceil(10 × rank / "
    "1,909), so decile 1 holds the 190 most deprived LSOAs and each other decile 191."
)
PSEUDO_PLACES = (
    ("S", "Scotland"),
    ("N", "Northern Ireland"),
    ("L", "Channel Islands"),
    ("M", "Isle of Man"),
)
NO_LOCATION = "no location"
_LETTERS = list(string.ascii_uppercase)


@dataclass
class GeoTable:
    """One output table and its manifest facts."""

    name: str
    frame: pl.DataFrame
    meta: dict[str, Any]


def inward_number(inward: pl.Expr) -> pl.Expr:
    """The inward code ("9AB") as digit × 676 + letter × 26 + letter (0..6759)."""

    def letter(expr: pl.Expr) -> pl.Expr:
        return expr.str.replace_many(_LETTERS, [f"{i:02d}" for i in range(26)]).cast(pl.Int16)

    return (
        inward.str.slice(0, 1).cast(pl.Int16) * 676
        + letter(inward.str.slice(1, 1)) * 26
        + letter(inward.str.slice(2, 1))
    )


def deprivation_by_lsoa21(geo_raw: Path) -> pl.DataFrame:
    """``lsoa21_code, index, decile, change``: IMD 2019 / WIMD 2019 on 2021 LSOAs."""
    imd_raw = pl.read_csv(geo_raw / F_IMD, infer_schema=False)
    check(imd_raw.height == 32844, f"{F_IMD}: expected 32,844 LSOAs, found {imd_raw.height}")
    code, rank, decile = imd_raw.columns[0], imd_raw.columns[4], imd_raw.columns[5]
    check("Rank" in rank and "Decile" in decile, f"{F_IMD}: unexpected columns")
    england = imd_raw.select(
        pl.col(code).alias("lsoa11_code"),
        pl.col(rank).str.replace_all(",", "").cast(pl.Int32).alias("rank"),
        pl.col(decile).cast(pl.Int8).alias("decile"),
        pl.lit("IMD 2019").alias("index"),
    )
    wimd_raw = pl.read_csv(geo_raw / F_WIMD, columns=["lsoa_code", "IMD_rank"])
    n_wales = wimd_raw.height
    check(n_wales == 1909, f"{F_WIMD}: expected 1,909 LSOAs, found {n_wales}")
    wales = wimd_raw.select(
        pl.col("lsoa_code").alias("lsoa11_code"),
        pl.col("IMD_rank").cast(pl.Int32).alias("rank"),
        ((pl.col("IMD_rank") * 10 + n_wales - 1) // n_wales).cast(pl.Int8).alias("decile"),
        pl.lit("WIMD 2019").alias("index"),
    )
    ranks = pl.concat([england, wales])
    tops = ranks.group_by("index", "decile").agg(pl.col("rank").max().alias("top"))
    lookup = pl.read_csv(geo_raw / F_LSOA11_21)
    counts = dict(lookup.group_by("change_code").len().iter_rows())
    check(
        counts == {"U": 33647, "S": 1900, "M": 239, "X": 9},
        f"{F_LSOA11_21}: change codes {counts}",
    )
    joined = lookup.join(ranks, on="lsoa11_code", how="left")
    check(joined["rank"].null_count() == 0, f"{F_LSOA11_21}: a 2011 LSOA has no rank")
    per_lsoa = joined.group_by("lsoa21_code").agg(
        pl.col("change_code").first().alias("change"),
        pl.col("index").first(),
        pl.col("index").n_unique().alias("indices"),
        pl.col("decile").first().alias("own_decile"),
        pl.col("rank").mean().alias("mean_rank"),
        pl.len().alias("parents"),
    )
    check(per_lsoa["indices"].max() == 1, "a 2021 LSOA has parents in England and Wales")
    # The decile of a mean rank: the first decile whose highest rank reaches it.
    boundaries = tops.sort("index", "decile")
    merged = (
        per_lsoa.filter(pl.col("parents") > 1)
        .join(boundaries, on="index")
        .filter(pl.col("mean_rank") <= pl.col("top"))
        .group_by("lsoa21_code")
        .agg(pl.col("decile").min().alias("merged_decile"))
    )
    result = per_lsoa.join(merged, on="lsoa21_code", how="left").select(
        "lsoa21_code",
        "index",
        pl.when(pl.col("parents") == 1)
        .then(pl.col("own_decile"))
        .otherwise(pl.col("merged_decile"))
        .alias("decile"),
        "change",
    )
    check(result["decile"].null_count() == 0, "a merged LSOA got no decile")
    check(result.height == 35672, f"expected 35,672 2021 LSOAs, found {result.height}")
    return result


def build_geography_tables(
    geo_raw: Path, lsoa: pl.DataFrame, residents: pl.DataFrame, msoa_age: pl.DataFrame
) -> list[GeoTable]:
    """The three tables.

    ``lsoa``: ``lsoa21_code, ltla_code, msoa21_code`` (from the Census build);
    ``residents``: ``lsoa21_code, residents`` (TS021 totals); ``msoa_age``:
    ``msoa21_code, age, count`` (TS007).
    """
    wards = pl.read_csv(geo_raw / F_LSOA21_WARD).select(
        "lsoa21_code", pl.col("ward24_code").alias("ward_code")
    )
    check(wards.height == 35672, f"{F_LSOA21_WARD}: expected 35,672 LSOAs")
    small = (
        lsoa.select("lsoa21_code", "ltla_code", "msoa21_code")
        .join(wards, on="lsoa21_code", how="left")
        .join(residents, on="lsoa21_code", how="left")
        .join(deprivation_by_lsoa21(geo_raw), on="lsoa21_code", how="left")
        .with_columns(
            pl.when(pl.col("lsoa21_code").str.starts_with("W"))
            .then(pl.lit("Wales"))
            .otherwise(pl.lit("England"))
            .alias("place")
        )
        .sort("lsoa21_code")
    )
    check(small.height == 35672, "LSOA table: expected 35,672 rows")
    check(small.null_count().sum_horizontal().item() == 0, "LSOA table: missing values")
    n_lsoa = small.height
    ids = small.select("lsoa21_code").with_row_index("lsoa")

    raw = pl.read_csv(geo_raw / F_POSTCODES, infer_schema=False)
    check(raw.height == 2653773, f"{F_POSTCODES}: expected 2,653,773 rows, found {raw.height}")
    check(
        raw["pcds"].str.contains(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$").all(),
        f"{F_POSTCODES}: a postcode is not in the 'AB1 2CD' form",
    )
    pseudo = [
        pl.when(pl.col("lad24cd").str.starts_with(prefix)).then(pl.lit(n_lsoa + i))
        for i, (prefix, _) in enumerate(PSEUDO_PLACES)
    ]
    postcodes = (
        raw.join(ids, left_on="lsoa21cd", right_on="lsoa21_code", how="left")
        .select(
            pl.col("pcds").str.split(" ").list.get(0).alias("outward"),
            inward_number(pl.col("pcds").str.split(" ").list.get(1)).alias("inward"),
            pl.coalesce(pl.col("lsoa").cast(pl.Int64), *pseudo, pl.lit(n_lsoa + len(PSEUDO_PLACES)))
            .cast(pl.UInt16)
            .alias("lsoa"),
        )
        .sort("outward", "inward")
    )
    check(
        postcodes.select("outward", "inward").is_duplicated().sum() == 0,
        f"{F_POSTCODES}: a postcode appears twice",
    )
    per_lsoa = postcodes.group_by("lsoa").len("postcodes")
    districts = (
        postcodes.group_by("outward", maintain_order=True)
        .len("count")
        .select(
            "outward",
            (pl.col("count").cum_sum() - pl.col("count")).cast(pl.UInt32).alias("start"),
            pl.col("count").cast(pl.UInt32),
        )
    )
    extra = pl.DataFrame(
        {"place": [name for _, name in PSEUDO_PLACES] + [NO_LOCATION]},
    )
    small = (
        pl.concat([small, extra], how="diagonal_relaxed")
        .with_row_index("lsoa")
        .with_columns(pl.col("lsoa").cast(pl.UInt16))
        .join(per_lsoa, on="lsoa", how="left")
        .with_columns(
            pl.col("postcodes").fill_null(0).cast(pl.Int32),
            pl.col("residents").cast(pl.Int32),
        )
        .with_columns(
            (
                pl.col("lsoa21_code").is_not_null()
                & (pl.col("postcodes") * 1000 < GAP_PER_1000 * pl.col("residents"))
            ).alias("gap")
        )
        .select(
            "lsoa",
            "lsoa21_code",
            "ltla_code",
            "ward_code",
            "msoa21_code",
            "place",
            "residents",
            "index",
            "decile",
            "change",
            "postcodes",
            "gap",
        )
    )
    real = small.filter(pl.col("lsoa21_code").is_not_null())
    empty = real.filter(pl.col("postcodes") == 0)
    check(empty.height == 64, f"expected 64 LSOAs without a postcode, found {empty.height}")
    check(empty["lsoa21_code"].str.starts_with("E").all(), "a Welsh LSOA has no postcode")
    ages = msoa_age.select(
        "msoa21_code", pl.col("age").cast(pl.Int8), pl.col("count").cast(pl.Int32)
    ).sort("msoa21_code", "age")
    check(ages["msoa21_code"].n_unique() == 7264, "MSOA ages: expected 7,264 MSOAs")
    check(
        set(real["msoa21_code"].to_list()) <= set(ages["msoa21_code"].to_list()),
        "an LSOA's MSOA has no ages",
    )
    by_change = dict(real.group_by("change").len().iter_rows())
    return [
        GeoTable(
            "postcode_districts",
            districts,
            {
                "title": "Postcode districts: where each district's postcodes are in postcodes",
                "columns": {
                    "outward": "outward code (district), e.g. 'SW9', sorted",
                    "start": "first row of the district in postcodes",
                    "count": "its postcodes (rows start to start + count - 1)",
                },
                "raw_files": [F_POSTCODES],
                "attribution": [NSPL_ATTRIBUTION],
            },
        ),
        GeoTable(
            "postcodes",
            postcodes.select("inward", "lsoa"),
            {
                "title": "Postcodes: National Statistics Postcode Lookup, August 2024",
                "columns": {
                    "inward": "inward code as a number: digit × 676 + letter × 26 + letter "
                    "(A = 0), e.g. '8QT' = 8×676 + 16×26 + 19 = 5843",
                    "lsoa": "row of small_areas (an LSOA 2021, or a pseudo-place for the "
                    "rest of the UK or no location)",
                    "(outward)": "not stored: rows are sorted by outward code, and "
                    "postcode_districts gives each district's rows",
                },
                "vintage": "NSPL August 2024 (2021 Census geographies); live and terminated "
                "postcodes (the copy has no termination dates)",
                "known_gap": KNOWN_GAP,
                "raw_files": [F_POSTCODES],
                "attribution": [NSPL_ATTRIBUTION],
            },
        ),
        GeoTable(
            "small_areas",
            small,
            {
                "title": "LSOA 2021: authority, best-fit ward 2024, MSOA, residents, "
                "deprivation decile, postcode gap",
                "columns": {
                    "lsoa": "row number, which postcodes.lsoa points at",
                    "lsoa21_code": "LSOA 2021 (null for the pseudo-places after the LSOAs)",
                    "ltla_code": "local authority (2021 codes)",
                    "ward_code": "ward (May 2024), best fit",
                    "msoa21_code": "MSOA 2021 (an LSOA name is its MSOA name plus a letter)",
                    "place": "England, Wales, or a pseudo-place: "
                    + ", ".join(name for _, name in PSEUDO_PLACES)
                    + f", {NO_LOCATION}",
                    "residents": "all usual residents, Census 2021 TS021 LSOA total",
                    "index": "IMD 2019 (England) or WIMD 2019 (Wales): never pooled",
                    "decile": "1 = most deprived 10% of LSOAs of the nation's index",
                    "change": "ONS LSOA 2011 -> 2021 change code (U, S, M, X)",
                    "postcodes": "postcodes in the lookup that point at this row",
                    "gap": GAP_RULE,
                },
                "rules": [CHANGE_RULE, WELSH_DECILES, GAP_RULE],
                "census_raw_files": [F_TS021_LSOA, F_MSOA_NAMES],
                "change_codes": {k: by_change.get(k, 0) for k in ("U", "S", "M", "X")},
                "raw_files": [F_IMD, F_WIMD, F_LSOA11_21, F_LSOA21_WARD, F_POSTCODES],
                "attribution": [MHCLG_ATTRIBUTION, WIMD_ATTRIBUTION],
            },
        ),
        GeoTable(
            "msoa_age",
            ages,
            {
                "title": "MSOA 2021 residents by single year of age (TS007), for "
                "approximating an LSOA's eligible residents",
                "columns": {
                    "msoa21_code": "MSOA 2021",
                    "age": "0..100 (100 = 100 and over)",
                    "count": "usual residents",
                },
                "raw_files": [],
                "census_raw_files": [F_MSOA_NAMES],
                "attribution": [],
            },
        ),
    ]


def build_places(raw: Path, geo_raw: Path, lsoa: pl.DataFrame) -> list[GeoTable]:
    """The place tables, from the geography files and the Census build's LSOA lookup.

    ``lsoa`` is the Census build's ``lsoa21_code, ltla_code, lsoa21_name`` (at least):
    an LSOA's MSOA is the one named like it without the last letter.
    """
    check(geo_raw.is_dir(), f"--geography-raw {geo_raw} is not a directory")
    single = read_csv(raw, F_MSOA_NAMES)
    age_columns = [c for c in single.columns if c.startswith("Aged ")]
    check(len(age_columns) == 101, f"{F_MSOA_NAMES}: expected 101 single years of age")
    msoa_age = (
        single.select(
            pl.col("msoa21cd").alias("msoa21_code"),
            *[pl.col(c).alias(str(age)) for age, c in enumerate(age_columns)],
        )
        .unpivot(index="msoa21_code", variable_name="age", value_name="count")
        .with_columns(pl.col("age").cast(pl.Int8))
    )
    with_msoa = (
        lsoa.with_columns(
            pl.col("lsoa21_name")
            .str.slice(0, pl.col("lsoa21_name").str.len_chars() - 1)
            .alias("msoa21nm")
        )
        .join(
            single.select("msoa21nm", pl.col("msoa21cd").alias("msoa21_code")),
            on="msoa21nm",
            how="left",
        )
        .select("lsoa21_code", "ltla_code", "msoa21_code")
    )
    check(with_msoa["msoa21_code"].null_count() == 0, "an LSOA21 name matches no MSOA21")
    residents = (
        read_csv(raw, F_TS021_LSOA)
        .group_by("lsoa21_code")
        .agg(pl.col("total_residents").first().cast(pl.Int32).alias("residents"))
    )
    return build_geography_tables(geo_raw, with_msoa, residents, msoa_age)


def write_places(tables: list[GeoTable], out: Path, geo_raw: Path) -> dict[str, Any]:
    """Write the place tables and return their manifest entries.

    The postcode table is one row group: the package reads it whole, and one group
    compresses the sorted outward codes best (1.7 MB rather than 2.2 MB).
    """
    entries: dict[str, Any] = {}
    for table in tables:
        path = out / f"{table.name}.parquet"
        table.frame.write_parquet(
            path,
            compression="zstd",
            compression_level=19,
            statistics=False,
            row_group_size=max(table.frame.height, 1),
        )
        meta = dict(table.meta)
        raw_files = meta.pop("raw_files")
        census_files = meta.pop("census_raw_files", [])
        attribution = list(dict.fromkeys([*meta.pop("attribution"), ONS_ATTRIBUTION]))
        entries[table.name] = {
            "file": path.name,
            **meta,
            "licence": {"name": OGL, "url": OGL_URL, "attribution": attribution},
            "sources": [
                {"raw_file": f"geography/raw/{name}", **GEOGRAPHY_SOURCES[name]}
                for name in raw_files
            ]
            + [source_entry(name) for name in census_files],
            "rows": table.frame.height,
            "bytes": path.stat().st_size,
            "sha256": sha256_of(path),
        }
    return entries


def place_inputs(geo_raw: Path) -> dict[str, str]:
    """sha256 of every geography file used, for the manifest."""
    return {f"geography/raw/{name}": sha256_of(geo_raw / name) for name in GEOGRAPHY_SOURCES}
