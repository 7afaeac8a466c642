"""SevenNet's MD calculator compiled vs eager: CPU per force call on the seed's AIMD cells.

For each potential and cell, one process (1 thread) evaluates the same randomly displaced
configurations with ``SevenNetMDCalculator(compiled=False)`` and ``(compiled=True)``, A/B
interleaved after one warm-up call each (the compiled one's first call includes compiling and
the eager check: printed apart), and prints the median CPU seconds per call, ms per atom-step,
the speed-up, and the largest force and energy differences between the two. Process CPU time,
so a shared machine changes it less than wall time.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/sevennet_compile_speed.py \
        [--potentials sevennet-0 sevennet-mf-0-pbe sevennet-l3i5] [--cells mp-532413 ...] [--calls 5]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CELLS = ("mp-19896", "mp-557892", "mp-532413", "mp-1222404", "mp-1222492", "mp-676361", "mp-1106183",
         "mp-1195055", "mp-29410")


def measure(structure, potential: str, calls: int, seed: int = 0) -> dict:
    from superionic.md.engines.potentials import get_potential
    from superionic.md.engines.sevennet_md import SevenNetMDCalculator

    kwargs = get_potential(potential).calculator_kwargs
    eager, compiled = structure.to_ase_atoms(), structure.to_ase_atoms()
    eager.calc = SevenNetMDCalculator(compiled=False, **kwargs)
    compiled.calc = SevenNetMDCalculator(compiled=True, **kwargs)
    rng = np.random.default_rng(seed)
    eager.get_forces()
    t0 = time.process_time()
    compiled.get_forces()
    first = time.process_time() - t0
    times = {"eager": [], "compiled": []}
    d_force = d_energy = 0.0
    for _ in range(calls):
        step = rng.normal(0.0, 0.05, eager.positions.shape)
        forces = {}
        for name, atoms in (("eager", eager), ("compiled", compiled)):
            atoms.positions += step
            t0 = time.process_time()
            forces[name] = (atoms.get_forces(), atoms.get_potential_energy())
            times[name].append(time.process_time() - t0)
        d_force = max(d_force, float(np.abs(forces["eager"][0] - forces["compiled"][0]).max()))
        d_energy = max(d_energy, abs(forces["eager"][1] - forces["compiled"][1]) / len(eager))
    eager_s, compiled_s = float(np.median(times["eager"])), float(np.median(times["compiled"]))
    return dict(atoms=len(eager), eager=eager_s, compiled=compiled_s, first=first, d_force=d_force,
                d_energy=d_energy)


def main() -> None:
    import torch
    from pymatgen.core import Structure

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--potentials", nargs="+", default=["sevennet-0"])
    parser.add_argument("--cells", nargs="+", default=list(CELLS))
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cells = args.data / "corpus" / "mp_structures" / "kang2023_aimd_cells"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, torch {torch.__version__}, 1 thread, "
          f"load {os.getloadavg()[0]:.1f}; CPU s per force call, median of {args.calls} A/B pairs")
    print(f"{'potential':18s} {'cell':11s} {'formula':11s} {'atoms':>5s} {'eager s':>8s} {'compiled s':>10s} "
          f"{'ms/at-step':>16s} {'speed-up':>8s} {'first call s':>12s} {'max dF eV/A':>11s} {'dE eV/at':>9s}")
    for potential in args.potentials:
        for mp_id in args.cells:
            s = Structure.from_file(cells / f"{mp_id}_aimd_cell.json")
            r = measure(s, potential, args.calls)
            per = f"{r['eager'] / r['atoms'] * 1e3:.2f} -> {r['compiled'] / r['atoms'] * 1e3:.2f}"
            print(f"{potential:18s} {mp_id:11s} {s.composition.reduced_formula:11s} {r['atoms']:5d} "
                  f"{r['eager']:8.3f} {r['compiled']:10.3f} {per:>16s} {r['eager'] / r['compiled']:7.2f}x "
                  f"{r['first']:12.1f} {r['d_force']:11.1e} {r['d_energy']:9.1e}", flush=True)
    print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
