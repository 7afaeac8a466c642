"""Analysis time vs trajectory length: superionic's diffusion analysis vs pymatgen's
DiffusionAnalyzer (and kinisi with --kinisi), on the same real AIMD runs.

Runs: Li6PS5Cl 50 % (Morgan 2021; runs 1-6 joined: 700 frames, 416 atoms, 192 Li) and
Li10GeP2S12 (pymatgen's LGPS test file: 1000 frames, 50 atoms), truncated to the first N
frames. Each timing is the best of --repeat runs (the machine is shared), on data already in
memory (file reading excluded for every tool).

    python benchmarks/analysis_speed.py [--repeat 3] [--kinisi] [--synthetic] [--data DIR]

Columns: "ours" = the full DiffusionDoc (MSD of every species, GLS fit with the correlated-MSD
interval, hops, melting flags); "ours MSD" = the Li MSD alone (FFT, all origins);
"DiffusionAnalyzer" = pymatgen-analysis-diffusion, smoothed="max" (FFT MSD + weighted fit);
"kinisi" = kinisi 2.1 MSD + covariance + MCMC (start 2 ps).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from superionic.md.analysis.diffusion import diffusion_from_trajectory
from superionic.md.analysis.msd import drift_corrected_segments, group_msd
from superionic.md.analysis.readers import load_trajectory
from superionic.md.analysis.trajectory import LiTrajectory, join_trajectories

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def pymatgen_da(tr: LiTrajectory, md_step: float, skip: int):
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer

    disp = (tr.positions - tr.positions[0]).transpose(1, 0, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DiffusionAnalyzer(tr.structure(0), disp, "Li", tr.temperature, md_step, skip,
                                 smoothed="max")


def kinisi_d(tr: LiTrajectory, md_step: float, skip: int) -> float:
    import scipp as sc
    from kinisi.diffusion_analyzer import DiffusionAnalyzer
    from kinisi.displacement import calculate_msd
    from kinisi.parser import Parser

    inv = np.linalg.inv(tr.lattices[0])
    frac = tr.positions @ inv
    coords = sc.array(dims=["time", "particle", "dimension"], values=frac, unit="dimensionless")
    latt = sc.array(dims=["time", "dimension1", "dimension2"],
                    values=np.broadcast_to(tr.lattices[0], (tr.n_frames, 3, 3)).copy(),
                    unit="angstrom")
    li = tr.indices_of("Li")
    fw = np.array([i for i in range(tr.n_atoms) if i not in set(li)])
    p = Parser(coords, latt, md_step * sc.Unit("fs"), skip * sc.Unit("dimensionless"),
               specie_indices=sc.array(dims=["particle"], values=li),
               drift_indices=sc.array(dims=["particle"], values=fw))
    da = DiffusionAnalyzer(p)
    da._dg = calculate_msd(p, progress=False)
    da.diffusion(2 * sc.Unit("ps"), progress=False)
    return float(np.median(da.D.values))


def cases(data: Path):
    morgan = data / "vasp_md/li6ps5x_argyrodite_morgan2021/data/Li6PS5Cl/50p"
    runs = [load_trajectory(morgan / f"run{i}/actual_XDATCAR.gz", md_time_step_fs=2.0,
                            step_skip=50, temperature=500.0) for i in range(1, 7)]
    yield "Li6PS5Cl 50% (416 at.)", join_trajectories(runs), 2.0, 50, (100, 175, 350, 700)
    lgps = load_trajectory(data / "vasp_md/lgps_pymatgen_diffusion_analyzer/"
                           "DiffusionAnalyzer.json.gz")
    yield "Li10GeP2S12 (50 at.)", lgps, 2.0, 10, (250, 500, 1000)


def synthetic(n_frames: int = 20000) -> LiTrajectory:
    """Scaling beyond the real runs (force-field MD lengths): 100 Li on a random walk among 100
    vibrating S in a 15 A cube, a frame every 20 fs. Labelled synthetic in the table."""
    rng = np.random.default_rng(0)
    li = rng.uniform(0, 15, (100, 3)) + np.cumsum(rng.normal(0, 0.08, (n_frames, 100, 3)), 0)
    s = rng.uniform(0, 15, (100, 3)) + rng.normal(0, 0.1, (n_frames, 100, 3))
    return LiTrajectory(["Li"] * 100 + ["S"] * 100, np.concatenate([li, s], axis=1),
                        np.eye(3) * 15.0, frame_interval_fs=20.0, temperature=1000.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kinisi", action="store_true", help="also time kinisi (slow)")
    parser.add_argument("--synthetic", action="store_true",
                        help="add a synthetic 200-atom random walk up to 20,000 frames")
    args = parser.parse_args()

    head = (f"{'run':24s} {'frames':>6s} {'ps':>6s} {'ours s':>7s} {'ours MSD s':>10s} "
            f"{'DA s':>7s}" + (f" {'kinisi s':>8s}" if args.kinisi else "")
            + f"  {'D ours (95 %) cm2/s':>28s} {'D DA':>9s}" + (" D kinisi" if args.kinisi else ""))
    print(head)
    print("-" * len(head))
    runs = list(cases(args.data))
    if args.synthetic:
        runs.append(("synthetic walk (200 at.)", synthetic(), 2.0, 10, (2500, 5000, 10000, 20000)))
    for name, full, md_step, skip, lengths in runs:
        for n in lengths:
            tr = full.frames(n)
            t_ours, doc = best_of(lambda: diffusion_from_trajectory(tr, material_id="bench"),
                                  args.repeat)
            t_msd, _ = best_of(lambda: group_msd(drift_corrected_segments(tr)[0],
                                                 tr.indices_of("Li")), args.repeat)
            try:
                t_da, da = best_of(lambda: pymatgen_da(tr, md_step, skip), args.repeat)
                d_da = f"{da.diffusivity:9.3g}"
            except ValueError as exc:  # "Not enough data" on short runs
                t_da, d_da = float("nan"), f"{'raises':>9s}"
                print(f"   DiffusionAnalyzer: {exc}")
            row = (f"{name:24s} {n:6d} {tr.duration_ps:6.1f} {t_ours:7.3f} {t_msd:10.4f} "
                   f"{t_da:7.3f}")
            d_k = ""
            if args.kinisi and n <= 1000:
                t_k, dk = best_of(lambda: kinisi_d(tr, md_step, skip), 1)
                row += f" {t_k:8.2f}"
                d_k = f" {dk:9.3g}"
            elif args.kinisi:
                row += f" {'-':>8s}"
            lo, hi = doc.diffusivity_ci95
            print(f"{row}  {doc.diffusivity:9.3g} [{lo:8.3g}, {hi:8.3g}] {d_da}{d_k}")


if __name__ == "__main__":
    main()
