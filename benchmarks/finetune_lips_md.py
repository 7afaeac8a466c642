"""MD of the LiPS cell with CHGNet 0.3.0 and with its LiPS fine-tune, next to each other.

Issue 20's must-show "the fine-tuned potential's MD of the LiPS cell at the data's temperature:
framework intact, D with its interval, next to the base potential's". The cell is the 83-atom
Li27P12S44 cell of the PBE AIMD frames (Batzner et al., Nat. Commun. 13, 2453 (2022); NVT at about
520 K), started from the first frame of the held-out file (``lips_matsciml_devset_unique194``, none
of whose frames were trained on). The protocol is the force-field table's, run by its own
``run_one`` (``forcefield_vs_aimd_md.py``: FIRE relax at fixed cell, Nose-Hoover chain NVT, 0.5 ps
equilibration + 2.5 ps production, 2 fs, one frame every 5 steps) and analysed by its own
``ff_doc`` / ``d_text`` / ``melt_text`` (``forcefield_vs_aimd_table.py``: the project's melting
detector and ``diffusion_from_trajectory``).

The fine-tuned weights are a ``superionic finetune --no-store`` pair: ``--weights X.pt`` (a CHGNet
state dict) and its record ``X.json`` (``sha256``, ``base``); they are loaded only after the file
hashes to the record's sha256 (``potential_store.model_from_blob``). Each run is saved as
``<out>/<potential>_lips-Li27P12S44_<T>K_s<seed>.npz`` when it ends; existing files are skipped, so
a run of this script resumes, and ``--potentials`` lets two processes share the work. The table
(every npz in ``--out``) is printed at the end.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/finetune_lips_md.py \\
        --weights /tmp/ftlips/lips200.pt --temperatures 520 800 --seeds 1 2 --out /work/lips_md_runs
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forcefield_vs_aimd_md import DEFAULT_DATA, run_one  # noqa: E402
from forcefield_vs_aimd_table import d_text, ff_doc, melt_text  # noqa: E402

warnings.filterwarnings("ignore")
BASE = "chgnet-0.3.0"
CELL = "lips-Li27P12S44"
HELD_OUT = Path("dft_forces") / "lips_li6.75p3s11" / "lips_matsciml_devset_unique194.extxyz.gz"


def start_structure(data: Path):
    """The LiPS cell at the first frame of the held-out AIMD frames, as a pymatgen Structure."""
    from ase.io import read
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = read(data / HELD_OUT, index=0)
    atoms.calc = None
    return AseAtomsAdaptor.get_structure(atoms)


def tuned_calculator(weights: Path):
    """(label, calculator) of the fine-tune ``weights`` (.pt, its record beside it as .json)."""
    from superionic.finetune.potential_store import model_from_blob, potential_id_of
    from superionic.md.engines.calculators import CHGNetMDCalculator
    from superionic.md.engines.potentials import get_potential

    record_path = weights.with_suffix(".json")
    if not record_path.exists():
        raise SystemExit(f"{weights}: its record {record_path} (sha256, base) is missing; not loaded")
    record = json.loads(record_path.read_text())
    base = record.get("base") or record.get("base_potential")
    base_model = record.get("base_model") or get_potential(base).calculator_kwargs.get("model_name", "0.3.0")
    model = model_from_blob(weights.read_bytes(), record["sha256"], base_model, str(weights))
    return f"{base}-{potential_id_of(record['sha256'])}", CHGNetMDCalculator(model=model)


def run_missing(args) -> None:
    structure = start_structure(args.data)
    for which in args.potentials:
        label, calc = (BASE, None) if which == "base" else tuned_calculator(args.weights)
        for seed in args.seeds:
            for t in args.temperatures:
                path = args.out / f"{label}_{CELL}_{t:.0f}K_s{seed}.npz"
                if path.exists():
                    continue
                out = run_one(structure, label, t, args, seed, calc=calc)
                np.savez_compressed(path, **out)
                per = out["wall_md_s"] / max(out["md_steps"], 1) / out["n_atoms"] * 1e3
                print(f"{label} {t:.0f} K seed {seed}: {out['status']}, MD {out['wall_md_s']:.0f} s "
                      f"({per:.2f} ms/atom-step), load {out['load_start']:.1f}->{os.getloadavg()[0]:.1f}", flush=True)


def print_table(out: Path) -> None:
    print("LiPS cell (Li27P12S44, 83 atoms), 0.5 ps equilibration + 'ps' of production, 2 fs, NVT; framework: the "
          "melting detector and the mean fraction of framework (P, S) atoms off site; D (Li, cm2/s) "
          "[95 % interval] or 95 % upper bound; T_md: mean temperature of the production frames; ms/at-step: MD wall per atom-step, 1 thread, shared 2-core machine")
    print(f"{'potential':28s} {'T':>5s} {'seed':>4s} {'T_md':>5s} {'ps':>4s} {'framework':>12s} {'D (cm2/s)':>24s} "
          f"{'Li hops':>7s} {'ms/at-step':>10s} {'load':>5s} {'date':>10s}")
    for path in sorted(out.glob(f"*_{CELL}_*K_s*.npz"), key=lambda p: (p.stem.split("_")[2], p.stem)):
        label, _, t, seed = path.stem.split("_")
        doc, z = ff_doc(path)
        ok = str(z["status"]).startswith("completed")
        per = float(z["wall_md_s"]) / float(z["md_steps"]) / float(z["n_atoms"]) * 1e3
        t_md = float(np.mean(z["temperatures"])) if len(z["temperatures"]) else float("nan")
        print(f"{label:28s} {t.rstrip('K'):>5s} {seed[1:]:>4s} {t_md:5.0f} {doc.duration_ps if doc else 0.0:4.1f} "
              f"{melt_text(doc):>12s} {d_text(doc) if ok else str(z['status'])[:24]:>24s} "
              f"{doc.n_hops if doc else 0:7d} {per:10.2f} {float(z['load_start']):5.1f} {str(z['date'])[:10]:>10s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", type=Path, help="the fine-tuned state dict (.pt) with its record (.json) beside it")
    parser.add_argument("--potentials", nargs="+", choices=["base", "tuned"], default=["base", "tuned"])
    parser.add_argument("--temperatures", nargs="+", type=float, default=[520.0, 800.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--relax-steps", type=int, default=100)
    parser.add_argument("--eq-steps", type=int, default=250)
    parser.add_argument("--prod-steps", type=int, default=1250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/work/lips_md_runs"))
    parser.add_argument("--table-only", action="store_true", help="print the table of the runs in --out, run nothing")
    args = parser.parse_args()
    if not args.table_only:
        import torch

        if "tuned" in args.potentials and args.weights is None:
            parser.error("--weights is needed to run the fine-tuned potential")
        torch.set_num_threads(args.threads)
        args.out.mkdir(parents=True, exist_ok=True)
        run_missing(args)
    if args.weights is not None and args.weights.with_suffix(".json").exists():
        record = json.loads(args.weights.with_suffix(".json").read_text())
        before, after = record.get("held_out_force_mae_base", {}), record.get("held_out_force_mae_tuned", {})
        print(f"fine-tuned weights {args.weights} (sha256 {record['sha256'][:12]}..., {record.get('n_train')} + "
              f"{record.get('n_val')} frames; held-out force MAE {before.get('all', float('nan')):.3f} -> "
              f"{after.get('all', float('nan')):.3f} eV/A)")
    print_table(args.out)


if __name__ == "__main__":
    main()
