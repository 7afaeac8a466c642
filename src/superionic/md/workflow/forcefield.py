"""Force-field MD in checkpointed segments, on atomate2's ``ForceFieldMDMaker``.

One segment = one jobflow job = ``ForceFieldMDMaker(...).run_ase`` for ``n_steps`` steps,
started from the previous segment's final positions *and velocities*. Its output
(:class:`~superionic.schemas.md_runs.MDSegmentDoc`) carries the trajectory chunk (routed to the
JobStore's ``data`` store) and the final state.

Resume: every segment has a ``segment_key``, a hash of everything that determines it (the
input cell, the protocol, the temperature, stage, index and the previous segment's key).
Before integrating, the job looks in its JobStore for a *completed* segment with that key;
if there is one (an earlier, interrupted run of the same flow), its result is taken over
and no step is recomputed. The taken-over output stores no trajectory, only
``reused_from`` (the job whose output holds it), which the readers follow. So rerunning an interrupted ``run_locally`` flow continues after
the last finished segment. (Under FireWorks / jobflow-remote, finished jobs are simply not
rerun; the key check then finds nothing and costs one query.)

Continuity: positions (unwrapped) and velocities carry over exactly; the Nose-Hoover chain's
own variables restart from zero at each segment boundary (as in a VASP restart), a small
perturbation every ``segment_steps``. An interrupted-and-resumed run is identical to an
uninterrupted one (same boundaries, same seeds) up to floating-point differences when the
thread count differs.

Failures are data: a blow-up (see :mod:`superionic.md.engines.dynamics`) or any error of the engine
gives ``status="failed"`` with the reason; later segments of that temperature are
``"skipped"`` with the reason, and the other temperatures carry on.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jobflow import Job, JobConfig, Maker, job
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

from superionic.md.engines import progress
from superionic.md.workflow.checkpoint import decoded, find_finished_segment, segment_key, structure_fingerprint
from superionic.md.engines.dynamics import (
    DEFAULT_CHECK_INTERVAL,
    DEFAULT_MAX_STEP_DISPLACEMENT,
    DEFAULT_MAX_TEMPERATURE_FACTOR,
    DEFAULT_MIN_DISTANCE,
    GuardedNoseHooverChainNVT,
    check_atoms,
)
from superionic.md.engines.potentials import MD_CALCULATORS, get_potential, md_calculator_for, potential_label
from superionic.md.presets import MAX_DOCUMENT_BYTES, MDPreset, segment_bytes
from superionic.schemas.md_runs import MDSegmentDoc

logger = logging.getLogger(__name__)


def segment_maker_for(force_field: str = "chgnet-0.3.0", stores=None, **kwargs: Any) -> ForceFieldSegmentMaker:
    """The segment maker of a recipe's force field name (see
    :data:`superionic.md.engines.potentials.POTENTIALS`; ``finetuned:<id>``: its record is read
    from ``stores``, default the settings' store)."""
    potential = get_potential(force_field, stores)
    return ForceFieldSegmentMaker(force_field_name=potential.force_field_name,
                                  calculator_kwargs=dict(potential.calculator_kwargs), **kwargs)


# ------------------------------------------------------------------------------------------
# small pure helpers
# ------------------------------------------------------------------------------------------
MD_THREADS = 1
"""torch CPU threads of an MD segment unless a recipe or ``--threads`` says otherwise. Fixed, not
chosen from the machine's load: SevenNet-0's forces with 1 and 2 threads differ by 3e-7 eV/A on
a 216-atom cell (CHGNet's are bitwise equal), and MD amplifies any difference, so a
load-dependent thread count made the same recipe give other numbers on a busy machine. One
thread is also the faster choice on a loaded 2-core machine (benchmarks/forcefield_md_speed.py)."""


def velocities_from_momenta(structure: Structure) -> np.ndarray | None:
    """Velocities (Angstrom / ASE time unit) from a 'momenta' site property (ASE masses)."""
    from ase.data import atomic_masses

    momenta = structure.site_properties.get("momenta")
    if momenta is None:
        return None
    masses = np.array([atomic_masses[site.specie.Z] for site in structure])
    return np.asarray(momenta, dtype=float) / masses[:, None]


def state_structure(structure: Structure, velocities: np.ndarray | None) -> Structure:
    """Positions (unwrapped) + velocities only: the state a segment hands to the next."""
    return Structure(
        structure.lattice,
        structure.species,
        structure.frac_coords,
        site_properties={"velocities": np.asarray(velocities).tolist()} if velocities is not None else None,
    )


def slim_trajectory(traj: Trajectory, frame_interval_fs: float) -> Trajectory:
    """Positions, lattice, energy and temperature per frame; forces/stress/velocities dropped."""
    traj = copy.deepcopy(traj)
    traj.to_positions()
    coords = np.asarray(traj.coords, dtype=float)
    lattice = np.asarray(traj.lattice, dtype=float)
    if lattice.ndim == 3:
        lattice = lattice[0]
    props = []
    for p in traj.frame_properties or [{} for _ in range(len(coords))]:
        props.append(
            {
                "energy": float(p["energy"]) if p.get("energy") is not None else None,
                "temperature": float(p["temperature"]) if p.get("temperature") is not None else None,
            }
        )
    return Trajectory(
        lattice=lattice,
        species=list(traj.species),
        coords=coords,
        frame_properties=props,
        constant_lattice=True,
        time_step=frame_interval_fs,
    )


# ------------------------------------------------------------------------------------------
# the segment maker
# ------------------------------------------------------------------------------------------
@dataclass
class ForceFieldSegmentMaker(Maker):
    """One NVT segment with a universal force field (atomate2 ``ForceFieldMDMaker``).

    Parameters
    ----------
    name : str
        Job name prefix.
    force_field_name : str
        atomate2 MLFF name (``"CHGNet"`` by default, weights bundled in the wheel).
    calculator_meta : str | None
        Import path of the ASE calculator. ``"auto"`` (default): the project's MD calculator of
        the family (``MD_CALCULATORS``: CHGNet's leaner ``CHGNetMDCalculator``, SevenNet's compiled
        ``SevenNetMDCalculator``; same weights, energy + forces only); ``None`` uses atomate2's.
    calculator_kwargs : dict
        Passed to the calculator.
    n_threads : int | None
        torch CPU threads; ``None`` = :data:`MD_THREADS` (fixed, so results do not depend on load).
    min_distance, max_temperature_factor, max_step_displacement, check_interval
        Blow-up checks (see :mod:`superionic.md.engines.dynamics`).
    """

    name: str = "forcefield md segment"
    force_field_name: str = "CHGNet"
    calculator_meta: str | None = "auto"
    calculator_kwargs: dict = field(default_factory=dict)
    n_threads: int | None = None
    min_distance: float = DEFAULT_MIN_DISTANCE
    max_temperature_factor: float = DEFAULT_MAX_TEMPERATURE_FACTOR
    max_step_displacement: float = DEFAULT_MAX_STEP_DISPLACEMENT
    check_interval: int = DEFAULT_CHECK_INTERVAL

    @property
    def md_calculator(self) -> str | None:
        """The calculator (import path) the segment runs; None: atomate2's own for the family."""
        return md_calculator_for(self.force_field_name, self.calculator_meta)

    def make(
        self,
        start: Structure | MDSegmentDoc | dict,
        *,
        preset: MDPreset | dict,
        temperature: float,
        stage: str,
        index: int,
        n_segments_in_stage: int,
        start_step: int,
        n_steps: int,
        material_id: str | None = None,
    ) -> Job:
        """A job running (or taking over) one segment that starts from ``start``.

        The job sees its JobStore (``expose_store``) so that it can find a finished segment
        with the same key; its trajectory goes to the ``data`` store.
        """
        segment_job = self.run_segment(
            start,
            preset=preset,
            temperature=temperature,
            stage=stage,
            index=index,
            n_segments_in_stage=n_segments_in_stage,
            start_step=start_step,
            n_steps=n_steps,
            material_id=material_id,
        )
        segment_job.name = f"{self.name} {temperature:.0f}K {stage} {index + 1}/{n_segments_in_stage}"
        segment_job.config = JobConfig(expose_store=True)
        return segment_job

    @job(data=["trajectory"], output_schema=MDSegmentDoc)
    def run_segment(
        self,
        start: Structure | MDSegmentDoc | dict,
        *,
        preset: MDPreset | dict,
        temperature: float,
        stage: str,
        index: int,
        n_segments_in_stage: int,
        start_step: int,
        n_steps: int,
        material_id: str | None = None,
    ) -> MDSegmentDoc:
        """Run (or take over) one segment starting from ``start`` (the job's function)."""
        preset = preset if isinstance(preset, MDPreset) else MDPreset(**preset)
        structure, previous = _start_state(start)
        base = {
            "material_id": material_id,
            "formula": structure.composition.reduced_formula if structure else previous.formula,
            "engine": "forcefield",
            "force_field": potential_label(self.force_field_name, self.calculator_kwargs),
            "preset": preset.name,
            "is_quick": preset.is_quick,
            "temperature": float(temperature),
            "time_step_fs": preset.time_step_fs,
            "save_interval_steps": preset.save_interval_steps,
            "n_sites": len(structure) if structure else previous.n_sites,
            "stage": stage,
            "index": index,
            "n_segments_in_stage": n_segments_in_stage,
            "start_step": start_step,
            "n_steps": n_steps,
            "end_step": start_step + n_steps,
        }
        previous_key = previous.segment_key if previous is not None else structure_fingerprint(structure)
        key = segment_key(
            previous_key,
            stage=stage,
            index=index,
            start_step=start_step,
            n_steps=n_steps,
            temperature=float(temperature),
            force_field=self.force_field_name,
            calculator=self.md_calculator,
            calculator_kwargs=self.calculator_kwargs,
            time_step_fs=preset.time_step_fs,
            damping_fs=_damping_fs(preset, stage),
            chain=preset.nose_hoover_chain_length,
            save_interval=preset.save_interval_steps,
            seed=preset.velocity_seed,
        )
        label = f"{base['formula']} {temperature:.0f} K {stage} {index + 1}/{n_segments_in_stage}"

        if previous is not None and previous.status != "completed":
            reason = f"previous segment {previous.status}: {previous.failure_reason}"
            progress.begin_segment(label, n_steps)
            progress.end_segment("failed", message=reason)
            return MDSegmentDoc(**base, segment_key=key, status="skipped", failure_reason=reason)

        found = find_finished_segment(key)
        if found is not None:
            doc = MDSegmentDoc.model_validate(decoded(found["output"]))
            progress.begin_segment(label, n_steps)
            progress.end_segment("reused", steps=n_steps)
            logger.info("%s: reusing finished segment of job %s", label, found["uuid"])
            # a pointer to the job that stored the trajectory, never a second copy of it
            return doc.model_copy(update={"reused_from": doc.reused_from or found["uuid"], "steps_run": 0,
                                          "trajectory": None})

        n_frames = n_steps // preset.save_interval_steps + 1
        size = segment_bytes(n_frames, base["n_sites"])
        if size > MAX_DOCUMENT_BYTES:
            reason = (f"the segment's trajectory ({n_frames} frames x {base['n_sites']} atoms, ~{size / 1e6:.0f} MB) "
                      f"would pass MongoDB's 16 MB document limit; use shorter segments (segment_steps)")
            progress.begin_segment(label, n_steps)
            progress.end_segment("failed", message=reason)
            return MDSegmentDoc(**base, segment_key=key, status="failed", failure_reason=reason)

        progress.begin_segment(label, n_steps)
        try:
            doc = self._run(structure, previous, preset, temperature, stage, n_steps, base, key)
        except Exception as exc:  # noqa: BLE001 - failures are recorded, not raised
            logger.warning("%s failed: %s", label, exc)
            progress.end_segment("failed", message=str(exc))
            return MDSegmentDoc(
                **base, segment_key=key, status="failed", failure_reason=f"{type(exc).__name__}: {exc}"
            )
        progress.end_segment("end", steps=n_steps)
        return doc

    # --------------------------------------------------------------------------------------
    def _software(self) -> dict[str, str]:
        """Versions of the MD software; for SevenNet's MD calculator, whether it ran compiled."""
        from importlib.metadata import PackageNotFoundError, version

        out = {}
        for name in ("atomate2", "ase", "chgnet", "sevenn", "torch"):
            try:
                out[name] = version(name)
            except PackageNotFoundError:  # pragma: no cover
                pass
        if self.md_calculator == MD_CALCULATORS["SevenNet"]:
            from superionic.md.engines.sevennet_md import compile_state

            out["torch.compile"] = compile_state(self.calculator_kwargs.get("model", "7net-0"),
                                                 self.calculator_kwargs.get("modal"))
        return out

    def _atomate2_maker(self, preset: MDPreset, temperature: float, n_steps: int, seed: int, stage: str):
        from ase import units
        from atomate2.forcefields.md import ForceFieldMDMaker

        kwargs: dict[str, Any] = {}
        if self.md_calculator is not None:
            kwargs["calculator_meta"] = self.md_calculator
        return ForceFieldMDMaker(
            force_field_name=self.force_field_name,
            ensemble="nvt",
            dynamics=GuardedNoseHooverChainNVT,
            temperature=float(temperature),
            time_step=preset.time_step_fs,
            n_steps=n_steps,
            traj_interval=preset.save_interval_steps,
            mb_velocity_seed=seed,
            zero_linear_momentum=True,
            calculator_kwargs=dict(self.calculator_kwargs),
            ase_md_kwargs={
                "tdamp": _damping_fs(preset, stage) * units.fs,
                "tchain": preset.nose_hoover_chain_length,
                "check_interval": self.check_interval,
                "min_distance": self.min_distance,
                "max_temperature_factor": self.max_temperature_factor,
                "max_step_displacement": self.max_step_displacement,
            },
            **kwargs,
        )

    def _run(self, structure, previous, preset, temperature, stage, n_steps, base, key) -> MDSegmentDoc:
        import torch

        n_threads = self.n_threads or MD_THREADS
        torch.set_num_threads(n_threads)
        check_atoms(structure.to_ase_atoms(), min_distance=self.min_distance)
        seed = preset.velocity_seed + int(round(temperature))
        maker = self._atomate2_maker(preset, temperature, n_steps, seed, stage)
        start = time.perf_counter()
        result = maker._run_ase_safe(structure)  # noqa: SLF001 - atomate2's own entry point
        wall = time.perf_counter() - start

        final = result.final_mol_or_struct
        velocities = velocities_from_momenta(final)
        if velocities is None:
            raise RuntimeError("the MD engine returned no momenta for the final state")
        interval_fs = preset.save_interval_steps * preset.time_step_fs
        traj = slim_trajectory(result.trajectory, interval_fs)
        temps = np.array([p["temperature"] for p in traj.frame_properties if p["temperature"] is not None])
        return MDSegmentDoc(
            **base,
            segment_key=key,
            status="completed",
            steps_run=n_steps,
            final_structure=state_structure(final, velocities),
            trajectory=traj,
            n_frames=len(traj),
            mean_temperature=float(temps[1:].mean()) if len(temps) > 1 else None,
            std_temperature=float(temps[1:].std()) if len(temps) > 1 else None,
            wall_time_s=wall,
            seconds_per_step=wall / max(n_steps, 1),
            n_threads=n_threads,
            software=self._software(),
        )


def _damping_fs(preset: MDPreset, stage: str) -> float:
    """Thermostat time constant: tight while equilibrating, the production one after."""
    return preset.equilibration_damping_fs if stage == "equilibration" else preset.thermostat_damping_fs


def _start_state(start: Any) -> tuple[Structure | None, MDSegmentDoc | None]:
    """The structure to start from (with velocities when continuing) and the previous doc."""
    if isinstance(start, dict) and "segment_key" in start:
        start = MDSegmentDoc.model_validate(decoded(start))
    if isinstance(start, MDSegmentDoc):
        return start.final_structure, start  # None after a failed / skipped segment
    if isinstance(start, dict):
        start = Structure.from_dict(start)
    if not isinstance(start, Structure):
        raise TypeError(f"a segment starts from a Structure or an MDSegmentDoc, got {type(start).__name__}")
    return start, None
