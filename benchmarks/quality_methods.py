"""Which learned quality signal to ship, by measurement on hplt-dev (used by bench_quality).

Candidates, each fitted on the 6 seen languages (positive: clean; negative: porn, unnatural,
wrong language) and judged on documents it did not see — 5-fold cross-validation over the seen
languages (folds as `agora quality train` makes them), and the 5 held-out languages:

* the shipped model: logistic regression over hashed character 1-4-grams and words plus the
  stage-1 signals stage 1 stored (standardized, scaled by DENSE_SCALE), at three strengths of L2;
  the shipped L2 is the strongest within 0.01 of the best cross-validated AUC on the seen languages;
* the n-grams alone, and the stage-1 signals alone (language-agnostic by construction);
* perplexity under a character 5-gram language model of the clean documents (stupid backoff over
  hashed counts), as CCNet ranks by perplexity under a Wikipedia LM; it uses the positives only.
"""
from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import xxhash

from curation.stages import quality_fit
from curation.text.normalize import normalize
from curation.text.quality_model import DENSE_SIGNALS, dense_features

FOLDS = quality_fit.FOLDS
LM_ORDER, LM_BITS, BACKOFF = 5, 22, 0.4
DENSE_STEPS, DENSE_RATE, DENSE_L2 = 2000, 0.5, 1e-3


def compare_methods(docs: list[dict], held_out: tuple[str, ...], ws: str) -> list[str]:
    seen = [d for d in docs if d["lang"] not in held_out and d["text"]]
    held = [d for d in docs if d["lang"] in held_out and d["text"]]
    signals = _stored_signals(ws)
    methods = {
        **{f"n-grams + stage-1 signals, L2 {l2:g}{' (shipped)' if l2 == quality_fit.L2 else ''}":
           _ngram_method(signals, l2) for l2 in (1e-4, 3e-4, 1e-3)},
        f"n-grams alone, L2 {quality_fit.L2:g}": _ngram_method(None, quality_fit.L2),
        "stage-1 signals alone": _dense_method(signals),
        "character 5-gram LM perplexity (CCNet-style, clean only)": _lm_method,
    }
    lines = ["Candidates for the learned signal (fitted on the 6 seen languages; AUC of documents the model did not "
             "see; threshold: keep 95 % of the cross-validated clean documents):", "",
             "| method | CV AUC, seen | AUC, held out | held out at that threshold: clean kept / junk dropped "
             "| fit + score s |", "|---|---|---|---|---|"]
    for name, method in methods.items():
        started = time.process_time()
        cv, held_scores = _evaluate(method, seen, held)
        seconds = time.process_time() - started
        seen_labels, held_labels = _labels(seen), _labels(held)
        threshold = np.quantile(cv[seen_labels], 0.05)
        kept = held_scores >= threshold
        auc_seen, auc_held = quality_fit.auc(cv, seen_labels), quality_fit.auc(held_scores, held_labels)
        lines.append(f"| {name} | {auc_seen:.3f} | {auc_held:.3f} | {kept[held_labels].mean():.1%} / "
                     f"{(~kept[~held_labels]).mean():.1%} | {seconds:.0f} |")
    return lines


def _labels(docs: list[dict]) -> np.ndarray:
    return np.array([d["class"] == "clean" for d in docs])


def _evaluate(method, seen: list[dict], held: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(cross-validated scores of the seen documents, scores of the held-out ones from a model of all seen)."""
    folds = np.array([xxhash.xxh3_64_intdigest(d["id"]) % FOLDS for d in seen])
    cv = np.zeros(len(seen))
    for fold in range(FOLDS):
        train = [d for d, f in zip(seen, folds) if f != fold]
        cv[folds == fold] = method(train, [d for d, f in zip(seen, folds) if f == fold])
    return cv, method(seen, held)


def _ngram_method(signals: dict[str, dict] | None, l2: float):
    """The shipped fit; without `signals` every signal is 0, which leaves the n-grams alone."""
    zeros = dict.fromkeys(DENSE_SIGNALS, 0.0)

    def method(train: list[dict], test: list[dict]) -> np.ndarray:
        examples = quality_fit.Examples()
        for d in [*train, *test]:
            examples.add(normalize(d["text"]), signals[d["id"]] if signals else zeros, d["class"] == "clean", d["id"])
        model = quality_fit.fit(examples, np.arange(len(train)), l2=l2)
        return quality_fit.score_rows(model, examples, np.arange(len(train), len(train) + len(test)))
    return method


def _stored_signals(ws: str) -> dict[str, dict]:
    """record id -> the signals stage 1 stored for it (any run: all but the model score are the same)."""
    con = duckdb.connect()
    rows = con.execute(f"SELECT DISTINCT ON (record_id) record_id, {', '.join(DENSE_SIGNALS)} FROM read_parquet(?)",
                       [str(Path(ws) / "stage1" / "*" / "*" / "*" / "part-*.parquet")]).fetchall()
    con.close()
    return {r[0]: dict(zip(DENSE_SIGNALS, r[1:])) for r in rows}


def _dense_method(signals: dict[str, dict]):
    def method(train: list[dict], test: list[dict]) -> np.ndarray:
        x = np.array([dense_features(signals[d["id"]]) for d in train])
        mean, std = x.mean(0), x.std(0) + 1e-9
        x = (x - mean) / std
        labels = _labels(train).astype(float)
        weight = np.where(labels == 1, 0.5 / labels.sum(), 0.5 / (len(labels) - labels.sum()))
        w, b = np.zeros(x.shape[1]), 0.0
        for _ in range(DENSE_STEPS):
            residual = (1 / (1 + np.exp(-(x @ w + b))) - labels) * weight
            w -= DENSE_RATE * (x.T @ residual + DENSE_L2 * w)
            b -= DENSE_RATE * residual.sum()
        z = (np.array([dense_features(signals[d["id"]]) for d in test]) - mean) / std
        return z @ w + b
    return method


def _grams(text: str) -> list[np.ndarray]:
    """Hashed character k-grams ending at each character, k = 1..LM_ORDER (padded at the start)."""
    points = np.frombuffer(("\x02" * (LM_ORDER - 1) + " ".join(normalize(text).split())).encode("utf-32-le"),
                           dtype=np.uint32).astype(np.uint64)
    out, rolling = [], points
    for k in range(1, LM_ORDER + 1):
        if k > 1:
            rolling = rolling[:-1] * np.uint64(0x9E3779B97F4A7C15) + points[k - 1:]
        hashed = ((rolling ^ np.uint64(k)) * np.uint64(0xBF58476D1CE4E5B9)) >> np.uint64(64 - LM_BITS)
        out.append(hashed[len(hashed) - (len(points) - LM_ORDER + 1):].astype(np.int64))
    return out


def _lm_method(train: list[dict], test: list[dict]) -> np.ndarray:
    """Mean log probability per character under a stupid-backoff 5-gram model of the clean training texts."""
    clean = [_grams(d["text"]) for d in train if d["class"] == "clean"]
    counts = [np.bincount(np.concatenate([g[k] for g in clean]), minlength=1 << LM_BITS).astype(float)
              for k in range(LM_ORDER)]
    total = counts[0].sum()
    scores = []
    for d in test:
        grams = _grams(d["text"])
        n = len(grams[0])
        logp, done, penalty = np.full(n, np.log(0.5 / total)), np.zeros(n, bool), 0.0
        for k in range(LM_ORDER - 1, 0, -1):  # k-gram given its (k-1)-gram history, which ends one character earlier
            history = np.r_[0.0, counts[k - 1][grams[k - 1][:-1]]]
            found = counts[k][grams[k]]
            use = ~done & (found > 0) & (history > 0)
            logp[use] = np.log(found[use] / history[use]) + penalty
            done |= use
            penalty += np.log(BACKOFF)
        unigram = counts[0][grams[0]]
        use = ~done & (unigram > 0)
        logp[use] = np.log(unigram[use] / total) + penalty
        scores.append(logp.mean() if n else -np.inf)
    return np.array(scores)
