"""The chemist's sanity panel and the top of the default ranking, with the panel held out or not.

Trains the quick recipe's surrogate (GB + LightGBM on its descriptor set, 20 random splits,
library defaults, the recipe's calibration on grouped out-of-fold rows) on the given training
sources, then prints

- the sanity panel (well-known poor and fast Li conductors; ``in_training`` marks those in
  the training set) and whether every fast one scores above every poor one;
- the expected calibration error on grouped out-of-fold rows;
- the top ``--top`` screening survivors of the bundled snapshot by calibrated probability,
  with the poor panel compounds among them named.

``--hold-out-panel`` removes every panel composition from the training rows first, so the
panel is a real test of what the model learned from the other rows (the default recipe's
``poor_conductors`` source holds four of the panel's poor compounds: LiF, LiCl, LiBr, Li2O).

    PYTHONPATH=src .venv/bin/python benchmarks/sanity_panel.py
    PYTHONPATH=src .venv/bin/python benchmarks/sanity_panel.py --hold-out-panel
    PYTHONPATH=src .venv/bin/python benchmarks/sanity_panel.py --sources kang2023 obelix xu2020
    PYTHONPATH=src .venv/bin/python benchmarks/sanity_panel.py --descriptors magpie
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from superionic.ml.dataset import LabelledMatrix, training_matrix
from superionic.ml.predict import predict_formulas
from superionic.ml.sanity import FAST, POOR, panel_checks, sanity_panel
from superionic.ml.study import StudyConfig, run_study
from superionic.ml.surrogate import Surrogate
from superionic.ml.training_data import composition_key
from superionic.recipes import load_recipe

QUICK = load_recipe("quick").classifier


def without_panel(data: LabelledMatrix) -> LabelledMatrix:
    """``data`` less every row whose composition is a panel compound."""
    panel = {composition_key(f)[0] for f in [*POOR.values(), *FAST.values()]}
    keep = ~data.provenance["composition_key"].isin(panel).to_numpy()
    return LabelledMatrix(
        X=data.X[keep].reset_index(drop=True), y=np.asarray(data.y)[keep],
        formulas=[f for f, k in zip(data.formulas, keep) if k], families=np.asarray(data.families)[keep],
        featurizer_version=data.featurizer_version, sources=data.sources, descriptors=data.descriptors,
        groups=data.clusters()[keep], provenance=data.provenance[keep].reset_index(drop=True),
    )


def quick_surrogate(data: LabelledMatrix) -> tuple[Surrogate, float]:
    """The quick recipe's surrogate on ``data`` and its cross-fitted grouped ECE."""
    config = StudyConfig(algorithms=["gb", "lgbm"], protocols=("random",), n_splits=20, n_iter=0,
                         inner_grouped=True, n_jobs=1)
    study = run_study(data.X, data.y, config, families=data.families, groups=data.clusters())
    surrogate = Surrogate.from_study(study, data, algorithms=("gb", "lgbm"))
    report = surrogate.calibrate(data, n_repeats=QUICK.calibration_repeats, method=QUICK.calibration_method)
    return surrogate, report.ece_calibrated


def snapshot_survivors() -> list[tuple[str, str]]:
    """(material_id, formula) of the bundled snapshot's screening survivors (recipe defaults)."""
    from superionic.jobs.screening import screen_corpus

    outcome = screen_corpus("snapshot", show_progress=False)
    return [(d.material_id, d.formula) for d in outcome.survivors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", nargs="+", default=QUICK.training_sources)
    parser.add_argument("--descriptors", default=QUICK.descriptors,
                        help="magpie, chemistry or magpie+chemistry (default: the quick recipe's)")
    parser.add_argument("--hold-out-panel", action="store_true", help="Train without the panel's compositions.")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    start = time.perf_counter()
    data = training_matrix(args.sources, mobile_ion="Li", descriptors=args.descriptors)
    if args.hold_out_panel:
        data = without_panel(data)
    surrogate, ece = quick_surrogate(data)
    print(f"training: {len(data.y)} compositions ({int(np.sum(data.y))} superionic) from "
          f"{', '.join(args.sources)}{' less the panel' if args.hold_out_panel else ''}; "
          f"{args.descriptors} descriptors")
    print(f"ECE (grouped out-of-fold, calibrated, cross-fitted): {ece:.3f}")

    panel = sanity_panel(surrogate, data.provenance["composition_key"])
    columns = ["name", "known", "prob_calibrated", "verdict", "in_domain", "domain_distance", "in_training"]
    print(panel[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(panel_checks(panel))

    survivors = snapshot_survivors()
    docs = predict_formulas([f for _, f in survivors], surrogate, [m for m, _ in survivors])
    ranking = pd.DataFrame({
        "material_id": [m for m, _ in survivors], "formula": [f for _, f in survivors],
        "p": [d.prob_calibrated for d in docs], "score": [d.prob_mean for d in docs],
        "in_domain": [d.in_domain for d in docs],
    }).sort_values(["p", "score"], ascending=False).reset_index(drop=True)
    top = ranking.head(args.top)
    poor_keys = {composition_key(f)[0]: name for name, f in POOR.items()}
    poor_in_top = [f"{poor_keys[composition_key(f)[0]]} (#{i + 1})" for i, f in enumerate(top.formula)
                   if composition_key(f)[0] in poor_keys]
    print(f"\ntop {args.top} of {len(ranking)} survivors by calibrated probability:")
    print(top.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"poor panel compounds in the top {args.top}: {', '.join(poor_in_top) or 'none'}")
    print(f"wall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
