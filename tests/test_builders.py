"""Builders on the embedded montydb store with real documents: incremental counts, changed
sources, maggma's runners (``builder.run()``, ``mrun``), and the CLI.

MD side: real AIMD trajectories (the seed authors' kang2023 runs of Li3ErCl6 mp-676361 and
Li3ErBr6 mp-1222492) stored as ``MDRunDoc`` job outputs through jobflow's ``run_locally``
(trajectory in the JobStore's ``data`` store), with and without the MD flow's own analysis
job, exactly as the MD flow writes them. Corpus side: the bundled snapshot, its screening,
and a small GB + LightGBM surrogate trained here.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from jobflow import Flow, job, run_locally

from superionic.builders import (
    BUILDERS,
    ConductivityBuilder,
    FeatureBuilder,
    UnknownBuilderError,
    build,
    run_builders,
)
from superionic.builders.base import as_utc
from superionic.builders.diffusion import JobOutput, choose_sources, is_stale, run_trajectory_ref
from superionic.builders.predictions import rank_predictions

from recorded_md import KANG, kang_run  # tests/recorded_md.py

SEED_VASP = "vasp:PBE:seed"  # protocol part of the keys of the recorded AIMD runs below
CL, BR = "mp-676361", "mp-1222492"  # Li3ErCl6, Li3ErBr6: structures in the bundled snapshot


@pytest.fixture(autouse=True)
def restore_root_logger():
    """maggma's ``Builder.run`` and ``mrun`` add a handler to the root logger: undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# ------------------------------------------------------------------------------------------
# Real MD outputs in a JobStore
# ------------------------------------------------------------------------------------------
@cache
def recorded_md_run_job():
    """A job that returns a recorded run, its trajectory routed to the data store (as the
    MD flow's collect jobs do)."""
    from superionic.schemas.md_runs import MDRunDoc

    @job(data=["trajectory"], output_schema=MDRunDoc)
    def recorded_md_run(shared: str, mp_id: str, temperature: int, n_frames: int | None = None):
        return kang_run(Path(shared), mp_id, temperature, n_frames)

    return recorded_md_run


def run_md(stores, shared: Path, runs: list[tuple[str, int]], analyse: bool, n_frames: int | None = None) -> dict:
    """Store MD runs (and, with ``analyse``, the MD flow's own analysis) with run_locally."""
    from superionic.md.workflow.collect import analyze_md_run

    jobs, uuids = [], {}
    for mp_id, temperature in runs:
        run = recorded_md_run_job()(str(shared), mp_id, temperature, n_frames)
        jobs.append(run)
        uuids[(mp_id, temperature)] = run.uuid
        if analyse:
            jobs.append(analyze_md_run(run.output, trajectory_ref=run_trajectory_ref(run.uuid)))
    run_locally(Flow(jobs), store=stores.job_store(), log=False, ensure_success=True)
    return uuids


def upsert_materials(stores, ids: list[str]) -> None:
    from superionic.sources.snapshot import load_snapshot

    docs = [m for m in load_snapshot(with_structures=True).materials if m.material_id in ids]
    assert len(docs) == len(ids) and all(d.structure for d in docs)
    stores.materials.update([d.to_store() for d in docs], key="material_id")


def by_id(store, key: str) -> dict[str, dict]:
    return {d[key]: d for d in store.query()}


def test_md_builders_are_incremental_on_montydb(monty_stores, shared_data, tmp_path):
    from maggma.cli import run as mrun
    from monty.serialization import dumpfn
    from pymatgen.core import Structure
    from superionic.md.analysis.arrhenius import li_density
    from superionic.md.analysis.diffusion import diffusion_from_trajectory
    from click.testing import CliRunner

    stores = monty_stores
    upsert_materials(stores, [CL, BR])
    # Li3ErCl6: runs + the MD flow's analysis jobs; Li3ErBr6: runs only (the builder analyses)
    run_md(stores, shared_data, [(CL, 800), (CL, 1100)], analyse=True)
    br_uuids = run_md(stores, shared_data, [(BR, 800), (BR, 1100)], analyse=False)

    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 4, "conductivity": 2}
    diffusion = by_id(stores.diffusion, "doc_id")
    assert sorted(diffusion) == [f"{BR}:{SEED_VASP}:1100K", f"{BR}:{SEED_VASP}:800K",
                                 f"{CL}:{SEED_VASP}:1100K", f"{CL}:{SEED_VASP}:800K"]
    cl800, br800 = f"{CL}:{SEED_VASP}:800K", f"{BR}:{SEED_VASP}:800K"
    # collected: the flow's own DiffusionDoc, unchanged
    flow_doc = stores.jobs.query_one({"output.@class": "DiffusionDoc", "output.doc_id": cl800})["output"]
    assert diffusion[cl800]["diffusivity"] == flow_doc["diffusivity"]
    assert as_utc(diffusion[cl800]["last_updated"]) == as_utc(flow_doc["last_updated"])
    # analysed here from the trajectory loaded out of the data store: same D as from the file
    direct = diffusion_from_trajectory(shared_data / KANG / BR / "800_nteps_100.json.gz", material_id=BR)
    built = diffusion[br800]
    assert built["diffusivity"] == pytest.approx(direct.diffusivity, rel=1e-6)
    assert built["usable"] and built["trajectory_ref"] == run_trajectory_ref(br_uuids[(BR, 800)])
    conductivity = by_id(stores.conductivity, "material_id")
    structure = Structure.from_dict(stores.materials.query_one({"material_id": CL})["structure"])
    cl = conductivity[CL]
    assert cl["temperatures_used"] == [800.0, 1100.0] and cl["li_density_cm3"] == pytest.approx(li_density(structure))
    assert cl["sigma300"] > 0 and cl["verdict"] in ("superionic (MD)", "not superionic (MD bound)", "undecided (MD): interval spans 1e-4")

    # second run: nothing to do
    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 0, "conductivity": 0}

    # one new temperature for one material: one DiffusionDoc, that material's summary only
    run_md(stores, shared_data, [(CL, 1400)], analyse=True)
    assert run_builders(stores, "diffusion") == {"diffusion": 1}
    builder = ConductivityBuilder(stores.diffusion, stores.materials, stores.conductivity)
    builder.run(log_level=logging.WARNING)  # maggma's own Builder.run path
    assert builder.n_processed == 1
    after = by_id(stores.conductivity, "material_id")
    assert after[CL]["temperatures_used"] == [800.0, 1100.0, 1400.0]
    assert after[BR]["last_updated"] == conductivity[BR]["last_updated"]
    assert stores.diffusion.count() == 5  # the stores stay open and usable after Builder.run

    # a changed source: Li3ErBr6 at 800 K run again (a new, shorter run), through `mrun`
    run_md(stores, shared_data, [(BR, 800)], analyse=False, n_frames=200)
    builders_file = tmp_path / "builders.json"
    dumpfn([BUILDERS["diffusion"](stores), BUILDERS["conductivity"](stores)], str(builders_file))
    result = CliRunner().invoke(mrun, [str(builders_file), "--no_bars"])
    assert result.exit_code == 0, result.output
    final = by_id(stores.diffusion, "doc_id")
    assert final[br800]["n_frames"] == 200
    assert final[cl800]["last_updated"] == diffusion[cl800]["last_updated"]
    changed = by_id(stores.conductivity, "material_id")
    assert as_utc(changed[BR]["last_updated"]) > as_utc(after[BR]["last_updated"])
    assert changed[CL]["last_updated"] == after[CL]["last_updated"]
    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 0, "conductivity": 0}

    # a changed material document (its structure) rebuilds that material's summary
    upsert_materials(stores, [CL])
    assert run_builders(stores, ["diffusion", "conductivity"]) == {"diffusion": 0, "conductivity": 1}


# ------------------------------------------------------------------------------------------
# Features and predictions from the bundled corpus
# ------------------------------------------------------------------------------------------
def _train_surrogate(directory: Path):
    from superionic.ml.dataset import training_matrix
    from superionic.ml.study import StudyConfig, run_study
    from superionic.ml.surrogate import Surrogate

    data = training_matrix()
    config = StudyConfig(algorithms=["gb", "lgbm"], protocols=("random",), n_splits=2, n_iter=1, inner_folds=2)
    surrogate = Surrogate.from_study(run_study(data.X, data.y, config, families=data.families), data, directory)
    surrogate.save()
    return surrogate


def test_feature_and_prediction_builders_are_incremental(monty_stores, tmp_path):
    from superionic.features.magpie import FEATURIZER_VERSION, featurize_formulas
    from superionic.features.store import featurize_into_store
    from superionic.jobs.screening import run_screening
    from superionic.ml.predict import predict_formulas
    from superionic.schemas.base import utcnow

    stores = monty_stores
    outcome = run_screening(stores, "snapshot", show_progress=False)
    n_survivors = len(outcome.survivors)
    formulas = {d["material_id"]: d["formula"] for d in stores.materials.query(properties=["material_id", "formula"])}
    n_compositions = len({f for f in formulas.values()})

    reports = {r.name: r for r in build(stores, ["features", "predictions"])}
    assert reports["features"].processed == n_compositions == stores.features.count()
    assert reports["predictions"].processed == 0  # no trained surrogate yet: skipped, and says why
    assert "superionic train" in reports["predictions"].skipped

    # the builder's FeatureDocs are the featuriser's numbers, and the cache featurize_into_store reads
    doc = stores.features.query_one({"formula": "Li3ErCl6"})
    expected, _ = featurize_formulas(["Li3ErCl6"])
    assert np.allclose([doc["features"][c] for c in expected.columns], expected.iloc[0].to_numpy())
    assert doc["material_ids"] == [CL] and doc["featurizer_version"] == FEATURIZER_VERSION
    assert featurize_into_store(list(formulas.values()), stores.features).n_computed == 0

    surrogate = _train_surrogate(tmp_path / "models")
    stores.models.update([surrogate.doc.to_store()], key="model_id")  # as the workflow registers it
    assert run_builders(stores, ["features", "predictions"]) == {"features": 0, "predictions": n_survivors}
    preds = by_id(stores.predictions, "material_id")
    assert len(preds) == n_survivors and sorted(p["rank"] for p in preds.values()) == list(range(1, n_survivors + 1))
    some = sorted(preds)[:3]
    direct = predict_formulas([preds[m]["formula"] for m in some], surrogate, material_ids=some)
    for d in direct:
        assert (preds[d.material_id]["votes_gb"], preds[d.material_id]["votes_lgbm"]) == (d.votes_gb, d.votes_lgbm)
        assert preds[d.material_id]["prob_mean"] == pytest.approx(d.prob_mean)
    assert run_builders(stores, ["features", "predictions"]) == {"features": 0, "predictions": 0}

    # changed sources: a re-screened survivor; a FeatureDoc of an older featuriser version;
    # a material whose formula was corrected (its new composition + the old one's material list)
    survivor = outcome.survivors[0]
    stores.screening.update([survivor.model_copy(update={"last_updated": utcnow()}).to_store()], key="material_id")
    old = stores.features.query_one({"formula": survivor.formula})
    old.pop("_id")
    stores.features.update([{**old, "featurizer_version": "magpie145-v0"}], key="formula")
    assert run_builders(stores, ["features", "predictions"]) == {"features": 1, "predictions": 1}
    assert stores.features.query_one({"formula": survivor.formula})["featurizer_version"] == FEATURIZER_VERSION

    lone = next(m for m, f in sorted(formulas.items()) if list(formulas.values()).count(f) == 1
                and m not in {s.material_id for s in outcome.survivors})
    material = stores.materials.query_one({"material_id": lone})
    material.pop("_id")
    stores.materials.update([{**material, "formula": "Li7La3Zr2O12"}], key="material_id")
    assert run_builders(stores, "features") == {"features": 2}
    assert stores.features.query_one({"formula": formulas[lone]})["material_ids"] == []
    assert stores.features.query_one({"formula": "Li7La3Zr2O12"})["material_ids"] == [lone]
    assert run_builders(stores, "features") == {"features": 0}


# ------------------------------------------------------------------------------------------
# Memory stores, serialisation, CLI, registry
# ------------------------------------------------------------------------------------------
def test_memory_store_pitfall_is_avoided_and_documented(memory_stores):
    """Builders leave the caller's stores open: a closed MemoryStore (mongomock) refuses
    every call, and reconnecting it with force_reset starts an empty client. A builder
    rebuilt from its JSON (as mrun does) gets new, empty memory stores."""
    from monty.json import MontyDecoder

    stores = memory_stores
    stores.materials.update([{"material_id": "m1", "formula": "Li3PS4", "last_updated": as_utc(None)}],
                            key="material_id")
    assert run_builders(stores, "features") == {"features": 1}
    assert run_builders(stores, "features") == {"features": 0}
    builder = FeatureBuilder(stores.materials, stores.features)
    builder.run(log_level=logging.WARNING)
    assert builder.n_processed == 0 and stores.features.count() == 1  # still open, data kept
    copy = MontyDecoder().process_decoded(builder.as_dict())
    copy.connect()
    assert copy.materials.count() == 0  # a deserialised memory store is a new, empty one


def test_builders_round_trip_as_json(monty_stores):
    from monty.json import MontyDecoder

    for name, factory in BUILDERS.items():
        builder = factory(monty_stores)
        copy = MontyDecoder().process_decoded(builder.as_dict())
        assert type(copy) is type(builder) and copy.name == name
        assert [s.name for s in copy.sources] == [s.name for s in builder.sources]


def test_cli_build_counts_export_and_errors(tmp_path):
    from typer.testing import CliRunner

    from superionic.cli import app
    from superionic.stores import open_stores

    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    stores.materials.update([{"material_id": "m1", "formula": "Li3PS4"}, {"material_id": "m2", "formula": "Li6PS5Cl"}],
                            key="material_id")
    stores.close()
    runner = CliRunner()
    first = runner.invoke(app, ["build", "features", "--store", spec])
    assert first.exit_code == 0, first.output
    assert "features: 2 processed" in first.output
    again = runner.invoke(app, ["build", "--store", spec, "--json"])
    assert again.exit_code == 0, again.output
    assert '"features": 0' in again.stdout and '"conductivity": 0' in again.stdout
    bad = runner.invoke(app, ["build", "nonsense", "--store", spec])
    assert bad.exit_code != 0 and "features, predictions, diffusion, conductivity" in bad.output
    exported = runner.invoke(app, ["build", "--store", spec, "--export", str(tmp_path / "b.json")])
    assert exported.exit_code == 0 and (tmp_path / "b.json").is_file()
    memory = runner.invoke(app, ["build", "--store", "memory://", "--export", str(tmp_path / "m.json")])
    assert memory.exit_code != 0 and "memory://" in memory.output
    with pytest.raises(UnknownBuilderError):
        run_builders(open_stores("memory://x"), ["nope"])


# ------------------------------------------------------------------------------------------
# Pure rules
# ------------------------------------------------------------------------------------------
def _out(uuid, kind, doc_id, minute, ref=None) -> JobOutput:
    from datetime import datetime, timezone

    stamp = datetime(2026, 1, 1, 0, minute, tzinfo=timezone.utc)
    return JobOutput(uuid, 1, kind, doc_id, stamp, ref or (run_trajectory_ref(uuid) if kind == "MDRunDoc" else None))


def test_choose_sources_prefers_the_newest_run_and_its_own_analysis():
    old_run, new_run = _out("r1", "MDRunDoc", "m:800K", 1), _out("r2", "MDRunDoc", "m:800K", 5)
    of_old = _out("a1", "DiffusionDoc", "m:800K", 2, run_trajectory_ref("r1"))
    of_new = _out("a2", "DiffusionDoc", "m:800K", 6, run_trajectory_ref("r2"))
    assert choose_sources([old_run, new_run, of_old])["m:800K"] == new_run  # analyse the new run
    assert choose_sources([old_run, new_run, of_old, of_new])["m:800K"] == of_new  # collect its analysis
    files = _out("f", "DiffusionDoc", "m:1100K", 3, "/data/run.xdatcar")
    assert choose_sources([files])["m:1100K"] == files
    assert is_stale(of_new, None)
    assert not is_stale(of_new, {"last_updated": of_new.last_updated, "trajectory_ref": of_new.trajectory_ref})
    assert is_stale(of_new, {"last_updated": of_new.last_updated, "trajectory_ref": run_trajectory_ref("r1")})


def test_timestamps_compare_across_stores_and_ranks():
    from datetime import datetime, timezone

    aware = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert as_utc(aware) == as_utc(aware.replace(tzinfo=None, microsecond=123000)) == as_utc(aware.isoformat())
    assert as_utc(None) < as_utc(aware)
    rows = [{"material_id": "a", "prob_mean": 0.4, "votes_gb": 1, "votes_lgbm": 1},
            {"material_id": "b", "prob_mean": 0.9, "votes_gb": 2, "votes_lgbm": 2},
            {"material_id": "c", "prob_mean": 0.4, "votes_gb": 2, "votes_lgbm": 2},
            {"material_id": "d", "prob_mean": None}]
    assert rank_predictions(rows) == {"b": 1, "c": 2, "a": 3}


def test_diffusion_builder_ignores_other_job_outputs(monty_stores):
    from superionic.builders.diffusion import job_outputs

    monty_stores.jobs.update([{"uuid": "x", "index": 1, "output": {"@class": "TaskDoc", "x": 1}}], key="uuid")
    assert list(job_outputs(monty_stores.jobs)) == []
    assert run_builders(monty_stores, ["diffusion", "conductivity"]) == {"diffusion": 0, "conductivity": 0}


def test_conductivity_rules_one_protocol_per_fit_and_staleness():
    from superionic.builders.conductivity import conductivity_doc, group_diffusion, stale_groups
    from superionic.schemas.md import DiffusionDoc

    def doc(t, engine, preset):
        d = 1e-3 * np.exp(-0.3 / (8.617333262e-5 * t))
        return DiffusionDoc(material_id="m", formula="Li3ErCl6", temperature=t, diffusivity=d,
                            diffusivity_ci95=(0.8 * d, 1.25 * d), usable=True, li_density_cm3=2e22,
                            engine=engine, preset=preset)

    same = conductivity_doc([doc(800.0, "vasp", "seed"), doc(1100.0, "vasp", "seed")])
    assert same.conductivity_id == "m:vasp:unknown:seed" and same.temperatures_used == [800.0, 1100.0]
    with pytest.raises(ValueError, match="several MD protocols"):
        conductivity_doc([doc(800.0, "vasp", "seed"), doc(1100.0, "forcefield", "quick")])
    rows = [d.to_store() for d in (doc(800.0, "vasp", "seed"), doc(1100.0, "forcefield", "quick"))]
    assert sorted(group_diffusion(rows)) == ["m:forcefield:unknown:quick", "m:vasp:unknown:seed"]

    t0, t1 = as_utc("2026-01-01T00:00:00"), as_utc("2026-01-01T01:00:00")
    groups = {"a:p": [{"material_id": "a", "doc_id": "a:p:800K", "last_updated": t0}],
              "b:p": [{"material_id": "b", "doc_id": "b:p:800K", "last_updated": t0}]}
    targets = {"a:p": {"last_updated": t1, "source_doc_ids": ["a:p:800K"]},
               "b:p": {"last_updated": t1, "source_doc_ids": ["b:p:800K", "b:p:1100K"]}}
    assert stale_groups(groups, targets, {}) == ["b:p"]  # b lost a temperature
    assert stale_groups(groups, targets, {"a": {"last_updated": as_utc("2026-01-01T02:00:00")}}) == ["a:p", "b:p"]


def test_changed_analysis_settings_make_the_builders_redo_the_analysis():
    """A DiffusionDoc carries its analysis version + settings hash; a builder with other
    settings passes over the flow's analysis and analyses the run again, and rebuilds a stored
    document made under other settings; the ConductivityBuilder redoes other verdict rules."""
    from superionic.builders.conductivity import stale_groups
    from superionic.md.analysis.arrhenius import conductivity_version
    from superionic.md.analysis.diffusion import DiffusionSettings, analysis_version

    default, other = analysis_version(), analysis_version(DiffusionSettings(min_hops=20))
    assert default != other and default == analysis_version(DiffusionSettings())
    run = _out("r1", "MDRunDoc", "m:800K", 1)
    flow_analysis = JobOutput("a1", 1, "DiffusionDoc", "m:800K", as_utc("2026-01-01T00:00:02"),
                              run_trajectory_ref("r1"), default)
    assert choose_sources([run, flow_analysis], default)["m:800K"] == flow_analysis
    assert choose_sources([run, flow_analysis], other)["m:800K"] == run  # analysed again
    target = {"last_updated": as_utc("2026-01-01T00:05:00"), "trajectory_ref": run.trajectory_ref,
              "analysis_version": default}
    assert not is_stale(flow_analysis, target, default)
    assert is_stale(run, target, other) and not is_stale(run, {**target, "analysis_version": other}, other)
    t0 = as_utc("2026-01-01T00:00:00")
    groups = {"a:p": [{"material_id": "a", "doc_id": "a:p:800K", "last_updated": t0}]}
    built = {"a:p": {"last_updated": as_utc("2026-01-01T01:00:00"), "source_doc_ids": ["a:p:800K"],
                     "analysis_version": conductivity_version()}}
    assert stale_groups(groups, built, {}, conductivity_version()) == []
    assert stale_groups(groups, built, {}, conductivity_version(ea_min=0.2)) == ["a:p"]


def test_a_loaded_run_whose_analysis_raises_is_an_unusable_document(monkeypatch):
    """The builder hands the analysis the loaded ``MDRunDoc`` itself (no JSON round trip); an
    analysis that raises gives an unusable document keyed from the run's fields."""
    from superionic.builders.diffusion import diffusion_doc_from_output
    from superionic.md.workflow import collect
    from superionic.schemas.md_runs import MDRunDoc

    run = MDRunDoc(run_id="m:forcefield:quick:800K", material_id="m", formula="Li2O", engine="forcefield",
                   force_field="CHGNet", preset="quick", is_quick=True, temperature=800.0, time_step_fs=2.0,
                   save_interval_steps=10, n_sites=3, status="completed", equilibration_steps=0,
                   production_steps=0, production_steps_done=0, n_segments=1, frame_interval_fs=20.0)

    class Raising:
        @staticmethod
        def original(*args, **kwargs):
            raise RuntimeError("boom")

    monkeypatch.setattr(collect, "analyze_md_run", Raising)
    source = _out("r1", "MDRunDoc", "m:forcefield:CHGNet:quick:800K", 1)
    doc = diffusion_doc_from_output(run, source)
    assert not doc.usable and doc.reason == "analysis_failed: RuntimeError: boom"
    assert doc.doc_id == "m:forcefield:CHGNet:quick:800K" and doc.trajectory_ref == source.trajectory_ref
