"""Issue 22: does each structural signal help? Measured two ways.

1. The seed's nine AIMD hits: each signal computed on the MP cell (bundled MP 2025 structure,
   BVSE included) against the activation energy of the seed authors' AIMD (pymatgen
   DiffusionAnalyzer, default smoothing, D at 800/1100/1400/1700 K, pymatgen's unweighted
   Arrhenius fit over the four temperatures). Spearman rho with its p-value (n = 9: |rho| >
   0.68 for p < 0.05). Expected sign: + for barrier-like signals (a larger value, a higher Ea).
2. The four classifier protocols (``variant_protocols.select_then_test``: choose on grouped
   folds only, then leave-one-family-out and both external directions for Magpie and the best
   variant). Every training row gets a structure as in ``parent_structures.py`` (its OBELiX
   CIF, an MP polymorph of its composition, else its nearest same-anion, same-family parent's);
   the evidence (without BVSE: ~600 structures x seconds) is computed on that structure, a
   disordered site taken as its majority species. Variants: Magpie; + anion framework (bcc /
   fcc / hcp flags, RMS to bcc); + Li sublattice (Li-Li distances, network dimensionality,
   percolation cutoffs, free volume, volume per anion); + both.

    PYTHONPATH=src nice .venv/bin/python benchmarks/structure_signals.py [--nine-only] [--grouped-repeats N]

(``--grouped-repeats 2``: 2 x 5 grouped folds instead of 10 x 5, for a loaded machine.)

Writes benchmarks/results/structure_signals.txt (stdout copied there by the command line in
its header).
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import sys
import tarfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AIMD = DATA / "aimd" / "kang2023"
CACHE = Path("/tmp/structure_signals_cache.pkl")
SEED_NINE = {"mp-1106183": "LiAlS2", "mp-1195055": "RbLi6B2O6F", "mp-1222404": "LiBiS2",
             "mp-1222492": "Li3ErBr6", "mp-19896": "Li2GePbS4", "mp-29410": "Li2B2S5",
             "mp-532413": "Li5B7S13", "mp-557892": "BaLi(BS2)3", "mp-676361": "Li3ErCl6"}
SIGNALS = {  # name -> expected sign of the correlation with Ea
    "bvse_e3d": +1, "bvse_e1d": +1, "li_percolation_cutoff_3d": +1, "li_percolation_cutoff_1d": +1,
    "li_li_min": +1, "li_li_mean_nearest": +1, "li_network_dim": -1, "free_volume_fraction": -1,
    "volume_per_anion": -1, "bcc_rms": +1, "is_bcc": -1,
    "LLB": -1, "SBI": +1, "AFC": +1, "LASD": +1, "LLSD": +1,
}
FRAMEWORK = ["is_bcc", "is_fcc", "is_hcp", "bcc_rms"]
LI_SUBLATTICE = ["li_li_min", "li_li_mean_nearest", "li_network_dim", "li_percolation_cutoff_1d",
                 "li_percolation_cutoff_3d", "free_volume_fraction", "volume_per_anion"]


def load_cache() -> dict:
    return pickle.loads(CACHE.read_bytes()) if CACHE.exists() else {}


def flat(doc: dict) -> dict:
    """Numeric signals of an evidence document."""
    rms = doc.get("anion_framework_rms") or {}
    kind = doc.get("anion_framework")
    row = {k: doc.get(k) for k in LI_SUBLATTICE + ["bvse_e3d", "bvse_e1d"]}
    row |= {"is_bcc": float(kind == "bcc"), "is_fcc": float(kind == "fcc"), "is_hcp": float(kind == "hcp"),
            "bcc_rms": rms.get("bcc") if rms.get("bcc") is not None else 1.0}
    row |= doc.get("sendek") or {}
    return {k: (np.nan if v is None else float(v)) for k, v in row.items()}


def aimd_activation_energies(cache: dict) -> dict[str, float]:
    if "ea" in cache:
        return cache["ea"]
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer, fit_arrhenius

    out = {}
    for mid in SEED_NINE:
        temps, ds = [], []
        for t in (800, 1100, 1400, 1700):
            raw = json.loads(gzip.open(AIMD / mid / f"{t}_nteps_100.json.gz", "rt").read())
            raw = json.loads(raw) if isinstance(raw, str) else raw
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds.append(DiffusionAnalyzer.from_dict(raw).diffusivity)
            temps.append(t)
        out[mid] = float(fit_arrhenius(temps, ds)[0])
    cache["ea"] = out
    return out


def nine(cache: dict) -> None:
    from scipy.stats import spearmanr

    from superionic.sources.snapshot import load_snapshot
    from superionic.sources.structures import bundled_structure
    from superionic.structure.evidence import EvidenceSettings, compute_evidence

    ea = aimd_activation_energies(cache)
    sendek = {m.material_id: m.descriptors for m in load_snapshot().materials}
    if "nine" not in cache:
        with_bvse = EvidenceSettings(bvse=True)
        cache["nine"] = {mid: compute_evidence(mid, bundled_structure(mid), with_bvse, sendek.get(mid)).to_store()
                         for mid in SEED_NINE}
        CACHE.write_bytes(pickle.dumps(cache))
    frame = pd.DataFrame({mid: flat(d) for mid, d in cache["nine"].items()}).T
    frame["Ea_aimd"] = pd.Series(ea)
    frame.index = [SEED_NINE[m] for m in frame.index]
    print("1. The seed's nine AIMD hits: AIMD Ea (pymatgen fit, 4 temperatures) and the signals on the MP cells")
    show = ["Ea_aimd", "bvse_e3d", "li_percolation_cutoff_3d", "li_li_min", "free_volume_fraction",
            "volume_per_anion", "bcc_rms", "LLB", "SBI", "LASD", "LLSD"]
    print(frame[[c for c in show if c in frame]].round(3).to_markdown())
    rows = []
    for name, sign in SIGNALS.items():
        if name not in frame:
            continue
        ok = frame[[name, "Ea_aimd"]].dropna()
        if len(ok) < 5 or ok[name].nunique() < 2:
            rows.append({"signal": name, "n": len(ok), "rho": np.nan, "p": np.nan, "expected sign": sign})
            continue
        rho, p = spearmanr(ok[name], ok["Ea_aimd"])
        rows.append({"signal": name, "n": len(ok), "rho": round(rho, 2), "p": round(p, 3), "expected sign": sign,
                     "agrees": bool(np.sign(rho) == sign and p < 0.05)})
    print("\nSpearman rho of each signal vs AIMD Ea (agrees: expected sign and p < 0.05)")
    print(pd.DataFrame(rows).to_markdown(index=False))


def _ordered(structure):
    """Each disordered site as its majority species (OBELiX CIFs keep partial occupancies)."""
    from pymatgen.core import Structure

    if structure.is_ordered:
        return structure
    species = [max(site.species.items(), key=lambda kv: kv[1])[0] for site in structure]
    return Structure(structure.lattice, [getattr(s, "element", s) for s in species], structure.frac_coords)


def training_evidence(S: pd.DataFrame, cache: dict) -> pd.DataFrame:
    """Evidence (no BVSE) per distinct structure id of ``S.structure`` ('obelix ID' or an mp-id)."""
    from pymatgen.core import Structure

    from superionic.structure.evidence import EvidenceSettings, compute_evidence

    store = cache.setdefault("train", {})
    wanted = {s for s in S.structure.unique() if s and s not in store}
    settings = EvidenceSettings(bvse=False, max_anion_sites=64)
    t0 = time.perf_counter()
    sources = [(DATA / "obelix" / "train_cifs.tar.gz", lambda n: f"obelix {Path(n).stem}"),
               (DATA / "corpus" / "mp2025_li" / "structures.tar.gz", lambda n: Path(n).stem)]
    for path, name_of in sources:
        if not wanted:
            break
        with tarfile.open(path) as tar, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for member in tar:
                key = name_of(member.name)
                if not member.name.endswith(".cif") or key not in wanted:
                    continue
                try:
                    s = _ordered(Structure.from_str(tar.extractfile(member).read().decode(), fmt="cif"))
                    store[key] = flat(compute_evidence(key, s, settings).to_store())
                except Exception as exc:  # noqa: BLE001 - NaN descriptors for that row
                    store[key] = {"error": str(exc)}
                wanted.discard(key)
    CACHE.write_bytes(pickle.dumps(cache))
    print(f"training structures: {len(store)} with evidence ({time.perf_counter() - t0:.0f} s new)")
    cols = FRAMEWORK + LI_SUBLATTICE
    return pd.DataFrame([{c: store.get(s, {}).get(c, np.nan) for c in cols} for s in S.structure])


def protocols(cache: dict) -> None:
    from parent_structures import assign
    from symmetry_descriptors import SOURCES
    from variant_protocols import select_then_test

    from superionic.ml.dataset import training_matrix
    from superionic.ml.protocols import FinalModel, all_folds
    from superionic.recipes import load_recipe

    data = training_matrix(SOURCES, mobile_ion="Li")
    S = assign(data)
    E = training_evidence(S, cache)
    y, clusters = np.asarray(data.y, bool), data.clusters()
    print(f"\n2. Four protocols: {len(y)} Li compositions, evidence on {int(E.notna().any(axis=1).sum())} rows "
          f"(structure tiers: {S.tier.value_counts().sort_index().to_dict()})")
    magpie = data.X.reset_index(drop=True)
    variants = {"magpie": magpie,
                "+ anion framework": pd.concat([magpie, E[FRAMEWORK].add_prefix("ev_")], axis=1),
                "+ Li sublattice": pd.concat([magpie, E[LI_SUBLATTICE].add_prefix("ev_")], axis=1),
                "+ framework + Li sublattice": pd.concat([magpie, E.add_prefix("ev_")], axis=1)}
    repeats = int(sys.argv[sys.argv.index("--grouped-repeats") + 1]) if "--grouped-repeats" in sys.argv else 10
    print(f"grouped: {repeats} x 5 folds")
    folds = all_folds(y, clusters, data.families, data.provenance["source"].tolist(), 20, repeats)
    method = load_recipe("quick").classifier.calibration_method
    make = lambda seed: FinalModel(seed, method=method)  # noqa: E731
    select_then_test({n: (X.to_numpy(float), make) for n, X in variants.items()}, y, clusters, folds,
                     baseline="magpie")


def main() -> None:
    start = time.perf_counter()
    cache = load_cache()
    nine(cache)
    if "--nine-only" not in sys.argv:
        protocols(cache)
    print(f"\nwall {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
