"""What every engine shares: the error type, the submission record, fail-fast MongoDB checks.

Nothing here imports FireWorks or jobflow-remote, so the checks run (and are tested) on a
machine that has neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from superionic.redaction import redact

MONGO_TIMEOUT_MS = 5_000
"""Server selection timeout of the reachability checks (pymongo's default is 30 s)."""

MONGO_HINT = (
    "Is the server running (e.g. `docker compose -f docker/compose.yaml up -d mongodb`), and "
    "are host, port and credentials right? Test it with `mongosh URI --eval 'db.runCommand({ping: 1})'`."
)


class EngineError(RuntimeError):
    """An engine that cannot run as configured. The message says what to do (redacted)."""

    def __init__(self, message: object = "") -> None:
        super().__init__(redact(message))


@dataclass
class Submission:
    """What an engine did with a flow."""

    engine: str = field(metadata={"description": "Engine name (local, fireworks, jobflow-remote)."})
    flow_name: str = field(metadata={"description": "Name of the submitted jobflow Flow."})
    n_jobs: int = field(metadata={"description": "Jobs in the flow as submitted (dynamic jobs come later)."})
    ids: list[Any] = field(
        default_factory=list,
        metadata={"description": "Engine ids: job uuids (local), FireWork ids, jobflow-remote db_ids."},
    )
    where: str = field(default="", metadata={"description": "Where the work went (store, LaunchPad, project)."})
    next_step: str = field(default="", metadata={"description": "What the user runs next, if anything."})
    states: dict[Any, str] = field(
        default_factory=dict,
        metadata={"description": "State of each id where the engine tells it (COMPLETED, READY, ...)."},
    )
    outputs: dict[str, Any] = field(
        default_factory=dict, metadata={"description": "Job outputs by uuid (local runs only)."}
    )
    failures: dict[str, str] = field(
        default_factory=dict,
        metadata={"description": "Failed job name -> 'ExceptionType: message' (local runs only)."},
    )
    log_path: str = field(default="", metadata={"description": "File with the failed jobs' tracebacks."})


def count_jobs(flow) -> int:
    """Jobs in a Flow (nested flows included) or 1 for a Job; dynamic jobs come later."""
    return sum(1 for _ in flow.iterflow()) if hasattr(flow, "iterflow") else 1


def redact_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages); see :func:`redact`."""
    return redact(uri)


def check_mongodb(uri: str, what: str, hint: str = MONGO_HINT) -> None:
    """Ping MongoDB at ``uri`` within ``MONGO_TIMEOUT_MS``; raise ``EngineError`` naming it."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client = None
    try:
        client = MongoClient(uri, serverSelectionTimeoutMS=MONGO_TIMEOUT_MS, connectTimeoutMS=MONGO_TIMEOUT_MS)
        client.admin.command("ping")
    except (PyMongoError, ValueError) as exc:
        first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise EngineError(
            f"Cannot reach the MongoDB of {what} at {redact_uri(uri)}: {type(exc).__name__}: "
            f"{first_line}. {hint}"
        ) from exc
    finally:
        if client is not None:
            client.close()


def mongo_uri(
    host: str | None = None,
    port: int | None = None,
    database: str | None = None,
    username: str | None = None,
    password: str | None = None,
    auth_source: str | None = None,
) -> str:
    """A ``mongodb://`` URI from the separate fields a config file gives."""
    host = host or "localhost"
    if host.startswith(("mongodb://", "mongodb+srv://")):
        return host
    credentials = ""
    if username:
        credentials = quote_plus(username) + (f":{quote_plus(password)}" if password else "") + "@"
    address = f"{host}:{port}" if port else host
    query = f"?authSource={auth_source}" if auth_source and username else ""
    return f"mongodb://{credentials}{address}/{database or ''}{query}"


def store_mongo_uris(store: dict | None) -> list[str]:
    """MongoDB URIs a serialized maggma store (or a jobflow ``JobStore`` spec) points at.

    Understands the ``type: MongoStore`` / ``type: MongoURIStore`` form of jobflow and
    jobflow-remote config files, monty's ``@class`` form, and a JobStore's ``docs_store`` /
    ``additional_stores``. Stores that are not MongoDB (memory, montydb, files) give nothing.
    """
    if not isinstance(store, dict):
        return []
    uris: list[str] = []
    if "docs_store" in store:
        uris += store_mongo_uris(store["docs_store"])
        for sub in (store.get("additional_stores") or {}).values():
            uris += store_mongo_uris(sub)
        return list(dict.fromkeys(uris))
    kind = store.get("type") or store.get("@class") or ""
    if kind in ("MongoURIStore", "MongoStore", "GridFSStore") and store.get("uri"):
        return [str(store["uri"])]  # maggma's own as_dict() carries the uri it was made with
    if kind in ("MongoStore", "GridFSStore", "S3Store") or (not kind and "host" in store):
        if kind == "S3Store":
            return store_mongo_uris(store.get("index"))
        return [
            mongo_uri(
                store.get("host"),
                store.get("port", 27017),
                store.get("database"),
                store.get("username"),
                store.get("password"),
                store.get("auth_source") or store.get("authsource"),
            )
        ]
    if kind == "GridFSURIStore" and store.get("uri"):
        return [str(store["uri"])]
    return []


WORKERS_HERE_OPTION = "--workers-on-this-machine"
"""The CLI option that says every worker of a cluster engine runs on this machine."""


def require_shared_store(spec: str, engine: str, workers_on_this_machine: bool = False) -> None:
    """Refuse a store that the workers of a cluster engine cannot reach.

    ``memory://`` lives in this process: always refused. ``monty://`` is a folder on this
    machine: refused unless the user says every worker runs here (``workers_on_this_machine``).
    """
    if spec.startswith("memory://"):
        raise EngineError(
            f"The {engine} engine runs jobs in other processes, which cannot see the in-memory "
            f"store {spec!r}. Use --store mongodb://HOST:27017/superionic, a MongoDB every worker "
            f"reaches (see config/ and docker/compose.yaml)."
        )
    if spec.startswith("monty://") and not workers_on_this_machine:
        raise EngineError(
            f"The {engine} engine runs jobs on workers, and the on-disk store {spec!r} is a folder on "
            "this machine: a worker elsewhere would write to an empty store of its own. Use --store "
            "mongodb://HOST:27017/superionic, a MongoDB every worker reaches (see config/ and "
            f"docker/compose.yaml), or, if every worker runs on this machine, add {WORKERS_HERE_OPTION}."
        )
