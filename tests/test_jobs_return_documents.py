"""Jobs return documents, builders write collections: the discovery flow through FireWorks.

Real parts only: the real discovery flow (tiny recipe: 2 splits, one candidate, CHGNet MD at
one temperature for a few steps), FireWorks on its own mongomock mode, montydb stores, the real
builders and ``superionic query``. No job may open a project store while the rockets run (the
opener raises), the project collections stay empty until the builders run, and then
``superionic query`` shows the same table as the embedded ``run_locally`` path.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from superionic.cli import app
from superionic.stores import COLLECTIONS, open_stores
from test_cluster_submit import fireworks_on_mongomock  # noqa: F401 - a fixture
from test_discovery_flow import CANDIDATE, tiny_recipe

runner = CliRunner()

pytestmark = pytest.mark.slow


def _query(spec: str) -> list[dict]:
    result = runner.invoke(app, ["query", "--store", spec, "--format", "json", "--all"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _documents(spec: str, name: str) -> list[dict]:
    """A collection's documents, ``_id`` and ``last_updated`` aside, in key order."""
    stores = open_stores(spec)
    try:
        docs = [{k: v for k, v in d.items() if k not in ("_id", "last_updated")} for d in stores.named[name].query()]
    finally:
        stores.close()
    return sorted(docs, key=lambda d: json.dumps(d, sort_keys=True, default=str))


def test_discovery_flow_on_fireworks_writes_no_collection_then_builders_match_the_embedded_run(
        fireworks_on_mongomock, tmp_path, monkeypatch):  # noqa: F811
    import superionic.stores
    from superionic.builders import run_builders
    from superionic.engines.fireworks import fw_states, initialise_launchpad, load_launchpad, run_rapidfire, to_workflow
    from superionic.engines.local import run_local
    from superionic.flows.discovery import DiscoveryFlowMaker
    from superionic.ml.model_store import load_surrogate

    monkeypatch.chdir(tmp_path)
    recipe = tiny_recipe(temperatures=(1000,))
    maker = DiscoveryFlowMaker(recipe=recipe)

    # FireWorks: the flow made without a store, run by rockets on the JobStore alone
    spec = f"monty://{tmp_path / 'fw-store'}"
    stores = open_stores(spec)
    lp = load_launchpad()
    initialise_launchpad(lp)
    lp.add_wf(to_workflow(maker.make(), stores))

    def no_project_stores(*args, **kwargs):
        raise AssertionError("a job opened the project stores")

    with monkeypatch.context() as m:
        m.setattr(superionic.stores, "open_stores", no_project_stores)
        run_rapidfire(lp, launch_dir=tmp_path / "launches")
    states = fw_states(lp, [fw["fw_id"] for fw in lp.fireworks.find({}, {"fw_id": 1})])
    assert set(states.values()) == {"COMPLETED"} and len(states) > 10  # the MD stage made its jobs
    assert {name: stores.named[name].count() for name in COLLECTIONS} == dict.fromkeys(COLLECTIONS, 0)
    assert stores.jobs.count() == len(states) and stores.data.count() > 0
    # the jobs' outputs hold the documents; the surrogate's binary is in the data store
    classified = stores.jobs.query_one({"output.output_kind": "classification"}, properties=["output"])["output"]
    assert classified["surrogate_binary"]["store"] == "data" and not classified["reused_model"]

    built = run_builders(stores, options=recipe.build_options())  # as the flow's build jobs do
    assert built["documents"] > 0 and built["diffusion"] == 1 and built["conductivity"] == 1
    assert run_builders(stores, options=recipe.build_options()) == dict.fromkeys(built, 0)  # incremental: nothing new
    counts = {name: stores.named[name].count() for name in COLLECTIONS}
    assert counts["materials"] == counts["screening"] == 560 and counts["funnel"] == 1
    assert counts["features"] == 560 and counts["predictions"] > 0  # the features builder: every material
    model = stores.models.query_one({"blob_uuid": {"$ne": None}, "study_id": {"$exists": False}})
    assert model["blob_uuid"] == classified["surrogate_binary"]["blob_uuid"]
    assert load_surrogate(stores).doc.model_id == classified["model_id"] == model["model_id"]
    stores.close()

    # the embedded default: run_locally with the flow's own build jobs, on another store
    local_spec = f"monty://{tmp_path / 'local-store'}"
    local = open_stores(local_spec)
    submission = run_local(maker.make(local_spec), local, ensure_success=True, root_dir=tmp_path / "runs")
    assert not submission.failures
    local_counts = {name: local.named[name].count() for name in COLLECTIONS}
    assert local_counts == counts  # the same builders on both paths: the same documents
    local.close()

    for name in ("features", "predictions"):  # one writer each, the same on both paths
        assert _documents(spec, name) == _documents(local_spec, name), name

    fw_rows, local_rows = _query(spec), _query(local_spec)
    assert len(fw_rows) == 560 and any(r["material_id"] == CANDIDATE and r["md_verdict"] for r in fw_rows)
    assert fw_rows == local_rows
    # the table says why the MD candidate was chosen (the MD stage's summary in the JobStore)
    [why] = [r["md_chosen_because"] for r in fw_rows if r["material_id"] == CANDIDATE]
    assert why.startswith("requested in the recipe") and "rank" in why
    assert all(r["md_chosen_because"] is None for r in fw_rows if r["material_id"] != CANDIDATE)
    fw_funnel = open_stores(spec).funnel.query_one({}, properties=["funnel_id", "steps"])
    local_funnel = open_stores(local_spec).funnel.query_one({}, properties=["funnel_id", "steps"])
    fw_funnel.pop("_id"), local_funnel.pop("_id")
    assert fw_funnel == local_funnel


def test_documents_builder_takes_the_newest_output_of_each_funnel_and_model():
    from datetime import datetime, timezone

    from superionic.builders.documents import newest_outputs

    def row(uuid, done, kind, key, made=None):
        out = {"output_kind": kind, ("funnel_id" if kind == "screening" else "model_id"): key}
        if made:
            out["funnel"] = {"last_updated": made}
        return {"uuid": uuid, "index": 1, "completed_at": done, "output": out}

    t1, t2 = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
    rows = [row("a", "2026-01-01T00:00:01", "screening", "snapshot", t1),
            row("b", "2026-01-02T00:00:01", "screening", "snapshot", t2),
            row("c", "2026-01-01T00:00:02", "classification", "m1"),
            row("d", "2026-01-02T00:00:02", "classification", "m1"),
            row("e", "2026-01-01T00:00:03", "classification", "m2")]
    assert [r["uuid"] for r in newest_outputs(rows, {})] == ["d", "e", "b"]
    # the funnel written from "b" (or a newer one) is stored: that screening is passed over
    assert [r["uuid"] for r in newest_outputs(rows, {"screening": {"snapshot": t2}})] == ["d", "e"]
    assert [r["uuid"] for r in newest_outputs(rows, {"screening": {"snapshot": t1}})] == ["d", "e", "b"]
