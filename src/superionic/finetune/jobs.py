"""The seed recipe's AIMD -> fine-tune -> long force-field MD, as jobflow jobs.

Opt-in (``md.finetune.enabled`` with ``md.engine: vasp``); per material, after its VASP AIMD flow::

    VASP MD (every T, atomate2) ──> fine-tune ──> force-field MD with the tuned potential
                                                  (more and lower T, longer; same makers)

* :func:`finetune_step` reads the frames of the AIMD's VASP task documents from its JobStore
  (:func:`~superionic.finetune.frames.frames_from_task_document`, one method or refused),
  keeps at most ``max_frames`` evenly spaced ones, holds ``test_fraction`` of them out, fine-tunes
  (:func:`~superionic.finetune.chgnet_tuning.finetune_chgnet`), writes the weights to the JobStore's
  ``data`` store and returns the record (output kind ``finetune``: the documents builder puts it in
  ``potentials``).
* :func:`finetuned_md_step` replaces itself by the conductivity-MD flow of the force-field engine
  with ``finetuned:<potential_id>``: its segments load the checked weights from their JobStore.
"""

from __future__ import annotations

from jobflow import Flow, JobConfig, Response, job
from pymatgen.core import Structure

from superionic.recipes import FineTuneRecipe

FINETUNE_JOB = "fine-tune potential"
FINETUNED_MD_JOB = "fine-tuned md"


def every_nth(doc, max_frames: int):
    """At most ``max_frames`` frames of a DFTFramesDoc, evenly spaced (first and last kept)."""
    import numpy as np

    if doc.n_frames <= max_frames:
        return doc
    keep = sorted({int(round(i)) for i in np.linspace(0, doc.n_frames - 1, max_frames)})
    return select(doc, keep)


def select(doc, indices):
    """The frames ``indices`` of a DFTFramesDoc (same method, same id scheme)."""
    from superionic.finetune.frames import frames_doc

    return frames_doc([Structure.from_dict(doc.structures[i]) for i in indices], [doc.energies[i] for i in indices],
                      [doc.forces[i] for i in indices], code=doc.code, functional=doc.functional,
                      settings=doc.settings, sources=doc.sources,
                      stresses=None if doc.stresses is None else [doc.stresses[i] for i in indices])


@job(config=JobConfig(expose_store=True))
def finetune_step(aimd_uuids: list[str], recipe: dict, material_id: str | None = None, after: object = None) -> dict:
    """Fine-tune on the frames of the VASP MD jobs ``aimd_uuids`` (see module docstring)."""
    import numpy as np
    from jobflow import CURRENT_JOB

    from superionic.finetune.chgnet_tuning import TuningSettings
    from superionic.finetune.frames import FramesError, combine, frames_from_task_document
    from superionic.finetune.potential_store import finetune_output, tune_and_record, write_weights

    r = FineTuneRecipe.model_validate(recipe)
    store = CURRENT_JOB.store
    docs = []
    for uuid in aimd_uuids:
        task = store.query_one({"uuid": uuid}, properties=["uuid", "output"], load=True, sort={"index": -1})
        if task and task.get("output"):
            docs.append(frames_from_task_document(task["output"], source=f"jobstore:{uuid}"))
    if not docs:
        raise FramesError(f"{material_id}: none of the {len(aimd_uuids)} AIMD jobs left a task document with frames")
    frames = every_nth(combine(docs), r.max_frames)
    order = np.random.default_rng(0).permutation(frames.n_frames)
    n_test = max(1, int(round(r.test_fraction * frames.n_frames)))
    held, train = select(frames, sorted(order[:n_test])), select(frames, sorted(order[n_test:]))
    settings = TuningSettings(max_epochs=r.max_epochs, max_steps=r.max_steps, batch_size=r.batch_size,
                              learning_rate=r.learning_rate)
    _, doc, blob = tune_and_record(r.base, train, held, settings)
    write_weights(store.additional_stores["data"], doc, blob)
    return {**finetune_output(doc), "material_id": material_id}


@job
def finetuned_md_step(potential: dict, structure: Structure, material_id: str | None, recipe: dict,
                      cross_check: str | None = None) -> Response:
    """Replace itself by force-field MD with the fine-tuned ``potential`` (a finetune output's record)."""
    from superionic.finetune.potential_store import from_output
    from superionic.md.engines.potentials import finetuned_potential
    from superionic.md.presets import get_preset
    from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
    from superionic.md.workflow.makers import ConductivityMDMaker

    r = FineTuneRecipe.model_validate(recipe)
    tuned = finetuned_potential(from_output(potential))
    preset = get_preset(r.preset).with_overrides(equilibration_steps=r.equilibration_steps,
                                                 production_steps=r.production_steps)
    maker = ConductivityMDMaker(
        name=f"conductivity md ({tuned.label})", engine="forcefield", preset=preset,
        temperatures=tuple(r.temperatures), cross_check=cross_check,
        segment_maker=ForceFieldSegmentMaker(force_field_name=tuned.force_field_name,
                                             calculator_kwargs=dict(tuned.calculator_kwargs)))
    return Response(replace=maker.make(structure, material_id=material_id))


def aimd_job_uuids(flow: Flow) -> list[str]:
    """The VASP MD jobs of a VASP conductivity flow (every temperature, every segment)."""
    return [j.uuid for j, _ in flow.iterflow() if j.name.startswith("vasp md ") and "output" not in j.name]


def add_finetune(aimd: Flow, structure: Structure, material_id: str | None, recipe: FineTuneRecipe) -> Flow:
    """``aimd`` (a VASP conductivity flow) followed by the fine-tune and the force-field MD."""
    tune = finetune_step(aimd_job_uuids(aimd), recipe.model_dump(mode="json"), material_id, after=aimd.output)
    tune.name = FINETUNE_JOB
    md = finetuned_md_step(tune.output["potential"], structure, material_id, recipe.model_dump(mode="json"))
    md.name = FINETUNED_MD_JOB
    flow = Flow([aimd, tune, md], output={"aimd": aimd.output, "finetuned": md.output},
                name=f"{aimd.name} + fine-tune")
    if material_id:
        flow.update_metadata({"material_id": material_id}, dynamic=True)
    return flow
