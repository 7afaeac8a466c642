"""The four validation protocols side by side, for any algorithm and for the final model.

- ``random``: stratified random 80/20 splits (the seed's protocol, seeds 0..N-1).
- ``grouped``: repeated 5-fold ``StratifiedGroupKFold`` over composition clusters
  (:func:`~superionic.ml.splits.composition_clusters`): no near-duplicate on both sides.
- ``lofo``: leave one structural family out, for every family with at least
  ``min_family`` rows (smaller families always stay in training); pooled over families.
- ``external``: train on the rows of one source, test on the *unseen* compositions of the
  other (rows absent from the training source whose composition cluster holds no training
  row), both ways (``kang2023 -> obelix`` and ``obelix -> kang2023``).

Scores: balanced accuracy at probability 0.5 and ROC-AUC (mean over splits for random and
grouped; pooled over the held-out rows for lofo and each external direction).
``FinalModel`` is the shipped recipe in one estimator: GB + LightGBM mean probability,
calibrated (``method``: isotonic by default, the seed's; the quick recipe's is sigmoid) on
grouped out-of-fold predictions of its training rows (3 repeats, as the recipes'
``calibration_repeats``). Its balanced accuracy is that of the calibrated probability; its
ROC-AUC that of the ranking the product uses: calibrated probability, ties (isotonic steps)
broken by the raw mean probability, which is the raw mean probability's order (monotone
maps never reverse it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

EXTERNAL_PAIRS = (("kang2023", "obelix"), ("obelix", "kang2023"))
MIN_FAMILY = 15


@dataclass(frozen=True)
class Fold:
    protocol: str
    name: str
    train: np.ndarray
    test: np.ndarray


def external_folds(sources: Sequence[str], clusters: np.ndarray, pairs=EXTERNAL_PAIRS) -> list[Fold]:
    """Train on every row of source A; test on rows of B, not of A, in clusters without A rows."""
    sources = [str(s).split("+") for s in sources]
    clusters = np.asarray(clusters)
    folds = []
    for a, b in pairs:
        train = np.array([a in s for s in sources])
        seen = set(clusters[train])
        test = np.array([b in s and a not in s for s in sources]) & ~np.isin(clusters, list(seen))
        if train.any() and test.any():
            folds.append(Fold("external", f"{a} -> {b}", np.flatnonzero(train), np.flatnonzero(test)))
    return folds


def family_folds(families: Sequence[str], min_family: int = MIN_FAMILY) -> list[Fold]:
    families = np.asarray(families)
    counts = pd.Series(families).value_counts()
    return [Fold("lofo", str(f), np.flatnonzero(families != f), np.flatnonzero(families == f))
            for f in sorted(counts[counts >= min_family].index)]


def all_folds(y, clusters, families, sources, n_random: int = 20, n_grouped: int = 10) -> list[Fold]:
    from superionic.ml.splits import grouped_splits, random_splits

    folds = [Fold("random", str(s.seed), s.train, s.validation) for s in random_splits(y, n_random)]
    folds += [Fold("grouped", s.label, s.train, s.validation) for s in grouped_splits(y, clusters, n_grouped)]
    return folds + family_folds(families) + external_folds(sources, clusters)


class FinalModel:
    """GB + LightGBM mean probability, calibrated (``method``) on grouped out-of-fold rows."""

    def __init__(self, seed: int = 0, n_repeats: int = 3, params: dict | None = None, method: str = "isotonic"):
        self.seed, self.n_repeats, self.params, self.method = seed, n_repeats, params or {}, method

    def _pipelines(self, seed: int):
        from superionic.ml.algorithms import ALGORITHMS, ENSEMBLE_ALGORITHMS

        return [ALGORITHMS[a].pipeline(seed).set_params(**{f"clf__{k}": v for k, v in self.params.get(a, {}).items()})
                for a in ENSEMBLE_ALGORITHMS]

    def fit(self, X, y, groups=None, sample_weight=None):
        """``groups``: composition clusters of the rows (default: clusters of ``X``);
        ``sample_weight``: training weight per row (default: equal)."""
        from superionic.ml.calibration import Calibrator, grouped_out_of_fold
        from superionic.ml.splits import composition_clusters

        groups = composition_clusters(X) if groups is None else groups
        prob, _ = grouped_out_of_fold(X, y, groups, self._pipelines, n_repeats=self.n_repeats,
                                      sample_weight=sample_weight)
        self.calibrator = Calibrator.fit(prob, np.asarray(y, bool), self.method)
        fit = {} if sample_weight is None else {"clf__sample_weight": sample_weight}
        self.models = [m.fit(X, y, **fit) for m in self._pipelines(self.seed)]
        return self

    def ranking_score(self, X) -> np.ndarray:
        """The raw mean probability: how the product ranks (calibration keeps its order)."""
        return np.mean([m.predict_proba(X)[:, 1] for m in self.models], axis=0)

    def predict_proba(self, X):
        p = self.calibrator(self.ranking_score(X))
        return np.c_[1 - p, p]


def _scores(y, p, rank=None) -> tuple[float, float]:
    """Balanced accuracy of ``p >= 0.5``; ROC-AUC of ``rank`` (default ``p``)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y = np.asarray(y, bool)
    auc = float(roc_auc_score(y, p if rank is None else rank)) if len(np.unique(y)) == 2 else float("nan")
    return float(balanced_accuracy_score(y, p >= 0.5)), auc


def evaluate(make_model: Callable[[int], object], X: np.ndarray, y: np.ndarray, folds: Sequence[Fold],
             groups: np.ndarray | None = None, predictions: list | None = None,
             sample_weight: np.ndarray | None = None) -> pd.DataFrame:
    """One row per protocol (external: per direction): balanced accuracy, ROC-AUC, folds, test rows.

    ``groups`` (composition clusters of all rows) go to a :class:`FinalModel`'s calibration;
    ``sample_weight`` (per row) weighs the training rows of every fold;
    ``predictions``, if given, receives ``(fold, probabilities, ranking scores)`` of each fold's
    test rows.
    """
    from superionic.ml.metrics import positive_scores

    X, y = np.asarray(X, float), np.asarray(y, bool)
    per_fold, pooled = [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, fold in enumerate(folds):
            model = make_model(i)
            final = isinstance(model, FinalModel)
            extra = {"groups": groups[fold.train]} if groups is not None and final else {}
            if sample_weight is not None:
                extra["sample_weight" if final else "clf__sample_weight"] = sample_weight[fold.train]
            model = model.fit(X[fold.train], y[fold.train], **extra)
            p = positive_scores(model, X[fold.test])
            rank = model.ranking_score(X[fold.test]) if isinstance(model, FinalModel) else p
            if predictions is not None:
                predictions.append((fold, p, rank))
            if fold.protocol in ("random", "grouped"):
                per_fold.append((fold.protocol, *_scores(y[fold.test], p, rank), len(fold.test)))
            else:
                key = fold.protocol if fold.protocol == "lofo" else f"external {fold.name}"
                pooled.setdefault(key, []).append((y[fold.test], p, rank))
    rows = []
    frame = pd.DataFrame(per_fold, columns=["protocol", "bacc", "auc", "n"])
    for protocol, part in frame.groupby("protocol", sort=False):
        rows.append({"protocol": protocol, "balanced_accuracy": part.bacc.mean(), "roc_auc": part.auc.mean(),
                     "folds": len(part), "test_rows": int(part.n.sum())})
    for key, parts in pooled.items():
        yy, pp, rr = (np.concatenate(column) for column in zip(*parts))
        bacc, auc = _scores(yy, pp, rr)
        rows.append({"protocol": key, "balanced_accuracy": bacc, "roc_auc": auc, "folds": len(parts),
                     "test_rows": len(yy)})
    return pd.DataFrame(rows)


def family_table(predictions: Sequence[tuple[Fold, np.ndarray, np.ndarray]], y: np.ndarray) -> pd.DataFrame:
    """Per held-out family: rows, superionic fraction, mean probability, accuracy at 0.5, ROC-AUC.

    Shows why pooled leave-one-family-out scores are low: a family's base rate against the
    probabilities a model trained without it gives, and whether it still ranks within it.
    """
    y = np.asarray(y, bool)
    rows = []
    for fold, p, rank in predictions:
        if fold.protocol == "lofo":
            t = y[fold.test]
            rows.append({"family": fold.name, "rows": len(t), "superionic": float(t.mean()),
                         "mean_p": float(np.mean(p)), "accuracy": float(np.mean((p >= 0.5) == t)),
                         "roc_auc": _scores(t, p, rank)[1]})
    return pd.DataFrame(rows)
