"""Nose-Hoover NVT for the force-field engine, with checks that turn a blow-up into a reason.

atomate2's ``ForceFieldMDMaker`` accepts an ASE ``MolecularDynamics`` class as ``dynamics``.
Its own ``"nose-hoover"`` preset is ASE's (deprecated) Melchionna ``NPT`` class, which needs
``ttime`` in ``ase_md_kwargs`` -- without it the thermostat is silently off (NVE) -- and an
upper-triangular cell. :class:`GuardedNoseHooverChainNVT` is ASE's ``NoseHooverChainNVT``
(Martyna-Klein-Tuckerman chain; one thermostat = plain Nose-Hoover as in VASP MDALGO=2) plus:

- ``set_temperature``, which atomate2's temperature-schedule callback calls every step;
- every step, the O(N) checks: non-finite positions or momenta, an atom that moved more
  than ``max_step_displacement`` (Angstrom) in one step, or an instantaneous temperature
  above ``max_temperature_factor`` times the target (widened for cells so small that the
  kinetic temperature fluctuates that much);
- every ``check_interval`` steps, the neighbour-list check: two atoms closer than
  ``min_distance`` (Angstrom).

Each raises :class:`MDBlowUpError`, whose message is the reason stored in the segment
document. The per-step checks stop a run within one step of leaving physical territory:
atoms flung tens of Angstrom per step make the force field's neighbour graph grow without
bound (CHGNet reached 16 GB within seconds at 1e9 K when they ran only every 10 steps).
"""

from __future__ import annotations

import numpy as np
from ase import units
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.neighborlist import neighbor_list

from superionic.md.engines import progress

DEFAULT_MIN_DISTANCE = 0.6  # Angstrom; shorter than any bond (O-H 0.96, H-H 0.74)
DEFAULT_MAX_TEMPERATURE_FACTOR = 3.0
DEFAULT_CHECK_INTERVAL = 10
# Angstrom per step: Li moves ~0.05 A per 2 fs step at 1500 K (rms), H ~0.13 A; 1 A is ~20 rms.
DEFAULT_MAX_STEP_DISPLACEMENT = 1.0


class MDBlowUpError(RuntimeError):
    """The MD left physical territory; the message says how and at which step."""


def closest_pair(atoms, cutoff: float) -> tuple[float, int, int] | None:
    """The closest pair of atoms nearer than ``cutoff`` (periodic), or None."""
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    if len(d) == 0:
        return None
    k = int(np.argmin(d))
    return float(d[k]), int(i[k]), int(j[k])


def check_atoms(atoms, *, min_distance: float, step: int | None = None) -> None:
    """Raise :class:`MDBlowUpError` if positions are non-finite or two atoms overlap."""
    where = "before MD" if step is None else f"at step {step}"
    positions = atoms.get_positions()
    if not np.all(np.isfinite(positions)):
        raise MDBlowUpError(f"non-finite atomic positions {where}")
    pair = closest_pair(atoms, min_distance)
    if pair is not None:
        d, i, j = pair
        symbols = atoms.get_chemical_symbols()
        raise MDBlowUpError(
            f"atoms too close {where}: {symbols[i]}{i}-{symbols[j]}{j} at {d:.3f} A "
            f"(< {min_distance:g} A)"
        )


class GuardedNoseHooverChainNVT(NoseHooverChainNVT):
    """ASE ``NoseHooverChainNVT`` with ``set_temperature`` and blow-up checks (see module)."""

    def __init__(
        self,
        atoms,
        timestep: float,
        temperature_K: float,
        tdamp: float = 100 * units.fs,
        tchain: int = 3,
        tloop: int = 1,
        *,
        check_interval: int = DEFAULT_CHECK_INTERVAL,
        min_distance: float = DEFAULT_MIN_DISTANCE,
        max_temperature_factor: float = DEFAULT_MAX_TEMPERATURE_FACTOR,
        max_step_displacement: float = DEFAULT_MAX_STEP_DISPLACEMENT,
        **kwargs,
    ) -> None:
        super().__init__(atoms, timestep, temperature_K=temperature_K, tdamp=tdamp, tchain=tchain, tloop=tloop, **kwargs)
        self.target_temperature_K = float(temperature_K)
        self.check_interval = int(check_interval)
        self.min_distance = float(min_distance)
        self.max_temperature_factor = float(max_temperature_factor)
        self.max_step_displacement = float(max_step_displacement)
        self._steps_done = 0

    def set_temperature(self, temperature_K: float) -> None:
        """Change the target temperature (atomate2 calls this every step with the schedule)."""
        temperature_K = float(temperature_K)
        if temperature_K == self.target_temperature_K:
            return
        thermostat = self._thermostat
        scale = temperature_K / self.target_temperature_K
        thermostat._kT *= scale  # noqa: SLF001 - ASE keeps kT and the masses Q ~ kT private
        thermostat._Q *= scale  # noqa: SLF001
        self.target_temperature_K = temperature_K

    def step(self) -> None:
        before = self.atoms.get_positions()
        super().step()
        self._steps_done += 1
        self.check_step(self._steps_done, before)
        if self._steps_done % self.check_interval == 0:
            self.check(self._steps_done)
            progress.advance(self.check_interval)

    def temperature_limit(self) -> float:
        """``max_temperature_factor`` x target, widened for tiny cells (T fluctuates ~sqrt(2/3N))."""
        spread = np.sqrt(2.0 / (3.0 * max(len(self.atoms), 1)))
        return self.target_temperature_K * max(self.max_temperature_factor, 1.0 + 8.0 * spread)

    def check_step(self, step: int, before: np.ndarray) -> None:
        """The O(N) checks, every step: finite positions and momenta, displacement, temperature."""
        positions = self.atoms.get_positions()
        if not np.all(np.isfinite(positions)):
            raise MDBlowUpError(f"non-finite atomic positions at step {step}")
        if not np.all(np.isfinite(self.atoms.get_momenta())):
            raise MDBlowUpError(f"non-finite momenta at step {step}")
        moved = np.linalg.norm(positions - before, axis=1)
        k = int(np.argmax(moved))
        if moved[k] > self.max_step_displacement:
            symbol = self.atoms.get_chemical_symbols()[k]
            raise MDBlowUpError(
                f"atoms flung at step {step}: {symbol}{k} moved {moved[k]:.2f} A in one step "
                f"(> {self.max_step_displacement:g} A)"
            )
        temperature = self.atoms.get_temperature()
        limit = self.temperature_limit()
        if not np.isfinite(temperature) or temperature > limit:
            raise MDBlowUpError(
                f"temperature runaway at step {step}: {temperature:.0f} K "
                f"(limit {limit:.0f} K for target {self.target_temperature_K:.0f} K)"
            )

    def check(self, step: int) -> None:
        """The neighbour-list check, every ``check_interval`` steps: no two atoms overlap."""
        check_atoms(self.atoms, min_distance=self.min_distance, step=step)
