"""Find and redact personal data that has a recognisable shape: e-mail addresses, phone numbers,
IP addresses. Names and postal addresses need a model and are out of scope here.

Precision comes first: a redacted year, date, price or version number damages the text for
nothing. So phone numbers need a phone-like shape (an international +CC prefix, a national
trunk '0', a North-American layout, or a cue word such as "Tel:") and 9-15 digits (7 after a
cue), dates and ISBNs are rejected, IPv4 octets must be 0-255 with exactly four parts (so
versions like 1.2.3 or 96.0.4664.110 are not addresses), and IPv6 candidates must parse with
`ipaddress`. Private and reserved addresses are redacted too.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("email", "phone", "ip")
PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "ip": "<IP>"}


@dataclass(frozen=True)
class PIISpan:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    text: str  # with the chosen kinds replaced by their placeholders
    counts: dict[str, int]  # spans found per kind, redacted or not
    spans: list[PIISpan]  # every span found, in the input's offsets


# local@domain.tld; the address must not continue into more address characters on either side.
_EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])[\w%+\-]+(?:\.[\w%+\-]+)*"  # local part: no leading, trailing or double dot
    r"@(?:[^\W_](?:[\w\-]*[^\W_])?\.)+([^\W\d_]{2,})"  # domain labels, then a TLD of letters
    r"(?![\w\-@]|\.\w)"
)
# "logo@2x.png" is an image name, not an address.
_FILE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "pdf", "js", "css", "html", "php"}

_AT_RE = re.compile("@")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4_RE = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
# \d\d{0,2}, not \d{1,3}: `re` skips ahead only to a pattern that opens with a class.
_DOTTED_QUAD_RE = re.compile(r"\d\d{0,2}\.\d{1,3}\.\d{1,3}\.\d")
_IPV6_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")

_SEP = r"[ .\-\u00a0]"  # between digit groups of a phone number
# +CC then 2-6 groups, optional "(0)" trunk marker: +44 20 7946 0958, +32 (0)2 790 75 85, +1-202-555-0143
_INTL_PHONE = rf"\+\d{{1,3}}(?:{_SEP}?\(0\))?(?:{_SEP}?\(?\d{{1,5}}\)?){{2,6}}"
# national, starting with the trunk 0: 020 7393 1500, 01 23 45 67 89, 06-12345678, 030/123456
_TRUNK_PHONE = rf"\(?0\d{{1,4}}\)?(?:(?:{_SEP}|/)\d{{2,8}}){{1,4}}"
# North American Numbering Plan: (202) 555-0143, 202-555-0143, 202.555.0143
_NANP_PHONE = r"(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .\-])[2-9]\d{2}[ .\-]\d{4}"
# Not part of a longer run of numbers ("997 998 999 1000 1001" is a list, not a phone).
_PHONE_RE = re.compile(
    rf"(?<![\w+.\-/])(?<!\d[ .\-])(?:{_INTL_PHONE}|{_TRUNK_PHONE}|{_NANP_PHONE})(?![\w]|[.\-/]\d| \d)"
)
# After a cue word, any digit groups of phone length count: "Tel: 8 (495) 123-45-67".
_CUE_PHONE_RE = re.compile(
    r"(?i:\b(?:tel|tél|phone|telephone|téléphone|telefon|telefone|telefono|teléfono|fax|mobile|mob|cell|"
    r"hotline|whatsapp|тел|телефон)\b\.?|☎|📞|電話|电话)\s*(?:[^\W\d_]{1,6}\.?\s*)?[:：]?\s*"
    rf"(\+?\(?\d[\d()]*(?:{_SEP}\(?\d[\d()]*){{0,6}})(?![\w]|[.\-/]\d)"
)
# 7+ characters of digits and separators: where a phone number may be.
_NUMBER_RUN_RE = re.compile(r"\d[\d ().\-/\u00a0]{5,}\d")
_DATE_RE = re.compile(r"\b\d{1,2}[./\-]\d{1,2}[./\-](?:19|20)\d\d\b|\b(?:19|20)\d\d[./\-]\d{1,2}[./\-]\d{1,2}\b")
_ISBN_CUE_RE = re.compile(r"(?i:isbn|issn|doi)[\s:\-]*$")


def find_pii(text: str) -> list[PIISpan]:
    """Every e-mail, phone number and IP address in `text`, in order, never overlapping (an
    address wins over the digits inside it)."""
    candidates = [*_emails(text), *_ips(text), *_phones(text)]
    spans: list[PIISpan] = []
    taken_until = -1
    for span in sorted(candidates, key=lambda s: (s.start, -s.end, KINDS.index(s.kind))):
        if span.start >= taken_until:
            spans.append(span)
            taken_until = span.end
    return spans


def redact_pii(text: str, kinds: Iterable[str] = KINDS) -> Redaction:
    """`text` with every span of the given kinds replaced by its placeholder (<EMAIL>, ...)."""
    kinds = set(kinds)
    unknown = kinds - set(KINDS)
    if unknown:
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; known: {KINDS}")
    spans = find_pii(text)
    pieces, last = [], 0
    for span in spans:
        if span.kind in kinds:
            pieces += [text[last : span.start], PLACEHOLDERS[span.kind]]
            last = span.end
    pieces.append(text[last:])
    counts = {kind: sum(1 for s in spans if s.kind == kind) for kind in KINDS}
    return Redaction("".join(pieces), counts, spans)


def _windows(anchor: re.Pattern, text: str, before: int, after: int) -> list[tuple[int, int]]:
    """Merged stretches of `text` around the matches of a cheap `anchor` pattern.

    The precise patterns start with lookbehinds, which make `re` try them at every position
    (slow on long texts); run inside these windows they only look where a match can be.
    """
    windows: list[tuple[int, int]] = []
    for m in anchor.finditer(text):
        start, end = max(0, m.start() - before), min(len(text), m.end() + after)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _emails(text: str) -> list[PIISpan]:
    return [
        PIISpan("email", m.start(), m.end())
        for start, end in _windows(_AT_RE, text, before=64, after=256)  # RFC 5321 lengths
        for m in _EMAIL_RE.finditer(text, start, end)
        if m.group(1).lower() not in _FILE_EXTENSIONS
    ]


def _ips(text: str) -> list[PIISpan]:
    spans = [
        PIISpan("ip", m.start(), m.end())
        for start, end in _windows(_DOTTED_QUAD_RE, text, before=4, after=8)
        for m in _IPV4_RE.finditer(text, start, end)
    ]
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6_RE.finditer(text):
            candidate = m.group()
            # letters-only candidates ("add::bed") are words, not addresses
            if any(c.isdigit() for c in candidate) and _valid_ipv6(candidate):
                spans.append(PIISpan("ip", m.start(), m.end()))
    return spans


def _valid_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _phones(text: str) -> list[PIISpan]:
    spans = []
    for start, end in _windows(_NUMBER_RUN_RE, text, before=48, after=3):  # room for a cue word
        for m in _PHONE_RE.finditer(text, start, end):
            if _plausible_phone(m.group(), text[max(0, m.start() - 12) : m.start()], cued=False):
                spans.append(PIISpan("phone", m.start(), m.end()))
        for m in _CUE_PHONE_RE.finditer(text, start, end):
            if _plausible_phone(m.group(1), "", cued=True):
                spans.append(PIISpan("phone", m.start(1), m.end(1)))
    return spans


def _plausible_phone(candidate: str, before: str, cued: bool) -> bool:
    """Phone-length (7-15 digits after a cue, else 9-15), not a date, not an ISBN/ISSN/DOI."""
    digits = sum(c.isdigit() for c in candidate.replace("(0)", ""))
    if not (7 if cued else 9) <= digits <= 15:
        return False
    if _DATE_RE.search(candidate) or _ISBN_CUE_RE.search(before):
        return False
    return True
