"""Mixture arithmetic: how many tokens each language and source gets, and how many documents to hold out.

Pure functions, no catalog; selection.py applies them to the documents, in SQL. Budgets are
computed with exact fractions and rounded once at the end (largest remainder, ties to the lower
code), so integer budgets always add up and never exceed a cap. User-typed decimals (weights,
epoch caps, fractions) are read through `str`, so weights of 0.33, 0.56 and 0.11 sum to exactly 1
(in floating point, to a little more).
"""
from __future__ import annotations

import math
from fractions import Fraction

from curation.core.errors import AgoraError
from curation.ingest.licenses import license_classes

METHODS = ("temperature", "unimax")
HOLDOUT_FEW = 5  # held-out documents a language with enough of them gives at least ...
HOLDOUT_ONE_IN = 20  # ... where "enough" means that this minimum takes at most one document in 20
# Policy -> the license classes it excludes.
LICENSE_POLICIES = {
    "any": frozenset(),
    "commercial": frozenset({"non-commercial", "research-only"}),
    "open": frozenset({"non-commercial", "research-only", "unknown"}),
}


class MixtureError(AgoraError, ValueError):
    """A mixture setting that cannot work; an AgoraError so the CLI prints it on one line."""


def temperature_shares(tokens_by_lang: dict[str, int], alpha: float) -> dict[str, float]:
    """p_l ∝ n_l^alpha: 1 keeps the natural proportions, 0 is uniform; languages without tokens get 0."""
    weights = _temperature_weights(tokens_by_lang, alpha)
    total = sum(weights.values())
    return {lang: float(w / total) if total else 0.0 for lang, w in weights.items()}


def unimax_budgets(tokens_by_lang: dict[str, int], budget: int, max_epochs: float) -> dict[str, int]:
    """UniMax (Chung et al. 2023): as uniform as the epoch cap allows.

    The result sums to min(budget, Σ floor(max_epochs · n_l)); caps are rounded down so that no
    language is repeated more than max_epochs times.
    """
    return language_budgets(tokens_by_lang, budget, "unimax", max_epochs=max_epochs)


def language_budgets(tokens_by_lang: dict[str, int], budget: int, method: str, *, alpha: float | None = None,
                     max_epochs: float | None = None, weights: dict[str, float] | None = None) -> dict[str, int]:
    """Token budget per language.

    Weighted languages get weight × budget (at most their cap); the others share what is left by
    `method`. What a cap frees goes to the unweighted languages that can still take more; when none
    can, the total falls short of the budget rather than exceed a cap or an explicit weight.
    A language without tokens gets 0.
    """
    if budget < 0:
        raise MixtureError(f"the token budget must not be negative (got {budget})")
    fixed = _fixed_shares(weights or {}, tokens_by_lang, "language")
    caps = _caps(tokens_by_lang, budget, max_epochs)
    quotas = {lang: min(w * budget, caps[lang]) for lang, w in fixed.items()}
    rest_budget = budget - sum(quotas.values(), Fraction(0))
    others = {lang: n for lang, n in tokens_by_lang.items() if lang not in fixed}
    if method == "temperature":
        if alpha is None:
            raise MixtureError("temperature sampling needs a temperature (--temperature)")
        quotas |= _capped_fill(_temperature_weights(others, alpha), rest_budget, caps)
    elif method == "unimax":
        if max_epochs is None:
            raise MixtureError("UniMax needs an epoch cap (--max-epochs)")
        quotas |= _unimax(others, rest_budget, caps)
    else:
        raise MixtureError(f"unknown mixture method {method!r}; choose one of {', '.join(METHODS)}")
    return _round({lang: quotas[lang] for lang in tokens_by_lang})


def split_across_sources(target_tokens: int, tokens_by_source: dict[str, int],
                         weights: dict[str, float] | None = None) -> dict[str, int]:
    """A language's target split over its sources; the integers always sum to the target.

    Sources are taken in proportion to their tokens; weighted sources get weight × target and the
    others share the rest. If no unweighted source has tokens, the weighted ones are scaled up to
    fill the target, since nothing else can. A source without tokens gets 0.
    """
    fixed = {s: w for s, w in _fixed_shares(weights or {}, tokens_by_source, "source").items() if tokens_by_source[s]}
    rest = {s: n for s, n in tokens_by_source.items() if n and s not in fixed}
    if rest:
        left = 1 - sum(fixed.values(), Fraction(0))
        shares = fixed | {s: left * Fraction(n, sum(rest.values())) for s, n in rest.items()}
    elif sum(fixed.values()):
        shares = {s: w / sum(fixed.values()) for s, w in fixed.items()}
    elif target_tokens:
        raise MixtureError(f"cannot take {target_tokens} tokens: no source has any to give")
    else:
        shares = {}
    return _round({s: shares.get(s, Fraction(0)) * target_tokens for s in tokens_by_source})


def epochs(target: int, available: int) -> float:
    """How many times over the available tokens a target goes (2.5 = two passes and a half)."""
    if not available:
        if target:
            raise MixtureError(f"cannot take {target} tokens from nothing")
        return 0.0
    return target / available


def holdout_cut(fraction: float) -> int:
    """Draws below this integer (of 2**64) fall in the held-out share `fraction`."""
    if not 0 <= fraction < 1:
        raise MixtureError(f"the holdout fraction must be in [0, 1) (got {fraction})")
    return math.ceil(_exact(fraction) * 2**64)


def holdout_size(n: int, below: int, fraction: float) -> int:
    """How many of a language's n documents are held out, when `below` of them drew under the cut.

    The draws give about fraction × n; a language with enough documents gives at least
    HOLDOUT_FEW (min(HOLDOUT_FEW, n // HOLDOUT_ONE_IN): 100 documents or more give 5, and the minimum
    never takes more than one document in 20), so its bits per byte are not one document's. With
    fraction > 0, a language of two or more documents gives at least one, and at least one is always
    left for training (so none of a single document).
    """
    if not fraction or n < 2:
        return 0
    return max(1, min(max(below, min(HOLDOUT_FEW, n // HOLDOUT_ONE_IN)), n - 1))


def license_allowed(license_class: str, policy: str) -> tuple[bool, str | None]:
    """Whether a source of this license class may enter a mixture, and if not, the reason to record."""
    if policy not in LICENSE_POLICIES:
        raise MixtureError(f"unknown license policy {policy!r}; choose one of {', '.join(LICENSE_POLICIES)}")
    if license_class not in license_classes():
        raise MixtureError(f"unknown license class {license_class!r}; expected one of {', '.join(license_classes())}")
    if license_class in LICENSE_POLICIES[policy]:
        return False, f"{license_class} license excluded by --license-policy {policy}"
    return True, None


def _exact(value: float) -> Fraction:
    """The decimal the user typed, exactly (Fraction(0.1) would be 0.1000000000000000055…)."""
    return Fraction(str(value))


def _temperature_weights(tokens: dict[str, int], alpha: float) -> dict[str, Fraction]:
    if alpha < 0:
        raise MixtureError(f"the temperature must not be negative (got {alpha})")
    return {lang: Fraction(n**alpha) if n > 0 else Fraction(0) for lang, n in tokens.items()}


def _caps(tokens: dict[str, int], budget: int, max_epochs: float | None) -> dict[str, int]:
    """The most tokens each language may take: max_epochs passes rounded down, or without a cap the
    whole budget; nothing from a language without tokens."""
    if max_epochs is None:
        return {lang: budget if n > 0 else 0 for lang, n in tokens.items()}
    if max_epochs <= 0:
        raise MixtureError(f"the epoch cap must be positive (got {max_epochs})")
    return {lang: math.floor(_exact(max_epochs) * n) for lang, n in tokens.items()}


def _fixed_shares(weights: dict[str, float], known: dict[str, int], what: str) -> dict[str, Fraction]:
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise MixtureError(f"weights name unknown {what}s {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    shares = {name: _exact(w) for name, w in weights.items()}
    negative = sorted(name for name, w in shares.items() if w < 0)
    if negative:
        raise MixtureError(f"weights must not be negative ({', '.join(negative)})")
    if sum(shares.values()) > 1:
        raise MixtureError(f"{what} weights sum to {float(sum(shares.values())):g}, more than 1")
    return shares


def _capped_fill(weights: dict[str, Fraction], budget: Fraction, caps: dict[str, int]) -> dict[str, Fraction]:
    """budget split in proportion to weights, none above its cap; what a cap frees goes to the
    others in proportion to their weights, until no one else reaches a cap."""
    quotas = {lang: Fraction(0) for lang in weights}
    uncapped = {lang: w for lang, w in weights.items() if w > 0}
    while uncapped:
        total = sum(uncapped.values())
        capped = [lang for lang, w in uncapped.items() if budget * w / total >= caps[lang]]
        if not capped:
            quotas |= {lang: budget * w / total for lang, w in uncapped.items()}
            break
        for lang in capped:
            quotas[lang] = Fraction(caps[lang])
            budget -= caps[lang]
            del uncapped[lang]
    return quotas


def _unimax(tokens: dict[str, int], budget: Fraction, caps: dict[str, int]) -> dict[str, Fraction]:
    """From the fewest tokens up, each language gets an equal share of what is left, at most its cap."""
    quotas: dict[str, Fraction] = {}
    ordered = sorted(tokens, key=lambda lang: (tokens[lang], lang))
    for i, lang in enumerate(ordered):
        quotas[lang] = min(budget / (len(ordered) - i), Fraction(caps[lang]))
        budget -= quotas[lang]
    return {lang: quotas[lang] for lang in tokens}


def _round(quotas: dict[str, Fraction]) -> dict[str, int]:
    """Largest-remainder rounding to floor(Σ quotas), ties to the lower code. Only a quota with a
    fractional part is rounded up, so an integer cap is never exceeded."""
    total = math.floor(sum(quotas.values(), Fraction(0)))
    rounded = {key: math.floor(q) for key, q in quotas.items()}
    short = total - sum(rounded.values())
    for key in sorted(quotas, key=lambda k: (rounded[k] - quotas[k], k))[:short]:  # largest remainder first
        rounded[key] += 1
    return rounded
