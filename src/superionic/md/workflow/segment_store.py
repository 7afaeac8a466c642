"""Reading an MD run's production trajectory from the JobStore, where each segment stores it once.

An :class:`~superionic.schemas.md_runs.MDRunDoc` holds no trajectory, only
:class:`~superionic.schemas.md_runs.TrajectoryRef` pointers (job uuid + path in its output)
to its production segments. :func:`run_trajectory` loads them (jobflow's
``JobStore.query_one(..., load=True)``, only the trajectory field) and joins them:

* force-field segments (``path="trajectory"``): chunks that share their boundary frame,
  joined by :func:`join_segment_trajectories`; a segment output that
  holds no trajectory but a ``reused_from`` (taken over by a rerun) is followed to the job
  that stored it;
* atomate2 VASP task documents (``path="vasp_objects.trajectory"``): every ionic step,
  concatenated and thinned to one frame every ``save_interval_steps``
  (:func:`vasp_production_trajectory`).

A document of an earlier version that still carries its joined ``trajectory`` inline is
returned as it is. Nothing here writes to a store.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymatgen.core.trajectory import Trajectory

from superionic.safe_json import decode
from superionic.schemas.md_runs import MDRunDoc, TrajectoryRef

MAX_POINTER_HOPS = 10


class TrajectoryNotFound(LookupError):
    """A segment's trajectory is not in the JobStore (job or data blob missing)."""


def _get_path(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if doc is None:
            return None
        doc = doc.get(part) if isinstance(doc, dict) else getattr(doc, part, None)
    return doc


def _as_trajectory(value: Any) -> Trajectory | None:
    if value is None or isinstance(value, Trajectory):
        return value
    value = decode(value, "a stored trajectory")
    return value if isinstance(value, Trajectory) else Trajectory.from_dict(value)


def join_segment_trajectories(trajectories: list[Trajectory], frame_interval_fs: float) -> Trajectory:
    """Consecutive chunks (each starting with the previous chunk's last frame) -> one trajectory."""
    if not trajectories:
        raise ValueError("no trajectory chunks to join")
    coords, props = [], []
    lattice = None
    species = None
    for i, traj in enumerate(trajectories):
        c = np.asarray(traj.coords, dtype=float)
        lat = np.asarray(traj.lattice, dtype=float)
        lat = lat[0] if lat.ndim == 3 else lat
        p = list(traj.frame_properties or [{} for _ in range(len(c))])
        if i == 0:
            lattice, species = lat, [str(s) for s in traj.species]
        else:
            if [str(s) for s in traj.species] != species or not np.allclose(lat, lattice, atol=1e-6):
                raise ValueError(f"chunk {i} has other species or another cell than chunk 0")
            if not np.allclose(c[0], coords[-1][-1], atol=1e-5):
                raise ValueError(f"chunk {i} does not start where chunk {i - 1} ended")
            c, p = c[1:], p[1:]
        coords.append(c)
        props.extend(p)
    return Trajectory(
        lattice=lattice,
        species=species,
        coords=np.concatenate(coords, axis=0),
        frame_properties=props,
        constant_lattice=True,
        time_step=frame_interval_fs,
    )


def vasp_task_trajectory(task: Any) -> Trajectory | None:
    """The trajectory an atomate2 VASP MD task document holds (object or dict form)."""
    if task is None:
        return None
    task = decode(task, "a VASP task document") if isinstance(task, dict) else task
    objects = task.get("vasp_objects") if isinstance(task, dict) else getattr(task, "vasp_objects", None)
    for key, value in (objects or {}).items():
        if str(getattr(key, "value", key)).lower() == "trajectory" and value is not None:
            return value if isinstance(value, Trajectory) else Trajectory.from_dict(value)
    return None


def load_segment_trajectory(store, ref: TrajectoryRef) -> Trajectory:
    """The trajectory one ref points at (following ``reused_from`` pointers), loaded from the
    JobStore ``store``; :class:`TrajectoryNotFound` when it is not there."""
    uuid = ref.uuid
    for _ in range(MAX_POINTER_HOPS):
        if ref.path == "vasp_objects.trajectory":
            found = store.query_one({"uuid": uuid}, properties=["uuid", "output.vasp_objects"],
                                    sort={"index": -1}, load=True)
            if found is None:
                break
            traj = vasp_task_trajectory({"vasp_objects": (found.get("output") or {}).get("vasp_objects")})
            if traj is None:
                break
            return traj
        found = store.query_one({"uuid": uuid}, properties=["uuid", f"output.{ref.path}", "output.reused_from"],
                                sort={"index": -1}, load=True)
        if found is None:
            break
        traj = _as_trajectory(_get_path(found.get("output"), ref.path))
        if traj is not None:
            return traj
        pointer = (found.get("output") or {}).get("reused_from")
        if not pointer or pointer == uuid:
            break
        uuid = pointer
    raise TrajectoryNotFound(f"no trajectory stored for segment {ref.index} (job {ref.uuid}, {ref.path})")


def vasp_production_trajectory(trajectories: list[Trajectory], save_interval_steps: int,
                               time_step_fs: float) -> Trajectory:
    """atomate2 VASP MD trajectories (every ionic step, consecutive segments) -> one
    trajectory keeping every ``save_interval_steps``-th step, with the DFT potential energy
    per frame (VASP 5 MD ionic steps put something else in "energy")."""
    frames, energies = [], []
    for t in trajectories:
        props = t.frame_properties or [{} for _ in range(len(t))]
        frames.extend(t[k] for k in range(len(t)))
        energies.extend(p.get("e_wo_entrp", p.get("energy")) for p in props)
    step = save_interval_steps
    props = [{"energy": e, "temperature": None} for e in energies[::step]]
    traj = Trajectory.from_structures(frames[::step], frame_properties=props, constant_lattice=True)
    traj.time_step = time_step_fs * step
    return traj


def _given(ref: TrajectoryRef, given: dict[str, Any]) -> Trajectory | None:
    """The segment's trajectory among ``given`` (job uuid -> the job's stored trajectory, or for
    VASP its ``vasp_objects``, as jobflow resolved it), None when it is not there."""
    value = given.get(ref.job_uuid or ref.uuid)
    if value is None:
        return None
    if ref.path == "vasp_objects.trajectory":
        return vasp_task_trajectory({"vasp_objects": value})
    return _as_trajectory(value)


def run_trajectory(run: MDRunDoc, store=None, given: dict[str, Any] | None = None) -> Trajectory | None:
    """The production trajectory of ``run``: inline (documents of earlier versions), else its
    segments joined, each taken from ``given`` (job uuid -> trajectory, resolved by the workflow
    manager) or else loaded from the JobStore ``store``; None when it has neither."""
    if run.trajectory is not None:
        return run.trajectory
    refs = sorted(run.production_segments, key=lambda r: r.index)
    if not refs:
        return None
    trajs = []
    for ref in refs:
        traj = _given(ref, given or {})
        if traj is None:
            if store is None:
                raise TrajectoryNotFound(f"{run.run_id}: segment {ref.index}'s trajectory is in the JobStore, "
                                         "and no store was given")
            traj = load_segment_trajectory(store, ref)
        trajs.append(traj)
    if refs[0].path == "vasp_objects.trajectory":
        return vasp_production_trajectory(trajs, run.save_interval_steps, run.time_step_fs)
    return join_segment_trajectories(trajs, run.frame_interval_fs)


def with_trajectory(run: MDRunDoc, store=None, given: dict[str, Any] | None = None) -> MDRunDoc:
    """A copy of ``run`` (in memory, never to be stored) with its production trajectory
    loaded (:func:`run_trajectory`)."""
    if run.trajectory is not None:
        return run
    return run.model_copy(update={"trajectory": run_trajectory(run, store, given)})
