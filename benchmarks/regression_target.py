"""Learn log10 sigma_RT instead of the 0/1 label? Measured next to the classifier (issue 10).

Not part of the model. The classifier sees only which side of 1e-4 S/cm a compound lies on;
a regressor on log10 sigma also learns how far (LLTO at 4e-5 and at 6e-4 S/cm differ by one
label but by a decade). Variants of the final model (``superionic.ml.protocols.FinalModel``:
mean of its members' probabilities, Platt-calibrated on 3 x grouped out-of-fold rows, the
quick recipe's map):

- ``classifier``: GB + LightGBM classifiers (the shipped model);
- ``regressor``: GB + LightGBM regressors on log10 sigma (bounds taken at their value, clipped
  to [-10, -1.5]); a member's "probability" is sigmoid(log10 sigma_pred + 4), so the Platt map
  is a logistic fit on the predicted log10 sigma;
- ``both``: the two classifiers and the two regressors averaged.

The target reaches the models as an extra last column of ``X`` that every member drops before
it predicts (the protocols' ``evaluate`` passes only ``X`` and the label). Magpie descriptors,
the quick recipe's Li set and the folds of ``classifier_protocols.py``. Selection on the grouped
protocol only; then leave-one-family-out and both external directions once for the best.

    PYTHONPATH=src .venv/bin/python benchmarks/regression_target.py
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from superionic.ml.algorithms import ALGORITHMS, ENSEMBLE_ALGORITHMS
from superionic.ml.dataset import training_matrix
from superionic.ml.protocols import FinalModel, all_folds
from superionic.recipes import load_recipe
from variant_protocols import select_then_test

SOURCES = ("kang2023", "obelix", "xu2020", "poor_conductors")
THRESHOLD_LOG = -4.0


class Member:
    """A classifier or regressor that takes ``X`` with the log10 sigma target as its last column."""

    def __init__(self, kind: str, algorithm: str, seed: int):
        self.kind, self.algorithm, self.seed = kind, algorithm, seed

    def fit(self, X, y, **_):
        X = np.asarray(X, float)
        if self.kind == "classifier":
            self.model = ALGORITHMS[self.algorithm].pipeline(self.seed).fit(X[:, :-1], y)
        else:
            from lightgbm import LGBMRegressor
            from sklearn.ensemble import GradientBoostingRegressor
            from sklearn.impute import SimpleImputer
            from sklearn.pipeline import make_pipeline

            regressor = (GradientBoostingRegressor(random_state=self.seed) if self.algorithm == "gb"
                         else LGBMRegressor(random_state=self.seed, n_jobs=1, verbose=-1))
            self.model = make_pipeline(SimpleImputer(strategy="median"), regressor).fit(X[:, :-1], X[:, -1])
        return self

    def predict_proba(self, X):
        X = np.asarray(X, float)[:, :-1]
        if self.kind == "classifier":
            return self.model.predict_proba(X)
        p = 1 / (1 + np.exp(-(self.model.predict(X) - THRESHOLD_LOG)))
        return np.c_[1 - p, p]


class Variant(FinalModel):
    def __init__(self, seed: int, kinds: tuple[str, ...], method: str):
        super().__init__(seed, method=method)
        self.kinds = kinds

    def _pipelines(self, seed: int):
        return [Member(kind, a, seed) for kind in self.kinds for a in ENSEMBLE_ALGORITHMS]


def main() -> None:
    start = time.perf_counter()
    data = training_matrix(SOURCES, mobile_ion="Li")
    y, clusters = np.asarray(data.y, bool), data.clusters()
    target = np.clip(np.log10(data.provenance["sigma"].to_numpy(float)), -10, -1.5)
    X = np.c_[data.X.to_numpy(float), target]
    bounds = (data.provenance["sigma_bound"] != "").sum()
    print(f"{len(y)} compositions ({int(y.sum())} superionic), {bounds} with a bound only; log10 sigma "
          f"{target.min():.1f} .. {target.max():.1f}")
    folds = all_folds(y, clusters, data.families, data.provenance["source"].tolist(), 20, 10)
    method = load_recipe("quick").classifier.calibration_method
    kinds = {"classifier": ("classifier",), "regressor": ("regressor",), "both": ("classifier", "regressor")}
    print(f"final model: {method} calibration")
    select_then_test({name: (X, lambda seed, k=k: Variant(seed, k, method)) for name, k in kinds.items()},
                     y, clusters, folds, baseline="classifier")
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
