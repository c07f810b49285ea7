"""Reading a user's reference population file."""

from __future__ import annotations

import pytest

from inclusion_audit.errors import ReferenceFileError
from inclusion_audit.reference.profiles import NotAvailable, read_reference_csv

HEADER = ["characteristic", "category", "count"]


def test_reads_counts_and_percentages(write_csv) -> None:
    path = write_csv(
        "ref.csv",
        [
            HEADER,
            ["sex", "Female", "51.5%"],
            ["sex", "Male", "48.5"],
            ["age", "16-24", "1,200"],
            ["age", "25+", "8800"],
        ],
    )
    reference = read_reference_csv(path)
    assert reference.characteristic_names() == ["sex", "age"]
    sex = reference.profile("sex", [])
    assert not isinstance(sex, NotAvailable)
    assert sex.categories == {"Female": 51.5, "Male": 48.5}
    assert reference.profile("age", []).categories["16-24"] == 1200  # type: ignore[union-attr]
    assert isinstance(reference.profile("religion", []), NotAvailable)


def test_header_case_and_order_do_not_matter(write_csv) -> None:
    path = write_csv(
        "ref.csv", [["Count", "Category", "Characteristic"], [3, "A", "x"], [1, "B", "x"]]
    )
    assert read_reference_csv(path).characteristic_names() == ["x"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["sex", "Female", "-3"], ["sex", "Male", "5"]], "line 2: the count '-3' is negative"),
        (
            [["sex", "Female", "lots"], ["sex", "Male", "5"]],
            "line 2: the count 'lots' is not a number",
        ),
        ([["sex", "Female", "nan"], ["sex", "Male", "5"]], "not a finite number"),
        ([["sex", "Female", "5"]], "'sex' has a single category"),
        ([["sex", "Female", "0"], ["sex", "Male", "0"]], "add up to 0"),
        ([["sex", "Female", "1"], ["sex", "Female", "2"]], "line 3: 'sex' lists the category"),
        ([["sex", "", "1"], ["sex", "Male", "2"]], "line 2: the category is blank"),
        ([["sex", "Female", "1"], ["sex", "Prefer not to say", "2"]], "is a non-response"),
        ([], "has a header but no rows"),
    ],
)
def test_bad_reference_files(write_csv, rows: list[list[str]], message: str) -> None:
    path = write_csv("ref.csv", [HEADER, *rows])
    with pytest.raises(ReferenceFileError, match=message) as caught:
        read_reference_csv(path)
    assert "ref.csv" in str(caught.value)


def test_missing_columns_are_named(write_csv) -> None:
    path = write_csv("ref.csv", [["characteristic", "group", "n"], ["sex", "Female", 1]])
    with pytest.raises(ReferenceFileError, match=r"lacks the column.*category, count"):
        read_reference_csv(path)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ReferenceFileError, match="does not exist"):
        read_reference_csv(tmp_path / "nope.csv")


def test_decimal_commas_are_refused_not_misread(write_csv) -> None:
    path = write_csv("ref.csv", [HEADER, ["sex", "Female", "51,5%"], ["sex", "Male", "48,5%"]])
    with pytest.raises(ReferenceFileError, match="line 2: the count '51,5%' uses a decimal comma"):
        read_reference_csv(path)
    thousands = write_csv(
        "ref2.csv", [HEADER, ["sex", "Female", "1,234"], ["sex", "Male", "1,000.5"]]
    )
    assert read_reference_csv(thousands).profile("sex", []).categories == {  # type: ignore[union-attr]
        "Female": 1234.0,
        "Male": 1000.5,
    }
