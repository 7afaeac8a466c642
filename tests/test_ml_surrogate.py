"""The GB + LightGBM surrogate: votes, save/load, refusal of mismatched models, predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from superionic.features.magpie import FEATURIZER_VERSION, MAGPIE_FEATURE_LABELS, featurize_formulas
from superionic.ml.dataset import training_matrix
from superionic.ml.predict import predict_formulas, predict_screened, predictions_frame
from superionic.ml.study import StudyConfig, run_study
from superionic.ml.surrogate import ModelMismatchError, Surrogate
from superionic.schemas.ml import PredictionDoc

N_SPLITS = 3
CANDIDATES = ["Li10GeP2S12", "Li7La3Zr2O12", "Li3PO4", "LiAlS2", "Li3ErCl6", "Na3Zr2Si2PO12"]


@pytest.fixture(scope="module")
def data():
    return training_matrix()


@pytest.fixture(scope="module")
def study(data):
    config = StudyConfig(algorithms=["gb", "lgbm"], protocols=("random",), n_splits=N_SPLITS, n_iter=1,
                         inner_folds=2)
    return run_study(data.X, data.y, config, families=data.families)


@pytest.fixture(scope="module")
def surrogate(study, data, tmp_path_factory):
    model = Surrogate.from_study(study, data, tmp_path_factory.mktemp("models"))
    model.save()
    return model


def test_surrogate_keeps_the_studys_split_models(surrogate, study, data):
    doc = surrogate.doc
    assert doc.n_splits == N_SPLITS and doc.split_seeds == [0, 1, 2]
    assert doc.feature_names == MAGPIE_FEATURE_LABELS and doc.featurizer_version == FEATURIZER_VERSION
    assert doc.training_set_hash == data.data_hash() and doc.n_training_rows == 321
    assert {"scikit-learn", "lightgbm"} <= set(doc.library_versions)
    for algorithm in ("gb", "lgbm"):
        assert surrogate.models[algorithm] == study.models(algorithm)
        assert doc.hyperparameters[algorithm] == [r.best_params for r in study.select("random", algorithm)]
    # each kept model reproduces its split's validation accuracy
    for r in study.select("random", "gb"):
        model = surrogate.models["gb"][r.split_id]
        acc = np.mean(model.predict(data.X.to_numpy()[r.validation_rows]) == data.y[r.validation_rows])
        assert acc == pytest.approx(r.metrics["accuracy"])


def test_votes_are_counted_per_split_model(surrogate):
    X, failures = featurize_formulas(CANDIDATES)
    assert not failures
    out = surrogate.predict_matrix(X)
    for algorithm, models in surrogate.models.items():
        calls = np.array([m.predict(X.to_numpy()) for m in models], dtype=bool)
        assert np.array_equal(out.votes[algorithm], calls.sum(axis=0))
        probs = np.array([m.predict_proba(X.to_numpy())[:, 1] for m in models])
        assert np.allclose(out.prob_mean[algorithm], probs.mean(axis=0))
        assert np.allclose(out.prob_std[algorithm], probs.std(axis=0))
    expected = (out.votes["gb"] == N_SPLITS) & (out.votes["lgbm"] == N_SPLITS)
    assert np.array_equal(out.seed_verdict, expected)
    # LGPS, a training positive, gets every vote; the verdict is not trivially all-True
    assert out.seed_verdict[0] and not out.seed_verdict.all()


def test_save_load_roundtrip_gives_identical_predictions(surrogate):
    loaded = Surrogate.load(surrogate.doc.path)
    assert loaded.doc.model_id == surrogate.doc.model_id
    X, _ = featurize_formulas(CANDIDATES)
    a, b = surrogate.predict_matrix(X), loaded.predict_matrix(X)
    for algorithm in ("gb", "lgbm"):
        assert np.array_equal(a.votes[algorithm], b.votes[algorithm])
        assert np.array_equal(a.prob_mean[algorithm], b.prob_mean[algorithm])
        assert np.array_equal(a.prob_std[algorithm], b.prob_std[algorithm])


def test_mismatched_featuriser_or_features_are_refused(surrogate, tmp_path):
    with pytest.raises(ModelMismatchError, match="featuriser"):
        Surrogate.load(surrogate.doc.path, featurizer_version="magpie145-v0+old")
    with pytest.raises(ModelMismatchError, match="other descriptors"):
        Surrogate.load(surrogate.doc.path, feature_names=MAGPIE_FEATURE_LABELS[::-1])
    # a model saved under another featuriser version is refused by the default load
    stale = Surrogate(models=surrogate.models, doc=surrogate.doc.model_copy(update={"featurizer_version": "x"}))
    path = stale.save(tmp_path / "stale.joblib")
    with pytest.raises(ModelMismatchError, match="retrain"):
        Surrogate.load(path)
    with pytest.raises(FileNotFoundError, match="superionic train"):
        Surrogate.load(tmp_path / "missing.joblib")
    # descriptor columns out of order are refused at prediction time too
    X, _ = featurize_formulas(["Li3PO4"])
    with pytest.raises(ModelMismatchError, match="order differs"):
        surrogate.predict_matrix(X[X.columns[::-1]])


def test_predict_formulas_marks_rows_that_cannot_be_featurised(surrogate):
    formulas = ["Li10GeP2S12", "LiHe", "", "Li3PO4", "Qq2O", None]
    docs = predict_formulas(formulas, surrogate)
    assert len(docs) == len(formulas) and all(isinstance(d, PredictionDoc) for d in docs)
    reasons = {i: d.skip_reason for i, d in enumerate(docs) if d.skip_reason}
    assert set(reasons) == {1, 2, 4, 5}
    assert "He" in reasons[1] and "Magpie" in reasons[1]
    assert docs[1].votes_gb is None and docs[1].seed_verdict is None and docs[1].rank is None
    ok = [docs[0], docs[3]]
    assert sorted(d.rank for d in ok) == [1, 2]
    best = min(ok, key=lambda d: d.rank)
    assert best.prob_mean == max(d.prob_mean for d in ok)
    frame = predictions_frame(docs)
    assert list(frame.formula[:2]) == ["Li10GeP2S12", "LiHe"] and frame.skip_reason.notna().sum() == 4
    assert str(frame.votes_gb.dtype) == "Int64"


def test_predict_screened_writes_prediction_docs(surrogate):
    from superionic.stores import open_stores

    stores = open_stores("memory://ml_predict_test")
    stores.materials.update([{"material_id": f"mp-{i}", "formula": f} for i, f in
                             enumerate(["Li10GeP2S12", "Li3PO4", "LiHe", "Li2O"], start=1)], key="material_id")
    stores.screening.update(
        [
            {"material_id": "mp-1", "formula": "Li10GeP2S12", "passed": True},
            {"material_id": "mp-2", "formula": "Li3PO4", "passed": True},
            {"material_id": "mp-3", "formula": "LiHe", "passed": True},
            {"material_id": "mp-4", "formula": "Li2O", "passed": False},
        ],
        key="material_id",
    )
    for _ in range(2):  # a rerun replaces, never duplicates
        report = predict_screened(stores, surrogate)
    assert (report.n_candidates, report.n_predicted) == (3, 2)
    assert set(report.skipped) == {"mp-3"}
    docs = {d["material_id"]: d for d in stores.predictions.query()}
    assert set(docs) == {"mp-1", "mp-2", "mp-3"} and stores.predictions.count() == 3
    assert docs["mp-1"]["model_id"] == surrogate.doc.model_id
    assert docs["mp-1"]["votes_gb"] == N_SPLITS and docs["mp-1"]["seed_verdict"] is True
    assert docs["mp-3"]["skip_reason"] and docs["mp-3"]["votes_gb"] is None
    # the features builder wrote the descriptors of every material on the way (LiHe has none)
    assert stores.features.count() == 3


def test_training_file_with_bad_rows_is_recorded_not_crashed(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame(
        {
            "formula": ["Li10GeP2S12", "Li3PO4", "LiHe", "Li7La3Zr2O12", "Li6PS5Cl", "LiAlO2"],
            "sigma_rt_S_per_cm": [1.2e-2, 4e-8, 1e-3, float("nan"), 3e-3, "<1E-10"],
            "family": ["LGPS", "other", "other", "Garnet", "Argyrodite", "other"],
        }
    ).to_csv(path, index=False)
    data = training_matrix(sources=[str(path)])
    assert len(data.y) == 4  # NaN conductivity and the He compound are skipped
    assert data.formulas == ["Li10GeP2S12", "Li3PO4", "Li6PS5Cl", "LiAlO2"]
    assert list(data.y) == [True, False, True, False]  # '<1E-10' is a negative, not missing
    reasons = " ".join(data.skipped.values())
    assert "featurisation failed" in reasons and len(data.skipped) == 2
    with pytest.raises(ValueError):
        bad = tmp_path / "bad.csv"
        pd.DataFrame({"formula": ["Li3PO4"]}).to_csv(bad, index=False)
        training_matrix(sources=[str(bad)])
