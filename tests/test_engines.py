"""Engines: local, FireWorks for real (its own mongomock mode, no server), jobflow-remote
(against MongoDB when SUPERIONIC_TEST_MONGODB_URI is set), config examples, bad configuration."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from superionic.cli import app
from superionic.engines import ENGINES, EngineError, UnknownEngineError, get_engine
from superionic.engines.check_flow import make_check_flow
from superionic.stores import open_stores
from test_cluster_submit import fireworks_on_mongomock  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config"
HAS_JOBFLOW_REMOTE = importlib.util.find_spec("jobflow_remote") is not None
UNREACHABLE = "mongodb://127.0.0.1:9/superionic"  # nothing listens on the discard port

runner = CliRunner()


def _outputs_by_name(spec: str) -> dict:
    """Job outputs read back from a freshly opened JobStore of ``spec``."""
    stores = open_stores(spec)
    try:
        return {d["name"]: d["output"] for d in stores.job_store().query({}, properties=["name", "output"])}
    finally:
        stores.close()


@pytest.fixture
def fireworks_on_pymongo(monkeypatch):
    """FireWorks talking to real MongoDB servers (whatever an earlier test switched)."""
    import fireworks.core.launchpad as fw_launchpad
    import pymongo

    monkeypatch.delenv("MONGOMOCK_SERVERSTORE_FILE", raising=False)
    monkeypatch.setattr(fw_launchpad, "MongoClient", pymongo.MongoClient)


# --- local ---------------------------------------------------------------------------------


def test_local_engine_runs_a_flow_into_the_monty_job_store(tmp_path):
    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    sub = get_engine("local").submit(make_check_flow(spec, limit=5), stores)
    assert sub.engine == "local" and sub.n_jobs == 2
    assert set(sub.states.values()) == {"COMPLETED"}
    stores.close()
    outputs = _outputs_by_name(spec)
    sample, reached = outputs["engine check: screen sample"], outputs["engine check: reach stores"]
    assert sample["n_screened"] == 5
    assert reached["n_screened"] == 5 and reached["store"] == spec  # passed by reference


# --- FireWorks, for real on mongomock ------------------------------------------------------


def test_fireworks_converts_adds_and_rapidfires_a_flow(fireworks_on_mongomock, tmp_path):  # noqa: F811
    from superionic.engines.fireworks import (
        fw_states,
        initialise_launchpad,
        load_launchpad,
        run_rapidfire,
        to_workflow,
    )

    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    lp = load_launchpad(CONFIG / "my_launchpad.yaml")  # the example file loads
    assert initialise_launchpad(lp) is True and initialise_launchpad(lp) is False
    mapping = lp.add_wf(to_workflow(make_check_flow(spec, limit=5), stores))
    fw_ids = sorted(mapping.values())
    assert sorted(fw_states(lp, fw_ids).values()) == ["READY", "WAITING"]
    here = Path.cwd()
    run_rapidfire(lp, launch_dir=tmp_path / "launches")
    assert Path.cwd() == here
    assert set(fw_states(lp, fw_ids).values()) == {"COMPLETED"}
    assert len(list((tmp_path / "launches").glob("launcher_*"))) == 2
    stores.close()
    outputs = _outputs_by_name(spec)
    assert outputs["engine check: reach stores"]["n_screened"] == 5
    assert outputs["engine check: reach stores"]["store"] == spec


def test_cli_submit_fireworks_launch_runs_the_check_flow(fireworks_on_mongomock, tmp_path):  # noqa: F811
    spec = f"monty://{tmp_path / 'store'}"
    args = ["submit", "--engine", "fireworks", "--what", "check", "--store", spec,
            "--launchpad", str(CONFIG / "my_launchpad.yaml"), "--launch", "--launch-dir", str(tmp_path / "l"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    sub = json.loads(result.stdout)
    assert sub["engine"] == "fireworks" and len(sub["ids"]) == 2
    assert set(sub["states"].values()) == {"COMPLETED"}
    assert _outputs_by_name(spec)["engine check: reach stores"]["n_materials_in_store"] == 0


def test_cli_submit_discovery_flow_to_fireworks(fireworks_on_mongomock, tmp_path):  # noqa: F811
    """The lead's discovery flow converts and queues (not run: that is `superionic run`)."""
    spec = f"monty://{tmp_path / 'store'}"
    args = ["submit", "-e", "fireworks", "--store", spec, "--recipe", "quick", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--workers-on-this-machine" in result.stderr  # a folder here
    result = runner.invoke(app, [*args, "--workers-on-this-machine"])
    assert result.exit_code == 0, result.output
    sub = json.loads(result.stdout)
    assert sub["n_jobs"] == len(sub["ids"]) >= 3
    assert sorted(set(sub["states"].values())) == ["READY", "WAITING"]
    assert "rlaunch" in sub["next_step"]


def test_fireworks_refuses_an_in_memory_store(memory_stores):
    with pytest.raises(EngineError, match="in-memory store"):
        get_engine("fireworks").submit(make_check_flow("memory://test"), memory_stores)


# --- jobflow-remote ------------------------------------------------------------------------


@pytest.mark.skipif(HAS_JOBFLOW_REMOTE, reason="jobflow-remote is installed")
def test_jobflow_remote_missing_says_how_to_install(tmp_path):
    spec = f"monty://{tmp_path / 'store'}"
    with pytest.raises(EngineError, match=r"pip install 'superionic\[remote\]'"):
        get_engine("jobflow-remote").submit(make_check_flow(spec), open_stores(spec))
    result = runner.invoke(app, ["submit", "--engine", "jobflow-remote", "--what", "check", "--store", spec])
    assert result.exit_code == 2
    assert "pip install 'superionic[remote]'" in result.stderr  # markup escaped, not eaten


@pytest.mark.timeout(60)
def test_jobflow_remote_project_with_unreachable_mongodb_fails_fast():
    from superionic.engines.jobflow_remote import check_project_mongodb, project_mongo_uris

    project = yaml.safe_load((CONFIG / "jobflow_remote_project.yaml").read_text())
    assert project_mongo_uris(project) == {
        "queue": ["mongodb://localhost:27017/superionic_queue"],
        "jobstore": ["mongodb://localhost:27017/superionic"],
    }
    project["queue"]["store"].update(host="127.0.0.1", port=9)
    with pytest.raises(EngineError) as err:
        check_project_mongodb(project)
    assert "mongodb://127.0.0.1:9/superionic_queue" in str(err.value) and "docker compose" in str(err.value)
    project["queue"]["store"] = {"type": "MemoryStore", "collection_name": "jobs"}
    with pytest.raises(EngineError, match="no MongoDB queue store"):
        check_project_mongodb(project)


@pytest.mark.mongodb
@pytest.mark.skipif(not HAS_JOBFLOW_REMOTE, reason="needs jobflow-remote (pip install 'superionic[remote]')")
def test_jobflow_remote_submits_to_mongodb(mongodb_uri, tmp_path, monkeypatch):
    from urllib.parse import urlsplit, urlunsplit

    import jobflow_remote
    from pymongo import MongoClient

    from superionic.engines.jobflow_remote import load_project

    def with_database(name: str) -> str:
        parts = urlsplit(mongodb_uri)
        return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))

    tag = uuid.uuid4().hex[:8]
    queue_db, out_db = f"superionic_test_queue_{tag}", f"superionic_test_{tag}"
    project = yaml.safe_load((CONFIG / "jobflow_remote_project.yaml").read_text())
    project.update(name=f"superionic-test-{tag}", base_dir=str(tmp_path / "jfr"))
    project["workers"]["local"]["work_dir"] = str(tmp_path / "work")
    project["queue"]["store"] = {"type": "MongoURIStore", "uri": with_database(queue_db), "database": queue_db, "collection_name": "jobs"}
    data = {"type": "MongoURIStore", "uri": with_database(out_db), "database": out_db}
    project["jobstore"] = {"docs_store": {**data, "collection_name": "jobs"},
                           "additional_stores": {"data": {**data, "collection_name": "data", "key": "blob_uuid"}}}
    folder = tmp_path / "projects"
    folder.mkdir()
    (folder / "test.yaml").write_text(yaml.safe_dump(project))
    monkeypatch.setattr(jobflow_remote.SETTINGS, "projects_folder", str(folder))
    spec = with_database(out_db)
    try:
        sub = get_engine("jobflow-remote").submit(make_check_flow(spec), open_stores(spec), project=project["name"], worker="local")
        assert len(sub.ids) == 2 and "initialised" in sub.next_step
        controller = load_project(project["name"]).get_job_controller()
        assert controller.count_jobs() == 2
        controller.close()
    finally:
        client = MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
        client.drop_database(queue_db)
        client.drop_database(out_db)
        client.close()


# --- bad configuration ---------------------------------------------------------------------


def test_unknown_engine_lists_the_valid_ones():
    with pytest.raises(UnknownEngineError) as err:
        get_engine("slurm")
    assert all(name in str(err.value) for name in ENGINES)
    assert get_engine("jobflow_remote").name == "jobflow-remote"
    result = runner.invoke(app, ["submit", "--engine", "slurm"])
    assert result.exit_code == 2
    assert "Unknown engine 'slurm'" in result.stderr and "fireworks" in result.stderr


@pytest.mark.timeout(60)
def test_unreachable_mongodb_store_fails_fast_with_uri_and_hint():
    result = runner.invoke(app, ["submit", "--engine", "fireworks", "--what", "check", "--store", UNREACHABLE])
    assert result.exit_code == 2
    assert UNREACHABLE in result.stderr and "docker compose" in result.stderr


@pytest.mark.timeout(60)
def test_unreachable_launchpad_fails_fast_with_uri_and_hint(fireworks_on_pymongo, tmp_path):
    launchpad = tmp_path / "lp.yaml"
    launchpad.write_text(yaml.safe_dump({"host": "127.0.0.1", "port": 9, "name": "fw"}))
    spec = f"monty://{tmp_path / 'store'}"
    result = runner.invoke(app, ["submit", "-e", "fireworks", "--what", "check", "--store", spec, "--launchpad", str(launchpad),
                                 "--workers-on-this-machine"])
    assert result.exit_code == 2
    assert "mongodb://127.0.0.1:9/fw" in result.stderr and "MONGOMOCK_SERVERSTORE_FILE" in result.stderr


def test_store_spec_file_that_does_not_parse(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [monty://x\n")
    result = runner.invoke(app, ["submit", "--what", "check", "--store", str(bad)])
    assert result.exit_code == 2
    assert "is not valid YAML" in result.stderr and "bad.yaml" in result.stderr
    bad.write_text("spec: 42\n")
    result = runner.invoke(app, ["submit", "--what", "check", "--store", str(bad)])
    assert result.exit_code == 2 and "must be a mapping" in result.stderr


def test_launchpad_file_errors(tmp_path):
    from superionic.engines.fireworks import read_launchpad_file

    with pytest.raises(EngineError, match="not found"):
        read_launchpad_file(tmp_path / "absent.yaml")
    (tmp_path / "lp.yaml").write_text("host: [localhost\n")
    with pytest.raises(EngineError, match="does not parse"):
        read_launchpad_file(tmp_path / "lp.yaml")
    (tmp_path / "lp.yaml").write_text("port: 27017\n")
    with pytest.raises(EngineError, match="'host'"):
        read_launchpad_file(tmp_path / "lp.yaml")


def test_cli_option_mistakes_are_named(tmp_path):
    spec = f"monty://{tmp_path / 'store'}"
    cases = {
        ("--launchpad", "x.yaml"): "only for --engine fireworks",
        ("-e", "fireworks", "--project", "p"): "only for --engine jobflow-remote",
        ("--what", "md"): "--what md needs material ids",
        ("--what", "nope"): "Unknown --what 'nope'",
        ("--what", "check", "mp-1"): "only read with --what md",
    }
    for args, message in cases.items():
        result = runner.invoke(app, ["submit", "--store", spec, *args])
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)


def test_relative_monty_spec_becomes_absolute_and_passwords_are_redacted(tmp_path, monkeypatch):
    from superionic.cli.submit import absolute_spec
    from superionic.engines.base import redact_uri, store_mongo_uris

    monkeypatch.chdir(tmp_path)
    assert absolute_spec("monty://store") == f"monty://{tmp_path.resolve() / 'store'}"
    assert absolute_spec("mongodb://h/db") == "mongodb://h/db"
    assert redact_uri("mongodb://me:secret@h:1/db") == "mongodb://me:***@h:1/db"
    uris = store_mongo_uris({"type": "MongoStore", "host": "h", "port": 1, "database": "d", "username": "u", "password": "p w"})
    assert uris == ["mongodb://u:p+w@h:1/d"]


# --- config examples -----------------------------------------------------------------------


def test_config_examples_parse_and_load(fireworks_on_pymongo):
    from fireworks import FWorker, LaunchPad
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter
    from jobflow import JobStore

    for path in [*CONFIG.glob("*.yaml"), REPO / "docker" / "compose.yaml"]:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
    lp = LaunchPad.from_file(str(CONFIG / "my_launchpad.yaml"))  # no connection is made
    assert (lp.host, lp.port, lp.name) == ("localhost", 27017, "superionic_fireworks")
    lp.connection.close()
    assert FWorker.from_file(str(CONFIG / "my_fworker.yaml")).name == "superionic-worker"
    adapter = CommonAdapter.from_file(str(CONFIG / "my_qadapter.yaml"))
    assert "#SBATCH --nodes=1" in adapter.get_script_str(".")
    # jobflow.yaml: the same database and collections as --store mongodb://localhost:27017/superionic
    job_store = JobStore.from_dict_spec(yaml.safe_load((CONFIG / "jobflow.yaml").read_text())["JOB_STORE"])
    ours = open_stores("mongodb://localhost:27017/superionic", connect=False)
    assert (job_store.docs_store.database, job_store.docs_store.collection_name) == ("superionic", ours.jobs.collection_name)
    data = job_store.additional_stores["data"]
    assert (data.collection_name, data.key) == (ours.data.collection_name, ours.data.key)


def test_jobflow_remote_project_example():
    project = yaml.safe_load((CONFIG / "jobflow_remote_project.yaml").read_text())
    workers = project["workers"]
    assert workers["local"]["type"] == "local" and workers["cluster"]["scheduler_type"] == "slurm"
    assert project["queue"]["store"]["type"] == "MongoStore"
    if HAS_JOBFLOW_REMOTE:
        from jobflow_remote.config.base import Project

        validated = Project.model_validate(project)
        assert set(validated.workers) == {"local", "cluster"}
        assert validated.get_jobstore().additional_stores["data"].collection_name == "data"


def test_compose_file_starts_mongodb_and_runners():
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    mongo = services["mongodb"]
    assert mongo["image"].startswith("mongo:") and "healthcheck" in mongo
    volume = mongo["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # a named volume, not a bind mount
    commands = {name: " ".join(s["command"]) for name, s in services.items() if name != "mongodb"}
    assert "jf -p superionic runner" in commands["jobflow-remote-runner"]
    assert "rlaunch" in commands["fireworks-runner"] and "rapidfire" in commands["fireworks-runner"]
    for name in commands:
        assert services[name]["depends_on"]["mongodb"]["condition"] == "service_healthy"
