"""The nine classifiers of the study, each an sklearn ``Pipeline`` with a search space.

Every pipeline starts with a median imputer (a descriptor that matminer leaves NaN must not
crash a fit) and, where the algorithm is sensitive to feature scale (logistic regression,
SGD, KNN), a ``StandardScaler``. Tree ensembles and Gaussian NB are scale-invariant and get
no scaler. Search spaces name the final step ``clf``; they are sampled by
``RandomizedSearchCV`` in :mod:`superionic.ml.study`, so they mix lists (categorical) and
``scipy.stats`` distributions (continuous). Boosters and forests run single-threaded
(``n_jobs=1``): the study parallelises over splits instead, which scales better on the
small training sets (~260 rows) of this problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import loguniform, randint, uniform
from sklearn.base import ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier


@dataclass(frozen=True)
class AlgorithmSpec:
    """One classifier of the study: how to build it and where to search its parameters."""

    name: str
    """Short key used on the command line and in documents (e.g. ``gb``)."""
    label: str
    """Human name for tables."""
    make_classifier: Callable[[int], ClassifierMixin]
    """Builds the unfitted classifier for a random seed."""
    search_space: dict[str, Any] = field(default_factory=dict)
    """``RandomizedSearchCV`` distributions, keys prefixed ``clf__``."""
    scale: bool = False
    """Whether a ``StandardScaler`` precedes the classifier."""

    def pipeline(self, seed: int = 0) -> Pipeline:
        """A fresh, unfitted pipeline (imputer [+ scaler] + classifier)."""
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
        if self.scale:
            steps.append(("scale", StandardScaler()))
        steps.append(("clf", self.make_classifier(seed)))
        return Pipeline(steps)


def _lightgbm(seed: int):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1)


def _xgboost(seed: int):
    from xgboost import XGBClassifier

    return XGBClassifier(random_state=seed, n_jobs=1, tree_method="hist", verbosity=0)


_SPECS = [
    AlgorithmSpec(
        "gnb",
        "Gaussian NB",
        lambda seed: GaussianNB(),
        {"clf__var_smoothing": loguniform(1e-12, 1e-1)},
    ),
    AlgorithmSpec(
        "lr",
        "Logistic regression",
        lambda seed: LogisticRegression(solver="liblinear", max_iter=2000, random_state=seed),
        {
            "clf__C": loguniform(1e-3, 1e1),
            "clf__penalty": ["l1", "l2"],
            "clf__class_weight": [None, "balanced"],
        },
        scale=True,
    ),
    AlgorithmSpec(
        "dt",
        "Decision tree",
        lambda seed: DecisionTreeClassifier(random_state=seed),
        {
            "clf__max_depth": [None, 3, 4, 5, 6, 8, 10, 12],
            "clf__min_samples_leaf": randint(1, 10),
            "clf__criterion": ["gini", "entropy"],
        },
    ),
    AlgorithmSpec(
        "sgd",
        "SGD classifier",
        lambda seed: SGDClassifier(max_iter=3000, tol=1e-4, random_state=seed),
        {
            "clf__loss": ["log_loss", "modified_huber", "hinge"],
            "clf__alpha": loguniform(1e-5, 1e-1),
            "clf__penalty": ["l2", "l1", "elasticnet"],
        },
        scale=True,
    ),
    AlgorithmSpec(
        "knn",
        "k-nearest neighbours",
        lambda seed: KNeighborsClassifier(),
        {
            "clf__n_neighbors": randint(1, 21),
            "clf__weights": ["uniform", "distance"],
            "clf__p": [1, 2],
        },
        scale=True,
    ),
    AlgorithmSpec(
        "rf",
        "Random forest",
        lambda seed: RandomForestClassifier(random_state=seed, n_jobs=1),
        {
            "clf__n_estimators": [100, 200],
            "clf__max_depth": [None, 6, 10, 20],
            "clf__max_features": ["sqrt", "log2", 0.15],
            "clf__min_samples_leaf": [1, 2, 4],
        },
    ),
    AlgorithmSpec(
        "gb",
        "Gradient boosting",
        lambda seed: GradientBoostingClassifier(random_state=seed),
        {
            "clf__n_estimators": [50, 100, 200],
            "clf__learning_rate": loguniform(0.02, 0.3),
            "clf__max_depth": [2, 3, 4],
            "clf__subsample": [0.7, 0.85, 1.0],
            "clf__max_features": ["sqrt", 0.3, None],
        },
    ),
    AlgorithmSpec(
        "lgbm",
        "LightGBM",
        _lightgbm,
        {
            "clf__n_estimators": [50, 100, 200, 400],
            "clf__learning_rate": loguniform(0.02, 0.3),
            "clf__num_leaves": [7, 15, 31],
            "clf__min_child_samples": [5, 10, 20],
            "clf__subsample": [0.7, 0.85, 1.0],
            "clf__subsample_freq": [1],
            "clf__colsample_bytree": uniform(0.3, 0.7),
        },
    ),
    AlgorithmSpec(
        "xgb",
        "XGBoost",
        _xgboost,
        {
            "clf__n_estimators": [50, 100, 200, 400],
            "clf__learning_rate": loguniform(0.02, 0.3),
            "clf__max_depth": [2, 3, 4, 6],
            "clf__min_child_weight": [1, 2, 5],
            "clf__subsample": [0.7, 0.85, 1.0],
            "clf__colsample_bytree": uniform(0.3, 0.7),
        },
    ),
]

ALGORITHMS: dict[str, AlgorithmSpec] = {spec.name: spec for spec in _SPECS}
"""The nine classifiers by key, in the seed's table order."""

ALIASES = {
    "naive_bayes": "gnb",
    "gaussiannb": "gnb",
    "logistic": "lr",
    "logisticregression": "lr",
    "decision_tree": "dt",
    "decisiontree": "dt",
    "sgdclassifier": "sgd",
    "kneighbors": "knn",
    "random_forest": "rf",
    "randomforest": "rf",
    "gradient_boosting": "gb",
    "gradientboosting": "gb",
    "lightgbm": "lgbm",
    "xgboost": "xgb",
}

ENSEMBLE_ALGORITHMS = ("gb", "lgbm")
"""The seed's surrogate: gradient boosting + LightGBM."""


def resolve_algorithms(names: Iterable[str | AlgorithmSpec] | None) -> list[AlgorithmSpec]:
    """Specs for the given keys (or aliases); all nine if ``names`` is None or empty.

    ``AlgorithmSpec`` objects pass through, so callers can study their own pipelines.
    """
    if not names:
        return list(ALGORITHMS.values())
    specs: list[AlgorithmSpec] = []
    for item in names:
        if isinstance(item, AlgorithmSpec):
            specs.append(item)
            continue
        key = str(item).strip().lower()
        key = ALIASES.get(key, key)
        if key not in ALGORITHMS:
            raise ValueError(
                f"Unknown algorithm {item!r}. Choose from: {', '.join(ALGORITHMS)} "
                f"(aliases: {', '.join(sorted(ALIASES))})."
            )
        specs.append(ALGORITHMS[key])
    seen: set[str] = set()
    unique = [s for s in specs if not (s.name in seen or seen.add(s.name))]
    return unique
