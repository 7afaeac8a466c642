"""Crystal system, point group and cell descriptors next to Magpie (issue 10), measured.

Not part of the model. Each merged Li training row gets, from its source rows (provenance
``rows``; first source row that has the value, in the order OBELiX, Kang, Xu, poor conductors):

- crystal system: Kang's ``crystal_system`` (all rows); OBELiX's ``Space group #`` (all rows);
  Xu 2020: R-3c (all NASICON, trigonal); poor conductors: the MP 2025 structure of the same
  reduced formula in the bundled corpus (the polymorph in the snapshot's E_hull = 0 list;
  all 8 are), SpacegroupAnalyzer(symprec=0.1), as candidates get it at prediction time;
- space group number -> point-group order and centrosymmetric flag (NaN where unknown);
- cell: volume per atom, per anion (O S Se Te F Cl Br I N, else P H) and Li per volume, from
  OBELiX's lattice and ``True Composition`` (cell content), Xu's ``Vcalc`` (hexagonal cell,
  Z = 6) or the MP structure; NaN for Kang-only rows (no lattice given).

Variants (final model, ``superionic.ml.protocols.FinalModel``, the quick recipe's calibration;
folds of ``classifier_protocols.py``: ``all_folds`` over Magpie composition clusters):
``magpie``; ``(a)`` + crystal-system one-hot (7 columns); ``(b)`` (a) + point-group order and
centrosymmetric flag; ``(c)`` (b) + cell descriptors. Selection on the grouped protocol only;
then LOFO and both external directions once, for Magpie, (a) and the best grouped variant.

    PYTHONPATH=src .venv/bin/python benchmarks/symmetry_descriptors.py
"""

from __future__ import annotations

import os
import time
import warnings
from functools import cache

import numpy as np
import pandas as pd
from pymatgen.core import Composition, Lattice
from pymatgen.symmetry.groups import PointGroup, SpaceGroup

from superionic.ml.dataset import training_matrix
from superionic.ml.protocols import FinalModel, all_folds
from superionic.ml.training_sources import bundled_path, clean_xu_formula, read_csv
from superionic.recipes import load_recipe
from variant_protocols import select_then_test

SOURCES = ("kang2023", "obelix", "xu2020", "poor_conductors")
SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")
ANIONS = {"O", "S", "Se", "Te", "F", "Cl", "Br", "I", "N"}
PRIORITY = ("obelix", "kang2023", "xu2020", "poor_conductors")
XU_Z = 6  # formula units in the hexagonal R-3c NASICON cell
CELL = ("vol_per_atom", "vol_per_anion", "li_per_volume")


@cache
def point_group(number: int) -> tuple[float, float]:
    """(order, centrosymmetric 0/1) of the point group of space group ``number``."""
    ops = PointGroup(SpaceGroup.from_int_number(number).point_group).symmetry_ops
    return float(len(ops)), float(any(np.allclose(o.rotation_matrix, -np.eye(3)) for o in ops))


def cell(composition: Composition, volume: float) -> dict[str, float]:
    """Cell descriptors of a cell of ``volume`` (A^3) holding ``composition``."""
    amounts = composition.get_el_amt_dict()
    anions = sum(v for k, v in amounts.items() if k in ANIONS) or sum(amounts.get(k, 0) for k in ("P", "H"))
    return {"vol_per_atom": volume / composition.num_atoms, "vol_per_anion": volume / anions if anions else np.nan,
            "li_per_volume": amounts.get("Li", 0) / volume}


def symmetry_of_structure(structure) -> dict:
    """What a candidate's structure gives at prediction time: crystal system, space group, cell."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    analyzer = SpacegroupAnalyzer(structure, symprec=0.1)
    return {"crystal_system": analyzer.get_crystal_system(), "spacegroup": analyzer.get_space_group_number(),
            **cell(structure.composition, structure.volume)}


def mp_ground_state(formula: str):
    """Bundled MP 2025 structure of ``formula``'s reduced formula: the polymorph in the snapshot's
    E_hull = 0 list, else the only bundled polymorph; anything else is refused (no energies bundled)."""
    from superionic.sources.structures import bundled_structure, corpus_dir

    reduced = Composition(formula).reduced_formula
    index = pd.read_csv(corpus_dir() / "mp2025_li_index.csv.gz")
    ids = index.loc[(index.formula == reduced) & (index.bundled_structure == 1), "material_id"].tolist()
    stable = sorted(set(pd.read_csv(corpus_dir() / "mp_li_prescreened_560.csv").material_id) & set(ids))
    if len(stable) == 1 or len(ids) == 1:
        chosen = (stable or ids)[0]
        return chosen, "E_hull = 0 list" if stable else "only polymorph", bundled_structure(chosen)
    raise ValueError(f"no single MP ground state of {reduced} in the bundle: {ids}")


def source_symmetry() -> dict[str, dict]:
    """``source:file:line`` -> crystal system, space group number, cell descriptors (where known)."""
    out = {}
    name = "kang2023_database.csv"
    for i, r in pd.read_csv(bundled_path(name)).iterrows():
        sg = r["spacegroup_number"]
        out[f"kang2023:{name}:{i + 2}"] = {"crystal_system": str(r["crystal_system"]).strip().lower(),
                                           "spacegroup": int(sg) if pd.notna(sg) else None}
    name = "obelix_train.csv"
    for i, r in pd.read_csv(bundled_path(name)).iterrows():
        sg = int(r["Space group #"])
        lattice = [float(r[k]) for k in ("a", "b", "c", "alpha", "beta", "gamma")]
        volume = Lattice.from_parameters(*lattice).volume
        out[f"obelix:{name}:{i + 2}"] = {"crystal_system": SpaceGroup.from_int_number(sg).crystal_system,
                                         "spacegroup": sg, **cell(Composition(r["True Composition"]), volume)}
    for name in ("xu2020_nasicon_train.csv", "xu2020_nasicon_lisicon_test.csv"):
        for i, r in read_csv(bundled_path(name)).iterrows():
            formula, problem = clean_xu_formula(r["Formula"])
            values = {"crystal_system": "trigonal", "spacegroup": 167}
            if not problem:
                values |= cell(Composition(formula) * XU_Z, float(r["Vcalc"]))
            out[f"xu2020:{name}:{i + 2}"] = values
    name = "poor_conductors.csv"
    for i, r in read_csv(bundled_path(name)).iterrows():
        material, how, structure = mp_ground_state(r["formula"])
        values = symmetry_of_structure(structure)
        print(f"  poor conductor {r['formula']}: {material} ({how}): {values['crystal_system']}, "
              f"space group {values['spacegroup']}")
        out[f"poor_conductors:{name}:{i + 2}"] = values
    return out


def row_descriptors(provenance: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per merged row: one-hot crystal system, point group, cell (NaN where unknown); disagreements."""
    by_row = source_symmetry()
    rows, conflicts = [], 0
    for merged in provenance["rows"]:
        parts = sorted(merged.split(";"), key=lambda r: PRIORITY.index(r.split(":")[0]))
        found = [by_row[r] for r in parts]
        systems = {v["crystal_system"] for v in found}
        conflicts += len(systems) > 1

        def first(key):
            return next((v[key] for v in found if v.get(key) is not None and not pd.isna(v.get(key))), None)

        system, sg = first("crystal_system"), first("spacegroup")
        order, centro = point_group(sg) if sg else (np.nan, np.nan)
        rows.append({**{f"cs_{s}": float(system == s) for s in SYSTEMS}, "pg_order": order,
                     "centrosymmetric": centro,
                     **{k: (np.nan if first(k) is None else float(first(k))) for k in CELL}})
    return pd.DataFrame(rows), conflicts


def main() -> None:
    start = time.perf_counter()
    data = training_matrix(SOURCES, mobile_ion="Li")
    S, conflicts = row_descriptors(data.provenance)
    y, clusters = np.asarray(data.y, bool), data.clusters()
    source = data.provenance["source"]
    print(f"\n{len(y)} compositions ({int(y.sum())} superionic) from {', '.join(SOURCES)}; "
          f"{len(np.unique(clusters))} composition clusters; {conflicts} merged rows whose sources disagree on "
          "the crystal system (first in order obelix, kang2023, xu2020, poor_conductors kept)")
    coverage = pd.DataFrame({"rows": source.value_counts(),
                             "crystal system": S.filter(like="cs_").sum(axis=1).groupby(source).sum().astype(int),
                             "space group": S.pg_order.notna().groupby(source).sum(),
                             "cell": S.vol_per_atom.notna().groupby(source).sum()})
    print("coverage per (merged) source:\n" + coverage.to_markdown())
    print("crystal systems: " + ", ".join(f"{s} {int(S[f'cs_{s}'].sum())}" for s in SYSTEMS))

    magpie = data.X.reset_index(drop=True)
    onehot = S.filter(like="cs_")
    variants = {"magpie": magpie, "(a) + crystal system": pd.concat([magpie, onehot], axis=1),
                "(b) + point group": pd.concat([magpie, onehot, S[["pg_order", "centrosymmetric"]]], axis=1),
                "(c) + cell": pd.concat([magpie, S], axis=1)}
    folds = all_folds(y, clusters, data.families, source.tolist(), 20, 10)
    method = load_recipe("quick").classifier.calibration_method
    make = lambda seed: FinalModel(seed, method=method)  # noqa: E731
    print(f"final model: {method} calibration")
    select_then_test({name: (X.to_numpy(float), make) for name, X in variants.items()}, y, clusters, folds,
                     baseline="magpie", also=["(a) + crystal system"])
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
