"""atomate2's own MD outputs in a JobStore, read as superionic MD runs (for the DiffusionBuilder).

An atomate2 user can point the :class:`~superionic.builders.diffusion.DiffusionBuilder` at
MD they ran without superionic. Two atomate2 outputs count:

* ``ForceFieldTaskDocument`` (``atomate2.forcefields.md.ForceFieldMDMaker``): its trajectory
  is ``objects["trajectory"]`` (routed to the ``data`` store by atomate2's job), Cartesian
  unwrapped positions every ``traj_interval`` steps, frame properties ``energy`` and
  ``temperature``. Engine ``"forcefield"``, potential = its ``forcefield_name`` without
  atomate2's ``"MLFF."`` prefix.
* ``MultiMDOutput`` (``atomate2.vasp.flows.md.MultiMDMaker``'s last job): ``traj_ids`` are
  the uuids of its VASP MD jobs, whose task documents hold the trajectories (every ionic
  step, ``vasp_objects["trajectory"]``). Engine ``"vasp"``, potential = their functional.

Neither document says the thermostat temperature or (force field) the time step, so they come
from the job's metadata where the user put them (``job.update_metadata({"temperature": 1000,
"material_id": "mp-1", "time_step": 2.0})``): ``temperature`` (K); ``material_id`` (else the
reduced formula); ``time_step`` (fs; force field; else atomate2's default, 0.5 fs with H
isotopes and 2 fs otherwise). VASP runs fall back to the INCAR's ``TEBEG`` and ``POTIM``.
A force-field document without a temperature in its metadata is passed over (logged): its
mean instantaneous temperature is not a thermostat target. The frame interval of a force-field
run is ``time_step * input.steps / (frames - 1)`` (atomate2 keeps frame 0 and one every
``traj_interval`` steps); ``metadata.traj_interval`` overrides it.

Both are keyed like superionic's runs with the preset ``"atomate2"``:
``'<material>:<engine>:<potential>:atomate2:<T>K'``.
"""

from __future__ import annotations

import logging
from typing import Any

from pymatgen.core.trajectory import Trajectory

from superionic.schemas.md_runs import MDRunDoc, TrajectoryRef

logger = logging.getLogger(__name__)

FF_TASK_CLASS = "ForceFieldTaskDocument"
MULTI_MD_CLASS = "MultiMDOutput"
ATOMATE2_CLASSES = (FF_TASK_CLASS, MULTI_MD_CLASS)
PRESET = "atomate2"
JOB_FIELDS = ["uuid", "index", "name", "metadata", "completed_at", "output.@class", "output.@module",
              "output.forcefield_name", "output.formula_pretty", "output.nsites", "output.structure",
              "output.input.steps", "output.output.n_steps", "output.last_updated", "output.traj_ids"]
VASP_TASK_FIELDS = ["uuid", "output.run_type", "output.input.parameters", "output.input.incar",
                    "output.orig_inputs.incar", "output.formula_pretty", "output.nsites"]


def _potential(name: str | None) -> str | None:
    if not name:
        return None
    return str(name).removeprefix("MLFF.")


def _incar(task: dict) -> dict:
    out = task.get("output") or {}
    for where in (("input", "incar"), ("orig_inputs", "incar"), ("input", "parameters")):
        value = out.get(where[0]) or {}
        value = value.get(where[1]) if isinstance(value, dict) else None
        if value:
            return dict(value)
    return {}


def identity(job: dict, jobs_store=None) -> dict | None:
    """The small fields keying an atomate2 MD output (``job``: its JobStore document with
    ``JOB_FIELDS``): material_id, formula, temperature, engine, potential, preset, and what
    reading its trajectory needs; None (logged) when the temperature is unknown."""
    out = job.get("output") or {}
    meta = job.get("metadata") or {}
    kind = out.get("@class")
    info: dict[str, Any] = {"preset": PRESET, "last_updated": out.get("last_updated") or job.get("completed_at")}
    if kind == FF_TASK_CLASS:
        formula = _reduced_formula(out)
        temperature = meta.get("temperature")
        if temperature is None:
            logger.warning("atomate2 force-field MD %s: no temperature in the job metadata; passed over "
                           "(job.update_metadata({'temperature': T}))", job.get("uuid"))
            return None
        info.update(engine="forcefield", potential=_potential(out.get("forcefield_name")), formula=formula,
                    force_field=_potential(out.get("forcefield_name")), material_id=meta.get("material_id") or formula,
                    temperature=float(temperature))
        return info
    if kind == MULTI_MD_CLASS:
        from superionic.md.workflow.collect import vasp_functional

        traj_ids = list(out.get("traj_ids") or [])
        tasks = []
        if jobs_store is not None and traj_ids:
            by_uuid = {t["uuid"]: t for t in jobs_store.query({"uuid": {"$in": traj_ids}}, properties=VASP_TASK_FIELDS)}
            tasks = [by_uuid[u] for u in traj_ids if u in by_uuid]
        incar = _incar(tasks[0]) if tasks else {}
        temperature = meta.get("temperature", incar.get("TEBEG"))
        if temperature is None:
            logger.warning("atomate2 multi-MD %s: no temperature (metadata or TEBEG); passed over", job.get("uuid"))
            return None
        functional = vasp_functional([t.get("output") for t in tasks])
        formula = _reduced_formula(out)
        info.update(engine="vasp", potential=functional, functional=functional, formula=formula,
                    material_id=meta.get("material_id") or formula, temperature=float(temperature),
                    time_step_fs=float(incar.get("POTIM", 2.0)), traj_ids=traj_ids)
        return info
    return None


def _reduced_formula(out: dict) -> str:
    structure = out.get("structure")
    if structure:
        from pymatgen.core import Structure

        return Structure.from_dict(structure).composition.reduced_formula
    return str(out.get("formula_pretty") or "unknown")


def forcefield_run(job: dict, info: dict) -> MDRunDoc:
    """A loaded ``ForceFieldTaskDocument`` job (``job["output"]`` with ``objects`` loaded) as
    an in-memory ``MDRunDoc`` carrying its trajectory."""
    from superionic.md.workflow.collect import _temperature_stats
    from superionic.md.workflow.forcefield import slim_trajectory
    from superionic.safe_json import decode

    out = job["output"]
    meta = job.get("metadata") or {}
    raw = (out.get("objects") or {}).get("trajectory")
    if raw is None:
        raise ValueError("the ForceFieldTaskDocument stores no trajectory (store_trajectory='no')")
    traj = decode(raw, "an atomate2 trajectory")
    traj = traj if isinstance(traj, Trajectory) else Trajectory.from_dict(traj)
    n_frames = len(traj)
    species = {str(s) for s in traj.species}
    time_step = float(meta.get("time_step") or (0.5 if species & {"H", "D", "T"} else 2.0))
    steps = int(((out.get("input") or {}).get("steps")) or 0)
    interval = meta.get("traj_interval") or (steps // (n_frames - 1) if n_frames > 1 and steps else 1)
    slim = slim_trajectory(traj, time_step * int(interval))
    mean_t, std_t = _temperature_stats(slim)
    return MDRunDoc(
        **_fields(info, n_sites=len(traj.species), time_step_fs=time_step, save_interval_steps=int(interval),
                  production_steps=int(interval) * (n_frames - 1)),
        force_field=info["force_field"],
        trajectory=slim,
        n_frames=n_frames,
        frame_interval_fs=time_step * int(interval),
        mean_temperature=mean_t,
        std_temperature=std_t,
        segment_uuids=[str(job["uuid"])],
    )


def multi_md_run(info: dict, n_sites: int) -> MDRunDoc:
    """A ``MultiMDOutput`` as an ``MDRunDoc`` pointing at its VASP task documents'
    trajectories (every ionic step kept); :func:`superionic.md.workflow.segment_store.run_trajectory`
    loads them."""
    refs = [TrajectoryRef(uuid=u, job_uuid=u, path="vasp_objects.trajectory", index=i)
            for i, u in enumerate(info["traj_ids"])]
    return MDRunDoc(
        **_fields(info, n_sites=n_sites, time_step_fs=info["time_step_fs"], save_interval_steps=1,
                  production_steps=0),
        functional=info.get("functional"),
        production_segments=refs,
        frame_interval_fs=info["time_step_fs"],
        segment_uuids=list(info["traj_ids"]),
    )


def _fields(info: dict, *, n_sites: int, time_step_fs: float, save_interval_steps: int,
            production_steps: int) -> dict:
    from superionic.md.workflow.collect import run_id

    return {
        "run_id": run_id(info["material_id"], info["formula"], info["engine"], PRESET, info["temperature"]),
        "material_id": info["material_id"], "formula": info["formula"], "engine": info["engine"],
        "preset": PRESET, "is_quick": False, "temperature": info["temperature"], "time_step_fs": time_step_fs,
        "save_interval_steps": save_interval_steps, "n_sites": n_sites, "status": "completed",
        "equilibration_steps": 0, "production_steps": production_steps,
        "production_steps_done": production_steps, "n_segments": 1,
    }
