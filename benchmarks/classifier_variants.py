"""Variants of the GB + LightGBM ensemble, scored on grouped splits and leaving a family out.

The selection step behind the README's "Classifier, four protocols": descriptor sets,
regularised boosters, a linear model, sample weights and label-conflict handling, each scored
only by protocols that never touch the external test (mean of GB and LightGBM probabilities,
no calibration; balanced accuracy at 0.5 / ROC-AUC; grouped: mean over ``--grouped-splits``
StratifiedGroupKFold folds over Magpie composition clusters; leave one family out: pooled).
The chosen setup then goes through ``classifier_protocols.py`` once.

    PYTHONPATH=src .venv/bin/python benchmarks/classifier_variants.py            # all variants
    PYTHONPATH=src .venv/bin/python benchmarks/classifier_variants.py -v magpie chemistry
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from superionic.ml.algorithms import ALGORITHMS
from superionic.ml.dataset import family_weights, training_matrix
from superionic.ml.protocols import family_folds
from superionic.ml.splits import grouped_splits
from superionic.ml.training_data import composition_key, load_training_set

SOURCES = ("kang2023", "obelix", "xu2020", "poor_conductors")
REGULARISED = {"gb": {"max_depth": 2, "n_estimators": 200, "learning_rate": 0.05, "subsample": 0.8},
               "lgbm": {"num_leaves": 7, "min_child_samples": 20, "n_estimators": 200, "learning_rate": 0.05,
                        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5}}
VARIANTS = {
    "magpie": {},
    "chemistry": {"descriptors": "chemistry"},
    "magpie+chemistry": {"descriptors": "magpie+chemistry"},
    "magpie, regularised": {"params": REGULARISED},
    "chemistry, regularised": {"descriptors": "chemistry", "params": REGULARISED},
    "magpie+chemistry, regularised": {"descriptors": "magpie+chemistry", "params": REGULARISED},
    "chemistry, logistic regression": {"descriptors": "chemistry", "algorithms": ("lr",)},
    "magpie, family-balanced weights": {"weights": "family"},
    "magpie, source-balanced weights": {"weights": "source"},
    "magpie, label conflicts dropped": {"weights": "conflicts 0"},
    "magpie, label conflicts half weight": {"weights": "conflicts 0.5"},
}


def row_weights(kind: str | None, data) -> np.ndarray:
    """Training weight per row: 1, 1/sqrt(family size), 1/source size, or w on label conflicts."""
    n = len(data.y)
    if kind is None:
        return np.ones(n)
    if kind == "family":
        return family_weights(data.families)
    if kind == "source":
        sources = data.provenance["source"]
        return 1 / sources.map(sources.value_counts()).to_numpy(float)
    conflicts = {composition_key(g.formula)[0] for g in load_training_set(SOURCES, mobile_ion="Li").merged
                 if g.label_conflict}  # compositions whose sources' labels disagree
    return np.where(data.provenance["composition_key"].isin(conflicts), float(kind.split()[1]), 1.0)


def fold_probabilities(X, y, w, train, test, algorithms, params, seed):
    models = []
    for name in algorithms:
        model = ALGORITHMS[name].pipeline(seed).set_params(**{f"clf__{k}": v for k, v in params.get(name, {}).items()})
        keep = train[w[train] > 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models.append(model.fit(X[keep], y[keep], clf__sample_weight=w[keep] / w[keep].mean()))
    return np.mean([m.predict_proba(X[test])[:, 1] for m in models], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="V")
    parser.add_argument("--grouped-splits", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    matrices = {d: training_matrix(SOURCES, mobile_ion="Li", descriptors=d)
                for d in {VARIANTS[v].get("descriptors", "magpie") for v in args.variants}}
    first = next(iter(matrices.values()))
    y, clusters = np.asarray(first.y, bool), first.clusters()  # the same rows and clusters in every set
    folds = [("grouped", s.train, s.validation) for s in grouped_splits(y, clusters, args.grouped_splits)]
    folds += [("lofo", f.train, f.test) for f in family_folds(first.families)]
    rows = []
    for name in args.variants:
        spec = VARIANTS[name]
        data = matrices[spec.get("descriptors", "magpie")]
        X, w = data.X.to_numpy(float), row_weights(spec.get("weights"), data)
        probs = Parallel(n_jobs=args.jobs)(
            delayed(fold_probabilities)(X, y, w, train, test, spec.get("algorithms", ("gb", "lgbm")),
                                        spec.get("params", {}), i)
            for i, (_, train, test) in enumerate(folds))
        grouped = [(balanced_accuracy_score(y[te], p >= 0.5), roc_auc_score(y[te], p))
                   for (kind, _, te), p in zip(folds, probs) if kind == "grouped"]
        test = np.concatenate([te for kind, _, te in folds if kind == "lofo"])
        pooled = np.concatenate([p for (kind, _, _), p in zip(folds, probs) if kind == "lofo"])
        rows.append({"variant": name,
                     "grouped": "{:.3f} / {:.3f}".format(*np.mean(grouped, axis=0)),
                     "leave one family out": f"{balanced_accuracy_score(y[test], pooled >= 0.5):.3f} / "
                                             f"{roc_auc_score(y[test], pooled):.3f}"})
        print(f"  {name}: {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\n{len(y)} compositions; balanced accuracy / ROC-AUC of the GB + LightGBM mean (uncalibrated)")
    print(pd.DataFrame(rows).set_index("variant").to_markdown())


if __name__ == "__main__":
    main()
