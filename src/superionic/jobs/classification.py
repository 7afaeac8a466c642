"""Classification step: train (or reuse) the GB + LightGBM surrogate, classify the survivors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from superionic.progress import progress_bar
from superionic.recipes import ENSEMBLE, ClassifierRecipe
from superionic.settings import get_settings
from superionic.stores import ProjectStores


@dataclass
class SurrogateOutcome:
    surrogate: object
    reused: bool
    study_table: object | None = None  # pandas summary when trained now


def _fingerprint(recipe: ClassifierRecipe, data_hash: str) -> str:
    payload = recipe.model_dump_json() + data_hash
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ensure_surrogate(
    stores: ProjectStores,
    recipe: ClassifierRecipe,
    show_progress: bool = True,
) -> SurrogateOutcome:
    """The surrogate trained with ``recipe`` on its training set: from the store if there, else trained.

    A trained surrogate goes to the project store (binary in ``data``, ModelDoc in ``models``)
    with a fingerprint of the recipe and the training set, so a rerun with the same recipe
    reuses it (on any machine pointed at the same store) and a changed recipe or data retrains.
    """
    from superionic.ml.dataset import training_matrix
    from superionic.ml.documents import study_documents
    from superionic.ml.model_store import ModelNotFoundError, load_surrogate, save_surrogate
    from superionic.ml.sanity import record_panel
    from superionic.ml.study import StudyConfig, count_fits, run_study
    from superionic.ml.surrogate import ModelMismatchError, Surrogate

    data = training_matrix(sources=recipe.training_sources, mobile_ion=recipe.mobile_ion)
    fingerprint = _fingerprint(recipe, data.data_hash())
    try:
        surrogate = load_surrogate(stores, criteria={"recipe_fingerprint": fingerprint})
        return SurrogateOutcome(surrogate, reused=True)
    except (ModelNotFoundError, ModelMismatchError):
        pass  # none stored, or one of another featuriser: train below
    config = StudyConfig(
        algorithms=list(recipe.algorithms),
        protocols=tuple(dict.fromkeys(["random", *recipe.protocols])),
        n_splits=recipe.n_splits,
        n_iter=recipe.n_iter,
        inner_grouped=recipe.inner_cv == "grouped",
        n_jobs=get_settings().n_jobs,
    )
    total = count_fits(config, data.families)
    with progress_bar("Classifier study (algorithm x split)", total, show_progress) as advance:
        study = run_study(data.X, data.y, config, families=data.families,
                          progress=lambda done, total, result: advance())
    surrogate = Surrogate.from_study(study, data, algorithms=ENSEMBLE)
    surrogate.calibrate(data, n_repeats=recipe.calibration_repeats)
    record_panel(surrogate, data)
    stores.models.update([d.to_store() for d in study_documents(study, data)], key="study_id")
    save_surrogate(stores, surrogate, recipe_fingerprint=fingerprint)
    return SurrogateOutcome(surrogate, reused=False, study_table=study.summary())


def classify_survivors(stores: ProjectStores, surrogate) -> list[dict]:
    """Predict every screening survivor; the PredictionDocs ranked best first (as dicts)."""
    from superionic.ml.predict import predict_screened

    predict_screened(stores, surrogate)
    docs = [d for d in stores.predictions.query({"model_id": surrogate.doc.model_id})]
    for d in docs:
        d.pop("_id", None)
    return sorted(docs, key=lambda d: (d.get("rank") is None, d.get("rank") or 0))
