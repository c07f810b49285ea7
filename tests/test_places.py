"""Postcodes to wards and deprivation deciles: hand-checked tallies, the LSOA
change-code rules, the known central-London gap, and no postcode in any output.

The expected figures were read by hand from the raw files in ../shared/geography/raw
(grep of the NSPL copy, the IMD 2019 File 1, WIMD 2019 and the ONS lookups), not
computed with the library:

postcode   LSOA 2021  authority  ward 2024 (best fit)        IMD 2019 rank, decile
SW9 8QT    E01003052  Lambeth    Brixton Windrush            4,060  2
SW2 9AE    E01003018  Lambeth    Brixton Acre Lane           12,382 4
SE27 0TX   E01003081  Lambeth    Knight's Hill               8,157  3
SW8 1HW    E01003124  Lambeth    Stockwell West & Larkhall   8,081  3
SE1 7PB    E01003013  Lambeth    Waterloo & South Bank       21,865 7
SE5 8RS    E01003913  Southwark  (outside Lambeth)
W2 1JB     E01033593  Westminster
CF10 4DP   W01001943  Cardiff    Butetown        WIMD rank 1,221 of 1,909 -> decile 7
CF24 4SR   W01001837  Cardiff    Plasnewydd      WIMD rank 703 -> decile 4
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import polars as pl
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from inclusion_audit.cli.app import cli
from inclusion_audit.reference import geography
from inclusion_audit.reference.census_data import data_store

# (written postcode, rows). Variants of one postcode test the normalisation.
POSTCODES = [
    ("SW9 8QT", 1),
    ("sw98qt", 1),
    ("  Sw9   8qt ", 1),
    ("SW2 9AE", 2),
    ("SE27 0TX", 1),
    ("SE27 OTX", 1),  # O for 0 in the inward code
    ("SW8 1HW", 1),
    ("SE1 7PB", 1),
    ("SE5 8RS", 1),  # Southwark
    ("W2 1JB", 1),  # Westminster
    ("CF10 4DP", 1),  # Cardiff
    ("CF24 4SR", 2),  # Cardiff
    ("SW9", 1),  # malformed: a district only
    ("SW9 8Q", 1),  # malformed
    ("S W 9 X", 1),  # malformed
    ("W1D 3QU", 1),  # in the known gap
    ("EC1A 1BB", 1),  # in the known gap
    ("ZZ99 9ZZ", 1),  # well formed, not in the lookup
    ("", 2),  # blank
]
ALL_WRITTEN = [p for p, _ in POSTCODES if p.strip()]


def _register(path: Path) -> Path:
    rows = ["Name,Sex,Postcode"]
    n = 0
    for postcode, count in POSTCODES:
        for _ in range(count):
            n += 1
            rows.append(f"Person {n},{'Female' if n % 2 else 'Male'},{postcode}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _audit(tmp_path: Path, area: str, *extra: str) -> dict:
    register = _register(tmp_path / "register.csv")
    out = tmp_path / f"out-{area}"
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            str(register),
            "--area",
            area,
            "--eligible-age",
            "16+",
            "--internal",
            "--format",
            "json",
            "-o",
            f"{out}/",
            *extra,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "audit.json").read_text(encoding="utf-8"))


def _groups(data: dict, name: str) -> dict[str, dict]:
    found = [c for c in data["characteristics"] if c["name"] == name]
    assert found, [c["name"] for c in data["characteristics"]]
    return {g["category"]: g for g in found[0]["groups"]}


def test_lambeth_tallies(tmp_path) -> None:
    data = _audit(tmp_path, "Lambeth")
    block = data["geography"]
    assert block["column"] == "Postcode"
    assert block["read"] == 20
    assert block["matched"] == 9
    assert block["outside_area"] == 5  # SE5, W2, CF10, CF24 ×2
    assert block["blank"] == 2
    assert block["not_found_reasons"] == {
        "malformed": 3,
        "known_gap": 2,
        "not_in_lookup": 1,
        "no_location": 0,
    }
    assert block["not_found"] == 6
    assert block["deprivation_index"] == "IMD 2019"
    deciles = _groups(data, "imd_decile")
    assert list(deciles) == [str(d) for d in range(1, 11)]
    assert {d: g["count"] for d, g in deciles.items() if g["count"]} == {
        "2": 3,
        "3": 3,
        "4": 2,
        "7": 1,
    }
    wards = _groups(data, "ward")
    assert {w: g["count"] for w, g in wards.items() if g["count"]} == {
        "Brixton Windrush": 3,
        "Brixton Acre Lane": 2,
        "Knight's Hill": 2,
        "Stockwell West & Larkhall": 1,
        "Waterloo & South Bank": 1,
    }
    assert len(wards) == 25
    # The public geography the disclosure step reads: every ward, in label order (the
    # same JSON in every run).
    assert list(block["ward_deciles"]) == sorted(wards)
    assert block["ward_deciles"]["Brixton Windrush"]
    # Not found rows are spreadsheet rows (header = row 1).
    assert block["not_found_rows"] == [16, 17, 18, 19, 20, 21]


def test_cardiff_tallies_use_wimd(tmp_path) -> None:
    data = _audit(tmp_path, "Cardiff")
    block = data["geography"]
    assert block["matched"] == 3
    assert block["outside_area"] == 11
    assert block["deprivation_index"] == "WIMD 2019"
    deciles = _groups(data, "imd_decile")
    assert {d: g["count"] for d, g in deciles.items() if g["count"]} == {"4": 2, "7": 1}


def test_change_code_rules() -> None:
    small = (
        data_store()
        .table(geography.SMALL_AREAS_TABLE)
        .filter(
            pl.col("lsoa21_code").is_in(
                ["E01003052", "E01035189", "E01035190", "E01035188", "E01035637", "W01001943"]
            )
        )
    )
    found = {
        code: (change, decile)
        for code, change, decile in small.select("lsoa21_code", "change", "decile").iter_rows()
    }
    assert found["E01003052"] == ("U", 2)  # unchanged: its own decile
    # split from E01033468 (Middlesbrough 001G, rank 244, decile 1): both halves inherit
    assert found["E01035189"] == ("S", 1)
    assert found["E01035190"] == ("S", 1)
    # merged from ranks 155 and 831: mean 493, decile 1 (ranks 1-3,284)
    assert found["E01035188"] == ("M", 1)
    # redrawn from ranks 7,247 (decile 3) and 16,160 (decile 5): mean 11,703.5, decile 4
    # (ranks 9,854-13,137)
    assert found["E01035637"] == ("X", 4)
    assert found["W01001943"] == ("U", 7)


def test_normalisation() -> None:
    frame = pl.DataFrame({"p": ["sw9 8qt", "SE27 OTX", "SE27 0TI", "SW9", "sw1a1aa"]})
    rows = geography.normalise_postcodes(frame, "p").select("outward", "inward", "ok").rows()
    assert rows[0] == ("SW9", 8 * 676 + 16 * 26 + 19, True)
    assert rows[1] == ("SE27", 0 * 676 + 19 * 26 + 23, True)  # O read as 0
    assert rows[3][2] is False
    assert rows[4][0] == "SW1A"


def test_no_postcode_in_any_output(tmp_path, runner) -> None:
    register = _register(tmp_path / "register.csv")
    out = tmp_path / "out"
    store = tmp_path / "history.sqlite"
    result = runner.invoke(
        cli,
        [
            "audit",
            str(register),
            "--area",
            "Lambeth",
            "--eligible-age",
            "16+",
            "--format",
            "json",
            "--format",
            "html",
            "--format",
            "md",
            "--format",
            "csv",
            "-o",
            str(out),
            "--store",
            str(store),
            "--event-name",
            "Forum",
            "--event-date",
            "2026-11-01",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    texts = [result.output]
    texts += [p.read_text(encoding="utf-8") for p in out.iterdir()]
    texts.append(store.read_bytes().decode("latin-1"))
    squeezed = {re.sub(r"\s+", "", p).upper() for p in ALL_WRITTEN}
    for text in texts:
        flat = re.sub(r"\s+", "", text).upper()
        for postcode in squeezed:
            if len(postcode) >= 5:
                assert postcode not in flat


def test_adding_postcodes_changes_no_other_verdict(tmp_path, runner) -> None:
    with_postcodes = _audit(tmp_path, "Lambeth")
    register = tmp_path / "register.csv"
    lines = register.read_text(encoding="utf-8").splitlines()
    (tmp_path / "plain.csv").write_text(
        "\n".join(",".join(line.split(",")[:2]) for line in lines) + "\n", encoding="utf-8"
    )
    out = tmp_path / "plain"
    result = runner.invoke(
        cli,
        [
            "audit",
            str(tmp_path / "plain.csv"),
            "--area",
            "Lambeth",
            "--eligible-age",
            "16+",
            "--internal",
            "--format",
            "json",
            "-o",
            f"{out}/",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    plain = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert plain["characteristics"] == [
        c for c in with_postcodes["characteristics"] if c["name"] not in ("imd_decile", "ward")
    ]


# Westminster: real postcodes outside the gap, and postcodes in the missing districts.
WESTMINSTER = [
    ("W2 1JB", 120),
    ("NW8 8NA", 120),
    ("W1D 3QU", 25),
    ("SW1A 1AA", 10),
    ("WC2N 5DU", 5),
]


def test_westminster_gap_wards_are_never_nobody_came(tmp_path, runner) -> None:
    rows = ["Name,Postcode,Sex"]
    n = 0
    for postcode, count in WESTMINSTER:
        for _ in range(count):
            n += 1
            rows.append(f"Person {n},{postcode},{'Female' if n % 2 else 'Male'}")
    register = tmp_path / "westminster.csv"
    register.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "audit",
            str(register),
            "--area",
            "Westminster",
            "--eligible-age",
            "16+",
            "--format",
            "json",
            "--format",
            "html",
            "--format",
            "md",
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    block = data["geography"]
    assert block["not_found_reasons"]["known_gap"] == 40
    assert block["matched"] == 240
    gap = set(block["wards_cannot_tell"])
    assert {"West End", "St James's", "Knightsbridge & Belgravia"} <= gap
    assert not gap & set(block["wards_nobody_came"])
    assert block["wards_nobody_came"], "wards outside the gap with nobody are still named"
    for ward, group in _groups(data, "ward").items():
        if ward in gap:
            assert group["status"] == "insufficient_data"
            assert group["note"].startswith("Cannot tell")
    html = (out / "report.html").read_text(encoding="utf-8")
    for ward in gap:
        row = html.split(f'<th scope="row">{escape(ward)}</th>', 1)[1].split("</tr>", 1)[0]
        assert "cannot tell" in row and "nobody came" not in row
    texts = [result.output, *(p.read_text(encoding="utf-8") for p in out.iterdir())]
    for text in texts:
        flat = re.sub(r"\s+", "", text).upper()
        for postcode, _ in WESTMINSTER:
            assert postcode.replace(" ", "") not in flat


def test_nobody_came_needs_the_expected_count(tmp_path, runner) -> None:
    data = _audit(tmp_path, "Lambeth")
    # 9 participants over 25 wards: no ward expects 5, so none is named.
    assert data["geography"]["wards_nobody_came"] == []
    assert all(g["status"] == "insufficient_data" for g in _groups(data, "ward").values())


def test_reference_show_places(runner) -> None:
    result = runner.invoke(
        cli,
        [
            "reference",
            "show",
            "Lambeth",
            "--characteristic",
            "imd_decile",
            "--eligible-age",
            "16+",
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["characteristics"][0]
    counts = {c["category"]: c["count"] for c in shown["categories"]}
    assert list(counts) == [str(d) for d in range(1, 11)]
    assert counts["1"] == 0 and counts["10"] == 0 and counts["2"] > 50_000
    assert "approximated" in " ".join(shown["caveats"])
    wards = runner.invoke(
        cli,
        ["reference", "show", "Lambeth", "--characteristic", "ward", "--format", "csv"],
        catch_exceptions=False,
    )
    assert wards.exit_code == 0, wards.output
    lines = wards.stdout.strip().splitlines()
    assert len(lines) == 26 and lines[1].startswith("ward,")


def test_wales_and_england_are_never_pooled(tmp_path) -> None:
    data = _audit(tmp_path, "Lambeth", "--area", "Cardiff")
    names = {item["name"]: item["reason"] for item in data["not_audited"]}
    assert "never" not in names.get("imd_decile", "never")
    assert "England and Wales" in names["imd_decile"]
    assert data["geography"]["matched"] == 12


def test_disclosure_keeps_hidden_ward_zeros_hidden() -> None:
    from inclusion_audit.report.context import _wards
    from inclusion_audit.report.disclosure import suppress_small_counts

    def group(category: str, count: int) -> dict:
        return {
            "category": category,
            "count": count,
            "share": None,
            "ratio": None,
            "shortfall": 0,
            "population_share": 0.25,
            "population_count": 1000.0,
            "expected_count": 10.0,
            "status": "ok",
        }

    result = {
        "settings": {"under_threshold": 0.8},
        "characteristics": [
            {
                "name": "ward",
                "n_known": 40,
                "groups": [group("A", 0), group("B", 2), group("C", 20), group("D", 18)],
                "dissimilarity_index": 0.1,
                "chi_square": None,
            }
        ],
        "geography": {"wards_nobody_came": ["A"], "wards_cannot_tell": [], "matched": 40},
    }
    shown = suppress_small_counts(result, 5)
    # A's zero is hidden with B's 2, so A is not named as a ward nobody came from ...
    assert shown["geography"]["wards_nobody_came"] == []
    rows = _wards(shown)
    # ... and hidden rows come last, by name, whatever their reach. A and B alone
    # would add up to 2, leaving each only 0 to 2: the smallest shown ward, D, is
    # withheld with them.
    assert [r["ward"] for r in rows] == ["C", "A", "B", "D"]
    assert all(r["reach"] is None for r in rows[1:])
    assert [r["band"] for r in rows] == ["20", "0–4", "0–4", "withheld"]
    assert suppress_small_counts(result, 0)["geography"]["wards_nobody_came"] == ["A"]


def test_wards_get_no_barriers_or_actions_of_their_own(tmp_path) -> None:
    from inclusion_audit.audit import run_audit
    from inclusion_audit.ingest.readers import read_table
    from inclusion_audit.reference import census
    from inclusion_audit.reference.profiles import CensusReference

    rows = ["Postcode"] + ["SW9 8QT"] * 60 + ["SE1 7PB"] * 60
    register = tmp_path / "register.csv"
    register.write_text("\n".join(rows) + "\n", encoding="utf-8")
    reference = CensusReference(
        tuple(census.resolve_areas(["Lambeth"])), census.parse_age_range("16+")
    )
    result = run_audit(read_table(register), reference)
    wards = next(c for c in result.characteristics if c.name == "ward")
    assert any(g.status == "under" for g in wards.groups)
    assert all(r.characteristic != "ward" for r in result.recommendations)
    assert all(c != "ward" for b in result.barriers for c, _ in b.groups)
    assert len(result.geography.wards_nobody_came) >= 5


def _plain_count_places(answers, place) -> dict:
    """``count_places`` written plainly, one postcode at a time, from the same tables."""
    store = data_store()
    districts = {o: (s, c) for o, s, c in store.table("postcode_districts").iter_rows()}
    postcodes = store.table("postcodes")
    small = {row["lsoa"]: row for row in store.table("small_areas").iter_rows(named=True)}
    result = {
        "read": 0,
        "matched": 0,
        "outside_area": 0,
        "blank": 0,
        "not_found": dict.fromkeys(geography.NOT_FOUND_REASONS, 0),
        "by_decile": {},
        "by_ward": {},
        "unfound": [],
    }
    nowhere = []
    for written, count in answers:
        if written is None or not written.strip():
            result["blank"] += count
            continue
        result["read"] += count
        squeezed = re.sub(r"[\s\u00a0]+", "", written.upper())
        outward, inward = (squeezed[:-3] if len(squeezed) >= 5 else ""), squeezed[-3:]
        inward = {"O": "0", "I": "1"}.get(inward[:1], inward[:1]) + inward[1:]
        ok = (
            5 <= len(squeezed) <= 7
            and re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?", outward) is not None
            and re.fullmatch(r"[0-9][A-Z]{2}", inward) is not None
        )
        lsoa = None
        if ok and outward in districts:
            number = int(inward[0]) * 676 + (ord(inward[1]) - 65) * 26 + ord(inward[2]) - 65
            start, rows = districts[outward]
            span = postcodes.slice(start, rows).filter(pl.col("inward") == number)
            lsoa = span["lsoa"][0] if span.height else None
        if lsoa is None:
            reason = (
                "malformed"
                if not ok
                else "known_gap"
                if re.fullmatch(geography.GAP_DISTRICTS.strip("^$"), outward)
                else "not_in_lookup"
            )
            result["not_found"][reason] += count
            result["unfound"].append(written)
            continue
        area = small[lsoa]
        if area["place"] == "no location":
            result["not_found"]["no_location"] += count
            nowhere.append(written)
        elif area["ltla_code"] in place.leaves or area["ward_code"] in place.leaves:
            result["matched"] += count
            decile = str(area["decile"])
            result["by_decile"][decile] = result["by_decile"].get(decile, 0) + count
            label = place.ward_names.get(area["ward_code"])
            if label is not None:
                result["by_ward"][label] = result["by_ward"].get(label, 0) + count
        else:
            result["outside_area"] += count
    result["unfound"] = tuple(result["unfound"] + nowhere)
    return result


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from([p for p, _ in POSTCODES] + ["GY1 1AA", "BT1 1AA", "sw1a1aa"]),
                st.text(alphabet="ABCEIOSW019 \u00a0", max_size=9),
                st.none(),
            ),
            st.integers(1, 5),
        ),
        max_size=30,
        unique_by=lambda pair: pair[0],
    ),
    st.sampled_from(["Lambeth", "Cardiff", "Westminster"]),
)
def test_count_places_agrees_with_a_plain_lookup(answers, area) -> None:
    from inclusion_audit.reference.sources import choose_reference

    source, _ = choose_reference([area], "16+", None, None)
    place = geography.place_reference(source.areas, source.eligible_age, source.description)
    counted = geography.count_places(answers, place)
    assert dataclasses.asdict(counted) == _plain_count_places(answers, place)
