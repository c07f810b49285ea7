"""Write the bundled example register: synthetic, reproducible, deliberately skewed.

The people in it do not exist. Names and emails are invented. Postcodes are real
Lambeth postcodes (from the shipped postcode lookup, ``reference_data/``) picked at
random, more often from less deprived neighbourhoods, so the demo's deprivation
chart and ward table have something to show; a few are blank, mistyped or from
next door. A postcode names a street, not a person, and no report shows any. The
free-text column holds hostile strings on purpose, to show that none of it reaches
a report. The mix of answers leans older and whiter than the area, as real forums
often do, so the demo has something to find.

Run: python examples/make_example_register.py > examples/riverside-forum-register.csv
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

PARTICIPANTS = 240
SEED = 2021
POSTCODE_SEED = 2024
LAMBETH = "E09000022"
# Not usable on purpose: a blank, a mistyped one, and two from next door
# (Southwark, Croydon), so the report shows how they are counted.
ODD_POSTCODES = ["", "SW9 8Q", "SE5 8RS", "CR0 1NX"]

AGE = {"16-24": 4, "25-34": 13, "35-44": 16, "45-54": 20, "55-64": 21, "65-74": 15, "75+": 8, "": 3}
SEX = {"Female": 55, "Male": 42, "Prefer not to say": 3}
ETHNIC = {
    "White": 70,
    "Black, Black British, Black Welsh, Caribbean or African": 13,
    "Asian, Asian British or Asian Welsh": 7,
    "Mixed or Multiple ethnic groups": 5,
    "Other ethnic group": 2,
    "Prefer not to say": 3,
}
DISABILITY = {
    "Disabled under the Equality Act": 9,
    "Not disabled under the Equality Act": 86,
    "": 3,
    "Prefer not to say": 2,
}
COMMENTS = [
    "",
    "",
    "More bins on the high street please",
    "Meeting was too early for me",
    "<script>alert('x')</script>",
    '=HYPERLINK("http://example.invalid","click")',
]


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def lambeth_postcodes(count: int) -> list[str]:
    """Real Lambeth postcodes, picked in proportion to their neighbourhood's IMD decile.

    Forums hear more from better-off streets, so a postcode in decile 9 is nine times
    as likely to be picked as one in decile 1. Read from the shipped reference data.
    """
    import polars as pl

    data = Path(__file__).resolve().parent.parent / "reference_data"
    small = pl.read_parquet(data / "small_areas.parquet").filter(pl.col("ltla_code") == LAMBETH)
    districts = pl.read_parquet(data / "postcode_districts.parquet")
    rows = (
        pl.read_parquet(data / "postcodes.parquet")
        .with_columns(  # rows are sorted by district; postcode_districts says which
            districts.select(pl.col("outward").repeat_by("count").explode()).to_series()
        )
        .join(small.select("lsoa", "decile"), on="lsoa")
        .sort("outward", "inward")
        .select("outward", "inward", "decile")
        .rows()
    )
    rng = random.Random(POSTCODE_SEED)
    chosen = rng.choices(rows, weights=[decile for _, _, decile in rows], k=count)
    written = [f"{outward} {_inward_text(inward)}" for outward, inward, _ in chosen]
    for offset, odd in enumerate(ODD_POSTCODES):
        written[17 + 53 * offset] = odd
    return written


def _inward_text(number: int) -> str:
    """The inward code from its number in the lookup: digit × 676 + letter × 26 + letter."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"{number // 676}{letters[number % 676 // 26]}{letters[number % 26]}"


def main() -> None:
    rng = random.Random(SEED)
    postcodes = lambeth_postcodes(PARTICIPANTS)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        [
            "Participant ID",
            "Name",
            "Email",
            "Postcode",
            "Age",
            "Sex",
            "Ethnic group",
            "Disability",
            "Comments",
        ]
    )
    for number in range(1, PARTICIPANTS + 1):
        # The draws of the invented postcodes earlier versions used, kept (and
        # unused) so every other answer stays as it was.
        rng.randint(1, 9), rng.choice("ABDEFGHJ"), rng.choice("LNPQRSTU")
        writer.writerow(
            [
                f"P{number:04d}",
                f"Synthetic Person {number}",
                f"person{number}@example.invalid",
                postcodes[number - 1],
                pick(rng, AGE),
                pick(rng, SEX),
                pick(rng, ETHNIC),
                pick(rng, DISABILITY),
                rng.choice(COMMENTS),
            ]
        )


if __name__ == "__main__":
    main()
