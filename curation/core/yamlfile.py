"""YAML files users write (data cards, recipes): loaded safely, checked for typos in their keys."""
from __future__ import annotations

from pathlib import Path

import yaml

from curation.core.errors import AgoraError


def load_mapping(path: Path, what: str, known: set[str]) -> dict:
    """The file's top-level mapping; a clear error naming the file when it is missing, not YAML,
    not a mapping, or has a key outside `known` (a typo would otherwise be silently ignored)."""
    if not path.is_file():
        raise AgoraError(f"{what} not found: {path}")
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise AgoraError(f"{what} {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise AgoraError(f"{what} {path} must be a mapping with keys {', '.join(sorted(known))}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise AgoraError(f"{what} {path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return data
