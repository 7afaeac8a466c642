"""Outputs of the MD jobs (JobStore documents): one per segment, one per temperature.

These are the "MD task docs" layer of the data flow: they live in the jobflow JobStore, their
``trajectory`` fields are routed to the JobStore's ``data`` store (never inline), and the
diffusion analysis reads them. A run that blew up is a document with ``status="failed"`` and a
``failure_reason``, never an exception that stops the other temperatures.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
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
        "unwrapped; frame properties energy and temperature). Stored in the data store.",
    )
    n_frames: int = Field(0, description="Frames in the trajectory.")
    mean_temperature: float | None = Field(None, description="Mean instantaneous temperature (K).")
    std_temperature: float | None = Field(None, description="Standard deviation of the temperature (K).")
    wall_time_s: float | None = Field(None, description="Wall time of the MD integration (s).")
    seconds_per_step: float | None = Field(None, description="Wall time per MD step (s).")
    n_threads: int | None = Field(None, description="torch CPU threads used.")
    reused_from: str | None = Field(
        None, description="uuid of the earlier job whose finished result this segment reuses."
    )
    software: dict[str, str] = Field(default_factory=dict, description="Versions of the MD software.")


class MDRunDoc(MDProtocolFields):
    """The MD of one material at one temperature: production trajectory and bookkeeping."""

    run_id: str = Field(description="Stable key: '<material_id or formula>:<engine>:<preset>:<T>K'.")
    equilibration_steps: int = Field(description="Equilibration steps (not analysed).")
    production_steps: int = Field(description="Production steps requested.")
    production_steps_done: int = Field(description="Production steps present in the trajectory.")
    n_segments: int = Field(description="Segments (jobs) of equilibration and production.")
    n_segments_reused: int = Field(0, description="Segments taken over from an earlier, interrupted run.")
    steps_run: int = Field(0, description="MD steps integrated by this flow (excludes reused segments).")
    trajectory: Trajectory | None = Field(
        None,
        description="Production trajectory (all segments joined, fractional unwrapped coordinates, "
        "time_step = time between frames in fs). Stored in the data store.",
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
