"""``PredictionBuilder``: descriptors of the screening survivors -> ``PredictionDoc`` s.

Sources ``screening`` (survivors: ``passed: True``), ``features`` (FeatureDocs by reduced
formula), ``models`` (ModelDocs) and ``data`` (the surrogate binaries); target
``predictions`` (key ``prediction_id``: one document per material and model, so retraining
keeps the old model's predictions).

The surrogate: ``surrogate`` (one in hand, ``superionic predict``) or ``model_path`` if given,
else ``model_id``'s or the newest ``ModelDoc`` whose binary is in
the ``data`` store (:mod:`superionic.ml.model_store`; no local file needed, so the builder
runs on any machine that reaches the store), else the newest ModelDoc whose ``path`` file
exists. Without any, the builder skips with a message that says how to train one; a
surrogate made for another featuriser version is refused the same way.

A prediction is rebuilt when it is missing, was made by another model, or is older than
its screening document or its FeatureDoc (or its formula changed). A survivor without a
(Magpie) FeatureDoc of the current featuriser gets a ``PredictionDoc`` with ``skip_reason``
(run the features builder); it is rebuilt once the features appear. A surrogate on another
descriptor set takes its Magpie part (if any) from the FeatureDocs and computes the rest.
This builder is the one writer of ``predictions``: ``superionic predict`` runs it.
The ensemble is vectorised, so items are batches of survivors; ``rank`` is recomputed over
every stored prediction of the model at the end (the documents keep their ``last_updated``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, as_utc, query_in
from superionic.schemas.features import FeatureDoc
from superionic.schemas.ml import PredictionDoc, prediction_key

class PredictionBuilder(SuperionicBuilder):
    """GB + LightGBM votes for every screening survivor (see module docstring)."""

    name = "predictions"

    def __init__(
        self,
        screening: Store,
        features: Store,
        models: Store,
        predictions: Store,
        data: Store | None = None,
        model_path: str | None = None,
        model_id: str | None = None,
        query: dict | None = None,
        chunk_size: int = 500,
        surrogate=None,
    ):
        """
        Args:
            screening, features, models, predictions: the project's stores.
            data: the project's data store (surrogate binaries); None: files only.
            model_path: saved surrogate (.skops); default: see the module docstring.
            model_id: use this surrogate of the store instead of the newest.
            query: which screening documents to classify (default ``{"passed": True}``).
            chunk_size: survivors per batch (one vectorised ensemble call per batch).
            surrogate: a loaded surrogate to use (in this process; wins over the others).
        """
        self.screening = screening
        self.features = features
        self.models = models
        self.predictions = predictions
        self.data = data
        self.model_path = model_path
        self.model_id = model_id
        self.query = query
        self.surrogate = surrogate
        self._model_id: str | None = None
        self._surrogate = None
        sources = [screening, features, models] + ([data] if data is not None else [])
        super().__init__(sources=sources, targets=[predictions], chunk_size=chunk_size)

    def get_items(self) -> Iterator[dict]:
        from superionic.features.composition import parse_many
        from superionic.features.magpie import FEATURIZER_VERSION
        from superionic.ml.surrogate import ModelMismatchError

        self.reset_counts()
        self._model_id = None
        try:
            surrogate = self._find_surrogate()
        except (FileNotFoundError, LookupError, ModelMismatchError) as exc:
            self.skip(str(exc))
            return
        self._surrogate = surrogate
        self._model_id = surrogate.doc.model_id
        query = {"passed": True} if self.query is None else self.query
        survivors = list(self.screening.query(criteria=query, properties=["material_id", "formula", "last_updated"]))
        for doc, parsed in zip(survivors, parse_many([str(d.get("formula") or "") for d in survivors])):
            doc["feature_key"] = None if isinstance(parsed, str) else parsed.reduced_formula
        features = {d["formula"]: d for d in self.features.query(
            criteria={"featurizer_version": FEATURIZER_VERSION}, properties=["formula", "last_updated"])}
        stored = {d["material_id"]: d for d in self.predictions.query(
            {"model_id": surrogate.doc.model_id}, properties=["material_id", "formula", "model_id", "last_updated"])}
        todo = stale_predictions(survivors, features, stored, surrogate.doc.model_id)
        self.total = len(todo)
        self.logger.info("predictions: %d of %d survivors to classify with %s", len(todo), len(survivors),
                         surrogate.doc.model_id)
        for start in range(0, len(todo), self.chunk_size):
            batch = todo[start : start + self.chunk_size]
            wanted = sorted({d["feature_key"] for d in batch if d["feature_key"] in features})
            docs = {f["formula"]: f for f in query_in(self.features, "formula", wanted,
                                                      {"featurizer_version": FEATURIZER_VERSION})}
            yield {"model_id": surrogate.doc.model_id, "survivors": [{k: d.get(k) for k in ("material_id", "formula", "feature_key")}
                                                          for d in batch], "features": docs}

    def _find_surrogate(self):
        """The surrogate to use (see the module docstring); raises with what was tried."""
        from superionic.ml.model_store import ModelNotFoundError, load_surrogate

        if self.surrogate is not None:
            return self.surrogate
        if self.model_path:
            return _load_file(str(Path(self.model_path).expanduser()))
        tried = []
        if self.data is not None:
            try:
                return load_surrogate(SimpleNamespace(models=self.models, data=self.data,
                                                      safe_spec="of this build"), model_id=self.model_id)
            except ModelNotFoundError as exc:
                if self.model_id:
                    raise
                tried.append(str(exc).split(";")[0])
        path, why = find_surrogate_file(self.models)
        if path is None:
            raise ModelNotFoundError(f"no trained surrogate ({'; '.join([*tried, why])}); train one with "
                                     "`superionic train` (or `superionic run`), then build again")
        return _load_file(str(path))

    def process_item(self, item: dict) -> list[dict]:
        surrogate = self._surrogate
        if surrogate is None or surrogate.doc.model_id != item["model_id"]:  # e.g. in a worker process
            self._surrogate = surrogate = self._find_surrogate()
        features = {k: FeatureDoc(**v) for k, v in item["features"].items()}
        docs = predict_survivors(item["survivors"], features, surrogate)
        return [d.to_store() for d in docs]

    def update_targets(self, items: list[list[dict]]) -> None:
        docs = [d for batch in items for d in batch]
        if docs:
            self.predictions.update(docs, key="prediction_id")
            self.n_processed += len(docs)

    def finalize(self) -> None:
        if self.n_processed and self._model_id:
            self._rerank(self._model_id)
        super().finalize()

    def _rerank(self, model_id: str) -> None:
        rows = list(self.predictions.query({"model_id": model_id},
                                           properties=["material_id", "prob_mean", "prob_calibrated", "votes_gb",
                                                       "votes_lgbm", "rank"]))
        ranks = rank_predictions(rows)
        changed = [r["material_id"] for r in rows if ranks.get(r["material_id"]) != r.get("rank")]
        if not changed:
            return
        docs = list(query_in(self.predictions, "material_id", changed, {"model_id": model_id}))
        for doc in docs:
            doc["rank"] = ranks.get(doc["material_id"])
            doc["prediction_id"] = prediction_key(doc["material_id"], model_id)  # also on pre-key documents
        self.predictions.update(docs, key="prediction_id")
        self.logger.info("predictions: %d ranks updated", len(docs))


def _load_file(path: str):
    from superionic.ml.surrogate import Surrogate

    return Surrogate.load(path)


def find_surrogate_file(models: Store | None) -> tuple[Path | None, str]:
    """The newest ModelDoc's local surrogate file and, when there is none, why."""
    tried = []
    if models is not None:
        docs = models.query(criteria={"model_id": {"$exists": True}}, properties=["model_id", "path", "last_updated"])
        for doc in sorted(docs, key=lambda d: as_utc(d.get("last_updated")), reverse=True):
            if doc.get("path") and Path(doc["path"]).expanduser().is_file():
                return Path(doc["path"]).expanduser(), ""
            tried.append(f"ModelDoc {doc.get('model_id')}: no file {doc.get('path')}")
    return None, "; ".join(tried) or "no ModelDoc with a local file in the models store"


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
def stale_predictions(
    survivors: Sequence[dict], features: dict[str, dict], stored: dict[str, dict], model_id: str
) -> list[dict]:
    """Survivors whose PredictionDoc must be (re)built.

    ``survivors``: screening documents with ``material_id``, ``formula``, ``last_updated`` and
    ``feature_key`` (reduced formula, None if unparseable); ``features``: reduced formula ->
    FeatureDoc (``last_updated``) of the surrogate's featuriser version; ``stored``:
    material_id -> stored prediction (``formula``, ``model_id``, ``last_updated``).
    """
    todo = []
    for s in survivors:
        p = stored.get(s["material_id"])
        if p is None or p.get("model_id") != model_id or p.get("formula") != s.get("formula"):
            todo.append(s)
            continue
        made = as_utc(p.get("last_updated"))
        feature = features.get(s.get("feature_key"))
        if as_utc(s.get("last_updated")) > made or (feature is not None and as_utc(feature.get("last_updated")) > made):
            todo.append(s)
    return todo


def predict_survivors(survivors: Sequence[dict], features: dict[str, FeatureDoc], surrogate) -> list[PredictionDoc]:
    """One PredictionDoc per survivor (``material_id``, ``formula``, ``feature_key``).

    A survivor without a (Magpie) FeatureDoc in ``features`` (keyed by reduced formula) gets a
    document with ``skip_reason``; other descriptor sets are computed (their Magpie part, if
    any, taken from the FeatureDocs).
    """
    import pandas as pd

    from superionic.features.descriptors import featurize
    from superionic.features.magpie import FEATURIZER_VERSION, MAGPIE_FEATURE_LABELS
    from superionic.ml.predict import predictions_from_features

    names = surrogate.feature_names if surrogate.descriptors == "magpie" else list(MAGPIE_FEATURE_LABELS)
    version = FEATURIZER_VERSION
    values = np.full((len(survivors), len(names)), np.nan)
    failures: dict[int, str] = {}
    for i, s in enumerate(survivors):
        doc = features.get(s.get("feature_key") or "")
        if not s.get("feature_key"):
            failures[i] = f"formula {s.get('formula')!r} cannot be featurised"
            continue
        if doc is None:
            failures[i] = (f"no FeatureDoc for {s.get('formula')!r} with featuriser {version}; "
                           "run `superionic build features`")
            continue
        try:
            values[i] = doc.vector(names)
        except KeyError as exc:
            failures[i] = str(exc)
    frame = pd.DataFrame(values, columns=names)
    formulas = [s.get("formula") or "" for s in survivors]
    if surrogate.descriptors != "magpie":  # a set without Magpie ignores the FeatureDocs and their gaps
        frame, failures = featurize(formulas, surrogate.descriptors, magpie=(frame, failures))
    return predictions_from_features(frame, failures, formulas, surrogate, [s["material_id"] for s in survivors])


def rank_predictions(rows: Iterable[dict]) -> dict[str, int]:
    """material_id -> rank (1 = highest ``prob_calibrated``, else ``prob_mean``; ties: higher
    ``prob_mean``, more votes, then id); only predictions with a ``prob_mean`` are ranked."""
    rows = [r for r in rows if r.get("prob_mean") is not None]

    def key(r):
        calibrated = r.get("prob_calibrated")
        return (-(r["prob_mean"] if calibrated is None else calibrated), -r["prob_mean"],
                -((r.get("votes_gb") or 0) + (r.get("votes_lgbm") or 0)), r["material_id"])

    order = sorted(rows, key=key)
    return {r["material_id"]: i + 1 for i, r in enumerate(order)}
