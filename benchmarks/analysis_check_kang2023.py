"""The analysis on real AIMD, against pymatgen's DiffusionAnalyzer and kinisi's published number.

1. kang2023 (the seed authors' AIMD, nine compounds x 800/1100/1400/1700 K, 300 frames every
   200 fs): our D with its 95 % interval vs DiffusionAnalyzer (smoothed="max", the default;
   and "constant"/avg_nsteps=100, the setting stored in the authors' files), hops and flags.
2. Per compound: Ea, sigma(300 K) with its 95 % interval and the verdict from the usable
   temperatures, next to pymatgen's unweighted Arrhenius fit over all four temperatures.
3. Morgan 2021 Li6PS5Cl 50 % run1 (kinisi: 1.36e-5 [1.21e-5, 1.51e-5]; pymatgen 1.33e-5) and
   the LGPS DiffusionAnalyzer test file (pymatgen's tests: 1.16e-6 cm2/s).

    python benchmarks/analysis_check_kang2023.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from superionic.md.analysis.arrhenius import conductivity_from_diffusion
from superionic.md.analysis.diffusion import DiffusionSettings, diffusion_from_trajectory
from superionic.md.analysis.readers import _decode_json

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TEMPS = (800, 1100, 1400, 1700)


def analyzer(raw: dict, smoothed):
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer

    d = dict(raw, smoothed=smoothed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DiffusionAnalyzer.from_dict(d)


def main() -> None:
    from pymatgen.analysis.diffusion.analyzer import (
        fit_arrhenius,
        get_extrapolated_conductivity,
    )
    from pymatgen.core import Structure

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    root = args.data / "aimd" / "kang2023"

    print("1. D per temperature (cm2/s): ours [95 %] vs pymatgen DiffusionAnalyzer")
    print(f"{'material':22s} {'T':>5s} {'D ours':>9s} {'95 % interval':>21s} {'DA max':>9s} "
          f"{'ratio':>6s} {'in':>3s} {'DA const':>9s} {'hops':>5s}  exclusion / warnings")
    ratios, summary = [], []
    for mdir in sorted(root.glob("mp-*")):
        docs, das, das_const = [], [], []
        for t in TEMPS:
            path = mdir / f"{t}_nteps_100.json.gz"
            raw = _decode_json(path)
            doc = diffusion_from_trajectory(path, material_id=mdir.name, engine="vasp")
            da, dac = analyzer(raw, "max"), analyzer(raw, "constant")
            docs.append(doc)
            das.append(da.diffusivity)
            das_const.append(dac.diffusivity)
            lo, hi = doc.diffusivity_ci95
            inside = lo <= da.diffusivity <= hi
            resolved = not any(f.startswith("d_not_resolved") for f in doc.flags)
            if resolved:
                ratios.append((da.diffusivity / doc.diffusivity, inside))
            codes = [f.split(":")[0] for f in doc.flags]
            print(f"{doc.formula + ' ' + mdir.name:22s} {t:5d} {doc.diffusivity:9.3g} "
                  f"[{lo:9.3g},{hi:9.3g}] {da.diffusivity:9.3g} "
                  f"{da.diffusivity / doc.diffusivity:6.2f} {'yes' if inside else 'no':>3s} "
                  f"{dac.diffusivity:9.3g} {doc.n_hops:5d}  "
                  f"{' '.join(codes) or '-'}")
        cond = conductivity_from_diffusion(docs)
        s0 = Structure.from_dict(_decode_json(mdir / "800_nteps_100.json.gz")["structure"])
        # the authors' own setting (stored in their files): smoothed="constant", avg_nsteps=100
        ea_all = fit_arrhenius(list(TEMPS), das_const)[0]
        sig_all = get_extrapolated_conductivity(list(TEMPS), das_const, 300.0, s0, "Li") / 1000.0
        summary.append((mdir.name, cond, ea_all, sig_all))

    r = np.array([x for x, _ in ratios])
    print(f"\nresolved runs: {len(r)}; DA/ours ratio {r.min():.2f}-{r.max():.2f} "
          f"(median {np.median(r):.2f}); DA inside our 95 % interval in "
          f"{sum(ok for _, ok in ratios)}/{len(r)}")

    print("\n2. Arrhenius -> 300 K (usable temperatures only) vs pymatgen's unweighted fit of "
          "all four DiffusionAnalyzer D (smoothed='constant', avg_nsteps=100: the authors')")
    print(f"{'material':24s} {'used (K)':>20s} {'Ea (eV)':>12s} {'sigma300 S/cm':>13s} "
          f"{'95 % interval':>21s} {'verdict':>17s} | {'Ea all4':>7s} {'sigma all4':>10s}")
    for mid, c, ea_all, sig_all in summary:
        used = ",".join(f"{t:g}" for t in c.temperatures_used) or "-"
        ea = (f"{c.activation_energy:.2f}+/-{c.activation_energy_std:.2f}"
              if c.activation_energy is not None else "-")
        sig = f"{c.sigma300:.2e}" if c.sigma300 else "-"
        ci = f"[{c.sigma300_ci95[0]:.1e}, {c.sigma300_ci95[1]:.1e}]" if c.sigma300_ci95 else "-"
        print(f"{c.formula + ' ' + mid:24s} {used:>20s} {ea:>12s} {sig:>13s} {ci:>21s} "
              f"{c.verdict:>17s} | {ea_all:7.2f} {sig_all:10.2e}")
        for e in c.excluded:
            print(f"{'':26s}excluded {e.temperature:g} K: {e.reason[:100]}")

    print("\n3. Reference runs")
    morgan = (args.data / "vasp_md/li6ps5x_argyrodite_morgan2021/data/Li6PS5Cl/50p/run1/"
              "actual_XDATCAR.gz")
    kw = dict(material_id="Li6PS5Cl-50p", md_time_step_fs=2.0, step_skip=50, temperature=500)
    for label, settings in (("default", None), ("kinisi covariance", DiffusionSettings(
            covariance="kinisi"))):
        d = diffusion_from_trajectory(morgan, settings=settings, **kw)
        print(f"Li6PS5Cl 50% run1 ({label:17s}): D = {d.diffusivity:.3g} "
              f"[{d.diffusivity_ci95[0]:.3g}, {d.diffusivity_ci95[1]:.3g}]  "
              "(kinisi 1.36e-05 [1.21e-05, 1.51e-05]; pymatgen 1.33e-05)")
    lgps = args.data / "vasp_md/lgps_pymatgen_diffusion_analyzer/DiffusionAnalyzer.json.gz"
    d = diffusion_from_trajectory(lgps, material_id="LGPS")
    print(f"LGPS 600 K: D = {d.diffusivity:.3g} [{d.diffusivity_ci95[0]:.3g}, "
          f"{d.diffusivity_ci95[1]:.3g}]  (pymatgen's tests: 1.16e-06); flags: "
          f"{[f.split(':')[0] for f in d.flags]}")


if __name__ == "__main__":
    main()
