"""Cluster settings per job kind, written into a Flow before it goes to FireWorks or jobflow-remote.

Three kinds of job, told apart by their names (the names our makers and atomate2 give)::

    small   screening, classification, md stage, summary, MD set-up / collection / analysis
    md      force-field relaxation and force-field MD segments
    vasp    atomate2 VASP MD runs ("vasp md 600K production 3")

What each kind gets comes from ``SuperionicSettings.cluster`` (``SUPERIONIC_CLUSTER__...``,
``~/.superionic.yaml``): jobflow-remote's ``worker`` / ``exec_config`` / ``resources`` in the
job's ``manager_config`` (the per-job mechanism of its ``set_run_config``; ``submit_flow``'s own
arguments are only the defaults), or FireWorks' ``_category`` (``flow_to_workflow`` copies
``manager_config`` into each Firework's spec). Every update goes through jobflow's
``update_config`` / ``update_metadata`` with ``dynamic=True``, so the jobs a job creates at run
time (the MD stage's ``Response(replace=...)``, extension rounds) get the same settings.

The flow's metadata (recipe, material ids, MD engine and preset, superionic version, job kind)
lands in every job's ``metadata``: ``jf job list -meta recipe=seed``, FireWorks
``lpad get_fws -q '{"spec.recipe": "seed"}'``, and the JobStore's ``metadata`` field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from superionic.settings import ClusterSettings, JobKindSettings

JOB_KINDS = ("small", "md", "vasp")
"""Applied in this order: later kinds override earlier ones on the jobs they match."""

KIND_NAME_FILTERS: dict[str, tuple[str, ...] | None] = {
    "small": None,  # every job, then overridden below
    "md": ("force-field relaxation", "forcefield md segment", "fine-tune potential"),
    "vasp": ("vasp md ",),
}
"""jobflow ``name_filter`` substrings per kind (jobflow matches ``filter in job.name``)."""

CLUSTER_ENGINES = ("fireworks", "jobflow-remote")


def job_kind(name: str | None) -> str:
    """The kind of a job with this name, as :func:`apply_cluster_settings` classifies it."""
    kind = "small"
    for candidate in JOB_KINDS:
        filters = KIND_NAME_FILTERS[candidate]
        if filters and name and any(f in name for f in filters):
            kind = candidate
    return kind


@dataclass
class WorkerInfo:
    """What superionic needs to know of a jobflow-remote worker."""

    scheduler_type: str = "slurm"
    resources: dict[str, Any] = field(default_factory=dict)


def manager_config(
    kind: JobKindSettings,
    engine: str,
    workers: dict[str, WorkerInfo] | None = None,
    default_worker: str | None = None,
) -> dict[str, Any]:
    """The ``manager_config`` entries of one job kind for ``engine``.

    jobflow-remote: ``worker`` (the kind's, else ``default_worker``), ``exec_config`` and
    ``resources``. A job's resources replace its worker's in jobflow-remote, so the kind's
    resources are laid over the worker's own (partition, account stay); on a ``shell`` worker
    (no queue) they are left out, since its script template has no such fields. FireWorks:
    ``_category``.
    """
    if engine == "fireworks":
        return {"_category": kind.category} if kind.category else {}
    if engine != "jobflow-remote":
        return {}
    config: dict[str, Any] = {}
    worker = kind.worker or default_worker
    if kind.worker:
        config["worker"] = kind.worker
    if kind.exec_config:
        config["exec_config"] = kind.exec_config
    info = (workers or {}).get(worker) if worker else None
    if kind.resources is not None and not (info and info.scheduler_type == "shell"):
        config["resources"] = {**(info.resources if info else {}), **kind.resources}
    return config


def run_configs(
    settings: ClusterSettings,
    engine: str,
    workers: dict[str, WorkerInfo] | None = None,
    default_worker: str | None = None,
) -> dict[str, dict[str, Any]]:
    """``manager_config`` entries per job kind (see :func:`manager_config`)."""
    return {k: manager_config(getattr(settings, k), engine, workers, default_worker) for k in JOB_KINDS}


def apply_run_configs(flow, configs: dict[str, dict[str, Any]]) -> None:
    """Set each kind's entries in the ``manager_config`` of the matching jobs, now and at run time.

    Entries are set key by key (jobflow's dict-mod ``_set``, as jobflow-remote's
    ``set_run_config`` does), so other ``manager_config`` keys survive. The ``small`` entries go
    to every job first; a later kind sets every key any kind uses, ``None`` where it has no
    value of its own (jobflow-remote then falls back to ``submit_flow``'s default, FireWorks to
    "no category"), so nothing of the small jobs' leaks into MD or VASP jobs. The ``job_kind``
    goes into each job's metadata.
    """
    keys = sorted({key for entries in configs.values() for key in (entries or {})})
    for kind in JOB_KINDS:
        entries = configs.get(kind) or {}
        values = {key: entries.get(key) for key in keys} if kind != "small" else dict(entries)
        updates = {f"manager_config->{key}": value for key, value in values.items()}
        if kind == "small" and keys:
            # jobflow hands a job's whole manager_config to the jobs it creates, *after* the
            # dynamic updates (JobConfig.pass_manager_config): the MD stage's small-job settings
            # would overwrite the VASP jobs'. Each job gets its kind's settings instead.
            updates["pass_manager_config"] = False
        for name_filter in KIND_NAME_FILTERS[kind] or (None,):
            if updates:
                flow.update_config({"_set": updates}, name_filter=name_filter, dynamic=True, dict_mod=True)
            flow.update_metadata({"job_kind": kind}, name_filter=name_filter, dynamic=True)


def flow_metadata(what: str, recipe=None, material_ids: list[str] | None = None) -> dict[str, Any]:
    """Metadata every job of a submitted flow carries (queryable in the queue and the JobStore)."""
    from superionic import __version__

    meta: dict[str, Any] = {"superionic_version": __version__, "what": what}
    if recipe is not None:
        meta.update(recipe=recipe.name, md_engine=recipe.md.engine, md_preset=recipe.md.preset)
    if material_ids:
        meta["material_ids"] = list(material_ids)
    return meta


def apply_cluster_settings(
    flow,
    engine: str,
    metadata: dict[str, Any] | None = None,
    settings: ClusterSettings | None = None,
    workers: dict[str, WorkerInfo] | None = None,
    default_worker: str | None = None,
):
    """Write the cluster settings of ``engine`` and ``metadata`` into ``flow`` (in place; returned)."""
    if settings is None:
        from superionic.settings import get_settings

        settings = get_settings().cluster
    if metadata:
        flow.update_metadata(dict(metadata), dynamic=True)
    apply_run_configs(flow, run_configs(settings, engine, workers, default_worker))
    return flow


def exec_config_names(settings: ClusterSettings, kinds: tuple[str, ...] = JOB_KINDS) -> dict[str, str]:
    """Kinds whose exec_config is a name (to check against the jobflow-remote project)."""
    return {k: getattr(settings, k).exec_config for k in kinds if isinstance(getattr(settings, k).exec_config, str)}


def worker_names(settings: ClusterSettings, kinds: tuple[str, ...] = JOB_KINDS) -> dict[str, str]:
    """Kinds that name their own jobflow-remote worker."""
    return {k: getattr(settings, k).worker for k in kinds if getattr(settings, k).worker}
