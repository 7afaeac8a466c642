"""``DocumentsBuilder``: the discovery flow's job outputs in the JobStore -> the keyed collections.

The screening and classification jobs (and ``superionic train``) return their documents
instead of writing them (:mod:`superionic.flows.discovery`); this builder writes them:

==================================  =========================  ==============
job output (``output_kind``)         field                      target (key)
==================================  =========================  ==============
screening                           ``material_docs``          materials (material_id)
screening                           ``screening_docs``         screening (material_id)
screening                           ``funnel``                 funnel (funnel_id)
classification                      ``model`` + binary's uuid  models (model_id)
classification                      ``study_docs``             models (study_id)
finetune                            ``potential``              potentials (potential_id)
==================================  =========================  ==============

``features`` and ``predictions`` have their own builders (one writer per collection), which
compute from these collections what the classification job computed for its ranking.

Which outputs: the newest screening output of each funnel and the newest classification
output of each model (by the job's ``completed_at``). Incremental: a screening output whose
funnel is not newer (``last_updated``) than the stored funnel is passed over (it, or a newer
one, was written); a classification that reused a model carries that model's ModelDoc, so
its output is always read; documents equal to the stored ones
(``last_updated`` aside) are not rewritten (:func:`superionic.stores.update_changed`), so
downstream builders see nothing new after a rerun. A ModelDoc's ``blob_uuid`` names the
surrogate binary the job put in the ``data`` store, so ``superionic predict`` and the
predictions builder load it from there; a FineTunedPotentialDoc's ``blob_uuid`` names the weights
its job put there (:mod:`superionic.finetune.potential_store`).
"""

from __future__ import annotations

from collections.abc import Iterator

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, as_utc
from superionic.safe_json import ForeignModuleError

SCREENING = "screening"
CLASSIFICATION = "classification"
FINETUNE = "finetune"
KINDS = (SCREENING, CLASSIFICATION, FINETUNE)
SUMMARY_FIELDS = ["uuid", "index", "completed_at", "output.output_kind", "output.funnel_id", "output.model_id",
                  "output.potential_id", "output.funnel.last_updated"]


class DocumentsBuilder(SuperionicBuilder):
    """Materials, screening, funnel, models and potentials from the JobStore."""

    name = "documents"

    def __init__(self, jobs: Store, data: Store, materials: Store, screening: Store, funnel: Store, models: Store,
                 potentials: Store, chunk_size: int = 1):
        """
        Args:
            jobs, data: the JobStore's document store and its ``data`` store.
            materials, screening, funnel, models, potentials: the project's stores.
            chunk_size: job outputs written per batch.
        """
        self.jobs = jobs
        self.data = data
        self.materials = materials
        self.screening = screening
        self.funnel = funnel
        self.models = models
        self.potentials = potentials
        super().__init__(sources=[jobs, data], targets=[materials, screening, funnel, models, potentials],
                         chunk_size=chunk_size)

    def get_items(self) -> Iterator[dict]:
        self.reset_counts()
        rows = list(self.jobs.query({"output.output_kind": {"$in": list(KINDS)}},
                                    properties=SUMMARY_FIELDS))
        written = {
            SCREENING: {d["funnel_id"]: as_utc(d.get("last_updated")) for d in
                        self.funnel.query(properties=["funnel_id", "last_updated"])},
        }
        todo = newest_outputs(rows, written)
        self.total = len(todo)
        self.logger.info("documents: %d of %d job outputs to write", len(todo), len(rows))
        for row in todo:
            yield {"uuid": row["uuid"], "index": row["index"], "kind": row["output"]["output_kind"]}

    def process_item(self, item: dict) -> dict:
        from jobflow import JobStore

        store = JobStore(self.jobs, additional_stores={"data": self.data})
        raw = store.query_one({"uuid": item["uuid"], "index": item["index"]}, properties=["output"], load=False)
        out = (raw or {}).get("output", {})
        ref = out.get("surrogate_binary")
        blob_uuid = ref.get("blob_uuid") if isinstance(ref, dict) else out.get("reused_blob")
        try:
            doc = store.query_one({"uuid": item["uuid"], "index": item["index"]}, properties=["output"], load=True)
        except Exception as exc:  # noqa: BLE001 - e.g. a blob missing from the data store
            self.record_failure(item["uuid"], f"output not readable: {type(exc).__name__}: {exc}")
            return {}
        try:
            return documents_of(item["kind"], doc["output"], blob_uuid)
        except ForeignModuleError as exc:  # refused, reported; the other outputs are written
            self.record_failure(item["uuid"], str(exc))
            return {}

    def update_targets(self, items: list[dict]) -> None:
        from superionic.stores import update_changed

        keys = {"materials": "material_id", "screening": "material_id", "funnel": "funnel_id", "models": "model_id",
                "studies": "study_id", "potentials": "potential_id"}
        for item in items:
            for name, docs in item.items():
                if docs:
                    target = self.models if name == "studies" else getattr(self, name)
                    self.n_processed += update_changed(target, docs, key=keys[name])


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
def newest_outputs(rows: list[dict], written: dict[str, dict]) -> list[dict]:
    """The newest output of each funnel / model that is newer than what was written from it.

    ``rows``: jobs documents (``uuid``, ``index``, ``completed_at``, ``output.output_kind``,
    ``output.funnel_id`` / ``output.model_id``); ``written``: kind -> key -> ``last_updated``
    of the stored funnel (classification outputs are always taken, see the module docstring).
    """
    newest: dict[tuple[str, str], dict] = {}
    for row in rows:
        out = row.get("output") or {}
        kind = out.get("output_kind")
        key = out.get({SCREENING: "funnel_id", CLASSIFICATION: "model_id", FINETUNE: "potential_id"}.get(kind, ""))
        if key is None:
            continue
        old = newest.get((kind, key))
        if old is None or (str(row.get("completed_at") or ""), row.get("index") or 1) > (
                str(old.get("completed_at") or ""), old.get("index") or 1):
            newest[(kind, key)] = row
    todo = []
    for (kind, key), row in sorted(newest.items()):
        out = row["output"]
        stored = written.get(kind, {}).get(key) if kind == SCREENING else None
        if stored is None or as_utc((out.get("funnel") or {}).get("last_updated")) > stored:
            todo.append(row)
    return todo


def _store_dicts(docs) -> list[dict]:
    """Documents (pydantic, or dicts as jobflow stored them) as store dicts."""
    out = []
    for d in docs or []:
        d = d.to_store() if hasattr(d, "to_store") else {k: v for k, v in d.items() if not k.startswith("@")}
        out.append(d)
    return out


def documents_of(kind: str, output: dict, blob_uuid: str | None = None) -> dict[str, list[dict]]:
    """Target name -> store dicts of one job output (``blob_uuid``: the surrogate binary's)."""
    from superionic.safe_json import decode

    output = decode(output, f"a {kind} job output")
    if kind == SCREENING:
        return {"materials": _store_dicts(output.get("material_docs")),
                "screening": _store_dicts(output.get("screening_docs")),
                "funnel": _store_dicts([output["funnel"]] if output.get("funnel") else [])}
    if kind == FINETUNE:
        from superionic.finetune.potential_store import from_output

        return {"potentials": [from_output(output["potential"]).to_store()]}
    models = []
    if output.get("model"):
        from superionic.schemas.ml import ModelDoc

        models = [ModelDoc.model_validate({**_store_dicts([output["model"]])[0], "blob_uuid": blob_uuid}).to_store()]
    return {"models": models, "studies": _store_dicts(output.get("study_docs"))}
