"""Structure-aware descriptors against composition-only Magpie, on the OBELiX rows with a CIF.

A measured evaluation, not (yet) part of the model: of the merged Li training set, only the
OBELiX rows have structures (the training split's CIFs, positions slightly randomised by the
dataset's authors), so the comparison is on those rows. Descriptors per structure (Li sites
with Li in their species; anions O S Se Te F Cl Br I N, else P H):

    volume per atom, per Li, per anion; density; mean and minimum nearest Li-Li distance;
    mean nearest Li-anion distance; Li-anion coordination (anions within 1.25 x the
    nearest); Li neighbours of a Li within 3.5 A.

Protocols: 15 grouped splits (composition clusters) and leave-one-family-out (families
with >= 10 rows); scores balanced accuracy / ROC-AUC (``superionic.ml.protocols``).

    PYTHONPATH=src .venv/bin/python benchmarks/structure_descriptors.py
"""

from __future__ import annotations

import os
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ANIONS = {"O", "S", "Se", "Te", "F", "Cl", "Br", "I", "N"}
CUTOFF = 6.0
CIFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "obelix" / "train_cifs.tar.gz"


def _has(site, symbols) -> bool:
    return any(sp.symbol in symbols for sp in site.species)


def structure_descriptors(structure) -> dict[str, float] | None:
    li = [s for s in structure if _has(s, {"Li"})]
    anions = [s for s in structure if _has(s, ANIONS)] or [s for s in structure if _has(s, {"P", "H"})]
    if not li or not anions:
        return None
    anion_set = {sp.symbol for s in anions for sp in s.species}
    n_li = sum(s.species.get_el_amt_dict().get("Li", 0) for s in li)
    n_anion = sum(s.species.num_atoms for s in anions)
    neighbours = structure.get_all_neighbors(CUTOFF, sites=li)
    li_li = [min([n.nn_distance for n in nbs if _has(n, {"Li"})] or [CUTOFF]) for nbs in neighbours]
    li_x = [min([n.nn_distance for n in nbs if _has(n, anion_set)] or [CUTOFF]) for nbs in neighbours]
    cn = [sum(1 for n in nbs if _has(n, anion_set) and n.nn_distance <= 1.25 * m) for nbs, m in zip(neighbours, li_x)]
    close = [sum(1 for n in nbs if _has(n, {"Li"}) and n.nn_distance <= 3.5) for nbs in neighbours]
    return {
        "vol_per_atom": structure.volume / structure.composition.num_atoms,
        "vol_per_li": structure.volume / max(n_li, 1e-6),
        "vol_per_anion": structure.volume / n_anion,
        "density": float(structure.density),
        "li_li_mean": float(np.mean(li_li)), "li_li_min": float(np.min(li_li)),
        "li_anion_mean": float(np.mean(li_x)), "li_cn": float(np.mean(cn)), "li_li_35": float(np.mean(close)),
    }


def read_descriptors(path: Path = CIFS) -> pd.DataFrame:
    from pymatgen.core import Structure

    rows = {}
    with tarfile.open(path) as tar, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for member in tar.getmembers():
            if not member.name.endswith(".cif"):
                continue
            text = tar.extractfile(member).read().decode()
            try:
                values = structure_descriptors(Structure.from_str(text, fmt="cif"))
            except (ValueError, KeyError, IndexError) as exc:
                print(f"  {member.name}: {exc}")
                continue
            if values:
                rows[Path(member.name).stem] = values
    return pd.DataFrame(rows).T


def main() -> None:
    from superionic.ml.algorithms import ALGORITHMS
    from superionic.ml.dataset import training_matrix
    from superionic.ml.protocols import Fold, evaluate, family_folds
    from superionic.ml.splits import composition_clusters, grouped_splits
    from superionic.ml.training_sources import bundled_path, read_csv

    start = time.perf_counter()
    S = read_descriptors()
    obelix = read_csv(bundled_path("obelix_train.csv"))
    data = training_matrix(("kang2023", "obelix", "xu2020"), mobile_ion="Li")
    ids = []
    for rows in data.provenance["rows"]:
        lines = [int(r.rsplit(":", 1)[1]) for r in rows.split(";") if r.startswith("obelix:")]
        cif = [obelix.ID.iloc[line - 2] for line in lines if obelix.ID.iloc[line - 2] in S.index]
        ids.append(cif[0] if cif else None)
    has = np.array([i is not None for i in ids])
    X, y = data.X.to_numpy(float)[has], np.asarray(data.y)[has]
    Xs = S.loc[[i for i in ids if i is not None]].to_numpy(float)
    clusters = composition_clusters(X)
    folds = [Fold("grouped", s.label, s.train, s.validation) for s in grouped_splits(y, clusters, 15)]
    folds += family_folds(data.families[has], min_family=10)
    print(f"{len(S)} CIFs with Li and an anion; {has.sum()} training rows with a CIF ({int(y.sum())} superionic)")
    rows = []
    for name, M in (("Magpie", X), ("Magpie + structure", np.hstack([X, Xs])), ("structure only", Xs)):
        for algorithm in ("gb", "lgbm", "rf"):
            t = evaluate(lambda seed: ALGORITHMS[algorithm].pipeline(seed), M, y, folds).set_index("protocol")
            rows.append({"descriptors": name, "algorithm": algorithm,
                         **{p: f"{t.loc[p, 'balanced_accuracy']:.3f} / {t.loc[p, 'roc_auc']:.3f}" for p in t.index}})
    print(pd.DataFrame(rows).to_markdown(index=False))
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
