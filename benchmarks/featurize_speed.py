"""Magpie featurisation speed: superionic's vectorised featuriser vs matminer, one run.

    .venv/bin/python benchmarks/featurize_speed.py [--n 20000] [--matminer-n 1000] [--seed 0]

Draws N random Li-containing compositions (Li plus 1-4 other elements from an MP-like
element set: every element with complete Magpie data up to Bi, less Tc and Pm; integer
amounts 1-8, as in MP formulas), featurises all of them with superionic, and a random
subsample with matminer's ``MultipleFeaturizer`` (the same four featurisers); matminer's time
for N is extrapolated linearly from the subsample and labelled as such. Prints a table with
the wall times, the speed-up and the largest relative deviation between the two on the
subsample. Times include parsing the formula strings (pymatgen ``Composition``) for both.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def random_formulas(n: int, seed: int) -> list[str]:
    from superionic.features.element_data import element_tables

    tables = element_tables()
    pool = [
        s
        for z, s in enumerate(tables.symbols)
        if 0 < z <= 83 and tables.supported[z] and s not in ("Li", "Tc", "Pm")
    ]
    rng = np.random.default_rng(seed)
    formulas = []
    for _ in range(n):
        others = rng.choice(pool, size=rng.integers(1, 5), replace=False)
        amounts = rng.integers(1, 9, size=len(others) + 1)
        formulas.append("".join(f"{el}{a}" for el, a in zip(["Li", *others], amounts)))
    return formulas


def matminer_featurizer():
    from matminer.featurizers.base import MultipleFeaturizer
    from matminer.featurizers.composition import (
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )

    return MultipleFeaturizer(
        [
            ElementProperty.from_preset("magpie"),
            Stoichiometry(),
            IonProperty(fast=True),
            ValenceOrbital(props=["frac"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="compositions for superionic")
    parser.add_argument("--matminer-n", type=int, default=1_000, help="matminer subsample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from pymatgen.core import Composition

    from superionic.features.element_data import element_tables
    from superionic.features.magpie import MAGPIE_FEATURE_LABELS, featurize_formulas

    t0 = time.perf_counter()
    element_tables()
    t_tables = time.perf_counter() - t0
    formulas = random_formulas(args.n, args.seed)
    t0 = time.perf_counter()
    ours, failures = featurize_formulas(formulas)
    t_ours = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed + 1)
    sub = np.sort(rng.choice(args.n, size=min(args.matminer_n, args.n), replace=False))
    featurizer = matminer_featurizer()
    assert featurizer.feature_labels() == MAGPIE_FEATURE_LABELS
    t0 = time.perf_counter()
    reference = np.array([featurizer.featurize(Composition(formulas[i])) for i in sub], dtype=float)
    t_mm_sub = time.perf_counter() - t0
    t_mm = t_mm_sub / len(sub) * args.n

    mine = ours.to_numpy()[sub]
    scale = np.where(reference == 0, 1.0, np.abs(reference))
    rel = np.abs(mine - reference) / scale
    max_rel = float(np.nanmax(rel))
    worst = MAGPIE_FEATURE_LABELS[int(np.nanargmax(rel)) % len(MAGPIE_FEATURE_LABELS)]
    n_nan_mismatch = int(np.sum(np.isnan(mine) != np.isnan(reference)))

    rows = [
        ("compositions", f"{args.n:,}", f"{len(sub):,} measured"),
        ("element tables load (once)", f"{t_tables:.2f} s", "-"),
        (f"time for {args.n:,}", f"{t_ours:.2f} s", f"{t_mm:.1f} s (extrapolated)"),
        ("per composition", f"{t_ours / args.n * 1e6:.0f} us", f"{t_mm_sub / len(sub) * 1e3:.2f} ms"),
        ("speed-up", f"{t_mm / t_ours:.0f}x", "1x"),
        ("failed rows", f"{len(failures)}", "-"),
        ("max relative deviation", f"{max_rel:.2e} ({worst})", "reference"),
        ("NaN pattern mismatches", f"{n_nan_mismatch}", "-"),
    ]
    width = max(len(r[0]) for r in rows)
    col = max(len(r[1]) for r in rows)
    print(f"{'':{width}}  {'superionic':>{col}}  matminer {featurizer_version()}")
    for name, a, b in rows:
        print(f"{name:{width}}  {a:>{col}}  {b}")
    print(
        f"(matminer timed on a random subsample of {len(sub):,} and scaled linearly to "
        f"{args.n:,}; relative deviation |ours - matminer| / |matminer| over those "
        f"{len(sub):,} x 145 values, absolute where matminer's value is 0)"
    )


def featurizer_version() -> str:
    from importlib.metadata import version

    return version("matminer")


if __name__ == "__main__":
    main()
