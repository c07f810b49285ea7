"""An answer that is the part after the colon of exactly one label is that category (issue 18)."""

from __future__ import annotations

import pytest

from inclusion_audit.reference import census
from inclusion_audit.vocab.classifications import place_answer


@pytest.fixture(scope="module")
def lambeth_ethnic_groups() -> list[str]:
    return census.census_categories(census.resolve_areas(["Lambeth"]), "ethnic_group")


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("Other White", "White: Other White"),
        ("Other Black", "Black, Black British, Black Welsh, Caribbean or African: Other Black"),
        ("other asian", "Asian, Asian British or Asian Welsh: Other Asian"),
        ("Roma", "White: Roma"),
        ("Any other ethnic group", "Other ethnic group: Any other ethnic group"),
    ],
)
def test_the_part_after_the_colon_is_the_category(
    lambeth_ethnic_groups: list[str], answer: str, category: str
) -> None:
    placed = place_answer("ethnic_group", answer, lambeth_ethnic_groups)
    assert (placed.kind, placed.category) == ("category", category)


def test_a_tail_of_two_labels_stays_unknown() -> None:
    categories = ["Group A: Other", "Group B: Other", "Group B: Something"]
    assert place_answer("ethnic_group", "Other", categories).kind != "category"
    assert place_answer("ethnic_group", "Something", categories).category == "Group B: Something"


def test_five_groups_place_a_tail_at_their_level() -> None:
    five = census.census_categories(census.resolve_areas(["Lambeth"]), "ethnic_group")
    tops = sorted({label.split(":")[0] for label in five})
    placed = place_answer("ethnic_group", "Other White", tops)
    assert (placed.kind, placed.category) == ("category", "White")
