"""How the framework-melting test depends on how long positions are averaged, on real AIMD.

For each of the seed authors' AIMD runs (``aimd/kang2023``, nine compounds, 800 and 1100 K,
60 ps, a frame every 200 fs), the fraction of non-Li atoms whose block-averaged position ever
moves more than 1.5 A from the first block's (``superionic.md.analysis.diffusion.displaced_fraction``),
for blocks of 1, 2 and 3 frames (200, 400, 600 fs), over the whole run and over its first 3 ps.
The analysis flags melting above 10 %, a threshold set with 600 fs blocks; a short force-field
run analysed with blocks of 1/20 of its length (40 fs for 0.8 ps) would read thermal vibration
as displacement, hence ``DiffusionSettings.melt_block_fs``.

    PYTHONPATH=src .venv/bin/python benchmarks/melting_block_check.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from superionic.md.analysis.diffusion import displaced_fraction
from superionic.md.analysis.readers import load_trajectory

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--temperatures", nargs="+", type=int, default=[800, 1100])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    print(f"{'material':11} {'formula':11} {'T':>5}  displaced framework fraction, whole 60 ps (first 3 ps)")
    print(f"{'':29}" + "".join(f"{f'{n * 200} fs blocks':>22}" for n in (1, 2, 3)))
    for folder in sorted((args.data / "aimd" / "kang2023").glob("mp-*")):
        for temperature in args.temperatures:
            path = folder / f"{temperature}_nteps_100.json.gz"
            if not path.is_file():
                continue
            tr = load_trajectory(path)
            segments = [tr.positions[a:b] for a, b in tr.segments]
            first = [s[: int(3000 / tr.frame_interval_fs) + 1] for s in segments]
            framework = np.array([i for i, x in enumerate(tr.species) if x != "Li"])
            cells = []
            for n in (1, 2, 3):
                whole = displaced_fraction(segments, framework, n, 1.5)
                early = displaced_fraction(first, framework, n, 1.5)
                cells.append(f"{whole:>13.3f} ({early:.3f})")
            print(f"{folder.name:11} {tr.formula:11} {temperature:>5}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
