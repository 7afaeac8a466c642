"""Surrogates in the project store, and each material's prediction by the latest model.

A trained surrogate's binary (skops, a format that holds no code:
:mod:`superionic.ml.model_format`) goes to the project's ``data`` store (the JobStore's
additional store: GridFS on MongoDB, a montydb collection on the embedded default) under
``blob_uuid = "surrogate-<model_id>"``, base64-encoded so every backend stores it alike; its
``ModelDoc`` in ``models`` names that ``blob_uuid``. ``superionic predict``, the predictions
builder, ``superionic query`` and the report find a surrogate through the store alone, so a
second machine (or a fresh data directory) pointed at the same store sees the same models.

"Latest" is the ModelDoc with the newest ``last_updated`` whose binary is in the store.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime

from superionic.builders.base import as_utc

ENCODING = "skops+base64"


class ModelNotFoundError(LookupError):
    """No surrogate (or not the named one) in the store. The message says what to do."""


def blob_key(model_id: str) -> str:
    """The ``blob_uuid`` of a surrogate's binary in the data store."""
    return f"surrogate-{model_id}"


def save_surrogate(stores, surrogate, recipe_fingerprint: str | None = None) -> str:
    """Write the surrogate's binary to ``stores.data`` and its ModelDoc to ``stores.models``.

    Returns the ``blob_uuid``. The binary is written first, so a ModelDoc never names a
    missing binary.
    """
    from superionic.schemas.base import utcnow

    doc = surrogate.doc
    key = blob_key(doc.model_id)
    doc.blob_uuid = key
    if recipe_fingerprint is not None:
        doc.recipe_fingerprint = recipe_fingerprint
    content = base64.b64encode(surrogate.to_bytes()).decode("ascii")
    stores.data.update([{"blob_uuid": key, "model_id": doc.model_id, "encoding": ENCODING,
                         "data": content, "last_updated": utcnow()}], key="blob_uuid")
    stores.models.update([doc.to_store()], key="model_id")
    return key


def model_docs(models_store, criteria: dict | None = None) -> list[dict]:
    """ModelDocs with a binary in the data store matching ``criteria``, newest first."""
    query = {"model_id": {"$exists": True}, "blob_uuid": {"$ne": None}, **(criteria or {})}
    docs = [d for d in models_store.query(criteria=query) if d.get("blob_uuid") and "study_id" not in d]
    return sorted(docs, key=lambda d: as_utc(d.get("last_updated")), reverse=True)


def load_surrogate(stores, model_id: str | None = None, criteria: dict | None = None):
    """The named (or latest) surrogate from the store, checked against the running featuriser.

    Raises :class:`ModelNotFoundError` (says to train one) when there is none, and
    :class:`~superionic.ml.surrogate.ModelMismatchError` for a model of another featuriser.
    """
    from superionic.ml.surrogate import Surrogate

    wanted = {**(criteria or {}), **({"model_id": model_id} if model_id else {})}
    docs = model_docs(stores.models, wanted)
    if not docs:
        known = [d["model_id"] for d in model_docs(stores.models)]
        what = f"no surrogate {model_id!r}" if model_id else "no trained surrogate"
        raise ModelNotFoundError(
            f"{what} in the store {stores.safe_spec}"
            + (f" (it holds {', '.join(known[:5])})" if known and model_id else "")
            + "; run `superionic train` or `superionic run` first, or give --model"
        )
    doc = docs[0]
    blob = stores.data.query_one({"blob_uuid": doc["blob_uuid"]})
    if not blob or not blob.get("data"):
        raise ModelNotFoundError(
            f"ModelDoc {doc['model_id']} names the binary {doc['blob_uuid']}, which is not in the data "
            f"store of {stores.safe_spec}; retrain with `superionic train`"
        )
    surrogate = Surrogate.from_bytes(base64.b64decode(blob["data"]), f"model {doc['model_id']} in the store")
    surrogate.doc.blob_uuid = doc["blob_uuid"]
    surrogate.doc.recipe_fingerprint = doc.get("recipe_fingerprint")
    return surrogate


def latest_predictions(predictions: Iterable[dict], models=None) -> dict[str, dict]:
    """material_id -> its prediction by the latest model that classified it.

    Models are ordered by their ModelDoc's ``last_updated`` (``models``: the models store, or
    its documents); a prediction whose model has no ModelDoc counts by its own ``last_updated``.
    """
    if models is not None and hasattr(models, "query"):
        models = models.query({"model_id": {"$exists": True}}, properties=["model_id", "last_updated", "study_id"])
    made: dict[str, datetime] = {d["model_id"]: as_utc(d.get("last_updated")) for d in models or []
                                 if "study_id" not in d and d.get("model_id")}
    best: dict[str, tuple[tuple, dict]] = {}
    for p in predictions:
        when = made.get(p.get("model_id"), as_utc(p.get("last_updated")))
        order = (when, as_utc(p.get("last_updated")))
        mid = p["material_id"]
        if mid not in best or order > best[mid][0]:
            best[mid] = (order, p)
    return {mid: p for mid, (_, p) in best.items()}
