"""The classifier study's table beside the seed's numbers, and its wall time.

Runs the nested study (hyper-parameter search inside each split's training part, see
``superionic.ml.study``) for the chosen algorithms and protocols, one protocol after the
other, and prints per protocol: ACC mean / max / min / STD over splits (the seed's
columns), mean precision, recall, F1 and ROC-AUC, the seed's mean accuracy where it
published one, and the summed confusion matrices.

    .venv/bin/python benchmarks/classifier_study.py                       # full study
    .venv/bin/python benchmarks/classifier_study.py --splits 5 --grouped-splits 5 \
        --algorithms gb lgbm --n-iter 2                                   # a quick look

Timings are wall-clock on this machine with ``--jobs`` worker processes (machine load is
printed: other users of the same cores make them longer).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from superionic.ml.algorithms import ALGORITHMS, resolve_algorithms
from superionic.ml.documents import tuning_description
from superionic.ml.metrics import sum_confusions
from superionic.ml.study import StudyConfig, run_study

SEED_ACCURACY = {"gb": 0.843, "lgbm": 0.829}
"""Mean accuracies over 100 random 80/20 splits published by the seed (GB, LightGBM)."""


def _load(args):
    from superionic.ml.dataset import reference_matrix, training_matrix

    if args.features == "reference":
        return reference_matrix(Path(args.shared) / "training")
    return training_matrix(merge_duplicates=not args.unmerged)


def _table(summary: pd.DataFrame, protocol: str) -> str:
    table = pd.DataFrame(
        {
            "algorithm": [ALGORITHMS[a].label if a in ALGORITHMS else a for a in summary.algorithm],
            "splits": summary.n_splits.astype(int),
            "ACC": summary.acc_mean,
            "ACC_max": summary.acc_max,
            "ACC_min": summary.acc_min,
            "STD": summary.acc_std,
            "precision": summary.precision_mean,
            "recall": summary.recall_mean,
            "F1": summary.f1_mean,
            "ROC-AUC": summary.roc_auc_mean,
            "pooled ACC": summary.acc_pooled,
            "seed ACC": [SEED_ACCURACY.get(a, np.nan) if protocol == "random" else np.nan
                         for a in summary.algorithm],
        }
    )
    return table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", nargs="*", default=list(ALGORITHMS))
    parser.add_argument("--protocols", nargs="*", default=["random", "grouped", "family"])
    parser.add_argument("--splits", type=int, default=100, help="random-protocol splits")
    parser.add_argument("--grouped-splits", type=int, default=None,
                        help="grouped-protocol splits (default: --splits)")
    parser.add_argument("--n-iter", type=int, default=6, help="search draws per split")
    parser.add_argument("--inner-folds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--features", choices=["featurizer", "reference"], default="featurizer",
                        help="our Magpie featuriser, or matminer's published CSV")
    parser.add_argument("--unmerged", action="store_true",
                        help="keep duplicated compositions (the seed's 328 rows)")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--out", type=Path, default=None, help="write summary CSV + per-split JSON here")
    args = parser.parse_args(argv)

    data = _load(args)
    specs = resolve_algorithms(args.algorithms)
    print(f"training set: {len(data.y)} rows ({int(data.y.sum())} superionic), "
          f"{data.X.shape[1]} descriptors, featuriser {data.featurizer_version}; "
          f"skipped {len(data.skipped)}")
    tuning = tuning_description(StudyConfig(n_iter=args.n_iter, inner_folds=args.inner_folds))
    print(f"algorithms: {', '.join(s.name for s in specs)}; hyper-parameters: {tuning}; jobs={args.jobs}, "
          f"cpu_count={os.cpu_count()}, load average at start={os.getloadavg()[0]:.1f}")
    total_start = time.perf_counter()
    all_rows = []
    for protocol in args.protocols:
        config = StudyConfig(
            algorithms=[s.name for s in specs], protocols=(protocol,), n_splits=args.splits,
            n_grouped_splits=args.grouped_splits, n_iter=args.n_iter,
            inner_folds=args.inner_folds, n_jobs=args.jobs, keep_models=(),
        )
        last = [0.0]

        def progress(done, total, result, _start=time.perf_counter()):
            now = time.perf_counter() - _start
            if now - last[0] > 60 or done == total:
                last[0] = now
                print(f"  [{protocol}] {done}/{total} (algorithm, split) fits done, {now:.0f} s",
                      file=sys.stderr, flush=True)

        result = run_study(data.X, data.y, config, families=data.families, progress=progress)
        summary = result.summary()
        n_groups = len(np.unique(result.groups[protocol])) if protocol in result.groups else None
        groups = f", {n_groups} groups" if n_groups else ""
        print(f"\n== protocol: {protocol} ({config.splits_for(protocol) if protocol != 'family' else 'one split per family'}{groups}); "
              f"wall time {result.wall_seconds:.0f} s, load average {os.getloadavg()[0]:.1f}")
        print(_table(summary, protocol))
        cpu = {a: sum(r.cpu_seconds for r in result.select(protocol, a)) for a in (s.name for s in specs)}
        print(f"CPU time (s, summed over splits; /{args.jobs} ~ wall time on {args.jobs} idle cores): "
              + ", ".join(f"{a} {t:.1f}" for a, t in cpu.items()) + f"; total {sum(cpu.values()):.1f}")
        print("summed confusion matrices [[TN, FP], [FN, TP]] (rows: true not / superionic):")
        for spec in specs:
            print(f"  {spec.name:5s} {sum_confusions(r.confusion for r in result.select(protocol, spec.name))}")
        if protocol == "family":
            print("accuracy per held-out family:")
            per_family = pd.DataFrame(
                [{"family": r.label, "algorithm": r.algorithm, "acc": r.metrics["accuracy"],
                  "n": len(r.validation_rows)} for r in result.results]
            ).pivot(index=["family", "n"], columns="algorithm", values="acc")
            print(per_family[[s.name for s in specs]].to_string(float_format=lambda v: f"{v:.2f}"))
        summary.insert(2, "wall_seconds", result.wall_seconds)
        all_rows.append(summary)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            per_split = [
                {"protocol": r.protocol, "algorithm": r.algorithm, "split_id": r.split_id,
                 "seed": r.seed, "label": r.label, **r.metrics, "confusion": r.confusion,
                 "best_params": r.best_params, "inner_score": r.inner_score}
                for r in result.results
            ]
            (args.out / f"splits_{protocol}.json").write_text(json.dumps(per_split, indent=1, default=str))
    total = time.perf_counter() - total_start
    print(f"\ntotal wall time {total:.0f} s ({total / 60:.1f} min) with {args.jobs} worker processes")
    if args.out:
        pd.concat(all_rows).to_csv(args.out / "summary.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
