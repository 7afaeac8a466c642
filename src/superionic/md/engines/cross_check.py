"""A second opinion on a force-field MD run: another potential re-evaluates sampled frames.

The frames are the run's own (evenly spaced over production, the first production frame
included). Both potentials give energies and forces on them, and two numbers decide:

* ``force_mae``: mean absolute difference of the force components (all atoms; per element
  too). Two universal potentials that describe the same bonding agree to within what each
  misses of DFT; a run that went where one of them is off its training data does not.
* ``excess_energy``: how much higher the second potential puts the later half of the frames
  than the primary does, both measured from the run's relaxed start (the cell the MD began
  from, before any heating), with the primary's rise scaled by the force ratio:
  ``rise_second - rise_primary / force_ratio`` (eV/atom). For a crystal that vibrates about its
  sites both rises are thermal, and a potential ``1/force_ratio`` times stiffer puts the same
  displacements ``1/force_ratio`` times higher, so a uniformly softer primary cancels out;
  what remains is a run that went where the second potential finds it much less favourable
  than the primary does: a framework that melts under a soft potential and holds under a
  stiffer one. The reference is the relaxed start, not the first production frame, because a
  soft potential can melt a framework during equilibration already (CHGNet 0.3.0 did so with
  BaLi(BS2)3 at 800 K for one of three velocity seeds: measured from the first production
  frame, that melt looked like agreement).

The tolerances are measured, not guessed (``benchmarks/cross_check_calibration.py``): the
seed's AIMD frames and every CHGNet 0.3.0 / SevenNet-0 run that kept its framework stay inside
the energy tolerance, and CHGNet's runs of BaLi(BS2)3 at 800 K whose framework melted (the
seed's AIMD keeps it intact) fall outside it, all three velocity seeds.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from superionic.md.engines.potentials import FINETUNED_PREFIX, POTENTIALS, calculator, get_potential
from superionic.schemas.md import CrossCheck

FORCE_MAE_TOLERANCE = 0.30
"""eV/A: CHGNet 0.3.0 vs SevenNet-0 force difference above which the run is disowned."""
EXCESS_ENERGY_TOLERANCE = 0.065
"""eV/atom: energy rise under the second potential beyond the primary's scaled one (calibrated:
intact runs and AIMD frames <= 0.050, CHGNet's BaLi(BS2)3 melts >= 0.084;
benchmarks/results/cross_check_calibration.txt)."""
DEFAULT_SECOND = {"CHGNet": "sevennet-0", "SevenNet": "chgnet-0.3.0"}
"""The second opinion of each family: the other family (independent architecture). A fine-tuned
CHGNet (``CHGNet:ft-...``) is of the CHGNet family: SevenNet-0 checks it."""


def potential_name(label: str) -> str | None:
    """The potential name of a label stored on MD documents ('CHGNet' -> 'chgnet-0.3.0',
    'CHGNet:ft-<id>' -> 'finetuned:ft-<id>')."""
    family, _, tag = label.partition(":")
    if family == "CHGNet" and tag.startswith("ft-"):
        return f"{FINETUNED_PREFIX}{tag}"
    return next((name for name, p in POTENTIALS.items() if p.label == label), None)


def second_opinion_for(primary_label: str) -> str | None:
    """The default second potential for runs of ``primary_label`` (another family), if installed."""
    name = DEFAULT_SECOND.get(primary_label.split(":")[0])
    return name if name and POTENTIALS[name].installed else None


def sample_indices(n_frames: int, n_samples: int) -> list[int]:
    """``n_samples`` frame indices evenly spread over ``n_frames``, first and last included."""
    if n_frames < 2:
        raise ValueError("a cross-check needs at least two frames")
    return sorted({int(round(i)) for i in np.linspace(0, n_frames - 1, min(n_samples, n_frames))})


def _energies_forces(name: str, frames) -> tuple[np.ndarray, np.ndarray]:
    calc = calculator(name)
    energies, forces = [], []
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = calc
        energies.append(float(atoms.get_potential_energy()) / len(atoms))
        forces.append(np.asarray(atoms.get_forces(), dtype=float))
    return np.array(energies), np.array(forces)


def cross_check(
    frames, primary: str, second: str, *, reference=None,
    force_tolerance: float | None = None, energy_tolerance: float | None = None,
    frame_indices: list[int] | None = None,
) -> CrossCheck:
    """Re-evaluate ``frames`` (ASE ``Atoms``, in time order, at least two) with the potentials
    ``primary`` and ``second`` (registry or ``finetuned:`` names); energies rise from
    ``reference`` (the run's relaxed start; default: the first frame). See the module docstring
    for what decides (tolerances default to :data:`FORCE_MAE_TOLERANCE` and
    :data:`EXCESS_ENERGY_TOLERANCE`)."""
    force_tolerance = FORCE_MAE_TOLERANCE if force_tolerance is None else force_tolerance
    energy_tolerance = EXCESS_ENERGY_TOLERANCE if energy_tolerance is None else energy_tolerance
    if len(frames) < 2:
        raise ValueError("a cross-check needs at least two frames")
    start = time.perf_counter()
    evaluated = [frames[0] if reference is None else reference, *frames]
    e1, f1 = _energies_forces(primary, evaluated)
    e2, f2 = _energies_forces(second, evaluated)
    (ref1, e1, f1), (ref2, e2, f2) = (e1[0], e1[1:], f1[1:]), (e2[0], e2[1:], f2[1:])
    symbols = np.array(frames[0].get_chemical_symbols())
    diff = np.abs(f1 - f2)  # (frames, atoms, 3)
    per_element: dict[str, float] = defaultdict(float)
    for element in dict.fromkeys(symbols):
        per_element[element] = float(diff[:, symbols == element, :].mean())
    per_element["all"] = float(diff.mean())
    later = slice(len(frames) // 2, None)
    rise1 = float(e1[later].mean() - ref1)
    rise2 = float(e2[later].mean() - ref2)
    ratio = float(np.linalg.norm(f1, axis=-1).sum() / np.linalg.norm(f2, axis=-1).sum())
    excess = rise2 - rise1 / ratio
    agree = per_element["all"] <= force_tolerance and excess <= energy_tolerance
    label2, label1 = get_potential(second).label, get_potential(primary).label
    summary = (f"cross-checked with {label2}: {'agree' if agree else 'disagree'} (force difference "
               f"{per_element['all']:.2f} eV/A, tolerance {force_tolerance:g}; energy rise "
               f"{excess:+.3f} eV/atom beyond {label1}'s scaled by the force ratio, tolerance "
               f"{energy_tolerance:g}; {label1} forces {ratio:.2f}x {label2}'s)")
    return CrossCheck(
        potential=label2, primary=label1, n_frames=len(frames),
        frame_indices=list(frame_indices) if frame_indices is not None else list(range(len(frames))),
        reference="first frame" if reference is None else "relaxed start",
        force_mae=dict(per_element), force_ratio=ratio, energy_rise_primary=rise1, energy_rise_second=rise2,
        excess_energy=excess, tolerances={"force_mae": force_tolerance, "excess_energy": energy_tolerance},
        agree=agree, summary=summary, seconds=time.perf_counter() - start,
    )


def cross_check_trajectory(trajectory, primary_label: str, second: str | None = None,
                           n_samples: int = 6, reference=None) -> CrossCheck | None:
    """:func:`cross_check` on ``n_samples`` frames of a pymatgen ``Trajectory`` of a run whose
    potential has the label ``primary_label``, from ``reference`` (the run's relaxed start, a
    pymatgen ``Structure``; default: the first frame); None when the primary is neither a
    registered nor a fine-tuned potential, or no second one is installed."""
    primary = potential_name(primary_label)
    second = second or second_opinion_for(primary_label)
    if primary is None or second is None or second == primary:
        return None
    indices = sample_indices(len(trajectory), n_samples)
    frames = [trajectory.get_structure(i).to_ase_atoms() for i in indices]
    start = reference.to_ase_atoms() if reference is not None else None
    return cross_check(frames, primary, second, reference=start, frame_indices=indices)
