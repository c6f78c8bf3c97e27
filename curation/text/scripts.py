"""Which writing system a text uses, so later stages can pick word or character units.

Word counts, word n-grams and MinHash word shingles make no sense for scripts written without
spaces between words (Chinese, Japanese, Thai, …): those stages ask `has_word_spaces` and fall
back to characters. Codes are ISO 15924. Only the standard library is used, and only a bounded
prefix is read, so calling this on every document costs microseconds.
"""
from __future__ import annotations

from bisect import bisect_right

# The first few hundred characters decide the dominant script as well as the whole document does,
# and bound the cost: each non-Latin-1 character costs a Python object here.
SAMPLE_CHARS = 500

NO_LETTERS = "Zyyy"  # ISO 15924 "common": digits, punctuation, symbols only
UNKNOWN_SCRIPT = "Zzzz"  # letters of a script not in the table below

# (first code point, last code point, script), sorted; Hira and Kana are reported as Jpan.
_RANGES = [
    (0x0041, 0x024F, "Latn"), (0x0250, 0x02AF, "Latn"),
    (0x0370, 0x03FF, "Grek"), (0x0400, 0x052F, "Cyrl"), (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"), (0x0600, 0x06FF, "Arab"), (0x0700, 0x074F, "Syrc"),
    (0x0750, 0x077F, "Arab"), (0x0780, 0x07BF, "Thaa"), (0x07C0, 0x07FF, "Nkoo"),
    (0x0870, 0x08FF, "Arab"), (0x0900, 0x097F, "Deva"), (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"), (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"), (0x0C00, 0x0C7F, "Telu"), (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"), (0x0D80, 0x0DFF, "Sinh"), (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"), (0x1000, 0x109F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"), (0x1100, 0x11FF, "Hang"), (0x1200, 0x139F, "Ethi"),
    (0x13A0, 0x13FF, "Cher"), (0x1400, 0x167F, "Cans"), (0x1780, 0x17FF, "Khmr"),
    (0x1800, 0x18AF, "Mong"), (0x19E0, 0x19FF, "Khmr"), (0x1A20, 0x1AAF, "Lana"), (0x1B00, 0x1B7F, "Bali"),
    (0x1C80, 0x1C8F, "Cyrl"), (0x1C90, 0x1CBF, "Geor"), (0x1D00, 0x1DBF, "Latn"),
    (0x1E00, 0x1EFF, "Latn"), (0x1F00, 0x1FFF, "Grek"), (0x2C60, 0x2C7F, "Latn"),
    (0x2D00, 0x2D2F, "Geor"), (0x2D30, 0x2D7F, "Tfng"), (0x2D80, 0x2DDF, "Ethi"),
    (0x2DE0, 0x2DFF, "Cyrl"), (0x2E80, 0x2FDF, "Hani"), (0x3005, 0x3007, "Hani"),
    (0x3021, 0x3029, "Hani"), (0x3038, 0x303B, "Hani"), (0x3040, 0x309F, "Hira"),
    (0x30A0, 0x30FF, "Kana"), (0x3100, 0x312F, "Bopo"), (0x3130, 0x318F, "Hang"),
    (0x31A0, 0x31BF, "Bopo"), (0x31F0, 0x31FF, "Kana"), (0x3400, 0x4DBF, "Hani"),
    (0x4E00, 0x9FFF, "Hani"), (0xA000, 0xA4CF, "Yiii"), (0xA500, 0xA63F, "Vaii"), (0xA640, 0xA69F, "Cyrl"),
    (0xA720, 0xA7FF, "Latn"), (0xA960, 0xA97F, "Hang"), (0xA980, 0xA9DF, "Java"),
    (0xA9E0, 0xA9FF, "Mymr"), (0xAA60, 0xAA7F, "Mymr"), (0xAA80, 0xAADF, "Tavt"), (0xAB00, 0xAB2F, "Ethi"),
    (0xAB30, 0xAB6F, "Latn"), (0xAC00, 0xD7FF, "Hang"), (0xF900, 0xFAFF, "Hani"),
    (0xFB00, 0xFB06, "Latn"), (0xFB13, 0xFB17, "Armn"), (0xFB1D, 0xFB4F, "Hebr"),
    (0xFB50, 0xFDFF, "Arab"), (0xFE70, 0xFEFF, "Arab"), (0xFF21, 0xFF5A, "Latn"),
    (0xFF66, 0xFF9F, "Kana"), (0xFFA0, 0xFFDC, "Hang"), (0x20000, 0x3134F, "Hani"),
]
_STARTS = [start for start, _, _ in _RANGES]
_JAPANESE = {"Hira": "Jpan", "Kana": "Jpan"}

# Scripts whose words are not separated by spaces: count characters, not words.
_NO_WORD_SPACES = frozenset(
    {"Hani", "Hans", "Hant", "Jpan", "Hira", "Kana", "Hrkt", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Java", "Bali"}
)


_SCRIPT_OF: dict[str, str | None] = {}  # character → script; None for non-letters; filled lazily


def _script_of(char: str) -> str | None:
    script = _SCRIPT_OF.get(char, "")
    if script == "":
        script = None
        if char.isalpha():
            i = bisect_right(_STARTS, ord(char)) - 1
            script = _RANGES[i][2] if i >= 0 and ord(char) <= _RANGES[i][1] else UNKNOWN_SCRIPT
        _SCRIPT_OF[char] = script
    return script


def detect_script(text: str) -> str:
    """The ISO 15924 code of the script most letters of `text` are written in.

    Han with any kana is Japanese ("Jpan"), as is kana alone; "Zyyy" when there are no letters.
    """
    sample = text[:SAMPLE_CHARS]
    # Classify each distinct character once; most texts use one script and need no counting.
    by_script: dict[str, list[str]] = {}
    for char in set(sample):
        script = _script_of(char)
        if script is not None:
            by_script.setdefault(_JAPANESE.get(script, script), []).append(char)
    if "Jpan" in by_script and "Hani" in by_script:
        by_script["Jpan"] += by_script.pop("Hani")
    if len(by_script) <= 1:
        return next(iter(by_script), NO_LETTERS)
    # Mixed scripts: count each distinct letter in C (str.count) rather than walking characters.
    counts = {script: sum(map(sample.count, chars)) for script, chars in by_script.items()}
    return max(sorted(counts), key=counts.__getitem__)  # sorted: ties resolve the same way every run


def has_word_spaces(script: str) -> bool:
    """Whether words of this script are separated by spaces (False for Han, Japanese, Thai, …)."""
    return script not in _NO_WORD_SPACES
