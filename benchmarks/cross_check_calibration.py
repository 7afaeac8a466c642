"""Calibrate the MD cross-check's tolerances (superionic.md.engines.cross_check).

Runs the cross-check on frames whose fate is known, each measured from the relaxed start
(the cell relaxed under the primary potential as the MD does: FIRE, fmax 0.1 eV/A, at most
100 steps):

* the seed's own AIMD (shared/data/aimd/kang2023, PBE, 60 ps) at 800 K, primary CHGNet 0.3.0,
  second SevenNet-0: cells whose framework DFT keeps (BaLi(BS2)3, Li5B7S13, Li3ErBr6,
  Li3ErCl6: the potentials should agree) and Li2GePbS4, whose framework melts in the AIMD too;
* every force-field run of ``--runs`` matching ``--only`` (benchmarks/forcefield_vs_aimd_md.py's npz
  files; second: the product's own choice, ``second_opinion_for``, the other family), its framework judged by the
  project's melting detector and set beside the AIMD's at the same temperature: a run that
  melted a framework the AIMD keeps should be disowned, every other run backed.

Frames: ``--frames`` evenly spaced over ``--window-ps`` of each AIMD run after its first
0.5 ps (thermalised frames, like a production run's) and over each force-field run's production.

    OMP_NUM_THREADS=1 python benchmarks/cross_check_calibration.py --runs /work/ff_md_runs
"""

from __future__ import annotations

import argparse
import gzip
import json
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
INTACT = {"mp-557892": "BaLi(BS2)3", "mp-532413": "Li5B7S13", "mp-1222492": "Li3ErBr6", "mp-676361": "Li3ErCl6"}
MELTED_IN_AIMD = {"mp-19896": "Li2GePbS4"}


def aimd_frames(path: Path, n: int, window_ps: float):
    """ASE frames from a kang2023 DiffusionAnalyzer dict: start structure + displacements."""
    from pymatgen.core import Structure

    data = json.load(gzip.open(path))
    data = json.loads(data) if isinstance(data, str) else data
    structure = Structure.from_dict(data["structure"])
    disp = np.asarray(data["displacements"], dtype=float)  # (atoms, frames, 3), Cartesian
    dt_fs = float(data["time_step"]) * float(data["step_skip"])
    first = int(round(500.0 / dt_fs))  # past 0.5 ps: thermalised, like a production run's first frame
    last = min(disp.shape[1] - 1, first + int(window_ps * 1000 / dt_fs))
    frames = []
    for k in np.linspace(first, last, n).round().astype(int):
        atoms = structure.to_ase_atoms()
        atoms.positions = structure.cart_coords + disp[:, k, :]
        frames.append(atoms)
    return frames


def run_frames(path: Path, n: int):
    """ASE frames from a forcefield_vs_aimd_md.py run (fractional coordinates per frame)."""
    from ase import Atoms

    run = np.load(path)
    frac, lattice, species = run["frac"], run["lattice"], [str(s) for s in run["species"]]
    return [Atoms(species, positions=frac[k] @ lattice, cell=lattice, pbc=True)
            for k in np.linspace(0, len(frac) - 1, n).round().astype(int)]


def relaxed_start(cells: Path, mp_id: str, potential: str):
    """The seed's AIMD cell relaxed under ``potential`` as forcefield_vs_aimd_md.py relaxes it."""
    from ase.optimize import FIRE
    from pymatgen.core import Structure

    from superionic.md.engines.potentials import calculator

    atoms = Structure.from_file(cells / f"{mp_id}_aimd_cell.json").to_ase_atoms()
    atoms.calc = calculator(potential)
    FIRE(atoms, logfile=None).run(fmax=0.1, steps=100)
    atoms.calc = None
    return atoms


def main() -> None:
    from forcefield_vs_aimd_table import aimd_doc, ff_doc, melted, parse_name

    from superionic.md.engines.cross_check import cross_check

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--window-ps", type=float, default=3.0)
    parser.add_argument("--runs", type=Path, help="directory of forcefield_vs_aimd_md.py runs")
    parser.add_argument("--only", default="*.npz", help="glob of the run files to check (default: all)")
    parser.add_argument("--no-aimd", action="store_true", help="leave out the AIMD cases")
    args = parser.parse_args()
    cells = args.data / "corpus" / "mp_structures" / "kang2023_aimd_cells"
    aimd = args.data / "aimd" / "kang2023"

    cases = []  # (name, primary, second, reference, frames, fate, a melt the AIMD keeps?)
    for mp, name in ({} if args.no_aimd else {**INTACT, **MELTED_IN_AIMD}).items():
        window = args.window_ps if mp in INTACT else 60.0
        fate = "intact (DFT)" if mp in INTACT else "melted (DFT too)"
        cases.append((f"{name} 800 K AIMD", "chgnet-0.3.0", "sevennet-0", relaxed_start(cells, mp, "chgnet-0.3.0"),
                      aimd_frames(aimd / mp / "800_nteps_100.json.gz", args.frames, window), fate, False))
    from superionic.md.engines.cross_check import second_opinion_for
    from superionic.md.engines.potentials import POTENTIALS

    for path in sorted(args.runs.glob(args.only)) if args.runs else []:
        potential, mp, temperature, seed = parse_name(path)
        second = second_opinion_for(POTENTIALS[potential].label)  # the product's own choice
        doc, _ = ff_doc(path)
        if second is None or doc is None:
            continue
        aimd_melts = melted(aimd_doc(aimd, mp, temperature))
        fate = f"{'melted' if melted(doc) else 'intact'}; AIMD {'melted' if aimd_melts else 'intact'}"
        cases.append((f"{doc.formula} {temperature:.0f} K {potential} s{seed}", potential, second,
                      relaxed_start(cells, mp, potential), run_frames(path, args.frames), fate,
                      melted(doc) and not aimd_melts))
    print(f"{args.frames} frames per case; energies from the relaxed start; excess = rise 2 - rise 1 / F ratio; "
          "'energy' and 'forces': which tolerance the run exceeds; the energy test should flag exactly the melts "
          "the AIMD does not make ('melt only here')")
    print(f"{'case':40s} {'second':13s} {'framework':24s} {'atoms':>5s} {'F MAE':>6s} {'F ratio':>7s} {'rise 1':>7s} "
          f"{'rise 2':>7s} {'excess':>7s} {'energy':>6s} {'forces':>6s} verdict   melt only here")
    for name, primary, second, reference, frames, fate, spurious_melt in cases:
        check = cross_check(frames, primary, second, reference=reference)
        energy = check.excess_energy > check.tolerances["excess_energy"]
        forces = check.force_mae["all"] > check.tolerances["force_mae"]
        missed = " (missed)" if spurious_melt and not energy else (" (false alarm)" if energy and not spurious_melt else "")
        print(f"{name:40s} {second:13s} {fate:24s} {len(frames[0]):5d} {check.force_mae['all']:6.3f} "
              f"{check.force_ratio:7.2f} {check.energy_rise_primary:+7.3f} {check.energy_rise_second:+7.3f} "
              f"{check.excess_energy:+7.3f} {'over' if energy else '-':>6s} {'over' if forces else '-':>6s} "
              f"{'agree' if check.agree else 'disagree':9s} {'yes' if spurious_melt else 'no'}{missed}", flush=True)

if __name__ == "__main__":
    main()
