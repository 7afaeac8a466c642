"""CPU cost per atom-step of every offline potential on the seed's nine AIMD cells (1 thread).

An MD step of the embedded engine is one energy + force call plus an integrator step that
costs nothing beside it, so the cost per atom-step is the cost of a force call divided by the
atoms. For each cell (``shared/data/corpus/mp_structures/kang2023_aimd_cells``, 64-144 atoms)
the potentials are timed A/B interleaved in one process: ``--rounds`` rounds, in each every
potential makes ``--calls`` force calls on its own copy of the cell (one ``Atoms`` per
potential, moved in place as MD moves it) with fresh random displacements (0.05 A, so no call
is answered from a cache); reported are the median over rounds of this process's
CPU time per call and atom (a shared machine inflates CPU time much less than wall time), the
wall time beside it, and the load average. One warm-up call per potential and cell is not
timed (graph set-up, lazy initialisation).

    OMP_NUM_THREADS=1 python benchmarks/forcefield_cost_seed_cells.py
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
CELLS = ["mp-19896", "mp-557892", "mp-532413", "mp-1222404", "mp-1222492", "mp-676361", "mp-1106183",
         "mp-1195055", "mp-29410"]


def main() -> None:
    import torch
    from pymatgen.core import Structure

    from superionic.md.engines.potentials import POTENTIALS, calculator

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cells", nargs="+", default=CELLS)
    parser.add_argument("--potentials", nargs="+", default=[n for n, p in POTENTIALS.items() if p.installed])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    root = args.data / "corpus" / "mp_structures" / "kang2023_aimd_cells"
    print(f"CPU ms per atom-step (median of {args.rounds} rounds x {args.calls} force calls, A/B interleaved, "
          f"1 thread; torch {torch.__version__}); wall in brackets; load average 1-min at start/end of each cell")
    print(f"{'cell':11s} {'formula':11s} {'atoms':>5s} " + " ".join(f"{p:>20s}" for p in args.potentials) + "   load")
    totals: dict[str, list[float]] = {p: [] for p in args.potentials}
    for mp_id in args.cells:
        structure = Structure.from_file(root / f"{mp_id}_aimd_cell.json")
        base = structure.to_ase_atoms()
        n = len(base)
        load0 = os.getloadavg()[0]
        cpu: dict[str, list[float]] = {p: [] for p in args.potentials}
        wall: dict[str, list[float]] = {p: [] for p in args.potentials}
        systems = {}
        for p in args.potentials:  # one Atoms per potential, as in MD; warm-up call untimed
            systems[p] = base.copy()
            systems[p].calc = calculator(p)
            systems[p].get_forces()
        for _ in range(args.rounds):
            for p in args.potentials:
                atoms = systems[p]
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(args.calls):
                    atoms.set_positions(base.positions + rng.normal(0.0, 0.05, base.positions.shape))
                    atoms.get_potential_energy()
                    atoms.get_forces()
                cpu[p].append((time.process_time() - c0) / args.calls / n * 1e3)
                wall[p].append((time.perf_counter() - w0) / args.calls / n * 1e3)
        cols = []
        for p in args.potentials:
            c, w = float(np.median(cpu[p])), float(np.median(wall[p]))
            totals[p].append(c)
            cols.append(f"{c:8.2f} [{w:8.2f}]".rjust(20))
        print(f"{mp_id:11s} {structure.composition.reduced_formula:11s} {n:5d} " + " ".join(cols)
              + f"   {load0:.1f}/{os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'median':11s} {'':11s} {'':5s} " + " ".join(f"{np.median(v):8.2f}".ljust(11).rjust(20)
                                                       for v in totals.values()))
    base_p = args.potentials[0]
    print("relative to " + base_p + ": " + ", ".join(
        f"{p} {np.median(np.array(totals[p]) / np.array(totals[base_p])):.1f}x" for p in args.potentials))


if __name__ == "__main__":
    main()
