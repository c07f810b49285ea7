"""Write the bundled example register: synthetic, reproducible, deliberately skewed.

The people in it do not exist. Names, emails and postcodes are invented (the
postcodes use the unassigned ``ZZ99`` district), and the free-text column holds
hostile strings on purpose, to show that none of it reaches a report. The mix of
answers leans older and whiter than the area, as real forums often do, so the
demo has something to find.

Run: python examples/make_example_register.py > examples/riverside-forum-register.csv
"""

from __future__ import annotations

import csv
import random
import sys

PARTICIPANTS = 240
SEED = 2021

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


def main() -> None:
    rng = random.Random(SEED)
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
        writer.writerow(
            [
                f"P{number:04d}",
                f"Synthetic Person {number}",
                f"person{number}@example.invalid",
                f"ZZ99 {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
                pick(rng, AGE),
                pick(rng, SEX),
                pick(rng, ETHNIC),
                pick(rng, DISABILITY),
                rng.choice(COMMENTS),
            ]
        )


if __name__ == "__main__":
    main()
