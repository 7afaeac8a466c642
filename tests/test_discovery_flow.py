"""The whole discovery flow through jobflow's run_locally on the embedded montydb store.

Real screening of the bundled snapshot, a real (small) GB + LightGBM study, real CHGNet MD
(a few steps) for one candidate at two temperatures, real builders. Then an interrupted
run resumes without duplicated documents and without redoing finished MD segments.
"""

from __future__ import annotations

import pytest
from jobflow import run_locally

from superionic.flows.discovery import DiscoveryFlowMaker, project_stores
from superionic.md.engines import progress
from superionic.recipes import Recipe

CANDIDATE = "mp-13725"  # Li3PO4: on the hull, V_ox computed offline, structure bundled

pytestmark = pytest.mark.slow


def tiny_recipe(temperatures: tuple[float, ...] = (1000, 1200)) -> Recipe:
    return Recipe.model_validate({
        "name": "tiny",
        "classifier": {"algorithms": ["gb", "lgbm"], "n_splits": 2, "n_iter": 0},
        "structure": {"enabled": False},  # minutes of CPU on 440 survivors; tested in test_structure_stage.py
        "candidates": {"top_n": 1, "material_ids": [CANDIDATE]},
        "md": {"engine": "forcefield", "preset": "quick", "temperatures": list(temperatures),
               "equilibration_steps": 5, "production_steps": 10},
    })


def counts(stores) -> dict[str, int]:
    return {name: stores.named[name].count() for name in
            ("materials", "screening", "predictions", "diffusion", "conductivity", "funnel")}


class _Interrupt(KeyboardInterrupt):
    """Ctrl-C in the middle of the MD stage."""


def test_discovery_flow_runs_locally_then_resumes_after_interrupt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # atomate2 jobs write files into the working directory
    spec = f"monty://{tmp_path / 'store'}"
    stores = project_stores(spec)
    maker = DiscoveryFlowMaker(recipe=tiny_recipe())

    # run 1: stopped during the 1200 K production (after the 1000 K temperature finished)
    def interrupt(event):
        if event.kind == "advance" and "1200 K production" in event.label:
            raise _Interrupt

    progress.add_listener(interrupt)
    try:
        with pytest.raises(_Interrupt):
            run_locally(maker.make(spec), store=stores.job_store(), log=False)
    finally:
        progress.remove_listener(interrupt)
    assert stores.conductivity.count() == 0  # the summary never ran
    stored = [d["output"] for d in stores.jobs.query({"output.segment_key": {"$exists": True}})]
    assert {(s["temperature"], s["stage"]) for s in stored} == {
        (1000, "equilibration"), (1200, "equilibration"), (1000, "production")}
    finished = {s["segment_key"] for s in stored}
    before = counts(stores)
    assert before["materials"] == 560 and before["predictions"] > 0

    # run 2: a new flow on the same store finishes the work
    flow = maker.make(spec)
    run_locally(flow, store=stores.job_store(), log=False, ensure_success=True)
    after = counts(stores)
    assert after == {**before, "diffusion": 2, "conductivity": 1}  # nothing duplicated
    summary = stores.job_store().get_output(flow.jobs[-1].uuid, which="last", load=True)
    assert summary["md_candidates"] == [CANDIDATE]
    conductivity = stores.conductivity.query_one({"material_id": CANDIDATE})
    assert "quick" in conductivity["preset"]
    from superionic.md.analysis.bounds import VERDICTS

    assert conductivity["verdict"] in VERDICTS
    # "insufficient data" only when no temperature gave a D or a bound on D
    said = [d for d in stores.diffusion.query({"material_id": CANDIDATE}) if d["d_status"] != "none"]
    assert conductivity["verdict"].startswith("insufficient data") == (not said)
    assert sorted(d["temperature"] for d in stores.diffusion.query({"material_id": CANDIDATE})) == [1000, 1200]
    # finished MD segments were taken over, not recomputed
    segments = [d["output"] for d in stores.jobs.query({"output.segment_key": {"$in": sorted(finished)}})]
    reused = [s for s in segments if s.get("reused_from")]
    assert reused and all(s["steps_run"] == 0 for s in reused)
    # the surrogate trained in run 1 was reused
    classify = stores.job_store().get_output(flow.jobs[1].uuid, load=True)
    assert classify["reused_model"] is True
