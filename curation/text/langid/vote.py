"""The "agora" backend: a cascade over the single models in models.py, ending in a weighted vote."""
from __future__ import annotations

import math
from collections.abc import Iterable

from curation.text.langid.base import _EPS, DEFAULT_PREFIX_CHARS, LangGuess, NoCandidateLanguage, _Backend, _top
from curation.text.langid.models import (
    Cld2Identifier,
    FastTextIdentifier,
    LinguaIdentifier,
    Py3langidIdentifier,
    WordfreqIdentifier,
)

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
        models = [m for m in (self._cld2, self._fasttext, self._lingua, self._py3langid, self._wordfreq) if m]
        if not models:
            raise NoCandidateLanguage(f"language-id backend 'agora' knows none of {sorted(self.languages or ())}")
        self.known = frozenset().union(*(model.known for model in models))

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
