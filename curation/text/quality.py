"""Quality signals of one document, computed once in stage 1 and compared with a recipe's
per-language thresholds in stage 3 (`failed_rules`), so a new threshold never needs a re-run.

The signals follow datatrove 0.10.1's GopherQualityFilter, GopherRepetitionFilter,
C4QualityFilter and FineWebQualityFilter, so their published thresholds mean the same here, with
these differences (all deliberate, for speed or for scripts those filters mishandle):

* Words come from `curation.text.segment.words` (regex; one word per letter in Chinese, Japanese,
  Thai, ...), not spaCy. Where datatrove divides by spaCy's token count, we divide by
  `n_tokens` = words + symbol-only chunks ("|", "---"): the Gopher paper's whitespace words.
  spaCy also counts attached punctuation, which would fail languages that write glottal stops
  with ' (Quechua, Zapotec, ...) or separate words with ፡ or ་ (Amharic, Tibetan).
* Stop words are counted case-insensitively, from a list per language (data/stopwords.yaml).
* C4 runs as FineWeb ran it (``filter_no_terminal_punct=False``: C4 proper drops every line
  without final punctuation, so hard-wrapped text and Thai lose all lines); the share of
  punctuated lines is a signal of its own and accepts the sentence ends of all scripts
  (。 । ။ ؟ ፡፡ ...), not only ``. ! ? " '``. C4 counts words per line with the same tokenizer
  (whitespace words make every Chinese line a one-word line). C4 removes lines and Agora never
  rewrites text, so its line filter becomes counts, taken in C4's order: lines of 3+ words are
  checked for lorem ipsum, then javascript, then '{', then policy phrases; the rest are its
  sentences.

Signals (all ratios are 0.0 for an empty text; `text` should be `normalize()`d):

| signal | family | meaning |
|---|---|---|
| n_chars, n_lines | - | characters; non-blank lines |
| n_words, n_tokens | Gopher | words; words + symbol-only chunks |
| mean_word_length * | Gopher | mean characters per word |
| hash_word_ratio, ellipsis_word_ratio | Gopher | count of '#', of '...' or '…', per token |
| bullet_lines_frac | Gopher | lines opening with a bullet (blank lines count) |
| ellipsis_lines_frac | Gopher | lines ending in an ellipsis (blank lines count) |
| alpha_words_frac | Gopher | words with a letter, per token |
| stop_words | Gopher | distinct stop words of `lang` present; None when `lang` has no list |
| dup_line_frac, dup_para_frac | Gopher rep. | lines / paragraphs repeating an earlier one, per line / paragraph |
| dup_line_char_frac, dup_para_char_frac | Gopher rep. | their characters, per character |
| top_{2,3,4}gram_char_frac * | Gopher rep. | characters covered by the most frequent word n-gram |
| dup_{5..10}gram_char_frac * | Gopher rep. | characters in repeated word n-grams |
| c4_punct_lines_frac * | C4 | lines ending in terminal punctuation or a closing quote (not an ellipsis) |
| c4_few_words_lines_frac | C4 | lines with fewer than 3 words |
| c4_lorem_ipsum, c4_curly_brackets | C4 | 'lorem ipsum' / '{' in the lines C4 checks (C4 drops the page) |
| c4_javascript_lines, c4_policy_lines | C4 | lines C4 removes for 'javascript' / cookie or policy phrases |
| c4_sentences | C4 | sentences in the lines C4 keeps |
| fw_punct_lines_frac * | FineWeb | lines ending in terminal punctuation |
| fw_short_lines_frac * | FineWeb | lines of at most 30 characters |
| fw_dup_line_char_frac | FineWeb | characters in repeated lines, per non-newline character |
| fw_list_ratio | FineWeb | newlines per token |
| adult_word_density | LDNOOBW | word-list hits per word: lists of `lang`, `declared` and English (adult.py) |
| quality_model_score | learned | a model's probability that the text is good; None without one (quality_model.py) |

`*`: script-sensitive. Letters of unspaced scripts are words, so mean_word_length is 1-2 there
and n-gram fractions count letters; Thai, Lao and some others end sentences without
punctuation; a 30-character line holds a sentence in Chinese. The recipe sets these per script
or language (pipelines/default.yaml).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import cache
from importlib import resources
from itertools import accumulate, filterfalse, repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from datatrove.utils.text import TERMINAL_PUNCTUATION as _DATATROVE_TERMINAL

from curation.text.adult import adult_word_density
from curation.text.segment import WORD_RE, is_unspaced_token, words_by_line

if TYPE_CHECKING:  # the model reads the other signals, so its module imports this one
    from curation.text.quality_model import QualityModel

Signals = dict[str, float | int | None]

# datatrove's set (Unicode sentence terminals) plus the Tibetan shad, which it lacks; Tigrinya
# also types its full stop as two wordspaces "፡፡".
TERMINAL_PUNCTUATION = frozenset(_DATATROVE_TERMINAL | {"།", "༎"})
ETHIOPIC_FULL_STOP = "፡፡"
# C4 also accepts a line that ends in a closing quote.
C4_LINE_ENDS = TERMINAL_PUNCTUATION | {'"', "'", "”", "’", "»", "«", "」", "』"}
ELLIPSES = ("...", "…")
BULLETS = ("•", "-", "*", "·", "‣", "◦", "▪", "●", "►", "–", "—")
C4_POLICY_SUBSTRINGS = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"
)
C4_CITATION_RE = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
C4_MIN_WORDS_PER_LINE = 3
C4_MAX_WORD_LENGTH = 1000
FW_SHORT_LINE_LENGTH = 30
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
# A sentence ends at terminal punctuation followed by a space, a closing quote or the line end;
# full-width stops (Chinese, Japanese) need no space after them. The pattern starts with a class
# (`[.][.]*`, not `[.]+`) so that `re` can skip to candidates quickly; astral terminals (Brahmi,
# Chakma, ...) are left to the line-end test.
_TERMINAL_BMP = re.escape("".join(sorted(c for c in TERMINAL_PUNCTUATION if ord(c) < 0x10000)))
_SENTENCE_END_RE = re.compile(rf"[{_TERMINAL_BMP}][{_TERMINAL_BMP}]*(?:(?<=[。！？｡])|(?=[\s\"'”’»」』)]|$))")
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, so n-gram hashes stay 64-bit wide
_PARAGRAPH_RE = re.compile(r"\n\n+")  # not \n{2,}: a literal start lets `re` skip ahead
_HAS_LETTER_RE = re.compile(r"^[^\n]*?[^\W\d_]", re.MULTILINE)  # a line (here: one word) with a letter


@cache
def _stop_word_lists() -> dict[str, list[str]]:
    return yaml.safe_load(resources.files("curation").joinpath("data/stopwords.yaml").read_text("utf-8"))


@cache
def _stop_words(lang: str) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """(words matched as whole words, entries matched as substrings) for `lang`, None without a list.

    An entry the tokenizer would cut (a Thai or Japanese word) can only be found as a substring.
    """
    entries = _stop_word_lists().get(lang)
    if entries is None:
        return None
    entries = [unicodedata.normalize("NFC", str(w).lower()) for w in entries]
    whole = frozenset(w for w in entries if WORD_RE.fullmatch(w))
    return whole, tuple(w for w in entries if w not in whole)


# Every signal quality_signals returns, in its order (the stage-1 columns; recipe rules name them).
SIGNAL_NAMES = (
    # Gopher quality
    "n_chars", "n_lines", "n_words", "n_tokens", "mean_word_length", "hash_word_ratio", "ellipsis_word_ratio",
    "bullet_lines_frac", "ellipsis_lines_frac", "alpha_words_frac", "stop_words",
    # Gopher repetition
    "dup_line_frac", "dup_line_char_frac", "dup_para_frac", "dup_para_char_frac",
    *(f"top_{n}gram_char_frac" for n in TOP_NGRAMS), *(f"dup_{n}gram_char_frac" for n in DUP_NGRAMS),
    # C4
    "c4_punct_lines_frac", "c4_few_words_lines_frac", "c4_javascript_lines", "c4_policy_lines", "c4_lorem_ipsum",
    "c4_curly_brackets", "c4_sentences",
    # FineWeb
    "fw_punct_lines_frac", "fw_short_lines_frac", "fw_dup_line_char_frac", "fw_list_ratio",
    # content: adult word lists; the learned model
    "adult_word_density", "quality_model_score",
)


def quality_signals(text: str, lang: str, declared: tuple[str, ...] = (), model: QualityModel | None = None) -> Signals:
    """All quality signals of `text` (see the module docstring), from one segmentation of its lines.
    `declared`: its source's languages (their adult word lists count too); `model`: a learned model."""
    lower = text.lower()
    all_lines = text.splitlines()
    lines, stripped = [], []  # non-blank lines: as written, and stripped
    for line, line_stripped in zip(all_lines, map(str.strip, all_lines)):
        if line_stripped:
            lines.append(line)
            stripped.append(line_stripped)
    words, words_per_line, n_symbols = words_by_line(lines)

    n_chars, n_lines, n_words = len(text), len(lines), len(words)
    n_tokens = n_words + n_symbols
    lower_words = list(map(str.lower, words))
    not_all_letters = list(filterfalse(str.isalpha, words))  # marks, digits, apostrophes: look closer
    n_alpha = n_words - len(not_all_letters) + len(_HAS_LETTER_RE.findall("\n".join(not_all_letters)))

    signals: Signals = {
        "n_chars": n_chars,
        "n_lines": n_lines,
        "n_words": n_words,
        "n_tokens": n_tokens,
        "mean_word_length": _ratio(sum(map(len, words)), n_words),
        "hash_word_ratio": _ratio(text.count("#"), n_tokens),
        "ellipsis_word_ratio": _ratio(text.count("...") + text.count("…"), n_tokens),
        "bullet_lines_frac": _ratio(sum(map(str.startswith, stripped, repeat(BULLETS))), len(all_lines)),
        "ellipsis_lines_frac": _ratio(sum(map(str.endswith, stripped, repeat(ELLIPSES))), len(all_lines)),
        "alpha_words_frac": _ratio(n_alpha, n_tokens),
        "stop_words": _count_stop_words(lower_words, lower, lang),
    }
    paragraphs = _PARAGRAPH_RE.split(text.strip())
    dup_paras, dup_para_chars = _duplicates(paragraphs)
    dup_lines, dup_line_chars = _duplicates(lines)
    signals |= {
        "dup_line_frac": _ratio(dup_lines, n_lines),
        "dup_line_char_frac": _ratio(dup_line_chars, n_chars),
        "dup_para_frac": _ratio(dup_paras, len(paragraphs)),
        "dup_para_char_frac": _ratio(dup_para_chars, n_chars),
    }
    signals |= _ngram_signals(words, n_chars)
    c4_scan = "{" in text or any(s in lower for s in ("lorem ipsum", "javascript", *C4_POLICY_SUBSTRINGS))
    c4 = _c4_counts(stripped, words_per_line, c4_scan)
    fw_punct = sum(1 for line in lines if line[-1] in TERMINAL_PUNCTUATION or line.endswith(ETHIOPIC_FULL_STOP))
    fw_short = sum(1 for line in lines if len(line) <= FW_SHORT_LINE_LENGTH)
    signals |= {
        "c4_punct_lines_frac": _ratio(c4["punct"], n_lines),
        "c4_few_words_lines_frac": _ratio(c4["few_words"], n_lines),
        "c4_javascript_lines": c4["javascript"],
        "c4_policy_lines": c4["policy"],
        "c4_lorem_ipsum": c4["lorem"],
        "c4_curly_brackets": c4["curly"],
        "c4_sentences": c4["sentences"],
        "fw_punct_lines_frac": _ratio(fw_punct, n_lines),
        "fw_short_lines_frac": _ratio(fw_short, n_lines),
        "fw_dup_line_char_frac": _ratio(dup_line_chars, n_chars - text.count("\n")),
        "fw_list_ratio": _ratio(text.count("\n"), n_tokens),
        "adult_word_density": adult_word_density(lower_words, (lang, *declared)),
    }
    signals["quality_model_score"] = model.score(text, signals) if model else None
    return signals


def _c4_counts(stripped_lines: list[str], words_per_line: list[int], scan: bool) -> dict[str, int]:
    """C4's line filter as FineWeb ran it (no terminal punctuation needed, which would drop
    hard-wrapped text), in C4's order: words, lorem ipsum, javascript, '{', policy phrases.
    `scan`: whether the text holds any of those phrases or '{' at all."""
    c4 = dict.fromkeys(("punct", "few_words", "lorem", "javascript", "curly", "policy", "sentences"), 0)
    for stripped, n_words in zip(stripped_lines, words_per_line):
        if "[" in stripped:
            stripped = C4_CITATION_RE.sub("", stripped)
        ends_sentence = stripped[-1:] in C4_LINE_ENDS or stripped.endswith(ETHIOPIC_FULL_STOP)
        punctuated = ends_sentence and not stripped.endswith(ELLIPSES)
        c4["punct"] += punctuated
        if n_words < C4_MIN_WORDS_PER_LINE:
            c4["few_words"] += 1
            continue
        if _has_long_word(stripped):
            continue
        if scan:
            line_lower = stripped.lower()
            c4["lorem"] += line_lower.count("lorem ipsum")
            if "javascript" in line_lower:
                c4["javascript"] += 1
                continue
            c4["curly"] += stripped.count("{")
            if any(p in line_lower for p in C4_POLICY_SUBSTRINGS):
                c4["policy"] += 1
                continue
        ends = len(_SENTENCE_END_RE.findall(stripped)) + stripped.count(ETHIOPIC_FULL_STOP)
        c4["sentences"] += max(1, ends + (not punctuated))
    return c4


def _has_long_word(line: str) -> bool:
    return len(line) > C4_MAX_WORD_LENGTH and any(len(w) > C4_MAX_WORD_LENGTH for w in line.split())


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _count_stop_words(lower_words: list[str], lower_text: str, lang: str) -> int | None:
    lists = _stop_words(lang)
    if lists is None:
        return None
    whole, substrings = lists
    return len(whole.intersection(lower_words)) + sum(1 for s in substrings if s in lower_text)


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(items equal to an earlier item, their characters): datatrove's find_duplicates."""
    seen: set[str] = set()
    n = chars = 0
    for item in items:
        if item in seen:
            n += 1
            chars += len(item)
        else:
            seen.add(item)
    return n, chars


def _ngram_signals(words: list[str], n_chars: int) -> Signals:
    """Gopher's top and duplicated n-gram character fractions.

    An n-gram is keyed by a 64-bit polynomial hash of its words' hashes (a collision needs two
    different n-grams of one document to share 64 bits). Python loops over words would cost 10x
    more than all other signals, so equal n-grams are found by numpy sorts; from n = 6 on, only the
    positions whose (n-1)-gram occurs more than once are kept: an n-gram can only repeat where its
    (n-1)-word prefix does.
    """
    word_hashes = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    out: Signals = {}
    hashes = word_hashes
    for n in range(2, DUP_NGRAMS[0] + 1):
        hashes = hashes[:-1] * _HASH_MULTIPLIER + word_hashes[n - 1 :]  # wraps modulo 2**64
        if n in TOP_NGRAMS:
            top = 0
            if len(hashes):
                count, start = _most_common(hashes)
                top = count * _joined_length(words[start : start + n])
            out[f"top_{n}gram_char_frac"] = _ratio(top, n_chars)

    out |= dict.fromkeys((f"dup_{n}gram_char_frac" for n in DUP_NGRAMS), 0.0)
    positions = np.arange(len(hashes))
    prefix: list[int] | None = None  # characters before each word
    for n in DUP_NGRAMS:
        if n > DUP_NGRAMS[0]:  # grow the n-grams that may still repeat by one word
            positions = positions[: np.searchsorted(positions, len(words) - n, side="right")]
            hashes = hashes[: len(positions)] * _HASH_MULTIPLIER + word_hashes[positions + n - 1]
        first, shared = _first_occurrences(hashes)
        if not shared.any():
            break  # no n-gram repeats, so no longer one does
        repeats = np.flatnonzero(first != np.arange(len(first)))
        if prefix is None:
            prefix = list(accumulate(map(len, words), initial=0))
        chars = _repeated_chars(positions[repeats].tolist(), positions[first[repeats]].tolist(), prefix, n)
        out[f"dup_{n}gram_char_frac"] = _ratio(chars, n_chars)
        positions, hashes = positions[shared], hashes[shared]
    return out


def _sort_groups(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in stable hash order, whether each starts a group of equal hashes)."""
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    starts_group = np.empty(len(ordered), dtype=bool)
    starts_group[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    return order, starts_group


def _most_common(hashes: np.ndarray) -> tuple[int, int]:
    """(count, first position) of the most common n-gram; ties go to the one that occurs first,
    as with datatrove's Counter.most_common."""
    ordered = np.sort(hashes)  # values only: 3x faster than a stable argsort
    bounds = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1], [True])))
    counts = np.diff(bounds)
    count = int(counts.max())
    if count == 1:
        return 1, 0  # all distinct: the first n-gram
    top = ordered[bounds[:-1][counts == count]]  # sorted
    at = np.minimum(np.searchsorted(top, hashes), len(top) - 1)
    return count, int(np.argmax(top[at] == hashes))


def _first_occurrences(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the first equal hash, whether that hash occurs more than once), for each hash."""
    order, starts_group = _sort_groups(hashes)
    group = np.cumsum(starts_group) - 1
    first, shared = np.empty_like(order), np.empty(len(order), dtype=bool)
    first[order] = order[starts_group][group]  # stable order: a group opens with its first occurrence
    shared[order] = np.bincount(group)[group] > 1
    return first, shared


def _joined_length(gram: list[str]) -> int:
    """Characters of an n-gram as written: words plus one space between two words, except between
    two letters of an unspaced script (datatrove joins with ' ' always, which inflates CJK)."""
    spaces = sum(1 for a, b in zip(gram, gram[1:]) if not (is_unspaced_token(a) and is_unspaced_token(b)))
    return sum(map(len, gram)) + spaces


def _repeated_chars(repeats: list[int], firsts: list[int], prefix: list[int], n: int) -> int:
    """datatrove's find_all_duplicate: scan the positions left to right; an n-gram seen at a
    visited position before adds its characters (words only, no spaces) and the scan jumps n
    positions, skipping the ones in between.

    Only repeats can be "seen before", so only they are visited here. A repeat was seen when its
    first occurrence was visited (not skipped by a jump) or an earlier repeat of it was.
    """
    chars = idx = 0
    jumped: list[int] = []  # positions p whose jump skipped p+1 .. p+n-1, ascending
    seen_first: set[int] = set()  # first positions whose n-gram a visited repeat has added
    for pos, first in zip(repeats, firsts):
        if pos < idx:
            continue  # skipped by the last jump
        i = bisect_right(jumped, first) - 1
        first_visited = i < 0 or first >= jumped[i] + n
        if first_visited or first in seen_first:
            chars += prefix[pos + n] - prefix[pos]
            jumped.append(pos)
            idx = pos + n
        else:
            seen_first.add(first)
            idx = pos + 1
    return chars


def thresholds_for(quality: dict[str, Any], lang: str, script: str) -> dict[str, float | None]:
    """A recipe's `quality` thresholds for one document: defaults, then the script's overrides,
    then the language's (FineWeb-2 style: the most specific wins; null disables a rule)."""
    return {
        **quality.get("defaults", {}),
        **(quality.get("scripts") or {}).get(script, {}),
        **(quality.get("languages") or {}).get(lang, {}),
    }


def failed_rules(signals: Signals, thresholds: dict[str, float | None]) -> list[tuple[str, float, float]]:
    """(rule, value, threshold) for each rule the signals break.

    A rule is `min_<signal>` or `max_<signal>`; a null threshold or a None signal (no stop-word
    list for the language) skips it. An unknown rule name raises, so a typo cannot disable a rule.
    """
    failed = []
    for rule, threshold in thresholds.items():
        bound, _, name = rule.partition("_")
        if bound not in ("min", "max") or name not in signals:
            raise ValueError(f"unknown quality rule {rule!r}: expected min_<signal> or max_<signal>")
        value = signals[name]
        if threshold is None or value is None:
            continue
        if (bound == "min" and value < threshold) or (bound == "max" and value > threshold):
            failed.append((rule, value, threshold))
    return failed
