"""The YAML loader for event files, apart from :mod:`inclusion_audit.action.event`.

Kept in its own module so that importing the event module (which every audit
does) does not import PyYAML; only reading a YAML event file does.
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping."""

    def __init__(self, key: str, line: int) -> None:
        self.key = key
        super().__init__(
            f"{key!r} is given twice (again at line {line}): keep one, or the second would "
            "silently replace the first."
        )


class EventLoader(yaml.SafeLoader):
    """Safe YAML, minus two YAML 1.1 surprises for hand-written event files.

    ``start_time: 10:00`` would be the base-60 integer 600, and a repeated key
    would silently replace the first: times stay text, and repeats are errors.
    """


def _scalar_or_sexagesimal(constructor: Any) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        value = loader.construct_scalar(node)
        if isinstance(value, str) and ":" in value:
            return value
        return constructor(loader, node)

    return construct


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise DuplicateKeyError(str(key), key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node)


EventLoader.add_constructor(
    "tag:yaml.org,2002:int", _scalar_or_sexagesimal(yaml.SafeLoader.construct_yaml_int)
)
EventLoader.add_constructor(
    "tag:yaml.org,2002:float", _scalar_or_sexagesimal(yaml.SafeLoader.construct_yaml_float)
)
EventLoader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)
