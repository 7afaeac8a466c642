"""MD storage like atomate2: each trajectory stored once, reruns store pointers, no document
over MongoDB's 16 MB, and atomate2's own MD outputs feed the DiffusionBuilder.

Force-field runs are real CHGNet MD on tiny cells (machinery, not physics); the atomate2
document is built with atomate2's own ``ForceFieldTaskDocument.from_ase_compatible_result``
from a synthetic random walk with a known diffusivity.
"""

from __future__ import annotations

import bson
import numpy as np
import pytest
from jobflow import Flow, job, run_locally
from maggma.stores import MemoryStore
from monty.json import jsanitize
from pymatgen.core import Lattice, Structure
from pymatgen.core.trajectory import Trajectory

from superionic.builders.diffusion import DiffusionBuilder
from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
from superionic.md.workflow.makers import ConductivityMDMaker
from superionic.md.presets import MAX_DOCUMENT_BYTES, MAX_SEGMENT_FRAMES, SEED, segment_bytes
from superionic.schemas.md_runs import MDRunDoc, MDSegmentDoc, TrajectoryRef
from test_md_makers import li2o, memory_job_store, no_network, outputs_by_name, tiny_preset  # noqa: F401 (fixture)


def trajectory_blobs(store) -> list[dict]:
    """The trajectories in a JobStore's data store (one blob each)."""
    return [b for b in store.additional_stores["data"].query() if (b.get("data") or {}).get("@class") == "Trajectory"]


def build_diffusion(store, settings: dict | None = None) -> dict[str, dict]:
    from superionic.builders.registry import run_builder

    target = MemoryStore("diffusion")
    builder = DiffusionBuilder(store.docs_store, store.additional_stores["data"], target, diffusion_settings=settings)
    report = run_builder(builder)  # maggma's serial runner (Builder.run() would log DEBUG to stdout for good)
    assert not report.failures, report.failures
    target.connect()
    return {d["doc_id"]: d for d in target.query()}


# ------------------------------------------------------------------------------------------
# each trajectory once; a rerun stores pointers; the builder follows them
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_flow_stores_each_trajectory_once_and_a_rerun_adds_none():
    from superionic.md.workflow.collect import _temperature_stats
    from superionic.md.workflow.segment_store import run_trajectory

    settings = {"temperature_tolerance": 10.0}
    preset = tiny_preset(temperatures=(800.0, 1200.0))  # per T: 1 equilibration + 2 production segments

    def make_flow():
        maker = ConductivityMDMaker(preset=preset, segment_maker=ForceFieldSegmentMaker(n_threads=1),
                                    diffusion_settings=settings)
        return maker.make(li2o(primitive=False), material_id="li2o-store")

    store = memory_job_store()
    flow = make_flow()
    first = outputs_by_name(flow, run_locally(flow, store=store, ensure_success=True, log=False))
    segment_jobs = {j.uuid for j in flow.jobs if j.name.startswith("forcefield md segment")}
    assert len(segment_jobs) == 6
    blobs = trajectory_blobs(store)
    # one trajectory per segment (equilibration + production), none per temperature
    assert len(blobs) == 6 and {b["job_uuid"] for b in blobs} == segment_jobs
    for temperature in (800, 1200):
        run = first[f"md run {temperature}K"]
        assert run.trajectory is None and len(run.production_segments) == 2
        joined = run_trajectory(run, store)
        assert len(joined) == run.n_frames == 20 // 5 + 1
        # the run's temperature statistics come from its segments' own, exactly
        assert (run.mean_temperature, run.std_temperature) == pytest.approx(_temperature_stats(joined), rel=1e-9)
        assert first[f"diffusion {temperature}K"].n_frames == run.n_frames

    # as on jobflow-remote: the manager resolves the analysis job's references; the job itself,
    # given an empty store (a worker's), still finds every production trajectory
    from jobflow.core.reference import find_and_resolve_references

    from superionic.md.workflow.collect import analyze_md_run

    for temperature in (800, 1200):
        analysis = next(j for j in flow.jobs if j.name == f"diffusion {temperature}K")
        given = find_and_resolve_references(analysis.function_kwargs["given"], store)
        assert len(given) == 2 and all(isinstance(t, Trajectory) for t in given.values())
        worker_store = memory_job_store()
        worker_store.connect()
        doc = analyze_md_run.original(first[f"md run {temperature}K"], settings=settings, given=given,
                                      store=worker_store)
        flow_doc = first[f"diffusion {temperature}K"]
        assert (doc.usable, doc.n_frames, doc.diffusivity) == (flow_doc.usable, flow_doc.n_frames, flow_doc.diffusivity)

    # rerun: a fresh flow (new uuids) on the same store takes every segment over
    again = make_flow()
    second = outputs_by_name(again, run_locally(again, store=store, ensure_success=True, log=False))
    assert len(trajectory_blobs(store)) == 6  # no trajectory stored again
    reused = [o for o in second.values() if isinstance(o, MDSegmentDoc)]
    assert len(reused) == 6 and all(s.reused_from in segment_jobs and s.trajectory is None for s in reused)
    for temperature in (800, 1200):
        old, new = first[f"md run {temperature}K"], second[f"md run {temperature}K"]
        assert [r.uuid for r in new.production_segments] == [r.uuid for r in old.production_segments]
        assert all(r.job_uuid != r.uuid for r in new.production_segments)
        a, b = first[f"diffusion {temperature}K"], second[f"diffusion {temperature}K"]
        assert (b.n_frames, b.usable, b.diffusivity, b.flags) == (a.n_frames, a.usable, a.diffusivity, a.flags)

    # the builder, without the flow's analyses, reads the newest runs (the rerun's) through
    # their pointers to the first run's segments, and gets the flow's own analysis
    store.docs_store.remove_docs({"output.@class": "DiffusionDoc"})
    built = build_diffusion(store, settings)
    assert sorted(built) == ["li2o-store:forcefield:CHGNet:test:1200K", "li2o-store:forcefield:CHGNet:test:800K"]
    for temperature in (800, 1200):
        doc = built[f"li2o-store:forcefield:CHGNet:test:{temperature}K"]
        flow_doc = first[f"diffusion {temperature}K"]
        assert doc["n_frames"] == flow_doc.n_frames and doc["usable"] == flow_doc.usable
        assert doc["diffusivity"] == flow_doc.diffusivity and doc["flags"] == flow_doc.flags
        run_uuid = next(j.uuid for j in again.jobs if j.name == f"md run {temperature}K")
        assert doc["trajectory_ref"] == f"jobstore:{run_uuid}:output.trajectory"


def test_a_missing_segment_trajectory_is_a_reason_not_a_crash():
    """A run whose segment job is gone from the store: the analysis says so (usable=False)."""
    from superionic.md.workflow.collect import analyze_md_run

    run = MDRunDoc(
        run_id="x:forcefield:test:900K", formula="Li2O", engine="forcefield", force_field="CHGNet",
        preset="test", is_quick=True, temperature=900.0, time_step_fs=2.0, save_interval_steps=5,
        n_sites=12, status="completed", equilibration_steps=0, production_steps=10, production_steps_done=10,
        n_segments=1, production_segments=[TrajectoryRef(uuid="gone", index=0, n_frames=3, end_step=10)],
        n_frames=3, frame_interval_fs=10.0,
    )
    store = memory_job_store()
    store.connect()
    doc = analyze_md_run.original(run, store=store)
    assert not doc.usable and "no trajectory stored for segment 0 (job gone" in doc.reason


# ------------------------------------------------------------------------------------------
# no document over 16 MB
# ------------------------------------------------------------------------------------------
def _segment(n_frames: int, n_sites: int, rng) -> MDSegmentDoc:
    lattice = np.eye(3) * 14.123456789
    traj = Trajectory(lattice=lattice, species=["Li", "P", "S"] * (n_sites // 3) + ["Li"] * (n_sites % 3),
                      coords=rng.random((n_frames, n_sites, 3)) * 3 - 1, constant_lattice=True,
                      frame_properties=[{"energy": -1234.567891234, "temperature": 1000.12345678} for _ in range(n_frames)],
                      time_step=20.0)
    final = Structure(Lattice(lattice), traj.species, traj.coords[-1],
                      site_properties={"velocities": rng.normal(0, 0.01, (n_sites, 3)).tolist()})
    return MDSegmentDoc(
        material_id="mp-000", formula="Li3PS3", engine="forcefield", force_field="CHGNet", preset="seed",
        is_quick=False, temperature=1000.0, time_step_fs=2.0, save_interval_steps=10, n_sites=n_sites,
        status="completed", segment_key="k" * 32, stage="production", index=9, n_segments_in_stage=10,
        start_step=9000, n_steps=(n_frames - 1) * 10, end_step=9000 + (n_frames - 1) * 10, final_structure=final,
        trajectory=traj, n_frames=n_frames, mean_temperature=1000.0, std_temperature=50.0,
    )


def _stored_documents(doc, uuid="u" * 36) -> tuple[int, int]:
    """BSON sizes of (the job document, the trajectory blob) as jobflow stores a segment."""
    data = jsanitize(doc, strict=True, allow_bson=True)
    blob = {"blob_uuid": "b" * 36, "data": data.pop("trajectory"), "job_uuid": uuid, "job_index": 1}
    data["trajectory"] = {"@module": "pymatgen.core.trajectory", "@class": "Trajectory", "blob_uuid": "b" * 36, "store": "data"}
    job_doc = {"uuid": uuid, "index": 1, "name": "forcefield md segment", "output": data, "metadata": {}}
    return len(bson.encode(job_doc)), len(bson.encode(blob))


def test_no_stored_md_document_reaches_16_mb():
    """Seed protocol, 200-atom cell: segments of 1,000 steps, a frame every 10 -> 101 frames,
    0.87 MB per trajectory blob (arithmetic: 101 x 200 x 44 B); the largest segment any
    preset allows (MAX_SEGMENT_FRAMES) is under 16 MB up to 900 atoms (larger ones fail with
    the reason, next test), and the per-temperature run document holds pointers only."""
    rng = np.random.default_rng(0)
    assert SEED.production_steps == 10_000 and SEED.segment_steps == 1000 and SEED.save_interval_steps == 10
    seed_frames = SEED.effective_segment_steps // SEED.save_interval_steps + 1
    assert seed_frames == 101 and SEED.segment_lengths("production") == [1000] * 10
    job_bytes, blob_bytes = _stored_documents(_segment(seed_frames, 200, rng))
    assert 0.8e6 < blob_bytes < 0.95e6 and job_bytes < 60_000
    assert blob_bytes <= segment_bytes(seed_frames, 200) < 1.05 * blob_bytes  # the estimate is close and safe

    # the largest segment a preset can ask for is capped at MAX_SEGMENT_FRAMES frames
    huge = SEED.with_overrides(segment_steps=100_000, save_interval_steps=1, production_steps=100_000)
    assert max(huge.segment_lengths("production")) == MAX_SEGMENT_FRAMES - 1
    _, blob_bytes = _stored_documents(_segment(MAX_SEGMENT_FRAMES, 900, rng))
    assert blob_bytes < MAX_DOCUMENT_BYTES and blob_bytes <= segment_bytes(MAX_SEGMENT_FRAMES, 900)
    assert segment_bytes(MAX_SEGMENT_FRAMES, 1000) > MAX_DOCUMENT_BYTES  # refused at run time

    # the run document of the seed protocol: ten pointers, no trajectory
    refs = [TrajectoryRef(uuid=f"{i:036d}", job_uuid=f"{i:036d}", index=i, n_frames=101, start_step=1000 * i,
                          end_step=1000 * (i + 1)) for i in range(10)]
    run = MDRunDoc(run_id="mp-000:forcefield:seed:1000K", formula="Li3PS3", engine="forcefield", force_field="CHGNet",
                   preset="seed", is_quick=False, temperature=1000.0, time_step_fs=2.0, save_interval_steps=10,
                   n_sites=200, status="completed", equilibration_steps=3000, production_steps=10_000,
                   production_steps_done=10_000, n_segments=13, production_segments=refs, n_frames=1001,
                   frame_interval_fs=20.0, segment_uuids=[r.uuid for r in refs])
    assert len(bson.encode(jsanitize(run, strict=True, allow_bson=True))) < 20_000


def test_a_segment_too_large_to_store_fails_before_integrating():
    """2,000 atoms x 201 frames would be ~18 MB: the segment fails with the reason, no MD run."""
    from superionic.md.presets import MDPreset

    structure = Structure(Lattice.cubic(40.0), ["Li"] * 2000,
                          [[i / 20 + 0.01, j / 10, k / 10] for i in range(20) for j in range(10) for k in range(10)])
    preset = MDPreset(name="big", temperatures=(1000.0,), equilibration_steps=0, production_steps=200,
                      segment_steps=200, save_interval_steps=1, min_image_distance=0.0)
    segment = ForceFieldSegmentMaker(n_threads=1).make(structure, preset=preset.model_dump(), temperature=1000.0,
                                                        stage="production", index=0, n_segments_in_stage=1,
                                                        start_step=0, n_steps=200)
    responses = run_locally(Flow([segment]), store=memory_job_store(), ensure_success=True, log=False)
    out = responses[segment.uuid][1].output
    assert out.status == "failed" and out.steps_run == 0 and out.trajectory is None
    assert "16 MB document limit" in out.failure_reason and "201 frames x 2000 atoms" in out.failure_reason


# ------------------------------------------------------------------------------------------
# atomate2's own MD outputs feed the DiffusionBuilder
# ------------------------------------------------------------------------------------------
def _walk_task_document(true_d_cm2_s: float, seed: int = 3):
    """atomate2's ForceFieldTaskDocument of a synthetic NVT run: 30 Li random-walking with a
    known D among 30 rattling S, 1,000 frames 20 fs apart (2 fs steps, traj_interval 10),
    built by atomate2's own constructor from an AseResult."""
    from atomate2.ase.schemas import AseResult
    from atomate2.forcefields.schemas import ForceFieldTaskDocument

    frame_fs, n_frames, box = 20.0, 1000, 15.0
    sigma = np.sqrt(2 * true_d_cm2_s / 0.1 * frame_fs)  # per axis and frame, A
    rng = np.random.default_rng(seed)
    li = rng.uniform(0, box, (30, 3)) + np.cumsum(rng.normal(0, sigma, (n_frames, 30, 3)), axis=0)
    fw = rng.uniform(0, box, (30, 3)) + rng.normal(0, 0.1, (n_frames, 30, 3))
    cart = np.concatenate([li, fw], axis=1)
    lattice = Lattice(np.eye(3) * box)
    frames = [Structure(lattice, ["Li"] * 30 + ["S"] * 30, c, coords_are_cartesian=True) for c in cart]
    props = [{"energy": -250.0 + rng.normal(0, 0.1), "forces": np.zeros((60, 3)).tolist(),
              "temperature": 1000.0 + rng.normal(0, 40.0)} for _ in range(n_frames)]
    traj = Trajectory.from_structures(frames, frame_properties=props, constant_lattice=False)
    result = AseResult(final_mol_or_struct=frames[-1], trajectory=traj, elapsed_time=1.0, converged=None)
    return ForceFieldTaskDocument.from_ase_compatible_result(
        "MLFF.CHGNet", result, steps=(n_frames - 1) * 10, relax_cell=False, ionic_step_data=None,
        store_trajectory="partial",
    )


@job(data=["trajectory", "ionic_steps"])  # atomate2's ForceFieldMDMaker.make routes these
def atomate2_md_output(doc):
    return doc


def test_diffusion_builder_reads_atomate2_forcefield_md():
    true_d = 1.0e-5  # cm^2/s
    task = _walk_task_document(true_d)
    assert task.objects and "trajectory" in {str(getattr(k, "value", k)) for k in task.objects}
    store = memory_job_store()
    md = atomate2_md_output(task)
    md.update_metadata({"temperature": 1000, "material_id": "walk-1", "time_step": 2.0})
    bare = atomate2_md_output(task)  # no temperature in its metadata: passed over
    run_locally(Flow([md, bare]), store=store, ensure_success=True, log=False)
    raw = store.docs_store.query_one({"uuid": md.uuid})
    assert raw["output"]["@class"] == "ForceFieldTaskDocument"
    assert raw["output"]["objects"]["trajectory"]["store"] == "data"  # as atomate2 stores it

    built = build_diffusion(store)
    assert list(built) == ["walk-1:forcefield:CHGNet:atomate2:1000K"]
    doc = built["walk-1:forcefield:CHGNet:atomate2:1000K"]
    assert doc["usable"] and doc["n_frames"] == 1000 and doc["engine"] == "forcefield" and doc["preset"] == "atomate2"
    assert doc["trajectory_ref"] == f"jobstore:{md.uuid}:output.objects.trajectory"
    lo, hi = doc["diffusivity_ci95"]
    assert lo <= true_d <= hi and 0.7 < doc["diffusivity"] / true_d < 1.4
    # incremental: nothing to rebuild the second time
    from superionic.builders.registry import run_builder

    builder = DiffusionBuilder(store.docs_store, store.additional_stores["data"], MemoryStore("diffusion"))
    assert run_builder(builder).processed == 1
    assert run_builder(builder).processed == 0


@pytest.mark.slow
def test_atomate2_forcefield_md_maker_output_feeds_the_builder(no_network, tmp_path, monkeypatch):
    """atomate2's own ForceFieldMDMaker (CHGNet, 20 steps, a frame every 5) run without
    superionic: the builder finds its document, keys it from the job metadata and analyses
    its 5 frames (too short to be usable: machinery only)."""
    from atomate2.forcefields.md import ForceFieldMDMaker

    monkeypatch.chdir(tmp_path)  # atomate2 writes its files in the working directory
    md = ForceFieldMDMaker(force_field_name="CHGNet", temperature=1000.0, n_steps=20, traj_interval=5,
                           time_step=2.0, mb_velocity_seed=1).make(li2o(primitive=False))
    md.update_metadata({"temperature": 1000, "material_id": "li2o-a2"})
    store = memory_job_store()
    run_locally(Flow([md]), store=store, ensure_success=True, log=False)
    assert len(trajectory_blobs(store)) == 1
    built = build_diffusion(store, {"temperature_tolerance": 10.0})
    assert list(built) == ["li2o-a2:forcefield:CHGNet:atomate2:1000K"]
    doc = built["li2o-a2:forcefield:CHGNet:atomate2:1000K"]
    assert doc["n_frames"] == 5 and doc["trajectory_ref"] == f"jobstore:{md.uuid}:output.objects.trajectory"
    assert doc["temperature"] == 1000.0 and doc["potential"] == "CHGNet" and doc["formula"] == "Li2O"
