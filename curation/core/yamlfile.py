"""YAML files users write (data cards, recipes): loaded safely and checked against a small schema, so a
typo or a wrongly typed value is one line naming the file, the key and what was expected, never a
traceback from deep inside the code that reads the value."""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curation.core.errors import AgoraError


@dataclass(frozen=True)
class Value:
    """A leaf: `ok` says whether a value fits, `expected` says what fits ("a number or null")."""

    expected: str
    ok: Callable[[Any], bool]


@dataclass(frozen=True)
class ListOf:
    """A list whose items each fit `item`; `nullable`: null is allowed too."""

    item: Value
    nullable: bool = False


@dataclass(frozen=True)
class Keys:
    """A mapping with these keys, all optional; `unknown` explains a key outside them (default: lists them)."""

    keys: dict[str, Node]
    unknown: str = ""


@dataclass(frozen=True)
class AnyKeys:
    """A mapping of free string keys (codes, names), each holding a `value`; `key` says what a key is."""

    value: Node
    key: str


Node = Value | ListOf | Keys | AnyKeys


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
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise AgoraError(f"{what} {path}: unknown key(s) {', '.join(map(str, unknown))}; "
                         f"known: {', '.join(sorted(known))}")
    return data


def check(data: Any, schema: Node, where: str, path: str = "") -> None:
    """Raise an AgoraError at the first part of `data` that `schema` does not allow.
    `where` names the file ("recipe pipelines/my.yaml"), `path` the dotted key of `data` in it."""
    if isinstance(schema, Value):
        if not schema.ok(data):
            raise AgoraError(f"{where}: {path} must be {schema.expected}, got {describe(data)}")
    elif isinstance(schema, ListOf):
        if not (isinstance(data, list) or (data is None and schema.nullable)):
            raise AgoraError(f"{where}: {path} must be a list{' or null' * schema.nullable}, got {describe(data)}")
        for index, item in enumerate(data or []):
            check(item, schema.item, where, f"{path}[{index}]")
    else:
        if not isinstance(data, dict):
            raise AgoraError(f"{where}: {path} must be a mapping, got {describe(data)}")
        for key, value in data.items():
            check(value, _child(schema, key, where, path), where, f"{path}.{key}" if path else str(key))


def _child(schema: Keys | AnyKeys, key: Any, where: str, path: str) -> Node:
    """The schema of `key` in a mapping at `path`; an error for a key the mapping does not take."""
    if isinstance(schema, AnyKeys):
        if not isinstance(key, str):  # YAML reads `no:` as false and `1:` as a number
            raise AgoraError(f"{where}: {path} has a key that YAML read as {describe(key)}; "
                             f"quote it, as a key there is {schema.key}")
        return schema.value
    if key in schema.keys:
        return schema.keys[key]
    close = difflib.get_close_matches(str(key), list(schema.keys), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    known = schema.unknown or f"known: {', '.join(schema.keys)}"
    raise AgoraError(f"{where}: unknown key {path + '.' if path else ''}{key}; {hint}{known}")


def describe(value: Any) -> str:
    """A value as YAML wrote it, for an error: the string '50', the boolean true, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"the {type(value).__name__} {value}"  # dates and times: YAML reads 2024-01-01 as one
