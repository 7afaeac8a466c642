"""Checkpoint keys: find the finished result of an identical earlier job in the JobStore.

A key is a hash of everything that determines a job's result (the input cell, the settings,
and for an MD segment the previous segment's key). A job that is exposed to its store
(``JobConfig(expose_store=True)``) looks its key up before computing; when an earlier,
interrupted run of the same flow finished that job, its output is taken over.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np
from pymatgen.core import Structure

logger = logging.getLogger(__name__)


def structure_fingerprint(structure: Structure) -> str:
    """Hash of a structure that survives a JSON round trip (rounded lattice and positions)."""
    payload = {
        "lattice": np.round(structure.lattice.matrix, 5).tolist(),
        "species": [str(s) for s in structure.species],
        "frac": np.round(structure.frac_coords, 6).tolist(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def segment_key(previous_key: str, **parameters: Any) -> str:
    """Chain hash: the previous segment's key (or the cell fingerprint) plus this segment."""
    payload = json.dumps({"previous": previous_key, **parameters}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def find_finished_segment(key: str) -> dict | None:
    """A completed segment with this key from an earlier job in the current JobStore, without
    its trajectory (the taker-over stores a pointer, ``reused_from``, not a copy)."""
    found = find_finished({"output.segment_key": key, "output.status": "completed"}, load=False)
    if found is not None:
        found["output"].pop("trajectory", None)  # a data-store reference, not loaded
    return found


def find_finished(criteria: dict[str, Any], load: bool = True) -> dict | None:
    """The output document of an earlier job (not the running one) matching ``criteria`` in the
    running job's JobStore (with ``load``, its fields in additional stores loaded)."""
    from superionic.running_job import job_store, job_uuid

    store, running = job_store(), job_uuid()
    if store is None:
        return None
    criteria = dict(criteria)
    if running:
        criteria["uuid"] = {"$ne": running}
    try:
        return store.query_one(criteria, load=load)
    except Exception as exc:  # noqa: BLE001 - a store that cannot answer means: run the job
        logger.warning("could not look up a finished job %s: %s", criteria, exc)
        return None


def decoded(data: Any) -> Any:
    """A stored (JSON) output back as objects (monty decoding of allowed modules only,
    :func:`superionic.safe_json.decode`)."""
    from superionic.safe_json import decode

    return decode(data, "a stored job output")
