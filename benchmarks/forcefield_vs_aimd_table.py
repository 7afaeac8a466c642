"""The force field against the seed's AIMD: D(FF) / D(AIMD), Ea, sigma(300 K), melting flags.

Analyses the runs of ``benchmarks/forcefield_vs_aimd_md.py`` (``<dir>/<ff>_<mp-id>_<T>K.npz``)
with the project's diffusion analysis and compares them with the authors' AIMD of the same cell
at the same temperature (``shared/data/aimd/kang2023``, 60 ps). The AIMD is analysed twice:
whole (60 ps) and cut to the force-field run's production length, so that D and the melting
flag are compared at equal simulated time as well.

    python benchmarks/forcefield_vs_aimd_table.py [--runs /tmp/ff_vs_aimd]

Also prints, per AIMD run, the fraction of framework atoms that left their site (the melting
detector's input), to check its threshold against the AIMD itself.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from superionic.md.analysis.arrhenius import conductivity_from_diffusion
from superionic.md.analysis.diffusion import diffusion_from_trajectory
from superionic.md.analysis.readers import load_trajectory
from superionic.md.analysis.trajectory import from_fractional

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def ff_doc(path: Path):
    z = np.load(path, allow_pickle=True)
    if not str(z["status"]).startswith("completed") or len(z["frac"]) < 10:
        return None, z
    tr = from_fractional(list(z["species"]), z["frac"], z["lattice"], frame_interval_fs=float(z["frame_interval_fs"]),
                         temperature=float(z["temperature"]), measured_temperatures=z["temperatures"])
    return diffusion_from_trajectory(tr, material_id=path.stem.split("_")[1], engine="forcefield"), z


def aimd_doc(root: Path, mp_id: str, temperature: float, duration_ps: float | None = None):
    path = root / mp_id / f"{temperature:.0f}_nteps_100.json.gz"
    tr = load_trajectory(path)
    if duration_ps is not None:
        n = int(round(duration_ps * 1000.0 / tr.frame_interval_fs)) + 1
        if n < tr.n_frames:
            tr = from_fractional(tr.species, tr.positions[:n] @ np.linalg.inv(tr.lattices[0]), tr.lattices,
                                 frame_interval_fs=tr.frame_interval_fs, temperature=tr.temperature)
    return diffusion_from_trajectory(tr, material_id=mp_id, engine="vasp")


def d_text(doc) -> str:
    if doc is None:
        return "failed"
    if doc.d_status == "resolved":
        lo, hi = doc.diffusivity_ci95
        return f"{doc.diffusivity:.1e} [{lo:.0e},{hi:.0e}]"
    if doc.d_status == "upper_bound":
        return f"<= {doc.diffusivity_upper95:.1e}"
    return "melted" if any(f.startswith("framework_melting") for f in doc.flags) else "none"


def melt_text(doc) -> str:
    if doc is None:
        return "-"
    moved = sum(doc.framework_displaced_fraction.values()) / max(len(doc.framework_displaced_fraction), 1)
    flag = "MELT" if any(f.startswith("framework_melting") for f in doc.flags) else "ok"
    return f"{flag} {moved:.2f}"


def sigma_text(cond) -> str:
    if cond.sigma300_kind is None:
        return cond.verdict
    if cond.sigma300_kind == "interval":
        return f"{cond.sigma300:.1e} [{cond.sigma300_lower:.0e},{cond.sigma300_upper:.0e}] Ea {cond.activation_energy:.2f}"
    if cond.sigma300_kind == "upper_bound":
        return f"<= {cond.sigma300_upper:.1e}"
    return f"[{cond.sigma300_lower:.0e},{cond.sigma300_upper:.0e}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, default=Path("/tmp/ff_vs_aimd"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    root = args.data / "aimd" / "kang2023"
    rows, per_material = [], {}
    print("Per run (D in cm2/s; melt = mean over framework elements of the displaced fraction)")
    print(f"{'ff':7s} {'material':11s} {'formula':11s} {'T':>5s} {'ps':>4s} {'ms/at-step':>10s} "
          f"{'D force field':>24s} {'hops':>5s} {'melt FF':>9s} | {'D AIMD same ps':>24s} {'melt':>9s} | "
          f"{'D AIMD 60 ps':>24s} {'melt':>9s} {'FF/AIMD':>8s}")
    for path in sorted(args.runs.glob("*_mp-*_*K.npz")):
        ff, mp_id, t = path.stem.split("_")
        temperature = float(t.rstrip("K"))
        doc, z = ff_doc(path)
        duration = doc.duration_ps if doc else None
        short = aimd_doc(root, mp_id, temperature, duration)
        full = aimd_doc(root, mp_id, temperature)
        ratio = "-"
        if doc is not None and doc.d_status == "resolved" and full.d_status == "resolved":
            ratio = f"{doc.diffusivity / full.diffusivity:.2f}"
        elif doc is not None and doc.d_status == "upper_bound" and full.d_status == "resolved":
            ratio = f"<={doc.diffusivity_upper95 / full.diffusivity:.2f}"
        per_step = float(z["wall_md_s"]) / float(z["md_steps"]) / float(z["n_atoms"]) * 1e3
        print(f"{ff:7s} {mp_id:11s} {(doc.formula if doc else ''):11s} {temperature:5.0f} {duration or 0:4.1f} "
              f"{per_step:10.2f} {d_text(doc):>24s} {(doc.n_hops if doc else 0):5d} {melt_text(doc):>9s} | "
              f"{d_text(short):>24s} {melt_text(short):>9s} | {d_text(full):>24s} {melt_text(full):>9s} {ratio:>8s}",
              flush=True)
        per_material.setdefault((ff, mp_id), []).append((doc, short, full))
        rows.append((ff, mp_id, temperature))
    print("\nPer compound: sigma(300 K) S/cm from the force-field temperatures vs the AIMD at the same ones")
    print(f"{'ff':7s} {'material':11s} {'T':>12s} {'force field':>34s} | {'AIMD same T, same ps':>34s} | "
          f"{'AIMD same T, 60 ps':>34s} | {'AIMD all 4 T, 60 ps':>34s}")
    for (ff, mp_id), triples in sorted(per_material.items()):
        docs = [d for d, _, _ in triples if d is not None]
        temps = "/".join(f"{d.temperature:.0f}" for d, _, _ in triples if d is not None)
        if not docs:
            continue
        c_ff = conductivity_from_diffusion(docs)
        c_short = conductivity_from_diffusion([s for _, s, _ in triples])
        c_full = conductivity_from_diffusion([f for _, _, f in triples])
        c_all = conductivity_from_diffusion([aimd_doc(root, mp_id, t) for t in (800, 1100, 1400, 1700)])
        print(f"{ff:7s} {mp_id:11s} {temps:>12s} {sigma_text(c_ff):>34s} | {sigma_text(c_short):>34s} | "
              f"{sigma_text(c_full):>34s} | {sigma_text(c_all):>34s}")


if __name__ == "__main__":
    main()
