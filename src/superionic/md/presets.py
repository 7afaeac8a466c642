"""MD protocols: the seed's (``seed``) and a laptop-sized one (``quick``).

A preset says what MD is run for one material: the temperature series, time step,
equilibration and production lengths, the thermostat, the supercell size and how often a
frame is kept. Production is cut into *segments* of ``segment_steps``: each segment is one
job that stores its trajectory chunk and final state, so an interrupted run resumes from the
last finished segment (see ``superionic.md.workflow.makers``).

Document size: a segment's trajectory is one document of the JobStore's ``data`` store, and
MongoDB refuses documents over 16 MiB. Its BSON size is about ``BYTES_PER_ATOM_FRAME`` (44 B,
measured: ``bson.encode`` of a jsanitized pymatgen ``Trajectory``, three float64 per atom
and frame with their array keys) per atom and frame: the seed's segments (1,000 steps, a
frame every 10: 101 frames) of a 200-atom cell are 0.87 MB. Segments are capped at
``MAX_SEGMENT_FRAMES`` frames (a longer ``segment_steps`` is split,
:attr:`MDPreset.effective_segment_steps`), 15.6 MB for a 900-atom cell; a segment job whose
trajectory would still pass ``MAX_DOCUMENT_BYTES`` (at the cap, a cell of ~940 atoms or
more; at the seed's 101 frames, ~3,700 atoms) fails before integrating, with the reason
(:func:`segment_bytes`).

``quick`` is sized from measurements on this project's 2-core machine (shared, load 1-4;
``benchmarks/forcefield_md_speed.py --compare``): CHGNet (superionic's lean calculator, 1
thread) costs about 0.9-1.4 ms per atom-step on the seed's 64-144-atom sulfide cells (dense
oxides 4-6 ms), so its 500 steps at 2 temperatures take 1-2 minutes for a cell of <= 72 atoms; the
quick recipe extends production within a per-material budget (``flows/quick.yaml``). It is
far too short for converged diffusion coefficients; every document made with it carries ``preset="quick"``
and ``is_quick=True``, and the CLI prints a warning.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""MongoDB's document size limit (BSON)."""
BYTES_PER_ATOM_FRAME = 44
"""BSON bytes per atom and frame of a stored trajectory (measured, see the module docstring)."""
MAX_SEGMENT_FRAMES = 401
"""Most frames one segment stores (its first frame is the previous segment's last)."""


def segment_bytes(n_frames: int, n_sites: int) -> int:
    """Estimated BSON size of a segment trajectory of ``n_frames`` frames of ``n_sites`` atoms
    (plus 16 kB for species, lattice and frame properties' keys)."""
    return n_frames * n_sites * BYTES_PER_ATOM_FRAME + n_frames * 64 + 16_384


class MDPreset(BaseModel):
    """One MD protocol (engine independent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        description="Preset name, e.g. 'seed' or 'quick'; after overrides that change its values, "
        "the name plus the changes, e.g. 'seed+prod=20000' (eq, prod, seg, save: equilibration, "
        "production, segment, save-interval steps; dt_fs: time step; image_A: image distance)."
    )
    description: str = Field("", description="What the preset is for, in words.")
    is_quick: bool = Field(
        False, description="True for protocols too short for converged diffusion (labelled in outputs)."
    )
    temperatures: tuple[float, ...] = Field(description="Temperatures of the series (K).")
    time_step_fs: float = Field(2.0, description="MD time step (fs); VASP POTIM.")
    equilibration_steps: int = Field(description="NVT steps before production, not analysed.")
    production_steps: int = Field(description="NVT steps whose trajectory is analysed.")
    segment_steps: int = Field(
        description="Steps per checkpointed segment (one job each); an interruption loses at most one."
    )
    ensemble: Literal["nvt"] = Field("nvt", description="Statistical ensemble.")
    thermostat: Literal["nose-hoover"] = Field(
        "nose-hoover",
        description="Thermostat: Nose-Hoover (VASP MDALGO=2; ASE NoseHooverChainNVT in the "
        "force-field engine).",
    )
    thermostat_damping_fs: float = Field(
        100.0,
        description="Nose-Hoover time constant (fs) for the force-field engine; VASP's SMASS=0 "
        "corresponds to a period of 40 time steps (80 fs at 2 fs).",
    )
    equilibration_damping_fs: float = Field(
        25.0,
        description="Nose-Hoover time constant (fs) during equilibration (force-field engine): a "
        "tight coupling brings a cold start to temperature in ~100 fs; the discarded "
        "equilibration is the only place it is used.",
    )
    nose_hoover_chain_length: int = Field(
        3, description="Thermostats in the Nose-Hoover chain (1 = plain Nose-Hoover)."
    )
    min_image_distance: float = Field(
        10.0, description="Target smallest perpendicular width of the MD supercell (Angstrom)."
    )
    max_atoms: int | None = Field(
        None, description="Cap on supercell atoms (quick runs); the image distance may then fall short."
    )
    save_interval_steps: int = Field(10, description="Keep one trajectory frame every this many steps.")
    relax_steps: int = Field(
        300,
        description="Force-field engine: at most this many FIRE steps relaxing the positions "
        "(fixed cell) with the force field before MD, so that MD does not start by converting "
        "the strain of a structure relaxed elsewhere (or an MD snapshot) into heat; 0 = none. "
        "The VASP engine starts from the structure as given, as the seed did.",
    )
    relax_fmax: float = Field(0.1, description="Force-field relaxation stops below this max force (eV/A).")
    velocity_seed: int = Field(
        20231025, description="Seed of the Maxwell-Boltzmann initial velocities (per temperature offset)."
    )

    @field_validator("temperatures")
    @classmethod
    def _positive_temperatures(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("at least one temperature is needed")
        if any(t <= 0 for t in value):
            raise ValueError(f"temperatures must be > 0 K, got {value}")
        if len(set(value)) != len(value):
            raise ValueError(f"temperatures must be distinct, got {value}")
        return tuple(float(t) for t in sorted(value))

    @model_validator(mode="after")
    def _consistent_lengths(self) -> MDPreset:
        if self.time_step_fs <= 0:
            raise ValueError("time_step_fs must be > 0")
        if self.production_steps <= 0 or self.equilibration_steps < 0:
            raise ValueError("production_steps must be > 0 and equilibration_steps >= 0")
        if self.segment_steps <= 0 or self.save_interval_steps <= 0:
            raise ValueError("segment_steps and save_interval_steps must be > 0")
        for what in ("segment_steps", "production_steps", "equilibration_steps"):
            if getattr(self, what) % self.save_interval_steps:
                raise ValueError(
                    f"{what}={getattr(self, what)} must be a multiple of save_interval_steps="
                    f"{self.save_interval_steps} so that stored frames are evenly spaced"
                )
        return self

    # ------------------------------------------------------------------------------------
    @property
    def effective_segment_steps(self) -> int:
        """``segment_steps``, capped so that a segment stores at most ``MAX_SEGMENT_FRAMES``
        frames (see the module docstring)."""
        return min(self.segment_steps, (MAX_SEGMENT_FRAMES - 1) * self.save_interval_steps)

    def split_steps(self, total: int) -> list[int]:
        """``total`` steps cut into segments of ``effective_segment_steps`` (the last one may be shorter)."""
        n_full, rest = divmod(total, self.effective_segment_steps)
        return [self.effective_segment_steps] * n_full + ([rest] if rest else [])

    def segment_lengths(self, stage: Literal["equilibration", "production"]) -> list[int]:
        """Steps of each segment of a stage (the last one may be shorter)."""
        return self.split_steps(self.equilibration_steps if stage == "equilibration" else self.production_steps)

    @property
    def steps_per_temperature(self) -> int:
        return self.equilibration_steps + self.production_steps

    @property
    def production_time_ps(self) -> float:
        return self.production_steps * self.time_step_fs / 1000.0

    def n_segments(self) -> int:
        return len(self.segment_lengths("equilibration")) + len(self.segment_lengths("production"))

    def with_overrides(self, **changes) -> MDPreset:
        """A validated copy with some fields changed.

        The name says whether the protocol changed: it stays the preset's own when every
        given value equals the preset's (the seed recipe's 600-1200 K, 3,000 + 10,000 steps
        is ``seed``), and becomes :func:`changed_name` (e.g. ``'seed+prod=20000'``)
        when a value differs. Temperatures do not rename it (a subset of the series is run
        with the same protocol; every document keys its temperature). An explicit ``name``
        wins.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        data = self.model_dump()
        data.update(changes)
        candidate = MDPreset(**data)  # validated and normalised (e.g. temperatures sorted)
        if "name" in changes:
            return candidate
        return candidate.model_copy(update={"name": changed_name(self, candidate)})

    def label(self) -> str:
        """One line for logs and reports, e.g. 'quick (QUICK: not converged) 2 T x 1.2 ps'."""
        flag = " (QUICK protocol: too short for converged diffusion)" if self.is_quick else ""
        temps = "/".join(f"{t:.0f}" for t in self.temperatures)
        return (
            f"{self.name}{flag}: {temps} K, {self.time_step_fs:g} fs, "
            f"{self.equilibration_steps} eq + {self.production_steps} prod steps "
            f"({self.production_time_ps:g} ps), image distance >= {self.min_image_distance:g} A"
            + (f", <= {self.max_atoms} atoms" if self.max_atoms else "")
        )


SEED = MDPreset(
    name="seed",
    description="The seed's AIMD protocol: 600/800/1000/1200 K, 2 fs, 3,000 equilibration and "
    "10,000 production steps, NVT Nose-Hoover, ~10 A supercell.",
    temperatures=(600.0, 800.0, 1000.0, 1200.0),
    time_step_fs=2.0,
    equilibration_steps=3000,
    production_steps=10000,
    segment_steps=1000,
    min_image_distance=10.0,
    save_interval_steps=10,
)

QUICK = MDPreset(
    name="quick",
    description="Laptop smoke test of the MD stage: two hot temperatures, short runs, small "
    "cells. Diffusivities from it are indicative only.",
    is_quick=True,
    temperatures=(1000.0, 1200.0),
    time_step_fs=2.0,
    equilibration_steps=100,
    production_steps=400,
    segment_steps=100,
    min_image_distance=8.0,
    max_atoms=72,
    save_interval_steps=5,
)

PRESETS: dict[str, MDPreset] = {p.name: p for p in (SEED, QUICK)}


NAME_NEUTRAL = frozenset({"name", "description", "temperatures"})
"""Fields whose change leaves a preset's name as it is (see ``MDPreset.with_overrides``)."""

SHORT_NAMES = {
    "equilibration_steps": "eq", "production_steps": "prod", "segment_steps": "seg",
    "save_interval_steps": "save", "time_step_fs": "dt_fs", "min_image_distance": "image_A",
}
"""How a changed field is written in a preset name (other fields by their own name)."""


def changed_name(base: MDPreset, changed: MDPreset) -> str:
    """``base``'s name, plus ``+field=value`` for each protocol value ``changed`` has
    otherwise (field names shortened by ``SHORT_NAMES``, in the order of the fields), e.g.
    ``'seed+prod=20000'``; the name alone when nothing changed."""
    parts = []
    for key in MDPreset.model_fields:
        old, new = getattr(base, key), getattr(changed, key)
        if key in NAME_NEUTRAL or old == new:
            continue
        value = f"{new:g}" if isinstance(new, float) else str(new)
        parts.append(f"{SHORT_NAMES.get(key, key)}={value}")
    return "+".join([base.name, *parts])


def get_preset(name: str | MDPreset) -> MDPreset:
    """A preset by name ('seed' or 'quick'), or the preset itself."""
    if isinstance(name, MDPreset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown MD preset {name!r}; choose one of {sorted(PRESETS)}") from None


def estimated_seconds(preset: MDPreset, n_atoms: int, seconds_per_atom_step: float) -> float:
    """Wall time of one material's MD at a measured cost per atom-step (all temperatures)."""
    return math.fsum([preset.steps_per_temperature * n_atoms * seconds_per_atom_step] * len(preset.temperatures))
