"""The force-field table: each potential's MD of the seed's cells against the seed's AIMD.

Analyses the runs of ``benchmarks/forcefield_vs_aimd_md.py``
(``<dir>/<ff>_<mp-id>_<T>K_s<seed>.npz``; files without ``_s<seed>`` are the first table's, seed
20231025) with the project's diffusion analysis and compares each with the authors' AIMD of the
same cell at the same temperature (``shared/data/aimd/kang2023``, 60 ps). One row per cell x
potential x T x seed: framework intact or melted (the project's melting detector; the number is
the mean over framework elements of the fraction of atoms off their site), D with its 95 %
interval (or 95 % upper bound when Li hops are too few), D / D_AIMD(60 ps, same T), Li hops,
and the MD's wall ms per atom-step (1 thread, on a shared machine: a timing of the load as much
as of the potential; the A/B cost is ``forcefield_dft_forces.py``'s). Then Ea per cell x
potential x seed where >= 2 temperatures were run, vs the AIMD's from the same temperatures and
from all four. ``--carry`` adds the rows of an earlier table (``forcefield_vs_aimd.txt``, CHGNet
0.3.0, whose npz files are gone) as they were printed, with their date.

    python benchmarks/forcefield_vs_aimd_table.py --runs benchmarks/results/ff_md_runs \
        --carry benchmarks/results/forcefield_vs_aimd.txt

(A 2.5 ps cut of the 60 ps AIMD holds 13 frames: it is no measurement, and no longer printed.)
"""

from __future__ import annotations

import argparse
import re
import time
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from superionic.md.analysis.arrhenius import conductivity_from_diffusion
from superionic.md.analysis.diffusion import diffusion_from_trajectory
from superionic.md.analysis.readers import load_trajectory
from superionic.md.analysis.trajectory import from_fractional

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


LEGACY_SEED = 20231025
LEGACY_NAMES = {"0.3.0": "chgnet-0.3.0", "r2scan": "chgnet-r2scan"}


def parse_name(path: Path) -> tuple[str, str, float, int]:
    """``(potential, mp_id, T, seed)`` of ``<ff>_<mp-id>_<T>K[_s<seed>].npz``."""
    parts = path.stem.split("_")
    seed = int(parts[3][1:]) if len(parts) > 3 else LEGACY_SEED
    return LEGACY_NAMES.get(parts[0], parts[0]), parts[1], float(parts[2].rstrip("K")), seed


def ff_doc(path: Path):
    z = np.load(path, allow_pickle=True)
    if not str(z["status"]).startswith("completed") or len(z["frac"]) < 10:
        return None, z
    tr = from_fractional(list(z["species"]), z["frac"], z["lattice"], frame_interval_fs=float(z["frame_interval_fs"]),
                         temperature=float(z["temperature"]), measured_temperatures=z["temperatures"])
    return diffusion_from_trajectory(tr, material_id=path.stem.split("_")[1], engine="forcefield"), z


@lru_cache(maxsize=None)
def aimd_doc(root: Path, mp_id: str, temperature: float, duration_ps: float | None = None):
    path = root / mp_id / f"{temperature:.0f}_nteps_100.json.gz"
    tr = load_trajectory(path)
    if duration_ps is not None:
        n = int(round(duration_ps * 1000.0 / tr.frame_interval_fs)) + 1
        if n < tr.n_frames:
            tr = from_fractional(tr.species, tr.positions[:n] @ np.linalg.inv(tr.lattices[0]), tr.lattices,
                                 frame_interval_fs=tr.frame_interval_fs, temperature=tr.temperature)
    return diffusion_from_trajectory(tr, material_id=mp_id, engine="vasp")


def melted(doc) -> bool:
    """Whether the project's melting detector flagged the run's framework."""
    return any(f.startswith("framework_melting") for f in doc.flags)


def d_text(doc) -> str:
    if doc is None:
        return "failed"
    if doc.d_status == "resolved":
        lo, hi = doc.diffusivity_ci95
        return f"{doc.diffusivity:.1e} [{lo:.0e},{hi:.0e}]"
    if doc.d_status == "upper_bound":
        return f"<= {doc.diffusivity_upper95:.1e}"
    return "melted" if melted(doc) else "none"


def melt_text(doc) -> str:
    if doc is None:
        return "-"
    moved = sum(doc.framework_displaced_fraction.values()) / max(len(doc.framework_displaced_fraction), 1)
    flag = "MELTED" if melted(doc) else "intact"
    return f"{flag} {moved:.2f}"


def sigma_text(cond) -> str:
    if cond.sigma300_kind is None:
        return cond.verdict
    if cond.sigma300_kind == "interval":
        return f"{cond.sigma300:.1e} [{cond.sigma300_lower:.0e},{cond.sigma300_upper:.0e}] Ea {cond.activation_energy:.2f}"
    if cond.sigma300_kind == "upper_bound":
        return f"<= {cond.sigma300_upper:.1e}"
    return f"[{cond.sigma300_lower:.0e},{cond.sigma300_upper:.0e}]"


def ratio_text(doc, full) -> str:
    if doc is None or full.d_status != "resolved":
        return "-"
    if doc.d_status == "resolved":
        return f"{doc.diffusivity / full.diffusivity:.2f}"
    if doc.d_status == "upper_bound":
        return f"<={doc.diffusivity_upper95 / full.diffusivity:.2f}"
    return "-"


def ea_text(docs) -> str:
    try:
        c = conductivity_from_diffusion(docs)
    except ValueError as exc:
        return f"({exc})"
    if c.activation_energy is None:
        return "no fit (" + ", ".join(f"{e.temperature:g} K {e.reason[:20]}" for e in c.excluded) + ")"
    return f"{c.activation_energy:.2f} +/- {c.activation_energy_std:.2f}"


def carried(path: Path):
    """Rows of the first table (``forcefield_vs_aimd.txt``): per-run and per-compound, as text."""
    text = path.read_text()
    date = re.search(r"Measured (\d{4}-\d{2}-\d{2})", text)
    date = date.group(1) if date else "?"
    runs, eas = [], []
    section = 0
    for line in text.splitlines():
        if line.startswith("Per run"):
            section = 1
        elif line.startswith("Per compound"):
            section = 2
        elif line.startswith("ff ") or line.startswith("#") or not line.strip():
            continue
        elif section == 1:
            first, *_, last = line.split("|")
            tok = first.split()
            ff, mp_id, formula, t, ps, ms = tok[:6]
            runs.append(dict(potential=LEGACY_NAMES.get(ff, ff), mp_id=mp_id, formula=formula, t=float(t),
                             seed=LEGACY_SEED, ps=float(ps), ms=float(ms), d=" ".join(tok[6:-3]),
                             hops=int(tok[-3]), melt=" ".join(tok[-2:]).replace("MELT", "MELTED").replace(
                                 "ok", "intact"),
                             ratio=last.split()[-1], date=date))
        elif section == 2:
            first, _, same60, _ = line.split("|")
            tok = first.split()
            ea_ff = re.search(r"Ea (\d\.\d\d)", first)
            ea_aimd = re.search(r"Ea (\d\.\d\d)", same60)
            if len(tok[2].split("/")) >= 2:
                eas.append(dict(potential=LEGACY_NAMES.get(tok[0], tok[0]), mp_id=tok[1], temps=tok[2],
                                seed=LEGACY_SEED, ea=ea_ff.group(1) if ea_ff else "no fit",
                                ea_aimd=ea_aimd.group(1) if ea_aimd else "-", date=date))
    return runs, eas


def print_spread(rows: list[dict]) -> None:
    """Per cell x potential x T over its seeds: runs, how many kept the framework, and the range of D
    and of D / D_AIMD over the intact runs that resolved D (upper bounds listed apart)."""
    print("\nSpread over velocity seeds (runs of this directory): framework intact in n of N runs; D and "
          "D/D_AIMD range over the intact runs (resolved: min-max; '<=': the largest 95 % upper bound)")
    print(f"{'cell':11s} {'formula':11s} {'potential':20s} {'T':>5s} {'intact':>7s} {'D range (cm2/s)':>20s} "
          f"{'D/D_AIMD range':>15s} {'within 3x':>9s} | {'D AIMD 60 ps':>24s}")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["mp_id"], r["potential"], r["t"]), []).append(r)
    for (mp_id, potential, t), runs in sorted(groups.items()):
        docs = [r["doc"] for r in runs]
        intact = [d for d in docs if d is not None and not melted(d)]
        resolved = [d.diffusivity for d in intact if d.d_status == "resolved"]
        bounds = [d.diffusivity_upper95 for d in intact if d.d_status == "upper_bound"]
        full = runs[0]["full"]
        d_range = ratio = within = "-"
        if resolved:
            d_range = f"{min(resolved):.1e}-{max(resolved):.1e}"
            if full.d_status == "resolved":
                lo, hi = min(resolved) / full.diffusivity, max(resolved) / full.diffusivity
                ratio = f"{lo:.2f}-{hi:.2f}"
                within = f"{sum(1 / 3 <= x / full.diffusivity <= 3 for x in resolved)}/{len(resolved)}"
        if bounds:
            d_range = (d_range + " " if resolved else "") + f"<= {max(bounds):.1e}"
        print(f"{mp_id:11s} {runs[0]['formula']:11s} {potential:20s} {t:5.0f} {len(intact):>3d}/{len(runs):<3d} "
              f"{d_range:>20s} {ratio:>15s} {within:>9s} | {d_text(full):>24s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, default=Path(__file__).resolve().parent / "results" / "ff_md_runs")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--carry", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    root = args.data / "aimd" / "kang2023"
    rows, groups = [], {}
    for path in sorted(args.runs.glob("*_mp-*_*K*.npz")):
        potential, mp_id, temperature, seed = parse_name(path)
        doc, z = ff_doc(path)
        full = aimd_doc(root, mp_id, temperature)
        per_step = float(z["wall_md_s"]) / float(z["md_steps"]) / float(z["n_atoms"]) * 1e3
        date = (str(z["date"])[:10] if "date" in z.files
                else time.strftime("%Y-%m-%d", time.gmtime(path.stat().st_mtime)))  # older runs: file date
        rows.append(dict(potential=potential, mp_id=mp_id, formula=full.formula, t=temperature, seed=seed, doc=doc,
                         full=full,
                         ps=doc.duration_ps if doc else 0.0, ms=per_step,
                         d=d_text(doc) if str(z["status"]).startswith("completed") else str(z["status"])[:24],
                         hops=doc.n_hops if doc else 0, melt=melt_text(doc), ratio=ratio_text(doc, full),
                         date=date, aimd_d=d_text(full), aimd_melt=melt_text(full)))
        if doc is not None:
            groups.setdefault((mp_id, potential, seed), []).append(doc)
    carried_eas = []
    for path in args.carry:
        runs, eas = carried(path)
        for r in runs:
            full = aimd_doc(root, r["mp_id"], r["t"])
            r.update(aimd_d=d_text(full), aimd_melt=melt_text(full), formula=full.formula)
        rows += runs
        carried_eas += eas
    print("Per run: cell x potential x T x seed (0.5 ps equilibration + 'ps' of production, 2 fs; D in cm2/s "
          "[95 % interval] or 95 % upper bound; framework: the melting detector and the mean fraction of framework "
          "atoms off site; D/D_AIMD against the 60 ps AIMD at the same T; ms/at-step: MD wall, 1 thread, shared "
          "machine; rows dated before the runs directory's were carried with --carry)")
    print(f"{'cell':11s} {'formula':11s} {'potential':20s} {'T':>5s} {'seed':>8s} {'ps':>4s} {'framework':>11s} "
          f"{'D force field':>24s} {'hops':>5s} {'D/D_AIMD':>8s} | {'D AIMD 60 ps':>24s} {'AIMD frame':>11s} | "
          f"{'ms/at-step':>10s} {'date':>10s}")
    for r in sorted(rows, key=lambda r: (r["mp_id"], r["t"], r["potential"], r["seed"])):
        print(f"{r['mp_id']:11s} {r['formula']:11s} {r['potential']:20s} {r['t']:5.0f} {r['seed']:8d} {r['ps']:4.1f} "
              f"{r['melt']:>11s} {r['d']:>24s} {r['hops']:5d} {r['ratio']:>8s} | {r['aimd_d']:>24s} "
              f"{r['aimd_melt']:>11s} | {r['ms']:10.2f} {r['date']:>10s}", flush=True)
    print_spread([r for r in rows if "doc" in r])
    print("\nEa (eV) where a potential ran >= 2 temperatures (one seed), vs the AIMD (60 ps) at the same "
          "temperatures and at all four (800-1700 K)")
    print(f"{'cell':11s} {'potential':20s} {'seed':>8s} {'T (K)':>10s} {'Ea force field':>18s} | "
          f"{'Ea AIMD same T':>18s} | {'Ea AIMD 4 T':>18s} {'date':>10s}")
    for (mp_id, potential, seed), docs in sorted(groups.items()):
        temps = sorted(d.temperature for d in docs)
        if len(set(temps)) < 2:
            continue
        same = [aimd_doc(root, mp_id, t) for t in temps]
        all4 = [aimd_doc(root, mp_id, float(t)) for t in (800, 1100, 1400, 1700)]
        print(f"{mp_id:11s} {potential:20s} {seed:8d} {'/'.join(f'{t:.0f}' for t in temps):>10s} "
              f"{ea_text(docs):>18s} | {ea_text(same):>18s} | {ea_text(all4):>18s} {'':>10s}")
    for e in carried_eas:
        all4 = [aimd_doc(root, e["mp_id"], float(t)) for t in (800, 1100, 1400, 1700)]
        print(f"{e['mp_id']:11s} {e['potential']:20s} {e['seed']:8d} {e['temps']:>10s} {e['ea']:>18s} | "
              f"{e['ea_aimd']:>18s} | {ea_text(all4):>18s} {e['date']:>10s}")


if __name__ == "__main__":
    main()
