"""PBE frames with energies and forces for force-field checks and fine-tuning: the split.

The LiPS set (Li6.75P3S11, 83 atoms, PBE AIMD at ~520 K; Batzner et al., Nat. Commun. 13, 2453
(2022)) in ``shared/data/dft_forces/lips_li6.75p3s11/`` holds two files of distinct frames, each
a random sample of the same trajectory:

- ``lips_mdbench_val1000.extxyz.gz`` (1,000 frames): the **training** part (fine-tuning may use
  any of it, including its own validation split);
- ``lips_matsciml_devset_unique194.extxyz.gz`` (194 frames): the **held-out** part; no model
  is fitted or selected on it. ``benchmarks/forcefield_dft_forces.py`` reports every potential's
  force error on it.

Both sides import :func:`lips_split` so that the held-out frames stay the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

LIPS_DIR = Path("dft_forces") / "lips_li6.75p3s11"
LIPS_TRAIN_FILE = "lips_mdbench_val1000.extxyz.gz"
LIPS_HELDOUT_FILE = "lips_matsciml_devset_unique194.extxyz.gz"


def lips_split(data_root: str | Path) -> tuple[list, list]:
    """``(train, held_out)``: lists of ASE ``Atoms`` (energy and forces on a
    ``SinglePointCalculator``) from ``<data_root>/dft_forces/lips_li6.75p3s11/``; 1,000 and 194
    frames, in file order."""
    from ase.io import read

    root = Path(data_root) / LIPS_DIR
    return read(root / LIPS_TRAIN_FILE, ":"), read(root / LIPS_HELDOUT_FILE, ":")
