"""Fitting a quality model: L2-regularized logistic regression over hashed n-grams and the stage-1
signals, in numpy.

Full-batch Adam for a fixed number of steps from zero weights: no randomness, so the same examples
give the same weights and therefore the same model id. The two classes weigh the same in the loss
however unbalanced the labels are (junk is usually the rarer class). Cross-validation over folds
chosen by a hash of each example's key says how well the model ranks documents it has not seen,
and which score keeps 95 % of the positive ones: the threshold `agora quality train` suggests.
"""
from __future__ import annotations

import numpy as np
import xxhash

from curation.text.quality_model import BITS, QualityModel, dense_features, features

L2 = 3e-4  # by cross-validation on hplt-dev's training languages: the strongest within 0.01 AUC of the best
STEPS = 300
LEARNING_RATE = 0.05
FOLDS = 5
KEEP_POSITIVES = 0.95  # the suggested threshold keeps this share of the positives, cross-validated


class Examples:
    """Labeled documents as a sparse feature matrix (CSR), filled one document at a time."""

    def __init__(self) -> None:
        self._indices: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._dense: list[np.ndarray] = []
        self._labels: list[bool] = []
        self._folds: list[int] = []

    def add(self, text: str, signals: dict, positive: bool, key: str) -> None:
        """`signals`: the document's stage-1 signals (quality_signals without a model)."""
        indices, values = features(text)
        self._indices.append(indices.astype(np.int32))
        self._values.append(values.astype(np.float32))
        self._dense.append(dense_features(signals))
        self._labels.append(positive)
        self._folds.append(xxhash.xxh3_64_intdigest(key) % FOLDS)

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> np.ndarray:
        return np.array(self._labels, dtype=bool)

    @property
    def folds(self) -> np.ndarray:
        return np.array(self._folds, dtype=np.int8)

    def dense(self, rows: np.ndarray) -> np.ndarray:
        return np.array([self._dense[i] for i in rows]).reshape(len(rows), -1)

    def matrix(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row of each entry, column, value) for the chosen documents, rows numbered 0..len(rows)-1."""
        sizes = np.array([len(self._indices[i]) for i in rows], dtype=np.int64)
        row_of = np.repeat(np.arange(len(rows)), sizes)
        if not len(rows):
            return row_of, np.zeros(0, np.int32), np.zeros(0, np.float32)
        columns = np.concatenate([self._indices[i] for i in rows])
        values = np.concatenate([self._values[i] for i in rows]).astype(np.float64)
        return row_of, columns, values


def fit(examples: Examples, rows: np.ndarray | None = None, l2: float = L2) -> QualityModel:
    """A model fitted on the chosen documents (default: all); `l2` other than L2 is for measuring."""
    rows = np.arange(len(examples)) if rows is None else rows
    labels = examples.labels[rows].astype(np.float64)
    n_positive = labels.sum()
    if n_positive == 0 or n_positive == len(labels):
        raise ValueError("training needs both positive and negative examples")
    sample_weight = np.where(labels == 1, 0.5 / n_positive, 0.5 / (len(labels) - n_positive))
    row_of, columns, values = examples.matrix(rows)
    raw = examples.dense(rows)
    unfitted = QualityModel(np.zeros(0), np.zeros(0), raw.mean(axis=0), raw.std(axis=0) + 1e-9, 0.0)
    dense = unfitted.standardized(raw)
    dim, n_dense = 1 << BITS, dense.shape[1]
    params = np.zeros(dim + n_dense + 1)  # n-gram weights, signal weights, bias
    moment, second = np.zeros_like(params), np.zeros_like(params)
    beta1, beta2 = 0.9, 0.999
    for step in range(1, STEPS + 1):
        weights, dense_weights, bias = params[:dim], params[dim:-1], params[-1]
        logits = np.bincount(row_of, weights=values * weights[columns], minlength=len(rows)) + dense @ dense_weights
        residual = (1.0 / (1.0 + np.exp(-(logits + bias))) - labels) * sample_weight
        gradient = np.concatenate([np.bincount(columns, weights=values * residual[row_of], minlength=dim),
                                   dense.T @ residual, [residual.sum()]])
        gradient[:-1] += l2 * params[:-1]
        moment = beta1 * moment + (1 - beta1) * gradient
        second = beta2 * second + (1 - beta2) * gradient**2
        params -= LEARNING_RATE * (moment / (1 - beta1**step)) / (np.sqrt(second / (1 - beta2**step)) + 1e-8)
    return QualityModel(params[:dim].astype(np.float32), params[dim:-1].astype(np.float32), unfitted.dense_mean,
                        unfitted.dense_std, round(float(params[-1]), 9))


def score_rows(model: QualityModel, examples: Examples, rows: np.ndarray) -> np.ndarray:
    row_of, columns, values = examples.matrix(rows)
    logits = np.bincount(row_of, weights=values * model.weights[columns], minlength=len(rows)) + model.bias
    logits += model.standardized(examples.dense(rows)) @ model.dense_weights
    return 1.0 / (1.0 + np.exp(-logits))


def cross_validate(examples: Examples) -> dict:
    """Scores of every document from the model that did not see it, summarized."""
    labels, folds = examples.labels, examples.folds
    scores = np.zeros(len(examples))
    for fold in range(FOLDS):
        held, kept = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        if len(held) and 0 < labels[kept].sum() < len(kept):
            scores[held] = score_rows(fit(examples, kept), examples, held)
    threshold = float(np.quantile(scores[labels], 1 - KEEP_POSITIVES))
    return {
        "folds": FOLDS,
        "auc": round(auc(scores, labels), 4),
        "accuracy": round(float(((scores >= 0.5) == labels).mean()), 4),
        "balanced_accuracy": round(float(((scores[labels] >= 0.5).mean() + (scores[~labels] < 0.5).mean()) / 2), 4),
        "suggested_min_score": round(threshold, 4),
        "positives_kept_at_suggested": round(float((scores[labels] >= threshold).mean()), 4),
        "negatives_dropped_at_suggested": round(float((scores[~labels] < threshold).mean()), 4),
    }


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties: half)."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = ((ends - counts + 1 + ends) / 2)[inverse]  # 1-based, ties get their mean rank
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
