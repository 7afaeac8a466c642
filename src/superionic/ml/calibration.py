"""Calibrated probabilities and the applicability domain of the surrogate.

- **Calibration.** The ensemble's mean probability (``prob_mean``) is mapped to a calibrated
  probability by a monotone map (isotonic regression, the seed's; Platt scaling in the quick
  recipe: :data:`CALIBRATION_METHODS`) fitted on *grouped out-of-fold* predictions: the
  training rows are clustered into near-identical compositions
  (:func:`~superionic.ml.splits.composition_clusters`), ``n_repeats`` x 5-fold
  ``StratifiedGroupKFold`` keeps each cluster on one side, and every row gets one
  out-of-fold ensemble probability per repeat from models that never saw its cluster. The
  expected calibration error (ECE, 10 equal-width bins) is reported *cross-fitted*: the
  calibrator that scores a fold was fitted on the other folds' out-of-fold predictions only.
  On a few hundred rows the ECE of even a perfectly calibrated model is not zero (each bin's
  observed fraction is a binomial sample): :func:`ece_if_calibrated` gives the ECE's spread
  when the labels are drawn from the probabilities themselves (a consistency test, Broecker &
  Smith, Weather Forecast. 22, 651 (2007)), reported beside the measured ECE. It treats the rows
  as independent; related compositions err together, so the real noise is somewhat larger.
- **Applicability domain.** The distance of a composition to the training data is the mean
  Euclidean distance to its ``k`` = 5 nearest training rows in standardised Magpie space
  (NaN -> training mean, constant columns dropped). A composition is *in domain* when that
  distance is at most the 95th percentile of the training rows' own leave-one-out distances
  (the usual k-NN applicability-domain rule). Out of domain means the probability is an
  extrapolation the validation could not test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

N_BINS = 10
DOMAIN_NEIGHBOURS = 5
DOMAIN_QUANTILE = 0.95


def expected_calibration_error(prob: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE: sum over equal-width bins of |mean probability - observed fraction| x bin weight."""
    prob, y = np.asarray(prob, float), np.asarray(y, float)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    return float(sum(abs(prob[bins == b].mean() - y[bins == b].mean()) * np.mean(bins == b)
                     for b in range(n_bins) if np.any(bins == b)))


def ece_if_calibrated(prob: np.ndarray, n_draws: int = 2000, seed: int = 0,
                      n_bins: int = N_BINS) -> np.ndarray:
    """ECEs of a perfectly calibrated model with these probabilities: labels drawn from ``prob``.

    The measured ECE is consistent with perfect calibration when it lies inside the bulk of
    these ``n_draws`` values (its sampling noise on ``len(prob)`` rows).
    """
    prob = np.asarray(prob, float)
    rng = np.random.default_rng(seed)
    return np.array([expected_calibration_error(prob, rng.uniform(size=prob.size) < prob, n_bins)
                     for _ in range(n_draws)])


def reliability_bins(prob: np.ndarray, y: np.ndarray, n_bins: int = N_BINS, draws: int = 2000,
                     seed: int = 0) -> list[dict]:
    """Per non-empty bin: its range, rows, mean predicted probability, observed fraction, and the
    5-95 % range the observed fraction would span if the probabilities were exact (labels drawn
    from each row's own probability, ``draws`` times)."""
    prob, y = np.asarray(prob, float), np.asarray(y, float)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_bins):
        if not np.any(bins == b):
            continue
        p = prob[bins == b]
        drawn = (rng.uniform(size=(draws, p.size)) < p).mean(axis=1)
        out.append({"low": b / n_bins, "high": (b + 1) / n_bins, "n": int(p.size),
                    "mean_probability": float(p.mean()), "observed_fraction": float(y[bins == b].mean()),
                    "consistency_low": float(np.quantile(drawn, 0.05)),
                    "consistency_high": float(np.quantile(drawn, 0.95))})
    return out


@dataclass
class DomainModel:
    """k-NN distance to the training rows in standardised descriptor space."""

    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray
    neighbours: object
    """A fitted ``sklearn.neighbors.NearestNeighbors``."""
    threshold: float
    k: int = DOMAIN_NEIGHBOURS
    quantile: float = DOMAIN_QUANTILE

    @classmethod
    def fit(cls, X: np.ndarray, k: int = DOMAIN_NEIGHBOURS, quantile: float = DOMAIN_QUANTILE) -> DomainModel:
        from sklearn.neighbors import NearestNeighbors

        X = np.asarray(X, float)
        if len(X) <= k:
            raise ValueError(f"The applicability domain needs more than {k} training rows, got {len(X)}.")
        mean = np.nanmean(X, axis=0)
        filled = np.where(np.isnan(X), mean, X)
        scale = filled.std(axis=0)
        keep = scale > 0
        Z = (filled[:, keep] - mean[keep]) / scale[keep]
        nn = NearestNeighbors(n_neighbors=k).fit(Z)
        own = nn.kneighbors(Z, n_neighbors=k + 1)[0][:, 1:].mean(axis=1)  # leave the row itself out
        return cls(mean, scale, keep, nn, float(np.quantile(own, quantile)), k, quantile)

    def _z(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, float)
        X = np.where(np.isnan(X), self.mean, X)
        return (X[:, self.keep] - self.mean[self.keep]) / self.scale[self.keep]

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Mean distance of each row to its ``k`` nearest training rows."""
        return self.neighbours.kneighbors(self._z(X), n_neighbors=self.k)[0].mean(axis=1)

    def describe(self) -> str:
        return (f"mean distance to the {self.k} nearest training compositions (standardised descriptors) "
                f"<= {self.threshold:.2f}, the {self.quantile:.0%} quantile of the training rows' own")


CALIBRATION_WORDS = {  # method -> what it does, in words
    "isotonic": "isotonic regression",
    "bagged-isotonic": "the mean of one isotonic regression per repeat",
    "interpolated-isotonic": "isotonic regression interpolated between its blocks",
    "sigmoid": "Platt scaling (a logistic fit on the logit)",
}
CALIBRATION_METHODS = tuple(CALIBRATION_WORDS)
"""How :class:`Calibrator` maps ``prob_mean``: isotonic regression on the pooled repeats (a
step map: ties), the mean of one isotonic map per repeat, isotonic regression interpolated
linearly between its blocks' centres (strictly increasing between the first and last
centre), or Platt scaling (logistic regression on the logit)."""


def _logit(prob: np.ndarray) -> np.ndarray:
    prob = np.clip(np.asarray(prob, float), 1e-4, 1 - 1e-4)
    return np.log(prob / (1 - prob))


def _isotonic(prob: np.ndarray, y: np.ndarray):
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(prob, y)


def _block_centres(prob: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean ``prob``, fitted value) of each constant block of the isotonic fit."""
    order = np.argsort(prob, kind="stable")
    x = prob[order]
    fitted = _isotonic(prob, y).predict(x)
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    return np.add.reduceat(x, starts) / np.diff(np.r_[starts, len(x)]), fitted[starts]


@dataclass
class Calibrator:
    """Monotone map from the ensemble's ``prob_mean`` to a calibrated probability (:data:`CALIBRATION_METHODS`)."""

    isotonic: object = None
    """A fitted ``IsotonicRegression`` (method ``isotonic``; surrogates saved before the methods)."""
    knots: tuple | None = None
    """(x, y) of a piecewise-linear map, constant outside (bagged and interpolated isotonic)."""
    sigmoid: tuple | None = None
    """(slope, intercept) on the logit of ``prob_mean`` (method ``sigmoid``)."""
    method: str = "isotonic"

    @classmethod
    def fit(cls, prob: np.ndarray, y: np.ndarray, method: str = "isotonic") -> Calibrator:
        """``prob``: (n,) or (n_repeats, n) out-of-fold probabilities of the rows ``y`` (n,)."""
        if method not in CALIBRATION_METHODS:
            raise ValueError(f"Unknown calibration method {method!r}: one of {', '.join(CALIBRATION_METHODS)}.")
        prob = np.atleast_2d(np.asarray(prob, float))
        y = np.asarray(y, float)
        pooled, tiled = prob.ravel(), np.tile(y, len(prob))
        if method == "isotonic":
            return cls(isotonic=_isotonic(pooled, tiled))
        if method == "interpolated-isotonic":
            return cls(knots=_block_centres(pooled, tiled), method=method)
        if method == "bagged-isotonic":
            maps = [_isotonic(p, y) for p in prob]
            x = np.unique(np.concatenate([m.X_thresholds_ for m in maps]))
            return cls(knots=(x, np.mean([m.predict(x) for m in maps], axis=0)), method=method)
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6).fit(_logit(pooled)[:, None], tiled.astype(bool))
        return cls(sigmoid=(float(lr.coef_[0, 0]), float(lr.intercept_[0])), method=method)

    def __call__(self, prob: np.ndarray) -> np.ndarray:
        prob = np.asarray(prob, float)
        if self.knots is not None:
            out = np.interp(prob, *self.knots)
        elif self.sigmoid is not None:
            out = 1 / (1 + np.exp(-(self.sigmoid[0] * _logit(prob) + self.sigmoid[1])))
        else:
            out = self.isotonic.predict(prob)
        return np.clip(np.asarray(out, float), 0.0, 1.0)


@dataclass
class CalibrationReport:
    """How the calibrator was fitted and how well it does on grouped out-of-fold rows."""

    protocol: str
    n_rows: int
    ece_raw: float
    """ECE of the uncalibrated out-of-fold ``prob_mean``."""
    ece_calibrated: float
    """Cross-fitted ECE of the calibrated probability (the headline number)."""
    roc_auc: float
    balanced_accuracy: float
    """Of the calibrated out-of-fold probability at 0.5."""
    reliability: list[dict] = field(default_factory=list)
    reliability_raw: list[dict] = field(default_factory=list)
    method: str = "isotonic"
    """The calibration map (:data:`CALIBRATION_METHODS`)."""
    ece_if_calibrated: dict = field(default_factory=dict)
    """The ECE a perfectly calibrated model with the same calibrated probabilities would show on
    these rows (labels drawn from them): ``median``, ``q95`` and ``p_value`` (share of draws
    at or above the measured ECE); empty for reports saved before it was measured."""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def calibration_method(calibration: dict) -> str:
    """The method of a stored calibration report (older reports name it only in ``protocol``)."""
    if calibration.get("method") in CALIBRATION_METHODS:
        return calibration["method"]
    protocol = calibration.get("protocol", "")
    return next((m for m in CALIBRATION_METHODS if f"; {m};" in protocol), "isotonic")


def ece_noise_text(calibration: dict) -> str:
    """The calibrated ECE against what perfect calibration would show on the same rows, in words."""
    noise = calibration.get("ece_if_calibrated") or {}
    if not noise:
        return ""
    return (f"a perfectly calibrated model would show ECE {noise['median']:.3f} (median; 95th percentile "
            f"{noise['q95']:.3f}) on these {calibration.get('n_rows')} rows by chance alone, so "
            + ("the measured ECE is within that noise" if noise["p_value"] >= 0.05 else
               "the measured ECE is beyond that noise, a real miscalibration")
            + f", p = {noise['p_value']:.2f}")


def grouped_out_of_fold(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, make_models: Callable[[int], Sequence],
    n_repeats: int = 3, n_folds: int = 5, sample_weight: np.ndarray | None = None, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (n_repeats, n), fold of each row in each repeat (n_repeats, n)).

    Repeat ``r`` shuffles the folds and seeds the models with ``seed + r``.
    ``make_models(seed)`` returns fresh unfitted pipelines; a row's probability is their mean.
    ``sample_weight``: training weight per row (pipelines' ``clf__sample_weight``).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    X, y = np.asarray(X, float), np.asarray(y, bool)
    prob = np.zeros((n_repeats, len(y)))
    folds = np.zeros((n_repeats, len(y)), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rep in range(n_repeats):
            cv = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed + rep)
            for fold, (train, val) in enumerate(cv.split(X, y, groups)):
                fit = {} if sample_weight is None else {"clf__sample_weight": sample_weight[train]}
                models = [m.fit(X[train], y[train], **fit) for m in make_models(seed + rep)]
                prob[rep, val] = np.mean([m.predict_proba(X[val])[:, 1] for m in models], axis=0)
                folds[rep, val] = fold
    return prob, folds


def fit_calibration(prob: np.ndarray, folds: np.ndarray, y: np.ndarray,
                    method: str = "isotonic") -> tuple[Calibrator, CalibrationReport]:
    """Calibrator on all out-of-fold rows; report with the cross-fitted ECE (first repeat's folds)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y = np.asarray(y, bool)
    n_repeats = len(prob)
    crossfit = np.zeros(len(y))
    for fold in np.unique(folds[0]):
        held = folds[0] == fold
        crossfit[held] = Calibrator.fit(prob[:, ~held], y[~held], method)(prob[0][held])
    calibrator = Calibrator.fit(prob, y, method)
    ece = expected_calibration_error(crossfit, y)
    noise = ece_if_calibrated(crossfit)
    report = CalibrationReport(
        protocol=f"grouped out-of-fold: {n_repeats} x {len(np.unique(folds[0]))}-fold StratifiedGroupKFold "
        f"over composition clusters; {method}; ECE cross-fitted over the folds of repeat 0",
        n_rows=len(y),
        ece_raw=expected_calibration_error(prob[0], y),
        ece_calibrated=ece,
        ece_if_calibrated={"median": float(np.median(noise)), "q95": float(np.quantile(noise, 0.95)),
                           "p_value": float(np.mean(noise >= ece))},
        roc_auc=float(roc_auc_score(y, crossfit)),
        balanced_accuracy=float(balanced_accuracy_score(y, crossfit >= 0.5)),
        reliability=reliability_bins(crossfit, y),
        reliability_raw=reliability_bins(prob[0], y),
        method=method,
    )
    return calibrator, report
