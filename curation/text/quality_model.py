"""A learned quality signal: logistic regression over hashed character n-grams and words, and the
document's other stage-1 signals.

`agora quality train` fits one on the user's own labeled data (curation/stages/quality_fit.py);
stage 1 stores its probability that a document is like the positive examples as
`quality_model_score`, and the recipe's `min_quality_model_score` drops the rest. The method was
chosen by measurement on hplt-dev (benchmarks/RESULTS.md): the n-grams learn the user's languages
and sites; the signals (Gopher, C4, FineWeb, stop words, adult density), standardized and scaled
down so that they steer rather than dominate, carry over to languages without labels. Scoring
costs well under a millisecond per document and needs nothing but numpy.

Features are deterministic in every process (no Python `hash`): character 1- to 4-grams of the
lower-cased text with whitespace collapsed, and its words (curation.text.segment), each hashed
into 2**18 buckets; a document's vector holds log(1 + count), scaled to unit length, so length
and repetition do not swamp the score.

A model file is `quality_models/<id>.npz` in the workspace; its id is a content key of its weights
and settings, and loading checks the two agree, so a document's model id names exactly what
judged it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xxhash

from curation.text.quality import SIGNAL_NAMES
from curation.text.segment import words

FORMAT = 1  # of the model file
BITS = 18
CHAR_NGRAMS = (1, 2, 3, 4)
MODELS_DIR = "quality_models"  # in the workspace
METHOD = "logistic regression over hashed character 1-4-grams, words and the stage-1 signals"
DENSE_SIGNALS = tuple(name for name in SIGNAL_NAMES if name != "quality_model_score")
DENSE_SCALE = 0.1  # standardized signals times this: chosen by cross-validation (benchmarks/RESULTS.md)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT = np.uint64(64 - BITS)


def features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, unit-length log counts) of a text, indices ascending and unique."""
    lower = text.lower()
    padded = " " + " ".join(lower.split()) + " "
    points = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    buckets, rolling = [], points
    for n in range(1, max(CHAR_NGRAMS) + 1):
        if n > 1:
            rolling = rolling[:-1] * _MULTIPLIER + points[n - 1 :]  # wraps modulo 2**64
        if n in CHAR_NGRAMS:
            buckets.append(((rolling ^ (rolling >> np.uint64(29))) * _MIX + np.uint64(n)) * _MULTIPLIER >> _SHIFT)
    found = words(lower)
    buckets.append(np.fromiter(map(xxhash.xxh3_64_intdigest, found), np.uint64, len(found)) >> _SHIFT)
    indices, counts = np.unique(np.concatenate(buckets).astype(np.int64), return_counts=True)
    values = np.log1p(counts)
    return indices, values / np.sqrt(np.square(values).sum())  # not linalg.norm: BLAS costs 0.5 ms a call here


def dense_features(signals: dict) -> np.ndarray:
    """The stage-1 signals the model reads, in DENSE_SIGNALS order; a null one (no stop-word list) is -1."""
    return np.array([-1.0 if signals[name] is None else float(signals[name]) for name in DENSE_SIGNALS])


@dataclass(frozen=True)
class QualityModel:
    """Weights over the n-gram buckets and over the standardized signals, and a bias; `score` is the
    probability of the positive class."""

    weights: np.ndarray  # float32, 2**BITS
    dense_weights: np.ndarray  # float32, one per DENSE_SIGNALS
    dense_mean: np.ndarray  # float64: each signal's mean and standard deviation over the training documents
    dense_std: np.ndarray
    bias: float

    @property
    def model_id(self) -> str:
        digest = hashlib.sha256(json.dumps(_settings(self.bias)).encode())
        for array in (self.weights, self.dense_weights, self.dense_mean, self.dense_std):
            digest.update(array.tobytes())
        return "qm-" + digest.hexdigest()[:12]

    def standardized(self, dense: np.ndarray) -> np.ndarray:
        return (dense - self.dense_mean) / self.dense_std * DENSE_SCALE

    def score(self, text: str, signals: dict) -> float:
        """`signals`: the document's other stage-1 signals (curation.text.quality.quality_signals)."""
        indices, values = features(text)
        z = float((self.weights[indices] * values).sum()) + self.bias
        z += float(self.standardized(dense_features(signals)) @ self.dense_weights)
        return round(1.0 / (1.0 + np.exp(-z)), 6)


def _settings(bias: float) -> dict:
    return {"format": FORMAT, "bits": BITS, "char_ngrams": list(CHAR_NGRAMS), "words": True,
            "dense_signals": list(DENSE_SIGNALS), "dense_scale": DENSE_SCALE, "bias": float(bias)}


def model_path(workspace_root: Path, model_id: str) -> Path:
    return workspace_root / MODELS_DIR / f"{model_id}.npz"


def save_model(model: QualityModel, workspace_root: Path) -> Path:
    """Write the model to its content-keyed path (atomically; an existing file is the same model)."""
    path = model_path(workspace_root, model.model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, weights=model.weights, dense_weights=model.dense_weights, dense_mean=model.dense_mean,
                        dense_std=model.dense_std, settings=np.array(json.dumps(_settings(model.bias))))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return path


def load_model(path: Path) -> QualityModel:
    """The model in `path`; raises ValueError when the file is not the model its name says."""
    with np.load(path) as data:
        settings = json.loads(str(data["settings"]))
        model = QualityModel(data["weights"], data["dense_weights"], data["dense_mean"], data["dense_std"],
                             settings["bias"])
    if settings != _settings(model.bias):
        raise ValueError(f"{path}: a quality model of another format or settings ({settings})")
    if path.stem != model.model_id:
        raise ValueError(f"{path}: its content is model {model.model_id}, not {path.stem}")
    return model
