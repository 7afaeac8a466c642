"""Every registered universal potential against PBE forces: error, softening, cost per call.

On the held-out LiPS frames (Li6.75P3S11, 83 atoms, PBE AIMD ~520 K; the split is
:func:`superionic.md.engines.dft_frames.lips_split`: the 194-frame file, never used for
fitting), each potential of ``superionic.md.engines.potentials.POTENTIALS`` predicts energy and
forces through ``calculator(name)``. Reported per potential:

- force MAE (eV/A, over Cartesian components), overall and per element (Li, P, S);
- softening: ``|F|/|F_DFT|`` as the ratio of the mean per-atom force magnitudes
  (``sum_i |F_i| / sum_i |F_DFT,i|``), and the least-squares slope of predicted on DFT force
  components through the origin (``sum F.F_DFT / sum F_DFT^2``; Deng et al., npj Comput. Mater.
  2025 use this slope);
- energy MAE per atom after removing the mean offset (the potentials' and VASP's energy zeros
  differ; the spread is what MD feels);
- cost: CPU seconds (``time.process_time``, one thread) per atom per force call, measured A/B in
  one process: every potential on the same frames, interleaved, in rotated order, median over
  calls.

Predictions are cached per potential (``--cache``), so a rerun only computes what is missing.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/forcefield_dft_forces.py \
        --every 2 --out benchmarks/results/forcefield_dft_forces.txt
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ORDER = ["chgnet-0.3.0", "sevennet-0", "chgnet-r2scan", "sevennet-mf-0-pbe", "sevennet-mf-0-r2scan",
         "sevennet-l3i5"]


def predict(calc, atoms):
    a = atoms.copy()
    calc.reset()  # ASE calculators return cached results for an unchanged geometry
    a.calc = calc
    return a.get_potential_energy(), a.get_forces()


def timing(names, frames, rounds: int) -> dict[str, dict[str, float]]:
    """A/B cost per atom per force call: interleaved, rotated order, same frames."""
    from superionic.md.engines.potentials import calculator

    calcs = {n: calculator(n) for n in names}  # held here: calculator()'s cache keeps only 4
    for n in names:  # warm-up (lazy init, first-call allocations)
        predict(calcs[n], frames[0])
    cpu = {n: [] for n in names}
    wall = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for atoms in frames:
            for n in order:
                c0, w0 = time.process_time(), time.perf_counter()
                predict(calcs[n], atoms)
                cpu[n].append((time.process_time() - c0) / len(atoms))
                wall[n].append((time.perf_counter() - w0) / len(atoms))
    return {n: {"cpu": float(np.median(cpu[n])), "wall": float(np.median(wall[n])), "calls": len(cpu[n])}
            for n in names}


def predictions(name: str, frames, indices, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n,) and forces (n, atoms, 3) of ``name`` on ``frames``; cached, resumable."""
    from superionic.md.engines.potentials import calculator

    path = cache / f"{name}_heldout.npz"
    energies, forces, done = {}, {}, set()
    if path.exists():
        z = np.load(path)
        for i, e, f in zip(z["indices"], z["energies"], z["forces"]):
            energies[int(i)], forces[int(i)] = float(e), f
        done = set(energies)
    todo = [(i, a) for i, a in zip(indices, frames) if i not in done]
    if todo:
        calc = calculator(name)
        for k, (i, atoms) in enumerate(todo, 1):
            energies[i], forces[i] = predict(calc, atoms)
            if k % 10 == 0 or k == len(todo):
                keys = sorted(energies)
                np.savez_compressed(path, indices=np.array(keys), energies=np.array([energies[j] for j in keys]),
                                    forces=np.array([forces[j] for j in keys]))
                print(f"  {name}: {len(keys)} frames", flush=True)
    return np.array([energies[i] for i in indices]), np.array([forces[i] for i in indices])


def metrics(frames, e_pred, f_pred) -> dict[str, float]:
    f_dft = np.array([a.get_forces() for a in frames])
    e_dft = np.array([a.get_potential_energy() for a in frames])
    n_atoms = len(frames[0])
    symbols = np.array(frames[0].get_chemical_symbols())
    err = np.abs(f_pred - f_dft)
    out = {"mae": float(err.mean())}
    for el in ("Li", "P", "S"):
        out[f"mae_{el}"] = float(err[:, symbols == el].mean())
    mag_p, mag_d = np.linalg.norm(f_pred, axis=-1), np.linalg.norm(f_dft, axis=-1)
    out["ratio"] = float(mag_p.sum() / mag_d.sum())
    out["slope"] = float((f_pred * f_dft).sum() / (f_dft**2).sum())
    de = (e_pred - e_dft) / n_atoms
    out["e_mae"] = float(np.abs(de - de.mean()).mean())
    out["e_offset"] = float(de.mean())
    return out


def main() -> None:
    import torch

    from superionic.md.engines.dft_frames import lips_split
    from superionic.md.engines.potentials import POTENTIALS, get_potential

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--potentials", nargs="+", default=[n for n in ORDER if n in POTENTIALS])
    parser.add_argument("--every", type=int, default=1, help="use every k-th held-out frame (0, k, 2k, ...)")
    parser.add_argument("--timing-frames", type=int, default=2)
    parser.add_argument("--timing-rounds", type=int, default=3)
    parser.add_argument("--retime", action="store_true", help="measure the cost again (else reuse the cache's)")
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / "results" / "ff_dft_cache")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "forcefield_dft_forces.txt")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.cache.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.potentials if get_potential(n)]
    _, held_out = lips_split(args.data)
    indices = list(range(0, len(held_out), args.every))
    frames = [held_out[i] for i in indices]
    print(f"{len(frames)} held-out frames of {len(held_out)} ({len(frames[0])} atoms)", flush=True)

    timing_path = args.cache / "timing.json"
    key = f"{','.join(names)}|{args.every}|{args.timing_frames}|{args.timing_rounds}"
    saved = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    if saved.get("key") == key and not args.retime:
        cost = saved["cost"]
    else:
        t0 = time.perf_counter()
        cost = timing(names, frames[: args.timing_frames], args.timing_rounds)
        print(f"timing done in {time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        timing_path.write_text(json.dumps({"key": key, "cost": cost, "load": os.getloadavg()[0],
                                           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    results = {}
    for n in names:
        e, f = predictions(n, frames, indices, args.cache)
        results[n] = metrics(frames, e, f)
        write(args, names, results, cost, len(frames), len(held_out))
    print(args.out.read_text())


def write(args, names, results, cost, n_frames, n_total) -> None:
    from superionic.md.engines.potentials import POTENTIALS

    base = cost.get("chgnet-0.3.0", {}).get("cpu")
    lines = [
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2-core machine shared with other jobs "
        f"(load {os.getloadavg()[0]:.1f}), 1 thread, CPU.",
        "# Command: OMP_NUM_THREADS=1 nice -n 10 python benchmarks/forcefield_dft_forces.py " + " ".join(sys.argv[1:]),
        f"# Held-out LiPS frames (lips_split: lips_matsciml_devset_unique194, Li6.75P3S11, 83 atoms, PBE): "
        f"{n_frames} of {n_total} (every {args.every}-th, indices 0, {args.every}, ...).",
        "# MAE over force components (eV/A); |F|/|F_DFT| = sum|F| / sum|F_DFT| over atoms; slope = least squares "
        "F = s F_DFT; E MAE per atom after removing the mean offset (meV/atom);",
        f"# cost = median CPU ms per atom per force call, A/B in one process ({args.timing_frames} frames x "
        f"{args.timing_rounds} rounds, interleaved), x = relative to chgnet-0.3.0 (lean CHGNet path).",
        f"{'potential':22s} {'label':26s} {'MAE':>6s} {'Li':>6s} {'P':>6s} {'S':>6s} {'|F|/|F_DFT|':>11s} "
        f"{'slope':>6s} {'E MAE':>6s} {'offset':>7s} {'ms/atom':>8s} {'x':>5s}",
    ]
    for n in names:
        c = cost.get(n, {})
        cpu = c.get("cpu")
        rel = f"{cpu / base:5.1f}" if cpu and base else "    -"
        ms = f"{cpu * 1e3:8.2f}" if cpu else "       -"
        if n not in results:
            lines.append(f"{n:22s} {POTENTIALS[n].label:26s} {'(not run)':>62s} {ms} {rel}")
            continue
        r = results[n]
        lines.append(f"{n:22s} {POTENTIALS[n].label:26s} {r['mae']:6.3f} {r['mae_Li']:6.3f} {r['mae_P']:6.3f} "
                     f"{r['mae_S']:6.3f} {r['ratio']:11.2f} {r['slope']:6.2f} {r['e_mae'] * 1e3:6.1f} "
                     f"{r['e_offset']:7.3f} {ms} {rel}")
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
