"""A two-job Flow that checks an engine set-up end to end in seconds.

``superionic submit --what check`` sends it through any engine before a long discovery: the
first job screens a few materials of the bundled snapshot (so the worker imports superionic
and its data), the second opens the project stores from their reference (so the worker
reaches them and holds their credentials: :mod:`superionic.engines.store_ref`) and receives
the first job's output by reference (so the engine passes outputs). Both outputs land in the
JobStore; nothing is written to the project's collections, and no password travels.
"""

from __future__ import annotations

import socket
import sys

from jobflow import Flow, JobConfig, job

from superionic.engines.store_ref import resolve_reference, store_reference


@job
def screen_sample(limit: int = 20) -> dict:
    """Screen the first ``limit`` materials of the bundled snapshot with the default screens."""
    from superionic import __version__
    from superionic.screening.criteria import default_criteria
    from superionic.screening.funnel import screen_all
    from superionic.sources import load_source

    corpus = load_source("snapshot", limit=limit)
    docs = screen_all(corpus.materials, default_criteria())
    return {
        "n_screened": len(docs),
        "passed": sorted(d.material_id for d in docs if d.passed),
        "host": socket.gethostname(),
        "python": sys.executable,
        "superionic_version": __version__,
    }


@job(config=JobConfig(expose_store=True))
def reach_stores(store: str, sample: dict) -> dict:
    """Open the project stores of reference ``store`` on the worker and count the materials."""
    from jobflow import CURRENT_JOB

    from superionic.stores import open_stores

    stores = open_stores(resolve_reference(store, CURRENT_JOB.store))
    try:
        n_materials = stores.materials.count()
    finally:
        stores.close()
    return {**sample, "store": store, "n_materials_in_store": n_materials}


def make_check_flow(store_spec: str, limit: int = 20) -> Flow:
    """The check flow: ``screen_sample(limit)`` -> ``reach_stores(reference of store_spec, ...)``."""
    sample = screen_sample(limit)
    sample.name = "engine check: screen sample"
    stores = reach_stores(store_reference(store_spec), sample.output)
    stores.name = "engine check: reach stores"
    return Flow([sample, stores], output=stores.output, name="superionic engine check")
