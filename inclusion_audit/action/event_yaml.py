"""The YAML loader for event files, apart from :mod:`inclusion_audit.action.event`.

Kept in its own module so that importing the event module (which every audit
does) does not import PyYAML; only reading a YAML event file does.
"""

from __future__ import annotations

from typing import Any

import yaml

from inclusion_audit.ingest.limits import MAX_NESTING


class EventYamlError(yaml.YAMLError):
    """Something an event file must not hold, with the key (if any) and the line."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class DuplicateKeyError(EventYamlError):
    """A key given twice in one mapping."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(
            f"{key!r} is given twice (again at line {line}): keep one, or the second would "
            "silently replace the first.",
            key,
        )


class EventLoader(yaml.SafeLoader):
    """Safe YAML, minus what a hand-written event file never needs and an attacker would use.

    ``start_time: 10:00`` would be the base-60 integer 600, and a repeated key
    would silently replace the first: times stay text, and repeats are errors.
    Aliases (``*name``) are refused before anything is built, so an "alias bomb"
    of a few hundred bytes cannot expand into gigabytes; so are keys that are
    lists or mappings (``? [a, b]``) and nesting deeper than ``MAX_NESTING``.
    An impossible date (``2025-02-30``) stays text, for the event checker to
    refuse by key.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise EventYamlError(
                f"line {event.start_mark.line + 1} repeats an earlier value with an alias "
                f"(*{event.anchor}): write the value out in full; event files do not use "
                "anchors or aliases."
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise EventYamlError(
                    f"line {event.start_mark.line + 1} is nested more than {MAX_NESTING} levels "
                    "deep: an event file has keys at most two levels deep (venue.step_free)."
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _scalar_or_sexagesimal(constructor: Any) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        value = loader.construct_scalar(node)
        if isinstance(value, str) and ":" in value:
            return value
        return constructor(loader, node)

    return construct


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:  # 2025-02-30: the checker says which key and why
        return loader.construct_scalar(node)


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise EventYamlError(
                f"line {key_node.start_mark.line + 1} has a key that is a list or a set of "
                "keys: write each key as a plain name, such as `date:`."
            )
        key = loader.construct_object(key_node)
        if key in seen:
            raise DuplicateKeyError(str(key), key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node)


EventLoader.add_constructor(
    "tag:yaml.org,2002:int", _scalar_or_sexagesimal(yaml.SafeLoader.construct_yaml_int)
)
EventLoader.add_constructor(
    "tag:yaml.org,2002:float", _scalar_or_sexagesimal(yaml.SafeLoader.construct_yaml_float)
)
EventLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
EventLoader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)
