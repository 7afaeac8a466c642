"""Fine-tuned potentials in the project store: saved by id, checked before they are loaded.

Like the surrogate (:mod:`superionic.ml.model_store`): the weights (a torch ``state_dict``,
base64) go to the ``data`` store -- the JobStore's additional store, so a worker that only has
its JobStore finds them -- under ``blob_uuid = "potential-<potential_id>"``; the record
(:class:`~superionic.schemas.potentials.FineTunedPotentialDoc`) is a job output of kind
``finetune`` that the documents builder, the one writer of ``potentials``, copies there.
``potential_id`` is ``ft-`` + the weights' sha256 (12 hex digits): the same weights, the same id.

Loading (:func:`model_from_spec`, behind :func:`load_finetuned` and the MD calculator) reads the
blob, checks its sha256 against the record *before* deserialising, refuses a chgnet version
other than the one the weights were tuned on, and deserialises with
``torch.load(weights_only=True)`` (tensors only, no code) into a copy of the base model.

A potential is named ``finetuned:<potential_id>`` wherever a potential name goes (recipes,
``superionic md --force-field``, :func:`superionic.md.engines.potentials.get_potential`); MD
with it carries ``finetuned`` (id, blob_uuid, sha256, base model, version) in its calculator
keywords -- no file path -- and its label ``CHGNet:ft-...`` in every key and document.
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from jobflow import JobConfig, job

from superionic.running_job import job_store
from superionic.schemas.potentials import FineTunedPotentialDoc

PREFIX = "finetuned:"
FINETUNE_OUTPUT = "finetune"
ENCODING = "torch-state-dict+base64"


class FineTunedPotentialError(ValueError):
    """A fine-tuned potential that is not in the store, or whose weights may not be loaded."""


def blob_key(potential_id: str) -> str:
    """The ``blob_uuid`` of a fine-tuned potential's weights in the data store."""
    return f"potential-{potential_id}"


def serialise(model) -> tuple[bytes, str]:
    """The model's ``state_dict`` as bytes (``torch.save``) and their sha256."""
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    blob = buffer.getvalue()
    return blob, hashlib.sha256(blob).hexdigest()


def potential_id_of(sha256: str) -> str:
    return f"ft-{sha256[:12]}"


def package_version(package: str = "chgnet") -> str:
    from importlib.metadata import version

    return version(package)


def finetuned_doc(*, sha256: str, n_bytes: int, base_potential: str, base_model: str, frames, result,
                  held_out=None, before: dict | None = None, after: dict | None = None) -> FineTunedPotentialDoc:
    """The record of a fine-tune (``frames``/``held_out``: DFTFramesDoc; ``result``: TuningResult)."""
    potential_id = potential_id_of(sha256)
    return FineTunedPotentialDoc(
        potential_id=potential_id, label=f"CHGNet:{potential_id}", base_potential=base_potential,
        base_model=base_model, package_version=package_version("chgnet"), software={"torch": package_version("torch")},
        frames_id=frames.frames_id, frames_code=frames.code, frames_functional=frames.functional,
        frames_sources=list(frames.sources), held_out_frames_id=held_out.frames_id if held_out else None,
        n_train=result.n_train, n_val=result.n_val, n_test=held_out.n_frames if held_out else 0,
        settings=result.settings, energy_offset_ev_per_atom=result.energy_offset, epochs_run=result.epochs_run,
        steps_run=result.steps_run, best_epoch=result.best_epoch, val_force_mae=result.val_force_mae,
        seconds=result.seconds, held_out_before=before or {}, held_out_after=after or {},
        sha256=sha256, n_bytes=n_bytes, blob_uuid=blob_key(potential_id),
    )


def tune_and_record(base: str, train, held, settings) -> tuple[Any, FineTunedPotentialDoc, bytes]:
    """Fine-tune the registry potential ``base`` (a CHGNet) on ``train`` (DFTFramesDoc), measure it
    and its base on ``held``: (tuned model, its record, its serialised weights)."""
    import warnings

    from superionic.finetune.chgnet_tuning import _frames, finetune_chgnet, force_metrics, predict
    from superionic.md.engines.calculators import load_chgnet
    from superionic.md.engines.potentials import get_potential

    potential = get_potential(base)
    if potential.force_field_name != "CHGNet":
        raise ValueError(f"fine-tuning runs on CHGNet bases for now, not {base!r}")
    base_model_name = potential.calculator_kwargs.get("model_name", "0.3.0")
    base_model = load_chgnet(base_model_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = finetune_chgnet(base_model, train, settings)
        structures, _, ref = _frames(held)
        before = force_metrics(predict(base_model, structures)[1], ref, structures)
        after = force_metrics(predict(result.model, structures)[1], ref, structures)
    blob, digest = serialise(result.model)
    doc = finetuned_doc(sha256=digest, n_bytes=len(blob), base_potential=base, base_model=base_model_name,
                        frames=train, result=result, held_out=held, before=before, after=after)
    return result.model, doc, blob


def write_weights(data_store, doc: FineTunedPotentialDoc, blob: bytes) -> None:
    """Put the weights in ``data_store`` under ``doc.blob_uuid`` (content-addressed: rewriting is harmless)."""
    if hashlib.sha256(blob).hexdigest() != doc.sha256:
        raise FineTunedPotentialError(f"{doc.potential_id}: the weights do not hash to the record's sha256")
    data_store.update([{"blob_uuid": doc.blob_uuid, "potential_id": doc.potential_id, "encoding": ENCODING,
                        "data": base64.b64encode(blob).decode("ascii")}], key="blob_uuid")


@job(config=JobConfig(expose_store=True))
def record_finetune(doc: FineTunedPotentialDoc | dict, weights: str) -> dict:
    """Keep a fine-tune made outside a flow (``superionic finetune``) as a job output: its weights
    (``weights``: base64) in the JobStore's data store, its record for the documents builder."""
    doc = doc if isinstance(doc, FineTunedPotentialDoc) else FineTunedPotentialDoc.model_validate(doc)
    write_weights(job_store().additional_stores["data"], doc, base64.b64decode(weights))
    return finetune_output(doc)


def finetune_output(doc: FineTunedPotentialDoc) -> dict:
    """The job output the documents builder turns into a ``potentials`` document: the record
    without ``blob_uuid`` (a ``blob_uuid`` key in a job output is a data-store reference to
    jobflow); :func:`from_output` puts it back."""
    return {"output_kind": FINETUNE_OUTPUT, "potential_id": doc.potential_id,
            "potential": doc.model_dump(mode="json", exclude={"blob_uuid"})}


def from_output(potential: dict) -> FineTunedPotentialDoc:
    """The record of a fine-tune job's output (``output["potential"]``)."""
    data = {k: v for k, v in potential.items() if not k.startswith("@")}
    return FineTunedPotentialDoc.model_validate({**data, "blob_uuid": blob_key(data["potential_id"])})


def save_finetuned(stores, doc: FineTunedPotentialDoc, blob: bytes, name: str = "superionic finetune") -> str:
    """Store a fine-tuned potential's weights ``blob`` with its record ``doc`` in ``stores`` (a
    ProjectStores): the weights in ``data``, the record through the documents builder into
    ``potentials``. Returns the id."""
    from superionic.builders import run_builders

    keep = record_finetune(doc, base64.b64encode(blob).decode("ascii"))
    keep.name = name
    keep.run(store=stores.job_store())
    run_builders(stores, ["documents"])
    return doc.potential_id


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def spec_of(doc: FineTunedPotentialDoc | dict) -> dict[str, str]:
    """What a worker needs to find and check the weights (the ``finetuned`` calculator keyword)."""
    d = doc.model_dump() if isinstance(doc, FineTunedPotentialDoc) else doc
    return {k: d[k] for k in ("potential_id", "blob_uuid", "sha256", "base_model", "package_version")}


def record(stores, potential_id: str) -> FineTunedPotentialDoc:
    """The record of ``potential_id`` (``ft-...`` or ``finetuned:ft-...``) in ``stores.potentials``."""
    potential_id = potential_id.removeprefix(PREFIX)
    found = stores.potentials.query_one({"potential_id": potential_id})
    if not found:
        known = [d["potential_id"] for d in stores.potentials.query(properties=["potential_id"])]
        raise FineTunedPotentialError(
            f"no fine-tuned potential {potential_id!r} in the store {stores.safe_spec}"
            + (f" (it holds {', '.join(known[:5])})" if known else "")
            + "; run `superionic finetune FRAMES --test HELD_OUT` with this store first")
    found.pop("_id", None)
    return FineTunedPotentialDoc.model_validate(found)


def job_store_record(job_store, potential_id: str) -> FineTunedPotentialDoc | None:
    """The record of ``potential_id`` from the fine-tune job output in ``job_store`` (the flow's
    fine-tune job or ``superionic finetune``'s :func:`record_finetune`), None if it holds none.
    A worker finds there what the ``potentials`` collection has only after the documents builder."""
    found = job_store.query_one({"output.output_kind": FINETUNE_OUTPUT, "output.potential_id": potential_id},
                                properties=["output.potential"])
    return from_output(found["output"]["potential"]) if found else None


def record_for(potential_id: str) -> FineTunedPotentialDoc:
    """The record of ``potential_id`` (``ft-...`` or ``finetuned:ft-...``) wherever this process
    finds it: the running job's JobStore first (:func:`job_store_record`), else the settings'
    store's ``potentials``."""
    potential_id = potential_id.removeprefix(PREFIX)
    store = job_store()
    found = job_store_record(store, potential_id) if store is not None else None
    if found is not None:
        return found
    from superionic.stores import open_stores

    stores = open_stores()
    try:
        return record(stores, potential_id)
    finally:
        stores.close()


_LOADED: dict[str, Any] = {}  # sha256 -> model, reused only after the blob read again hashes the same


def model_from_spec(spec: dict, data_store=None):
    """The fine-tuned CHGNet of ``spec`` (:func:`spec_of`), its weights read from ``data_store``
    (default: the running job's JobStore, else the settings' store), checked, then loaded."""
    pid = spec["potential_id"]
    installed = package_version("chgnet")
    if installed != spec["package_version"]:
        raise FineTunedPotentialError(
            f"fine-tuned potential {pid} was tuned from CHGNet {spec['base_model']} with chgnet "
            f"{spec['package_version']}; the installed chgnet is {installed}. Its weights are not loaded on "
            f"another version: install chgnet=={spec['package_version']} or fine-tune again.")
    data_store = data_store if data_store is not None else _data_store()
    found = data_store.query_one({"blob_uuid": spec["blob_uuid"]})
    if not found or not found.get("data"):
        raise FineTunedPotentialError(f"the weights of fine-tuned potential {pid} ({spec['blob_uuid']}) are not "
                                      "in the data store")
    blob = base64.b64decode(found["data"])
    return model_from_blob(blob, spec["sha256"], spec["base_model"], f"fine-tuned potential {pid} in the data store")


def model_from_blob(blob: bytes, sha256: str, base_model: str, name: str = "fine-tuned potential"):
    """The CHGNet ``base_model`` (``0.3.0``, ...) with the state dict ``blob`` loaded onto a copy
    of it, after ``blob`` hashes to ``sha256``; tensors only (``torch.load(weights_only=True)``).
    For weights outside the store too (a ``superionic finetune --no-store`` .pt and its .json)."""
    import copy

    import torch

    from superionic.md.engines.calculators import load_chgnet

    digest = hashlib.sha256(blob).hexdigest()
    if digest != sha256:
        raise FineTunedPotentialError(f"the weights of {name} hash to {digest[:12]}..., not to {sha256[:12]}... "
                                      "as its record says: refused, not loaded (changed after the fine-tune wrote them)")
    if digest in _LOADED:  # the blob was read and checked again; only its deserialising is saved
        return _LOADED[digest]
    state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    model = copy.deepcopy(load_chgnet(base_model))
    model.load_state_dict(state)
    model.eval()
    _LOADED[digest] = model
    return model


def load_finetuned(stores, potential_id: str):
    """(model, record) of a stored fine-tuned potential, its weights checked (see module docstring)."""
    doc = record(stores, potential_id)
    return model_from_spec(spec_of(doc), stores.data), doc


def _data_store():
    store = job_store()
    if store is not None:
        return store.additional_stores["data"]
    from superionic.stores import open_stores

    return open_stores().data
