"""DFT frames for fine-tuning: from extxyz, vasprun and a replayed atomate2 VASP MD; one method per document."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from superionic.finetune.frames import FramesError, combine, frames_from_extxyz, frames_from_task_document, frames_from_vasprun
from test_md_makers import REPLAYED_SI_MD_JOB, SI_MD, mock_vasp, replay_si_md  # noqa: F401 (fixture)

SI_VASPRUN = "Si_molecular_dynamics/molecular_dynamics/outputs/vasprun.xml.gz"


def _write_extxyz(path, info: dict, n: int = 3):
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    cell = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.72), ["Li", "S"], [[0.25] * 3, [0, 0, 0]])
    rng = np.random.default_rng(0)
    frames = []
    for k in range(n):
        atoms = cell.to_ase_atoms()
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.calc = SinglePointCalculator(atoms, energy=-50.0 - k, forces=rng.normal(0, 0.3, (len(atoms), 3)))
        atoms.info.update(info)
        frames.append(atoms)
    write(path, frames, format="extxyz")
    return frames


def test_extxyz_frames_carry_their_method_and_unlabelled_files_are_refused(tmp_path):
    frames = _write_extxyz(tmp_path / "lips.extxyz", {"dft": "PBE (VASP), per Batzner et al. 2022"})
    doc = frames_from_extxyz(tmp_path / "lips.extxyz")
    assert (doc.code, doc.functional, doc.n_frames) == ("vasp", "PBE", 3)
    assert doc.elements == ["Li", "S"] and doc.formulas == ["Li2S"]
    assert doc.energies == [-50.0, -51.0, -52.0]
    assert np.allclose(doc.forces[1], frames[1].get_forces(), atol=1e-8)
    assert frames_from_extxyz(tmp_path / "lips.extxyz").frames_id == doc.frames_id  # stable key

    _write_extxyz(tmp_path / "bare.extxyz", {})
    with pytest.raises(FramesError, match="does not say which functional"):
        frames_from_extxyz(tmp_path / "bare.extxyz")
    assert frames_from_extxyz(tmp_path / "bare.extxyz", functional="PBE").code == "unknown"


def test_a_replayed_atomate2_vasp_md_gives_frames_with_forces_and_two_functionals_are_refused(
        mock_vasp, reference_data, tmp_path, monkeypatch):
    _, store, _ = replay_si_md(mock_vasp, reference_data, tmp_path, monkeypatch)
    task = store.query_one({"name": REPLAYED_SI_MD_JOB}, load=True)  # with its trajectory from the data store
    doc = frames_from_task_document(task["output"], source=f"jobstore:{task['uuid']}")
    assert (doc.code, doc.functional, doc.n_frames) == ("vasp", "PBEsol", 3)
    assert doc.energies == pytest.approx([-11.47041923, -11.46905352, -11.46520398], abs=1e-6)
    assert np.shape(doc.forces) == (3, len(Structure.from_dict(doc.structures[0])), 3) and np.abs(doc.forces).max() > 0
    assert doc.sources == [f"jobstore:{task['uuid']}"]
    # the same frames read from the recorded vasprun.xml
    from_file = frames_from_vasprun(reference_data / SI_MD / SI_VASPRUN)
    assert from_file.energies == pytest.approx(doc.energies) and from_file.functional == "PBEsol"
    assert np.allclose(from_file.forces, doc.forces)
    assert combine([doc, doc]).n_frames == 6

    _write_extxyz(tmp_path / "pbe.extxyz", {"dft": "PBE (VASP)"})
    with pytest.raises(FramesError, match="different DFT methods cannot be mixed: vasp/PBE, vasp/PBEsol"):
        combine([frames_from_extxyz(tmp_path / "pbe.extxyz"), doc])


def test_finetune_command_prints_base_then_tuned_held_out_force_mae_and_writes_hashed_weights(tmp_path, monkeypatch):
    import hashlib
    import json

    from typer.testing import CliRunner

    from superionic.cli import app

    _write_extxyz(tmp_path / "train.extxyz", {"dft": "PBE (VASP)"}, n=5)
    _write_extxyz(tmp_path / "test.extxyz", {"dft": "PBE (VASP)"}, n=2)
    _write_extxyz(tmp_path / "other.extxyz", {"dft": "PBEsol (VASP)"}, n=2)
    monkeypatch.setenv("SUPERIONIC_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "tuned.pt"
    result = CliRunner().invoke(app, ["finetune", str(tmp_path / "train.extxyz"), "--test", str(tmp_path / "test.extxyz"),
                                      "--max-steps", "2", "--batch-size", "2", "--out", str(out),
                                      "--no-store"])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    words = last.split()
    assert last.startswith("held-out force MAE (eV/A): base ") and words[-2] == "fine-tuned"
    assert float(words[-3]) > 0 and float(words[-1]) > 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["steps_run"] == 2 and record["base_potential"] == "chgnet-0.3.0"
    assert record["potential_id"] == "ft-" + record["sha256"][:12]
    assert record["held_out_before"]["all"] == pytest.approx(float(words[-3]), abs=1e-4)
    import torch

    state = torch.load(out, weights_only=True)  # plain tensors, no code
    assert all(isinstance(v, torch.Tensor) for v in state.values())

    refused = CliRunner().invoke(app, ["finetune", str(tmp_path / "train.extxyz"), "--test", str(tmp_path / "other.extxyz")])
    assert refused.exit_code == 2 and "different DFT methods" in " ".join(refused.output.split())


def test_the_finetune_job_tunes_on_a_replayed_vasp_md_and_hands_its_potential_to_forcefield_md(
        mock_vasp, reference_data, tmp_path, monkeypatch):
    """The seed recipe's fine-tune job on the JobStore of a replayed atomate2 VASP MD (3 Si frames):
    weights in the data store, checked on reload; the next job's MD runs the tuned potential."""
    from superionic.finetune.jobs import aimd_job_uuids, finetune_step, finetuned_md_step
    from superionic.finetune.potential_store import from_output, model_from_spec, spec_of
    from superionic.recipes import FineTuneRecipe

    flow, store, _ = replay_si_md(mock_vasp, reference_data, tmp_path, monkeypatch)
    recipe = FineTuneRecipe(enabled=True, max_steps=1, batch_size=1, test_fraction=0.3, temperatures=[400.0],
                            preset="quick", production_steps=10).model_dump(mode="json")
    uuids = aimd_job_uuids(flow)
    assert len(uuids) == 1
    tune = finetune_step(uuids, recipe, "Si")
    out = tune.run(store=store).output
    doc = from_output(out["potential"])
    assert out["output_kind"] == "finetune" and (doc.frames_functional, doc.n_test, doc.n_train + doc.n_val) == (
        "PBEsol", 1, 2)
    assert doc.frames_sources == [f"jobstore:{uuids[0]}"] and doc.steps_run == 1
    assert model_from_spec(spec_of(doc), store.additional_stores["data"]) is not None  # checked and loaded
    structure = Structure.from_file(reference_data / SI_MD / "Si_molecular_dynamics/molecular_dynamics/inputs/POSCAR.gz")
    response = finetuned_md_step(out["potential"], structure, "Si", recipe).run(store=store)
    segments = [j for j, _ in response.replace.iterflow() if j.name.startswith("forcefield md segment")]
    assert segments and all(j.function.__self__.calculator_kwargs["finetuned"]["sha256"] == doc.sha256
                            for j in segments)
