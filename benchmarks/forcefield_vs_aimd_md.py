"""Force-field MD of the seed's AIMD cells (kang2023), for the validation against their AIMD.

Runs, for each (force field, temperature, compound, seed), the project's MD protocol directly in
ASE (the same calculator, thermostat class and relaxation as ``ConductivityMDMaker``'s force-field
engine, without the jobflow bookkeeping). A force field is any name of
``superionic.md.engines.potentials.POTENTIALS`` (``chgnet-0.3.0``, ``sevennet-0``, ...; the
old ``0.3.0`` / ``r2scan`` still mean the two CHGNets), run through its ``calculator(name, md=True)`` (the calculator of the project's MD segments: CHGNet's lean
path; SevenNet compiled, runs of 2026-12-07 evening on; eager before): FIRE position relaxation (fixed cell, fmax 0.1 eV/A,
at most ``--relax-steps``), Maxwell-Boltzmann velocities, ``--eq-steps`` Nose-Hoover-chain steps
with a 25 fs time constant, then ``--prod-steps`` with 100 fs, 2 fs time step, one frame every
5 steps; ``--seeds`` pick the initial velocities (20231025 is the seed of the first table). Each
run is saved as ``<out>/<ff>_<mp-id>_<T>K_s<seed>.npz`` (fractional coordinates, cell,
species, temperatures, wall time) as soon as it finishes, so an interrupted benchmark keeps what
it did; existing files are skipped. Its record (the analysed DiffusionDoc and the run's cost, a few
kB of JSON) goes to ``--records`` at once: the committed ``benchmarks/results/forcefield_runs/``,
which ``benchmarks/forcefield_vs_aimd_table.py`` and ``forcefield_figure.py`` read.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/forcefield_vs_aimd_md.py \
        --compounds mp-557892 mp-19896 mp-532413 mp-1222492 --temperatures 800 \
        --force-fields sevennet-0 --seeds 20231025 --out benchmarks/results/ff_md_runs
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forcefield_vs_aimd_table import RECORDS, write_record  # noqa: E402

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


LEGACY_NAMES = {"0.3.0": "chgnet-0.3.0", "r2scan": "chgnet-r2scan"}
"""The force-field names of the first (CHGNet-only) table."""


def _calculator_note(calc) -> str:
    """The calculator class, and for SevenNet's MD calculator whether it ran compiled."""
    note = type(calc).__name__
    if hasattr(calc, "compiled"):
        from superionic.md.engines.sevennet_md import compile_state

        note += f" (torch.compile: {compile_state(*calc.key) if calc.compiled else 'not used'})"
    return note


def run_one(structure, model_name: str, temperature: float, args, seed: int = 20231025, calc=None) -> dict:
    """One run of the protocol (module docstring); ``calc``: an ASE calculator to use instead of
    ``calculator(model_name)`` (``model_name`` then only labels the run)."""
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.optimize import FIRE

    from superionic.md.engines.dynamics import GuardedNoseHooverChainNVT
    from superionic.md.engines.potentials import calculator

    atoms = structure.to_ase_atoms()
    atoms.calc = calc if calc is not None else calculator(LEGACY_NAMES.get(model_name, model_name), md=True)
    t0 = time.perf_counter()
    relax_steps = 0
    if args.relax_steps:
        opt = FIRE(atoms, logfile=None)
        opt.run(fmax=0.1, steps=args.relax_steps)
        relax_steps = opt.nsteps
    t_relax = time.perf_counter() - t0
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    frames, temps = [], []
    status = "completed"
    t1 = time.perf_counter()
    try:
        md = GuardedNoseHooverChainNVT(atoms, 2.0 * units.fs, temperature, tdamp=25 * units.fs)
        md.run(args.eq_steps)
        md = GuardedNoseHooverChainNVT(atoms, 2.0 * units.fs, temperature, tdamp=100 * units.fs)
        cell_inv = np.linalg.inv(atoms.cell.array)
        for _ in range(args.prod_steps // 5):
            frames.append(atoms.get_positions() @ cell_inv)  # unwrapped (ASE does not wrap)
            temps.append(atoms.get_temperature())
            md.run(5)
        frames.append(atoms.get_positions() @ cell_inv)
        temps.append(atoms.get_temperature())
    except Exception as exc:  # noqa: BLE001 - recorded
        status = f"failed: {exc}"
    wall = time.perf_counter() - t1
    return dict(
        frac=np.array(frames), lattice=atoms.cell.array, species=np.array(atoms.get_chemical_symbols()),
        temperatures=np.array(temps), temperature=temperature, status=status, wall_md_s=wall,
        wall_relax_s=t_relax, relax_steps=relax_steps, md_steps=args.eq_steps + args.prod_steps,
        n_atoms=len(atoms), frame_interval_fs=10.0, model=model_name, seed=seed, calculator=_calculator_note(atoms.calc),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        load_start=os.getloadavg()[0],
    )


def main() -> None:
    import torch
    from pymatgen.core import Structure

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--compounds", nargs="+", default=["mp-19896", "mp-557892", "mp-532413", "mp-1222404"])
    parser.add_argument("--temperatures", nargs="+", type=float, default=[1100.0, 800.0])
    parser.add_argument("--force-fields", nargs="+", default=["0.3.0"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[20231025],
                        help="velocity seeds; every (ff, T, compound) runs once per seed, seeds outermost")
    parser.add_argument("--relax-steps", type=int, default=100)
    parser.add_argument("--eq-steps", type=int, default=250)
    parser.add_argument("--prod-steps", type=int, default=1250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ff_vs_aimd"), help="trajectories (npz)")
    parser.add_argument("--records", type=Path, default=RECORDS, help="per-run records (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    cells = args.data / "corpus" / "mp_structures" / "kang2023_aimd_cells"
    jobs = [(seed, t, ff, mid) for seed in args.seeds for t in args.temperatures
            for ff in args.force_fields for mid in args.compounds]  # in the order given
    for seed, t, ff, mid in jobs:
        path = args.out / f"{ff}_{mid}_{t:.0f}K_s{seed}.npz"
        if path.exists():
            continue
        s = Structure.from_file(cells / f"{mid}_aimd_cell.json")
        out = run_one(s, ff, t, args, seed)
        np.savez_compressed(path, **out)
        write_record(path, args.records)
        per = out["wall_md_s"] / max(out["md_steps"], 1) / out["n_atoms"] * 1e3
        print(f"{ff} {mid} {s.composition.reduced_formula} {t:.0f} K seed {seed}: {out['status']}, "
              f"MD {out['wall_md_s']:.0f} s ({per:.2f} ms/atom-step), relax "
              f"{out['wall_relax_s']:.0f} s, load {out['load_start']:.1f}->"
              f"{os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
