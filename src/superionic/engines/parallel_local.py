"""jobflow's local manager on several cores: MD jobs in worker processes, everything else here.

``jobflow.run_locally`` runs one job at a time, so a laptop run used one core while the MD of
independent temperatures and materials waited in line (every MD job is one torch thread, fixed so
that numbers do not depend on the load). :func:`run_jobs` keeps ``run_locally``'s semantics --
dependencies, dynamic responses (``replace``/``detour``/``addition``: the MD stage, extension
rounds), ``stop_children``/``stop_jobflow``, failures logged on ``jobflow.managers.local`` in its
format, the same ``{uuid: {index: Response}}`` -- and runs the jobs of kind "md"
(:func:`superionic.engines.cluster_settings.job_kind`: force-field relaxations and MD segments)
in up to ``workers`` spawned processes while this process runs the rest.

This process stays the one writer of the JobStore: a worker reads the project's stores (input
references, finished segments to take over, fine-tuned weights) and hands back what its job
would have written, which is written here before any job that needs it starts. That needs stores
another process can open (montydb on disk, MongoDB); with in-memory stores, or ``workers`` <= 1,
it is ``run_locally`` itself. A job's result does not depend on which process ran it or in which
order independent jobs finished (fixed seeds, one thread per MD job).

Workers are spawned (torch does not survive a fork), so a Python script that runs flows locally
needs the usual ``if __name__ == "__main__":`` guard; where workers cannot start, the MD jobs
run in this process with a warning. A worker that dies (memory, a signal) fails the jobs it held
and the next MD jobs get a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import tempfile
import threading
import traceback
import warnings
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobflow import Flow, Job, JobStore
from jobflow.core.flow import get_flow
from jobflow.core.reference import OnMissing
from monty.json import MontyDecoder, MontyEncoder, jsanitize

from superionic.engines.cluster_settings import job_kind

logger = logging.getLogger("jobflow.managers.local")  # run_locally's logger: failures are caught there

MAX_AUTO_WORKERS = 4
"""``workers=0`` means one per CPU core, at most this many."""


def resolve_workers(workers: int | None = None) -> int:
    """Worker processes for MD jobs: ``workers`` if given, else the settings' ``local_workers``;
    0 = one per CPU core available to this process (at most :data:`MAX_AUTO_WORKERS`)."""
    if workers is None:
        from superionic.settings import get_settings

        workers = get_settings().local_workers
    if workers < 0:
        raise ValueError(f"local_workers must be >= 0, got {workers}")
    if workers == 0:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        workers = min(cores, MAX_AUTO_WORKERS)
    return workers


def shareable(store: JobStore) -> bool:
    """Whether another process can open the same stores (none of them in memory)."""
    from superionic.engines.store_source import job_store_locations

    return all(location.kind != "memory" for location in job_store_locations(store).values())


# ----------------------------------------------------------------------------------------------
# worker side
class _RecordingStore:
    """A maggma Store in a worker: reads go to the project's store, writes are kept for the parent
    (also those a job makes itself, such as fine-tuned weights put in the data store)."""

    def __init__(self, store, name: str | None, writes: list) -> None:
        self._store, self._name, self._writes = store, name, writes

    def __getattr__(self, attr: str):
        return getattr(self._store, attr)

    def update(self, docs, key=None) -> None:
        docs = docs if isinstance(docs, list) else [docs]
        docs = [{k: v for k, v in d.items() if k != "_id"} for d in jsanitize(docs, strict=True, allow_bson=True)]
        self._writes.append((self._name, docs, key))

    def remove_docs(self, criteria) -> None:
        raise RuntimeError("a job in a worker process cannot remove documents: run it with local_workers=1")


_worker: dict[str, Any] = {"writes": []}
RESPONSE_FIELDS = ("output", "detour", "addition", "replace", "stored_data", "stop_children", "stop_jobflow")


def _init_worker(store_json: str, events, warning_filters: list) -> None:
    from superionic.md.engines import progress

    warnings.filters[:] = warning_filters  # the command line's quieting of library chatter
    store = JobStore.from_dict(json.loads(store_json))
    store.connect()
    writes = _worker["writes"]
    store.docs_store = _RecordingStore(store.docs_store, None, writes)
    store.additional_stores = {name: _RecordingStore(s, name, writes) for name, s in store.additional_stores.items()}
    _worker["store"] = store
    progress.add_listener(events.put)


def _run_in_worker(job_json: str, job_dir: str | None) -> dict:
    """Run one job; returns its response (as MSON) and writes, or the traceback."""
    store: JobStore = _worker["store"]
    writes = _worker["writes"]
    writes.clear()
    job: Job = json.loads(job_json, cls=MontyDecoder)
    try:
        with tempfile.TemporaryDirectory(prefix="superionic-job-") as tmp, contextlib.chdir(job_dir or tmp):
            response = job.run(store=store)
    except Exception:  # noqa: BLE001 - reported like run_locally reports it
        from jobflow import CURRENT_JOB

        CURRENT_JOB.reset()
        return {"traceback": traceback.format_exc()}
    fields = {name: getattr(response, name) for name in RESPONSE_FIELDS}
    return {"response": json.dumps(fields, cls=MontyEncoder), "writes": list(writes)}


# ----------------------------------------------------------------------------------------------
# parent side
@dataclass
class _Node:
    job: Job
    parents: set[str]
    owner: tuple | None = None  # the job whose response added this one
    job_dir: str = ""
    state: str = "pending"  # pending -> running -> ran -> done
    waiting: set = field(default_factory=set)  # jobs of its diversions not done yet

    @property
    def key(self) -> tuple[str, int]:
        return (self.job.uuid, self.job.index)


class _Scheduler:
    def __init__(self, store: JobStore, workers: int, root_dir: Path, create_folders: bool) -> None:
        self.store, self.workers = store, workers
        self.root_dir, self.create_folders = root_dir, create_folders
        self.nodes: dict[tuple, _Node] = {}
        self.responses: dict[str, dict[int, Any]] = defaultdict(dict)
        self.errored: set[str] = set()
        self.stopped: set[str] = set()
        self.stop_all = False
        self.unfinished: dict[str, int] = defaultdict(int)  # uuid -> its jobs (all indices) not done
        self.running: dict[Future, _Node] = {}
        self.pool: ProcessPoolExecutor | None = None
        self.pool_broken = False
        self.events = None
        self._pump: threading.Thread | None = None

    # -- graph ---------------------------------------------------------------------------------
    def add(self, flow: Flow, owner: tuple | None = None) -> set[tuple]:
        keys = set()
        for job, parents in flow.iterflow():
            node = _Node(job, set(parents), owner)
            self.nodes[node.key] = node
            self.unfinished[job.uuid] += 1
            keys.add(node.key)
        return keys

    def _ready(self) -> list[_Node]:
        """Pending jobs whose parents are done (with every job their responses added), oldest first."""
        return [n for n in self.nodes.values()  # dicts keep insertion order: oldest first
                if n.state == "pending" and not any(self.unfinished[p] for p in n.parents)]

    def _done(self, node: _Node) -> None:
        node.state = "done"
        self.unfinished[node.job.uuid] -= 1
        owner = self.nodes.get(node.owner) if node.owner else None
        if owner is not None:
            owner.waiting.discard(node.key)
            if owner.state == "ran" and not owner.waiting:
                self._done(owner)

    def _failed(self, node: _Node, tb: str | None = None) -> None:
        if tb is not None:
            logger.info(f"{node.job.name} failed with exception:\n{tb}")
        self.errored.add(node.job.uuid)
        self._done(node)

    def _finish(self, node: _Node, response) -> None:
        """What run_locally does with a job's response."""
        self.responses[node.job.uuid][node.job.index] = response
        if response.stored_data is not None:
            logger.warning("Response.stored_data is not supported with local manager.")
        if response.stop_children:
            self.stopped.add(node.job.uuid)
        if response.stop_jobflow:
            self.stop_all = True
        node.state = "ran"
        for diversion in (response.replace, response.detour, response.addition):
            if diversion is not None and not self.stop_all:
                node.waiting |= self.add(diversion, owner=node.key)
        if not node.waiting:
            self._done(node)

    def _skip(self, node: _Node) -> bool:
        """run_locally's checks before a job runs: stopped parents, errored parents."""
        if self.stopped & node.parents:
            logger.info(f"{node.job.name} is a child of a job with stop_children=True, skipping...")
            self.stopped.add(node.job.uuid)
            self._done(node)
            return True
        if self.errored & node.parents and node.job.config.on_missing_references == OnMissing.ERROR:
            self._failed(node)
            return True
        return False

    def _job_dir(self) -> str | None:
        """A folder per job with ``create_folders`` (as run_locally's), else None: the root folder
        here, a temporary one in a worker (two MD jobs must not write the same files)."""
        if not self.create_folders:
            return None
        return tempfile.mkdtemp(prefix="job_", dir=self.root_dir)

    # -- running -------------------------------------------------------------------------------
    def _run_here(self, node: _Node) -> None:
        node.state = "running"
        node.job_dir = job_dir = self._job_dir() or str(self.root_dir)
        try:
            with contextlib.chdir(job_dir):
                response = node.job.run(store=self.store)
        except Exception:  # noqa: BLE001 - run_locally's behaviour
            self._failed(node, traceback.format_exc())
            return
        response.job_dir = Path(job_dir)
        self._finish(node, response)

    def _start_pool(self) -> bool:
        """Start the workers; False (and MD jobs run here from now on) when they cannot start."""
        context = multiprocessing.get_context("spawn")  # torch and fork do not mix
        self.events = context.Queue()
        store_json = json.dumps(self.store.as_dict(), cls=MontyEncoder)
        self.pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                        initargs=(store_json, self.events, list(warnings.filters)))
        self._pump = threading.Thread(target=self._forward_events, daemon=True)
        self._pump.start()
        try:
            self.pool.submit(os.getpid).result()
        except Exception as exc:  # noqa: BLE001 - e.g. a script without `if __name__ == "__main__":`
            warnings.warn(f"the MD worker processes could not start ({type(exc).__name__}: {exc}); the MD jobs "
                          "run one at a time in this process. (A script that runs superionic flows needs "
                          "`if __name__ == \"__main__\":` around it, as any multiprocessing program; or set "
                          "SUPERIONIC_LOCAL_WORKERS=1.)", RuntimeWarning, stacklevel=2)
            self._close()
            self.pool, self.workers = None, 0
            return False
        return True

    def _forward_events(self) -> None:
        from superionic.md.engines import progress

        while True:
            event = self.events.get()
            if event is None:
                return
            progress._emit(event)

    def _dispatch(self, node: _Node) -> None:
        if self.pool_broken:  # a worker died (memory, a signal): its jobs failed, the next ones get a new pool
            self._close()
            self.pool, self.pool_broken = None, False
        if self.pool is None and not self._start_pool():
            return  # the node stays pending and runs here
        node.state = "running"
        job_dir = self._job_dir()
        node.job_dir = job_dir or str(self.root_dir)
        self.running[self.pool.submit(_run_in_worker, json.dumps(node.job, cls=MontyEncoder), job_dir)] = node

    def _collect(self, future: Future) -> None:
        node = self.running.pop(future)
        try:
            result = future.result()
        except BrokenProcessPool:  # every job running in it fails with this
            self.pool_broken = True
            self._failed(node, traceback.format_exc())
            return
        if "traceback" in result:
            self._failed(node, result["traceback"])
            return
        for name, docs, key in result["writes"]:
            target = self.store.docs_store if name is None else self.store.additional_stores[name]
            target.update(docs, key=key)
        from jobflow import Response

        response = Response(**json.loads(result["response"], cls=MontyDecoder), job_dir=Path(node.job_dir))
        self._finish(node, response)

    def run(self, flow: Flow) -> dict:
        self.add(flow)
        try:
            while True:
                for future in [f for f in self.running if f.done()]:
                    self._collect(future)
                ready = [] if self.stop_all else self._ready()
                here = None
                for node in ready:
                    if self._skip(node):
                        continue
                    if job_kind(node.job.name) == "md" and self.workers:
                        if len(self.running) < self.workers:
                            self._dispatch(node)
                    elif here is None:
                        here = node
                if here is not None:
                    self._run_here(here)
                    continue
                if self.running:
                    wait(list(self.running), return_when=FIRST_COMPLETED)
                    continue
                if self.stop_all or not self._ready():
                    break
        finally:
            self._close()
        return dict(self.responses)

    def _close(self) -> None:
        if self.pool is None:
            return
        for future in [f for f in self.running if f.done() and not f.cancelled()]:
            with contextlib.suppress(BaseException):  # interrupted: store what finished, lose what runs
                self._collect(future)
        if self.running:
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.events.put(None)  # after every worker's own events (their queues flush on exit)
        self._pump.join()


def run_jobs(flow: Flow | Job | list[Job], store: JobStore, workers: int | None = None,
             root_dir: str | Path | None = None, create_folders: bool = False,
             log: bool = False) -> dict[str, dict[int, Any]]:
    """``run_locally(flow, store=store, ensure_success=False, ...)`` with MD jobs on ``workers``
    processes (module docstring); ``workers``: None = the settings' ``local_workers``."""
    workers = resolve_workers(workers)
    if workers <= 1 or not shareable(store):
        from jobflow import run_locally

        return run_locally(flow, store=store, log=log, ensure_success=False, root_dir=root_dir,
                           create_folders=create_folders)
    root = Path.cwd() if root_dir is None else Path(root_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    store.connect()
    if log:
        from jobflow import initialize_logger

        initialize_logger()
    logger.info("Started executing jobs locally")
    responses = _Scheduler(store, workers, root, create_folders).run(get_flow(flow))
    logger.info("Finished executing jobs locally")
    return responses
