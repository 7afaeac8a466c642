"""No credential leaves the machine that holds it.

A submission with a password in the store URI, then every document the queue keeps is read:
the FireWorks LaunchPad (FireWorks' own mongomock mode) and the documents jobflow-remote's
``JobController.add_flow`` stores (one per job, ``job.as_dict()`` with its worker, exec_config
and resources, and one per flow; built here when jobflow-remote is not installed). The project
store is a MongoDB URI served by mongomock, so the jobs run for real and resolve the redacted
reference they get where the credential is held.
"""

from __future__ import annotations

import json

import pytest
from monty.json import jsanitize
from typer.testing import CliRunner

from superionic.cli import app
from superionic.engines import EngineError
from superionic.engines import store_ref
from superionic.engines.store_ref import resolve_reference, store_reference
from test_discovery_flow import CANDIDATE
from test_engines import CONFIG, fireworks_on_mongomock  # noqa: F401 - a fixture

PASSWORD = "s3cret-Pa55"
SPEC = f"mongodb://alice:{PASSWORD}@db.example.org:27017/superionic"
REDACTED = "mongodb://alice:***@db.example.org:27017/superionic"

runner = CliRunner()


@pytest.fixture
def mongodb_on_mongomock(monkeypatch):
    """Every MongoDB client (pymongo's, maggma's stores) talks to one in-process mongomock server
    (mongomock-ng, maggma's own dependency, which knows today's pymongo bulk writes)."""
    import gridfs.synchronous.grid_file as grid_file
    import maggma.stores.gridfs
    import maggma.stores.mongolike
    import mongomock_ng
    import pymongo

    for name in ("Database", "Collection"):  # gridfs checks isinstance: accept mongomock-ng's too
        accepted = getattr(grid_file, name)
        accepted = accepted if isinstance(accepted, tuple) else (accepted,)
        monkeypatch.setattr(grid_file, name, (*accepted, getattr(mongomock_ng, name)))
    server = mongomock_ng.MongoClient()

    class Client(mongomock_ng.MongoClient):
        """A client of ``server``; closing it keeps the data (mongomock-ng's would clear it)."""

        def __init__(self, *args, **kwargs):
            super().__init__(_store=server._store)

        def close(self) -> None:
            pass

    for module in (pymongo, maggma.stores.mongolike, maggma.stores.gridfs):
        monkeypatch.setattr(module, "MongoClient", Client)
    monkeypatch.setattr(store_ref, "_HELD", {})
    store_ref.project_stores.cache_clear()
    yield server
    store_ref.project_stores.cache_clear()


@pytest.fixture
def launchpad_server(fireworks_on_mongomock, monkeypatch):  # noqa: F811
    """FireWorks on mongomock, every LaunchPad of the test on one in-process server (returned)."""
    import fireworks.core.launchpad as fw_launchpad
    import mongomock

    server = mongomock.MongoClient()
    with monkeypatch.context() as m:  # undone before fireworks_on_mongomock restores FireWorks
        m.setattr(fw_launchpad, "MongoClient", lambda *args, **kwargs: mongomock.MongoClient(_store=server._store))
        yield server


def _every_document(*databases) -> str:
    """Every document of every collection of ``databases``, as JSON text."""
    docs = [doc for db in databases for coll in db.list_collection_names() for doc in db[coll].find({})]
    assert docs
    return json.dumps(docs, default=str)


def _submit(*args: str) -> dict:
    result = runner.invoke(app, ["submit", "--store", SPEC, *args, "--json"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    return json.loads(result.stdout)


def _databases(client) -> list:
    return [client[name] for name in client.list_database_names()]


def test_fireworks_launchpad_and_job_outputs_never_hold_the_password(
        launchpad_server, mongodb_on_mongomock, tmp_path):
    launchpad = ["-e", "fireworks", "--launchpad", str(CONFIG / "my_launchpad.yaml")]
    check = _submit(*launchpad, "--what", "check", "--launch", "--launch-dir", str(tmp_path / "l"))
    assert set(check["states"].values()) == {"COMPLETED"}  # the worker (here) resolved the reference
    assert "JOB_STORE must be mongodb://alice:***@" in check["next_step"] or "ran here" in check["next_step"]
    _submit(*launchpad, "--recipe", "quick")  # the discovery flow, queued
    _submit(*launchpad, "--what", "md", CANDIDATE, "--recipe", "seed")  # VASP MD flows and their summary

    launchpad_db = _every_document(*_databases(launchpad_server))  # every document of the LaunchPad
    assert launchpad_db.count('"fw_id"') > 10 and REDACTED in launchpad_db  # the jobs name the store, redacted
    assert PASSWORD not in launchpad_db
    outputs = _every_document(*_databases(mongodb_on_mongomock))  # the project store, JobStore outputs included
    assert f'"store": "{REDACTED}"' in outputs and PASSWORD not in outputs


def _jobflow_remote_documents(flow) -> list[dict]:
    """What jobflow-remote's ``JobController.add_flow`` stores for ``flow``: job and flow documents."""
    jobs = [{"job": job.as_dict(), "uuid": job.uuid, "index": job.index, "parents": parents,
             **{k: job.config.manager_config.get(k) for k in ("worker", "exec_config", "resources")}}
            for job, parents in flow.iterflow()]
    flow_doc = {"uuid": flow.uuid, "name": flow.name, "jobs": [j["uuid"] for j in jobs],
                "metadata": getattr(flow, "metadata", {})}
    return jsanitize([*jobs, flow_doc], strict=False, enum_values=True, allow_bson=True)


def test_jobflow_remote_queue_never_holds_the_password_and_the_worker_resolves_it(mongodb_on_mongomock):
    from jobflow import Flow

    from superionic.cli.submit import discovery_flow
    from superionic.engines.check_flow import make_check_flow
    from superionic.engines.cluster_settings import WorkerInfo, apply_cluster_settings, flow_metadata
    from superionic.flows.discovery import md_step
    from superionic.recipes import load_recipe
    from superionic.settings import ClusterSettings
    from superionic.stores import open_stores

    recipe = load_recipe("seed")
    workers = {"cluster": WorkerInfo("slurm", {"partition": "standard"})}
    flows = [discovery_flow(SPEC, recipe), make_check_flow(SPEC)]
    for flow in flows:
        apply_cluster_settings(flow, "jobflow-remote", flow_metadata("discovery", recipe), ClusterSettings(),
                               workers, "cluster")
    # the MD stage made alone reads the materials on the worker: with no spec held there
    # (another machine), the reference resolves through the JobStore the job runs under
    stage = md_step(store_reference(SPEC), recipe.model_dump(mode="json"), {"ranked": [
        {"material_id": CANDIDATE, "seed_verdict": True, "prob_mean": 0.9, "rank": 1, "in_domain": True}]})
    store_ref._HELD.clear()
    response = stage.run(store=open_stores(SPEC).job_store())
    flows += [Flow([stage]), response.replace]
    queue = json.dumps([_jobflow_remote_documents(flow) for flow in flows])
    assert REDACTED in queue and PASSWORD not in queue
    assert len(response.replace.jobs) > 1  # the MD flows of the candidate and the summary were made


def test_a_reference_resolves_only_where_the_credential_is_held(monkeypatch, mongodb_on_mongomock):
    from superionic.settings import get_settings

    assert store_reference("monty:///data/store") == "monty:///data/store"  # nothing to hide: unchanged
    with pytest.raises(EngineError) as err:  # a worker holding nothing
        resolve_reference(REDACTED)
    assert "SUPERIONIC_STORE" in str(err.value) and PASSWORD not in str(err.value)
    monkeypatch.setenv("SUPERIONIC_STORE", SPEC.replace("db.example.org", "other.example.org"))
    get_settings.cache_clear()
    with pytest.raises(EngineError):  # another server's credential is not used
        resolve_reference(REDACTED)
    monkeypatch.setenv("SUPERIONIC_STORE", SPEC.replace(":27017", ""))  # the same server, written otherwise
    get_settings.cache_clear()
    assert resolve_reference(REDACTED) == SPEC.replace(":27017", "")
