"""Select a variant of the final model on grouped splits, then test it once (issue 10's rule).

Shared by ``symmetry_descriptors.py``, ``regression_target.py`` and ``parent_structures.py``:
every variant runs the grouped protocol; the baseline, the variants named in ``also`` and the
best grouped variant then run leave-one-family-out and both external directions once. Folds
and model seeds are those of ``classifier_protocols.py`` (``all_folds`` over the Magpie
composition clusters; a fold's index is its model's seed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from superionic.ml.protocols import evaluate, family_table

COLUMNS = ["grouped", "lofo", "external kang2023 -> obelix", "external obelix -> kang2023"]


def select_then_test(variants: dict[str, tuple[np.ndarray, Callable[[int], object]]], y: np.ndarray,
                     clusters: np.ndarray, folds: Sequence, baseline: str, also: Sequence[str] = (),
                     after: Callable[[str, list], None] | None = None) -> dict[str, dict]:
    """``variants``: name -> (X, make_model(seed)). Prints the four-protocol table and the
    per-family leave-one-family-out table; ``after(name, predictions)`` sees each tested
    variant's LOFO and external predictions. Returns name -> protocol -> (BA, ROC-AUC)."""
    scores: dict[str, dict] = {name: {} for name in variants}

    def run(name, protocols):
        t0, predictions = time.perf_counter(), []
        X, make = variants[name]
        seeds = [i for i, f in enumerate(folds) if f.protocol in protocols]
        table = evaluate(lambda i: make(seeds[i]), X, y, [folds[i] for i in seeds], groups=clusters,
                         predictions=predictions).set_index("protocol")
        for p in table.index:
            scores[name][p] = (table.loc[p, "balanced_accuracy"], table.loc[p, "roc_auc"])
        print(f"  {name}, {'+'.join(protocols)}: {time.perf_counter() - t0:.0f} s", flush=True)
        return predictions

    for name in variants:
        run(name, ("grouped",))
    best = max((n for n in variants if n != baseline), key=lambda n: scores[n]["grouped"])
    print(f"best grouped variant: {best}")
    families = {}
    for name in dict.fromkeys([baseline, *also, best]):
        predictions = run(name, ("lofo", "external"))
        if after is not None:
            after(name, predictions)
        table = family_table(predictions, y).set_index("family")
        families[name] = table[["mean_p", "roc_auc"]]
        families["held out"] = table[["rows", "superionic"]]
    frame = pd.DataFrame({n: {c: "{:.3f} / {:.3f}".format(*s[c]) if c in s else "" for c in COLUMNS}
                          for n, s in scores.items()}).T
    print("\nfinal model; balanced accuracy / ROC-AUC (grouped: mean over its folds; lofo, external: pooled)")
    print(frame.to_markdown())
    families = pd.concat({"held out": families.pop("held out"), **families}, axis=1).round(2)
    families.columns = [f"{a}: {b}" for a, b in families.columns]
    print("\nleave one family out, per held-out family (final model trained without it):")
    print(families.to_markdown())
    return scores
