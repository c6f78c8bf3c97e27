"""Curation recipes: YAML files in pipelines/ that hold every threshold, so changing one is data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curation.core.errors import AgoraError
from curation.core.ids import content_key
from curation.text.langid import BACKENDS
from curation.text.pii import KINDS as PII_KINDS
from curation.core.yamlfile import load_mapping

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "pipelines" / "default.yaml"
SECTIONS = {"version", "steps", "langid", "quality", "pii", "dedup"}
# Keys of the langid section that stage 3 applies; the others configure the detector itself.
LANGID_POLICY_KEYS = ("min_score", "min_chars", "require_declared")
# Bump when stage 1 computes something differently, so stored signals are not reused wrongly.
STAGE1_CODE_VERSION = 3  # 2: Yi, Tai Tham and Tai Viet scripts recognised; 3: agora langid votes with word lists


@dataclass(frozen=True)
class Recipe:
    path: str
    data: dict

    @property
    def langid(self) -> dict:
        return self.data.get("langid") or {}

    @property
    def langid_backend(self) -> str:
        return self.langid.get("backend", "langdetect")

    def langid_options(self) -> dict:
        """Keyword arguments of the language-id backend (everything but the policy keys)."""
        return {k: v for k, v in self.langid.items() if k != "backend" and k not in LANGID_POLICY_KEYS}

    @property
    def quality(self) -> dict:
        return self.data.get("quality") or {}

    @property
    def pii_redact(self) -> list[str]:
        return list((self.data.get("pii") or {}).get("redact", PII_KINDS))

    @property
    def dedup(self) -> dict:
        return self.data.get("dedup") or {}

    @property
    def fuzzy(self) -> dict:
        return {"threshold": 0.8, "num_perm": 128, "ngram": 5, **(self.dedup.get("fuzzy") or {})}

    def stage1_settings(self) -> dict:
        """What stage 1's stored rows depend on; anything else in the recipe is policy."""
        return {
            "code": STAGE1_CODE_VERSION,
            "langid": {"backend": self.langid_backend, **self.langid_options()},
            "pii": sorted(self.pii_redact),
            "minhash": {"num_perm": self.fuzzy["num_perm"], "ngram": self.fuzzy["ngram"]},
        }

    def stage1_key(self) -> str:
        return content_key(self.stage1_settings())

    def fingerprint(self) -> str:
        return content_key(self.data)


def load_recipe(path: str | Path | None = None) -> Recipe:
    recipe_path = Path(path) if path else DEFAULT_RECIPE
    data = load_mapping(recipe_path, "recipe", SECTIONS)
    recipe = Recipe(str(recipe_path), data)
    backend = recipe.langid_backend
    if backend not in BACKENDS:
        raise AgoraError(f"recipe {recipe_path}: langid.backend {backend!r} is not one of {', '.join(sorted(BACKENDS))}")
    bad_pii = sorted(set(recipe.pii_redact) - set(PII_KINDS))
    if bad_pii:
        raise AgoraError(f"recipe {recipe_path}: pii.redact has unknown kind(s) {', '.join(bad_pii)}; known: {', '.join(PII_KINDS)}")
    _check_quality_rules(recipe)
    return recipe


def _check_quality_rules(recipe: Recipe) -> None:
    from curation.text.quality import quality_signals

    known = set(quality_signals("A short example sentence.", "en"))
    blocks = [("defaults", recipe.quality.get("defaults") or {})]
    for group in ("scripts", "languages"):
        blocks += [(f"{group}.{key}", rules or {}) for key, rules in (recipe.quality.get(group) or {}).items()]
    for where, rules in blocks:
        for rule in rules:
            bound, _, signal = rule.partition("_")
            if bound not in ("min", "max") or signal not in known:
                raise AgoraError(
                    f"recipe {recipe.path}: quality.{where}.{rule} is not min_<signal> or max_<signal> "
                    f"for a known signal (see curation/quality.py)"
                )
