"""The audit result: one typed, JSON-serialisable record of everything found.

Renderers, the store and reviews read this and nothing else. The JSON form is
documented in ``docs/result-schema.md``; bump ``SCHEMA_VERSION`` on any change
that is not a pure addition.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = "2.0"

METHOD_VERSION = "2"
"""The statistical method behind every verdict; printed in every report and JSON.

1: exact binomial test (R's ``binom.test``) with p-values adjusted over every
group, beside a Wilson interval; reviews pooled as Poisson.
2: one method from test to status (``findings.verdicts``): the equal-tailed exact
test and the interval inverting it, at the level the correction family reached;
reviews pooled as a sum of binomials. Bump whenever the same counts could get
another verdict.
"""

UNREADABLE_SHARE = 0.25
"""Above this share of a characteristic's answers (not blank, not declined) that could not
be placed, the characteristic's results describe too few of those who answered: that is a
finding on the report's first page, in the terminal summary and in ``check``."""


class Status(StrEnum):
    """How a group's participation compares with its population share."""

    UNDER = "under"
    """Ratio below the under threshold and the verdict's interval wholly below 1."""
    POSSIBLE_UNDER = "possible_under"
    """Ratio below the under threshold but the interval reaches 1: too few people to be sure."""
    OK = "ok"
    """Ratio between the two thresholds."""
    POSSIBLE_OVER = "possible_over"
    """Ratio above the over threshold but the interval reaches 1."""
    OVER = "over"
    """Ratio above the over threshold and the verdict's interval wholly above 1."""
    INSUFFICIENT_DATA = "insufficient_data"
    """No verdict either way: fewer participants expected than the minimum, or answers
    that named only a broader group containing this one could change the verdict."""


@dataclass(frozen=True)
class BaseBounds:
    """A group's verdict at both ends of what the ages outside the eligible range could be.

    Where the population base stands in for the eligible ages (``BaseGapInfo``),
    the group's eligible share lies between ``share_low`` (every resident of the
    base who is not eligible is in the group, no eligible one outside the base
    is) and ``share_high`` (the reverse). The ratio and the status of the same
    test at each end are kept; ``held_at_both`` is whether a firm status (at
    the stand-in share) holds at both (None where it was not firm), and
    ``reason`` says in plain words why a verdict is not firm.
    """

    share_low: float
    share_high: float
    ratio_at_share_low: float | None
    ratio_at_share_high: float | None
    status_at_share_low: Status
    status_at_share_high: Status
    held_at_both: bool | None
    reason: str | None = None


@dataclass(frozen=True)
class BaseGapInfo:
    """Residents in the base but not eligible (``outside_eligible``, aged
    ``ages_outside_eligible``) and eligible residents outside it, with how they
    were counted: the counts that bound every group's share (``BaseBounds``)."""

    outside_eligible: float
    outside_base: float
    ages_outside_eligible: str
    ages_outside_base: str
    how: str
    n_not_firm: int = 0
    """Groups whose firm verdict at the stand-in shares did not hold at both bounds."""


@dataclass(frozen=True)
class GroupResult:
    """One category of one characteristic: participants against population.

    ``*_share`` are proportions from 0 to 1 over participants with a known
    answer; ``ratio`` is share / population_share; ``shortfall`` (to the under
    threshold) and ``shortfall_parity`` (to a ratio of 1) are numbers of people.
    ``ratio_ci_*`` is the interval the status comes from, at ``ratio_ci_level``;
    ``share_ci_*`` is the Wilson interval of the share at the audit's confidence;
    ``p_value`` is the verdict's test (equal tails) and ``p_value_binom_test``
    R's ``binom.test``. Values that cannot be computed are None, never NaN.
    """

    category: str
    count: int
    share: float | None
    share_ci_low: float | None
    share_ci_high: float | None
    population_count: float
    population_share: float
    expected_count: float
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    p_value: float | None
    p_value_adjusted: float | None
    status: Status
    shortfall: int
    share_if_unknown_in_group: float | None
    share_if_unknown_not_in_group: float | None
    note: str | None = None
    ratio_ci_level: float | None = None
    in_family: bool = False
    p_value_binom_test: float | None = None
    shortfall_parity: int = 0
    robust_to_unknown: bool | None = None
    """False when the verdict would change were all, or none, of the unknown answers in it."""
    base_bounds: BaseBounds | None = None
    """Where the base stands in for the eligible ages: the verdict at both bounds."""


@dataclass(frozen=True)
class ChiSquare:
    """Pearson goodness of fit of the whole distribution against the census."""

    statistic: float
    df: int
    p_value: float
    min_expected_count: float


@dataclass(frozen=True)
class ReferenceInfo:
    """Where a characteristic's population figures come from."""

    source: str
    base: str
    universe: str
    table: str | None = None
    unit: str = "persons"
    caveats: tuple[str, ...] = ()
    attribution: str | None = None


@dataclass(frozen=True)
class UnplaceableAnswer:
    """A recognised answer that fits no single category ("BAME"), with why.

    Only curated wordings are named; answers a user's mapping file set aside
    are counted under one label, since they may be participants' free text.
    """

    answer: str
    count: int
    note: str


@dataclass(frozen=True)
class CharacteristicResult:
    """The audit of one characteristic (one register column)."""

    name: str
    column: str
    n_known: int
    n_unknown: int
    n_blank: int
    n_declined: int
    n_broad_only: int
    n_unplaceable: int
    unplaceable: tuple[UnplaceableAnswer, ...]
    mapping_notes: tuple[str, ...]
    dissimilarity_index: float | None
    chi_square: ChiSquare | None
    groups: tuple[GroupResult, ...]
    reference: ReferenceInfo
    base_bounds: BaseGapInfo | None = None
    """Where the base stands in for the eligible ages: the residents that bound the shares."""

    @property
    def unknown_rate(self) -> float | None:
        """Share of participants with a blank or declined answer."""
        total = self.n_known + self.n_unknown
        return self.n_unknown / total if total else None

    @property
    def n_answered(self) -> int:
        """Participants who gave an answer: neither blank nor "prefer not to say"."""
        return self.n_known + self.n_broad_only + self.n_unplaceable

    @property
    def unplaceable_rate(self) -> float | None:
        """Share of the answers given that could not be placed in any group."""
        return self.n_unplaceable / self.n_answered if self.n_answered else None

    @property
    def answers_unreadable(self) -> bool:
        """More than :data:`UNREADABLE_SHARE` of the answers given could not be placed."""
        rate = self.unplaceable_rate
        return rate is not None and rate > UNREADABLE_SHARE


@dataclass(frozen=True)
class NotAudited:
    """A characteristic that could not be audited, with the reason and the fix.

    ``column`` is the register column it concerns, when there is one (a column
    recognised as a characteristic the reference lacks, a second column for a
    characteristic, or a column whose answers look like one); ``fix`` says what
    to do about it, when something can be done.
    """

    name: str
    reason: str
    column: str | None = None
    fix: str | None = None


@dataclass(frozen=True)
class QuotaResult:
    """A quota from a targets file and how the panel stands against it."""

    characteristic: str
    category: str
    minimum: int
    maximum: int
    count: int
    met: bool
    gap: int
    """People missing (negative) or over the maximum (positive); 0 when met."""


@dataclass(frozen=True)
class BarrierResult:
    """A barrier that may explain why groups were missed, with the evidence for it."""

    barrier: str
    title: str
    evidence: tuple[str, ...]
    groups: tuple[tuple[str, str], ...]
    """(characteristic, category) of each under-represented group it may explain."""
    strength: float
    source: str


@dataclass(frozen=True)
class RecommendationResult:
    """One outreach action, naming every missed group it serves; ``priority`` 1 comes first.

    ``characteristic`` and ``category`` are its first group (kept for readers of
    schema 1.0); ``groups`` are all the groups a shared report may name, and
    ``withheld_groups`` those it serves whose status shared reports withhold.
    """

    characteristic: str
    category: str
    barrier: str
    action: str
    evidence: str
    priority: int
    source: str
    groups: tuple[tuple[str, str], ...] = ()
    withheld_groups: tuple[tuple[str, str], ...] = ()
    label: str = ""


@dataclass(frozen=True)
class OfferedResult:
    """A measure the event already took against a barrier, whose groups were still missed."""

    barrier: str
    title: str
    offered: tuple[str, ...]
    groups: tuple[tuple[str, str], ...]
    text: str


@dataclass(frozen=True)
class RegisterInfo:
    """What was read: file name (never its path), format and size."""

    file: str
    file_format: str
    rows: int
    columns_used: tuple[str, ...]
    columns_ignored: int


@dataclass(frozen=True)
class GeographyResult:
    """Where participants live, from the register's postcode column: counts only.

    Of the postcodes given (``read``; ``blank`` were not), each is ``matched`` (in
    the audited area), ``outside_area`` (counted apart, never compared) or not
    found, by reason in ``not_found_reasons``: ``malformed``, ``known_gap`` (a
    central-London district the lookup lacks), ``not_in_lookup`` or
    ``no_location``. ``not_found_rows`` are the spreadsheet rows (header = row 1)
    of the first postcodes not found, so the register can be corrected. No
    postcode is ever kept.
    """

    column: str
    read: int
    matched: int
    outside_area: int
    not_found: int
    not_found_reasons: dict[str, int]
    not_found_rows: tuple[int, ...]
    blank: int
    deprivation_index: str | None
    """"IMD 2019" (England) or "WIMD 2019" (Wales); None when deciles are not compared."""
    wards_nobody_came: tuple[str, ...]
    """Wards no participant came from, where at least ``min_expected`` were expected."""
    wards_cannot_tell: tuple[str, ...]
    """Wards with an LSOA in the lookup's postcode gap: nobody there may be missing data."""
    lookup: str
    attribution: str
    ward_deciles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Each ward → the deprivation deciles of its LSOAs (public geography; shared reports
    protect the ward and decile tables together with it)."""


@dataclass(frozen=True)
class AnswerShare:
    """One answer option of a question: raw and weighted shares, side by side."""

    answer: str
    count: int
    share: float
    """Raw share among those who answered the question."""
    share_ci_low: float
    share_ci_high: float
    """Wilson interval of the raw share (no weights)."""
    share_design_ci_low: float
    share_design_ci_high: float
    """The raw share's Wilson interval at the weights' effective sample size."""
    weighted_share: float | None
    weighted_ci_low: float | None
    weighted_ci_high: float | None
    """Wilson interval of the weighted share at the effective sample size."""
    differs: bool
    """The weighted share lies outside the raw share's design-adjusted interval."""
    sentence: str | None


@dataclass(frozen=True)
class QuestionResult:
    """A question's answers, unweighted and weighted."""

    question: str
    n_answered: int
    n_no_answer: int
    n_declined: int
    effective_sample_size: float
    design_effect: float | None
    answers: tuple[AnswerShare, ...]
    smallest_cross_count: int | None = None
    """The fewest participants, above 0, giving one answer within one category weighted
    on: below the disclosure threshold, shared outputs withhold the weighted shares."""


@dataclass(frozen=True)
class WeightedResults:
    """Results re-weighted to the population, always shown beside the raw ones."""

    reference: str
    characteristics: tuple[str, ...]
    confidence: float
    design_effect: float
    effective_sample_size: float
    converged: bool
    largest_margin_error: float
    trim_ratio: float | None
    warnings: tuple[str, ...]
    questions: tuple[QuestionResult, ...]
    attribution: str | None = None
    """The licence line of the population figures (Census: the OGL attribution)."""
    smallest_margin_count: int | None = None
    """The fewest participants in any category weighted on that has any: below the
    disclosure threshold, shared outputs withhold the weights' diagnostics and intervals."""
    caveat: str = (
        "Weights fix the composition of the room, not whose voices were missing: people "
        "who took part stand in for those like them who did not. Read the weighted result "
        "beside the raw one and the representation audit, never instead of them."
    )

    def to_dict(self) -> dict[str, Any]:
        """The results as plain JSON-ready data (exact counts: not for publishing)."""
        data: dict[str, Any] = plain(self)
        return data


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit found, ready for JSON, reports and the store."""

    tool_version: str
    register: RegisterInfo
    reference: str
    settings: dict[str, Any]
    n_participants: int
    characteristics: tuple[CharacteristicResult, ...]
    not_audited: tuple[NotAudited, ...] = ()
    quotas: tuple[QuotaResult, ...] = ()
    event: dict[str, Any] | None = None
    barriers: tuple[BarrierResult, ...] = ()
    recommendations: tuple[RecommendationResult, ...] = ()
    what_worked: tuple[str, ...] = ()
    geography: GeographyResult | None = None
    weighted_results: WeightedResults | None = None
    """With ``audit --question``: the questions' answers raw and re-weighted."""
    intersections: tuple[CharacteristicResult, ...] = ()
    """With ``audit --intersect``: the cells of each cross, as characteristics."""
    already_offered: tuple[OfferedResult, ...] = ()
    schema_version: str = field(default=SCHEMA_VERSION)
    method_version: str = field(default=METHOD_VERSION)

    def groups_with_status(
        self, *statuses: Status
    ) -> list[tuple[CharacteristicResult, GroupResult]]:
        """Every group with one of the statuses, largest shortfall first."""
        found = [
            (characteristic, group)
            for characteristic in self.characteristics
            for group in characteristic.groups
            if group.status in statuses
        ]
        return sorted(found, key=lambda pair: (-pair[1].shortfall, pair[1].ratio or 0.0))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data (no NaN or infinity anywhere)."""
        data: dict[str, Any] = plain(self)
        ordered: dict[str, Any] = {
            "schema_version": data.pop("schema_version"),
            "method_version": data.pop("method_version"),
            "tool": {"name": "inclusion-audit", "version": data.pop("tool_version")},
        }
        ordered.update(data)
        for characteristic, raw in zip(
            self.characteristics, ordered["characteristics"], strict=True
        ):
            raw["unknown_rate"] = plain(characteristic.unknown_rate)
            raw["unplaceable_rate"] = plain(characteristic.unplaceable_rate)
            raw["answers_unreadable"] = characteristic.answers_unreadable
        return ordered

    def to_json(self, *, indent: int | None = 2) -> str:
        """The result as JSON text: indented for people, or compact (``indent=None``) for
        programs, which Python's C encoder writes several times faster."""
        if indent is None:
            text = json.dumps(
                self.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        else:
            text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
        return text + "\n"


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""Each dataclass's field names, looked up once (``dataclasses.fields`` builds them anew)."""


def plain(value: Any) -> Any:
    """Dataclasses as dicts (fields in order), tuples as lists, dates as ISO text, NaN and
    infinities as None: JSON-ready data.

    What ``dataclasses.asdict`` and a pass replacing those values give, in one
    pass without ``asdict``'s deep copies: the audit converts a result three times
    (twice for disclosure control, once for the JSON), a review of 1,000 events
    about 400,000 values. The common exact types are tested first; subclasses
    (``Status`` is a ``str``) take the general path.
    """
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.setdefault(kind, tuple(f.name for f in fields(value)))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value
