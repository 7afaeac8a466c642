"""Classification step: train (or reuse) the GB + LightGBM surrogate, classify the survivors.

The pure parts (:func:`train_surrogate`, :func:`predict_survivors`) touch no store: the
discovery flow's job and ``superionic train`` return their documents as a classification
output (:func:`classification_output`) and the documents builder writes them. A surrogate's
identity is :func:`recipe_fingerprint` (the classifier recipe and its training set), whoever
trains it; :func:`surrogate_from_job_store` finds one a job returned earlier. The store shell
:func:`ensure_surrogate` (tests, notebooks) finds or trains one the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from superionic.progress import progress_bar
from superionic.recipes import ENSEMBLE, ClassifierRecipe
from superionic.settings import get_settings
from superionic.stores import ProjectStores

CLASSIFICATION_OUTPUT = "classification"
"""``output_kind`` of the discovery flow's classification job output."""


@dataclass
class SurrogateOutcome:
    surrogate: object
    reused: bool
    study_table: object | None = None  # pandas summary when trained now
    studies: list = field(default_factory=list)  # StudyDocs when trained now
    calibration: object | None = None  # the CalibrationReport when trained now
    wall_seconds: float = 0.0  # of the study
    n_jobs: int = 1  # worker processes of the study


def _fingerprint(recipe: ClassifierRecipe, data_hash: str) -> str:
    # default descriptor set and calibration method leave the fingerprint of recipes written before they existed
    exclude = ({"descriptors"} if recipe.descriptors == "magpie" else set()) | (
        {"calibration_method"} if recipe.calibration_method == "isotonic" else set())
    payload = recipe.model_dump_json(exclude=exclude or None) + data_hash
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def recipe_fingerprint(recipe: ClassifierRecipe, merge_duplicates: bool = True):
    """(training data, fingerprint of the recipe and that data): what a stored surrogate must match.

    ``superionic run`` and ``superionic train`` both key their surrogate so: one recipe and one
    training set make one surrogate identity, and either command reuses what the other trained."""
    from superionic.ml.dataset import training_matrix

    data = training_matrix(sources=recipe.training_sources, mobile_ion=recipe.mobile_ion,
                           descriptors=recipe.descriptors, merge_duplicates=merge_duplicates)
    return data, _fingerprint(recipe, data.data_hash())


def train_surrogate(recipe: ClassifierRecipe, data, fingerprint: str | None, show_progress: bool = True,
                    n_grouped_splits: int | None = None, inner_folds: int = 3,
                    n_jobs: int | None = None) -> SurrogateOutcome:
    """Run the recipe's study on ``data``, build, calibrate and sanity-check the surrogate.

    ``n_grouped_splits`` (grouped protocol only) and ``n_jobs`` change the study, not the
    surrogate; ``inner_folds`` other than 3 changes the tuned models: give ``fingerprint`` None
    then (no recipe makes that surrogate)."""
    from superionic.ml.documents import study_documents
    from superionic.ml.sanity import record_panel
    from superionic.ml.study import StudyConfig, count_fits, run_study
    from superionic.ml.surrogate import Surrogate

    config = StudyConfig(
        algorithms=list(recipe.algorithms),
        protocols=tuple(dict.fromkeys(["random", *recipe.protocols])),
        n_splits=recipe.n_splits,
        n_iter=recipe.n_iter,
        n_grouped_splits=n_grouped_splits,
        inner_folds=inner_folds,
        inner_grouped=recipe.inner_cv == "grouped",
        n_jobs=n_jobs or get_settings().n_jobs,
    )
    total = count_fits(config, data.families)
    with progress_bar("Classifier study (algorithm x split)", total, show_progress) as advance:
        study = run_study(data.X, data.y, config, families=data.families, groups=data.clusters(),
                          progress=lambda done, total, result: advance())
    surrogate = Surrogate.from_study(study, data, algorithms=ENSEMBLE)
    calibration = surrogate.calibrate(data, n_repeats=recipe.calibration_repeats, method=recipe.calibration_method)
    record_panel(surrogate, data)
    surrogate.doc.recipe_fingerprint = fingerprint
    return SurrogateOutcome(surrogate, reused=False, study_table=study.summary(),
                            studies=study_documents(study, data), calibration=calibration,
                            wall_seconds=study.wall_seconds, n_jobs=config.n_jobs)


RANKED_FIELDS = ("material_id", "seed_verdict", "prob_mean", "prob_calibrated", "in_domain", "domain_distance", "rank")


def classification_output(surrogate, reused: bool, studies: list = (), predictions: list = ()) -> dict:
    """The classification output the documents builder writes from (``superionic.flows.discovery``).

    ``ranked``: the predictions' small fields (the MD stage chooses from them; the predictions
    builder writes the PredictionDocs); ``surrogate_binary``: the base64 surrogate when trained
    now (None when reused, then ``reused_blob`` names the stored one); ``model`` leaves
    ``blob_uuid`` out (jobflow reads any ``blob_uuid`` as a data reference).
    """
    import base64

    return {
        "output_kind": CLASSIFICATION_OUTPUT,
        "model_id": surrogate.doc.model_id,
        "reused_model": reused,
        "n_predicted": len(predictions),
        "ranked": [{k: getattr(p, k) for k in RANKED_FIELDS} for p in predictions],
        "model": surrogate.doc.model_dump(exclude={"blob_uuid"}),
        "reused_blob": surrogate.doc.blob_uuid if reused else None,
        "study_docs": list(studies),
        "surrogate_binary": None if reused else base64.b64encode(surrogate.to_bytes()).decode("ascii"),
    }


def ensure_surrogate(
    stores: ProjectStores,
    recipe: ClassifierRecipe,
    show_progress: bool = True,
) -> SurrogateOutcome:
    """The surrogate trained with ``recipe`` on its training set: the stored one if there, else trained.

    Found as ``superionic run`` finds it (:func:`surrogate_from_job_store`, by the recipe
    fingerprint); a trained one is handed to the documents builder as ``superionic train``
    hands it (:func:`hand_to_documents_builder`), so a rerun with the same recipe reuses it (on
    any machine pointed at the same store) and a changed recipe or data retrains.
    """
    data, fingerprint = recipe_fingerprint(recipe)
    surrogate = surrogate_from_job_store(stores.job_store(), fingerprint)
    if surrogate is not None:
        return SurrogateOutcome(surrogate, reused=True)
    outcome = train_surrogate(recipe, data, fingerprint, show_progress)
    hand_to_documents_builder(stores, classification_output(outcome.surrogate, False, outcome.studies))
    return outcome


def hand_to_documents_builder(stores: ProjectStores, output: dict, name: str = "superionic train") -> None:
    """Keep a classification ``output`` made outside a flow as a job output in the stores' JobStore
    (``record_classification``) and run the documents builder, the one writer of ``models``."""
    from superionic.builders import run_builders
    from superionic.flows.discovery import record_classification

    record = record_classification(output)
    record.name = name
    record.run(store=stores.job_store())
    run_builders(stores, ["documents"])


def surrogate_from_job_store(job_store, fingerprint: str):
    """The newest surrogate a classification job returned into ``job_store`` for ``fingerprint``.

    Its binary is the job output's ``surrogate_binary`` (in the JobStore's ``data`` store);
    a job that reused a surrogate names that binary in ``reused_blob``. None when
    there is none (or it was made with another featuriser).
    """
    import base64

    from superionic.ml.surrogate import ModelMismatchError, Surrogate

    criteria = {"output.output_kind": CLASSIFICATION_OUTPUT, "output.model.recipe_fingerprint": fingerprint}
    docs = job_store.query(criteria, properties=["uuid", "index", "completed_at", "output.model",
                                                 "output.surrogate_binary", "output.reused_blob"])
    data_store = job_store.additional_stores["data"]
    for doc in sorted(docs, key=lambda d: str(d.get("completed_at") or ""), reverse=True):
        out = doc["output"]
        ref = out.get("surrogate_binary")
        blob_uuid = ref.get("blob_uuid") if isinstance(ref, dict) else out.get("reused_blob")
        blob = data_store.query_one({"blob_uuid": blob_uuid}) if blob_uuid else None
        if not blob or not blob.get("data"):
            continue
        try:
            surrogate = Surrogate.from_bytes(base64.b64decode(blob["data"]), f"model {out['model'].get('model_id')}")
        except ModelMismatchError:
            return None
        surrogate.doc.blob_uuid = blob_uuid
        surrogate.doc.recipe_fingerprint = fingerprint
        return surrogate
    return None


def predict_survivors(survivors: list, surrogate) -> tuple[list, list]:
    """PredictionDocs of the screening survivors (ranked best first) and their FeatureDocs.

    ``survivors``: ScreeningDocs (or their dicts). Descriptors are computed here (in a
    private in-memory cache, the same code as the project's ``features`` store); a surrogate
    on another descriptor set gets its own, computed here (its Magpie part, if any, is the
    cache's, not computed twice).
    """
    from maggma.stores import MemoryStore

    from superionic.features.descriptors import featurize
    from superionic.features.store import load_features
    from superionic.ml.predict import predictions_from_features
    from superionic.schemas.features import FeatureDoc

    rows = [s if isinstance(s, dict) else s.model_dump() for s in survivors]
    if not rows:
        return [], []
    ids = [str(r.get("material_id") or "") for r in rows]
    formulas = [str(r.get("formula") or "") for r in rows]
    cache = MemoryStore(collection_name="features", key="formula")
    cache.connect()
    features, failures = load_features(formulas, cache, material_ids=ids)
    if surrogate.descriptors != "magpie":  # its Magpie part (if any) is the one just computed
        features, failures = featurize(formulas, surrogate.descriptors, magpie=(features, failures))
    docs = predictions_from_features(features, failures, formulas, surrogate, ids)
    feature_docs = [FeatureDoc(**{k: v for k, v in d.items() if k != "_id"}) for d in cache.query()]
    cache.close()
    return sorted(docs, key=lambda d: (d.rank is None, d.rank or 0)), feature_docs
