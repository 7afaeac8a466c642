"""A fine-tuned potential in the project store: saved by id, loaded only when checked, run in MD.

Fresh-clone data only: 6 LiPS PBE frames bundled in tests/data (Batzner et al. 2022, see its
SOURCE.txt). ``superionic finetune`` tunes CHGNet a few steps on 4 of them into a montydb store;
the potential is reloaded by id, runs 20 MD steps through the project's maker, and the
diffusion document names it, with SevenNet-0's second opinion of the run. A changed blob and
another chgnet version are refused.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from superionic.cli import app
from superionic.stores import open_stores
from test_cluster_submit import fireworks_on_mongomock  # noqa: F401 - a fixture

LIPS = "dft_forces/lips_li6.75p3s11/lips_matsciml_devset_first6.extxyz.gz"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """``superionic finetune`` on 4 LiPS frames (2 held out), into a montydb store: (spec, id, output)."""
    from ase.io import read, write

    from conftest import REFERENCE_DATA

    tmp = tmp_path_factory.mktemp("finetuned")
    frames = read(REFERENCE_DATA / LIPS, ":")
    write(tmp / "train.extxyz", frames[:4], format="extxyz")
    write(tmp / "held.extxyz", frames[4:], format="extxyz")
    spec = f"monty://{tmp / 'store'}"
    result = CliRunner().invoke(app, ["finetune", str(tmp / "train.extxyz"), "--test", str(tmp / "held.extxyz"),
                                      "--max-steps", "2", "--batch-size", "2", "--lr", "1e-3", "--store", spec])
    assert result.exit_code == 0, result.output
    # stdout: a logging error of an earlier test's closed handler goes to stderr, which output mixes in
    assert result.stdout.strip().splitlines()[-1].startswith("held-out force MAE (eV/A): base "), result.output
    potential_id = re.search(r"fine-tuned potential: finetuned:(ft-[0-9a-f]{12})", result.output)[1]
    return spec, potential_id, tmp


def test_stored_by_id_with_its_record_and_reloaded_checked(tuned):
    from superionic.finetune.potential_store import load_finetuned
    from superionic.md.engines.calculators import load_chgnet

    spec, potential_id, _ = tuned
    stores = open_stores(spec)
    try:
        model, doc = load_finetuned(stores, potential_id)
        assert doc.potential_id == potential_id and doc.label == f"CHGNet:{potential_id}"
        assert (doc.base_potential, doc.frames_functional, doc.n_train + doc.n_val, doc.n_test) == (
            "chgnet-0.3.0", "PBE", 4, 2)
        assert doc.steps_run == 2 and set(doc.held_out_after) >= {"Li", "P", "S", "all", "ratio"}
        assert doc.blob_uuid == f"potential-{potential_id}" and stores.data.query_one({"blob_uuid": doc.blob_uuid})
        base = load_chgnet("0.3.0")
        changed = [k for k, v in model.state_dict().items() if not np.array_equal(v, base.state_dict()[k])]
        assert changed  # the tuned weights, not the base's
        # the same record from the `finetuned:` name wherever a potential name goes
        from superionic.md.engines.potentials import get_potential

        potential = get_potential(f"finetuned:{potential_id}", stores)
        assert potential.label == doc.label and potential.calculator_kwargs["finetuned"]["sha256"] == doc.sha256
        with pytest.raises(ValueError, match="no fine-tuned potential 'ft-000000000000'"):
            get_potential("finetuned:ft-000000000000", stores)
    finally:
        stores.close()


def test_md_with_the_finetuned_potential_names_it_in_the_diffusion_document_and_sevennet_checks_it(tuned):
    from ase.io import read
    from pymatgen.io.ase import AseAtomsAdaptor

    from conftest import REFERENCE_DATA
    from superionic.builders import run_builders
    from superionic.engines.local import run_conductivity_md
    from superionic.md.presets import get_preset
    from superionic.md.workflow.forcefield import segment_maker_for
    from superionic.md.workflow.makers import ConductivityMDMaker

    spec, potential_id, _ = tuned
    stores = open_stores(spec)
    cell = AseAtomsAdaptor.get_structure(read(REFERENCE_DATA / LIPS, index=0))
    preset = get_preset("quick").with_overrides(equilibration_steps=10, production_steps=10, segment_steps=10,
                                                save_interval_steps=2, relax_steps=0, min_image_distance=5.0)
    segment_maker = segment_maker_for(f"finetuned:{potential_id}", stores=stores, n_threads=1)
    assert "path" not in str(segment_maker.calculator_kwargs)  # the store's blob key and hash, no file
    maker = ConductivityMDMaker(preset=preset, temperatures=(520.0,), segment_maker=segment_maker, cross_check="auto")
    result = run_conductivity_md(cell, "lips", maker=maker, job_store=stores.job_store())
    assert not result.errors and [r.status for r in result.runs] == ["completed"] and result.steps_run == 20
    run_builders(stores, ["diffusion", "conductivity"], strict=False)
    [diffusion] = stores.diffusion.query({"material_id": "lips"})
    assert diffusion["potential"] == f"CHGNet:{potential_id}"
    assert f":forcefield:CHGNet-{potential_id}:" in diffusion["doc_id"]  # the key's own spelling of the label
    # the other family's second opinion, on frames re-evaluated with the tuned weights found in the JobStore
    assert not [f for f in diffusion["flags"] if f.startswith("cross_check_failed")], diffusion["flags"]
    check = diffusion["cross_check"]
    assert (check["primary"], check["potential"]) == (f"CHGNet:{potential_id}", "SevenNet:7net-0")
    assert check["n_frames"] >= 2 and set(check["force_mae"]) == {"Li", "P", "S", "all"}
    stores.close()


def test_a_changed_blob_and_another_chgnet_version_are_refused(tuned):
    import superionic.finetune.potential_store as ps

    spec, potential_id, _ = tuned
    stores = open_stores(spec)
    try:
        doc = ps.record(stores, potential_id)
        spec_ = ps.spec_of(doc)
        with pytest.raises(ps.FineTunedPotentialError, match="installed chgnet is"):
            ps.model_from_spec({**spec_, "package_version": "0.0.1"}, stores.data)
        blob = stores.data.query_one({"blob_uuid": doc.blob_uuid})
        blob.pop("_id")
        raw = bytearray(base64.b64decode(blob["data"]))
        raw[-100] ^= 0xFF  # one byte of the weights changed after the fine-tune wrote them
        stores.data.update([{**blob, "data": base64.b64encode(bytes(raw)).decode("ascii")}], key="blob_uuid")
        try:
            with pytest.raises(ps.FineTunedPotentialError, match="refused, not loaded"):
                ps.load_finetuned(stores, potential_id)
        finally:
            stores.data.update([blob], key="blob_uuid")
    finally:
        stores.close()


def test_the_seed_recipe_on_fireworks_builds_aimd_then_finetune_then_forcefield_md(
        tmp_path, fireworks_on_mongomock):  # noqa: F811
    """``md.finetune.enabled`` on the seed recipe (VASP AIMD): the MD stage, run by a FireWorks rocket
    (mongomock), makes per material VASP MD -> fine-tune -> force-field MD with the tuned potential."""
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    from superionic.engines.cluster_settings import job_kind
    from superionic.finetune.jobs import FINETUNE_JOB, FINETUNED_MD_JOB
    from superionic.recipes import load_recipe
    from test_cluster_submit import md_stage_on_launchpad

    recipe = load_recipe("seed")
    assert recipe.md.finetune.enabled  # the seed recipe goes on from its AIMD
    finetune = recipe.md.finetune.model_copy(update={"temperatures": [500.0, 700.0]})
    recipe = recipe.model_copy(update={"md": recipe.md.model_copy(update={"finetune": finetune})})
    lp, stores = md_stage_on_launchpad(tmp_path, recipe)
    assert launch_rocket(lp, FWorker(category="superionic-small"))  # the MD stage makes the jobs, for real
    fws = {fw["fw_id"]: fw["name"] for fw in lp.fireworks.find({}, {"fw_id": 1, "name": 1})}
    [wf] = list(lp.workflows.find({}))
    parents: dict[int, set[int]] = {}
    for parent, children in wf["links"].items():
        for child in children:
            parents.setdefault(child, set()).add(int(parent))

    def ancestors(fw_id: int) -> set[str]:
        seen, todo = set(), [fw_id]
        while todo:
            for p in parents.get(todo.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return {fws[i] for i in seen}

    [tune] = [i for i, n in fws.items() if n == FINETUNE_JOB]
    [tuned_md] = [i for i, n in fws.items() if n == FINETUNED_MD_JOB]
    vasp_md = {n for n in fws.values() if n.startswith("vasp md ")}
    assert len(vasp_md) >= 4 and vasp_md <= ancestors(tune)  # every AIMD temperature before the fine-tune
    assert {fws[p] for p in parents[tuned_md]} == {FINETUNE_JOB}  # the long MD starts from the tuned potential
    assert job_kind(FINETUNE_JOB) == "md" and job_kind(FINETUNED_MD_JOB) == "small"
    summary = [i for i, n in fws.items() if n == "summarize_step"]
    assert summary and FINETUNED_MD_JOB in ancestors(summary[0])  # the stage ends after the force-field MD
    stores.close()
