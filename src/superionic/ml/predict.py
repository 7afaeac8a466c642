"""Classify compositions with a saved surrogate: from formulas, or from the store's survivors.

``predict_formulas`` is the pure step (formulas in, ``PredictionDoc`` s out, one per input,
rows that cannot be featurised kept and marked with the reason). ``predict_screened`` is
the store shell: it runs the features and predictions builders (the one writer of each
collection) with the given surrogate and reports what ``predictions`` then holds: one
``PredictionDoc`` per material and model (another model's predictions are kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from superionic.ml.surrogate import Surrogate
from superionic.ml.verdicts import probability_verdict
from superionic.schemas.ml import PredictionDoc


def _rank(scores: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """1-based rank by score (desc), ties broken by total votes (desc), then input order."""
    order = np.lexsort((np.arange(len(scores)), -votes, -scores))
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def predictions_from_features(
    features: pd.DataFrame,
    failures: dict[int, str],
    formulas: Sequence[Any],
    surrogate: Surrogate,
    material_ids: Sequence[str | None] | None = None,
) -> list[PredictionDoc]:
    """One ``PredictionDoc`` per row of ``features`` (failed rows marked, never dropped)."""
    formulas = ["" if f is None else str(f) for f in formulas]
    n = len(formulas)
    ids = list(material_ids) if material_ids is not None else [None] * n
    failures = dict(failures)
    empty = features.isna().all(axis=1).to_numpy()
    for i in np.flatnonzero(empty):
        failures.setdefault(int(i), "no descriptors")
    ok = np.array([i not in failures for i in range(n)], dtype=bool)
    base = {"model_id": surrogate.doc.model_id, "n_splits": surrogate.n_splits,
            "featurizer_version": surrogate.doc.featurizer_version}
    docs: list[PredictionDoc | None] = [None] * n
    for i in np.flatnonzero(~ok):
        docs[i] = PredictionDoc(material_id=str(ids[i] or formulas[i] or f"row {i}"),
                                formula=formulas[i], skip_reason=failures[int(i)], **base)
    if ok.any():
        out = surrogate.predict_matrix(features.loc[ok])
        gb, lgbm = "gb", "lgbm"
        if set(out.votes) != {gb, lgbm}:
            raise ValueError(f"PredictionDoc holds GB + LightGBM votes; the surrogate has {list(out.votes)}.")
        total_votes = sum(out.votes.values())
        calibrated = out.prob_calibrated
        # rank by the calibrated probability; prob_mean breaks its ties (isotonic steps)
        ranks = _rank(out.score if calibrated is None else calibrated + 1e-6 * out.score, total_votes)
        verdicts = out.seed_verdict
        in_domain = out.in_domain
        for j, i in enumerate(np.flatnonzero(ok)):
            p_cal = None if calibrated is None else float(calibrated[j])
            dom = None if in_domain is None else bool(in_domain[j])
            docs[i] = PredictionDoc(
                material_id=str(ids[i] or formulas[i]),
                formula=formulas[i],
                votes_gb=int(out.votes[gb][j]),
                votes_lgbm=int(out.votes[lgbm][j]),
                prob_gb_mean=float(out.prob_mean[gb][j]),
                prob_gb_std=float(out.prob_std[gb][j]),
                prob_lgbm_mean=float(out.prob_mean[lgbm][j]),
                prob_lgbm_std=float(out.prob_std[lgbm][j]),
                prob_mean=float(out.score[j]),
                seed_verdict=bool(verdicts[j]),
                prob_calibrated=p_cal,
                domain_distance=None if out.domain_distance is None else float(out.domain_distance[j]),
                in_domain=dom,
                verdict=probability_verdict(p_cal, float(out.score[j]), dom),
                rank=int(ranks[j]),
                **base,
            )
    return docs  # type: ignore[return-value]


def predict_formulas(
    formulas: Sequence[Any],
    surrogate: Surrogate,
    material_ids: Sequence[str | None] | None = None,
) -> list[PredictionDoc]:
    """Featurise (the surrogate's descriptor set) and classify formulas; one document per input."""
    from superionic.features.descriptors import featurize

    formulas = list(formulas)
    features, failures = featurize(["" if f is None else f for f in formulas], surrogate.descriptors)
    return predictions_from_features(features, failures, formulas, surrogate, material_ids)


def predictions_frame(docs: Sequence[PredictionDoc]) -> pd.DataFrame:
    """Predictions as a table (CSV output): one row per document, input order."""
    from superionic.ml.verdicts import seed_rule_text

    columns = ["material_id", "formula", "rank", "prob_calibrated", "verdict", "in_domain",
               "domain_distance", "votes_gb", "votes_lgbm", "n_splits", "seed_rule", "seed_verdict",
               "prob_mean", "prob_gb_mean", "prob_gb_std", "prob_lgbm_mean", "prob_lgbm_std",
               "skip_reason", "model_id"]
    rows = [{**d.model_dump(), "seed_rule": seed_rule_text(d.votes_gb, d.votes_lgbm, d.n_splits, d.seed_verdict)}
            for d in docs]
    frame = pd.DataFrame(rows, columns=columns)
    for name in ("votes_gb", "votes_lgbm", "n_splits", "rank"):
        frame[name] = frame[name].astype("Int64")
    frame["seed_verdict"] = frame["seed_verdict"].astype("boolean")
    frame["in_domain"] = frame["in_domain"].astype("boolean")
    return frame


@dataclass
class StorePredictionReport:
    """What one :func:`predict_screened` call did."""

    n_candidates: int = 0
    n_predicted: int = 0
    n_seed_positive: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    """material_id -> reason it could not be classified."""


def predict_screened(stores, surrogate: Surrogate, criteria: dict | None = None) -> StorePredictionReport:
    """Classify every screening survivor with ``surrogate``: the builders write, this reports.

    Runs the features builder (Magpie descriptors of the materials) and the predictions
    builder with ``surrogate`` over ``stores.screening`` documents matching ``criteria``
    (default ``{"passed": True}``), so ``predictions`` and ``features`` have one writer each
    and ``superionic predict`` leaves what ``superionic build`` leaves. The report is read
    back from ``predictions`` (one PredictionDoc per material and model).
    """
    from superionic.builders import run_builders
    from superionic.stores import iter_docs

    criteria = {"passed": True} if criteria is None else criteria
    ids = {str(d.get("material_id")) for d in stores.screening.query(criteria=criteria, properties=["material_id"])}
    report = StorePredictionReport(n_candidates=len(ids))
    if not ids:
        return report
    run_builders(stores, ["features", "predictions"], {"predictions": {"surrogate": surrogate, "query": criteria}},
                 strict=False)
    docs = [d for d in iter_docs(stores.predictions, {"model_id": surrogate.doc.model_id},
                                 ["material_id", "skip_reason", "seed_verdict"]) if str(d["material_id"]) in ids]
    report.n_predicted = sum(d.get("skip_reason") is None for d in docs)
    report.n_seed_positive = sum(bool(d.get("seed_verdict")) for d in docs)
    report.skipped = {d["material_id"]: d["skip_reason"] for d in docs if d.get("skip_reason")}
    return report
