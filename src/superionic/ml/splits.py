"""Train/validation protocols: the seed's random splits and grouped splits beside them.

- ``random``: the seed's protocol, ``n`` stratified random 80/20 splits with seeds
  ``0..n-1`` (``train_test_split(..., stratify=y, random_state=seed)``).
- ``grouped``: compositions are first grouped into clusters of near-identical Magpie
  vectors (single-linkage connected components of the standardised descriptors, cut at a
  fraction of the median pairwise distance), so a doping series such as
  Li(1+x)Al(x)Ti(2-x)(PO4)3 is one group; then repeated ``StratifiedGroupKFold`` (5 folds,
  ~80/20, seeds ``0..``) keeps every group wholly in training or wholly in validation.
  Random splits over near-duplicate NASICON rows let a model "recall" a sibling; this
  protocol measures accuracy on chemistries it has not seen a near-copy of.
- ``family``: leave-one-structural-family-out (``family`` column), the harshest check:
  accuracy on a family absent from training.

The clustering uses only the descriptors, never the labels, so computing it on all rows
leaks no label information into validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, train_test_split

PROTOCOLS = ("random", "grouped", "family")
GROUPED_FOLDS = 5
DEFAULT_CLUSTER_THRESHOLD = 0.2
"""Cut of the single-linkage tree, as a fraction of the median pairwise distance between
standardised Magpie vectors (0.2 gives ~100 groups on the 328-row Kang 2023 set)."""


@dataclass(frozen=True)
class Split:
    """One train/validation partition of the training rows."""

    protocol: str
    split_id: int
    seed: int
    train: np.ndarray
    validation: np.ndarray
    label: str = ""
    """Free text (e.g. the held-out family)."""


def random_splits(y: np.ndarray, n_splits: int, test_size: float = 0.2) -> list[Split]:
    """The seed's protocol: stratified random splits, seed ``i`` for split ``i``."""
    rows = np.arange(len(y))
    splits = []
    for seed in range(n_splits):
        train, val = train_test_split(rows, test_size=test_size, stratify=y, random_state=seed)
        splits.append(Split("random", seed, seed, np.sort(train), np.sort(val)))
    return splits


def composition_clusters(X: np.ndarray, threshold: float = DEFAULT_CLUSTER_THRESHOLD) -> np.ndarray:
    """Group labels: connected components of rows closer than ``threshold`` x median distance.

    Descriptors are standardised (NaN -> column mean, zero-variance columns dropped) so
    that no single large-valued feature (melting point, atomic weight) dominates.
    """
    X = np.asarray(X, dtype=float)
    if len(X) < 2:
        return np.zeros(len(X), dtype=int)
    mean = np.nanmean(X, axis=0)
    X = np.where(np.isnan(X), mean, X)
    std = X.std(axis=0)
    keep = std > 0
    Z = (X[:, keep] - X[:, keep].mean(axis=0)) / std[keep]
    distances = pdist(Z)
    cut = threshold * float(np.median(distances))
    tree = linkage(distances, method="single")
    return fcluster(tree, cut, criterion="distance").astype(int) - 1


def grouped_splits(
    y: np.ndarray, groups: np.ndarray, n_splits: int, n_folds: int = GROUPED_FOLDS
) -> list[Split]:
    """``n_splits`` grouped folds: repeats of ``StratifiedGroupKFold(n_folds)``, seed = repeat.

    Returns exactly ``n_splits`` splits (the last repeat may be cut short).
    """
    n_groups = len(np.unique(groups))
    if n_groups < n_folds:
        raise ValueError(f"Grouped protocol needs at least {n_folds} groups, got {n_groups}.")
    splits: list[Split] = []
    repeat = 0
    while len(splits) < n_splits:
        cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=repeat)
        for fold, (train, val) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
            if len(splits) == n_splits:
                break
            splits.append(
                Split("grouped", len(splits), repeat, np.sort(train), np.sort(val),
                      label=f"repeat {repeat} fold {fold}")
            )
        repeat += 1
    return splits


def family_splits(families: np.ndarray) -> list[Split]:
    """Leave one family out; one split per family, in sorted family order."""
    families = np.asarray(families)
    splits = []
    for i, (train, val) in enumerate(LeaveOneGroupOut().split(families, groups=families)):
        splits.append(Split("family", i, 0, train, val, label=str(families[val[0]])))
    return splits


def make_splits(
    protocol: str,
    y: np.ndarray,
    n_splits: int,
    X: np.ndarray | None = None,
    families: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    cluster_threshold: float = DEFAULT_CLUSTER_THRESHOLD,
) -> tuple[list[Split], np.ndarray | None]:
    """Splits of one protocol, and the group label per row it used (None for random)."""
    if protocol == "random":
        return random_splits(y, n_splits), None
    if protocol == "grouped":
        if groups is None:
            if X is None:
                raise ValueError("The grouped protocol needs the descriptor matrix or groups.")
            groups = composition_clusters(X, cluster_threshold)
        return grouped_splits(y, groups, n_splits), np.asarray(groups)
    if protocol == "family":
        if families is None:
            raise ValueError("The family protocol needs a family per training row.")
        families = np.asarray(families)
        codes = np.unique(families, return_inverse=True)[1]
        return family_splits(families), codes
    raise ValueError(f"Unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}.")
