"""VASP AIMD with the seed's settings: input-set generator and the per-temperature chain.

The seed's protocol (Kang et al. 2023): PBE, ENCUT 400 eV, Gamma-centred 1x1x1 k-points (on
a ~10 A supercell), POTIM 2 fs, NVT Nose-Hoover (MDALGO 2, SMASS 0), no symmetry (ISYM 0).
atomate2's ``MDSetGenerator`` starts from its PBEsol relaxation defaults and adds outputs an
AIMD run does not want: charge density files (LAECHG), the local potential (LVTOT), projected
DOS (LORBIT) and an ionic convergence criterion (EDIFFG); they are removed here. ISPIN 1 (the
candidates are closed-shell Li conductors; pymatgen's ``MPMDSet`` does the same) halves the
cost; pass ``user_incar_settings={"ISPIN": 2}`` for magnetic compounds.

One temperature is an atomate2 ``MultiMDMaker`` (equilibration segment(s), then production
segments, each continuing from the previous CONTCAR); atomate2 has no temperature series,
that is :class:`superionic.md.workflow.makers.ConductivityMDMaker`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atomate2.vasp.flows.md import MultiMDMaker
from atomate2.vasp.jobs.md import MDMaker
from atomate2.vasp.sets.core import MDSetGenerator
from pymatgen.io.vasp import Kpoints

from superionic.md.presets import MDPreset

SEED_INCAR: dict[str, Any] = {
    "GGA": "PE",  # PBE (atomate2's base set is PBEsol)
    "ENCUT": 400,
    "ISYM": 0,
    "ISPIN": 1,
    "LAECHG": None,  # None removes the key from the INCAR
    "LVTOT": None,
    "LORBIT": None,
    "EDIFFG": None,
}
"""INCAR changes on top of atomate2's ``MDSetGenerator`` (which sets MDALGO 2, SMASS 0, ISYM 0,
IBRION 0, TEBEG/TEEND, NSW, POTIM for NVT)."""


def seed_kpoints() -> Kpoints:
    """Gamma-centred 1x1x1 (the seed's supercell AIMD)."""
    return Kpoints.gamma_automatic((1, 1, 1))


@dataclass
class SeedMDSetGenerator(MDSetGenerator):
    """atomate2 ``MDSetGenerator`` with the seed's INCAR and k-points as defaults.

    ``user_incar_settings`` given by the caller are applied on top of :data:`SEED_INCAR`.
    """

    ensemble: str = "nvt"
    time_step: float = 2.0
    user_kpoints_settings: dict | Kpoints = field(default_factory=seed_kpoints)

    def __post_init__(self) -> None:
        self.user_incar_settings = {**SEED_INCAR, **(self.user_incar_settings or {})}
        super().__post_init__()


def seed_md_maker(
    temperature: float,
    n_steps: int,
    time_step_fs: float,
    name: str,
    user_incar_settings: dict | None = None,
    user_kpoints_settings: dict | Kpoints | None = None,
) -> MDMaker:
    """One VASP MD job maker (one segment) at ``temperature`` with the seed's settings."""
    kwargs: dict[str, Any] = {}
    if user_kpoints_settings is not None:
        kwargs["user_kpoints_settings"] = user_kpoints_settings
    generator = SeedMDSetGenerator(
        start_temp=float(temperature),
        end_temp=float(temperature),
        nsteps=int(n_steps),
        time_step=float(time_step_fs),
        user_incar_settings=dict(user_incar_settings or {}),
        **kwargs,
    )
    return MDMaker(name=name, input_set_generator=generator)


def temperature_multi_md_maker(
    preset: MDPreset,
    temperature: float,
    user_incar_settings: dict | None = None,
    user_kpoints_settings: dict | Kpoints | None = None,
) -> tuple[MultiMDMaker, int]:
    """``MultiMDMaker`` for one temperature: equilibration then production segments.

    Returns the maker and the number of leading equilibration segments. Job names are
    ``"vasp md <T>K equilibration <i>"`` / ``"vasp md <T>K production <i>"`` (MultiMDMaker
    appends the 1-based position in the chain), which is also how recorded outputs are
    mapped to jobs when a run is replayed in tests.
    """
    makers: list[MDMaker] = []
    for stage in ("equilibration", "production"):
        for n_steps in preset.segment_lengths(stage):
            makers.append(
                seed_md_maker(
                    temperature,
                    n_steps,
                    preset.time_step_fs,
                    name=f"vasp md {temperature:.0f}K {stage}",
                    user_incar_settings=user_incar_settings,
                    user_kpoints_settings=user_kpoints_settings,
                )
            )
    n_equilibration = len(preset.segment_lengths("equilibration"))
    return MultiMDMaker(name=f"vasp md {temperature:.0f}K", md_makers=makers), n_equilibration
