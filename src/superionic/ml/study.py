"""The classifier study: nested hyper-parameter search over repeated train/validation splits.

Protocol (nested, per split):

1. Each outer split (see :mod:`superionic.ml.splits`) divides the rows into training (~80 %)
   and validation (~20 %).
2. ``RandomizedSearchCV`` draws ``n_iter`` parameter sets from the algorithm's search space
   and scores each by an inner stratified K-fold (grouped K-fold in the grouped protocols)
   **on the training rows of that split only**; the best set is refitted on those training
   rows.
3. That refitted model, and only it, predicts the validation rows: accuracy, precision,
   recall, F1, ROC-AUC and a confusion matrix are recorded per split.

Why nested rather than "tune once, then split": tuning once on all 328 rows (or on one
split) lets the chosen parameters depend on rows that later sit in the validation part of
other splits, an optimistic bias that grows with the search budget. Tuning inside every
split costs ``n_iter * inner_folds + 1`` fits per split instead of one, so the budget is
kept small (default 6 draws x 3 folds; configurable) and the work is spread over processes
with joblib. A side benefit: the refitted per-split models are exactly the N models per
algorithm the seed's ensemble votes with, so :mod:`superionic.ml.surrogate` reuses them.

``n_iter=0`` skips the search and fits the library defaults (the seed's setting, useful for
quick runs and as a baseline).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RandomizedSearchCV, StratifiedGroupKFold, StratifiedKFold

from superionic.ml.algorithms import ENSEMBLE_ALGORITHMS, AlgorithmSpec, resolve_algorithms
from superionic.ml.metrics import (
    positive_scores,
    split_confusion,
    split_metrics,
    sum_confusions,
    summarize,
)
from superionic.ml.splits import DEFAULT_CLUSTER_THRESHOLD, Split, composition_clusters, make_splits


@dataclass
class StudyConfig:
    """What the study runs. Defaults are the full study; tests pass small values."""

    algorithms: Sequence[str | AlgorithmSpec] = ()
    """Algorithm keys (see ``ALGORITHMS``) or specs; empty = all nine."""
    protocols: Sequence[str] = ("random",)
    """Any of ``random``, ``grouped``, ``family``."""
    n_splits: int = 100
    """Splits of the random protocol (seeds 0..n_splits-1)."""
    n_grouped_splits: int | None = None
    """Splits of the grouped protocol (repeated 5-fold); default: ``n_splits``."""
    n_iter: int = 6
    """Parameter sets drawn per split by the randomized search (0 = library defaults)."""
    inner_folds: int = 3
    """Folds of the inner CV that scores each parameter set (training rows only)."""
    scoring: str = "accuracy"
    inner_grouped: bool = False
    """Score the search by a grouped inner CV (composition clusters) in every protocol, so
    hyper-parameters are chosen for unseen chemistry; False: stratified inner CV for the
    random protocol (the seed's), grouped only where the outer protocol is grouped."""
    cluster_threshold: float = DEFAULT_CLUSTER_THRESHOLD
    n_jobs: int = 1
    """Worker processes (joblib); each fit itself is single-threaded."""
    keep_models: Sequence[str] = ENSEMBLE_ALGORITHMS
    """Algorithms whose fitted per-split models are kept (random protocol only)."""

    def splits_for(self, protocol: str) -> int:
        if protocol == "grouped" and self.n_grouped_splits is not None:
            return self.n_grouped_splits
        return self.n_splits


@dataclass
class SplitResult:
    """Outcome of one algorithm on one split."""

    protocol: str
    algorithm: str
    split_id: int
    seed: int
    label: str
    metrics: dict[str, float]
    confusion: list[list[int]]
    best_params: dict[str, Any]
    inner_score: float
    fit_seconds: float
    train_rows: np.ndarray
    """Rows the search and the refit saw (the split's training part)."""
    validation_rows: np.ndarray
    model: Any = None
    cpu_seconds: float = 0.0
    """CPU time of this evaluation (search + refit + scoring) in its process."""


@dataclass
class StudyResult:
    """Every split result of a study, with helpers for the tables."""

    config: StudyConfig
    results: list[SplitResult]
    feature_names: list[str]
    n_rows: int
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def select(self, protocol: str, algorithm: str) -> list[SplitResult]:
        """Results of one (protocol, algorithm), ordered by split id."""
        chosen = [r for r in self.results if r.protocol == protocol and r.algorithm == algorithm]
        return sorted(chosen, key=lambda r: r.split_id)

    def pairs(self) -> list[tuple[str, str]]:
        """(protocol, algorithm) pairs in run order."""
        seen: dict[tuple[str, str], None] = {}
        for r in self.results:
            seen.setdefault((r.protocol, r.algorithm), None)
        return list(seen)

    def models(self, algorithm: str, protocol: str = "random") -> list[Any]:
        """The fitted per-split models kept for ``algorithm`` (ordered by split id)."""
        models = [r.model for r in self.select(protocol, algorithm)]
        if not models or any(m is None for m in models):
            raise ValueError(
                f"No fitted {algorithm!r} models kept for protocol {protocol!r}; run the study "
                f"with {algorithm!r} in algorithms and keep_models."
            )
        return models

    def summary(self) -> pd.DataFrame:
        """One row per (protocol, algorithm): the seed's ACC columns and mean metrics.

        ``acc_pooled`` is the accuracy of all validation predictions pooled (the summed
        confusion matrix): the row-weighted mean, which differs from ``acc_mean`` when folds
        differ in size (leave-one-family-out).
        """
        rows = []
        for protocol, algorithm in self.pairs():
            results = self.select(protocol, algorithm)
            confusion = np.asarray(sum_confusions(r.confusion for r in results))
            rows.append(
                {"protocol": protocol, "algorithm": algorithm,
                 **summarize([r.metrics for r in results]),
                 "acc_pooled": float(np.trace(confusion) / max(confusion.sum(), 1))}
            )
        return pd.DataFrame(rows)


def _inner_cv(n_folds: int, seed: int, groups: np.ndarray | None):
    if groups is not None and len(np.unique(groups)) >= n_folds:
        return StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)


def _plain(value: Any) -> Any:
    """Parameters as plain Python values (documents, JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def evaluate_split(
    spec: AlgorithmSpec,
    X: np.ndarray,
    y: np.ndarray,
    split: Split,
    n_iter: int,
    inner_folds: int = 3,
    scoring: str = "accuracy",
    groups: np.ndarray | None = None,
    keep_model: bool = False,
) -> SplitResult:
    """Tune on ``split.train`` only (inner CV), refit there, score on ``split.validation``."""
    start, cpu_start = time.perf_counter(), time.process_time()
    X_train, y_train = X[split.train], y[split.train]
    pipeline = spec.pipeline(split.seed)
    inner_score = float("nan")
    best_params: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n_iter > 0 and spec.search_space:
            train_groups = None if groups is None else groups[split.train]
            search = RandomizedSearchCV(
                pipeline,
                spec.search_space,
                n_iter=n_iter,
                scoring=scoring,
                cv=_inner_cv(inner_folds, split.seed, train_groups),
                refit=True,
                random_state=split.seed,
                n_jobs=1,
                error_score=np.nan,
            )
            search.fit(X_train, y_train, groups=train_groups)
            model = search.best_estimator_
            inner_score = float(search.best_score_)
            best_params = {k.removeprefix("clf__"): _plain(v) for k, v in search.best_params_.items()}
        else:
            model = pipeline.fit(X_train, y_train)
        X_val, y_val = X[split.validation], y[split.validation]
        y_pred = np.asarray(model.predict(X_val), dtype=bool)
        scores = positive_scores(model, X_val)
    return SplitResult(
        protocol=split.protocol,
        algorithm=spec.name,
        split_id=split.split_id,
        seed=split.seed,
        label=split.label,
        metrics=split_metrics(y_val, y_pred, scores),
        confusion=split_confusion(y_val, y_pred),
        best_params=best_params,
        inner_score=inner_score,
        fit_seconds=time.perf_counter() - start,
        train_rows=split.train,
        validation_rows=split.validation,
        model=model if keep_model else None,
        cpu_seconds=time.process_time() - cpu_start,
    )


ProgressCallback = Callable[[int, int, SplitResult], None]


def count_fits(config: StudyConfig, families: np.ndarray | None = None) -> int:
    """How many (algorithm, split) evaluations ``run_study`` will do (for progress bars)."""
    n_algorithms = len(resolve_algorithms(config.algorithms))
    total = 0
    for protocol in config.protocols:
        if protocol == "family":
            total += len(np.unique(families)) if families is not None else 0
        else:
            total += config.splits_for(protocol)
    return total * n_algorithms


def run_study(
    X: np.ndarray | pd.DataFrame,
    y: np.ndarray,
    config: StudyConfig | None = None,
    families: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    groups: np.ndarray | None = None,
) -> StudyResult:
    """Run every (protocol, algorithm, split) of ``config``; ``progress(done, total, result)``.

    ``X`` must be free of failed rows (the training-set loader drops and records them);
    ``y`` is boolean (superionic or not). ``families`` is needed by the ``family`` protocol.
    ``groups``: composition clusters of the rows for the grouped protocol and a grouped inner
    search (default: :func:`~superionic.ml.splits.composition_clusters` of ``X``).
    """
    config = config or StudyConfig()
    feature_names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"f{i}" for i in range(np.shape(X)[1])]
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=bool)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X ({X.shape}) and y ({y.shape}) do not describe the same rows.")
    if len(np.unique(y)) < 2:
        raise ValueError("The training labels hold a single class; nothing to classify.")
    specs = resolve_algorithms(config.algorithms)
    tasks: list[tuple[AlgorithmSpec, Split, np.ndarray | None, bool]] = []
    groups_by_protocol: dict[str, np.ndarray] = {}
    clusters = groups
    if clusters is None and config.inner_grouped:  # the grouped protocol makes its own (make_splits)
        clusters = composition_clusters(X, config.cluster_threshold)
    inner = clusters if config.inner_grouped else None
    for protocol in config.protocols:
        splits, groups = make_splits(
            protocol, y, config.splits_for(protocol), X=X, families=families,
            groups=clusters if protocol == "grouped" else None, cluster_threshold=config.cluster_threshold,
        )
        if groups is not None:
            groups_by_protocol[protocol] = groups
        if inner is not None:
            groups = inner  # the inner search is grouped by composition clusters everywhere
        for spec in specs:
            keep = protocol == "random" and spec.name in config.keep_models
            tasks.extend((spec, split, groups, keep) for split in splits)

    calls = [
        (spec, X, y, split, config.n_iter, config.inner_folds, config.scoring, groups, keep)
        for spec, split, groups, keep in tasks
    ]
    start = time.perf_counter()
    results: list[SplitResult] = []
    if config.n_jobs == 1:
        outputs = (evaluate_split(*args) for args in calls)
    else:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")(
            delayed(evaluate_split)(*args) for args in calls
        )
    for result in outputs:
        results.append(result)
        if progress is not None:
            progress(len(results), len(tasks), result)
    protocol_rank = {p: i for i, p in enumerate(config.protocols)}
    algorithm_rank = {s.name: i for i, s in enumerate(specs)}
    results.sort(key=lambda r: (protocol_rank[r.protocol], algorithm_rank[r.algorithm], r.split_id))
    return StudyResult(
        config=config,
        results=results,
        feature_names=feature_names,
        n_rows=len(y),
        groups=groups_by_protocol,
        wall_seconds=time.perf_counter() - start,
    )
