"""The classifier study: split protocols, metrics, and no leakage into validation rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split

from superionic.ml.algorithms import ALGORITHMS, AlgorithmSpec, resolve_algorithms
from superionic.ml.dataset import training_matrix
from superionic.ml.documents import study_documents
from superionic.ml.metrics import METRICS
from superionic.ml.splits import composition_clusters, make_splits
from superionic.ml.study import StudyConfig, count_fits, evaluate_split, run_study


@pytest.fixture(scope="module")
def data():
    return training_matrix()


@pytest.fixture(scope="module")
def small_study(data):
    config = StudyConfig(algorithms=["gnb", "dt"], protocols=("random", "grouped"), n_splits=3,
                         n_iter=2, inner_folds=3)
    return run_study(data.X, data.y, config, families=data.families)


def test_nine_algorithms_build_and_have_search_spaces():
    assert list(ALGORITHMS) == ["gnb", "lr", "dt", "sgd", "knn", "rf", "gb", "lgbm", "xgb"]
    for spec in ALGORITHMS.values():
        pipe = spec.pipeline(seed=1)
        assert pipe.steps[-1][0] == "clf"
        assert spec.search_space and all(k.startswith("clf__") for k in spec.search_space)
        assert ("scale" in pipe.named_steps) == (spec.name in ("lr", "sgd", "knn"))
    assert [s.name for s in resolve_algorithms(["LightGBM", "gb"])] == ["lgbm", "gb"]
    with pytest.raises(ValueError, match="Unknown algorithm 'svm'"):
        resolve_algorithms(["svm"])


def test_training_matrix_is_the_merged_kang_set(data):
    assert data.X.shape == (321, 145)
    assert int(data.y.sum()) == 185
    assert not data.X.isna().all(axis=1).any()


def test_metrics_shapes_and_table(small_study, data):
    summary = small_study.summary()
    assert list(zip(summary.protocol, summary.algorithm)) == [
        ("random", "gnb"), ("random", "dt"), ("grouped", "gnb"), ("grouped", "dt")]
    assert (summary.n_splits == 3).all()
    assert ((summary.acc_min <= summary.acc_mean) & (summary.acc_mean <= summary.acc_max)).all()
    assert len(small_study.results) == count_fits(small_study.config, data.families) == 12
    for r in small_study.results:
        assert set(r.metrics) == set(METRICS)
        matrix = np.asarray(r.confusion)
        assert matrix.shape == (2, 2) and matrix.sum() == len(r.validation_rows)
        assert r.metrics["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
        # true-class rows of the confusion matrix match the validation labels
        assert matrix[1].sum() == int(data.y[r.validation_rows].sum())
        assert set(r.best_params) <= {k.removeprefix("clf__") for k in ALGORITHMS[r.algorithm].search_space}
        assert r.best_params  # a search ran (n_iter=2)
    docs = study_documents(small_study, data)
    assert len(docs) == 4 and len(docs[0].splits) == 3
    assert docs[0].study_id.endswith(":random:gnb")
    assert np.asarray(docs[0].confusion_total).sum() == sum(len(s.validation_rows) for s in small_study.select("random", "gnb"))


def test_random_splits_are_the_seeds_protocol(data):
    splits, groups = make_splits("random", data.y, 3)
    assert groups is None
    rows = np.arange(len(data.y))
    for split in splits:
        train, val = train_test_split(rows, test_size=0.2, stratify=data.y, random_state=split.seed)
        assert set(split.validation) == set(val) and set(split.train) == set(train)
        assert abs(data.y[split.validation].mean() - data.y.mean()) < 0.02


def test_grouped_splits_keep_near_duplicates_together(data):
    groups = composition_clusters(data.X.to_numpy())
    assert 50 < len(np.unique(groups)) < 200
    # doping series land in one group each, different chemistries in different groups
    index = {f: i for i, f in enumerate(data.formulas)}
    nasicon = ["Na1.3Al0.3Ti1.7(PO4)3", "Na1.4Al0.4Ti1.6(PO4)3", "Na1.8Al0.8Ti1.2(PO4)3"]
    garnet = ["Li6.4La3Zr1.4Ta0.6O12", "Li6La3ZrTaO12"]
    assert len({groups[index[f]] for f in nasicon}) == 1
    assert len({groups[index[f]] for f in garnet}) == 1
    assert groups[index[nasicon[0]]] != groups[index[garnet[0]]]
    splits, used = make_splits("grouped", data.y, 7, groups=groups)
    assert len(splits) == 7
    for split in splits:
        assert not set(used[split.train]) & set(used[split.validation])
        assert not set(split.train) & set(split.validation)
        assert len(split.train) + len(split.validation) == len(data.y)


def test_family_protocol_holds_out_one_family(data):
    splits, _ = make_splits("family", data.y, 0, families=data.families)
    assert len(splits) == len(np.unique(data.families))
    for split in splits:
        assert set(data.families[split.validation]) == {split.label}
        assert split.label not in set(data.families[split.train])


# --- leakage ---------------------------------------------------------------------------

FIT_LOG: list[np.ndarray] = []


class RowRecorder(ClassifierMixin, BaseEstimator):
    """A real (if trivial) classifier that logs which rows it was fitted on.

    Column 0 of X holds the row id; every fit appends the ids it saw to ``FIT_LOG``.
    """

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold

    def fit(self, X, y):
        FIT_LOG.append(np.asarray(X)[:, 0].astype(int).copy())
        self.classes_ = np.array([False, True])
        self.rate_ = float(np.mean(y))
        return self

    def predict_proba(self, X):
        p = np.full(len(X), np.clip(self.rate_ + self.threshold - 0.5, 0, 1))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.predict_proba(X)[:, 1] >= 0.5


RECORDER = AlgorithmSpec("recorder", "row recorder", lambda seed: RowRecorder(),
                         {"clf__threshold": [0.1, 0.3, 0.5, 0.7, 0.9]})


@pytest.mark.parametrize("protocol", ["random", "grouped"])
def test_tuning_never_sees_validation_rows(protocol):
    rng = np.random.default_rng(0)
    n = 120
    X = np.column_stack([np.arange(n), rng.normal(size=(n, 4))])
    y = rng.random(n) < 0.5
    groups = np.repeat(np.arange(30), 4)
    splits, _ = make_splits(protocol, y, 2, groups=groups)
    for split in splits:
        FIT_LOG.clear()
        result = evaluate_split(RECORDER, X, y, split, n_iter=3, inner_folds=3,
                                groups=None if protocol == "random" else groups)
        # 3 draws x 3 inner folds + 1 refit
        assert len(FIT_LOG) == 3 * 3 + 1
        validation = set(split.validation)
        for rows in FIT_LOG:
            assert not validation & set(rows.tolist())
        assert set(FIT_LOG[-1].tolist()) == set(split.train)  # the refit
        assert np.array_equal(result.validation_rows, split.validation)


def test_study_rejects_bad_input(data):
    with pytest.raises(ValueError, match="same rows"):
        run_study(data.X, data.y[:-1], StudyConfig(algorithms=["gnb"], n_splits=1, n_iter=0))
    with pytest.raises(ValueError, match="single class"):
        run_study(data.X, np.ones(len(data.y), bool), StudyConfig(algorithms=["gnb"], n_splits=1, n_iter=0))
    with pytest.raises(ValueError, match="Unknown protocol"):
        run_study(data.X, data.y, StudyConfig(algorithms=["gnb"], protocols=("bogus",), n_splits=1))


def test_parallel_study_equals_serial(data):
    config = dict(algorithms=["gnb", "lgbm"], protocols=("random",), n_splits=2, n_iter=1)
    serial = run_study(data.X, data.y, StudyConfig(**config, n_jobs=1))
    parallel = run_study(data.X, data.y, StudyConfig(**config, n_jobs=2))
    for a, b in zip(serial.results, parallel.results):
        assert (a.algorithm, a.split_id) == (b.algorithm, b.split_id)
        assert a.metrics == b.metrics and a.best_params == b.best_params



def test_family_weights_weigh_the_training_rows_of_every_fold():
    from superionic.ml.dataset import family_weights
    from superionic.ml.protocols import evaluate, family_folds

    w = family_weights(["NASICON"] * 4 + ["LGPS"])
    assert w.mean() == pytest.approx(1.0) and w[4] == pytest.approx(2 * w[0])  # 1/sqrt(1) vs 1/sqrt(4)
    data = training_matrix()
    X, y = data.X.to_numpy(float), np.asarray(data.y, bool)
    folds = family_folds(data.families)[:1]

    def held_out_probabilities(weights):
        predictions = []
        evaluate(lambda seed: ALGORITHMS["gb"].pipeline(seed), X, y, folds, predictions=predictions,
                 sample_weight=weights)
        return predictions[0][1]

    plain = held_out_probabilities(None)
    assert np.allclose(plain, held_out_probabilities(np.ones(len(y))))
    assert not np.allclose(plain, held_out_probabilities(family_weights(data.families)))
