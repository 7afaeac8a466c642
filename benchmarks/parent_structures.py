"""Structure descriptors for every Li training row (its own structure or its parent's), measured.

Issue 10. ``structure_descriptors.py`` measured its 9 structure descriptors only on the 210
OBELiX rows with a CIF; Kang rows and doped compositions have no structure, so the external
protocols could not be run. Here every merged training row gets a structure, in tiers:

1. its own OBELiX CIF (the OBELiX source row's ``ID``; training split's randomised CIFs);
2. an MP 2025 structure of the same reduced composition (``shared/data/corpus/mp2025_li``, all
   21,755 Li materials): of the polymorphs, the one whose space group (else crystal system)
   is the row's reported one (OBELiX ``Space group #``, Kang ``crystal_system``/number, Xu
   R-3c; symmetry_descriptors.source_symmetry), then one in the snapshot's E_hull = 0 list,
   then the lowest mp-id (no energies are bundled);
3. a parent: the nearest tier-1/2 row with the same main anion set (O S Se Te F Cl Br I N,
   else P H; anions under 10 % of the anion atoms, dopants, ignored) and the same family label (unless ``unassigned``), by Euclidean distance in
   atomic-fraction space (the family label picks the parent; it is never a feature);
4. none: NaN descriptors.

A structure whose descriptors fail falls to the next tier. Per-structure descriptors are
cached in /tmp (CACHE). Variants (final model, the quick recipe's calibration, folds and
seeds of classifier_protocols.py / symmetry_descriptors.py): ``magpie``;
``+ structure (tiers 1-3)``; ``+ structure (tiers 1-2)``. Selection on grouped only; then
LOFO and both external directions once for Magpie and the best structure variant.

    PYTHONPATH=src .venv/bin/python benchmarks/parent_structures.py
"""

from __future__ import annotations

import os
import pickle
import re
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition, Structure
from structure_descriptors import ANIONS, read_descriptors, structure_descriptors
from symmetry_descriptors import PRIORITY, SOURCES, source_symmetry

from superionic.ml.dataset import training_matrix
from superionic.ml.protocols import FinalModel, all_folds
from superionic.ml.training_sources import bundled_path, read_csv
from superionic.recipes import load_recipe
from variant_protocols import select_then_test

MP = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus" / "mp2025_li"
CACHE = Path("/tmp/parent_structures_cache.pkl")
NAMES = ("vol_per_atom", "vol_per_li", "vol_per_anion", "density", "li_li_mean", "li_li_min",
         "li_anion_mean", "li_cn", "li_li_35")


def fractions(key: str) -> dict[str, float]:
    """``composition_key`` ('Li0.055556 O0.666667 ...') -> atomic fractions."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"([A-Z][a-z]?)([0-9.]+)", key)}


def frac_key(composition: Composition) -> tuple:
    return tuple(sorted((el.symbol, round(x, 4)) for el, x in composition.fractional_composition.items()))


def anion_set(fraction: dict[str, float], minor: float = 0.10) -> frozenset[str]:
    """Main anions of a composition: O S Se Te F Cl Br I N (else P H) making up >= ``minor`` of
    the anion atoms (a 1 % F dopant on the O site does not change the parent)."""
    anions = {e: x for e, x in fraction.items() if e in ANIONS} or {e: x for e, x in fraction.items()
                                                                    if e in ("P", "H")}
    total = sum(anions.values())
    return frozenset(e for e, x in anions.items() if x >= minor * total)


def load_cache() -> dict:
    return pickle.loads(CACHE.read_bytes()) if CACHE.exists() else {}


def mp_candidates(keys: set[tuple]) -> dict[tuple, list[str]]:
    """Reduced-composition key -> MP ids (all Li materials of MP 2025) with that composition."""
    index = pd.read_csv(MP / "index.csv")
    out: dict[tuple, list[str]] = {}
    for mid, formula in zip(index.material_id, index.formula_sum):
        try:
            key = frac_key(Composition(formula))
        except Exception:
            continue
        if key in keys:
            out.setdefault(key, []).append(mid)
    return out


def mp_structures(ids: set[str], cache: dict) -> None:
    """Descriptors and symmetry of MP structures ``ids`` into ``cache['mp']`` (None: failed)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    missing = {i for i in ids if i not in cache.setdefault("mp", {})}
    if not missing:
        return
    with tarfile.open(MP / "structures.tar.gz") as tar:
        for member in tar:
            mid = Path(member.name).stem
            if mid not in missing:
                continue
            try:
                s = Structure.from_str(tar.extractfile(member).read().decode(), fmt="cif")
                a = SpacegroupAnalyzer(s, symprec=0.1)
                cache["mp"][mid] = {"descriptors": structure_descriptors(s), "spacegroup": a.get_space_group_number(),
                                    "crystal_system": a.get_crystal_system(), "formula": s.composition.reduced_formula}
            except Exception as exc:  # noqa: BLE001 - any unreadable structure falls to the next tier
                cache["mp"][mid] = {"descriptors": None, "error": str(exc)}
    for mid in missing - set(cache["mp"]):
        cache["mp"][mid] = {"descriptors": None, "error": "not in the tar"}


def choose_mp(ids: list[str], known: list[dict], cache: dict, stable: set[str]) -> tuple[str, str] | None:
    """The polymorph to use, and why (see module docstring)."""
    ok = [i for i in ids if cache["mp"][i]["descriptors"]]
    if not ok:
        return None
    sgs = {k["spacegroup"] for k in known if k.get("spacegroup")}
    systems = {k["crystal_system"] for k in known if k.get("crystal_system")}

    def order(i):
        m = cache["mp"][i]
        return (m["spacegroup"] not in sgs, m["crystal_system"] not in systems, i not in stable,
                int(i.split("-")[1]))

    best = min(ok, key=order)
    m = cache["mp"][best]
    how = ("space group" if m["spacegroup"] in sgs else "crystal system" if m["crystal_system"] in systems
           else "E_hull = 0 list" if best in stable else "lowest mp-id")
    return best, f"{how}, {len(ok)} polymorph(s)"


def assign(data) -> pd.DataFrame:
    """Per merged row: tier, structure id, how chosen, parent, distance, 9 descriptors."""
    from superionic.sources.structures import corpus_dir

    cache = load_cache()
    if "obelix" not in cache:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cache["obelix"] = read_descriptors()
        CACHE.write_bytes(pickle.dumps(cache))
    cifs = cache["obelix"]
    obelix = read_csv(bundled_path("obelix_train.csv"))
    symmetry = source_symmetry()
    stable = set(pd.read_csv(corpus_dir() / "mp_li_prescreened_560.csv").material_id)

    prov = data.provenance
    keys = [frac_key(Composition(f)) for f in data.formulas]
    t0 = time.perf_counter()
    candidates = mp_candidates(set(keys))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp_structures({i for ids in candidates.values() for i in ids}, cache)
    CACHE.write_bytes(pickle.dumps(cache))
    print(f"MP: {sum(map(len, candidates.values()))} polymorphs of {len(candidates)} training compositions "
          f"({time.perf_counter() - t0:.0f} s)")

    rows = []
    for i, merged in enumerate(prov["rows"]):
        parts = sorted(merged.split(";"), key=lambda r: PRIORITY.index(r.split(":")[0]))
        row = {"formula": data.formulas[i], "family": data.families[i], "source": prov.source[i], "tier": 4,
               "structure": "", "how": "", "parent": "", "distance": np.nan}
        ids = [obelix.ID.iloc[int(r.rsplit(":", 1)[1]) - 2] for r in parts if r.startswith("obelix:")]
        ids = [c for c in ids if c in cifs.index]
        if ids:
            row |= {"tier": 1, "structure": f"obelix {ids[0]}", **cifs.loc[ids[0]].to_dict()}
        elif keys[i] in candidates and (pick := choose_mp(candidates[keys[i]], [symmetry[r] for r in parts],
                                                            cache, stable)):
            row |= {"tier": 2, "structure": pick[0], "how": pick[1], **cache["mp"][pick[0]]["descriptors"]}
        rows.append(row)
    frame = pd.DataFrame(rows)

    # tier 3: nearest tier-1/2 row, same anion set and family, atomic-fraction distance
    frac = [fractions(k) for k in prov.composition_key]
    elements = sorted({e for f in frac for e in f})
    F = np.array([[f.get(e, 0.0) for e in elements] for f in frac])
    anions = [anion_set(f) for f in frac]
    have = np.flatnonzero(frame.tier <= 2)
    for i in np.flatnonzero(frame.tier == 4):
        family = frame.family[i]
        pool = [j for j in have if anions[j] == anions[i] and (family == "unassigned" or frame.family[j] == family)]
        if not pool:
            continue
        d = np.linalg.norm(F[pool] - F[i], axis=1)
        j = pool[int(np.argmin(d))]
        frame.loc[i, ["tier", "structure", "parent", "distance"]] = [3, frame.structure[j], frame.formula[j],
                                                                     float(d.min())]
        frame.loc[i, list(NAMES)] = frame.loc[j, list(NAMES)].to_numpy(float)
    return frame


def main() -> None:
    start = time.perf_counter()
    data = training_matrix(SOURCES, mobile_ion="Li")
    S = assign(data)
    y, clusters = np.asarray(data.y, bool), data.clusters()
    source = data.provenance["source"]

    coverage = pd.crosstab(S.source, S.tier).rename(columns=lambda t: f"tier {t}")
    coverage["rows"] = coverage.sum(axis=1)
    coverage.loc["all"] = coverage.sum()
    print(f"\n{len(y)} compositions ({int(y.sum())} superionic); structure tier per (merged) source:")
    print(coverage.to_markdown())
    print("\ntier 2, how the polymorph was chosen: "
          + ", ".join(f"{k} {v}" for k, v in S.how[S.tier == 2].str.split(",").str[0].value_counts().items()))
    print("tier 4 per family: " + ", ".join(f"{k} {v}" for k, v in S.family[S.tier == 4].value_counts().items()))
    t3 = S[S.tier == 3]
    print(f"tier 3 distance (atomic fraction): median {t3.distance.median():.3f}, 90th percentile "
          f"{t3.distance.quantile(0.9):.3f}, max {t3.distance.max():.3f}")
    print("\ntier-3 examples (row -> parent, its structure, distance):")
    examples = [("LLTO (Perovskite, La+Ti)", (S.family == "Perovskite") & S.formula.str.contains("La")
                 & S.formula.str.contains("Ti")),
                ("NASICON", S.family == "NASICON"), ("Argyrodite", S.family == "Argyrodite"),
                ("Garnet", S.family == "Garnet"), ("LGPS", S.family == "LGPS"),
                ("Li-halide", S.family == "Li-halide")]
    for label, mask in examples:
        part = S[mask & (S.tier == 3)]
        print(f"  {label}: {len(part)} tier-3 rows, {part.parent.nunique()} distinct parents")
        for _, r in part.iloc[[0, len(part) // 2, -1] if len(part) >= 3 else slice(None)].iterrows():
            print(f"    {r.formula} -> {r.parent} ({r.structure}), d = {r.distance:.3f}")
    parents = t3.groupby("family").parent.nunique()
    print("distinct parents per family (tier 3): " + ", ".join(f"{k} {v}" for k, v in parents.items()))

    print("\nmedian descriptors per tier (tier 1: OBELiX CIFs, partial occupancies kept; tier 2: ordered MP):")
    print(S.groupby("tier")[list(NAMES)].median().round(2).to_markdown())

    magpie = data.X.reset_index(drop=True)
    struct = S[list(NAMES)].astype(float).add_prefix("st_")
    only12 = struct.copy()
    only12.loc[(S.tier > 2).to_numpy()] = np.nan
    variants = {"magpie": magpie, "+ structure (tiers 1-3)": pd.concat([magpie, struct], axis=1),
                "+ structure (tiers 1-2)": pd.concat([magpie, only12], axis=1)}
    folds = all_folds(y, clusters, data.families, source.tolist(), 20, 10)
    print("\nstructures shared between training and test rows (test rows whose structure, own or parent's,"
          " a training row also carries):")
    structure = S.structure.to_numpy()
    for f in folds:
        if f.protocol in ("lofo", "external"):
            shared = np.isin(structure[f.test], structure[f.train]) & (structure[f.test] != "")
            print(f"  {f.protocol} {f.name}: {int(shared.sum())} of {len(f.test)}")
    method = load_recipe("quick").classifier.calibration_method
    make = lambda seed: FinalModel(seed, method=method)  # noqa: E731

    def tiers_of_external_rows(name, predictions):
        for f, _, _ in predictions:
            if f.protocol == "external" and name != "magpie":
                tiers = S.tier.to_numpy()[f.test]
                print(f"  external {f.name}: test rows per tier "
                      + ", ".join(f"{t} {int((tiers == t).sum())}" for t in (1, 2, 3, 4)))

    print(f"\nfinal model: {method} calibration")
    select_then_test({name: (X.to_numpy(float), make) for name, X in variants.items()}, y, clusters, folds,
                     baseline="magpie", after=tiers_of_external_rows)
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
