"""SevenNet's MD calculator: compiled, checked against the eager model, falling back on any failure.

The real ``torch.compile`` runs once here (slow: about a minute of CPU on a cold inductor cache);
the guard's other paths replace ``torch.compile`` by a wrapper that breaks in a chosen way, so the
eager SevenNet-0 that answers instead is real each time.
"""

from __future__ import annotations

import logging
import os
import shutil
import sysconfig
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from jobflow import run_locally
from pymatgen.core import Lattice, Structure

from superionic.md.engines import sevennet_md
from superionic.md.engines.calculators import _check_cell
from superionic.md.engines.sevennet_md import SevenNetMDCalculator, compile_state


@pytest.fixture
def fresh_state(monkeypatch):
    """Each test starts with no compiled path in the process."""
    monkeypatch.setattr(sevennet_md, "_COMPILED", {})
    torch.set_num_threads(1)


def _forces(compiled: bool, atoms=None):
    atoms = (_check_cell() if atoms is None else atoms).copy()
    atoms.calc = SevenNetMDCalculator(compiled=compiled)
    return atoms.get_potential_energy(), atoms.get_forces()


def _compile_to(wrapper):
    """A stand-in for ``torch.compile`` that returns ``wrapper(model)``."""
    return lambda model, **kwargs: wrapper(model)


CAN_COMPILE = shutil.which(os.environ.get("CXX", "g++")) is not None and (
    Path(sysconfig.get_paths()["include"]) / "Python.h").exists()
"""torch.compile on the CPU builds C++ kernels: a compiler and Python's headers (Debian: g++, python3-dev)."""


@pytest.mark.slow
@pytest.mark.skipif(not CAN_COMPILE, reason="no C++ compiler or Python headers: torch.compile cannot build kernels")
def test_compiled_model_matches_the_eager_one(fresh_state, monkeypatch):
    monkeypatch.delenv("TORCH_LOGS", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback
        energy, forces = _forces(compiled=True)
    assert compile_state() == "on"
    # torch's graph-break notes (63 lines for SevenNet-0 in a fresh process) silenced
    assert logging.getLogger("torch._dynamo").getEffectiveLevel() >= logging.ERROR
    eager_energy, eager_forces = _forces(compiled=False)
    assert np.abs(eager_forces).max() > 0.1  # displaced cell: real forces
    assert energy == pytest.approx(eager_energy, abs=1e-3)
    assert np.abs(forces - eager_forces).max() < 1e-3


def test_a_compiled_model_that_disagrees_is_given_up(fresh_state, monkeypatch):
    def off_by_a_bit(model):
        def run(data):
            out = model(data)
            out["inferred_force"] = out["inferred_force"] + 0.05
            return out
        return run

    monkeypatch.setattr(torch, "compile", _compile_to(off_by_a_bit))
    with pytest.warns(RuntimeWarning, match="differs from the eager one"):
        energy, forces = _forces(compiled=True)
    assert compile_state().startswith("off: ValueError: compiled model differs")
    eager_energy, eager_forces = _forces(compiled=False)
    assert energy == eager_energy and np.array_equal(forces, eager_forces)  # the eager model answered


def test_a_compiled_model_that_fails_later_falls_back_for_good(fresh_state, monkeypatch):
    calls = []

    def fails_on_the_third_call(model):
        def run(data):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("inductor: no C++ compiler")
            return model(data)
        return run

    monkeypatch.setattr(torch, "compile", _compile_to(fails_on_the_third_call))
    atoms = _check_cell()
    atoms.calc = SevenNetMDCalculator(compiled=True)
    atoms.get_forces()  # call 1 (then the eager check)
    atoms.positions += 0.01
    atoms.get_forces()  # call 2
    atoms.positions += 0.01
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"):
        forces = atoms.get_forces()  # call 3 raises: the eager model answers
    assert np.array_equal(forces, _forces(compiled=False, atoms=atoms)[1])
    atoms.positions += 0.01
    atoms.get_forces()
    assert len(calls) == 3 and compile_state().startswith("off: RuntimeError")  # never tried again


def test_sevennet_segments_run_the_md_calculator_and_record_it(fresh_state, monkeypatch, tmp_path):
    """A real SevenNet-0 MD segment through atomate2's maker: it runs SevenNetMDCalculator (with the
    compiled path stood in by the eager model) and its document says so."""
    from superionic.md.presets import MDPreset
    from superionic.md.engines.potentials import MD_CALCULATORS
    from superionic.md.workflow.forcefield import ForceFieldSegmentMaker, segment_maker_for

    chgnet_path = MD_CALCULATORS["CHGNet"]

    monkeypatch.setattr(torch, "compile", _compile_to(lambda model: model))
    maker = segment_maker_for("sevennet-0", n_threads=1)
    assert maker.md_calculator == "superionic.md.engines.sevennet_md.SevenNetMDCalculator"
    assert segment_maker_for("chgnet-0.3.0").md_calculator == chgnet_path
    old_default = ForceFieldSegmentMaker(force_field_name="SevenNet", calculator_meta=chgnet_path)
    assert old_default.md_calculator == maker.md_calculator  # a maker serialised before "auto"
    # a stored flow cannot make atomate2 import other code
    with pytest.raises(ValueError, match="not one of the project's MD calculators"):
        ForceFieldSegmentMaker(force_field_name="SevenNet", calculator_meta="os.system").md_calculator
    assert ForceFieldSegmentMaker(force_field_name="SevenNet", calculator_meta=None).md_calculator is None
    li2s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.72), ["Li", "S"], [[0.25] * 3, [0, 0, 0]])
    preset = MDPreset(name="test", is_quick=True, temperatures=(800.0,), equilibration_steps=4,
                      production_steps=4, segment_steps=4, save_interval_steps=2, min_image_distance=0.0)
    segment = maker.make(li2s, preset=preset, temperature=800.0, stage="production", index=0,
                         n_segments_in_stage=1, start_step=0, n_steps=4)
    from jobflow import JobStore
    from maggma.stores import MemoryStore

    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(segment, store=store, ensure_success=True, log=False)
    doc = responses[segment.uuid][1].output
    assert doc.status == "completed" and doc.steps_run == 4
    assert doc.software["torch.compile"] == "on" and doc.force_field == "SevenNet:7net-0"

    # the relaxation before the MD runs the same calculator
    from superionic.md.workflow.relax import relax_for_md

    monkeypatch.setattr(sevennet_md, "_COMPILED", {})
    li2s.perturb(0.05, min_distance=0.01)
    relax = relax_for_md(li2s, preset.model_copy(update={"relax_steps": 3}).model_dump(), force_field_name="SevenNet",
                         calculator_kwargs=maker.calculator_kwargs)
    out = run_locally(relax, store=store, ensure_success=True, log=False)[relax.uuid][1].output
    assert out["summary"]["relaxed"] and compile_state() == "on"
