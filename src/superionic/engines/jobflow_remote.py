"""The jobflow-remote engine: ``submit_flow`` into a jobflow-remote project's queue.

jobflow-remote is an optional extra (``pip install 'superionic[remote]'``; it pins
``pymongo<4.11``), imported only here and only when used. A project (see
``config/jobflow_remote_project.yaml``) names the workers (this machine, a SLURM cluster over
SSH), the MongoDB queue and the JobStore for outputs; ``jf runner start`` then runs the
submitted jobs. The queue must be a real MongoDB (montydb and mongomock fail inside the runner).
"""

from __future__ import annotations

from typing import Any

from jobflow import Flow

from superionic.engines.base import (
    EngineError,
    Submission,
    check_mongodb,
    count_jobs,
    require_shared_store,
    store_mongo_uris,
)
from superionic.stores import ProjectStores

INSTALL_HINT = "pip install 'superionic[remote]'"
PROJECT_HINT = (
    "Create one from the example: mkdir -p ~/.jfremote && cp config/jobflow_remote_project.yaml "
    "~/.jfremote/superionic.yaml (edit it), then `jf project check --errors`."
)


def import_jobflow_remote():
    """The ``jobflow_remote`` module, or an ``EngineError`` saying how to install it."""
    try:
        import jobflow_remote
    except ImportError as exc:
        raise EngineError(
            f"The jobflow-remote engine needs the optional jobflow-remote package, which is not "
            f"installed ({exc}). Install it with: {INSTALL_HINT}  (it requires pymongo<4.11). "
            "Or use --engine fireworks or --engine local."
        ) from exc
    return jobflow_remote


def project_mongo_uris(project: dict[str, Any]) -> dict[str, list[str]]:
    """MongoDB URIs of a project's queue and JobStore (from the project file's mapping)."""
    queue = (project.get("queue") or {}).get("store")
    jobstore = project.get("jobstore") or project.get("JOB_STORE")
    return {"queue": store_mongo_uris(queue), "jobstore": store_mongo_uris(jobstore)}


def check_project_mongodb(project: dict[str, Any]) -> None:
    """Fail fast (seconds) when the project's queue or JobStore MongoDB is unreachable."""
    name = project.get("name", "?")
    uris = project_mongo_uris(project)
    if not uris["queue"]:
        raise EngineError(
            f"jobflow-remote project {name!r} has no MongoDB queue store (queue.store must be a "
            "MongoStore or MongoURIStore; montydb and mongomock fail inside the runner). "
            "See config/jobflow_remote_project.yaml."
        )
    for role, role_uris in uris.items():
        for uri in dict.fromkeys(role_uris):
            check_mongodb(uri, f"the {role} of jobflow-remote project {name!r}")


def load_project(project: str | None = None):
    """The jobflow-remote ``Project`` by name (or the default one), with clear errors."""
    import_jobflow_remote()
    from jobflow_remote import SETTINGS
    from jobflow_remote.config.base import ConfigError
    from jobflow_remote.config.manager import ConfigManager

    try:
        manager = ConfigManager()
        return manager.get_project(project)
    except ConfigError as exc:
        known = sorted(getattr(manager, "projects_data", {}) or {}) if "manager" in locals() else []
        raise EngineError(
            f"No usable jobflow-remote project {project or '(default)'!r} in "
            f"{SETTINGS.projects_folder}: {exc}. Known projects: {', '.join(known) or 'none'}. "
            f"{PROJECT_HINT}"
        ) from exc


def initialise_queue(project: str | None = None) -> bool:
    """Initialise the project's queue database if it never was (``jf admin reset`` on nothing).

    Returns True when it did. A database that holds jobs or flows but no id counter is left
    alone (an ``EngineError`` says to run ``jf admin reset`` knowingly).
    """
    proj = project if hasattr(project, "get_job_controller") else load_project(project)
    controller = proj.get_job_controller()
    try:
        if controller.auxiliary.find_one({"next_id": {"$exists": True}}) is not None:
            return False
        if controller.jobs.count_documents({}) or controller.flows.count_documents({}):
            raise EngineError(
                f"The queue database of jobflow-remote project {proj.name!r} holds jobs but no id "
                f"counter: inspect it, then run `jf -p {proj.name} admin reset` yourself."
            )
        controller.reset()
        return True
    finally:
        controller.close()


def project_workers(proj) -> dict:
    """``{name: WorkerInfo}`` of a jobflow-remote ``Project`` (scheduler type, default resources)."""
    from superionic.engines.cluster_settings import WorkerInfo

    return {
        name: WorkerInfo(scheduler_type=str(getattr(w, "scheduler_type", "") or ""), resources=dict(getattr(w, "resources", None) or {}))
        for name, w in proj.workers.items()
    }


def check_cluster_settings(
    project_name: str,
    workers: dict[str, str],
    exec_configs: list[str],
    settings,
    kinds: tuple[str, ...],
    default_worker: str,
    workers_on_this_machine: bool = False,
) -> None:
    """Refuse settings the project cannot honour, before anything is queued.

    ``workers``: the project's ``{worker name: worker type}`` (``local`` or ``remote``);
    ``exec_configs``: the names in its ``exec_config`` section; ``kinds``: the job kinds the
    flow has. Each kind's worker and exec_config name must exist; with
    ``workers_on_this_machine`` every worker used must be a ``local`` one.
    """
    from superionic.engines.cluster_settings import exec_config_names, worker_names

    used = {default_worker}
    for kind, name in worker_names(settings, kinds).items():
        if name not in workers:
            raise EngineError(
                f"Cluster settings send {kind} jobs to worker {name!r}, which jobflow-remote project "
                f"{project_name!r} does not have (its workers: {', '.join(workers) or 'none'}). Fix "
                f"SUPERIONIC_CLUSTER__{kind.upper()}__WORKER (or cluster.{kind}.worker in ~/.superionic.yaml)."
            )
        used.add(name)
    for kind, name in exec_config_names(settings, kinds).items():
        if name not in exec_configs:
            raise EngineError(
                f"Cluster settings give {kind} jobs the exec_config {name!r}, which jobflow-remote project "
                f"{project_name!r} does not define (its exec_config: {', '.join(exec_configs) or 'none'}). Add "
                f"it to the project file (see config/jobflow_remote_project.yaml) or set "
                f"SUPERIONIC_CLUSTER__{kind.upper()}__EXEC_CONFIG."
            )
    remote = sorted(w for w in used if workers.get(w) not in (None, "local"))
    if workers_on_this_machine and remote:
        raise EngineError(
            f"--workers-on-this-machine, but worker(s) {', '.join(map(repr, remote))} of project "
            f"{project_name!r} run elsewhere ({', '.join(workers[w] for w in remote)}): they cannot see an "
            "on-disk store here. Use --store mongodb://HOST:27017/superionic, or local workers only."
        )


def submit(
    flow: Flow,
    stores: ProjectStores,
    project: str | None = None,
    worker: str | None = None,
    check: bool = True,
    workers_on_this_machine: bool = False,
    metadata: dict | None = None,
    job_kinds: tuple[str, ...] = ("small", "md", "vasp"),
    **_: object,
) -> Submission:
    """Add ``flow`` to the jobflow-remote queue of ``project`` for ``worker``.

    Refused before anything is queued: a store the workers cannot reach, a project jobstore
    that is not the store the builders read, cluster settings naming workers or exec_configs
    the project lacks. Each job then carries its kind's worker / exec_config / resources and
    ``metadata`` (:mod:`superionic.engines.cluster_settings`), also jobs created at run time.
    """
    from superionic.engines.cluster_settings import apply_cluster_settings
    from superionic.engines.store_source import check_same_job_store
    from superionic.settings import get_settings

    import_jobflow_remote()
    require_shared_store(stores.spec, "jobflow-remote", workers_on_this_machine)
    proj = load_project(project)
    if worker is not None and worker not in proj.workers:
        raise EngineError(
            f"jobflow-remote project {proj.name!r} has no worker {worker!r}; its workers: "
            f"{', '.join(proj.workers) or 'none'}."
        )
    default_worker = worker or next(iter(proj.workers), None)
    if default_worker is None:
        raise EngineError(f"jobflow-remote project {proj.name!r} has no workers. {PROJECT_HINT}")
    check_same_job_store(stores.spec, proj.jobstore, f"the jobstore of jobflow-remote project {proj.name!r}")
    cluster = get_settings().cluster
    check_cluster_settings(
        proj.name,
        {name: str(getattr(w, "type", "")) for name, w in proj.workers.items()},
        list(proj.exec_config or {}),
        cluster,
        job_kinds,
        default_worker,
        workers_on_this_machine,
    )
    if check:
        check_project_mongodb(proj.model_dump())
    from jobflow_remote import submit_flow

    apply_cluster_settings(flow, "jobflow-remote", metadata, cluster, project_workers(proj), default_worker)
    initialised = initialise_queue(proj)
    db_ids = submit_flow(flow, worker=default_worker, project=proj.name)
    return Submission(
        engine="jobflow-remote",
        flow_name=flow.name,
        n_jobs=count_jobs(flow),
        ids=list(db_ids),
        where=f"jobflow-remote project {proj.name!r}, worker {default_worker}; documents in {stores.safe_spec}",
        next_step=("(queue database initialised) " if initialised else "")
        + f"jf -p {proj.name} runner start   (then: jf -p {proj.name} flow list)",
    )
