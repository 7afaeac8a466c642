"""Per-split classification metrics and the seed's summary table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
"""Metrics reported per split; positive class = superionic (sigma_RT >= 1e-4 S/cm)."""


def positive_scores(model, X: np.ndarray) -> np.ndarray:
    """Continuous score of the positive class: probability if the model has one."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, 1]
    return np.asarray(model.decision_function(X), dtype=float)


def split_metrics(y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (positive = superionic) and ROC-AUC of one split.

    Precision of a split with no predicted positive is 0 (sklearn ``zero_division=0``);
    ROC-AUC is NaN when the validation rows hold a single class (possible in the
    leave-one-family-out protocol), and summaries skip NaN.
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    auc = float("nan")
    if len(np.unique(y_true)) == 2:
        auc = float(roc_auc_score(y_true, scores))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": auc,
    }


def split_confusion(y_true: np.ndarray, y_pred: np.ndarray) -> list[list[int]]:
    """2x2 confusion matrix ``[[TN, FP], [FN, TP]]`` (rows: true class, False then True)."""
    matrix = confusion_matrix(np.asarray(y_true, bool), np.asarray(y_pred, bool), labels=[False, True])
    return matrix.astype(int).tolist()


def sum_confusions(matrices: Iterable[Sequence[Sequence[int]]]) -> list[list[int]]:
    """Element-wise sum of 2x2 confusion matrices."""
    total = np.zeros((2, 2), dtype=int)
    for matrix in matrices:
        total += np.asarray(matrix, dtype=int)
    return total.tolist()


def summarize(per_split: Sequence[dict[str, float]]) -> dict[str, float]:
    """The seed's columns (ACC mean/max/min/STD) plus the mean of every other metric.

    STD is the population standard deviation over splits (``numpy.std``, ddof=0).
    """
    if not per_split:
        return {}
    acc = np.array([m["accuracy"] for m in per_split], dtype=float)
    summary = {
        "n_splits": float(len(per_split)),
        "acc_mean": float(acc.mean()),
        "acc_max": float(acc.max()),
        "acc_min": float(acc.min()),
        "acc_std": float(acc.std()),
    }
    for name in METRICS[1:]:
        values = np.array([m[name] for m in per_split], dtype=float)
        finite = values[~np.isnan(values)]
        summary[f"{name}_mean"] = float(finite.mean()) if len(finite) else math.nan
    return summary
