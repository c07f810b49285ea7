"""Event details: what the event was like, read from a YAML, TOML or JSON file.

The barrier analysis needs to know when and how the event ran (a Wednesday at
10:00, no crèche, an online-only survey) to say *why* a group was missed. Officers
write these details by hand, so the loader is strict about what it accepts and
precise when it refuses: an unknown key or a value of the wrong type stops with
a message naming the file, the key (``venue.step_free``), the value and the fix,
because a typo silently ignored ("chilcare: false") would quietly weaken the
analysis. Every field is optional, and a missing one is *unknown* (None), never
"no": the analysis then says what is not known instead of assuming the worst.

>>> details = parse_event({"date": "2025-03-05", "start_time": "10:00", "childcare": False})
>>> details.date, details.start_time, details.childcare, details.venue
(datetime.date(2025, 3, 5), datetime.time(10, 0), False, None)
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from inclusion_audit.errors import InputError
from inclusion_audit.ingest.limits import MAX_NESTING, nesting_depth, too_large_to_read_whole

__all__ = [
    "EVENT_TYPES",
    "FORMATS",
    "PAYMENT_KINDS",
    "RECRUITMENT",
    "EventDetails",
    "EventFileError",
    "Payment",
    "Venue",
    "load_event",
    "parse_event",
]

FORMATS = ("in_person", "online", "hybrid", "postal", "phone")
PAYMENT_KINDS = ("none", "voucher", "stipend")
RECRUITMENT = ("open_invitation", "targeted", "civic_lottery")
EVENT_TYPES = (
    "consultation",
    "citizens_assembly",
    "participatory_budgeting",
    "neighbourhood_forum",
    "workshop",
    "drop_in",
    "online_survey",
)
SUFFIXES = {".yaml": "YAML", ".yml": "YAML", ".toml": "TOML", ".json": "JSON"}
_UNKNOWN_HINT = "leave it out if it is not known"


class EventFileError(InputError):
    """An event-details file cannot be read, or a key or value in it is wrong.

    ``key`` is the dotted path of the offending key (``venue.step_free``) or None
    for a problem with the whole file.
    """

    def __init__(self, path: Path, message: str, key: str | None = None) -> None:
        self.path = path
        self.key = key
        super().__init__(f"event file {path}: {message}")


@dataclass(frozen=True)
class Venue:
    """Where an in-person event was held, and its access features (None = not known)."""

    name: str | None = None
    step_free: bool | None = None
    hearing_loop: bool | None = None
    accessible_toilet: bool | None = None
    public_transport: bool | None = None


@dataclass(frozen=True)
class Payment:
    """What participants were paid: ``kind`` none, voucher or stipend; ``amount`` in GBP a day."""

    kind: str | None = None
    amount: float | None = None


@dataclass(frozen=True)
class EventDetails:
    """How an engagement event ran. Every field None means "not known", never "no".

    ``interpreters`` and ``translated_materials`` are languages; an empty tuple
    means none were offered.
    """

    id: str | None = None
    title: str | None = None
    date: dt.date | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    format: str | None = None
    venue: Venue | None = None
    childcare: bool | None = None
    carers_welcome: bool | None = None
    interpreters: tuple[str, ...] | None = None
    bsl: bool | None = None
    translated_materials: tuple[str, ...] | None = None
    easy_read: bool | None = None
    payment: Payment | None = None
    travel_paid: bool | None = None
    online_option: bool | None = None
    paper_option: bool | None = None
    recruitment: str | None = None
    event_type: str | None = None

    @property
    def duration_minutes(self) -> int | None:
        """Minutes from start to finish, when both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        start = self.start_time.hour * 60 + self.start_time.minute
        return self.end_time.hour * 60 + self.end_time.minute - start

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready details: dates ISO, times ``HH:MM``, languages as lists."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, dt.time):
                value = value.strftime("%H:%M")
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Venue | Payment):
                value = {f.name: getattr(value, f.name) for f in fields(value)}
            data[item.name] = value
        return data


# ---------------------------------------------------------------------------
# Reading files


def load_event(path: str | Path) -> EventDetails:
    """Read event details from a ``.yaml``/``.yml``, ``.toml`` or ``.json`` file.

    Raises:
        EventFileError: the file is missing, cannot be parsed, or has an unknown
            key or a wrong value (the message names the key, value and fix).
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.casefold())
    if kind is None:
        raise EventFileError(
            path,
            f"the file type {path.suffix or '(none)'!r} is not supported: save the event "
            "details as .yaml, .toml or .json.",
        )
    if (too_large := too_large_to_read_whole(path)) is not None:
        raise EventFileError(path, too_large + ".")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EventFileError(path, "the file does not exist: check the path.") from None
    except UnicodeDecodeError:
        raise EventFileError(path, "the file is not UTF-8 text: save it as UTF-8.") from None
    except OSError as error:
        raise EventFileError(path, f"the file cannot be read ({error.strerror}).") from None
    data = _parse_text(path, kind, text)
    return parse_event(data, path)


def _parse_text(path: Path, kind: str, text: str) -> Any:
    if kind == "YAML":
        return _parse_yaml(path, text)
    # Nesting is checked before parsing: the parsers recurse once per level.
    if nesting_depth(text) > MAX_NESTING:
        raise EventFileError(
            path,
            f"lists or tables are nested more than {MAX_NESTING} levels deep: an event file "
            "has keys at most two levels deep (venue.step_free).",
        )
    if kind == "TOML":
        return _parse_toml(path, text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise EventFileError(
            path,
            f"this is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}).",
        ) from None
    except RecursionError:
        raise EventFileError(path, "lists or objects are nested too deeply.") from None


def _parse_toml(path: Path, text: str) -> Any:
    # Deferred like PyYAML: tomllib takes 1.5 ms to import.
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise EventFileError(path, f"this is not valid TOML ({error}).") from None
    except RecursionError:
        raise EventFileError(path, "lists or tables are nested too deeply.") from None


def _parse_yaml(path: Path, text: str) -> Any:
    # Deferred: PyYAML takes 8 ms to import, and most audits have no event file.
    import yaml

    from inclusion_audit.action.event_yaml import EventLoader, EventYamlError

    try:
        return yaml.load(text, Loader=EventLoader)
    except EventYamlError as error:
        raise EventFileError(path, str(error), key=error.key) from None
    except RecursionError:
        raise EventFileError(path, "lists or keys are nested too deeply.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise EventFileError(path, f"this is not valid YAML{where} ({problem}).") from None


# ---------------------------------------------------------------------------
# Checking values


def parse_event(data: Any, path: str | Path = "(event details)") -> EventDetails:
    """Check already-parsed event data (a mapping) and build ``EventDetails``.

    Raises:
        EventFileError: naming the key, the value and the fix.
    """
    checker = _Checker(Path(path))
    if data is None:
        return EventDetails()
    mapping = checker.mapping(data, None, _TOP_KEYS)
    return EventDetails(
        id=checker.identifier(mapping.get("id"), "id"),
        title=checker.text(mapping.get("title"), "title"),
        date=checker.date(mapping.get("date"), "date"),
        start_time=checker.time(mapping.get("start_time"), "start_time"),
        end_time=checker.end_time(mapping),
        format=checker.choice(mapping.get("format"), "format", FORMATS),
        venue=checker.venue(mapping.get("venue")),
        childcare=checker.flag(mapping.get("childcare"), "childcare"),
        carers_welcome=checker.flag(mapping.get("carers_welcome"), "carers_welcome"),
        interpreters=checker.languages(mapping.get("interpreters"), "interpreters"),
        bsl=checker.flag(mapping.get("bsl"), "bsl"),
        translated_materials=checker.languages(
            mapping.get("translated_materials"), "translated_materials"
        ),
        easy_read=checker.flag(mapping.get("easy_read"), "easy_read"),
        payment=checker.payment(mapping.get("payment")),
        travel_paid=checker.flag(mapping.get("travel_paid"), "travel_paid"),
        online_option=checker.flag(mapping.get("online_option"), "online_option"),
        paper_option=checker.flag(mapping.get("paper_option"), "paper_option"),
        recruitment=checker.choice(mapping.get("recruitment"), "recruitment", RECRUITMENT),
        event_type=checker.choice(mapping.get("event_type"), "event_type", EVENT_TYPES),
    )


_TOP_KEYS = tuple(f.name for f in fields(EventDetails))
_VENUE_KEYS = tuple(f.name for f in fields(Venue))
_PAYMENT_KEYS = tuple(f.name for f in fields(Payment))
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NON_WORD = re.compile(r"[\s\-]+")


class _Checker:
    """Turns raw values into typed fields, or raises with the key, value and fix."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, value: Any, problem: str, fix: str) -> EventFileError:
        return EventFileError(self.path, f"{key} is {_show(value)}, {problem}. {fix}", key=key)

    def mapping(self, value: Any, key: str | None, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            if key is None:
                raise EventFileError(
                    self.path,
                    f"the file holds {_show(value)}, not a set of keys such as "
                    "`date: 2025-03-05`. Write one key per line (see the README for the keys).",
                )
            raise self.fail(
                key, value, "not a set of keys", f"Give {key} as keys: {', '.join(allowed)}."
            )
        for name in value:
            if not isinstance(name, str) or name not in allowed:
                dotted = f"{key}.{name}" if key else str(name)
                close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
                hint = f"Did you mean {close[0]!r}? " if close else ""
                raise EventFileError(
                    self.path,
                    f"{dotted!r} is not a known key. {hint}The keys are: {', '.join(allowed)}.",
                    key=dotted,
                )
        return value

    def identifier(self, value: Any, key: str) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(value, key)

    def text(self, value: Any, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                key, value, "not a piece of text", f"Write it as text, or {_UNKNOWN_HINT}."
            )
        return value.strip()

    def flag(self, value: Any, key: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(
            key, value, "not true or false", f"Write true or false, or {_UNKNOWN_HINT}."
        )

    def choice(self, value: Any, key: str, allowed: tuple[str, ...]) -> str | None:
        if value is None:
            return None
        folded = _NON_WORD.sub("_", value.strip().casefold()) if isinstance(value, str) else None
        if folded not in allowed:
            raise self.fail(
                key, value, "not one of the allowed values", f"Use one of: {', '.join(allowed)}."
            )
        return folded

    def date(self, value: Any, key: str) -> dt.date | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            raise self.fail(
                key,
                value,
                "a date with a time",
                "Give the date only (2025-03-05) and put the time in start_time.",
            )
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(
            key,
            value,
            "not a date",
            f"Write it as YYYY-MM-DD, e.g. 2025-03-05, or {_UNKNOWN_HINT}.",
        )

    def time(self, value: Any, key: str) -> dt.time | None:
        if value is None:
            return None
        if isinstance(value, dt.time) and value.tzinfo is None:
            return value.replace(second=0, microsecond=0)
        if isinstance(value, str) and (match := _TIME.match(value.strip())):
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if hour < 24 and minute < 60 and second < 60:
                return dt.time(hour, minute)
        raise self.fail(
            key, value, "not a time of day", f"Write it as HH:MM, e.g. 18:30, or {_UNKNOWN_HINT}."
        )

    def end_time(self, mapping: Mapping[str, Any]) -> dt.time | None:
        end = self.time(mapping.get("end_time"), "end_time")
        start = self.time(mapping.get("start_time"), "start_time")
        if end is not None and start is not None and end <= start:
            raise self.fail(
                "end_time",
                mapping.get("end_time"),
                f"not after start_time {start.strftime('%H:%M')}",
                "Give the finishing time on the same day (HH:MM, 24-hour clock).",
            )
        return end

    def languages(self, value: Any, key: str) -> tuple[str, ...] | None:
        if value is None:
            return None
        if value is False:
            return ()
        if isinstance(value, list | tuple):
            languages = []
            for index, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    raise self.fail(
                        f"{key}[{index}]",
                        item,
                        "not a language name",
                        "Write each language as text, e.g. [Bengali, Somali].",
                    )
                languages.append(item.strip())
            return tuple(dict.fromkeys(languages))
        raise self.fail(
            key,
            value,
            "not a list of languages",
            f"Write a list such as [Bengali, Somali], [] or false for none, or {_UNKNOWN_HINT}.",
        )

    def venue(self, value: Any) -> Venue | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Venue(name=self.text(value, "venue"))
        mapping = self.mapping(value, "venue", _VENUE_KEYS)
        return Venue(
            name=self.text(mapping.get("name"), "venue.name"),
            step_free=self.flag(mapping.get("step_free"), "venue.step_free"),
            hearing_loop=self.flag(mapping.get("hearing_loop"), "venue.hearing_loop"),
            accessible_toilet=self.flag(
                mapping.get("accessible_toilet"), "venue.accessible_toilet"
            ),
            public_transport=self.flag(mapping.get("public_transport"), "venue.public_transport"),
        )

    def payment(self, value: Any) -> Payment | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Payment(kind=self.choice(value, "payment", PAYMENT_KINDS))
        if not isinstance(value, Mapping):
            raise self.fail(
                "payment",
                value,
                "not a kind of payment",
                "Give kind (none, voucher, stipend) and amount per day, e.g. "
                "{kind: stipend, amount: 75}, or just the kind.",
            )
        mapping = self.mapping(value, "payment", _PAYMENT_KEYS)
        kind = self.choice(mapping.get("kind"), "payment.kind", PAYMENT_KINDS)
        amount = mapping.get("amount")
        if amount is not None:
            if (
                isinstance(amount, bool)
                or not isinstance(amount, int | float)
                or not math.isfinite(amount)
                or amount < 0
            ):
                raise self.fail(
                    "payment.amount",
                    amount,
                    "not an amount of money",
                    f"Write the pounds paid per day as a number, e.g. 75, or {_UNKNOWN_HINT}.",
                )
            amount = float(amount)
            if kind == "none" and amount > 0:
                raise self.fail(
                    "payment.amount",
                    amount,
                    "but payment.kind is none",
                    "Set payment.kind to voucher or stipend, or remove the amount.",
                )
        return Payment(kind=kind, amount=amount)


def _show(value: Any) -> str:
    """A value as the user wrote it (text in quotes), shortened when long."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"
