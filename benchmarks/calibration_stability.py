"""How stable is the calibration map (and so the verdict p >= 0.5) under the calibration folds' randomness?

No external test rows: everything is computed on the quick recipe's training set (kang2023,
obelix, xu2020, poor_conductors; Li; 557 rows) and on the bundled snapshot's screening
survivors (453, unlabelled). Grouped out-of-fold ensemble probabilities (GB + LightGBM,
library defaults, 5-fold StratifiedGroupKFold over composition clusters) are computed for
``--seeds`` x ``--max-repeats`` repeats; calibration seed ``s`` of a method with ``k``
repeats uses repeats ``s*k .. s*k+k-1`` (disjoint folds and model seeds across seeds, as a
user retraining with another seed would get). Per method and ``k``:

- ``ece``: cross-fitted ECE on the grouped out-of-fold rows (mean and max over seeds);
- ``ece_if_calibrated``: the median ECE a perfectly calibrated model with the same
  probabilities would show on these rows (labels drawn from them; mean over seeds), and
  ``beyond_noise``: the share of seeds whose ECE lies beyond that noise (p < 0.05);
- ``auc``: ROC-AUC of that cross-fitted calibrated probability (ties lower it; raw: no map);
- ``x50``: the raw ``prob_mean`` at which calibrated p reaches 0.5 (mean, sd, min-max);
- ``flip``: fraction of survivors (training rows: ``flip_train``) whose verdict p >= 0.5 is
  not the same for every seed; ``pair``: mean fraction that differs between two seeds;
- ``ties``: fraction of distinct survivor scores merged by the map (mean over seeds);
- ``fast``: survivors called superionic (mean over seeds).

The survivors' and training rows' ``prob_mean`` come from one quick-recipe surrogate (20
random splits), as in ``superionic run``.

``--external N`` (a check after the choice, not part of it) also prints, per external
direction (train on one source, test on the other's unseen compositions), the balanced
accuracy at calibrated p = 0.5 of isotonic and sigmoid over N calibration seeds (3 repeats
each; the same GB + LightGBM models, seed 0).

    PYTHONPATH=src .venv/bin/python benchmarks/calibration_stability.py            # ~6 min on 1 core
    PYTHONPATH=src .venv/bin/python benchmarks/calibration_stability.py --cache /tmp/oof.npz
    PYTHONPATH=src .venv/bin/python benchmarks/calibration_stability.py --cache /tmp/oof.npz --external 6
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from superionic.ml.calibration import CALIBRATION_METHODS, fit_calibration, grouped_out_of_fold
from superionic.recipes import load_recipe

QUICK = load_recipe("quick").classifier


def out_of_fold_pool(data, n_repeats: int, cache: Path | None):
    from superionic.ml.algorithms import ALGORITHMS

    if cache is not None and cache.exists():
        stored = np.load(cache)
        if stored["prob"].shape[0] >= n_repeats:
            return stored["prob"][:n_repeats], stored["folds"][:n_repeats]
    prob, folds = grouped_out_of_fold(data.X.to_numpy(float), np.asarray(data.y, bool), data.clusters(),
                                      lambda seed: [ALGORITHMS[a].pipeline(seed) for a in ("gb", "lgbm")],
                                      n_repeats=n_repeats)
    if cache is not None:
        np.savez(cache, prob=prob, folds=folds)
    return prob, folds


def surrogate_scores(data) -> tuple[np.ndarray, np.ndarray]:
    """``prob_mean`` of the training rows and of the snapshot's survivors (quick recipe's surrogate)."""
    from superionic.features.descriptors import featurize
    from superionic.jobs.screening import screen_corpus
    from superionic.ml.study import StudyConfig, run_study
    from superionic.ml.surrogate import Surrogate

    config = StudyConfig(algorithms=["gb", "lgbm"], protocols=("random",), n_splits=QUICK.n_splits, n_iter=0,
                         inner_grouped=True, n_jobs=1)
    study = run_study(data.X, data.y, config, families=data.families, groups=data.clusters())
    surrogate = Surrogate.from_study(study, data, algorithms=("gb", "lgbm"))
    survivors = screen_corpus("snapshot", show_progress=False).survivors
    features, _ = featurize([d.formula for d in survivors], surrogate.descriptors)
    return surrogate.predict_matrix(data.X).score, surrogate.predict_matrix(features[surrogate.feature_names]).score


def flips(verdicts: np.ndarray) -> tuple[float, float]:
    """(fraction of rows not unanimous over seeds, mean pairwise disagreement)."""
    unanimous = verdicts.all(axis=0) | (~verdicts).all(axis=0)
    pairs = [np.mean(a != b) for a, b in itertools.combinations(verdicts, 2)]
    return float(1 - unanimous.mean()), float(np.mean(pairs))


def compare(prob, folds, y, train_score, cand_score, n_seeds: int, repeats: list[int]) -> pd.DataFrame:
    from sklearn.metrics import roc_auc_score

    grid = np.linspace(0, 1, 20001)
    rows = []
    for k, method in itertools.product(repeats, CALIBRATION_METHODS):
        ece, noise, beyond, auc, x50, cand, train, ties = [], [], [], [], [], [], [], []
        for s in range(n_seeds):
            part = slice(s * k, (s + 1) * k)
            cal, report = fit_calibration(prob[part], folds[part], y, method)
            ece.append(report.ece_calibrated)
            noise.append(report.ece_if_calibrated["median"])
            beyond.append(report.ece_if_calibrated["p_value"] < 0.05)
            auc.append(report.roc_auc)
            above = np.flatnonzero(cal(grid) >= 0.5)
            x50.append(grid[above[0]] if len(above) else np.nan)
            cand.append(cal(cand_score) >= 0.5)
            train.append(cal(train_score) >= 0.5)
            distinct = np.unique(cand_score)
            ties.append(1 - len(np.unique(cal(distinct))) / len(distinct))
        flip, pair = flips(np.array(cand))
        rows.append({
            "method": method, "repeats": k, "ece_mean": np.mean(ece), "ece_max": np.max(ece),
            "ece_if_calibrated": np.mean(noise), "beyond_noise": np.mean(beyond),
            "auc": np.mean(auc), "x50_mean": np.mean(x50), "x50_sd": np.std(x50),
            "x50_range": f"{np.min(x50):.3f}-{np.max(x50):.3f}", "flip": flip, "pair": pair,
            "flip_train": flips(np.array(train))[0], "ties": np.mean(ties), "fast": np.mean(np.sum(cand, axis=1)),
        })
    rows.append({"method": "raw (no map)", "repeats": 0, "auc": np.mean([roc_auc_score(y, p) for p in prob])})
    return pd.DataFrame(rows)


def external_check(data, n_seeds: int) -> None:
    """Balanced accuracy at calibrated p = 0.5 per external direction over calibration seeds."""
    from sklearn.metrics import balanced_accuracy_score

    from superionic.ml.algorithms import ALGORITHMS
    from superionic.ml.calibration import Calibrator
    from superionic.ml.protocols import external_folds

    X, y, clusters = data.X.to_numpy(float), np.asarray(data.y, bool), data.clusters()
    make = lambda seed: [ALGORITHMS[a].pipeline(seed) for a in ("gb", "lgbm")]  # noqa: E731
    for fold in external_folds(data.provenance["source"].tolist(), clusters):
        train, test = fold.train, fold.test
        raw = np.mean([m.fit(X[train], y[train]).predict_proba(X[test])[:, 1] for m in make(0)], axis=0)
        scores = {"isotonic": [], "sigmoid": []}
        for s in range(n_seeds):
            prob, _ = grouped_out_of_fold(X[train], y[train], clusters[train], make, n_repeats=3, seed=3 * s)
            for method, values in scores.items():
                values.append(balanced_accuracy_score(y[test], Calibrator.fit(prob, y[train], method)(raw) >= 0.5))
        print(f"external {fold.name} ({len(test)} rows), balanced accuracy over {n_seeds} calibration seeds: "
              + "; ".join(f"{m} {np.mean(v):.3f} (sd {np.std(v):.3f}, {min(v):.3f}-{max(v):.3f})"
                          for m, v in scores.items()))


def main() -> None:
    from superionic.ml.dataset import training_matrix

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--repeats", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--external", type=int, default=0, metavar="N",
                        help="After the table: external balanced accuracy over N calibration seeds (a check, not the choice)")
    parser.add_argument("--cache", type=Path, help="npz of the out-of-fold repeats (read if there, else written)")
    args = parser.parse_args()
    start = time.perf_counter()
    data = training_matrix(QUICK.training_sources, mobile_ion=QUICK.mobile_ion, descriptors=QUICK.descriptors)
    y = np.asarray(data.y, bool)
    prob, folds = out_of_fold_pool(data, args.seeds * max(args.repeats), args.cache)
    train_score, cand_score = surrogate_scores(data)
    print(f"training: {len(y)} rows ({int(y.sum())} superionic); survivors: {len(cand_score)}; "
          f"{args.seeds} calibration seeds")
    table = compare(prob, folds, y, train_score, cand_score, args.seeds, args.repeats)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    if args.external:
        external_check(data, args.external)
    print(f"wall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
