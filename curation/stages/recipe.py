"""Curation recipes: YAML files in pipelines/ that hold every threshold, so changing one is data.

A recipe may name a `base` recipe and hold only what differs; the files are merged, then checked
against SCHEMA, so a typo or a wrongly typed value is one line naming the file and the key.
pipelines/README.md documents every key.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.core.errors import AgoraError
from curation.core.ids import content_key
from curation.core.yamlfile import AnyKeys, Keys, ListOf, Value, check, load_mapping
from curation.stages.stage1 import STAGE1_CODE_VERSION, STEPS
from curation.text.langid import BACKENDS, DEFAULT_BACKEND
from curation.text.pii import KINDS as PII_KINDS
from curation.text.quality import SIGNAL_NAMES

# The `pipelines` package beside `curation`: the repository root in a checkout or an editable
# install, site-packages in a wheel.
DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "pipelines" / "default.yaml"
FORMAT_VERSION = 1  # of the recipe format; a recipe without `version` is version 1
FUZZY_DEFAULTS = {"threshold": 0.8, "num_perm": 128, "ngram": 5}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


STRING = Value("a string", lambda v: isinstance(v, str))
BOOLEAN = Value("true or false", lambda v: isinstance(v, bool))
INTEGER = Value("an integer", _is_int)
POSITIVE_INT = Value("a positive integer", lambda v: _is_int(v) and v > 0)
RULE = Value("a number or null", lambda v: v is None or _is_number(v))  # null disables the rule
RULES = Keys({f"{bound}_{signal}": RULE for signal in SIGNAL_NAMES for bound in ("min", "max")},
             unknown="a rule is min_<signal> or max_<signal> of a signal listed in pipelines/README.md")
# Keys of the langid section that stage 3 applies.
LANGID_POLICY = {
    "min_score": Value("a number from 0 to 1", lambda v: _is_number(v) and 0 <= v <= 1),
    "min_chars": Value("a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "require_declared": BOOLEAN,
    "relatives": ListOf(ListOf(STRING)),
}
# Keys of the langid section that configure the detector itself (stage 1); each backend takes some.
LANGID_OPTIONS = {
    "languages": ListOf(STRING, nullable=True),
    "prefix_chars": POSITIVE_INT,
    "seed": INTEGER,
    "low_accuracy": BOOLEAN,
}
SCHEMA = Keys({
    "version": Value(f"{FORMAT_VERSION}, the recipe format this Agora reads",
                     lambda v: _is_int(v) and v == FORMAT_VERSION),
    "base": Value("a path to a recipe, relative to this file", lambda v: isinstance(v, str) and v != ""),
    "langid": Keys({
        "backend": Value(f"one of {', '.join(BACKENDS)}", lambda v: isinstance(v, str) and v in BACKENDS),
        **LANGID_POLICY,
        **LANGID_OPTIONS,
    }),
    "quality": Keys({
        "defaults": RULES,
        "scripts": AnyKeys(RULES, "an ISO 15924 script code"),
        "languages": AnyKeys(RULES, "an ISO 639 language code"),
    }),
    "pii": Keys({"redact": ListOf(Value(f"one of {', '.join(PII_KINDS)}", lambda v: v in PII_KINDS))}),
    # A model made by `agora quality train`, by its id; stage 1 stores its score as quality_model_score.
    "quality_model": Value("a model id from `agora quality train` (qm- and 12 hex digits) or null",
                           lambda v: v is None or (isinstance(v, str) and re.fullmatch(r"qm-[0-9a-f]{12}", v))),
    "dedup": Keys({
        # Exact duplicates are always removed; the key stays because the shipped recipes' run ids hash it.
        "exact": Value("true (exact duplicates are always removed)", lambda v: v is True),
        "fuzzy": Keys({
            "threshold": Value("a number above 0 and at most 1", lambda v: _is_number(v) and 0 < v <= 1),
            "num_perm": POSITIVE_INT,
            "ngram": POSITIVE_INT,
        }),
        "source_priority": ListOf(STRING),
    }),
})


@dataclass(frozen=True)
class Recipe:
    """A recipe's merged data (no `base`); the catalog stores it, and a run's Recipe is rebuilt from it."""

    path: str
    data: dict

    @property
    def langid(self) -> dict:
        return self.data.get("langid") or {}

    @property
    def langid_backend(self) -> str:
        return self.langid.get("backend", DEFAULT_BACKEND)

    def langid_options(self) -> dict:
        """Keyword arguments of the language-id backend."""
        return {k: v for k, v in self.langid.items() if k in LANGID_OPTIONS}

    @property
    def quality(self) -> dict:
        return self.data.get("quality") or {}

    @property
    def quality_model(self) -> str | None:
        return self.data.get("quality_model")

    @property
    def pii_redact(self) -> list[str]:
        return list((self.data.get("pii") or {}).get("redact", PII_KINDS))

    @property
    def dedup(self) -> dict:
        return self.data.get("dedup") or {}

    @property
    def fuzzy(self) -> dict:
        return {**FUZZY_DEFAULTS, **(self.dedup.get("fuzzy") or {})}

    def stage1_settings(self) -> dict:
        """What stage 1's stored rows depend on; anything else in the recipe is policy."""
        return {
            "code": STAGE1_CODE_VERSION,
            "langid": {"backend": self.langid_backend, **self.langid_options()},
            "pii": sorted(self.pii_redact),
            "quality_model": self.quality_model,
            "minhash": {"num_perm": self.fuzzy["num_perm"], "ngram": self.fuzzy["ngram"]},
        }

    def stage1_key(self) -> str:
        return content_key(self.stage1_settings())

    def fingerprint(self) -> str:
        """The recipe's part of a run id. It covers the pipeline's steps, which the code decides
        (stage1.STEPS): recipes once listed them as `steps:`, and hashing them keeps run ids stable."""
        return content_key({**self.data, "steps": list(STEPS)})


def load_recipe(path: str | Path | None = None) -> Recipe:
    """A recipe file merged over its base chain, checked; a mistake is one line naming the file and the key."""
    recipe_path = Path(path) if path else DEFAULT_RECIPE
    data = _load_with_bases(recipe_path, ())
    _check_backend_options(data.get("langid") or {}, f"recipe {recipe_path}")
    return Recipe(str(recipe_path), data)


def _load_with_bases(path: Path, seen: tuple[Path, ...]) -> dict:
    """The file's data merged over its base's; `seen`: the files that led here, to catch a cycle."""
    data = load_mapping(path, "recipe", set(SCHEMA.keys))
    check(data, SCHEMA, f"recipe {path}")
    if "base" not in data:
        return data
    base = path.parent / data.pop("base")
    chain = (*seen, path.resolve())
    if base.resolve() in chain:
        names = " -> ".join(p.name for p in (*chain, base))
        raise AgoraError(f"recipe {path}: base {base} makes a cycle ({names})")
    if not base.is_file():
        raise AgoraError(f"recipe {path}: base {base} not found (a base path is relative to the recipe)")
    return _merge(_load_with_bases(base, chain), data)


def _merge(base: dict, child: dict) -> dict:
    """The child's values win: mappings merge key by key; anything else, null and lists too, replaces."""
    merged = dict(base)
    for key, value in child.items():
        both_mappings = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both_mappings else value
    return merged


def _check_backend_options(langid: dict, where: str) -> None:
    """Detector options the merged recipe's backend does not take (a seed is langdetect's alone)."""
    backend = langid.get("backend", DEFAULT_BACKEND)
    takes = [name for name in inspect.signature(BACKENDS[backend]).parameters if name in LANGID_OPTIONS]
    for option in langid:
        if option in LANGID_OPTIONS and option not in takes:
            raise AgoraError(f"{where}: langid.{option} is not an option of the {backend} backend, "
                             f"which takes {', '.join(takes)}")
