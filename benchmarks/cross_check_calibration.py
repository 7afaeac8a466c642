"""Calibrate the MD cross-check's tolerances (superionic.md.engines.cross_check).

Runs the cross-check (primary CHGNet 0.3.0, second SevenNet-0 by default) on frames whose
fate is known:

* intact: the seed's own AIMD (shared/data/aimd/kang2023, PBE, 60 ps) at 800 K of cells whose
  framework DFT keeps (BaLi(BS2)3, Li5B7S13, Li3ErBr6, Li3ErCl6): the potentials should agree;
* melted by DFT itself: Li2GePbS4 at 800 K (its framework leaves its sites in the AIMD);
* melted by CHGNet only: CHGNet runs saved by benchmarks/forcefield_vs_aimd_md.py
  (``--melted RUN.npz``), e.g. BaLi(BS2)3 at 800 K, whose framework the AIMD keeps.

Frames: ``--frames`` evenly spaced over ``--window-ps`` of each AIMD run after its first
0.5 ps (thermalised frames, like a production run's, over a window as long as one) and over each force-field run's production.

    OMP_NUM_THREADS=1 python benchmarks/cross_check_calibration.py \
        --melted /tmp/ffmelt/0.3.0_mp-557892_800K.npz
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
    return [Atoms(species, scaled_positions=None, positions=frac[k] @ lattice, cell=lattice, pbc=True)
            for k in np.linspace(0, len(frac) - 1, n).round().astype(int)]


def main() -> None:
    from superionic.md.engines.cross_check import cross_check

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--primary", default="chgnet-0.3.0")
    parser.add_argument("--second", default="sevennet-0")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--window-ps", type=float, default=3.0)
    parser.add_argument("--melted", type=Path, nargs="*", default=[])
    args = parser.parse_args()

    cases = [(f"{name} 800 K AIMD", "intact (DFT)", aimd_frames(args.data / "aimd/kang2023" / mp / "800_nteps_100.json.gz",
                                                             args.frames, args.window_ps))
             for mp, name in INTACT.items()]
    cases += [(f"{name} 800 K AIMD", "melted (DFT too)", aimd_frames(args.data / "aimd/kang2023" / mp / "800_nteps_100.json.gz",
                                                                 args.frames, 60.0))
              for mp, name in MELTED_IN_AIMD.items()]
    cases += [(f"{path.stem} ({args.primary} MD)", f"melted by {args.primary}", run_frames(path, args.frames))
              for path in args.melted]
    print(f"primary {args.primary}, second {args.second}, {args.frames} frames per case")
    print(f"{'case':42s} {'framework':22s} {'atoms':>5s} {'F MAE':>7s} {'F ratio':>7s} {'rise 1':>8s} "
          f"{'rise 2':>8s} {'excess':>8s} verdict")
    for name, fate, frames in cases:
        check = cross_check(frames, args.primary, args.second)
        print(f"{name:42s} {fate:22s} {len(frames[0]):5d} {check.force_mae['all']:7.3f} {check.force_ratio:7.2f} "
              f"{check.energy_rise_primary:+8.3f} {check.energy_rise_second:+8.3f} {check.excess_energy:+8.3f} "
              f"{'agree' if check.agree else 'disagree'}")


if __name__ == "__main__":
    main()
