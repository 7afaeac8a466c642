"""Which store a submission uses, and whether every party (jobs, runner, builders) sees the same one.

One store configuration serves jobs, builders and queries. Where it comes from, first match:

1. ``--store SPEC`` (or ``SUPERIONIC_STORE``): a convenience that opens the project's
   collections and the JobStore (``jobs`` + ``data``) from one spec;
2. under jobflow-remote, the project's ``jobstore`` (its runner writes every output there);
3. jobflow's own settings, ``jobflow.SETTINGS.JOB_STORE`` (``~/.jobflow.yaml`` or
   ``JOBFLOW_CONFIG_FILE``), when the user configured one (not jobflow's in-memory default);
4. the embedded default, ``monty://`` under ``SUPERIONIC_DATA_DIR``.

From a JobStore (2, 3) the spec is derived (same MongoDB database or montydb folder), and the
derived spec's JobStore must be the configured one, collection for collection; otherwise the
submission is refused with the difference and the fix. The comparison works on serialized
maggma stores (``Store.as_dict()`` or the ``type: MongoStore`` form of config files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from superionic.engines.base import EngineError, mongo_uri
from superionic.redaction import redact


@dataclass(frozen=True)
class StoreLocation:
    """Where a maggma store keeps its documents, normalised for comparison."""

    kind: str  # "mongodb", "gridfs", "montydb", "memory" or a maggma class name
    where: str  # "host:port[,host:port]" (MongoDB), an absolute folder (montydb), "" otherwise
    database: str
    collection: str

    def __str__(self) -> str:
        where = f"{self.where}/" if self.where else ""
        return f"{self.kind} {where}{self.database}{'.' if self.database else ''}{self.collection}"


def _store_dict(store: Any) -> dict:
    if isinstance(store, dict):
        return store
    if hasattr(store, "as_dict"):
        return store.as_dict()
    raise TypeError(f"not a maggma store or a store mapping: {type(store).__name__}")


def _mongo_hosts(uri: str) -> tuple[str, str]:
    """``(hosts, database)`` of a MongoDB URI; credentials and options ignored."""
    if uri.startswith("mongodb+srv://"):  # resolving the SRV record needs DNS: compare as written
        rest = uri[len("mongodb+srv://") :].split("@")[-1]
        host, _, path = rest.partition("/")
        return f"srv:{host.lower()}", path.split("?")[0]
    from pymongo import uri_parser

    parsed = uri_parser.parse_uri(uri, validate=False, warn=True)
    hosts = ",".join(sorted(f"{h.lower()}:{p or 27017}" for h, p in parsed["nodelist"]))
    return hosts, parsed.get("database") or ""


def store_location(store: Any) -> StoreLocation:
    """The :class:`StoreLocation` of a maggma store or its serialized / config-file form."""
    d = _store_dict(store)
    kind = str(d.get("type") or d.get("@class") or "")
    collection = str(d.get("collection_name") or "")
    if kind in ("MongoStore", "MongoURIStore", "GridFSStore", "GridFSURIStore") or (not kind and "host" in d):
        family = "gridfs" if kind.startswith("GridFS") else "mongodb"
        if d.get("uri"):
            hosts, database = _mongo_hosts(str(d["uri"]))
            database = d.get("database") or database
        else:
            hosts, database = _mongo_hosts(mongo_uri(d.get("host"), d.get("port") or 27017, d.get("database")))
        return StoreLocation(family, hosts, str(database or ""), collection)
    if kind in ("MontyStore", "FastMontyStore") and str(d.get("database_path") or "") not in ("", ":memory:"):
        path = str(Path(str(d["database_path"])).expanduser().resolve())
        return StoreLocation("montydb", path, str(d.get("database_name") or "db"), collection)
    if kind in ("MemoryStore", "FastMemoryStore", "MongomockStore", "MontyStore", "FastMontyStore"):  # Monty: in memory
        return StoreLocation("memory", "", "", collection)
    return StoreLocation(kind or "unknown", "", str(d.get("database") or ""), collection)


def job_store_locations(job_store: Any) -> dict[str, StoreLocation]:
    """Locations of a JobStore's ``docs`` store and each additional store (``data``, ...).

    Accepts a jobflow ``JobStore``, its ``as_dict()``, or the ``docs_store`` /
    ``additional_stores`` mapping of jobflow.yaml and jobflow-remote project files.
    """
    if not isinstance(job_store, dict):
        docs, extra = job_store.docs_store, dict(job_store.additional_stores or {})
    else:
        docs, extra = job_store["docs_store"], dict(job_store.get("additional_stores") or {})
    locations = {"docs": store_location(docs)}
    locations.update({name: store_location(store) for name, store in extra.items()})
    return locations


def spec_job_store_locations(spec: str) -> dict[str, StoreLocation]:
    """Locations of the JobStore that ``--store SPEC`` opens (no connection is made)."""
    from superionic.stores import open_stores

    stores = open_stores(spec, connect=False)
    return {"docs": store_location(stores.jobs), "data": store_location(stores.data)}


def job_store_differences(ours: dict[str, StoreLocation], theirs: dict[str, StoreLocation]) -> list[str]:
    """One line per store that differs (``docs`` and ``data``); empty when they agree."""
    lines = []
    for name in ("docs", "data"):
        if ours.get(name) != theirs.get(name):
            lines.append(f"{name}: the store opens {ours.get(name) or 'none'}, the JobStore {theirs.get(name) or 'none'}")
    return lines


def configured_jobflow_job_store():
    """jobflow's ``SETTINGS.JOB_STORE`` when the user configured one, else None.

    jobflow's default (nothing configured) is an in-memory store: that is "not configured".
    """
    import jobflow
    from maggma.stores import MemoryStore

    job_store = jobflow.SETTINGS.JOB_STORE
    if type(job_store.docs_store) is MemoryStore:  # exactly: maggma's MontyStore subclasses MemoryStore
        return None
    return job_store


def jobflow_config_file() -> str:
    """The jobflow settings file jobflow read (for messages)."""
    import jobflow

    return str(jobflow.SETTINGS.CONFIG_FILE)


def spec_for_job_store(job_store: Any) -> str:
    """The store spec whose JobStore lands where ``job_store`` does (no password in messages).

    MongoDB: ``mongodb://[user:password@]host:port/database`` (the docs store's); montydb:
    ``monty://FOLDER``. Raises ``EngineError`` for other stores.
    """
    docs = _store_dict(job_store.docs_store if not isinstance(job_store, dict) else job_store["docs_store"])
    kind = str(docs.get("type") or docs.get("@class") or "")
    if kind in ("MongoStore", "MongoURIStore"):
        if docs.get("uri"):
            uri = str(docs["uri"])
            hosts_part, _, rest = uri.partition("://")[2].partition("/")
            query = rest.partition("?")[2]
            database = docs.get("database") or rest.partition("?")[0]
            return f"{uri.partition('://')[0]}://{hosts_part}/{database}" + (f"?{query}" if query else "")
        return mongo_uri(docs.get("host"), docs.get("port") or 27017, docs.get("database"), docs.get("username"),
                         docs.get("password"), docs.get("auth_source") or docs.get("authsource"))
    if kind in ("MontyStore", "FastMontyStore"):
        return f"monty://{Path(str(docs.get('database_path') or '.')).expanduser().resolve()}"
    raise EngineError(
        f"superionic cannot open its collections beside a JobStore whose docs_store is {kind or 'unknown'}: "
        "use a MongoStore (or MontyStore) docs_store, or give --store mongodb://HOST/DB."
    )


@dataclass
class StoreChoice:
    """The spec to open and where it came from (for messages and the submission record)."""

    spec: str
    source: str


def check_same_job_store(spec: str, job_store: Any, what: str) -> None:
    """Refuse when ``spec``'s JobStore and ``job_store`` (described by ``what``) differ."""
    differences = job_store_differences(spec_job_store_locations(spec), job_store_locations(job_store))
    if differences:
        raise EngineError(
            f"The store {redact(spec)} and {what} do not point at the same collections, so the builders "
            f"and queries would not see the job outputs:\n  " + "\n  ".join(differences) + "\n"
            "Make them one: in the JobStore use the database of the store, docs_store collection_name: jobs "
            "and additional_stores.data a GridFSStore with collection_name: data (MongoDB; see "
            "config/jobflow.yaml), or give --store with the JobStore's database."
        )


def choose_store(
    store: str | None,
    engine: str,
    project_job_store: Any = None,
    project_name: str | None = None,
) -> StoreChoice:
    """The store a submission uses (see the module docstring for the order) and its checks."""
    from superionic.settings import get_settings

    settings = get_settings()
    if store or settings.store:
        spec = store or settings.store
        source = "--store" if store else "SUPERIONIC_STORE"
        if engine == "jobflow-remote" and project_job_store is not None:
            check_same_job_store(spec, project_job_store, f"the jobstore of jobflow-remote project {project_name!r}")
        return StoreChoice(spec, source)
    if engine == "jobflow-remote" and project_job_store is not None:
        spec = spec_for_job_store(project_job_store)
        check_same_job_store(spec, project_job_store, f"the jobstore of jobflow-remote project {project_name!r}")
        return StoreChoice(spec, f"jobflow-remote project {project_name!r}")
    configured = configured_jobflow_job_store()
    if configured is not None:
        spec = spec_for_job_store(configured)
        check_same_job_store(spec, configured, f"jobflow's JOB_STORE ({jobflow_config_file()})")
        return StoreChoice(spec, f"jobflow JOB_STORE ({jobflow_config_file()})")
    return StoreChoice(settings.store_spec, "default (SUPERIONIC_DATA_DIR)")
