"""Force-field MD speed on this CPU: steps per second for Li2O cells of several sizes.

For each force field, thread count and cell size this runs a short NVT Nose-Hoover-chain MD
(2 fs, 1000 K, ASE) after two warm-up steps and prints the wall time per MD step. Force fields:

- ``chgnet-md``    superionic's ``CHGNetMDCalculator`` (energy + forces, first-order gradient);
                   the default of ``ConductivityMDMaker``.
- ``chgnet``       the stock ``chgnet.model.dynamics.CHGNetCalculator`` as atomate2 builds it
                   (energy, forces, stress, magmoms; second-order graph).
- ``sevennet-0``   SevenNet-0 (``sevenn``; optional, skipped if not importable).
- ``chgnet-batch`` the cost per structure when CHGNet evaluates N temperatures' structures in
                   one batched call (what lock-step MD of all temperatures would cost).

The machine is shared: the load average at the start and end of each row is printed, so
numbers taken under load can be recognised. Example::

    .venv/bin/python benchmarks/forcefield_md_speed.py --threads 1 2 --sizes 48 96 192

``--compare`` instead times code paths of ``CHGNetMDCalculator`` against each other in the same
process, A/B interleaved (rounds of ``--steps`` MD steps, each path in turn, ``--repeats``
rounds; medians reported; wall time and this process's CPU time, which a shared machine
inflates less), with the project's MD class (``GuardedNoseHooverChainNVT``, per-step
blow-up checks on). Paths:

- ``before``  ``graph_builder="stock", split_atom_conv=False``: a pymatgen ``Structure``, CHGNet's
              own graph converter and ``CHGNet._compute`` every step (the calculator as it was);
- ``graph``   ``graph_builder="numpy", split_atom_conv=False``: the graph built from the
              ``Atoms`` with numpy (``superionic.md.engines.chgnet_graph``; the same tensors bit for bit);
- ``after``   ``graph_builder="numpy", split_atom_conv=True`` (the default): also the atom
              convolutions' first layer split by input block (``superionic.md.engines.chgnet_forward``;
              the same function, float32 round-off apart).

Each path runs its own trajectory from the same start; the largest position difference
from ``before`` after all rounds is printed per path (0 when a path agrees bit for bit;
round-off differences grow along a chaotic trajectory)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/forcefield_md_speed.py --compare \\
        --threads 1 --sizes 96 \\
        --structures ../shared/data/corpus/mp_structures/kang2023_aimd_cells/mp-19896_aimd_cell.json
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

LI2O_A = 4.61  # Angstrom, antifluorite Li2O (12 atoms in the conventional cell)
SIZES = {24: (1, 1, 2), 48: (2, 2, 1), 96: (2, 2, 2), 144: (3, 2, 2), 192: (4, 2, 2), 216: (3, 3, 2)}


def li2o_cell(n_atoms: int):
    from pymatgen.core import Lattice, Structure

    if n_atoms not in SIZES:
        raise SystemExit(f"--sizes must be among {sorted(SIZES)}")
    conv = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(LI2O_A), ["Li", "O"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    return conv * SIZES[n_atoms]


def make_calculator(name: str):
    if name == "chgnet-md":
        from superionic.md.engines.calculators import CHGNetMDCalculator

        return CHGNetMDCalculator()
    if name == "chgnet":
        from chgnet.model.dynamics import CHGNetCalculator

        from superionic.md.engines.calculators import load_chgnet

        return CHGNetCalculator(model=load_chgnet(), use_device="cpu")
    if name == "sevennet-0":
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator("7net-0", device="cpu")
    raise ValueError(name)


def time_md(calculator, structure, n_steps: int) -> float:
    """Seconds per MD step (NVT Nose-Hoover chain, 1000 K, 2 fs) after 2 warm-up steps."""
    from ase import units
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    atoms = structure.to_ase_atoms()
    atoms.calc = calculator
    MaxwellBoltzmannDistribution(atoms, temperature_K=1000, rng=np.random.default_rng(0))
    dyn = NoseHooverChainNVT(atoms, timestep=2 * units.fs, temperature_K=1000, tdamp=100 * units.fs)
    dyn.run(2)
    start = time.perf_counter()
    dyn.run(n_steps)
    return (time.perf_counter() - start) / n_steps


def time_batch(structure, n_structures: int, n_repeats: int) -> float:
    """Seconds per structure when CHGNet evaluates ``n_structures`` perturbed copies at once."""
    import torch
    from chgnet.model.model import BatchedGraph

    from superionic.md.engines.calculators import load_chgnet

    model = load_chgnet()
    rng = np.random.default_rng(0)
    from pymatgen.core import Structure

    copies = [
        Structure(
            structure.lattice,
            structure.species,
            structure.cart_coords + rng.normal(0, 0.05, (len(structure), 3)),
            coords_are_cartesian=True,
        )
        for _ in range(n_structures)
    ]

    def once() -> None:
        graphs = [model.graph_converter(s) for s in copies]
        batch = BatchedGraph.from_graphs(
            graphs,
            bond_basis_expansion=model.bond_basis_expansion,
            angle_basis_expansion=model.angle_basis_expansion,
            compute_stress=False,
        )
        energy = model._compute(batch, compute_force=False)["e"].sum()  # noqa: SLF001
        torch.autograd.grad(energy, batch.atom_positions)

    once()
    start = time.perf_counter()
    for _ in range(n_repeats):
        once()
    return (time.perf_counter() - start) / (n_repeats * n_structures)


COMPARE_PATHS = {
    "before": {"graph_builder": "stock", "split_atom_conv": False},
    "graph": {"graph_builder": "numpy", "split_atom_conv": False},
    "after": {"graph_builder": "numpy", "split_atom_conv": True},
}


def compare_paths(structure, threads: int, n_steps: int, n_repeats: int) -> dict:
    """Interleaved A/B: seconds per MD step of each path in ``COMPARE_PATHS``, per round."""
    import torch
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from superionic.md.engines.calculators import CHGNetMDCalculator, load_chgnet
    from superionic.md.engines.dynamics import GuardedNoseHooverChainNVT

    torch.set_num_threads(threads)
    model = load_chgnet()
    runs = {}
    for name, kwargs in COMPARE_PATHS.items():
        atoms = structure.to_ase_atoms()
        atoms.calc = CHGNetMDCalculator(model=model, **kwargs)
        MaxwellBoltzmannDistribution(atoms, temperature_K=1000, rng=np.random.default_rng(0))
        dyn = GuardedNoseHooverChainNVT(atoms, timestep=2 * units.fs, temperature_K=1000)
        dyn.run(2)  # warm-up
        runs[name] = dyn
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu_times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(n_repeats):
        for name, dyn in runs.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            dyn.run(n_steps)
            times[name].append((time.perf_counter() - start) / n_steps)
            cpu_times[name].append((time.process_time() - cpu_start) / n_steps)
    reference = runs["before"].atoms.positions
    drift = {name: float(np.abs(dyn.atoms.positions - reference).max()) for name, dyn in runs.items()}
    return {"times": times, "cpu_times": cpu_times, "drift": drift}


def main_compare(args) -> None:
    from importlib.metadata import version

    from pymatgen.core import Structure

    cells = [(f"Li2O {n}", li2o_cell(n)) for n in args.sizes]
    cells += [(p.name.split("_")[0], Structure.from_file(p)) for p in args.structures]
    print(
        f"A/B interleaved: {args.repeats} rounds x {args.steps} MD steps per path (NVT 1000 K, 2 fs, "
        f"GuardedNoseHooverChainNVT); medians of the rounds; {os.cpu_count()} CPUs visible; "
        f"torch {__import__('torch').__version__}, chgnet {version('chgnet')}"
    )
    header = (
        f"{'cell':<14}{'atoms':>6}{'threads':>8}{'path':>8}{'ms/step':>9}{'ms/atom-step':>14}"
        f"{'min-max':>15}{'speed-up':>10}{'CPU ms/atom-step':>18}{'speed-up':>10}  load avg 1-min (start/end)"
    )
    print(header)
    print("-" * len(header))
    for cell_name, structure in cells:
        n_atoms = len(structure)
        for threads in args.threads:
            load0 = os.getloadavg()[0]
            result = compare_paths(structure, threads, args.steps, args.repeats)
            load1 = os.getloadavg()[0]
            base = float(np.median(result["times"]["before"]))
            cpu_base = float(np.median(result["cpu_times"]["before"]))
            for name, values in result["times"].items():
                med = float(np.median(values))
                cpu = float(np.median(result["cpu_times"][name]))
                per_atom = [1e3 * v / n_atoms for v in values]
                print(
                    f"{cell_name:<14}{n_atoms:>6}{threads:>8}{name:>8}{1e3 * med:>9.1f}{1e3 * med / n_atoms:>14.3f}"
                    f"{f'{min(per_atom):.2f}-{max(per_atom):.2f}':>15}{base / med:>9.2f}x"
                    f"{1e3 * cpu / n_atoms:>18.3f}{cpu_base / cpu:>9.2f}x  {load0:.2f}/{load1:.2f}",
                    flush=True,
                )
            drift = ", ".join(f"{name} {value:.1e}" for name, value in result["drift"].items() if name != "before")
            print(f"{'':<14}largest position difference from 'before' after "
                  f"{2 + args.repeats * args.steps} steps (A): {drift}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sizes", type=int, nargs="*", default=[48, 96, 192], help="Li2O cell sizes (none: only --structures)")
    parser.add_argument("--steps", type=int, default=10, help="timed MD steps per row")
    parser.add_argument(
        "--force-fields", nargs="+", default=["chgnet-md", "chgnet", "sevennet-0", "chgnet-batch"]
    )
    parser.add_argument("--batch", type=int, default=4, help="structures per batched call")
    parser.add_argument(
        "--structures", nargs="*", default=[], type=Path,
        help="also time these structure files (e.g. the seed's AIMD cells), as they are",
    )
    parser.add_argument(
        "--compare", action="store_true",
        help="A/B interleaved: the CHGNet calculator's code paths before / after (see module docstring)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="A/B rounds with --compare")
    args = parser.parse_args()
    if args.compare:
        main_compare(args)
        return

    import torch
    from pymatgen.core import Structure

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs visible")
    header = (
        f"{'force field':<14}{'threads':>8}{'atoms':>7}{'s/step':>9}{'steps/s':>9}{'us/atom-step':>14}"
        "  load avg (start/end)  cell"
    )
    print(header)
    print("-" * len(header))
    for ff in args.force_fields:
        calculator = None
        if ff != "chgnet-batch":
            try:
                calculator = make_calculator(ff)
            except ImportError as exc:
                print(f"{ff:<14} skipped: {exc}")
                continue
        for threads in args.threads:
            torch.set_num_threads(threads)
            cells = [(f"Li2O {n}", li2o_cell(n)) for n in args.sizes]
            cells += [(p.name.split("_")[0], Structure.from_file(p)) for p in args.structures]
            for cell_name, structure in cells:
                n_atoms = len(structure)
                load0 = os.getloadavg()[0]
                if ff == "chgnet-batch":
                    per_step = time_batch(structure, args.batch, max(2, args.steps // args.batch))
                    label = f"chgnet-batch{args.batch}"
                else:
                    per_step = time_md(calculator, structure, args.steps)
                    label = ff
                load1 = os.getloadavg()[0]
                print(
                    f"{label:<14}{threads:>8}{n_atoms:>7}{per_step:>9.3f}{1 / per_step:>9.2f}"
                    f"{1e6 * per_step / n_atoms:>14.0f}  {load0:.2f}/{load1:.2f}  {cell_name}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
