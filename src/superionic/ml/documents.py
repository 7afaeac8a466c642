"""Turn a study result into ``StudyDoc`` s (one per protocol and algorithm)."""

from __future__ import annotations

import math

from superionic.ml.algorithms import ALGORITHMS
from superionic.ml.metrics import sum_confusions
from superionic.schemas.ml import SplitMetrics, StudyDoc, StudySummary


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def tuning_description(config) -> str:
    """How the study chose hyper-parameters, in words (stored in every StudyDoc)."""
    if config.n_iter <= 0:
        return "none: library defaults, fitted on each split's training rows"
    return (
        f"nested: {config.n_iter} random draws x {config.inner_folds}-fold inner CV "
        f"({config.scoring}) on each split's training rows only; best refitted there"
    )


def study_documents(study, data) -> list[StudyDoc]:
    """One ``StudyDoc`` per (protocol, algorithm) of ``study`` (run on ``data``)."""
    data_hash = data.data_hash()
    summary = study.summary().set_index(["protocol", "algorithm"])
    docs = []
    for protocol, algorithm in study.pairs():
        results = study.select(protocol, algorithm)
        row = summary.loc[(protocol, algorithm)]
        spec = ALGORITHMS.get(algorithm)
        space = {k: repr(v) for k, v in (spec.search_space.items() if spec else [])}
        docs.append(
            StudyDoc(
                study_id=f"{data_hash[:12]}:{protocol}:{algorithm}",
                algorithm=algorithm,
                protocol=protocol,
                tuning=tuning_description(study.config),
                search_space=space,
                training_set_hash=data_hash,
                featurizer_version=data.featurizer_version,
                n_rows=len(data.y),
                summary=StudySummary(
                    n_splits=int(row.n_splits),
                    acc_mean=row.acc_mean,
                    acc_max=row.acc_max,
                    acc_min=row.acc_min,
                    acc_std=row.acc_std,
                    acc_pooled=row.acc_pooled,
                    precision_mean=row.precision_mean,
                    recall_mean=row.recall_mean,
                    f1_mean=row.f1_mean,
                    roc_auc_mean=_finite(row.roc_auc_mean),
                ),
                confusion_total=sum_confusions(r.confusion for r in results),
                splits=[
                    SplitMetrics(
                        split_id=r.split_id,
                        seed=r.seed,
                        label=r.label,
                        n_train=len(r.train_rows),
                        n_validation=len(r.validation_rows),
                        accuracy=r.metrics["accuracy"],
                        precision=r.metrics["precision"],
                        recall=r.metrics["recall"],
                        f1=r.metrics["f1"],
                        roc_auc=_finite(r.metrics["roc_auc"]),
                        confusion=r.confusion,
                        best_params=r.best_params,
                        inner_score=_finite(r.inner_score),
                    )
                    for r in results
                ],
                wall_seconds=study.wall_seconds,
            )
        )
    return docs
