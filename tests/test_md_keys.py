"""MD documents keyed by what produced them: a quick force-field result and the seed's VASP
result of the same material and temperature both stay in the store; the candidates table
shows the better one and says which; documents with the old keys are upgraded, not a crash.

Real parts: the seed authors' recorded VASP AIMD of Li3ErCl6 (mp-676361; PBE, the seed's
protocol) stored as ``MDRunDoc`` job outputs through ``run_locally``, a real (tiny) CHGNet
run of the same material through ``ConductivityMDMaker``, the project's builders on montydb,
``superionic query`` through its CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from jobflow import Flow, job, run_locally

from superionic.builders import run_builders
from superionic.md.presets import QUICK, SEED
from superionic.results import best_conductivity, candidate_rows, protocol_rank
from superionic.schemas.md import ConductivityDoc, DiffusionDoc, conductivity_id, diffusion_doc_id

from recorded_md import KANG, kang_run  # tests/recorded_md.py

CL, BR = "mp-676361", "mp-1222492"  # Li3ErCl6, Li3ErBr6 (structures in the bundled snapshot)


# ------------------------------------------------------------------------------------------
# helpers: real MD outputs in the project's JobStore
# ------------------------------------------------------------------------------------------
@job(data=["trajectory"])
def recorded_vasp_run(shared: str, mp_id: str, temperature: int):
    return kang_run(Path(shared), mp_id, temperature)


def store_seed_vasp(stores, shared: Path, mp_id: str, temperatures: tuple[int, ...]) -> None:
    jobs = [recorded_vasp_run(str(shared), mp_id, t) for t in temperatures]
    run_locally(Flow(jobs), store=stores.job_store(), log=False, ensure_success=True)


def store_quick_forcefield(stores, mp_id: str, temperature: float):
    """A real CHGNet run (quick protocol, cut to a few steps) of the snapshot's structure."""
    from superionic.jobs.md_stage import material_structure
    from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
    from superionic.md.workflow.makers import ConductivityMDMaker

    preset = QUICK.with_overrides(temperatures=(temperature,), equilibration_steps=5, production_steps=10,
                                  segment_steps=5, min_image_distance=0.0)
    maker = ConductivityMDMaker(preset=preset, segment_maker=ForceFieldSegmentMaker(n_threads=1))
    flow = maker.make(material_structure(stores, mp_id), material_id=mp_id)
    run_locally(flow, store=stores.job_store(), log=False, ensure_success=True)
    return preset


def screen(stores, mp_id: str) -> None:
    """The material and its real ScreeningDoc (the seed's screens, bundled energies)."""
    from superionic.screening.criteria import default_criteria
    from superionic.screening.funnel import screen_material
    from superionic.settings import ScreeningThresholds
    from superionic.sources.snapshot import load_snapshot

    material = next(m for m in load_snapshot(with_structures=True).materials if m.material_id == mp_id)
    stores.materials.update([material.to_store()], key="material_id")
    doc = screen_material(material, default_criteria(ScreeningThresholds()))
    stores.screening.update([doc.to_store()], key="material_id")


# ------------------------------------------------------------------------------------------
# the must-show: both results survive, the table says which one it shows
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_quick_forcefield_and_seed_vasp_results_both_survive(monty_stores, shared_data):
    from typer.testing import CliRunner

    from superionic.cli import app
    from superionic.report.gather import gather

    stores = monty_stores
    screen(stores, CL)
    store_seed_vasp(stores, shared_data, CL, (800, 1100))
    preset = store_quick_forcefield(stores, CL, 800.0)
    assert preset.name == "quick+eq=5+prod=10+seg=5+image_A=0"

    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 3, "conductivity": 2}
    seed_800 = f"{CL}:vasp:PBE:seed:800K"
    quick_800 = f"{CL}:forcefield:CHGNet:{preset.name}:800K"
    assert sorted(d["doc_id"] for d in stores.diffusion.query()) == sorted(
        [seed_800, f"{CL}:vasp:PBE:seed:1100K", quick_800])
    seed_doc, quick_doc = (stores.diffusion.query_one({"doc_id": k}) for k in (seed_800, quick_800))
    assert (seed_doc["engine"], seed_doc["potential"], seed_doc["preset"]) == ("vasp", "PBE", "seed")
    assert (quick_doc["engine"], quick_doc["potential"], quick_doc["temperature"]) == ("forcefield", "CHGNet", 800.0)
    assert seed_doc["diffusivity"] != quick_doc["diffusivity"]  # two runs, neither overwrote the other

    # one ConductivityDoc per protocol; the seed's fit holds the seed's temperatures only
    fits = {d["conductivity_id"]: d for d in stores.conductivity.query()}
    assert sorted(fits) == sorted([f"{CL}:vasp:PBE:seed", f"{CL}:forcefield:CHGNet:{preset.name}"])
    seed_fit = fits[f"{CL}:vasp:PBE:seed"]
    assert seed_fit["source_doc_ids"] == [seed_800, f"{CL}:vasp:PBE:seed:1100K"]
    assert fits[f"{CL}:forcefield:CHGNet:{preset.name}"]["source_doc_ids"] == [quick_800]
    assert stores.conductivity.query_one({"preset": "seed"})["conductivity_id"] == f"{CL}:vasp:PBE:seed"
    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 0, "conductivity": 0}

    # the candidates table: the VASP seed result, named, the other one counted
    [row] = candidate_rows(stores)
    assert row["md_protocol"] == "vasp:PBE:seed" and row["md_protocols"] == 2 and row["md_best"]
    assert row["sigma_300k"] == seed_fit["sigma300"] and row["md_verdict"] == seed_fit["verdict"]
    rows = candidate_rows(stores, all_protocols=True)
    assert [r["md_protocol"] for r in rows] == ["vasp:PBE:seed", f"forcefield:CHGNet:{preset.name}"]
    assert [r["md_best"] for r in rows] == [True, False]

    spec = stores.spec
    runner = CliRunner()
    shown = runner.invoke(app, ["query", "--store", spec, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert [r["md_protocol"] for r in json.loads(shown.stdout)] == ["vasp:PBE:seed"]
    both = runner.invoke(app, ["query", "--store", spec, "--format", "json", "--all-protocols"])
    assert [r["md_protocol"] for r in json.loads(both.stdout)] == ["vasp:PBE:seed", f"forcefield:CHGNet:{preset.name}"]
    table = runner.invoke(app, ["query", "--store", spec], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "vasp:PBE:seed (best of 2)" in table.output, table.output

    # the report shows the same protocol, its own temperatures, and names the other one
    data = gather(stores, training_sources=("kang2023",))
    assert data.conductivity[CL].conductivity_id == f"{CL}:vasp:PBE:seed"
    assert [d.doc_id for d in data.diffusion[CL]] == [seed_800, f"{CL}:vasp:PBE:seed:1100K"]
    assert data.other_protocols[CL] == [f"forcefield:CHGNet:{preset.name}"]
    assert not [p for p in data.problems if "conductivity" in p or "diffusion" in p]


# ------------------------------------------------------------------------------------------
# documents with the old keys
# ------------------------------------------------------------------------------------------
def _as_old(doc: dict, temperature_key: bool = True) -> dict:
    """A document as versions before protocol keys wrote it: no potential, old key."""
    old = {k: v for k, v in doc.items() if k not in ("_id", "potential", "conductivity_id")}
    if temperature_key:
        old["doc_id"] = f"{doc['material_id']}:{doc['temperature']:g}K"
    return old


def test_old_key_documents_are_rebuilt_or_rekeyed(monty_stores, shared_data):
    from superionic.md.analysis.diffusion import diffusion_from_trajectory

    stores = monty_stores
    store_seed_vasp(stores, shared_data, CL, (800,))
    assert run_builders(stores, "diffusion") == {"diffusion": 1}
    new = stores.diffusion.query_one({})
    # an old store: the run's analysis under the old key (and no potential), a document
    # analysed from files (no run behind it), a conductivity document keyed by material
    from_files = diffusion_from_trajectory(shared_data / KANG / BR / "1100_nteps_100.json.gz", material_id=BR,
                                           engine="vasp", preset="seed", trajectory_ref="/old/run.json.gz")
    old_docs = [_as_old(new), _as_old(from_files.to_store())]
    stores.diffusion.remove_docs({})
    stores.diffusion.update(old_docs, key="doc_id")
    cond = ConductivityDoc(material_id=CL, engine="vasp", preset="seed", source_doc_ids=[f"{CL}:800K"]).to_store()
    lonely = ConductivityDoc(material_id="mp-gone", engine="vasp", preset="seed").to_store()
    stores.conductivity.update([_as_old(cond, False), _as_old(lonely, False)], key="material_id")
    assert sorted(d["doc_id"] for d in stores.diffusion.query()) == [f"{BR}:1100K", f"{CL}:800K"]

    # the old documents read as documents of the current schema, their keys from their fields
    assert DiffusionDoc(**_as_old(new)).doc_id == f"{CL}:vasp:unknown:seed:800K"
    assert ConductivityDoc(**_as_old(lonely, False)).conductivity_id == "mp-gone:vasp:unknown:seed"

    built = run_builders(stores, ["diffusion", "conductivity"])
    assert built == {"diffusion": 1, "conductivity": 2}
    # the run's document is rebuilt under its new key and the old one is gone; the one from
    # files has no run to rebuild it: re-keyed in place (same numbers)
    ids = sorted(d["doc_id"] for d in stores.diffusion.query())
    assert ids == [f"{BR}:vasp:unknown:seed:1100K", f"{CL}:vasp:PBE:seed:800K"]
    rekeyed = stores.diffusion.query_one({"doc_id": f"{BR}:vasp:unknown:seed:1100K"})
    assert rekeyed["diffusivity"] == from_files.diffusivity and rekeyed["trajectory_ref"] == "/old/run.json.gz"
    # conductivity: new documents per protocol; the old one of CL is replaced, the one whose
    # material has no MD left stays (and still reads as a ConductivityDoc)
    keys = sorted(d.get("conductivity_id", f"(old) {d['material_id']}") for d in stores.conductivity.query())
    assert keys == ["(old) mp-gone", f"{BR}:vasp:unknown:seed", f"{CL}:vasp:PBE:seed"]
    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 0, "conductivity": 0}


# ------------------------------------------------------------------------------------------
# pure rules
# ------------------------------------------------------------------------------------------
def test_keys_are_readable_and_built_from_the_fields():
    key = diffusion_doc_id("mp-1", 800.0, engine="forcefield", potential="CHGNet", preset="quick")
    assert key == "mp-1:forcefield:CHGNet:quick:800K"
    assert conductivity_id("mp-1", engine="vasp", potential="PBE", preset="seed") == "mp-1:vasp:PBE:seed"
    # a ':' inside a part would make the key ambiguous: '-' in the key, the field as it is
    doc = DiffusionDoc(material_id="mp-1", formula="Li2O", temperature=1000, engine="forcefield",
                       potential="CHGNet:r2scan", preset="seed")
    assert doc.doc_id == "mp-1:forcefield:CHGNet-r2scan:seed:1000K" and doc.potential == "CHGNet:r2scan"
    with pytest.raises(ValueError, match="doc_id must be"):
        DiffusionDoc(doc_id="mp-1:forcefield:CHGNet:quick:1000K", material_id="mp-1", formula="Li2O",
                     temperature=1000, engine="forcefield", potential="CHGNet", preset="seed")
    with pytest.raises(ValueError, match="conductivity_id must be"):
        ConductivityDoc(conductivity_id="mp-1", material_id="mp-1")


def test_protocol_order_and_the_seed_recipe_keeps_its_name():
    from superionic.jobs.md_stage import md_maker_for
    from superionic.recipes import load_recipe

    def fit(engine, preset, n_t=2, stamp="2026-01-01T00:00:00"):
        return {"conductivity_id": f"m:{engine}:x:{preset}", "engine": engine, "preset": preset,
                "temperatures_used": [600.0 + 200 * k for k in range(n_t)], "last_updated": stamp}

    order = [fit("vasp", "seed"), fit("vasp", "seed+prod=2000"), fit("vasp", "quick"),
             fit("forcefield", "seed"), fit("forcefield", "seed+prod=20000"),
             fit("forcefield", "quick+prod=10"), fit("unknown", "seed")]
    assert [protocol_rank(d) for d in order] == sorted(protocol_rank(d) for d in order)
    for k in range(len(order)):
        assert best_conductivity(order[k:][::-1]) is order[k]
    # same rank: more temperatures, then the newer
    few, many = fit("forcefield", "quick", 2), fit("forcefield", "quick", 3)
    older, newer = fit("vasp", "seed", stamp="2026-01-01T00:00:00"), fit("vasp", "seed", stamp="2026-02-01T00:00:00")
    assert best_conductivity([few, many]) is many and best_conductivity([older, newer]) is newer

    # the seed recipe names the seed's own values: its runs are 'seed', as {"preset": "seed"} expects
    seed_recipe = load_recipe("seed")
    assert seed_recipe.md.production_steps == SEED.production_steps
    assert md_maker_for(seed_recipe.md).preset.name == "seed"
    changed = seed_recipe.md.model_copy(update={"production_steps": 20000})
    assert md_maker_for(changed).preset.name == "seed+prod=20000"


def test_conductivity_builder_query_selects_one_protocol(memory_stores):
    def doc(t, preset, engine="vasp"):
        d = 1e-3 * np.exp(-0.3 / (8.617333262e-5 * t))
        return DiffusionDoc(material_id="m", formula="Li3ErCl6", temperature=t, diffusivity=d, engine=engine,
                            potential="PBE", preset=preset, diffusivity_ci95=(0.8 * d, 1.25 * d), usable=True,
                            li_density_cm3=2e22)

    docs = [doc(800.0, "seed"), doc(1100.0, "seed"), doc(800.0, "quick", "forcefield")]
    memory_stores.diffusion.update([d.to_store() for d in docs], key="doc_id")
    assert run_builders(memory_stores, "conductivity", {"conductivity": {"query": {"preset": "seed"}}}) == {
        "conductivity": 1}
    assert [d["conductivity_id"] for d in memory_stores.conductivity.query()] == ["m:vasp:PBE:seed"]


def test_every_registered_potential_has_its_own_key_part():
    from superionic.md.engines.potentials import POTENTIALS, get_potential

    labels = {name: p.label for name, p in POTENTIALS.items()}
    assert labels["chgnet-0.3.0"] == "CHGNet"  # the key older documents carry
    assert labels["chgnet-r2scan"] == "CHGNet:r2scan"
    assert labels["sevennet-mf-0-pbe"] == "SevenNet:7net-mf-0:PBE"
    assert len(set(labels.values())) == len(labels)
    with pytest.raises(ValueError, match="unknown force field"):
        get_potential("mace-mp-0")
