"""Whether a detected language is one a source declared, compared as languages, not strings.

Contributors declare ISO 639-1 codes where one exists, else ISO 639-3 (`plt`, `yue`, `fil`);
detectors answer in their own conventions (`mg`, `zh`, `tl`, CLD2's `bh`). Compared as strings,
Plateau Malagasy detected as Malagasy is "undeclared" and dropped. Two codes name the same
language here when they are equal, when ISO 639-3 puts them in one macrolanguage (`plt` in
Malagasy; `yue` and `cmn` in Chinese; `bs`, `hr`, `sr` in Serbo-Croatian; `id` in Malay; `nb`, `nn`
in Norwegian), or when a recipe lists them as close relatives that detectors confuse
(`langid.relatives`: Filipino and Tagalog, the Bihari languages and Hindi, Asturian and Spanish).
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from iso639 import Language, LanguageNotFoundError


class DeclaredMatch(NamedTuple):
    lang: str  # the declared code the detection counts as
    rule: str  # "declared", "macrolanguage" or "relative"


@cache
def macrolanguage(code: str) -> str:
    """The ISO 639-3 code of the code's macrolanguage, or of the language itself; an unknown code
    (CLD2's `bh` is a retired collective) is returned as it is."""
    try:
        language = Language.match(code)
    except LanguageNotFoundError:
        return code
    return language.macrolanguage or language.part3


def match_declared(detected: str, declared: Iterable[str],
                   relatives: Iterable[Iterable[str]] = ()) -> DeclaredMatch | None:
    """The declared language that `detected` counts as, and by which rule; None when none."""
    declared = tuple(declared)
    if detected in declared:
        return DeclaredMatch(detected, "declared")
    for lang in declared:
        if macrolanguage(lang) == macrolanguage(detected):
            return DeclaredMatch(lang, "macrolanguage")
    for group in relatives:
        if detected in group:
            for lang in declared:
                if lang in group or any(macrolanguage(lang) == macrolanguage(member) for member in group):
                    return DeclaredMatch(lang, "relative")
    return None


def unknown_to(known: frozenset[str], declared: Iterable[str]) -> list[str]:
    """The declared languages that a detector knowing `known` can never answer, even as their macrolanguage."""
    known_macros = {macrolanguage(lang) for lang in known}
    return [lang for lang in declared if lang not in known and macrolanguage(lang) not in known_macros]
