"""Per-temperature bookkeeping: segments -> one MD run document -> diffusion analysis.

* :func:`collect_forcefield_run` / :func:`collect_vasp_run` (jobs): an
  :class:`~superionic.schemas.md_runs.MDRunDoc` per temperature, ``status="failed"`` with the
  reason when any segment failed or a VASP job did not finish. It stores no trajectory:
  ``production_segments`` points at the segment (or VASP task) outputs that hold them, so
  each trajectory is stored once, by the job that computed it.
* :func:`analyze_md_run` (job): loads and joins the production trajectory from the JobStore
  (:mod:`superionic.md.workflow.segment_store`; the job is given its store) and runs the analysis
  developer's ``diffusion_from_trajectory`` on a completed run; a failed run becomes a
  ``DiffusionDoc`` with ``usable=False`` and the MD's reason, so the Arrhenius fit goes on
  with the other temperatures.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from jobflow import job
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

from superionic.md.presets import MDPreset
from superionic.running_job import job_store
from superionic.safe_json import decode
from superionic.md.workflow.segment_store import vasp_task_trajectory
from superionic.schemas.md_runs import MDRunDoc, MDSegmentDoc, TrajectoryRef

logger = logging.getLogger(__name__)


def _as_segment(doc: Any) -> MDSegmentDoc | None:
    if doc is None or isinstance(doc, MDSegmentDoc):
        return doc
    return MDSegmentDoc.model_validate(decode(doc, "an MD segment output"))


def run_id(material_id: str | None, formula: str, engine: str, preset: str, temperature: float) -> str:
    return f"{material_id or formula}:{engine}:{preset}:{temperature:.0f}K"


def _temperature_stats(traj: Trajectory | None) -> tuple[float | None, float | None]:
    if traj is None or not traj.frame_properties:
        return None, None
    temps = np.array([p.get("temperature") for p in traj.frame_properties if p.get("temperature") is not None])
    if len(temps) < 2:
        return None, None
    return float(temps[1:].mean()), float(temps[1:].std())


def pooled_temperature(segments: list[MDSegmentDoc]) -> tuple[float | None, float | None]:
    """Mean and standard deviation of the temperature over joined production segments, from
    the segments' own statistics (each over its frames but the first, which is the previous
    segment's last): the same numbers as over the joined trajectory without its first frame."""
    parts = [(d.n_frames - 1, d.mean_temperature, d.std_temperature) for d in segments
             if d.n_frames > 1 and d.mean_temperature is not None and d.std_temperature is not None]
    n = sum(k for k, _, _ in parts)
    if len(parts) != len(segments) or n < 1:
        return None, None
    mean = sum(k * m for k, m, _ in parts) / n
    second = sum(k * (s * s + m * m) for k, m, s in parts) / n
    return float(mean), float(np.sqrt(max(second - mean * mean, 0.0)))


def _run_fields(engine: str, preset: MDPreset, temperature: float, material_id: str | None,
                formula: str, n_sites: int, failure: str | None) -> dict[str, Any]:
    """The ``MDRunDoc`` fields every engine fills the same way (identity, preset, status)."""
    return {
        "run_id": run_id(material_id, formula, engine, preset.name, temperature),
        "material_id": material_id,
        "formula": formula,
        "engine": engine,
        "preset": preset.name,
        "is_quick": preset.is_quick,
        "temperature": float(temperature),
        "time_step_fs": preset.time_step_fs,
        "save_interval_steps": preset.save_interval_steps,
        "n_sites": n_sites,
        "status": "failed" if failure else "completed",
        "failure_reason": failure,
        "equilibration_steps": preset.equilibration_steps,
        "production_steps": preset.production_steps,
    }


@job(output_schema=MDRunDoc)
def collect_forcefield_run(
    segments: list[MDSegmentDoc | dict | None],
    preset: MDPreset | dict,
    temperature: float,
    supercell: dict | None = None,
    material_id: str | None = None,
    segment_uuids: list[str] | None = None,
    relaxation: dict | None = None,
) -> MDRunDoc:
    """Force-field segments of one temperature -> ``MDRunDoc`` pointing at the production
    segments' stored trajectories (``segment_uuids``: the segment jobs, in the order of
    ``segments``; a reused segment points at the job it reuses)."""
    preset = preset if isinstance(preset, MDPreset) else MDPreset(**preset)
    docs = [_as_segment(d) for d in segments]
    uuids = list(segment_uuids or [])
    present = [d for d in docs if d is not None]
    formula = present[0].formula if present else (supercell or {}).get("formula", "unknown")
    n_sites = present[0].n_sites if present else int((supercell or {}).get("n_sites", 0))
    failure = None
    for i, d in enumerate(docs):
        if d is None:
            failure = f"segment job {i} did not run (error in the job; see the job log)"
            break
        if d.status != "completed":
            failure = f"{d.stage} segment {d.index + 1}/{d.n_segments_in_stage} {d.status}: {d.failure_reason}"
            break
    refs, production = [], []
    for i, d in enumerate(docs):
        if d is None or d.stage != "production" or d.status != "completed" or d.n_frames < 1:
            continue
        job_uuid = uuids[i] if i < len(uuids) else None
        owner = d.reused_from or job_uuid
        if owner is None:
            raise ValueError(f"production segment {d.index}: no job uuid to point at (pass segment_uuids)")
        production.append(d)
        refs.append(TrajectoryRef(uuid=owner, job_uuid=job_uuid, index=d.index, n_frames=d.n_frames,
                                  start_step=d.start_step, end_step=d.end_step))
    interval = preset.save_interval_steps * preset.time_step_fs
    mean_t, std_t = pooled_temperature(production)
    n_frames = sum(d.n_frames for d in production) - max(len(production) - 1, 0)  # shared boundary frames
    return MDRunDoc(
        **_run_fields("forcefield", preset, temperature, material_id, formula, n_sites, failure),
        force_field=present[0].force_field if present else None,
        production_steps_done=sum(d.n_steps for d in production),
        n_segments=len(docs),
        n_segments_reused=sum(1 for d in present if d.reused_from),
        steps_run=sum(d.steps_run for d in present),
        production_segments=refs,
        n_frames=n_frames,
        frame_interval_fs=interval,
        mean_temperature=mean_t,
        std_temperature=std_t,
        wall_time_s=float(sum(d.wall_time_s or 0.0 for d in present if not d.reused_from)),
        supercell=dict(supercell or {}),
        relaxation=dict(relaxation or {}),
        segment_uuids=uuids,
    )


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def vasp_functional(tasks: list[Any]) -> str | None:
    """The DFT functional of atomate2 VASP task documents (object or dict form): their
    ``run_type`` (emmet's, e.g. 'PBE', 'PBEsol', 'r2SCAN'), else emmet's ``run_type`` of
    their input parameters; None when no task says."""
    for task in tasks:
        if task is None:
            continue
        value = _field(task, "run_type")
        if value is None:
            parameters = _field(_field(task, "input") or {}, "parameters")
            if parameters:
                from emmet.core.vasp.calc_types.utils import run_type

                value = run_type(dict(parameters))
        if value is not None:
            return str(getattr(value, "value", value))
    return None


@job(output_schema=MDRunDoc)
def collect_vasp_run(
    production_tasks: list[Any],
    preset: MDPreset | dict,
    temperature: float,
    supercell: dict | None = None,
    material_id: str | None = None,
    segment_uuids: list[str] | None = None,
    production_uuids: list[str] | None = None,
) -> MDRunDoc:
    """atomate2 VASP MD task documents of the production segments -> ``MDRunDoc`` pointing at
    those task documents' trajectories (``production_uuids``: their jobs, in order).

    VASP writes every ionic step (the trajectory's frames are 1 step apart); a reader keeps
    one frame every ``save_interval_steps``
    (:func:`superionic.md.workflow.segment_store.vasp_production_trajectory`).
    """
    preset = preset if isinstance(preset, MDPreset) else MDPreset(**preset)
    trajs = [vasp_task_trajectory(t) for t in production_tasks]
    failure = None
    for i, t in enumerate(trajs):
        if t is None:
            failure = f"VASP production segment {i + 1}/{len(trajs)} did not finish or has no trajectory"
            break
    good = [t for t in trajs if t is not None]
    formula = good[0][0].composition.reduced_formula if good else (supercell or {}).get("formula", "unknown")
    n_sites = len(good[0][0]) if good else int((supercell or {}).get("n_sites", 0))
    uuids = list(production_uuids or [])
    refs, n_frames = [], 0
    if good and not failure:
        if len(uuids) != len(trajs):
            raise ValueError("collect_vasp_run needs the production jobs' uuids (production_uuids) to point at")
        start = 0
        for i, (uuid, t) in enumerate(zip(uuids, trajs)):
            refs.append(TrajectoryRef(uuid=uuid, job_uuid=uuid, path="vasp_objects.trajectory", index=i,
                                      n_frames=len(t), start_step=start, end_step=start + len(t)))
            start += len(t)
        n_frames = len(range(0, start, preset.save_interval_steps))
    return MDRunDoc(
        **_run_fields("vasp", preset, temperature, material_id, formula, n_sites, failure),
        functional=vasp_functional(production_tasks),
        production_steps_done=sum(len(t) for t in good),
        n_segments=len(production_tasks),
        production_segments=refs,
        n_frames=n_frames,
        frame_interval_fs=preset.time_step_fs * preset.save_interval_steps,
        supercell=dict(supercell or {}),
        segment_uuids=list(segment_uuids or []),
    )


def _version(settings: dict | None) -> str:
    from superionic.md.workflow.analysis_jobs import _settings
    from superionic.md.analysis.diffusion import analysis_version

    return analysis_version(_settings(settings))


def li_trajectory(run: MDRunDoc):
    """The run's production trajectory in the analysis' in-memory form (``LiTrajectory``)."""
    from superionic.md.analysis.trajectory import from_fractional

    traj = run.trajectory
    if traj is None:
        raise ValueError(f"{run.run_id}: production trajectory not loaded (superionic.md.workflow.segment_store.with_trajectory)")
    temps = [p.get("temperature") for p in (traj.frame_properties or [])]
    measured = np.array(temps, dtype=float) if temps and None not in temps else None
    return from_fractional(
        [str(s) for s in traj.species],
        np.asarray(traj.coords, dtype=float),
        np.asarray(traj.lattice, dtype=float),
        frame_interval_fs=run.frame_interval_fs,
        temperature=run.temperature,
        measured_temperatures=measured,
        source=f"{run.engine} MD {run.run_id}",
        provenance={"run_id": run.run_id, "preset": run.preset, "is_quick": run.is_quick},
    )


def analysis_job(run_output: Any, settings: dict | None, trajectory_ref: str | None,
                 production_uuids: list[str] = (), vasp: bool = False, cross_check: str | None = None,
                 start_structure: Any = None):
    """The flow's ``analyze_md_run`` job for a run. The production segments' trajectories
    (jobs ``production_uuids``; VASP: their ``vasp_objects``) come in as jobflow references, so
    the workflow manager resolves them (jobflow-remote's runner does so for workers that cannot
    reach the database); the job is also given its JobStore (``expose_store``) for what a
    reference cannot give: a segment a rerun took over points at an earlier job
    (``reused_from``). ``start_structure``: the relaxed cell the MD began from, the reference
    of the cross-check's energies."""
    from jobflow import JobConfig, OnMissing, OutputReference

    attribute = "vasp_objects" if vasp else "trajectory"
    given = {u: getattr(OutputReference(u), attribute) for u in production_uuids}
    analysis = analyze_md_run(run_output, settings=settings, trajectory_ref=trajectory_ref, given=given or None,
                              cross_check=cross_check, start_structure=start_structure)
    # a segment job that crashed gives None here; its run document says why
    analysis.config = JobConfig(expose_store=True, on_missing_references=OnMissing.NONE)
    return analysis


@job
def analyze_md_run(run: MDRunDoc | dict, settings: dict | None = None, trajectory_ref: str | None = None,
                   store=None, given: dict[str, Any] | None = None, cross_check: str | None = None,
                   start_structure: Structure | None = None):
    """``MDRunDoc`` -> ``DiffusionDoc`` (usable=False with the MD's reason if the run failed).

    The production trajectory: inline in documents of earlier versions, else per segment from
    ``given`` (job uuid -> trajectory, resolved by the workflow manager) or loaded from
    ``store`` (default: the job's own JobStore, see :func:`analysis_job`). ``cross_check``
    ("auto", a potential name or None): a second potential's opinion of the run's frames
    (:func:`with_cross_check`), its energies measured from ``start_structure`` (the relaxed
    cell the MD began from; default: the first production frame)."""
    from superionic.md.workflow.analysis_jobs import analyze_diffusion
    from superionic.md.workflow.segment_store import TrajectoryNotFound, with_trajectory
    from superionic.schemas.md import DiffusionDoc

    run = run if isinstance(run, MDRunDoc) else MDRunDoc.model_validate(decode(run, "an MD run output"))
    material_id = run.material_id or run.formula
    missing = None
    if run.status == "completed":
        try:
            run = with_trajectory(run, store if store is not None else job_store(), given)
        except TrajectoryNotFound as exc:
            missing = str(exc)
    if run.status != "completed" or run.trajectory is None:
        reason = f"md_failed: {run.failure_reason or missing or 'no production trajectory'}"
        return with_start_state(DiffusionDoc(
            material_id=material_id,
            formula=run.formula,
            temperature=run.temperature,
            engine=run.engine,
            potential=run.potential,
            preset=run.preset,
            trajectory_ref=trajectory_ref,
            flags=[reason],
            usable=False,
            reason=reason,
            analysis_version=_version(settings),
        ), run.relaxation)
    doc = analyze_diffusion.original(
        li_trajectory(run),
        material_id,
        temperature=run.temperature,
        engine=run.engine,
        potential=run.potential,
        preset=run.preset,
        trajectory_ref=trajectory_ref,
        settings=settings,
    )
    if cross_check and run.engine == "forcefield" and run.force_field:
        doc = with_cross_check(doc, run, None if cross_check == "auto" else cross_check, start_structure)
    return with_start_state(doc, run.relaxation)


def with_cross_check(doc, run: MDRunDoc, second: str | None = None, start_structure: Structure | None = None):
    """The DiffusionDoc with a second potential's opinion of the run's frames
    (:func:`superionic.md.engines.cross_check.cross_check_trajectory`) and its flags:
    ``cross_check_disagrees`` when the second potential disowns the run, ``melt_disowned``
    when the framework melted and the second potential puts the melted frames high in energy
    (it would likely hold the framework). A failure of the check is a flag, never an error."""
    from superionic.md.engines.cross_check import cross_check_trajectory

    try:
        check = cross_check_trajectory(run.trajectory, run.force_field, second, reference=start_structure)
    except Exception as exc:  # noqa: BLE001 - recorded, the analysis stands
        logger.warning("cross-check of %s failed: %s", run.run_id, exc)
        return doc.model_copy(update={"flags": [*doc.flags, f"cross_check_failed: {type(exc).__name__}: {exc}"]})
    if check is None:
        return doc
    flags = list(doc.flags)
    if not check.agree:
        flags.append(f"cross_check_disagrees: {check.summary}")
    melted = any(f.startswith("framework_melting") for f in flags)
    if melted and check.excess_energy is not None and check.excess_energy > check.tolerances["excess_energy"]:
        flags.append(f"melt_disowned: {check.potential} puts the melted frames {check.excess_energy:+.3f} eV/atom "
                     f"above {check.primary}'s own rise: the framework may hold under {check.potential}")
    return doc.model_copy(update={"cross_check": check, "flags": flags})


def with_start_state(doc, relaxation: dict | None):
    """Record on the DiffusionDoc whether MD started from a force-field-relaxed cell; a
    failed (or switched-off) relaxation adds an ``unrelaxed_start`` warning flag."""
    if not relaxation:
        return doc
    relaxed = bool(relaxation.get("relaxed"))
    flags = list(doc.flags)
    if not relaxed:
        flags.append(f"unrelaxed_start: MD started from the unrelaxed cell "
                     f"({relaxation.get('reason') or 'relaxation did not run'})")
    return doc.model_copy(update={"start_relaxed": relaxed, "flags": flags})
