"""Calibration, applicability domain, protocols, verdict words and the MD candidate choice."""

from __future__ import annotations

import numpy as np
import pytest

from superionic.ml.calibration import (
    CALIBRATION_METHODS,
    Calibrator,
    DomainModel,
    calibration_method,
    ece_if_calibrated,
    ece_noise_text,
    expected_calibration_error,
    fit_calibration,
    reliability_bins,
)
from superionic.ml.protocols import external_folds, family_folds
from superionic.ml.verdicts import probability_verdict, seed_rule_text
from superionic.recipes import CandidateRecipe


def test_ece_is_small_for_calibrated_and_large_for_overconfident_scores():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = rng.uniform(size=p.size) < p
    assert expected_calibration_error(p, y) < 0.02
    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert expected_calibration_error(overconfident, y) > 0.2
    bins = reliability_bins(p, y)
    assert sum(b["n"] for b in bins) == p.size and len(bins) == 10
    assert all(b["low"] <= b["mean_probability"] <= b["high"] for b in bins)


def test_ece_noise_of_a_calibrated_model_on_few_rows_is_not_zero_and_tells_miscalibration_apart():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=500)
    noise = ece_if_calibrated(p, n_draws=400)
    # 500 rows, 10 bins: a perfectly calibrated model still shows ECE of a few hundredths
    assert 0.02 < np.median(noise) < 0.06
    calibrated_y = rng.uniform(size=p.size) < p
    shifted_y = rng.uniform(size=p.size) < np.clip(p + 0.15, 0, 1)  # every bin 0.15 too low
    assert np.mean(noise >= expected_calibration_error(p, calibrated_y)) > 0.05
    assert np.mean(noise >= expected_calibration_error(p, shifted_y)) == 0.0
    bins = reliability_bins(p, calibrated_y)
    assert all(b["consistency_low"] <= b["mean_probability"] <= b["consistency_high"] for b in bins)
    assert sum(b["consistency_low"] <= b["observed_fraction"] <= b["consistency_high"] for b in bins) >= 8


def test_calibration_report_states_its_method_and_noise():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=400)
    y = rng.uniform(size=p.size) < p
    folds = np.arange(p.size) % 5
    _, report = fit_calibration(np.vstack([p, p]), np.vstack([folds, folds]), y, "sigmoid")
    cal = report.as_dict()
    assert calibration_method(cal) == "sigmoid"
    assert 0 < cal["ece_if_calibrated"]["median"] < cal["ece_if_calibrated"]["q95"]
    assert "perfectly calibrated model would show" in ece_noise_text(cal)
    old = {k: v for k, v in cal.items() if k not in ("method", "ece_if_calibrated")}  # saved before
    assert calibration_method(old) == "sigmoid" and ece_noise_text(old) == ""


def test_isotonic_calibration_fixes_a_distorted_score_cross_fitted():
    rng = np.random.default_rng(1)
    n = 3000
    true_p = rng.uniform(size=n)
    y = rng.uniform(size=n) < true_p
    distorted = true_p**3  # monotone, badly calibrated
    prob = np.vstack([distorted, distorted])
    folds = np.vstack([np.arange(n) % 5, np.arange(n) % 5])
    calibrator, report = fit_calibration(prob, folds, y)
    assert report.ece_raw > 0.15 and report.ece_calibrated < 0.05
    out = calibrator(np.linspace(0, 1, 50))
    assert np.all(np.diff(out) >= 0) and out.min() >= 0 and out.max() <= 1
    assert isinstance(calibrator, Calibrator) and report.n_rows == n


def test_domain_flags_far_rows_and_keeps_the_training_cloud():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 6))
    X[:, 5] = 1.0  # constant column: dropped, not a division by zero
    domain = DomainModel.fit(X)
    own = domain.distance(X)  # includes the row itself: below the leave-one-out distances
    assert np.mean(own <= domain.threshold) > 0.95
    far = np.array([[8.0, 8.0, -8.0, 8.0, 8.0, 1.0]])
    assert domain.distance(far)[0] > domain.threshold
    with_nan = np.array([[0.0, np.nan, 0.0, 0.0, 0.0, 1.0]])
    assert np.isfinite(domain.distance(with_nan)).all()
    with pytest.raises(ValueError, match="more than 5"):
        DomainModel.fit(X[:5])


def test_external_folds_test_only_unseen_compositions_of_the_other_source():
    sources = ["kang2023", "kang2023+obelix", "obelix", "obelix", "obelix", "kang2023", "xu2020"]
    clusters = np.array([0, 1, 2, 0, 3, 4, 5])
    folds = {f.name: f for f in external_folds(sources, clusters)}
    k2o = folds["kang2023 -> obelix"]
    assert list(k2o.train) == [0, 1, 5]
    assert list(k2o.test) == [2, 4]  # row 3 shares cluster 0 with a kang row; row 1 is in both
    o2k = folds["obelix -> kang2023"]
    assert list(o2k.train) == [1, 2, 3, 4] and list(o2k.test) == [5]  # row 0 shares cluster 0
    lofo = family_folds(["A"] * 20 + ["B"] * 3 + ["C"] * 15)
    assert [f.name for f in lofo] == ["A", "C"] and all(22 not in f.test for f in lofo)


def test_final_model_ranks_by_raw_score_and_family_table_explains_lofo():
    from sklearn.metrics import roc_auc_score

    from superionic.ml.dataset import training_matrix
    from superionic.ml.protocols import FinalModel, evaluate, family_table

    data = training_matrix(("kang2023",), mobile_ion="Li")
    X, y = data.X.to_numpy(float), np.asarray(data.y, bool)
    folds = [f for f in family_folds(data.families) if f.name in ("Argyrodite", "Garnet")]
    predictions = []
    table = evaluate(lambda seed: FinalModel(seed, n_repeats=1), X, y, folds, groups=data.clusters(),
                     predictions=predictions).set_index("protocol")
    (arg, p_arg, rank_arg), (gar, p_gar, rank_gar) = predictions
    # calibrated probabilities tie on isotonic steps; the AUC is that of the raw score's order
    assert len(np.unique(p_gar)) < len(np.unique(rank_gar))
    assert np.all(np.diff(p_gar[np.argsort(rank_gar)]) >= 0)  # calibration never reverses the order
    pooled_y = np.r_[y[arg.test], y[gar.test]]
    assert table.loc["lofo", "roc_auc"] == pytest.approx(roc_auc_score(pooled_y, np.r_[rank_arg, rank_gar]))
    families = family_table(predictions, y).set_index("family")
    assert list(families.index) == ["Argyrodite", "Garnet"]
    assert families.loc["Garnet", "rows"] == len(gar.test)
    assert families.loc["Argyrodite", "superionic"] == pytest.approx(y[arg.test].mean())
    assert families.loc["Garnet", "mean_p"] == pytest.approx(p_gar.mean())


def test_verdicts_name_their_rule():
    assert probability_verdict(0.86, 0.9, True) == "likely superionic (calibrated p >= 0.5)"
    low = probability_verdict(0.2, 0.3, False)
    assert low.startswith("unlikely superionic (calibrated p < 0.5)") and "out of domain" in low
    assert "uncalibrated" in probability_verdict(None, 0.7, None)
    assert probability_verdict(None, None) is None
    text = seed_rule_text(19, 20, 20, False)
    assert text == "seed rule: 19/20 + 20/20 votes, needs all: not superionic"
    assert seed_rule_text(None, 20, 20, None) is None


def test_select_candidates_prefers_in_domain_and_says_why(memory_stores):
    from superionic.jobs.md_stage import select_candidates

    memory_stores.materials.update(
        [{"material_id": f"mp-{i}", "structure": {"fake": i}} for i in range(1, 5)], key="material_id"
    )
    ranked = [
        {"material_id": "mp-1", "prob_calibrated": 0.95, "prob_mean": 0.9, "in_domain": False,
         "domain_distance": 12.0, "rank": 1, "seed_verdict": True},
        {"material_id": "mp-9", "prob_calibrated": 0.9, "prob_mean": 0.9, "in_domain": True,
         "domain_distance": 2.0, "rank": 2, "seed_verdict": True},  # no structure
        {"material_id": "mp-2", "prob_calibrated": 0.8, "prob_mean": 0.7, "in_domain": True,
         "domain_distance": 3.0, "rank": 3, "seed_verdict": False},
        {"material_id": "mp-3", "prob_calibrated": 0.3, "prob_mean": 0.7, "in_domain": True,
         "domain_distance": 1.0, "rank": 4, "seed_verdict": False},
    ]
    reasons: dict[str, str] = {}
    recipe = CandidateRecipe(top_n=2, rule="probability", min_probability=0.5)
    chosen, passed = select_candidates(memory_stores, ranked, recipe, reasons)
    # mp-3 is below the calibrated threshold although its mean probability is 0.7
    assert chosen == ["mp-2", "mp-1"]
    assert "out of domain" in reasons["mp-1"] and "only 1 eligible in-domain" in reasons["mp-1"]
    assert reasons["mp-2"].startswith("rank 3, p = 0.80 >= 0.5, in domain")
    assert "no structure" in passed["mp-9"]
    chosen, passed = select_candidates(memory_stores, ranked, CandidateRecipe(top_n=1, rule="probability"))
    assert chosen == ["mp-2"] and "in-domain candidates preferred" in passed["mp-1"]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from superionic.ml.dataset import training_matrix
    from superionic.ml.study import StudyConfig, run_study
    from superionic.ml.surrogate import Surrogate

    data = training_matrix(("kang2023", "obelix"), mobile_ion="Li")
    study = run_study(data.X, data.y, StudyConfig(algorithms=["gb", "lgbm"], n_splits=2, n_iter=0))
    model = Surrogate.from_study(study, data, tmp_path_factory.mktemp("models"))
    report = model.calibrate(data, n_repeats=1)
    model.save()
    return model, report, data


def test_calibrated_surrogate_predicts_probability_domain_and_verdict(calibrated):
    from superionic.ml.predict import predict_formulas, predictions_frame
    from superionic.ml.surrogate import Surrogate

    model, report, data = calibrated
    assert 0 <= report.ece_calibrated < 0.2 and report.roc_auc > 0.7 and report.n_rows == len(data.y)
    assert model.doc.calibration["ece_calibrated"] == report.ece_calibrated
    assert model.doc.domain_threshold == model.domain.threshold > 0
    docs = predict_formulas(["Li10GeP2S12", "LiF", "Xx2"], model)
    lgps, lif, bad = docs
    assert 0 <= lif.prob_calibrated <= 1 and lgps.prob_calibrated > lif.prob_calibrated
    assert lgps.in_domain is True and lgps.domain_distance < model.domain.threshold
    assert lif.domain_distance > lgps.domain_distance
    assert lgps.verdict.startswith("likely superionic (calibrated p >= 0.5)") and lgps.rank == 1
    assert bad.skip_reason and bad.prob_calibrated is None and bad.verdict is None
    frame = predictions_frame(docs)
    for column in ("prob_calibrated", "verdict", "in_domain", "domain_distance", "seed_rule", "votes_gb"):
        assert column in frame.columns
    assert frame.seed_rule[0].startswith("seed rule: ") and frame.seed_rule[0].endswith("needs all: superionic") \
        or frame.seed_rule[0].endswith("not superionic")
    again = Surrogate.load(model.doc.path)
    assert predict_formulas(["LiF"], again)[0].prob_calibrated == pytest.approx(lif.prob_calibrated)


def test_sanity_panel_marks_training_compounds(calibrated):
    from superionic.ml.sanity import FAST, POOR, panel_checks, sanity_panel

    model, _, data = calibrated
    panel = sanity_panel(model, data.provenance["composition_key"])
    assert len(panel) == len(POOR) + len(FAST)
    assert set(panel.known) == {"poor", "fast"}
    # LGPS and Li3PO4 are in the Kang 2023 / OBELiX rows; LiF is in neither
    by_name = panel.set_index("name")
    assert by_name.loc["LGPS", "in_training"] and by_name.loc["Li3PO4", "in_training"]
    assert not by_name.loc["LiF", "in_training"]
    checks = panel_checks(panel)
    assert checks["lowest_fast"] == panel[panel.known == "fast"].prob_calibrated.min()


def test_results_row_names_the_rule_and_keeps_the_seed_rule_apart():
    from superionic.results import filter_rows, join_row

    prediction = {"votes_gb": 19, "votes_lgbm": 20, "n_splits": 20, "prob_mean": 0.86, "seed_verdict": False,
                  "prob_calibrated": 0.81, "in_domain": False, "domain_distance": 11.2}
    row = join_row("mp-1", {"formula": "LiX"}, prediction, {})
    assert row["probability"] == 0.81 and row["prob_mean"] == 0.86
    assert row["ml_verdict"] == "likely superionic (calibrated p >= 0.5); out of domain: extrapolation"
    assert row["seed_rule"] == "seed rule: 19/20 + 20/20 votes, needs all: not superionic"
    assert row["in_domain"] is False and row["domain_distance"] == 11.2
    assert filter_rows([row], verdict="superionic") == [row]
    assert filter_rows([row], verdict="not superionic") == []
    old = join_row("mp-2", {}, {"votes_gb": 1, "votes_lgbm": 0, "n_splits": 2, "prob_mean": 0.3,
                                "seed_verdict": False}, {})
    assert old["probability"] == 0.3 and old["ml_verdict"] == "unlikely superionic (uncalibrated mean p < 0.5)"


def test_surrogate_on_chemistry_descriptors_trains_saves_and_predicts(tmp_path):
    from superionic.features.descriptors import feature_labels
    from superionic.ml.dataset import training_matrix
    from superionic.ml.predict import predict_formulas, predict_screened
    from superionic.ml.study import StudyConfig, run_study
    from superionic.ml.surrogate import ModelMismatchError, Surrogate
    from superionic.stores import open_stores

    data = training_matrix(("kang2023", "obelix"), mobile_ion="Li", descriptors="chemistry")
    magpie = training_matrix(("kang2023", "obelix"), mobile_ion="Li")
    assert data.feature_names == feature_labels("chemistry") and data.formulas == magpie.formulas
    assert np.array_equal(data.clusters(), magpie.clusters())  # the same grouped splits either way
    study = run_study(data.X, data.y, StudyConfig(algorithms=["gb", "lgbm"], n_splits=2, n_iter=0),
                      groups=data.clusters())
    model = Surrogate.from_study(study, data, tmp_path)
    report = model.calibrate(data, n_repeats=1)
    assert report.roc_auc > 0.7 and model.descriptors == model.doc.descriptors == "chemistry"
    lgps, lif = predict_formulas(["Li10GeP2S12", "LiF"], model)
    assert lgps.prob_calibrated > lif.prob_calibrated and lgps.skip_reason is None
    again = Surrogate.load(model.save())
    assert again.descriptors == "chemistry"
    assert predict_formulas(["LiF"], again)[0].prob_calibrated == pytest.approx(lif.prob_calibrated)
    with pytest.raises(ModelMismatchError, match="featuriser"):  # checked against the chemistry version
        Surrogate.load(model.doc.path, featurizer_version="chemistry23-v0")
    stores = open_stores("memory://ml_chemistry_test")
    stores.screening.update([{"material_id": "mp-1", "formula": "Li10GeP2S12", "passed": True}], key="material_id")
    assert predict_screened(stores, model).n_predicted == 1
    assert stores.predictions.query_one()["prob_calibrated"] == pytest.approx(lgps.prob_calibrated)
    from superionic.jobs.classification import predict_survivors  # the discovery flow's path

    docs, feature_docs = predict_survivors([{"material_id": "mp-1", "formula": "Li10GeP2S12"}], model)
    assert docs[0].prob_calibrated == pytest.approx(lgps.prob_calibrated) and len(feature_docs) == 1


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_every_calibration_method_is_monotone_bounded_and_fixes_a_distorted_score(method):
    rng = np.random.default_rng(3)
    n = 3000
    true_p = rng.uniform(size=n)
    y = rng.uniform(size=n) < true_p
    distorted = 1 / (1 + np.exp(-2.5 * np.log(true_p / (1 - true_p))))  # overconfident, logit-linear
    prob = np.vstack([distorted, np.clip(distorted + rng.normal(0, 0.02, n), 0, 1)])
    folds = np.vstack([np.arange(n) % 5, np.arange(n) % 5])
    calibrator, report = fit_calibration(prob, folds, y, method)
    assert report.ece_raw > 0.08 and report.ece_calibrated < 0.04, report
    assert method in report.protocol and calibrator.method == method
    out = calibrator(np.linspace(0, 1, 201))
    assert np.all(np.diff(out) >= 0) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="Unknown calibration method"):
        Calibrator.fit(prob, y, "beta")


def test_interpolated_and_sigmoid_maps_keep_the_ranking_isotonic_ties_it():
    rng = np.random.default_rng(4)
    n = 600
    true_p = rng.uniform(size=n)
    y = rng.uniform(size=n) < true_p
    prob = np.clip(true_p + rng.normal(0, 0.1, (3, n)), 0, 1)
    inside = np.linspace(0.2, 0.8, 301)  # distinct scores inside the data's range
    ties = {m: 1 - len(np.unique(Calibrator.fit(prob, y, m)(inside))) / len(inside) for m in CALIBRATION_METHODS}
    assert ties["isotonic"] > 0.5  # a step map merges most of them
    assert ties["interpolated-isotonic"] == 0 and ties["sigmoid"] == 0
    assert ties["bagged-isotonic"] < ties["isotonic"]


def test_seed_recipe_keeps_isotonic_and_its_fingerprint():
    from superionic.jobs.classification import _fingerprint
    from superionic.recipes import load_recipe

    seed = load_recipe("flows/seed.yaml").classifier
    assert seed.calibration_method == "isotonic"
    legacy = seed.model_dump_json(exclude={"descriptors", "calibration_method"})
    assert _fingerprint(seed, "h") == __import__("hashlib").sha256((legacy + "h").encode()).hexdigest()[:16]
    assert _fingerprint(seed, "h") != _fingerprint(seed.model_copy(update={"calibration_method": "sigmoid"}), "h")


def test_sigmoid_verdicts_flip_less_between_calibration_seeds_than_isotonic():
    """Each 'seed' is 3 other noisy out-of-fold repeats of the same rows (benchmarks/calibration_stability.py)."""
    import itertools

    rng = np.random.default_rng(0)
    n = 400
    true_p = rng.uniform(0.02, 0.98, size=n)
    y = rng.uniform(size=n) < true_p
    prob = 1 / (1 + np.exp(-(1.5 * np.log(true_p / (1 - true_p)) + rng.normal(0, 0.7, (30, n)))))
    scores = np.linspace(0.02, 0.98, 500)

    def disagreement(method):
        verdicts = [Calibrator.fit(prob[3 * s:3 * s + 3], y, method)(scores) >= 0.5 for s in range(10)]
        return np.mean([np.mean(a != b) for a, b in itertools.combinations(verdicts, 2)])

    assert disagreement("sigmoid") < 0.5 * disagreement("isotonic")


def test_quick_recipe_calibrates_with_platt_scaling():
    from superionic.recipes import load_recipe

    assert load_recipe("flows/quick.yaml").classifier.calibration_method == "sigmoid"


def test_calibrator_pickled_before_the_methods_still_maps():
    import pickle

    rng = np.random.default_rng(5)
    p = rng.uniform(size=200)
    y = rng.uniform(size=200) < p
    cal = Calibrator.fit(p, y)
    old = Calibrator.__new__(Calibrator)
    old.__dict__ = {"isotonic": cal.isotonic}  # what a surrogate saved before 2026-12-04 holds
    old = pickle.loads(pickle.dumps(old))
    assert np.array_equal(old(p), cal(p)) and old.method == "isotonic"
