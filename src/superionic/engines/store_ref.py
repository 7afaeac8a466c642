"""What a job is told about the project store: a reference that holds no credential.

A flow is saved where others read it (the FireWorks LaunchPad, the jobflow-remote queue, the
JobStore's inputs), so no job argument may carry a password. :func:`store_reference` turns
the spec the user gave into what a job receives: the spec itself when it holds no secret
(``monty://PATH``, ``mongodb://host/db``, a name from ``stores/``, resolved on the worker
with its own environment), else its redacted form (``mongodb://alice:***@host/db``).

:func:`resolve_reference` runs on the worker and finds the full spec among what that machine
already holds, first match:

1. the specs this process turned into references (local runs, ``rlaunch`` here);
2. ``SUPERIONIC_STORE`` (or ``store:`` in ``~/.superionic.yaml``) on the worker;
3. the JobStore the job runs under (jobflow-remote's project, the worker's jobflow
   ``JOB_STORE``), when the job asks for it (``JobConfig(expose_store=True)``);
4. jobflow's configured ``JOB_STORE`` on the worker.

A candidate matches when it opens the same collections (hosts, database) as the reference.
"""

from __future__ import annotations

from functools import lru_cache

from superionic.engines.base import EngineError
from superionic.redaction import MASK, redact

_HELD: dict[str, str] = {}
"""Reference -> full spec, for specs this process was given (never serialized)."""


def holds_secret(text: str) -> bool:
    """Whether ``text`` carries a password, key or token (:func:`redact` would change it)."""
    return redact(text) != text


def store_reference(spec: str) -> str:
    """What a job receives instead of ``spec``: ``spec`` without its secret (kept in this process)."""
    if not holds_secret(spec):
        return spec
    reference = redact(spec)
    _HELD[reference] = spec
    return reference


def _candidates(job_store=None):
    """Full specs this machine holds, in the order of the module docstring."""
    from superionic.engines.store_source import configured_jobflow_job_store, spec_for_job_store
    from superionic.settings import get_settings

    yield from _HELD.values()
    if get_settings().store:
        yield get_settings().store
    for store in (job_store, configured_jobflow_job_store()):
        if store is not None:
            try:
                yield spec_for_job_store(store)
            except EngineError:  # a JobStore superionic cannot open its collections beside
                continue


def resolve_reference(reference: str, job_store=None) -> str:
    """The full spec for ``reference`` from what this machine holds; ``EngineError`` if none."""
    if MASK not in reference:
        return reference
    from superionic.engines.store_source import spec_job_store_locations

    wanted = spec_job_store_locations(reference)
    for spec in _candidates(job_store):
        try:
            if spec_job_store_locations(spec) == wanted:
                return spec
        except Exception:  # noqa: BLE001 - an unreadable candidate is no match
            continue
    raise EngineError(
        f"This job was given the store {reference}; its password does not travel with jobs. On this "
        "worker set SUPERIONIC_STORE to the full spec, or configure jobflow's JOB_STORE (config/jobflow.yaml) "
        "or the jobflow-remote project's jobstore for the same database."
    )


@lru_cache(maxsize=8)
def project_stores(spec: str):
    """Stores of a spec, opened once per process (so memory:// specs share data)."""
    from superionic.stores import open_stores

    return open_stores(spec)


def open_reference(reference: str):
    """The project stores of ``reference`` on this machine, opened once per process.

    Inside a job that runs with ``expose_store=True``, the JobStore it runs under is a candidate.
    """
    from jobflow import CURRENT_JOB

    return project_stores(resolve_reference(reference, CURRENT_JOB.store))
