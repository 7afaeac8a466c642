"""The LiPS train / held-out split that the force table and fine-tuning share."""

from __future__ import annotations

import numpy as np
import pytest

from superionic.md.engines.dft_frames import LIPS_DIR, lips_split


def test_lips_split_is_disjoint_and_labelled(shared_data):
    if not (shared_data / LIPS_DIR).is_dir():
        pytest.skip(f"no {LIPS_DIR} under {shared_data}")
    train, held_out = lips_split(shared_data)
    assert (len(train), len(held_out)) == (1000, 194)
    for atoms in (train[0], held_out[0]):
        assert len(atoms) == 83 and atoms.get_forces().shape == (83, 3)
        assert np.isfinite(atoms.get_potential_energy())
    # no held-out frame is a training frame (positions differ by more than float32 round-off)
    train_pos = np.array([a.get_positions() for a in train])
    for atoms in held_out[::20]:
        assert np.abs(train_pos - atoms.get_positions()).max(axis=(1, 2)).min() > 1e-3
