"""The seed authors' recorded VASP AIMD as the MD flow's outputs: a helper shared by tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

KANG = "aimd/kang2023"


@cache
def _kang_trajectory(shared: Path, mp_id: str, temperature: int):
    from superionic.md.analysis.readers import load_trajectory

    return load_trajectory(shared / KANG / mp_id / f"{temperature}_nteps_100.json.gz")


def kang_run(shared: Path, mp_id: str, temperature: int, n_frames: int | None = None):
    """A recorded AIMD run (``MDRunDoc``) as the MD flow's ``collect_*_run`` job returns it,
    optionally cut to its first ``n_frames`` frames."""
    from pymatgen.core.trajectory import Trajectory

    from superionic.schemas.md_runs import MDRunDoc

    tr = _kang_trajectory(shared, mp_id, temperature)
    frac = tr.positions[:n_frames] @ np.linalg.inv(tr.lattices[0])  # unwrapped fractional
    traj = Trajectory(lattice=tr.lattices[0], species=tr.species, coords=frac, constant_lattice=True,
                      time_step=tr.frame_interval_fs)
    return MDRunDoc(
        run_id=f"{mp_id}:vasp:seed:{temperature}K", material_id=mp_id, formula=tr.formula, engine="vasp",
        functional="PBE", preset="seed", is_quick=False, temperature=float(temperature), time_step_fs=2.0,
        save_interval_steps=100, n_sites=len(tr.species), status="completed", equilibration_steps=0,
        production_steps=100 * (len(frac) - 1), production_steps_done=100 * (len(frac) - 1), n_segments=1,
        trajectory=traj, n_frames=len(frac), frame_interval_fs=tr.frame_interval_fs,
    )
