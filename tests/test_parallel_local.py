"""The local manager on several cores (``superionic.engines.parallel_local``): real CHGNet MD
segments in spawned worker processes on a montydb JobStore, against ``run_locally``."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from jobflow import Flow, JobStore, job, run_locally

from superionic.engines.parallel_local import resolve_workers, run_jobs, shareable
from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
from superionic.md.workflow.makers import ConductivityMDMaker
from superionic.schemas.md import ConductivityDoc, DiffusionDoc
from superionic.schemas.md_runs import MDRunDoc
from test_md_makers import li2o, memory_job_store, monty_job_store, outputs_by_name, tiny_preset


def _md_flow():
    preset = tiny_preset(temperatures=(800.0, 1200.0), production_steps=30)
    maker = ConductivityMDMaker(preset=preset, segment_maker=ForceFieldSegmentMaker(n_threads=1), cross_check=None)
    return maker.make(li2o(), material_id="li2o-parallel")


@pytest.mark.slow
def test_md_jobs_in_two_worker_processes_give_the_documents_run_locally_gives(tmp_path):
    from superionic.md.engines import progress

    serial_flow = _md_flow()
    serial = outputs_by_name(serial_flow, run_locally(serial_flow, store=monty_job_store(tmp_path / "serial"),
                                                      log=False, ensure_success=True))
    events: list[tuple[str, str]] = []

    def listen(event):
        if event.kind in ("end", "reused", "failed"):
            events.append((event.kind, threading.current_thread().name))

    flow = _md_flow()
    store = monty_job_store(tmp_path / "parallel")
    progress.add_listener(listen)
    try:
        parallel = outputs_by_name(flow, run_jobs(flow, store, workers=2))
    finally:
        progress.remove_listener(listen)

    # every segment ran in a worker (its progress came through the forwarding thread, not this one)
    n_segments = sum(1 for name in parallel if name.startswith("forcefield md segment"))
    assert n_segments == 8 and len(events) == n_segments
    assert all(kind == "end" and thread != threading.main_thread().name for kind, thread in events), events
    # the same numbers as one process running the jobs one after the other
    for t in (800, 1200):
        a, b = serial[f"md run {t}K"], parallel[f"md run {t}K"]
        assert isinstance(b, MDRunDoc) and b.status == "completed" and b.steps_run == a.steps_run
        da, db = serial[f"diffusion {t}K"], parallel[f"diffusion {t}K"]
        assert isinstance(db, DiffusionDoc) and db.n_frames == da.n_frames
        assert db.msd_summary.msd_li == pytest.approx(da.msd_summary.msd_li, rel=1e-12, abs=1e-15)
        assert db.diffusivity == da.diffusivity and db.n_hops == da.n_hops
    assert isinstance(parallel["arrhenius conductivity"], ConductivityDoc)
    assert parallel["arrhenius conductivity"].verdict == serial["arrhenius conductivity"].verdict
    # what the workers computed was written here, once: segments with their trajectories in "data"
    docs = list(store.docs_store.query({"output.segment_key": {"$exists": True}}, properties=["uuid"]))
    assert len(docs) == n_segments
    assert store.additional_stores["data"].count() >= n_segments
    last = store.query_one({"name": "forcefield md segment 1200K production 3/3"}, load=True)
    assert np.asarray(last["output"]["trajectory"]["coords"]).shape[0] > 1


@job(name="forcefield md segment that fails")
def _failing_segment(x):
    raise RuntimeError(f"no force field for {x}")


@job
def _after(x):
    return x


def test_a_failing_md_job_in_a_worker_is_reported_as_run_locally_reports_it(tmp_path, caplog):
    boom = _failing_segment(1)
    child = _after(boom.output)  # needs the failed job's output: not run (OnMissing.ERROR)
    free = _after(2)
    with caplog.at_level("INFO", logger="jobflow.managers.local"):
        responses = run_jobs(Flow([boom, child, free]), monty_job_store(tmp_path / "s"), workers=2)
    assert set(responses) == {free.uuid}
    failures = [r.getMessage() for r in caplog.records if "failed with exception" in r.getMessage()]
    assert len(failures) == 1 and failures[0].startswith("forcefield md segment that fails failed")
    assert "RuntimeError: no force field for 1" in failures[0]


@job(name="forcefield md segment that dies")
def _dying_segment():
    os._exit(9)  # what the kernel's OOM killer does to a worker


@job(name="forcefield md segment after it")
def _segment_after(x):
    return {"x": x, "pid": os.getpid()}


def test_a_worker_that_dies_fails_its_job_and_a_new_worker_runs_the_next(tmp_path, caplog):
    from jobflow.core.reference import OnMissing

    dies = _dying_segment()
    after = _segment_after(dies.output)  # runs after it, with None for the missing output
    after.config.on_missing_references = OnMissing.NONE
    with caplog.at_level("INFO", logger="jobflow.managers.local"):
        responses = run_jobs(Flow([dies, after]), monty_job_store(tmp_path / "s"), workers=2)
    failures = [r.getMessage() for r in caplog.records if "failed with exception" in r.getMessage()]
    assert len(failures) == 1 and failures[0].startswith("forcefield md segment that dies failed")
    assert "BrokenProcessPool" in failures[0]
    assert dies.uuid not in responses
    ran = responses[after.uuid][1].output
    assert ran["x"] is None and ran["pid"] != os.getpid()


def test_workers_that_cannot_start_leave_the_md_jobs_to_this_process(tmp_path):
    from maggma.stores import MontyStore

    class NotImportableInAWorker(MontyStore):  # a local class: a spawned worker cannot rebuild it
        pass

    store = monty_job_store(tmp_path / "s")
    store.docs_store = NotImportableInAWorker(collection_name="jobs", database_path=str(tmp_path / "s"),
                                              database_name="md", storage="sqlite", key="uuid")
    store.connect()
    first, second = _segment_after(1), _segment_after(2)
    with pytest.warns(RuntimeWarning, match="could not start"):
        responses = run_jobs(Flow([first, second]), store, workers=2)
    assert {responses[j.uuid][1].output["pid"] for j in (first, second)} == {os.getpid()}


def test_in_memory_stores_and_one_worker_fall_back_to_run_locally(tmp_path, monkeypatch):
    from maggma.stores import MontyStore

    assert not shareable(memory_job_store())
    assert shareable(monty_job_store(tmp_path / "s"))
    in_memory_monty = JobStore(MontyStore("jobs", database_path=":memory:"),
                               additional_stores={"data": monty_job_store(tmp_path / "s").additional_stores["data"]})
    assert not shareable(in_memory_monty)  # one store in memory is enough
    monkeypatch.setenv("SUPERIONIC_LOCAL_WORKERS", "1")
    from superionic.settings import get_settings

    get_settings.cache_clear()
    assert resolve_workers() == 1
    assert 1 <= resolve_workers(0) <= 4
    with pytest.raises(ValueError):
        resolve_workers(-1)


@pytest.mark.slow
def test_superionic_md_with_one_and_with_two_workers_stores_the_same_diffusion(tmp_path):
    from typer.testing import CliRunner

    from superionic.cli import app
    from superionic.stores import open_stores

    path = tmp_path / "li2o.json"
    li2o().to(filename=str(path))
    stored = {}
    for workers in (1, 2):
        spec = f"monty://{tmp_path / f'st{workers}'}"
        result = CliRunner().invoke(app, [
            "md", str(path), "--preset", "quick", "-T", "800,1200", "--equilibration-steps", "5",
            "--production-steps", "10", "--min-image-distance", "0", "--store", spec,
            "--material-id", "li2o-cli", "--workers", str(workers)])
        assert result.exit_code == 0, result.output
        stored[workers] = sorted((d["temperature"], d["n_frames"], d["msd_summary"]["msd_li"])
                                 for d in open_stores(spec).diffusion.query({"material_id": "li2o-cli"}))
    assert len(stored[2]) == 2 and stored[1] == stored[2]
