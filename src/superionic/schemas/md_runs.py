"""Outputs of the MD jobs (JobStore documents): one per segment, one per temperature.

These are the "MD task docs" layer of the data flow: they live in the jobflow JobStore. Each
trajectory is stored once: a segment's ``trajectory`` field is routed to the JobStore's
``data`` store (never inline); a segment that a rerun takes over stores no trajectory, only
``reused_from`` (the job whose output holds it); a temperature's ``MDRunDoc`` stores no
trajectory either, only :class:`TrajectoryRef` pointers to its production segments, which the
readers load and join (:mod:`superionic.md.workflow.segment_store`). A run that blew up is a document with ``status="failed"`` and a
``failure_reason``, never an exception that stops the other temperatures.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

from superionic.schemas.base import SuperionicDoc

MDStatus = Literal["completed", "failed", "skipped"]
MDStage = Literal["equilibration", "production"]


class MDProtocolFields(SuperionicDoc):
    """Fields shared by segment and temperature documents."""

    material_id: str | None = Field(None, description="Material the MD belongs to (None if ad hoc).")
    formula: str = Field(description="Reduced formula of the simulated cell.")
    engine: Literal["forcefield", "vasp"] = Field(description="MD engine.")
    force_field: str | None = Field(None, description="Force-field name (engine 'forcefield').")
    functional: str | None = Field(
        None, description="DFT functional of the run (engine 'vasp'), e.g. 'PBE', as the VASP task "
        "documents report it (their run_type) or the INCAR gives it; None when unknown."
    )
    preset: str = Field(description="Name of the MD preset (protocol) that produced this run.")
    is_quick: bool = Field(
        description="True when the protocol is the laptop-sized 'quick' one (not converged)."
    )
    temperature: float = Field(description="Thermostat target temperature (K).")
    time_step_fs: float = Field(description="MD time step (fs).")
    save_interval_steps: int = Field(description="A trajectory frame is kept every this many steps.")
    n_sites: int = Field(description="Atoms in the MD supercell.")
    status: MDStatus = Field(description="'completed', 'failed' (with a reason) or 'skipped'.")
    failure_reason: str | None = Field(None, description="Why the run failed or was skipped.")


class TrajectoryRef(BaseModel):
    """Where one production segment's trajectory is stored: the output of job ``uuid`` in
    the same JobStore (at ``path`` in it, loaded from the ``data`` store)."""

    uuid: str = Field(
        description="Job whose stored output holds the trajectory: the segment's own job, or "
        "for a segment a rerun took over, the earlier job it reuses (its ``reused_from``)."
    )
    job_uuid: str | None = Field(None, description="The segment job of this flow (== uuid unless reused).")
    path: str = Field(
        "trajectory",
        description="Path of the trajectory in that job's output: 'trajectory' (superionic "
        "segments) or 'vasp_objects.trajectory' (atomate2 VASP task documents).",
    )
    index: int = Field(description="Index of the segment within production (0-based).")
    n_frames: int = Field(0, description="Frames of the segment (VASP: ionic steps).")
    start_step: int = Field(0, description="Production step at which the segment starts.")
    end_step: int = Field(0, description="Production step at which the segment ends.")


class MDSegmentDoc(MDProtocolFields):
    """One checkpointed stretch of MD at one temperature (one job)."""

    segment_key: str = Field(
        description="Deterministic hash of everything that determines this segment (input cell, "
        "protocol, temperature, stage, index and the previous segment's key); a rerun finds a "
        "finished segment by it and reuses it instead of recomputing."
    )
    stage: MDStage = Field(description="'equilibration' (discarded) or 'production' (analysed).")
    index: int = Field(description="Index of the segment within its stage (0-based).")
    n_segments_in_stage: int = Field(description="Segments in this stage.")
    start_step: int = Field(description="Step of the stage at which this segment starts.")
    n_steps: int = Field(description="MD steps of this segment.")
    steps_run: int = Field(
        0, description="MD steps actually integrated by this job (0 when reused or skipped)."
    )
    end_step: int = Field(description="Step of the stage at which this segment ends.")
    final_structure: Structure | None = Field(
        None,
        description="Last configuration, unwrapped, with a 'velocities' site property (Angstrom/"
        "ASE time unit) from which the next segment continues.",
    )
    trajectory: Trajectory | None = Field(
        None,
        description="Frames start_step..end_step every save_interval_steps (fractional, "
        "unwrapped; frame properties energy and temperature). Stored in the data store; None "
        "when the segment was taken over from an earlier job (see reused_from).",
    )
    n_frames: int = Field(0, description="Frames in the trajectory.")
    mean_temperature: float | None = Field(None, description="Mean instantaneous temperature (K).")
    std_temperature: float | None = Field(None, description="Standard deviation of the temperature (K).")
    wall_time_s: float | None = Field(None, description="Wall time of the MD integration (s).")
    seconds_per_step: float | None = Field(None, description="Wall time per MD step (s).")
    n_threads: int | None = Field(None, description="torch CPU threads used.")
    reused_from: str | None = Field(
        None, description="uuid of the earlier job whose finished result this segment reuses; "
        "the trajectory is stored there only (this output holds none)."
    )
    software: dict[str, str] = Field(default_factory=dict, description="Versions of the MD software.")


class MDRunDoc(MDProtocolFields):
    """The MD of one material at one temperature: pointers to the production trajectory and
    bookkeeping.

    The production trajectory is not stored here: ``production_segments`` says where each
    segment's trajectory is stored, and :func:`superionic.md.workflow.segment_store.run_trajectory`
    loads and joins them. Documents written before that change carry the joined trajectory
    inline in ``trajectory``; the readers use it when it is there.
    """

    run_id: str = Field(description="Stable key: '<material_id or formula>:<engine>:<preset>:<T>K'.")
    equilibration_steps: int = Field(description="Equilibration steps (not analysed).")
    production_steps: int = Field(description="Production steps requested.")
    production_steps_done: int = Field(description="Production steps present in the trajectory.")
    n_segments: int = Field(description="Segments (jobs) of equilibration and production.")
    n_segments_reused: int = Field(0, description="Segments taken over from an earlier, interrupted run.")
    steps_run: int = Field(0, description="MD steps integrated by this flow (excludes reused segments).")
    production_segments: list[TrajectoryRef] = Field(
        default_factory=list,
        description="Where the production segments' trajectories are stored, in order (the "
        "production trajectory is these joined; see the class docstring).",
    )
    trajectory: Trajectory | None = Field(
        None,
        description="Only in documents of earlier versions (and in memory, once a reader has "
        "loaded the segments): the production trajectory, all segments joined (fractional "
        "unwrapped coordinates, time_step = time between frames in fs).",
    )
    n_frames: int = Field(0, description="Frames in the production trajectory.")
    frame_interval_fs: float = Field(description="Time between stored frames (fs).")
    mean_temperature: float | None = Field(None, description="Mean production temperature (K).")
    std_temperature: float | None = Field(None, description="Standard deviation of the production temperature (K).")
    wall_time_s: float = Field(0.0, description="Wall time of the MD integration in this flow (s).")
    supercell: dict[str, Any] = Field(default_factory=dict, description="How the MD cell was built.")
    relaxation: dict[str, Any] = Field(
        default_factory=dict,
        description="Force-field position relaxation before MD (steps, energies, max force, "
        "converged, or why it was skipped); empty for VASP.",
    )
    segment_uuids: list[str] = Field(default_factory=list, description="uuids of the segment jobs.")

    @property
    def potential(self) -> str | None:
        """What gave the forces: the force field, else the DFT functional (None if unknown)."""
        return self.force_field or self.functional
