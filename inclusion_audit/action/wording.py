"""Plain words for event details and groups, shared by barrier findings and recommendations."""

from __future__ import annotations

from collections.abc import Sequence

from inclusion_audit.action.event import (
    EventDetails,
)
from inclusion_audit.action.knowledge import PLACEHOLDERS, characteristic_family, fold_label
from inclusion_audit.vocab.ages import parse_age_band

__all__ = [
    "describe_group",
    "join_words",
]


_FORMAT_WORDS = {
    "in_person": "in person",
    "online": "online",
    "hybrid": "in person and online",
    "postal": "post",
    "phone": "phone",
}


_EVENT_TYPE_WORDS = {
    "consultation": "consultation",
    "citizens_assembly": "citizens' assembly",
    "participatory_budgeting": "participatory budgeting vote",
    "neighbourhood_forum": "neighbourhood forum",
    "workshop": "workshop",
    "drop_in": "drop-in",
    "online_survey": "online survey",
}


_RECRUITMENT_WORDS = {
    "open_invitation": "an open invitation",
    "targeted": "targeted invitations",
    "civic_lottery": "a civic lottery",
}


_PAYMENT_WORDS = {"none": "nothing", "voucher": "vouchers", "stipend": "a stipend"}


NOT_KNOWN = "not known"


def event_words(event: EventDetails | None) -> dict[str, str]:
    """The values ``says`` templates may use, in words; unknown ones read "not known"."""
    words = dict.fromkeys(PLACEHOLDERS, NOT_KNOWN)
    if event is None:
        return words
    if event.start_time is not None:
        words["start_time"] = event.start_time.strftime("%H:%M")
    if event.end_time is not None:
        words["end_time"] = event.end_time.strftime("%H:%M")
    if event.date is not None:
        words["weekday"] = event.date.strftime("%A")
        words["date"] = f"{event.date.day} {event.date.strftime('%B %Y')}"
        words["month"] = event.date.strftime("%B")
    if (minutes := event.duration_minutes) is not None:
        hours, rest = divmod(minutes, 60)
        parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
        parts += [f"{rest} minutes"] if rest else []
        words["duration"] = " ".join(parts) or "0 minutes"
    if event.format is not None:
        words["format"] = _FORMAT_WORDS[event.format]
    if event.event_type is not None:
        words["event_type"] = _EVENT_TYPE_WORDS[event.event_type]
    if event.recruitment is not None:
        words["recruitment"] = _RECRUITMENT_WORDS[event.recruitment]
    if event.payment is not None:
        if event.payment.kind is not None:
            words["payment_kind"] = _PAYMENT_WORDS[event.payment.kind]
        if event.payment.amount is not None:
            words["payment_amount"] = f"£{event.payment.amount:,.2f}".removesuffix(".00")
    if event.interpreters:
        words["interpreters"] = join_words(event.interpreters)
    if event.translated_materials:
        words["translated_materials"] = join_words(event.translated_materials)
    return words


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_SEX_WORDS = {"female": "women", "male": "men"}


_DISABILITY_WORDS = {
    "disabled under the equality act": "disabled people",
    "not disabled under the equality act": "people who are not disabled",
}


_ENGLISH_WORDS = {
    "main language is english (english or welsh in wales)": "people whose main language is English",
    "main language is not english (english or welsh in wales): can speak english very well": (
        "people who speak English very well as a second language"
    ),
    "main language is not english (english or welsh in wales): can speak english well": (
        "people who speak English well as a second language"
    ),
    "main language is not english (english or welsh in wales): cannot speak english well": (
        "people who cannot speak English well"
    ),
    "main language is not english (english or welsh in wales): cannot speak english": (
        "people who cannot speak English"
    ),
}


_ETHNIC_SPECIAL = {
    "white: english, welsh, scottish, northern irish or british": "White British residents",
    "mixed or multiple ethnic groups: other mixed or multiple ethnic groups": (
        "residents of other mixed or multiple ethnic groups"
    ),
    "other ethnic group: any other ethnic group": "residents of any other ethnic group",
    "other ethnic group": "residents of other ethnic groups",
    "mixed or multiple ethnic groups": "residents of mixed or multiple ethnic groups",
}


_RELIGION_WORDS = {
    "no religion": "people with no religion",
    "other religion": "people of other religions",
    "other religions": "people of other religions",
}


def describe_group(characteristic: str, category: str) -> str:
    """A group in plain English, for sentences: "people aged 25-34", "women".

    >>> describe_group("age", "75+"), describe_group("sex", "Female")
    ('people aged 75+', 'women')
    >>> describe_group("ethnic_group", "Asian, Asian British or Asian Welsh: Bangladeshi")
    'Bangladeshi residents'
    >>> describe_group("tenure", "Owned: Owns outright")
    'people in the tenure group "Owned: Owns outright"'
    """
    key = fold_label(category)
    family = characteristic_family(characteristic)
    if family == "age":
        band = parse_age_band(category)
        if band is not None and band[0] == 0 and band[1] is not None:
            return f"people aged under {band[1] + 1}"
        return f"people aged {category.strip()}"
    if family == "sex" and key in _SEX_WORDS:
        return _SEX_WORDS[key]
    if family == "disability" and key in _DISABILITY_WORDS:
        return _DISABILITY_WORDS[key]
    if family == "english_proficiency" and key in _ENGLISH_WORDS:
        return _ENGLISH_WORDS[key]
    if family == "ethnic_group":
        if key in _ETHNIC_SPECIAL:
            return _ETHNIC_SPECIAL[key]
        return f"{category.split(': ', 1)[-1].strip()} residents"
    if family == "religion":
        return _RELIGION_WORDS.get(key, f"{category.strip()} residents")
    if family == "sexual_orientation":
        if key.startswith(("all other", "other")):
            return "residents of other sexual orientations"
        return f"{key} residents"
    if family == "gender_identity":
        if key in ("trans woman", "trans man"):
            return f"trans {'women' if key.endswith('woman') else 'men'}"
        if key.startswith("gender identity different"):
            return "people whose gender identity differs from their sex registered at birth"
        if key.startswith("gender identity the same"):
            return "people whose gender identity is the same as their sex registered at birth"
        return "people of other gender identities"
    if family == "unpaid_care" and key.startswith("provides "):
        return f"people who provide {key.removeprefix('provides ')}"
    name = characteristic.replace("_", " ")
    return f'people in the {name} group "{category.strip()}"'
