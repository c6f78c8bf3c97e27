"""Language identification behind one small interface, so a recipe can choose the backend.

Every backend returns ISO 639-1 codes where one exists (else ISO 639-3), so the rest of Agora
compares languages in one form whatever detector produced them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# langdetect is slow and its cost grows with length; a prefix decides the language as well.
DEFAULT_PREFIX_CHARS = 1000


@dataclass(frozen=True)
class LangGuess:
    lang: str  # "und" when nothing could be detected
    score: float


class LanguageIdentifier(Protocol):
    name: str

    def identify(self, text: str) -> LangGuess: ...


class LangdetectIdentifier:
    """The baseline: langdetect with a fixed seed, so the same text always gets the same answer."""

    name = "langdetect"

    def __init__(self, seed: int = 0, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        from langdetect import DetectorFactory

        self._factory = DetectorFactory()
        self._factory.load_profile(_langdetect_profiles())
        self._factory.set_seed(seed)
        self._prefix_chars = prefix_chars

    def identify(self, text: str) -> LangGuess:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(text[: self._prefix_chars])
        try:
            best = detector.get_probabilities()[0]
        except (LangDetectException, IndexError):
            return LangGuess("und", 0.0)
        return LangGuess(_normalize_langdetect(best.lang), round(best.prob, 4))


def _langdetect_profiles() -> str:
    import os

    import langdetect

    return os.path.join(os.path.dirname(langdetect.__file__), "profiles")


def _normalize_langdetect(code: str) -> str:
    # langdetect says zh-cn / zh-tw; Agora's language is "zh", the script is recorded apart.
    return code.split("-")[0]


BACKENDS = {"langdetect": LangdetectIdentifier}


def get_identifier(name: str = "langdetect", **options) -> LanguageIdentifier:
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown language-id backend {name!r}; choose one of {sorted(BACKENDS)}") from None
    return backend(**options)
