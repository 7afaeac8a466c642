"""Position relaxation with the force field before MD (fixed cell), resumable by key."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from jobflow import Job, JobConfig, job
from pymatgen.core import Structure

from superionic.md.workflow.checkpoint import decoded, find_finished, segment_key, structure_fingerprint
from superionic.md.engines.dynamics import DEFAULT_MIN_DISTANCE, check_atoms
from superionic.md.engines.potentials import md_calculator_for
from superionic.md.workflow.forcefield import MD_THREADS
from superionic.md.presets import MDPreset


def relax_for_md(
    structure: Structure,
    preset: MDPreset | dict,
    force_field_name: str = "CHGNet",
    calculator_meta: str | None = "auto",
    min_distance: float = DEFAULT_MIN_DISTANCE,
    n_threads: int | None = None,
    calculator_kwargs: dict | None = None,
) -> Job:
    """Job: relax positions (fixed cell) with the force field -> ``{"structure", "summary"}``.

    Like a segment it has a key (input cell + settings) and takes over the result of an
    earlier identical job from its JobStore, so a resumed flow starts its MD from exactly the
    same relaxed cell (a recomputed relaxation could differ in the last digits with another
    thread count, and the segment keys would no longer match).
    """
    calculator_meta = md_calculator_for(force_field_name, calculator_meta)  # the segments' calculator
    relax_job = _relax_for_md(structure, preset, force_field_name, calculator_meta, min_distance, n_threads,
                              calculator_kwargs or {})
    relax_job.config = JobConfig(expose_store=True)
    return relax_job


@job
def _relax_for_md(structure, preset, force_field_name, calculator_meta, min_distance, n_threads,
                  calculator_kwargs=None) -> dict:
    """Never raises: overlapping atoms or an engine error keep the input structure and say why
    (the MD segments then fail with their own, recorded reason)."""
    import torch

    preset = preset if isinstance(preset, MDPreset) else MDPreset(**preset)
    key = segment_key(
        structure_fingerprint(structure), stage="relaxation", steps=preset.relax_steps,
        fmax=preset.relax_fmax, force_field=force_field_name, calculator=calculator_meta,
        **({"calculator_kwargs": calculator_kwargs} if calculator_kwargs else {}),
    )
    summary: dict[str, Any] = {"max_steps": preset.relax_steps, "fmax": preset.relax_fmax, "relaxed": False}
    if preset.relax_steps <= 0:
        summary["reason"] = "relaxation switched off (relax_steps=0)"
        return {"structure": structure, "summary": summary, "relax_key": key}
    found = find_finished({"output.relax_key": key, "output.summary.relaxed": True})
    if found is not None:
        out = decoded(found["output"])
        out["summary"] = {**out["summary"], "reused_from": found["uuid"]}
        return out
    try:
        check_atoms(structure.to_ase_atoms(), min_distance=min_distance)
        from atomate2.forcefields.jobs import ForceFieldRelaxMaker

        torch.set_num_threads(n_threads or MD_THREADS)
        kwargs = {"calculator_meta": calculator_meta} if calculator_meta else {}
        maker = ForceFieldRelaxMaker(
            force_field_name=force_field_name,
            relax_cell=False,
            steps=preset.relax_steps,
            relax_kwargs={"fmax": preset.relax_fmax},
            optimizer_kwargs={"optimizer": "FIRE"},
            calculator_kwargs=dict(calculator_kwargs or {}),
            **kwargs,
        )
        start = time.perf_counter()
        result = maker._run_ase_safe(structure)  # noqa: SLF001 - atomate2's own entry point
        wall = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - recorded, MD decides
        summary["reason"] = f"not relaxed: {type(exc).__name__}: {exc}"
        return {"structure": structure, "summary": summary, "relax_key": key}
    traj = result.trajectory
    energies = [float(p["energy"]) for p in (traj.frame_properties or []) if p.get("energy") is not None]
    forces = np.asarray(traj.frame_properties[-1].get("forces")) if traj.frame_properties else None
    max_force = float(np.linalg.norm(forces, axis=1).max()) if forces is not None and forces.size else None
    relaxed = result.final_mol_or_struct
    relaxed = Structure(relaxed.lattice, relaxed.species, relaxed.frac_coords)
    n = len(relaxed)
    summary.update(
        relaxed=True,
        steps=max(len(energies) - 1, 0),
        converged=max_force is not None and max_force <= preset.relax_fmax,
        max_force=max_force,
        energy_drop_per_atom=(energies[0] - energies[-1]) / n if len(energies) > 1 else 0.0,
        wall_time_s=wall,
        force_field=force_field_name,
    )
    return {"structure": relaxed, "summary": summary, "relax_key": key}
