"""wordfreq's word-frequency lists, held compactly, for identifying the language of a word or two.

The wordfreq package ships, per language, the words seen at least about once per million (its
"small" lists: 44 languages, built from Wikipedia, subtitles, news, books and web text). A word
that is common in one language and absent from the others settles a single word where character
n-gram models can only guess. Held as Python dicts the lists take ~270 MB; here all of them are
one sorted array of 64-bit word hashes with a list number and a log frequency per entry, about
13 bytes a word (~22 MB for every list), built in about 1.5 s once per process.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import regex
import xxhash

# wordfreq's list codes that are not the ISO 639-1 code Agora uses for the language.
LIST_LANGUAGES = {"fil": ("tl",), "sh": ("hr", "sr", "bs")}  # Serbo-Croatian: one list, Latin script
# A word missing from a list counts as this rare (the lists stop near 1e-6): rare but possible.
UNSEEN_LOG_FREQ = math.log(1e-8)
_WORD = regex.compile(r"\w+")  # regex's \w keeps combining marks (Devanagari vowel signs) in the word
_LN_10 = math.log(10)


def available_lists() -> dict[str, tuple[str, ...]]:
    """wordfreq list code → the languages it stands for, for every "small" list shipped."""
    import wordfreq

    return {code: LIST_LANGUAGES.get(code, (code,)) for code in sorted(wordfreq.available_languages("small"))}


class WordLists:
    """Log frequencies of words in several languages' lists, looked up by hash."""

    def __init__(self, list_codes: Iterable[str]):
        import wordfreq

        self.codes = tuple(list_codes)
        hashes, lists, log_freqs = [], [], []
        for number, code in enumerate(self.codes):
            # read_cBpack: bucket i holds the words of frequency 10 ** (-i / 100) ("centibels").
            buckets = wordfreq.read_cBpack(str(wordfreq.DATA_PATH / f"small_{code}.msgpack.gz"))
            for centibels, words in enumerate(buckets):
                if words:
                    hashes.append(np.fromiter(map(xxhash.xxh3_64_intdigest, words), np.uint64, len(words)))
                    lists.append(np.full(len(words), number, np.uint8))
                    log_freqs.append(np.full(len(words), -centibels / 100 * _LN_10, np.float32))
        order = np.argsort(all_hashes := np.concatenate(hashes), kind="stable")
        self._hashes = all_hashes[order]
        self._lists = np.concatenate(lists)[order]
        self._log_freqs = np.concatenate(log_freqs)[order]

    def log_likelihoods(self, text: str) -> np.ndarray | None:
        """Per list, the sum over the text's words of log frequency (unseen words: UNSEEN_LOG_FREQ);
        None when the text has no words."""
        words = _WORD.findall(text.lower())
        if not words:
            return None
        keys = np.fromiter(map(xxhash.xxh3_64_intdigest, words), np.uint64, len(words))
        starts = np.searchsorted(self._hashes, keys, "left")
        ends = np.searchsorted(self._hashes, keys, "right")
        counts = ends - starts  # how many lists hold each word
        entries = np.arange(counts.sum()) + np.repeat(starts - np.cumsum(counts) + counts, counts)
        found = np.bincount(
            self._lists[entries], self._log_freqs[entries] - UNSEEN_LOG_FREQ, minlength=len(self.codes)
        )
        return found + len(words) * UNSEEN_LOG_FREQ


@lru_cache(maxsize=4)
def word_lists(list_codes: tuple[str, ...]) -> WordLists:
    """One table per set of lists in a process: identifiers built for the same languages share it."""
    return WordLists(list_codes)
