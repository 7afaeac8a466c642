"""One place that turns a store spec into maggma Stores and a jobflow JobStore.

Specs:

- ``monty://PATH``     on-disk montydb (sqlite) under PATH; the embedded default.
- ``mongodb://...``    MongoDB (also ``mongodb+srv://``); database from the URI path,
                       ``superionic`` if none.
- ``memory://``        in-process stores, for tests only (lost when the process ends).
- ``NAME`` or ``FILE.yaml``  a store spec file (``stores/NAME.yaml``); see ``stores/``.

The embedded store must stay fast at the size of the MP corpus, so ``MontyStore`` and
``MemoryStore`` are subclassed with a bulk upsert in place of maggma's per-document
``replace_one`` scan, which is quadratic on montydb and mongomock (no indexes). The upsert
never leaves a window where a document is missing: on montydb the removal of the old
versions and the insert of the new ones are one sqlite transaction (through montydb's
private sqlite layer, used only while a once-per-process self-check against its public API
passes: :func:`montydb_private_ok`); elsewhere the new versions are written before the old
ones are removed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml
from maggma.core import Store
from maggma.stores import MemoryStore, MongoStore, MontyStore
from monty.json import jsanitize

from superionic.redaction import redact

COLLECTIONS = (
    "materials",
    "screening",
    "features",
    "models",
    "predictions",
    "diffusion",
    "conductivity",
    "funnel",
    "potentials",
    "evidence",
)
"""Named collections of a superionic project (plus ``data`` and ``jobs`` for jobflow)."""

UPSERT_CHUNK = 5_000
MONGO_TIMEOUT_MS = 5_000


class StoreSpecError(ValueError):
    """A store spec that cannot be parsed or opened. The message says what to do.

    The message is redacted (:func:`superionic.redaction.redact`): a password in a URI, in a
    spec file or in pymongo's own error text never reaches the user's terminal or a log.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(redact(message))


class _BulkUpsertMixin:
    """Replace maggma's per-document upsert by a keyed bulk delete + insert."""

    def update(self, docs: list[dict] | dict, key: list | str | None = None):
        docs = [docs] if isinstance(docs, dict) else list(docs)
        if not docs:
            return
        key = key or self.key
        keys = key if isinstance(key, list) else [key]
        unique: dict[tuple, dict] = {}
        for doc in docs:
            doc = jsanitize(doc, allow_bson=True)
            try:
                unique[tuple(_freeze(doc[k]) for k in keys)] = doc  # last one wins
            except KeyError as exc:
                raise KeyError(f"document has no key field {exc} ({self.collection_name})") from exc
        batch = [dict(d) for d in unique.values()]
        stale = [
            doc["_id"]
            for doc in self._collection.find({}, {k: 1 for k in keys})
            if tuple(_freeze(doc.get(k)) for k in keys) in unique
        ]
        stale_ids = set(stale)
        for doc in batch:  # a re-upserted document read from the store: it gets a new _id
            if doc.get("_id") in stale_ids:
                del doc["_id"]
        self._replace(stale, batch)

    def _replace(self, stale: list, batch: list[dict]) -> None:
        """Write ``batch``, then remove the ``stale`` versions: a crash in between leaves a
        duplicate (removed by the next upsert of that key), never a missing document."""
        for start in range(0, len(batch), UPSERT_CHUNK):
            self._insert(batch[start : start + UPSERT_CHUNK])
        if stale:
            self._delete_ids(stale)

    def _insert(self, docs: list[dict]) -> None:
        self._collection.insert_many(docs)

    def _delete_ids(self, ids: list) -> None:
        self._collection.delete_many({"_id": {"$in": ids}})

    def ensure_index(self, key: str, unique: bool = False) -> bool:
        """montydb and mongomock keep no useful indexes; report success so builders run."""
        return True


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class FastMontyStore(_BulkUpsertMixin, MontyStore):
    """maggma ``MontyStore`` (montydb on disk) with a linear-time, atomic bulk upsert.

    An upsert is one sqlite transaction (delete the stale versions, insert the new ones):
    a reader or a killed writer sees the old batch or the new one, never a missing document.
    That goes through montydb's *private* sqlite layer, so it is used only while
    :func:`montydb_private_ok` holds (checked once per process against the public API);
    otherwise upserts go through montydb's public API (correct, slower on large batches).
    """

    def _replace(self, stale: list, batch: list[dict]) -> None:
        if montydb_private_ok():
            self._sqlite_replace(stale, batch)
        else:
            super()._replace(stale, batch)  # public insert_many, then delete_many

    def _sqlite_replace(self, stale: list, batch: list[dict]) -> None:
        """Delete ``stale`` ``_id``s and insert ``batch`` in one sqlite transaction (private API).

        montydb's own ``write_many`` checks each new ``_id`` against a *list* of every stored
        key and its ``$in`` is a list scan per document (quadratic: 20,000 documents took
        minutes). The documents written here carry fresh ObjectIds, so they go through
        montydb's sqlite layer directly.
        """
        from bson import ObjectId
        from montydb.storage.sqlite import DELETE_RECORD, INSERT_RECORD, SQLITE_RECORD_TABLE
        from montydb.types import bson as monty_bson

        coll = self._collection
        writer = coll._storage
        for component in coll._components:
            writer = writer.contractor_cls(writer, component)
        if not writer._database.collection_exists(writer._name):
            writer._database.collection_create(writer._name)
        rows = []
        for doc in batch:
            doc.setdefault("_id", ObjectId())
            rows.append((monty_bson.id_encode(doc["_id"]), writer._encode_doc(doc, True)))
        with writer._conn._connect(writer._col_path, writer.wconcern) as conn:
            with conn:  # one transaction: commit on success, roll back on any error
                conn.executemany(DELETE_RECORD.format(SQLITE_RECORD_TABLE),
                                 [(monty_bson.id_encode(i),) for i in stale])
                conn.executemany(INSERT_RECORD.format(SQLITE_RECORD_TABLE), rows)


@functools.cache
def montydb_private_ok() -> bool:
    """Whether montydb's private sqlite layer writes what its public API writes (once per process).

    On a temporary store, one document is replaced through :meth:`FastMontyStore._sqlite_replace`
    and the same documents are written with the public ``insert_many`` / ``delete_many``; both
    collections are read back with the public ``find``. On any difference or exception (a
    montydb release that changed its internals), warns and returns False: upserts then use
    the public API. pyproject caps montydb at the versions this was verified with.
    """
    import tempfile
    import warnings
    from datetime import datetime, timezone
    from importlib.metadata import version

    old = {"k": "a", "v": 1}
    new = [{"k": "a", "v": [1.5, {"x": None}], "t": datetime(2024, 1, 2, tzinfo=timezone.utc)},
           {"k": "b", "v": "\u00e9"}]

    def read(collection) -> list[dict]:
        return sorted(({k: v for k, v in d.items() if k != "_id"} for d in collection.find({})),
                      key=lambda d: d["k"])

    reason = ""
    try:
        with tempfile.TemporaryDirectory(prefix="superionic-montydb-check-") as tmp:
            stores = [FastMontyStore(collection_name=name, database_path=tmp, database_name="check",
                                     storage="sqlite", key="k") for name in ("private", "public")]
            for store in stores:
                store.connect()
            private, public = (s._collection for s in stores)
            for coll in (private, public):
                coll.insert_many([dict(old)])
            stale = [d["_id"] for d in private.find({})]
            stores[0]._sqlite_replace(stale, [jsanitize(d, allow_bson=True) for d in new])
            public.delete_many({"k": "a"})
            public.insert_many([jsanitize(d, allow_bson=True) for d in new])
            got, expected = read(private), read(public)
            if got != expected:
                reason = f"read back {got}, the public API gives {expected}"
            for store in stores:
                store.close()
    except Exception as exc:  # noqa: BLE001 - any failure means: do not use the private path
        reason = f"{type(exc).__name__}: {exc}"
    if reason:
        warnings.warn(f"montydb {version('montydb')}: its private storage layer does not behave as superionic "
                      f"expects ({reason}); upserts use montydb's public API instead (correct, much slower on "
                      "large batches).", stacklevel=3)
    return not reason


class FastMemoryStore(_BulkUpsertMixin, MemoryStore):
    """maggma ``MemoryStore`` with a linear-time bulk upsert (tests only)."""


@dataclass
class ProjectStores:
    """The stores of one superionic project, opened from one spec."""

    spec: str
    materials: Store
    screening: Store
    features: Store
    models: Store
    predictions: Store
    diffusion: Store
    conductivity: Store
    funnel: Store
    potentials: Store
    evidence: Store
    jobs: Store
    data: Store
    _job_store: Any = field(default=None, repr=False)

    @property
    def safe_spec(self) -> str:
        """The spec for messages and logs: any password or key replaced by ``***``."""
        return redact(self.spec)

    @property
    def named(self) -> dict[str, Store]:
        """Every store by collection name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("spec", "_job_store")}

    def job_store(self):
        """A jobflow ``JobStore``: job outputs in ``jobs``, large objects in ``data``."""
        from jobflow import JobStore

        if self._job_store is None:
            self._job_store = JobStore(self.jobs, additional_stores={"data": self.data})
            self._job_store.connect()
        return self._job_store

    def close(self) -> None:
        for store in self.named.values():
            try:
                store.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


def _keys() -> dict[str, str]:
    return {
        "materials": "material_id",
        "screening": "material_id",
        "features": "formula",
        "models": "model_id",
        "predictions": "prediction_id",
        "diffusion": "doc_id",
        "conductivity": "conductivity_id",
        "funnel": "funnel_id",
        "potentials": "potential_id",
        "evidence": "evidence_id",
        "jobs": "uuid",
        "data": "blob_uuid",
    }


def _repo_store_dirs() -> list[Path]:
    """Where store spec names are looked up: ./stores, then the checkout's or wheel's."""
    from superionic.package_files import bundled_dir

    return [Path.cwd() / "stores", bundled_dir("stores")]


def resolve_spec(spec: str) -> dict[str, Any]:
    """Parse a spec string (or a spec file / name) into ``{"type": ..., ...}``."""
    spec = (spec or "").strip()
    if not spec:
        raise StoreSpecError("Empty store spec. Use monty://PATH, mongodb://HOST/DB or memory://.")
    if spec.startswith("memory://"):
        return {"type": "memory", "name": spec[len("memory://") :] or "superionic"}
    if spec.startswith("monty://"):
        path = spec[len("monty://") :]
        if not path:
            raise StoreSpecError(f"Store spec {spec!r} has no path: use monty://PATH (e.g. monty://./store).")
        return {"type": "monty", "path": str(Path(path).expanduser())}
    if spec.startswith(("mongodb://", "mongodb+srv://")):
        return {"type": "mongodb", "uri": spec}
    candidates = [Path(spec).expanduser()] + [d / f"{spec}.yaml" for d in _repo_store_dirs()]
    for path in candidates:
        if path.is_file():
            return _read_spec_file(path)
    raise StoreSpecError(
        f"Cannot open store spec {spec!r}: not monty://PATH, mongodb://HOST/DB, memory://, "
        "a spec file, or a name in stores/ (e.g. 'local', 'mongodb', 'memory')."
    )


def _read_spec_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise StoreSpecError(f"Store spec file {path} is not valid YAML: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("spec"), str):
        data = {**resolve_spec(os.path.expandvars(data["spec"])), **{k: v for k, v in data.items() if k != "spec"}}
    if not isinstance(data, dict) or data.get("type") not in ("monty", "mongodb", "memory"):
        raise StoreSpecError(
            f"Store spec file {path} must be a mapping with 'spec: monty://PATH | mongodb://... | "
            "memory://' (or 'type: monty|mongodb|memory' with 'path' / 'uri')."
        )
    if data["type"] == "monty":
        data["path"] = str(Path(os.path.expandvars(str(data.get("path", "~/.superionic/store")))).expanduser())
    return data


def _check_mongodb(uri: str, database: str) -> None:
    """Fail fast (seconds, not pymongo's 30 s default) when MongoDB is unreachable."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    try:
        client = MongoClient(uri, serverSelectionTimeoutMS=MONGO_TIMEOUT_MS)
        client.admin.command("ping")
        client.close()
    except PyMongoError as exc:
        raise StoreSpecError(
            f"Cannot reach MongoDB at {uri} (database {database!r}): {type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}. Is the server running (e.g. `docker compose -f "
            "docker/compose.yaml up -d`), and are host, port and credentials right? "
            "Use monty://PATH for the embedded on-disk store."
        ) from exc


def _make_store(resolved: dict[str, Any], collection: str, key: str) -> Store:
    prefix = resolved.get("collection_prefix", "")
    name = f"{prefix}{collection}"
    kind = resolved["type"]
    if kind == "memory":
        return FastMemoryStore(collection_name=f"{resolved['name']}.{name}", key=key)
    if kind == "monty":
        return FastMontyStore(
            collection_name=name,
            database_path=resolved["path"],
            database_name="superionic",
            storage="sqlite",
            key=key,
        )
    uri = resolved["uri"]
    database = resolved.get("database")
    if collection == "data":  # large objects (trajectories, surrogate binaries): GridFS, no 16 MB limit
        from maggma.stores import GridFSStore

        return GridFSStore(database=database, collection_name=name, uri=uri, key=key, compression=True,
                           mongoclient_kwargs={"serverSelectionTimeoutMS": MONGO_TIMEOUT_MS})
    return MongoStore(
        database=database,
        collection_name=name,
        uri=uri,
        key=key,
        mongoclient_kwargs={"serverSelectionTimeoutMS": MONGO_TIMEOUT_MS},
    )


def open_stores(spec: str | None = None, connect: bool = True) -> ProjectStores:
    """Open every store of a project from a spec (default: the settings' store spec)."""
    if spec is None:
        from superionic.settings import get_settings

        spec = get_settings().store_spec
    resolved = resolve_spec(spec)
    if resolved["type"] == "mongodb":
        from pymongo import uri_parser

        resolved.setdefault("database", uri_parser.parse_uri(resolved["uri"])["database"] or "superionic")
        if connect:
            _check_mongodb(resolved["uri"], resolved["database"])
    if resolved["type"] == "monty":
        try:
            Path(resolved["path"]).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreSpecError(
                f"Cannot create the store directory for {spec!r}: {exc}. Choose a writable "
                "path with --store monty://PATH or SUPERIONIC_STORE."
            ) from exc
    stores = {name: _make_store(resolved, name, key) for name, key in _keys().items()}
    project = ProjectStores(spec=spec, **stores)
    if connect:
        for name, store in project.named.items():
            try:
                store.connect()
            except Exception as exc:  # noqa: BLE001 - re-raised with the spec named
                raise StoreSpecError(f"Cannot open store {name!r} of spec {spec!r}: {exc}") from exc
        if resolved["type"] == "mongodb":
            ensure_indexes(project)
    return project


def ensure_indexes(project: ProjectStores) -> dict[str, list[str]]:
    """Index every collection on its key and ``last_updated`` (MongoDB); returns what was indexed.

    A backend that cannot index (montydb has no ``index_information``) is skipped, not fatal.
    """
    done: dict[str, list[str]] = {}
    for name, store in project.named.items():
        for field_name in dict.fromkeys([store.key, "last_updated"]):
            try:
                if store.ensure_index(field_name):
                    done.setdefault(name, []).append(field_name)
            except (NotImplementedError, AttributeError, TypeError):
                continue
    return done


def update_changed(store: Store, docs: list[dict], key: str, ignore: tuple[str, ...] = ("last_updated",)) -> int:
    """Upsert only documents that differ from the stored ones (ignoring ``ignore`` fields).

    Unchanged documents keep their ``last_updated``, so incremental builders downstream
    see nothing new after a rerun. Returns the number of documents written.
    """
    skip = {"_id", *ignore}

    def comparable(doc: dict) -> dict:
        return {k: v for k, v in jsanitize(doc, allow_bson=True).items() if k not in skip}

    keys = [d[key] for d in docs]
    stored = {d[key]: comparable(d) for d in store.query({key: {"$in": keys}} if len(keys) < 50 else {})}
    changed = [d for d in docs if stored.get(d[key]) != comparable(d)]
    if changed:
        store.update(changed, key=key)
    return len(changed)


def count(store: Store, criteria: dict | None = None) -> int:
    """Number of documents matching ``criteria``."""
    return store.count(criteria or {})


def iter_docs(store: Store, criteria: dict | None = None, properties: Iterable[str] | None = None):
    """Documents of ``store`` without montydb/mongo ``_id`` fields."""
    for doc in store.query(criteria=criteria or {}, properties=list(properties) if properties else None):
        doc.pop("_id", None)
        yield doc
