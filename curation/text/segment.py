"""Word segmentation for every script, with regular expressions only (no models, no downloads).

Two kinds of writing are handled by one tokenizer, so a document that mixes them (English inside
Japanese, Han inside Korean) is cut consistently:

* Scripts that put spaces between words: a word is a run of letters, digits and combining marks
  (Python's ``\\w`` alone would cut Devanagari or Arabic words at every vowel sign, which are
  marks, Mn/Mc), joined across single apostrophes and hyphens ("don't", "well-known",
  "l'homme"). ZWJ and ZWNJ stay inside words (Persian, Indic).
* Scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, Yi, Javanese, ...): each
  letter, with the combining marks that follow it, is one "word". A dictionary segmenter would
  be slower by an order of magnitude and the quality signals only need a stable unit; their
  thresholds are per language.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import repeat
from operator import contains

# Blocks whose letters are words on their own: these scripts do not separate words by spaces.
UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E01, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1950, 0x19FF),  # Tai Le, New Tai Lue, Khmer symbols
    (0x1A00, 0x1AAF),  # Buginese, Tai Tham
    (0x1B00, 0x1B7F),  # Balinese
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31FF),  # Bopomofo extended, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # Han extension A
    (0x4E00, 0x9FFF),  # Han
    (0xA000, 0xA4CF),  # Yi
    (0xA980, 0xA9FF),  # Javanese, Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # Han compatibility
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # Han extensions B-G
)
_JOINERS = "'’\\-‐‑·׳״"  # may join two parts of one word when nothing else stands between them
_ZWNJ_ZWJ = "\u200c\u200d"


def _ranges(codepoints: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _split_class(codepoints: list[int]) -> tuple[str, str]:
    """Bodies of two character classes, (code points below U+10000, the rest).

    Python's `re` matches a class of BMP characters with a lookup table, but scans its ranges one
    by one as soon as the class holds one astral character (40x slower here): keep them apart.
    """
    bodies: tuple[list[str], list[str]] = ([], [])
    for a, b in _ranges(codepoints):
        if a < 0x10000 <= b:
            raise ValueError("split ranges at U+10000")
        bodies[a >= 0x10000].append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "".join(bodies[0]), "".join(bodies[1])


def _code_points() -> tuple[list[int], list[int], list[int]]:
    """(unspaced letters, BMP marks, word characters) from the running Python's Unicode database.

    A word character is a letter, digit, '_', combining mark, ZWJ or ZWNJ outside the unspaced
    blocks: what may continue a word. Built once at import (about 50 ms).
    """
    unspaced = {cp for a, b in UNSPACED_RANGES for cp in range(a, b + 1)}
    marks, word = [], []
    for cp in [*range(0x20000), *range(0xE0100, 0xE01F0)]:
        major = unicodedata.category(chr(cp))[0]
        if major == "M" and cp < 0x10000:  # unspaced scripts with marks are all in the BMP
            marks.append(cp)
        if major in "LMN" and cp not in unspaced:  # letters and numbers are what \w matches
            word.append(cp)
    extra = [ord(c) for c in _ZWNJ_ZWJ]
    return sorted(unspaced), marks + extra, word + extra + [ord("_")]


_UNSPACED_CPS, _MARK_CPS, _WORD_CPS = _code_points()
_U_BMP, _U_ASTRAL = _split_class(_UNSPACED_CPS)
_M_BMP = _split_class(_MARK_CPS)[0]
_W_BMP, _W_ASTRAL = _split_class(_WORD_CPS)
_ASTRAL = "\U00010000-\U0010ffff"
_IF_ASTRAL = f"(?=[{_ASTRAL}])"  # a cheap test before a slow astral class

# A letter, digit or '_' (never a mark) outside the unspaced scripts.
_START = f"[^\\W{_U_BMP}{_U_ASTRAL}]"
_CONTINUE = f"[{_W_BMP}]*(?:{_IF_ASTRAL}[{_W_ASTRAL}][{_W_BMP}]*)*"
# An unspaced letter and its marks, or a word.
_TOKEN = f"[{_U_BMP}][{_M_BMP}]*|[{_U_ASTRAL}]|{_START}{_CONTINUE}(?:[{_JOINERS}]{_START}{_CONTINUE})*"

# One capture group, so that WORD_RE.split keeps the words (odd items) between the rest.
WORD_RE = re.compile(f"({_TOKEN})")
_UNSPACED_RE = re.compile(f"[{_U_BMP}{_U_ASTRAL}]")
_WORD_MARK = "\x00"  # stands for a word while chunks are counted (normalized text has no NUL)


def words(text: str) -> list[str]:
    """The words of `text`, in order; letters of unspaced scripts are one word each."""
    return WORD_RE.findall(text)


def words_and_symbols(text: str) -> tuple[list[str], int]:
    """(words, number of symbol-only chunks): whitespace-separated chunks without any word, such
    as "|", "---", "»", "•". Punctuation attached to a word is not counted: in many
    orthographies ' or : is a letter (glottal stop, length), and Ethiopic and Tibetan separate
    words with punctuation (፡ ་) instead of spaces."""
    parts = WORD_RE.split(text)
    chunks = _WORD_MARK.join(parts[0::2]).split()  # the text with each word replaced by one mark
    return parts[1::2], len(chunks) - sum(map(contains, chunks, repeat(_WORD_MARK)))


def words_by_line(lines: list[str]) -> tuple[list[str], list[int], int]:
    """(all words, words per line, symbol-only chunks) of `lines`: what words_and_symbols gives
    line by line. No word holds whitespace, so each whitespace-separated chunk is cut on its own,
    and a chunk of ASCII letters and digits (most chunks of most text) is one word without a
    regex call."""
    found: list[str] = []
    per_line = []
    symbols = 0
    for line in lines:
        before = len(found)
        for chunk in line.split():
            if chunk.isascii() and chunk.isalnum():
                found.append(chunk)
            elif chunk_words := WORD_RE.findall(chunk):
                found += chunk_words
            else:
                symbols += _WORD_MARK not in chunk  # as in words_and_symbols, where a NUL reads as a word
        per_line.append(len(found) - before)
    return found, per_line, symbols


def is_unspaced_token(word: str) -> bool:
    """True for a one-letter word of a script written without spaces (no separator around it)."""
    return _UNSPACED_RE.match(word) is not None
