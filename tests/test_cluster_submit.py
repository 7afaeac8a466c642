"""The cluster submit path: which store, refusals, per job kind settings on real flows, config files.

Real parts only: the real discovery flow and its MD stage (run for real to make its jobs at run
time), montydb stores, FireWorks on mongomock, jobflow settings read in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jobflow import Flow
from pymatgen.core import Lattice, Structure
from typer.testing import CliRunner

from superionic.cli import app
from superionic.engines import EngineError
from superionic.engines.cluster_settings import WorkerInfo, apply_cluster_settings, flow_metadata, job_kind
from superionic.engines.store_source import (
    check_same_job_store,
    job_store_locations,
    spec_for_job_store,
    spec_job_store_locations,
)
from superionic.recipes import load_recipe
from superionic.settings import ClusterSettings, get_settings
from superionic.stores import open_stores

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config"
HAS_JOBFLOW_REMOTE = importlib.util.find_spec("jobflow_remote") is not None
PROJECT_STORE = "mongodb://localhost:27017/superionic"  # the database of the config/ examples
CLUSTER = {"cluster": WorkerInfo("slurm", {"partition": "standard", "account": "myproject", "ntasks_per_node": 32}),
           "local": WorkerInfo("shell", {})}

runner = CliRunner()


def _project() -> dict:
    return yaml.safe_load((CONFIG / "jobflow_remote_project.yaml").read_text())


# --- refusals ------------------------------------------------------------------------------


def test_cluster_engines_refuse_stores_workers_cannot_reach(tmp_path):
    from superionic.engines.base import require_shared_store

    spec = f"monty://{tmp_path / 'store'}"
    for engine in ("fireworks", "jobflow-remote"):  # the check both engines make
        with pytest.raises(EngineError, match=f"The {engine} engine runs jobs on workers"):
            require_shared_store(spec, engine)
        require_shared_store(spec, engine, workers_on_this_machine=True)
        with pytest.raises(EngineError, match="in-memory"):
            require_shared_store("memory://x", engine, workers_on_this_machine=True)
        require_shared_store("mongodb://db.example.org/superionic", engine)
    engine = "fireworks"  # through the CLI (jobflow-remote's would first ask to install it here)
    result = runner.invoke(app, ["submit", "-e", engine, "--what", "check", "--store", spec])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "is a folder on this machine" in message
    assert "--store mongodb://HOST:27017/superionic" in message and "--workers-on-this-machine" in message
    assert not (tmp_path / "store").exists()  # refused before anything was opened
    result = runner.invoke(app, ["submit", "-e", engine, "--what", "check", "--store", "memory://x",
                                 "--workers-on-this-machine"])
    assert result.exit_code == 2
    assert "cannot see the in-memory store" in result.stderr and "mongodb://" in result.stderr


def test_workers_on_this_machine_is_not_for_the_local_engine(tmp_path):
    result = runner.invoke(app, ["submit", "--what", "check", "--store", f"monty://{tmp_path}",
                                 "--workers-on-this-machine"])
    assert result.exit_code == 2 and "only for --engine fireworks or jobflow-remote" in result.stderr


def test_project_jobstore_must_be_the_store_the_builders_read():
    project = _project()
    check_same_job_store(PROJECT_STORE, project["jobstore"], "the example project")  # agrees
    assert spec_for_job_store(project["jobstore"]) == PROJECT_STORE
    with pytest.raises(EngineError) as err:  # another database
        check_same_job_store("mongodb://localhost:27017/other", project["jobstore"], "project 'p'")
    text = str(err.value)
    assert "docs: the store opens mongodb localhost:27017/other.jobs, the JobStore mongodb localhost:27017/superionic.jobs" in text
    assert "collection_name: jobs" in text and "GridFSStore" in text
    project["jobstore"]["additional_stores"]["data"]["type"] = "MongoStore"  # GridFS bucket vs collection
    project["jobstore"]["docs_store"]["collection_name"] = "outputs"
    with pytest.raises(EngineError) as err:
        check_same_job_store(PROJECT_STORE, project["jobstore"], "project 'p'")
    assert "superionic.outputs" in str(err.value)
    assert "data: the store opens gridfs localhost:27017/superionic.data, the JobStore mongodb" in str(err.value)
    # credentials and URI form do not matter, host and port do
    check_same_job_store("mongodb://me:secret@LOCALHOST/superionic?authSource=admin", _project()["jobstore"], "p")
    with pytest.raises(EngineError) as err:
        check_same_job_store("mongodb://me:secret@db.example.org/superionic", _project()["jobstore"], "p")
    assert "db.example.org:27017" in str(err.value) and "secret" not in str(err.value)


def test_cluster_settings_the_project_cannot_honour_are_refused():
    from superionic.engines.jobflow_remote import check_cluster_settings

    workers, execs = {"local": "local", "cluster": "remote"}, ["vasp"]
    settings = ClusterSettings()
    check_cluster_settings("p", workers, execs, settings, ("small", "vasp"), "cluster")
    settings.md.worker = "gpu"
    with pytest.raises(EngineError, match=r"worker 'gpu'.*its workers: local, cluster.*SUPERIONIC_CLUSTER__MD__WORKER"):
        check_cluster_settings("p", workers, execs, settings, ("small", "md"), "cluster")
    check_cluster_settings("p", workers, execs, settings, ("small", "vasp"), "cluster")  # md not in the flow
    with pytest.raises(EngineError, match=r"exec_config 'vasp'.*its exec_config: none"):
        check_cluster_settings("p", workers, [], ClusterSettings(), ("small", "vasp"), "cluster")
    with pytest.raises(EngineError, match=r"--workers-on-this-machine, but worker\(s\) 'cluster'.*remote"):
        check_cluster_settings("p", workers, execs, ClusterSettings(), ("small",), "cluster", True)
    check_cluster_settings("p", workers, execs, ClusterSettings(), ("small",), "local", True)


# --- settings per job kind on the real discovery flow ----------------------------------------


def test_job_kinds_by_name():
    assert job_kind("screening") == job_kind("md stage") == job_kind("summary") == "small"
    assert job_kind("molecular dynamics output") == job_kind("md run 600K") == "small"
    assert job_kind("forcefield md segment 600K production 2/4") == job_kind("force-field relaxation") == "md"
    assert job_kind("vasp md 600K equilibration 1") == "vasp"


def test_settings_reach_every_job_kind_of_the_discovery_flow_also_at_run_time(tmp_path):
    """jobflow-remote entries on the real flow, then the real MD stage run: its new jobs get them too."""
    from superionic.flows.discovery import DiscoveryFlowMaker, md_step

    recipe = load_recipe("seed")  # VASP AIMD
    spec = f"monty://{tmp_path / 'store'}"
    metadata = flow_metadata("discovery", recipe)
    flow = DiscoveryFlowMaker(recipe=recipe).make(spec)
    apply_cluster_settings(flow, "jobflow-remote", metadata, ClusterSettings(), CLUSTER, "cluster")
    small = {"nodes": 1, "ntasks": 1, "ntasks_per_node": 1, "cpus_per_task": 1, "time": "01:00:00",
             "partition": "standard", "account": "myproject"}
    for job in flow.jobs:  # screening, classification, md stage
        assert job.config.manager_config == {"resources": small}, job.name
        assert job.metadata == {**metadata, "job_kind": "small"}
    assert metadata["recipe"] == "seed" and metadata["md_engine"] == "vasp" and metadata["superionic_version"]

    stores = open_stores(spec)
    structure = Structure(Lattice.cubic(4.0), ["Li", "Li", "O"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]])
    stores.materials.update([{"material_id": "mp-test", "structure": structure.as_dict()}], key="material_id")
    ranked = [{"material_id": "mp-test", "seed_verdict": True, "prob_mean": 0.9, "prob_calibrated": None,
               "in_domain": True, "domain_distance": 1.0, "rank": 1}]
    stage = md_step(spec, recipe.model_dump(mode="json"), {"ranked": ranked})
    stage.name = "md stage"
    apply_cluster_settings(Flow([stage]), "jobflow-remote", metadata, ClusterSettings(), CLUSTER, "cluster")
    response = stage.run(store=stores.job_store())
    new_jobs = [job for job, _ in response.replace.iterflow()]
    kinds = {job_kind(job.name) for job in new_jobs}
    assert kinds == {"small", "vasp", "md"}  # md: the fine-tune after the AIMD (md.finetune)
    vasp = {**small, "ntasks_per_node": 32, "time": "24:00:00"}
    del vasp["ntasks"], vasp["cpus_per_task"]
    from superionic.engines.cluster_settings import manager_config

    md = manager_config(ClusterSettings().md, "jobflow-remote", CLUSTER, "cluster")
    for job in new_jobs:
        config = job.config.manager_config
        if job_kind(job.name) == "vasp":
            assert config == {"exec_config": "vasp", "resources": vasp}, job.name
        elif job_kind(job.name) == "md":
            assert config["resources"] == md["resources"] and md["resources"]["cpus_per_task"] == 4, job.name
        else:
            assert config == {"resources": small}, job.name
        assert job.metadata["recipe"] == "seed" and job.metadata["job_kind"] == job_kind(job.name)
    # the material's own jobs say which material (the summary and jobflow's store_inputs do not)
    assert {j.name for j in new_jobs if "material_id" not in j.metadata} == {"summarize_step", "store_inputs"}
    assert {j.metadata.get("material_id") for j in new_jobs} == {"mp-test", None}
    assert sum(job_kind(j.name) == "vasp" for j in new_jobs) >= 4  # one MD job per temperature at least
    stores.close()


def test_forcefield_md_jobs_get_their_own_resources_and_shell_workers_none():
    from superionic.engines.cluster_settings import manager_config

    settings = ClusterSettings()
    assert manager_config(settings.md, "jobflow-remote", CLUSTER, "cluster")["resources"]["cpus_per_task"] == 4
    assert "resources" not in manager_config(settings.md, "jobflow-remote", CLUSTER, "local")
    assert manager_config(settings.vasp, "fireworks") == {"_category": "superionic-vasp"}
    assert manager_config(settings.small, "local") == {}


def test_cluster_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("SUPERIONIC_CLUSTER__VASP__EXEC_CONFIG", "vasp6")
    monkeypatch.setenv("SUPERIONIC_CLUSTER__MD__WORKER", "gpu")
    monkeypatch.setenv("SUPERIONIC_CLUSTER__SMALL__RESOURCES", '{"time": "00:30:00"}')
    get_settings.cache_clear()
    cluster = get_settings().cluster
    assert cluster.vasp.exec_config == "vasp6" and cluster.md.worker == "gpu"
    assert cluster.small.resources == {"time": "00:30:00"}
    assert cluster.vasp.category == "superionic-vasp"  # untouched defaults stay


# --- FireWorks: _category and metadata in every Firework, also those made at run time ------


@pytest.fixture
def fireworks_on_mongomock(tmp_path, monkeypatch):
    """FireWorks' own mongomock mode, its database in a JSON file; switched back afterwards.
    Other test modules use it as ``from test_cluster_submit import fireworks_on_mongomock``."""
    import fireworks.core.launchpad as fw_launchpad  # imported first: the in-process switch
    from fireworks import fw_config

    from superionic.engines.fireworks import enable_mongomock

    saved = (fw_config.MongoClient, fw_launchpad.MongoClient, fw_config.MONGOMOCK_SERVERSTORE_FILE)
    server_file = tmp_path / "fireworks.json"
    monkeypatch.setenv("MONGOMOCK_SERVERSTORE_FILE", str(server_file))  # restored on teardown
    enable_mongomock(server_file)
    assert json.loads(server_file.read_text()) == {}
    yield server_file
    fw_config.MongoClient, fw_launchpad.MongoClient, fw_config.MONGOMOCK_SERVERSTORE_FILE = saved


def md_stage_on_launchpad(tmp_path: Path, recipe):
    """The discovery flow's MD stage for one candidate (Li2O 'mp-test', in a montydb store under
    ``tmp_path``) with ``recipe``'s cluster settings, added to a FireWorks LaunchPad (use with
    ``fireworks_on_mongomock``): (launchpad, stores); close the stores after the rockets ran."""
    from superionic.engines.fireworks import initialise_launchpad, load_launchpad, to_workflow
    from superionic.flows.discovery import md_step

    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    structure = Structure(Lattice.cubic(4.0), ["Li", "Li", "O"], [[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]])
    stores.materials.update([{"material_id": "mp-test", "structure": structure.as_dict()}], key="material_id")
    ranked = [{"material_id": "mp-test", "seed_verdict": True, "prob_mean": 0.9, "rank": 1, "in_domain": True}]
    stage = md_step(spec, recipe.model_dump(mode="json"), {"ranked": ranked})
    stage.name = "md stage"
    flow = Flow([stage], name="md stage only")
    apply_cluster_settings(flow, "fireworks", flow_metadata("discovery", recipe), ClusterSettings())
    lp = load_launchpad(CONFIG / "my_launchpad.yaml")
    initialise_launchpad(lp)
    lp.add_wf(to_workflow(flow, stores))
    return lp, stores


def test_fireworks_categories_and_metadata_also_for_fireworks_made_at_run_time(tmp_path, fireworks_on_mongomock):
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    recipe = load_recipe("seed")
    recipe = recipe.model_copy(update={"md": recipe.md.model_copy(update={"engine": "forcefield"})})
    lp, stores = md_stage_on_launchpad(tmp_path, recipe)
    (first,) = lp.fireworks.find({}, {"spec._category": 1, "spec.recipe": 1, "name": 1})
    assert first["spec"]["_category"] == "superionic-small" and first["spec"]["recipe"] == "seed"
    assert launch_rocket(lp, FWorker(category="superionic-small"))  # runs the MD stage here, for real
    fws = list(lp.fireworks.find({}, {"name": 1, "spec._category": 1, "spec.job_kind": 1, "spec.recipe": 1,
                                         "spec.material_id": 1}))
    made = [fw for fw in fws if fw["name"] != "md stage"]
    assert len(made) > 10  # supercell, relaxation, segments, collection, analysis, fit, summary
    for fw in made:
        kind = job_kind(fw["name"])
        assert fw["spec"]["_category"] == f"superionic-{kind}", fw["name"]
        assert fw["spec"]["job_kind"] == kind and fw["spec"]["recipe"] == "seed"
        if fw["name"] not in ("summarize_step", "store_inputs"):
            assert fw["spec"]["material_id"] == "mp-test", fw["name"]
    assert {job_kind(fw["name"]) for fw in made} == {"small", "md"}
    # an FWorker of another category does not take the small jobs
    assert lp.fireworks.count_documents({"state": "READY", "spec._category": "superionic-md"}) == 0
    stores.close()


# --- the JobStore from jobflow's settings (JOBFLOW_CONFIG_FILE), in a subprocess -------------


def _superionic(args: list[str], jobflow_yaml: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JOBFLOW_CONFIG_FILE": str(jobflow_yaml),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "superionic.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _monty_job_store(folder: Path, docs: str = "jobs") -> dict:
    store = {"type": "MontyStore", "database_path": str(folder), "database_name": "superionic", "storage": "sqlite"}
    return {"JOB_STORE": {"docs_store": {**store, "collection_name": docs, "key": "uuid"},
                          "additional_stores": {"data": {**store, "collection_name": "data", "key": "blob_uuid"}}}}


@pytest.mark.timeout(300)
def test_job_store_comes_from_jobflow_config_file(tmp_path):
    folder = tmp_path / "from-jobflow-yaml"
    jobflow_yaml = tmp_path / "jobflow.yaml"
    jobflow_yaml.write_text(yaml.safe_dump(_monty_job_store(folder)))
    result = _superionic(["submit", "--what", "check", "--json"], jobflow_yaml, tmp_path)
    assert result.returncode == 0, result.stderr
    sub = json.loads(result.stdout)
    assert f"monty://{folder.resolve()}" in sub["where"] and "store from jobflow JOB_STORE" in sub["where"]
    stores = open_stores(f"monty://{folder}")  # the outputs are in the folder jobflow.yaml names
    names = {d["name"] for d in stores.job_store().query({}, properties=["name"])}
    assert names == {"engine check: screen sample", "engine check: reach stores"}
    stores.close()

    # a JOB_STORE whose collections superionic would not read is refused, with the fix
    jobflow_yaml.write_text(yaml.safe_dump(_monty_job_store(folder, docs="outputs")))
    result = _superionic(["submit", "--what", "check"], jobflow_yaml, tmp_path)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2
    assert "superionic.outputs" in message and "collection_name: jobs" in message

    # the MongoDB example: the same store as --store mongodb://localhost:27017/superionic
    code = ("from superionic.engines.store_source import choose_store; c = choose_store(None, 'fireworks'); "
            "print(c.spec); print(c.source)")
    env = {**os.environ, "JOBFLOW_CONFIG_FILE": str(CONFIG / "jobflow.yaml"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    spec, source = out.stdout.splitlines()
    assert spec == PROJECT_STORE and "jobflow JOB_STORE" in source and "jobflow.yaml" in source


def test_explicit_store_wins_over_jobflow_settings(tmp_path, monkeypatch):
    from superionic.engines.store_source import choose_store

    assert choose_store("monty:///x", "fireworks").source == "--store"
    monkeypatch.setenv("SUPERIONIC_STORE", PROJECT_STORE)
    get_settings.cache_clear()
    assert (choose_store(None, "fireworks").spec, choose_store(None, "fireworks").source) == (PROJECT_STORE, "SUPERIONIC_STORE")
    project = _project()
    project["jobstore"]["docs_store"]["database"] = "elsewhere"
    with pytest.raises(EngineError, match="jobflow-remote project 'p'"):
        choose_store(None, "jobflow-remote", project["jobstore"], "p")


# --- indexes -------------------------------------------------------------------------------


def test_indexes_on_key_and_last_updated_where_the_backend_can(tmp_path):
    from maggma.stores import MemoryStore, MontyStore

    from superionic.stores import ProjectStores, _keys, ensure_indexes

    mongo_like = {name: MemoryStore(collection_name=name, key=key) for name, key in _keys().items()}  # mongomock
    for store in mongo_like.values():
        store.connect()
    done = ensure_indexes(ProjectStores(spec="mongomock", **mongo_like))
    assert done["diffusion"] == ["doc_id", "last_updated"] and len(done) == len(_keys())
    indexes = mongo_like["predictions"]._collection.index_information()
    assert {"prediction_id_1", "last_updated_1"} <= set(indexes)
    monty = {name: MontyStore(collection_name=name, database_path=str(tmp_path), key=key) for name, key in _keys().items()}
    for store in monty.values():
        store.connect()
    with pytest.raises(NotImplementedError):
        monty["jobs"].ensure_index("uuid")  # what montydb does...
    assert ensure_indexes(ProjectStores(spec="monty", **monty)) == {}  # ...skipped, not fatal


# --- the configuration files validate against the real schemas -----------------------------


def test_jobflow_yaml_validates_and_is_the_project_store():
    from jobflow import JobStore
    from jobflow.settings import JobflowSettings

    settings = JobflowSettings(CONFIG_FILE=str(CONFIG / "jobflow.yaml"))
    assert isinstance(settings.JOB_STORE, JobStore)
    assert job_store_locations(settings.JOB_STORE) == spec_job_store_locations(PROJECT_STORE)
    assert job_store_locations(_project()["jobstore"]) == spec_job_store_locations(PROJECT_STORE)


def test_fireworks_files_validate():
    from fireworks import FWorker, LaunchPad

    lp = LaunchPad.from_file(str(CONFIG / "my_launchpad.yaml"))
    assert lp.name == "superionic_fireworks" and lp.mongoclient_kwargs["serverSelectionTimeoutMS"] == 5000
    lp.connection.close()
    worker = FWorker.from_file(str(CONFIG / "my_fworker.yaml"))
    assert worker.name == "superionic-worker" and worker.category == ""
    assert "spec._category" not in json.dumps(worker.query)  # '' runs every kind
    assert "superionic-vasp" in json.dumps(FWorker(category="superionic-vasp").query)


@pytest.mark.skipif(not HAS_JOBFLOW_REMOTE, reason="jobflow-remote is not installed (optional extra: "
                    "pip install 'superionic[remote]'; it pins pymongo<4.11)")
def test_jobflow_remote_project_file_validates_against_its_project_model():
    from jobflow_remote.config.base import Project

    project = Project.model_validate(_project())
    assert set(project.workers) == {"local", "cluster"} and "vasp" in project.exec_config
    assert project.workers["cluster"].scheduler_type == "slurm"
    assert job_store_locations(project.get_jobstore()) == spec_job_store_locations(PROJECT_STORE)
