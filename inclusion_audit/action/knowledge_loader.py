"""Loading ``barriers.yaml`` (or its compiled JSON twin) into a checked :class:`KnowledgeBase`.

The YAML is what people edit; ``make knowledge-data`` compiles it to JSON so that
the command line does not pay for a YAML parser. Both are read through the same
checks (:mod:`inclusion_audit.action.knowledge_checks`).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from inclusion_audit.action.knowledge import (
    COMPILED_FILE,
    KNOWLEDGE_BASE_FILE,
    KnowledgeBase,
    KnowledgeBaseError,
)
from inclusion_audit.action.knowledge_checks import KnowledgeParser
from inclusion_audit.paths import reference_data_candidates
from inclusion_audit.reference import census

__all__ = [
    "compile_knowledge_base",
    "load_knowledge_base",
]


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read and check the knowledge base (default: ``barriers.yaml`` in the reference data).

    The default is looked for where the Census tables are
    (:func:`census.reference_data_dir`, so ``$INCLUSION_AUDIT_REFERENCE_DATA``
    applies), then in the shipped reference data: the file is curated rather than
    built, so a rebuilt Census directory without it still gets the shipped one.
    It is read once, from the ``barriers.json`` compiled beside it when that was
    compiled from the file as it is (:func:`compile_knowledge_base`).

    Raises:
        KnowledgeBaseError: the file is missing, is not YAML, or an entry is malformed
            (the message names the entry and what is wrong).
    """
    if path is None:
        return _default_knowledge_base(_default_path())
    return _read_knowledge_base(Path(path))


def _default_path() -> Path:
    candidates = _candidates(os.environ.get(census.ENV_VAR) or None)
    return next((c for c in candidates if c.is_file()), candidates[0])


@lru_cache(maxsize=8)
def _candidates(setting: str | None) -> tuple[Path, ...]:
    # Worked out once per value of the reference-data setting (an audit asks six
    # times, and resolving a path looks at every folder in it); whether each file
    # is there is looked at every time.
    return (
        census.reference_data_dir().resolve() / KNOWLEDGE_BASE_FILE,
        *(folder / KNOWLEDGE_BASE_FILE for folder in reference_data_candidates()),
    )


@lru_cache(maxsize=4)
def _default_knowledge_base(path: Path) -> KnowledgeBase:
    return _read_knowledge_base(path)


def _read_knowledge_base(path: Path) -> KnowledgeBase:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KnowledgeBaseError(
            f"The barrier knowledge base {path} is missing. Restore reference_data/"
            f"{KNOWLEDGE_BASE_FILE} from git (it is curated, not built)."
        ) from None
    compiled = _compiled_data(path, raw)
    data = compiled if compiled is not None else _yaml_data(path, raw)
    return KnowledgeParser(path).knowledge_base(data)


def _yaml_data(path: Path, raw: bytes) -> Any:
    # Deferred: with barriers.json beside the file an audit never needs PyYAML (8 ms).
    import yaml

    try:
        # libyaml's C loader reads the knowledge base about ten times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(raw.decode("utf-8"), Loader=loader)
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(
            f"The barrier knowledge base {path} is not valid YAML: {error}"
        ) from None


def _compiled_data(path: Path, raw: bytes) -> Any:
    """The YAML's data from the ``barriers.json`` beside it, if compiled from these bytes."""
    try:
        compiled = json.loads((path.parent / COMPILED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(compiled, dict) or compiled.get("source_sha256") != _sha256(raw):
        return None
    return compiled.get("data")


def compile_knowledge_base(path: str | Path, directory: Path) -> Path:
    """Write ``barriers.json`` into ``directory``: the YAML's data, read by JSON in 1 ms.

    Parsing the YAML takes an audit about 11 ms (and 8 ms to import PyYAML);
    ``scripts/build_reference_data.py`` compiles the shipped file. The JSON
    records the YAML's sha256, and is used only beside a YAML with that sha256,
    so editing the YAML without compiling it again changes nothing but speed.

    Raises:
        KnowledgeBaseError: the YAML would not load, or holds values (dates, say)
            that JSON would give back differently.
    """
    path = Path(path)
    raw = path.read_bytes()
    data = _yaml_data(path, raw)
    KnowledgeParser(path).knowledge_base(data)
    try:
        same = json.loads(json.dumps(data)) == data
    except (TypeError, ValueError):
        same = False
    if not same:
        raise KnowledgeBaseError(
            f"The barrier knowledge base {path} holds values JSON cannot carry: quote them."
        )
    compiled = {"source": path.name, "source_sha256": _sha256(raw), "data": data}
    target = directory / COMPILED_FILE
    target.write_text(json.dumps(compiled, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
