"""Choose what a register is compared with, from what the user gave.

One place decides between Census areas, a population file and quota targets,
so the command line, the web service and library users behave alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inclusion_audit.errors import InputError
from inclusion_audit.reference import census
from inclusion_audit.reference.profiles import CensusReference, ReferenceSource, read_reference_csv
from inclusion_audit.reference.targets import Quota, read_targets

ENGLAND_AND_WALES = "K04000001"
"""The area to use when none is given but any Census label should be understood."""


class SourceChoiceError(InputError):
    """The options name no population, or two that exclude each other."""


def choose_reference(
    areas: Sequence[str] = (),
    eligible_age: str | None = None,
    reference_file: Path | None = None,
    targets_file: Path | None = None,
    age_bands: str | None = None,
) -> tuple[ReferenceSource, list[Quota]]:
    """The population to compare with, and any quotas to check.

    Census areas (with eligible ages) or a population file; a targets file adds
    quotas, and when nothing else is given its quota midpoints (or its
    population) are the comparison.
    """
    if areas and reference_file:
        raise SourceChoiceError("give either --area or --reference, not both.")
    if eligible_age is not None and not areas:
        raise SourceChoiceError(
            "--eligible-age goes with --area (a reference file has its own base)."
        )
    if age_bands is not None and not areas:
        raise SourceChoiceError(
            "--age-bands goes with --area (a reference file has its own bands)."
        )
    targets, quotas = read_targets(targets_file) if targets_file else (None, [])
    if areas:
        age = census.parse_age_range(eligible_age) if eligible_age is not None else None
        bands = census.parse_age_bands(age_bands) if age_bands is not None else ()
        return CensusReference(tuple(census.resolve_areas(areas)), age, age_bands=bands), quotas
    if reference_file:
        return read_reference_csv(reference_file), quotas
    if targets is not None:
        return targets, quotas
    raise SourceChoiceError(
        "say what to compare with: --area AREA (Census 2021), --reference FILE or --targets FILE."
    )
