"""The labelled descriptor matrix the study and the surrogate train on.

Built from the training-set loader (:mod:`superionic.ml.training_data`) and the Magpie
featuriser (:mod:`superionic.features.magpie`): rows whose formula cannot be featurised
are dropped and recorded in ``skipped`` (never a silently shorter set). A second builder
reads matminer's own published descriptors of the Kang 2023 set, a featuriser-independent
cross-check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

LABEL_THRESHOLD_S_PER_CM = 1e-4
REFERENCE_FEATURES_VERSION = "matminer-reference-csv"
"""Featuriser version recorded for matrices read from the published matminer CSV."""


@dataclass
class LabelledMatrix:
    """Descriptors ``X`` (one row per compound, matminer column names) and labels ``y``."""

    X: pd.DataFrame
    y: np.ndarray
    formulas: list[str]
    families: np.ndarray
    featurizer_version: str
    sources: tuple[str, ...] = ("kang2023",)
    descriptors: str = "magpie"
    """Descriptor set of ``X`` (:mod:`superionic.features.descriptors`)."""
    groups: np.ndarray | None = None
    """Composition cluster of each row, always from the Magpie descriptors (so that grouped
    splits are the same whatever the model's descriptors); None: computed from ``X``."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Formula (or row) -> why it is not in the matrix."""
    provenance: pd.DataFrame | None = None
    """Per row: source(s), input rows merged, composition key, sigma and its bound."""

    def __post_init__(self) -> None:
        n = len(self.X)
        if not (len(self.y) == len(self.formulas) == len(self.families) == n):
            raise ValueError("X, y, formulas and families must have one entry per row.")
        if self.X.isna().all(axis=1).any():
            raise ValueError("LabelledMatrix holds rows without any descriptor; drop them first.")

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.X.columns]

    def clusters(self) -> np.ndarray:
        """Composition clusters of the rows (:func:`~superionic.ml.splits.composition_clusters`)."""
        from superionic.ml.splits import composition_clusters

        return composition_clusters(self.X.to_numpy(float)) if self.groups is None else np.asarray(self.groups)

    def data_hash(self) -> str:
        """SHA-256 over formulas, labels and descriptor values: the training-set identity."""
        digest = hashlib.sha256()
        digest.update("\n".join(self.formulas).encode())
        digest.update(np.asarray(self.y, dtype=np.uint8).tobytes())
        digest.update("\n".join(self.feature_names).encode())
        digest.update(np.ascontiguousarray(self.X.to_numpy(dtype=float).round(10)).tobytes())
        return digest.hexdigest()


def family_weights(families: Sequence[str]) -> np.ndarray:
    """Row weights 1/sqrt(rows of the row's structural family), scaled to mean 1.

    A family of 100 rows then weighs 10x one row, not 100x: the large, well-studied families
    (NASICON, garnet, perovskite) no longer set the trees' splits alone.
    """
    families = pd.Series(np.asarray(families, dtype=str))
    weights = 1 / np.sqrt(families.map(families.value_counts()).to_numpy(float))
    return weights / weights.mean()


def training_matrix(
    sources: Sequence[str] = ("kang2023",), merge_duplicates: bool = True, mobile_ion: str | None = None,
    descriptors: str = "magpie",
) -> LabelledMatrix:
    """Load the training set(s), featurise every formula, drop and record failures.

    ``mobile_ion="Li"`` keeps only Li compounds (see :func:`load_training_set`). Each row's
    provenance (``source``: e.g. ``kang2023+obelix``; ``rows``: ``source:file:line`` of every
    merged input row) is kept in ``provenance``.

    ``merge_duplicates=True`` (default) merges repeated compositions (321 rows of Kang 2023);
    ``False`` keeps the seed's 328 rows, duplicates included.

    ``descriptors`` names the descriptor set of ``X`` (``magpie``, ``chemistry``,
    ``magpie+chemistry``); rows are those Magpie can featurise whatever the set, and
    ``groups`` are Magpie clusters.
    """
    from superionic.features.descriptors import featurize, featurizer_version
    from superionic.features.magpie import featurize_formulas
    from superionic.ml.splits import composition_clusters
    from superionic.ml.training_data import load_training_set

    training = load_training_set(sources=tuple(sources), merge_duplicates=merge_duplicates,
                                 mobile_ion=mobile_ion)
    frame = training.frame.reset_index(drop=True)
    features, failures = featurize_formulas(frame["formula"].tolist())
    skipped = {str(s.row): str(s.reason) for s in training.skipped}
    bad = np.zeros(len(frame), dtype=bool)
    for row, reason in failures.items():
        bad[int(row)] = True
        skipped[str(frame["formula"].iloc[int(row)])] = f"featurisation failed: {reason}"
    bad |= features.isna().all(axis=1).to_numpy()
    keep = ~bad
    magpie = features.loc[keep].reset_index(drop=True).astype(float)
    X = magpie
    if descriptors != "magpie":
        X, other = featurize(frame.loc[keep, "formula"].tolist(), descriptors)
        if other:
            raise ValueError(f"{descriptors} descriptors failed where Magpie's did not: {other}")
    return LabelledMatrix(
        X=X.astype(float),
        y=frame.loc[keep, "label"].to_numpy(dtype=bool),
        formulas=frame.loc[keep, "formula"].astype(str).tolist(),
        families=frame.loc[keep, "family"].astype(str).to_numpy(),
        featurizer_version=featurizer_version(descriptors),
        sources=tuple(sources),
        descriptors=descriptors,
        groups=composition_clusters(magpie.to_numpy(float)),
        skipped=skipped,
        provenance=frame.loc[keep, ["source", "rows", "composition_key", "sigma", "sigma_bound"]]
        .reset_index(drop=True),
    )


def reference_matrix(training_dir: Path | str) -> LabelledMatrix:
    """The Kang 2023 set with matminer's published descriptors (no featuriser needed).

    ``training_dir`` holds ``kang2023_database.csv`` and
    ``kang2023_magpie_features_reference.csv`` (same rows, same order).
    """
    training_dir = Path(training_dir)
    database = pd.read_csv(training_dir / "kang2023_database.csv")
    reference = pd.read_csv(training_dir / "kang2023_magpie_features_reference.csv")
    if len(database) != len(reference):
        raise ValueError("Database and reference descriptor files have different row counts.")
    start = list(reference.columns).index("composition") + 1
    X = reference.iloc[:, start:].astype(float)
    sigma = pd.to_numeric(database["sigma_rt_S_per_cm"], errors="coerce")
    keep = sigma.notna().to_numpy()
    skipped = {str(f): "no numeric conductivity" for f in database.loc[~keep, "formula"]}
    return LabelledMatrix(
        X=X.loc[keep].reset_index(drop=True),
        y=(sigma[keep] >= LABEL_THRESHOLD_S_PER_CM).to_numpy(),
        formulas=database.loc[keep, "formula"].astype(str).tolist(),
        families=database.loc[keep, "family"].astype(str).to_numpy(),
        featurizer_version=REFERENCE_FEATURES_VERSION,
        skipped=skipped,
    )
