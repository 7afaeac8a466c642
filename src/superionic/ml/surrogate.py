"""The seed's surrogate: gradient boosting + LightGBM, one fitted model per random split.

The per-split models come straight out of the study (each is the refit of that split's
tuned pipeline on its 80 % training rows), so no model is trained twice. For a candidate,
each algorithm gives N votes (how many of its N split models predict superionic) and N
probabilities (mean and std reported). The seed's verdict is "superionic in all N splits of
both models"; ``prob_mean`` (mean of the two models' mean probabilities) ranks candidates
as a softer alternative.

Saved in a format that holds no code (skops: :mod:`superionic.ml.model_format`; to a file,
or into the project's ``data`` store: :mod:`superionic.ml.model_store`) together with a
``ModelDoc`` (feature names, hyper-parameters, library versions, descriptor set and featuriser
version, training-set hash). ``Surrogate.load`` refuses
a file whose feature names or featuriser version differ from the running featuriser's: descriptors from
another featuriser version could differ silently, and a model fed misaligned columns gives
confident nonsense.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from superionic.ml import model_format
from superionic.ml.algorithms import ENSEMBLE_ALGORITHMS
from superionic.ml.model_format import ModelMismatchError, UnsafeModelError  # noqa: F401 - re-exported
from superionic.schemas.ml import ModelDoc

SURROGATE_FORMAT = 2
"""2: skops, no code (:mod:`superionic.ml.model_format`); 1 (a joblib pickle) is refused."""
MODEL_SUFFIX = ".skops"
"""File name suffix of an exported surrogate (older exports: ``.joblib``, refused when read)."""
LIBRARIES = ("superionic", "scikit-learn", "lightgbm", "xgboost-cpu", "numpy", "scipy", "skops", "pandas")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a pickled model depends on."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


@dataclass
class EnsembleOutput:
    """Raw ensemble output for n rows: per algorithm, votes and probability statistics."""

    n_splits: int
    votes: dict[str, np.ndarray]
    """algorithm -> (n,) number of split models predicting superionic."""
    prob_mean: dict[str, np.ndarray]
    prob_std: dict[str, np.ndarray]
    prob_calibrated: np.ndarray | None = None
    """Calibrated probability of ``score`` (None for a surrogate saved without a calibrator)."""
    domain_distance: np.ndarray | None = None
    domain_threshold: float | None = None

    @property
    def in_domain(self) -> np.ndarray | None:
        """Distance to the training data within the domain threshold (None without a domain)."""
        if self.domain_distance is None or self.domain_threshold is None:
            return None
        return self.domain_distance <= self.domain_threshold

    @property
    def seed_verdict(self) -> np.ndarray:
        """Superionic in every split of every algorithm (the seed's rule)."""
        return np.all([v == self.n_splits for v in self.votes.values()], axis=0)

    @property
    def score(self) -> np.ndarray:
        """Mean over algorithms of the mean probability: the ranking score."""
        return np.mean([p for p in self.prob_mean.values()], axis=0)


@dataclass
class Surrogate:
    """Per-split fitted models of each ensemble algorithm, and their ``ModelDoc``."""

    models: dict[str, list[Any]]
    doc: ModelDoc
    calibrator: Any = None
    """:class:`~superionic.ml.calibration.Calibrator` of ``prob_mean`` (None: uncalibrated)."""
    domain: Any = None
    """:class:`~superionic.ml.calibration.DomainModel` of the training rows (None: no domain)."""

    @property
    def feature_names(self) -> list[str]:
        return list(self.doc.feature_names)

    @property
    def descriptors(self) -> str:
        """Descriptor set the models take (:mod:`superionic.features.descriptors`)."""
        return self.doc.descriptors

    @property
    def n_splits(self) -> int:
        return self.doc.n_splits

    @classmethod
    def from_study(
        cls,
        study,
        data,
        model_dir: Path | str | None = None,
        algorithms: tuple[str, ...] = ENSEMBLE_ALGORITHMS,
    ) -> Surrogate:
        """Collect the study's per-split random-protocol models of ``algorithms``.

        ``study`` is a :class:`~superionic.ml.study.StudyResult` run on ``data`` (a
        :class:`~superionic.ml.dataset.LabelledMatrix`) with those algorithms kept.
        """
        if list(study.feature_names) != data.feature_names:
            raise ModelMismatchError("The study was run on other descriptors than the given data.")
        models = {a: study.models(a, "random") for a in algorithms}
        seeds = [r.seed for r in study.select("random", algorithms[0])]
        counts = {a: len(m) for a, m in models.items()}
        if len(set(counts.values())) != 1:
            raise ValueError(f"Ensemble algorithms have different numbers of split models: {counts}.")
        data_hash = data.data_hash()
        config = study.config
        tag = hashlib.sha256(
            json.dumps([algorithms, seeds, config.n_iter, config.inner_folds, config.scoring]).encode()
        ).hexdigest()[:6]
        model_id = f"{'-'.join(algorithms)}-{len(seeds)}x-{data_hash[:10]}-{tag}"
        summary = study.summary()
        accuracy = {
            a: float(summary.loc[(summary.protocol == "random") & (summary.algorithm == a), "acc_mean"].iloc[0])
            for a in algorithms
        }
        doc = ModelDoc(
            model_id=model_id,
            path=str(Path(model_dir).expanduser() / f"{model_id}{MODEL_SUFFIX}") if model_dir else None,
            algorithms=list(algorithms),
            n_splits=len(seeds),
            split_seeds=seeds,
            hyperparameters={a: [r.best_params for r in study.select("random", a)] for a in algorithms},
            descriptors=data.descriptors,
            feature_names=data.feature_names,
            featurizer_version=data.featurizer_version,
            training_set_hash=data_hash,
            training_sources=list(data.sources),
            n_training_rows=len(data.y),
            library_versions=library_versions(),
            validation_accuracy=accuracy,
        )
        return cls(models=models, doc=doc)

    def calibrate(self, data, n_repeats: int = 3, method: str = "isotonic"):
        """Fit the calibrator on grouped out-of-fold predictions and the domain on ``data``.

        The out-of-fold models are the ensemble's algorithms with the hyper-parameters chosen
        most often over the splits (library defaults without a search); ``method``: one of
        :data:`~superionic.ml.calibration.CALIBRATION_METHODS`. Returns the
        :class:`~superionic.ml.calibration.CalibrationReport`, also stored in ``doc``.
        """
        from superionic.ml.algorithms import ALGORITHMS
        from superionic.ml.calibration import DomainModel, fit_calibration, grouped_out_of_fold

        X, y = data.X.to_numpy(dtype=float), np.asarray(data.y, bool)
        params = {a: _most_common(self.doc.hyperparameters.get(a, [])) for a in self.models}

        def make_models(seed: int):
            return [ALGORITHMS[a].pipeline(seed).set_params(**{f"clf__{k}": v for k, v in params[a].items()})
                    for a in self.models]

        prob, folds = grouped_out_of_fold(X, y, data.clusters(), make_models, n_repeats=n_repeats)
        self.calibrator, report = fit_calibration(prob, folds, y, method)
        self.domain = DomainModel.fit(X)
        self.doc.calibration = report.as_dict()
        self.doc.domain_threshold = self.domain.threshold
        self.doc.domain_rule = self.domain.describe()
        return report

    # --- prediction ------------------------------------------------------------------

    def _matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            if list(map(str, X.columns)) != self.feature_names:
                missing = [c for c in self.feature_names if c not in X.columns]
                raise ModelMismatchError(
                    "Descriptor columns differ from the model's "
                    f"({len(X.columns)} given, {len(self.feature_names)} expected"
                    + (f"; missing e.g. {missing[:3]}" if missing else "; order differs") + ")."
                )
            X = X.to_numpy(dtype=float)
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ModelMismatchError(
                f"Expected {len(self.feature_names)} descriptors per row, got shape {X.shape}."
            )
        return X

    def predict_matrix(self, X: pd.DataFrame | np.ndarray) -> EnsembleOutput:
        """Votes and probabilities of every split model on descriptor rows ``X``."""
        X = self._matrix(X)
        votes, means, stds = {}, {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for algorithm, models in self.models.items():
                calls = np.array([np.asarray(m.predict(X), dtype=bool) for m in models])
                probs = np.array([m.predict_proba(X)[:, 1] for m in models])
                votes[algorithm] = calls.sum(axis=0).astype(int)
                means[algorithm] = probs.mean(axis=0)
                stds[algorithm] = probs.std(axis=0)
        out = EnsembleOutput(self.n_splits, votes, means, stds)
        if self.calibrator is not None:
            out.prob_calibrated = self.calibrator(out.score)
        if self.domain is not None:
            out.domain_distance = self.domain.distance(X)
            out.domain_threshold = self.domain.threshold
        return out

    # --- persistence -----------------------------------------------------------------

    def _payload(self) -> dict:
        return {"format": SURROGATE_FORMAT, "doc": self.doc.model_dump(mode="json"), "models": self.models,
                "calibrator": self.calibrator, "domain": self.domain}

    def save(self, path: Path | str | None = None) -> Path:
        """Write models + metadata (:meth:`to_bytes`) to a file (default: ``doc.path``); returns the path."""
        path = path or self.doc.path
        if not path:
            raise ValueError(f"Surrogate {self.doc.model_id} has no file path; give one to save().")
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.doc.path = str(path)
        path.write_bytes(self.to_bytes())
        return path

    def to_bytes(self) -> bytes:
        """The saved surrogate's content, code-free (what the project's ``data`` store holds)."""
        return model_format.dumps(self._payload())

    @classmethod
    def load(
        cls,
        path: Path | str,
        feature_names: list[str] | None = None,
        featurizer_version: str | None = None,
    ) -> Surrogate:
        """Read a saved surrogate; refuse it if it does not fit the featuriser.

        ``feature_names`` / ``featurizer_version`` default to the running featuriser's of the
        surrogate's descriptor set (:mod:`superionic.features.descriptors`).
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No saved surrogate at {path}; train one with `superionic train`.")
        surrogate = cls.from_bytes(path.read_bytes(), str(path), feature_names, featurizer_version)
        surrogate.doc.path = str(path)
        return surrogate

    @classmethod
    def from_bytes(
        cls,
        content: bytes,
        source: str = "the store",
        feature_names: list[str] | None = None,
        featurizer_version: str | None = None,
    ) -> Surrogate:
        """A surrogate from :meth:`to_bytes` content, checked as :meth:`load` checks a file.

        Bytes of another format (an old pickle) or naming an untrusted type raise
        :class:`UnsafeModelError` without being loaded.
        """
        payload = model_format.loads(content, source)
        return cls._from_payload(payload, source, feature_names, featurizer_version)

    @classmethod
    def _from_payload(cls, payload, source: str, feature_names, featurizer_version) -> Surrogate:
        if not isinstance(payload, dict) or payload.get("format") != SURROGATE_FORMAT:
            raise ModelMismatchError(f"{source} is not a superionic surrogate (format {SURROGATE_FORMAT}); "
                                     f"{model_format.RETRAIN}.")
        doc = ModelDoc.model_validate(payload["doc"])
        if feature_names is None or featurizer_version is None:
            from superionic.features.descriptors import DESCRIPTOR_SETS, feature_labels
            from superionic.features.descriptors import featurizer_version as running_version

            if doc.descriptors not in DESCRIPTOR_SETS:
                raise ModelMismatchError(f"Surrogate {doc.model_id} takes unknown descriptors {doc.descriptors!r}.")
            feature_names = feature_labels(doc.descriptors) if feature_names is None else feature_names
            featurizer_version = running_version(doc.descriptors) if featurizer_version is None else featurizer_version
        if list(doc.feature_names) != list(feature_names):
            raise ModelMismatchError(
                f"Surrogate {doc.model_id} was trained on other descriptors ({len(doc.feature_names)} "
                f"names) than the running featuriser's ({len(feature_names)}); retrain it with "
                "`superionic train`."
            )
        if doc.featurizer_version != featurizer_version:
            raise ModelMismatchError(
                f"Surrogate {doc.model_id} was trained with featuriser {doc.featurizer_version!r}, "
                f"the running one is {featurizer_version!r}; retrain it with `superionic train`."
            )
        current = library_versions()
        changed = {k: (v, current.get(k)) for k, v in doc.library_versions.items()
                   if k in ("scikit-learn", "lightgbm") and current.get(k) != v}
        if changed:
            warnings.warn(f"Surrogate {doc.model_id} was saved with other library versions: {changed}.",
                          stacklevel=3)
        return cls(models=payload["models"], doc=doc, calibrator=payload.get("calibrator"),
                   domain=payload.get("domain"))


def _most_common(params: list[dict]) -> dict:
    """The parameter set chosen on most splits (first on ties); {} without any."""
    if not params:
        return {}
    keys = [json.dumps(p, sort_keys=True, default=str) for p in params]
    best = max(dict.fromkeys(keys), key=keys.count)
    return params[keys.index(best)]


# --- surrogates exported to a folder (``train --model-dir`` / ``--no-store``) -----------------
# The project's surrogates live in the store (superionic.ml.model_store); these files are
# an optional export, read back with ``predict --model-dir`` or ``--model FILE.skops``.

LATEST = "latest.txt"
"""File in an export folder naming the surrogate ``superionic train`` saved there last."""


def is_surrogate_file(model: str) -> bool:
    """Whether ``--model`` names a surrogate file (an existing file, or a surrogate suffix) rather than a model id."""
    return Path(model).expanduser().is_file() or model.endswith((MODEL_SUFFIX, ".joblib"))


def models_dir(override: Path | str | None = None) -> Path:
    """Where trained surrogates live: ``override`` if given, else ``DATA_DIR/models``."""
    if override:
        return Path(override).expanduser()
    from superionic.settings import get_settings

    return Path(get_settings().data_dir).expanduser() / "models"


def mark_latest(directory: Path, path: Path) -> None:
    """Record ``path`` (a surrogate saved in ``directory``) as the latest one."""
    (directory / LATEST).write_text(Path(path).name + "\n")


def latest_surrogate_path(directory: Path) -> Path | None:
    """The surrogate file ``directory/latest.txt`` names (it may be missing); None without the pointer."""
    pointer = directory / LATEST
    return directory / pointer.read_text().strip() if pointer.is_file() else None
