"""The language-id interface and what every backend shares.

LangGuess and the LanguageIdentifier protocol (what the rest of Agora sees), NoCandidateLanguage,
lang_of_label (one ISO code per language, whatever spelling a model uses) and _Backend, the base
class that handles candidate languages, the text prefix and "und" for text without letters.
The backends themselves are in models.py (single models) and vote.py (the agora cascade).
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

# Cost grows with length and a prefix decides the language as well; it also bounds long documents.
DEFAULT_PREFIX_CHARS = 1000
UNDETERMINED = "und"
# Probability floor when fusing models: a language one model rules out is penalised, not vetoed.
_EPS = 1e-4


@dataclass(frozen=True)
class LangGuess:
    lang: str  # "und" when nothing could be detected
    score: float


class LanguageIdentifier(Protocol):
    name: str
    known: frozenset[str]  # every language it can answer (its candidates, when restricted)

    def identify(self, text: str) -> LangGuess: ...


class NoCandidateLanguage(ValueError):
    """The backend knows none of the candidate languages it was restricted to."""


# Old codes some detectors still emit. Norwegian "no" is Bokmål "nb": the models here learned
# "no" from Bokmål text (Wikipedia's "no" edition), and Nynorsk has its own code, "nn".
_ALIASES = {"no": "nb", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
_NOT_A_LANGUAGE = {"un", "xx", "xxx", "zxx", UNDETERMINED}  # "unknown" in CLD2 and others


@cache
def lang_of_label(code: str) -> str:
    """One spelling per language: "__label__zh", "zh-Hant", "ZH" → "zh"; "eng" → "en"; "no" → "nb"."""
    code = code.removeprefix("__label__").replace("_", "-").split("-")[0].lower()
    code = UNDETERMINED if code in _NOT_A_LANGUAGE else _ALIASES.get(code, code)
    if len(code) == 3 and code != UNDETERMINED:
        import pycountry

        code = getattr(pycountry.languages.get(alpha_3=code), "alpha_2", code)
    return code


def _import(module: str, package: str, backend: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"language-id backend {backend!r} needs the PyPI package {package!r}: pip install {package}"
        ) from error


def _prepare(text: str, prefix_chars: int) -> str:
    """A bounded prefix on one line (fastText reads one line); "" when it has no letters at all."""
    prefix = " ".join(text[:prefix_chars].split())
    return prefix if any(char.isalpha() for char in prefix) else ""


def _top(scores: dict[str, float]) -> LangGuess | None:
    for lang, probability in scores.items():
        return LangGuess(lang, round(probability, 4))
    return None


class _Backend:
    """Shared plumbing: candidate languages, the prefix, and "und" for text without letters."""

    name = ""

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        self.languages = None if languages is None else frozenset(map(lang_of_label, languages))
        self.prefix_chars = prefix_chars

    def _wanted(self, codes: Iterable[str]) -> list[str]:
        """The model's own codes that are candidates; raises when none is."""
        wanted = [c for c in codes if self.languages is None or lang_of_label(c) in self.languages]
        if not wanted:
            raise NoCandidateLanguage(f"language-id backend {self.name!r} knows none of {sorted(self.languages or ())}")
        return wanted

    def identify(self, text: str) -> LangGuess:
        prepared = _prepare(text, self.prefix_chars)
        guess = self._guess(prepared) if prepared else None
        return guess or LangGuess(UNDETERMINED, 0.0)

    def _guess(self, text: str) -> LangGuess | None:
        return _top(self.scores(text))

    def scores(self, text: str) -> dict[str, float]:
        """Probability per candidate language, best first, for already prepared text."""
        raise NotImplementedError
