"""Documents of the classifier study, the saved surrogate and its predictions.

- ``StudyDoc``  (collection ``models``, key ``study_id``): one algorithm under one
  validation protocol: metrics per split, summary, chosen hyper-parameters, confusion.
- ``ModelDoc``  (collection ``models``, key ``model_id``): metadata of a saved GB + LightGBM
  surrogate (the binary in the ``data`` store, ``blob_uuid``; or a local file, ``path``).
- ``PredictionDoc`` (collection ``predictions``, key ``prediction_id`` = material + model):
  the ensemble's votes and probabilities for one candidate by one model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from superionic.schemas.base import SuperionicDoc


class SplitMetrics(BaseModel):
    """Validation metrics of one algorithm on one train/validation split."""

    model_config = ConfigDict(extra="forbid")

    split_id: int = Field(description="Index of the split within its protocol (0-based).")
    seed: int = Field(
        description="Random seed of the split (random protocol: train_test_split "
        "random_state; grouped: StratifiedGroupKFold repeat); also the model's seed."
    )
    label: str = Field("", description="What the split holds out (e.g. the family), if named.")
    n_train: int = Field(description="Training rows (tuning and refit saw only these).")
    n_validation: int = Field(description="Validation rows scored.")
    accuracy: float = Field(description="Fraction of validation rows classified correctly.")
    precision: float = Field(description="Precision of the superionic class (0 if none predicted).")
    recall: float = Field(description="Recall of the superionic class.")
    f1: float = Field(description="F1 score of the superionic class.")
    roc_auc: float | None = Field(
        description="ROC-AUC of the superionic score; None when the validation rows hold one class."
    )
    confusion: list[list[int]] = Field(
        description="Confusion matrix [[TN, FP], [FN, TP]] (rows: true not superionic, superionic)."
    )
    best_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyper-parameters chosen by the inner search on this split's training rows "
        "(empty: library defaults).",
    )
    inner_score: float | None = Field(
        None, description="Inner-CV score of the chosen parameters (None without a search)."
    )


class StudySummary(BaseModel):
    """The seed's table row of one algorithm and protocol."""

    model_config = ConfigDict(extra="forbid")

    n_splits: int = Field(description="Number of validation splits summarised.")
    acc_mean: float = Field(description="Mean validation accuracy over splits (the seed's ACC).")
    acc_max: float = Field(description="Best split's accuracy (ACC_max).")
    acc_min: float = Field(description="Worst split's accuracy (ACC_min).")
    acc_std: float = Field(description="Population standard deviation of the accuracies (STD).")
    acc_pooled: float = Field(
        description="Accuracy of all validation predictions pooled (row-weighted mean)."
    )
    precision_mean: float = Field(description="Mean precision over splits.")
    recall_mean: float = Field(description="Mean recall over splits.")
    f1_mean: float = Field(description="Mean F1 over splits.")
    roc_auc_mean: float | None = Field(description="Mean ROC-AUC over splits where defined.")


class StudyDoc(SuperionicDoc):
    """One algorithm evaluated under one validation protocol."""

    study_id: str = Field(
        description="Stable key: '<training hash[:12]>:<protocol>:<algorithm>'; a rerun on the "
        "same training set replaces it."
    )
    algorithm: str = Field(description="Algorithm key (gnb, lr, dt, sgd, knn, rf, gb, lgbm, xgb).")
    protocol: str = Field(
        description="'random' (stratified 80/20, seeds 0..N-1, the seed's), 'grouped' "
        "(clusters of near-identical compositions kept together) or 'family' (leave one "
        "structural family out)."
    )
    tuning: str = Field(
        description="How hyper-parameters were chosen, e.g. 'nested: 6 random draws x 3-fold "
        "inner CV on each split's training rows'."
    )
    search_space: dict[str, str] = Field(
        default_factory=dict, description="The search space sampled (parameter -> distribution)."
    )
    training_set_hash: str = Field(description="SHA-256 of formulas, labels and descriptors.")
    featurizer_version: str = Field(description="Version of the Magpie featuriser of the descriptors.")
    n_rows: int = Field(description="Rows in the training set.")
    summary: StudySummary = Field(description="ACC mean/max/min/STD and mean metrics.")
    confusion_total: list[list[int]] = Field(
        description="Confusion matrices summed over splits [[TN, FP], [FN, TP]]."
    )
    splits: list[SplitMetrics] = Field(description="Metrics of every split.")
    wall_seconds: float = Field(description="Wall time of the whole study run that produced it (s).")


class ModelDoc(SuperionicDoc):
    """A saved GB + LightGBM surrogate (per-split models) and how it was made."""

    model_id: str = Field(description="Stable key of the saved surrogate (also its file stem).")
    path: str | None = Field(None, description="A local file of the fitted models (skops), if one was written.")
    blob_uuid: str | None = Field(
        None, description="Key (blob_uuid) of the code-free (skops) binary in the project's data store "
        "(GridFS on MongoDB); None for a surrogate kept only in a file."
    )
    recipe_fingerprint: str | None = Field(
        None, description="Hash of the classifier recipe + training set that produced it (a rerun reuses it)."
    )
    algorithms: list[str] = Field(description="Algorithms of the ensemble (gb, lgbm).")
    n_splits: int = Field(description="Fitted models per algorithm (one per random split).")
    split_seeds: list[int] = Field(description="Seeds of the random splits the models were fitted on.")
    hyperparameters: dict[str, list[dict[str, Any]]] = Field(
        description="Per algorithm, the chosen hyper-parameters of each split's model."
    )
    descriptors: str = Field("magpie", description="Descriptor set the models take: magpie (145) or chemistry (23).")
    feature_names: list[str] = Field(description="The descriptor names, in model input order.")
    featurizer_version: str = Field(description="Featuriser version the models expect.")
    training_set_hash: str = Field(description="SHA-256 of the training set.")
    training_sources: list[str] = Field(description="Training-set sources (e.g. kang2023).")
    n_training_rows: int = Field(description="Rows in the training set.")
    library_versions: dict[str, str] = Field(
        description="Versions of scikit-learn, lightgbm, numpy, ... at training time."
    )
    validation_accuracy: dict[str, float] = Field(
        default_factory=dict, description="Mean random-split validation accuracy per algorithm."
    )
    calibration: dict[str, Any] | None = Field(
        None,
        description="How prob_calibrated is made and how good it is on grouped out-of-fold rows: "
        "protocol, method, ece_raw, ece_calibrated (cross-fitted), ece_if_calibrated (the ECE's spread "
        "for a perfectly calibrated model on the same rows), roc_auc, balanced_accuracy, reliability "
        "bins with 5-95 % consistency ranges (None: saved without a calibrator).",
    )
    domain_threshold: float | None = Field(
        None, description="Largest domain_distance counted as in the applicability domain."
    )
    domain_rule: str | None = Field(None, description="The applicability-domain rule, in words.")
    sanity_panel: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Well-known poor and fast Li conductors through this surrogate: name, formula, "
        "known class, prob_calibrated, verdict, seed_rule, in_domain, domain_distance, in_training.",
    )


class PredictionDoc(SuperionicDoc):
    """The surrogate's verdict on one candidate composition."""

    material_id: str = Field(
        description="The Materials Project id of the candidate, or for a composition "
        "given without one, the formula itself."
    )
    formula: str = Field(description="Composition that was featurised.")
    model_id: str = Field(description="ModelDoc.model_id of the surrogate that voted.")
    prediction_id: str = Field(
        "", description="Key: 'material_id|model_id' (one prediction per material and model, so "
        "retraining keeps the old model's)."
    )
    n_splits: int = Field(description="Models per algorithm, i.e. the maximum number of votes.")
    votes_gb: int | None = Field(
        None, description="Splits whose gradient-boosting model calls it superionic (None: not featurised)."
    )
    votes_lgbm: int | None = Field(
        None, description="Splits whose LightGBM model calls it superionic (None: not featurised)."
    )
    prob_gb_mean: float | None = Field(None, description="Mean GB probability of superionic over splits.")
    prob_gb_std: float | None = Field(None, description="Std of the GB probability over splits.")
    prob_lgbm_mean: float | None = Field(
        None, description="Mean LightGBM probability of superionic over splits."
    )
    prob_lgbm_std: float | None = Field(None, description="Std of the LightGBM probability over splits.")
    prob_mean: float | None = Field(
        None, description="Mean of the two models' mean probabilities: the ranking score."
    )
    seed_verdict: bool | None = Field(
        None,
        description="The seed's rule: superionic in all n_splits of both models (None: not featurised).",
    )
    prob_calibrated: float | None = Field(
        None,
        description="prob_mean calibrated on grouped out-of-fold predictions (isotonic): the "
        "ranking score (None: not featurised, or a surrogate without a calibrator).",
    )
    domain_distance: float | None = Field(
        None, description="Mean distance to the 5 nearest training compositions (standardised Magpie)."
    )
    in_domain: bool | None = Field(
        None, description="domain_distance within the surrogate's domain threshold (False: extrapolation)."
    )
    verdict: str | None = Field(
        None,
        description="The verdict with the rule it applies, e.g. 'likely superionic (calibrated p >= 0.5)' "
        "or '... ; out of domain'.",
    )
    rank: int | None = Field(
        None,
        description="1 = highest prob_calibrated (prob_mean without a calibrator) among the "
        "candidates predicted together (None: not featurised).",
    )
    featurizer_version: str = Field(description="Featuriser version of the descriptors used.")
    skip_reason: str | None = Field(
        None, description="Why the composition could not be classified (None when it was)."
    )

    @model_validator(mode="after")
    def _key(self) -> PredictionDoc:
        self.prediction_id = prediction_key(self.material_id, self.model_id)
        return self


def prediction_key(material_id: str, model_id: str) -> str:
    """The ``prediction_id`` of a material's prediction by a model."""
    return f"{material_id}|{model_id}"
