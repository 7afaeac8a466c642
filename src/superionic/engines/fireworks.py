"""The FireWorks engine: jobflow's ``flow_to_workflow``, a LaunchPad, ``rlaunch``/``qlaunch``.

A flow becomes one FireWorks ``Workflow`` (one Firework per job); its outputs go to the
project's JobStore, so the workers must reach that store (MongoDB, or a montydb path on a
shared file system). A JobStore without credentials travels inside every Firework's spec; one
with a password does not (the LaunchPad is read by everyone who shares it): the workers use
their own jobflow ``JOB_STORE`` (``~/.jobflow.yaml``, see config/jobflow.yaml), and ``--launch``
sets it for the rockets it runs here.

Without a MongoDB server (trying it out, tests), FireWorks runs on mongomock with its state
in a JSON file: ``export MONGOMOCK_SERVERSTORE_FILE=/path/fw.json`` before FireWorks is
imported (this module writes the ``{}`` it needs into a missing file), or call
:func:`enable_mongomock` in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from jobflow import Flow

from superionic.engines.base import (
    EngineError,
    Submission,
    check_mongodb,
    count_jobs,
    mongo_uri,
    require_shared_store,
)
from superionic.stores import ProjectStores

LAUNCHPAD_HINT = (
    "Check host/port/name in the LaunchPad file (see config/my_launchpad.yaml), start MongoDB "
    "(`docker compose -f docker/compose.yaml up -d mongodb`), or try FireWorks without a "
    "server: export MONGOMOCK_SERVERSTORE_FILE=/path/fw.json."
)


def _prepare_mongomock_file() -> None:
    """mongomock-persistence needs its server file to exist and hold JSON; create ``{}``."""
    path = os.environ.get("MONGOMOCK_SERVERSTORE_FILE")
    if path and (not Path(path).is_file() or not Path(path).read_text().strip()):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("{}")


def enable_mongomock(server_file: str | Path) -> Path:
    """Make FireWorks (in this process and its children) use mongomock, state in ``server_file``.

    This is FireWorks' own ``MONGOMOCK_SERVERSTORE_FILE`` mode (needs ``fireworks[mongomock]``);
    when FireWorks is already imported, its MongoClient is switched the way its config does.
    """
    path = Path(server_file).expanduser().resolve()
    os.environ["MONGOMOCK_SERVERSTORE_FILE"] = str(path)
    _prepare_mongomock_file()
    if "fireworks.fw_config" in sys.modules:
        import mongomock.gridfs
        import mongomock_persistence
        from fireworks import fw_config

        fw_config.MONGOMOCK_SERVERSTORE_FILE = str(path)
        fw_config.MongoClient = mongomock_persistence.MongoClient
        mongomock.gridfs.enable_gridfs_integration()
        if "fireworks.core.launchpad" in sys.modules:
            sys.modules["fireworks.core.launchpad"].MongoClient = mongomock_persistence.MongoClient
    return path


def mongomock_active() -> bool:
    """Whether FireWorks talks to mongomock rather than a MongoDB server."""
    _prepare_mongomock_file()
    import pymongo
    from fireworks.core import launchpad

    return launchpad.MongoClient is not pymongo.MongoClient


def read_launchpad_file(path: str | Path) -> dict[str, Any]:
    """The settings of a LaunchPad file (YAML or JSON), with clear errors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise EngineError(
            f"LaunchPad file {path} not found. Copy and edit config/my_launchpad.yaml, or leave "
            "--launchpad out to use FireWorks' default (FW_config.yaml, ~/.fireworks/my_launchpad.yaml)."
        )
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise EngineError(f"LaunchPad file {path} does not parse: {exc}") from exc
    if not isinstance(data, dict) or not data.get("host"):
        raise EngineError(
            f"LaunchPad file {path} must be a mapping with at least 'host' (and port, name, ...): "
            "see config/my_launchpad.yaml."
        )
    return data


def launchpad_uri(lp) -> str:
    """The MongoDB URI a LaunchPad connects to."""
    if lp.uri_mode:
        return lp.host
    return mongo_uri(lp.host, lp.port, lp.name, lp.username, lp.password, lp.authsource)


def load_launchpad(path: str | Path | None = None, check: bool = True):
    """A FireWorks ``LaunchPad`` from ``path`` or FireWorks' default; fails fast if unreachable."""
    _prepare_mongomock_file()
    from fireworks import LaunchPad

    if path is not None:
        lp = LaunchPad.from_dict(read_launchpad_file(path))
    else:
        lp = LaunchPad.auto_load()
    if check and not mongomock_active():
        what = f"the LaunchPad {path or '(FireWorks default)'}"
        try:
            check_mongodb(launchpad_uri(lp), what, LAUNCHPAD_HINT)
        except EngineError:
            lp.connection.close()
            raise
    return lp


def initialise_launchpad(lp) -> bool:
    """``reset`` a LaunchPad database that was never set up (no id counter, no workflows).

    Returns True when it did; a database holding workflows is never touched.
    """
    if lp.fw_id_assigner.find_one({}) is not None:
        return False
    if lp.workflows.count_documents({}) or lp.fireworks.count_documents({}):
        raise EngineError(
            f"The LaunchPad database {lp.name!r} holds workflows but no id counter: inspect it, "
            "then run `lpad reset` yourself."
        )
    lp.reset("", require_password=False, max_reset_wo_password=0)
    return True


def carried_job_store(stores: ProjectStores):
    """The JobStore to put in each Firework's spec: the project's, or None when it holds a credential."""
    from superionic.engines.store_ref import holds_secret

    job_store = stores.job_store()
    return None if holds_secret(json.dumps(job_store.as_dict(), default=str)) else job_store


def to_workflow(flow: Flow, stores: ProjectStores):
    """``flow`` as a FireWorks Workflow whose jobs write to the project's JobStore (or the workers' own
    jobflow ``JOB_STORE`` when the project's holds a password, see :func:`carried_job_store`)."""
    from jobflow.managers.fireworks import flow_to_workflow

    return flow_to_workflow(flow, store=carried_job_store(stores))


@contextlib.contextmanager
def jobflow_job_store(job_store):
    """jobflow's ``JOB_STORE`` in this process set to ``job_store`` meanwhile (rockets run here)."""
    import jobflow

    saved = jobflow.SETTINGS.JOB_STORE
    jobflow.SETTINGS.JOB_STORE = job_store
    try:
        yield
    finally:
        jobflow.SETTINGS.JOB_STORE = saved


def run_rapidfire(
    launchpad, fworker=None, launch_dir: str | Path | None = None, timeout: int | None = None
) -> None:
    """Run every ready Firework here, one after another, until none is left (``rlaunch rapidfire``)."""
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import rapidfire

    launch_dir = Path(launch_dir or Path.cwd()).resolve()
    launch_dir.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    try:
        rapidfire(launchpad, fworker or FWorker(), m_dir=str(launch_dir), nlaunches=0, timeout=timeout, strm_lvl="WARNING")
    finally:
        os.chdir(here)


def fw_states(launchpad, fw_ids: list[int]) -> dict[int, str]:
    """The state of each Firework (READY, RUNNING, COMPLETED, FIZZLED, ...)."""
    docs = launchpad.fireworks.find({"fw_id": {"$in": list(fw_ids)}}, {"fw_id": 1, "state": 1})
    return {d["fw_id"]: d["state"] for d in docs}


def submit(
    flow: Flow,
    stores: ProjectStores,
    launchpad: str | Path | None = None,
    launch: bool = False,
    launch_dir: str | Path | None = None,
    workers_on_this_machine: bool = False,
    metadata: dict | None = None,
    **_: object,
) -> Submission:
    """Add ``flow`` to the LaunchPad; with ``launch``, also run it here with ``rapidfire``.

    Every Firework gets the ``_category`` of its job kind and ``metadata`` in its spec
    (:mod:`superionic.engines.cluster_settings`); so do the Fireworks created at run time.
    ``monty://`` stores need ``workers_on_this_machine`` (rlaunch here only).
    """
    from superionic.engines.cluster_settings import apply_cluster_settings

    require_shared_store(stores.spec, "fireworks", workers_on_this_machine or launch)
    lp = load_launchpad(launchpad)
    initialised = initialise_launchpad(lp)
    apply_cluster_settings(flow, "fireworks", metadata)
    workflow = to_workflow(flow, stores)
    mapping = lp.add_wf(workflow)
    fw_ids = sorted(mapping.values())
    lp_arg = f" -l {launchpad}" if launchpad else ""
    next_step = ("(LaunchPad database initialised) " if initialised else "") + (
        f"rlaunch{lp_arg} rapidfire   (or qlaunch{lp_arg} rapidfire with a queue adapter)"
    )
    if carried_job_store(stores) is None:
        next_step += (f"; the workers' jobflow JOB_STORE must be {stores.safe_spec} (config/jobflow.yaml): "
                      "its password is not put in the LaunchPad")
    if launch:
        with jobflow_job_store(stores.job_store()):
            run_rapidfire(lp, launch_dir=launch_dir)
    states = fw_states(lp, fw_ids)
    if launch:
        done = sum(s == "COMPLETED" for s in states.values())
        next_step = f"ran here: {done}/{len(states)} Fireworks COMPLETED" + (
            "" if done == len(states) else f"; see `lpad{lp_arg} get_fws -s FIZZLED`"
        )
    where = f"LaunchPad {launchpad or '(FireWorks default)'}; outputs in {stores.safe_spec}"
    return Submission(
        engine="fireworks",
        flow_name=flow.name,
        n_jobs=count_jobs(flow),
        ids=fw_ids,
        where=where,
        next_step=next_step,
        states=states,
    )
