"""Balanced accuracy / ROC-AUC of every algorithm and of the final model under four protocols.

Random (the seed's), grouped (composition clusters), leave-one-family-out and external
(train on one source, test on the other's unseen compositions, both ways); see
``superionic.ml.protocols``. Algorithms use library defaults (``n_iter=0``); the final model
is the shipped recipe (GB + LightGBM, isotonic calibration on grouped out-of-fold rows).

    PYTHONPATH=src .venv/bin/python benchmarks/classifier_protocols.py              # Li set
    PYTHONPATH=src .venv/bin/python benchmarks/classifier_protocols.py --with-na    # Na kept
    PYTHONPATH=src .venv/bin/python benchmarks/classifier_protocols.py -a gb lgbm final
    PYTHONPATH=src .venv/bin/python benchmarks/classifier_protocols.py --descriptors chemistry

Test rows are always Li compounds; ``--with-na`` only adds the Na compounds to training.
Wall time is printed with the load average (other users of the cores make it longer).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from superionic.ml.algorithms import ALGORITHMS
from superionic.ml.dataset import family_weights, training_matrix
from superionic.ml.protocols import FinalModel, all_folds, evaluate, family_table
from superionic.recipes import load_recipe

COLUMNS = ["random", "grouped", "lofo", "external kang2023 -> obelix", "external obelix -> kang2023"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-a", "--algorithms", nargs="+", default=[*ALGORITHMS, "final"])
    parser.add_argument("--sources", nargs="+", default=["kang2023", "obelix", "xu2020"])
    parser.add_argument("--random-splits", type=int, default=20)
    parser.add_argument("--grouped-splits", type=int, default=10)
    parser.add_argument("--with-na", action="store_true", help="Keep Na compounds in training (tests stay Li).")
    parser.add_argument("--descriptors", default="magpie",
                        help="Descriptor set: magpie (default), chemistry or magpie+chemistry.")
    parser.add_argument("--calibration-method", default=load_recipe("quick").classifier.calibration_method,
                        help="Calibration of the final model (default: the quick recipe's).")
    parser.add_argument("--per-family", action="store_true", help="Also print each held-out family's scores.")
    parser.add_argument("--family-weights", action="store_true",
                        help="Weigh training rows 1/sqrt(family size) (superionic.ml.dataset.family_weights).")
    args = parser.parse_args()

    start = time.perf_counter()
    data = training_matrix(args.sources, mobile_ion=None if args.with_na else "Li", descriptors=args.descriptors)
    X, y = data.X.to_numpy(float), np.asarray(data.y, bool)
    li = np.array(["Li" in [t.rstrip("0123456789.") for t in k.split()] for k in data.provenance["composition_key"]])
    clusters = data.clusters()  # Magpie clusters whatever the descriptors: the same splits
    folds = all_folds(y, clusters, data.families, data.provenance["source"].tolist(),
                      args.random_splits, args.grouped_splits)
    if args.with_na:  # train on everything, test on Li rows only
        folds = [type(f)(f.protocol, f.name, f.train, f.test[li[f.test]]) for f in folds]
        folds = [f for f in folds if len(f.test)]
    print(f"training set: {len(y)} compositions ({int(y.sum())} superionic) from {', '.join(args.sources)}"
          f"{' (Na compounds kept)' if args.with_na else ' (Li compounds only)'}; {len(np.unique(clusters))} "
          f"composition clusters; {X.shape[1]} {args.descriptors} descriptors")
    tests = {f.name: len(f.test) for f in folds if f.protocol == "external"}
    print(f"external test rows (unseen compositions): {tests}")
    rows = []
    for name in args.algorithms:
        t0 = time.perf_counter()
        make = (lambda seed: FinalModel(seed, method=args.calibration_method)) if name == "final" else (lambda seed, n=name: ALGORITHMS[n].pipeline(seed))
        predictions = []
        table = evaluate(make, X, y, folds, groups=clusters, predictions=predictions,
                         sample_weight=family_weights(data.families) if args.family_weights else None)
        table = table.set_index("protocol")
        if args.per_family:
            families = family_table(predictions, y).to_string(index=False, float_format="{:.2f}".format)
            print(f"{name}, leave one family out:\n{families}")
        row = {"algorithm": name}
        for col in COLUMNS:
            if col in table.index:
                row[col] = f"{table.loc[col, 'balanced_accuracy']:.3f} / {table.loc[col, 'roc_auc']:.3f}"
        rows.append(row)
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    frame = pd.DataFrame(rows).set_index("algorithm")
    print("\nbalanced accuracy / ROC-AUC (random, grouped: mean over splits; lofo, external: pooled)")
    print(frame.to_markdown())
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
