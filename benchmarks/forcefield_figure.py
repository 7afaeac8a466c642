"""The force-field table as a figure: each potential's Li D on the seed's cells beside the AIMD's.

One panel per temperature, one row per cell; on each row the seed's 60 ps AIMD (black: D with
its 95 % interval, or a 95 % upper bound as a left-pointing triangle) and every run of
``forcefield_vs_aimd_md.py`` recorded in ``--records`` (a colour per potential, one marker per velocity
seed): a filled circle with its interval where D is resolved, an open triangle at the 95 % upper
bound where Li hops are too few, a cross in the right-hand "melted" strip where the project's
melting detector flags the framework. The grey band spans 1/3 to 3x the AIMD's D (where it is
resolved): the issue's bar. Same analysis as ``forcefield_vs_aimd_table.py``.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/forcefield_figure.py \
        --out benchmarks/results/forcefield_vs_aimd.png
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forcefield_vs_aimd_table import (  # noqa: E402
    CELLS, DEFAULT_DATA, RECORDS, aimd_doc, latest_per_seed, load_records, melted)

POTENTIALS = {  # colour-blind-safe (Okabe-Ito)
    "chgnet-0.3.0": "#E69F00", "chgnet-r2scan": "#CC79A7", "sevennet-0": "#0072B2",
    "sevennet-mf-0-pbe": "#56B4E9", "sevennet-mf-0-r2scan": "#009E73", "sevennet-l3i5": "#D55E00",
}
D_MIN, D_MAX, D_MELTED = 1e-7, 3e-3, 1e-2  # x range (cm2/s); melted runs sit at D_MELTED


def runs_by_key(records: Path) -> dict[tuple[str, float], dict[str, list]]:
    """``{(mp_id, T): {potential: [run summary or None (failed)]}}`` over the records in ``records``
    (the latest run of each seed)."""
    found: dict[tuple[str, float], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in latest_per_seed(load_records(records)):
        if r["mp_id"] in CELLS and r["potential"] in POTENTIALS:
            found[(r["mp_id"], float(r["temperature"]))][r["potential"]].append(r["view"])
    return found


def _point(ax, y: float, doc, colour: str) -> None:
    if doc is None:
        return
    if melted(doc):
        ax.plot(D_MELTED, y, "x", color=colour, ms=7, mew=2)
    elif doc.d_status == "resolved":
        lo, hi = doc.diffusivity_ci95
        ax.errorbar(doc.diffusivity, y, xerr=[[doc.diffusivity - lo], [hi - doc.diffusivity]], fmt="o",
                    color=colour, ms=6, capsize=2)
    elif doc.d_status == "upper_bound":
        ax.plot(doc.diffusivity_upper95, y, "<", mfc="none", color=colour, ms=7, mew=1.5)


def draw(found, data: Path, temperatures: tuple[float, ...]) -> Figure:
    fig = Figure(figsize=(6.2 * len(temperatures), 9.0), layout="constrained")
    axes = fig.subplots(1, len(temperatures), sharey=True, squeeze=False)[0]
    names = list(CELLS)
    labels = []
    for mp_id in names:  # the formula, and where the AIMD itself melts at every temperature, that
        aimd = [aimd_doc(data / "aimd" / "kang2023", mp_id, t) for t in temperatures]
        labels.append(aimd[0].formula + (" (AIMD melts)" if all(melted(d) for d in aimd) else ""))
    offsets = dict(zip(POTENTIALS, np.linspace(-0.36, 0.36, len(POTENTIALS) + 1)[1:]))
    for ax, temperature in zip(axes, temperatures):
        for row, mp_id in enumerate(names):
            y = len(names) - 1 - row
            ax.axhline(y - 0.5, color="0.9", lw=0.8)
            aimd = aimd_doc(data / "aimd" / "kang2023", mp_id, temperature)
            if aimd.d_status == "resolved":
                ax.fill_betweenx([y - 0.42, y + 0.42], aimd.diffusivity / 3, aimd.diffusivity * 3, color="0.88", lw=0)
            _point(ax, y - 0.36, aimd, "black")
            for potential, docs in found.get((mp_id, temperature), {}).items():
                jitter = np.linspace(-0.04, 0.04, len(docs)) if len(docs) > 1 else [0.0]
                for doc, dy in zip(docs, jitter):
                    _point(ax, y + offsets[potential] + dy, doc, POTENTIALS[potential])
        ax.axvspan(D_MAX, D_MELTED * 3, color="#fbe9e7", lw=0)
        ax.text(D_MELTED, len(names) - 0.45, "melted", ha="center", va="bottom", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(D_MIN, D_MELTED * 3)
        ax.set_ylim(-0.6, len(names) - 0.1)
        ax.set_xlabel("Li D (cm$^2$/s), 2.5 ps production; AIMD 60 ps")
        ax.set_title(f"{temperature:.0f} K")
    axes[0].set_yticks(range(len(names)), labels[::-1])
    handles = [axes[0].plot([], [], "o", color=c, label=p)[0] for p, c in POTENTIALS.items()]
    handles.append(axes[0].plot([], [], "o", color="black", label="AIMD (seed)")[0])
    handles += [axes[0].plot([], [], "<", mfc="none", color="0.3", label="95 % upper bound")[0],
                axes[0].plot([], [], "x", color="0.3", mew=2, label="framework melted")[0]]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=Path, default=RECORDS)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[800.0, 1100.0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "forcefield_vs_aimd.png")
    args = parser.parse_args()
    fig = draw(runs_by_key(args.records), args.data, tuple(args.temperatures))
    FigureCanvasAgg(fig).print_png(str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
