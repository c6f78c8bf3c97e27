"""Text normalization applied before every other stage-1 step, so signals, hashes and MinHash
shingles see one canonical form of the same text.

It only removes what is invisible or encoding noise; it never changes letters, case or
punctuation, so the text still reads exactly as the contributor wrote it.
"""
from __future__ import annotations

import re
import unicodedata

# Zero-width (non-)joiners change how Indic and Persian words render and are spelled: keep them.
_KEEP_FORMAT = {"\u200c", "\u200d"}
# Unicode line breaks that are not "\n": turned into "\n" (CRLF as one break). Patterns open with
# a class where they can: `re` then skips ahead to candidates instead of trying every position.
_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029](?:(?<=\r)\n)?")


def _char_classes() -> tuple[str, str]:
    """(removed, spaces) from the running Python's Unicode database, once at import.

    Removed: controls (Cc) except tab and newline, format characters (Cf) except ZWJ/ZWNJ, and
    lone surrogates (Cs), which cannot be encoded as UTF-8 and would break every writer.
    Spaces: horizontal spaces other than ' ' (NBSP, thin, ideographic, ...), which become ' '.
    Every Cc, Cf, Cs and Zs code point lies below U+20000 or in the tags block U+E0000-E0FFF.
    """
    removed, spaces = [], []
    for cp in [*range(0x20000), *range(0xE0000, 0xE1000)]:
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs") or (cat == "Cf" and ch not in _KEEP_FORMAT):
            if ch not in "\t\n":
                removed.append(ch)
        elif cat == "Zs" and ch != " ":
            spaces.append(ch)
    return "".join(removed), "".join(spaces)


def _char_class(chars: str) -> str:
    """A regex for one of `chars`. Python's `re` tests a class that holds astral characters one by
    one (40x slower than its lookup table for BMP ones), and it skips quickly only to a pattern
    that starts with a class (not an alternation). So the pattern opens with the BMP characters
    and the whole astral range, and a lookbehind checks the rare characters that pass it."""
    bmp = re.escape("".join(c for c in chars if ord(c) < 0x10000))
    astral = re.escape("".join(c for c in chars if ord(c) >= 0x10000))
    return f"[{bmp}\U00010000-\U0010ffff](?<=[{bmp}{astral}])" if astral else f"[{bmp}]"


_REMOVED_CHARS, _SPACE_CHARS = _char_classes()
_REMOVE = re.compile(_char_class(_REMOVED_CHARS))
_SPACES = re.compile(_char_class(_SPACE_CHARS))
_INNER_SPACES = re.compile(r"[ \t](?<=\S[ \t])[ \t]+(?=\S)")  # 2+ after a non-space: indentation stays
_TRAILING_SPACES = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n\n\n+")  # not \n{3,}: a literal start lets `re` skip ahead


def normalize(text: str) -> str:
    """Canonical form of `text`: line breaks are "\\n", invisible controls are gone, Unicode is NFC,
    spaces inside a line are single, no line ends with spaces, at most one blank line in a row,
    no blank lines at either end. normalize(normalize(t)) == normalize(t)."""
    # Each step runs only when a cheap test says it may change something: most text is clean.
    unusual = not text.replace("\n", "").replace("\t", "").isprintable()  # any Cc, Cf, Cs, Z* but ' '
    if unusual:
        text = _LINE_BREAKS.sub("\n", text)
        text = _REMOVE.sub("", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if unusual:
        text = _SPACES.sub(" ", text)
    if "  " in text or "\t" in text:
        text = _INNER_SPACES.sub(" ", text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACES.sub("", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.rstrip(" \t").strip("\n")
