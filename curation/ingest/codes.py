"""ISO language and country codes, validated and normalized to one form."""
from __future__ import annotations

import pycountry

from curation.core.errors import AgoraError


def normalize_language(code: str) -> str:
    """ISO 639-1 where the language has one (de), else ISO 639-3 (yue); accepts either form."""
    raw = code.strip()
    lowered = raw.lower()
    language = None
    if len(lowered) == 2:
        language = pycountry.languages.get(alpha_2=lowered)
    elif len(lowered) == 3:
        language = pycountry.languages.get(alpha_3=lowered) or _by_bibliographic(lowered)
    if language is None:
        raise AgoraError(f"unknown language code {raw!r}{_language_hint(raw)}")
    return getattr(language, "alpha_2", None) or language.alpha_3


def _by_bibliographic(code: str):
    # ISO 639-2/B codes such as "ger" or "fre" still appear in older metadata.
    return next((lang for lang in pycountry.languages if getattr(lang, "bibliographic", None) == code), None)


def _language_hint(raw: str) -> str:
    try:
        match = pycountry.languages.lookup(raw)
    except LookupError:
        return " (use ISO 639-1 like 'de' or ISO 639-3 like 'deu')"
    return f"; did you mean {getattr(match, 'alpha_2', None) or match.alpha_3!r} ({match.name})?"


def normalize_languages(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(normalize_language(code) for code in codes if code.strip()))


def normalize_country(code: str) -> str:
    """ISO 3166-1 alpha-2, upper case; alpha-3 is accepted and converted."""
    raw = code.strip().upper()
    country = None
    if len(raw) == 2:
        country = pycountry.countries.get(alpha_2=raw)
    elif len(raw) == 3:
        country = pycountry.countries.get(alpha_3=raw)
    if country is None:
        raise AgoraError(f"bad country code {code!r} (use ISO 3166-1 alpha-2, e.g. DE, KE, BR)")
    return country.alpha_2
