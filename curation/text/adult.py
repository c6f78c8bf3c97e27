"""Adult-content signal: how dense a document is in the LDNOOBW word lists of its languages.

C4 dropped every page holding one entry of the English list, which removes medical, sex-education
and LGBTQ text. Here the lists give a density instead, `adult_word_density` = list hits per word,
and the recipe decides (`max_adult_word_density`, per language like every rule). Counted:

* the lists of the document's detected language and of its source's declared languages, plus
  English, because porn spam in any language is full of English terms;
* whole words and whole phrases ("big tits", "hijo de puta"), case-insensitively, with the words
  `curation.text.segment` cuts, so a Chinese or Thai entry is a run of letters; a phrase counts once;
* never parts of words ("analysis" is not "anal"), and no inflections: a Russian entry matches
  its listed form only, so inflected porn text scores lower than English.

False positives, by design of the lists: they hold clinical words (penis, vagina, anal, sexual,
intercourse), everyday words of other languages (Spanish "negro", the Roman numeral "XX") and plain
profanity, so a dense sex-education page scores like light porn; the default threshold is set above
such pages (tests/test_adult.py). The lists ship in curation/data/adult_words.tsv (CC BY 4.0, built by
benchmarks/build_adult_words.py).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from importlib import resources

from curation.text.segment import words

# Codes a detector or a source may use for a language whose list is filed under another code.
LIST_OF = {"nb": "no", "nn": "no", "tl": "fil"}
ALWAYS = ("en",)
Phrases = dict[str, tuple[tuple[str, ...], ...]]  # first word -> the rest of each entry, longest first


@cache
def _lists() -> dict[str, frozenset[tuple[str, ...]]]:
    """Language -> its entries, each as the words the segmenter cuts it into."""
    lists: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    text = resources.files("curation").joinpath("data/adult_words.tsv").read_text("utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            lang, entry = line.split("\t")
            if tokens := tuple(words(entry)):
                lists[lang].add(tokens)
    return {lang: frozenset(entries) for lang, entries in lists.items()}


def list_languages() -> tuple[str, ...]:
    """The languages that have a list."""
    return tuple(sorted(_lists()))


@cache
def _phrases(langs: frozenset[str]) -> Phrases:
    lists = _lists()
    by_first: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for lang in langs:
        for entry in lists.get(LIST_OF.get(lang, lang), ()):
            by_first[entry[0]].add(entry[1:])
    return {first: tuple(sorted(rests, key=len, reverse=True)) for first, rests in by_first.items()}


def adult_hits(lower_words: list[str], langs: Iterable[str]) -> int:
    """Occurrences of list entries in `lower_words` (lower-cased words, in order), using the lists of
    `langs` plus English; the longest entry starting at a word wins and the scan moves past it."""
    phrases = _phrases(frozenset((*langs, *ALWAYS)))
    hits, skip_to = 0, 0
    for i, word in enumerate(lower_words):
        if i < skip_to or word not in phrases:
            continue
        for rest in phrases[word]:
            if not rest or lower_words[i + 1 : i + 1 + len(rest)] == list(rest):
                hits += 1
                skip_to = i + 1 + len(rest)
                break
    return hits


def adult_word_density(lower_words: list[str], langs: Iterable[str]) -> float:
    """List hits per word (0.0 for a text without words)."""
    return adult_hits(lower_words, langs) / len(lower_words) if lower_words else 0.0
