"""MD that runs until it has decided: production extended round by round, as jobflow responses.

After the first production of every temperature, the flow's last job
(:func:`extend_or_finish`) looks at the ConductivityDoc and the per-temperature analyses and
either returns the ConductivityDoc (the flow's output) or replaces itself
(``Response(replace=...)``) with one more round: for each temperature still worth running,
``extend_steps`` more production steps in checkpointed segments that continue from the last
finished segment, the joined run, its analysis, a new fit and a new ``extend_or_finish``. It
stops (:func:`extension_decision`) when

* the verdict is decided (the 1e-4 S/cm threshold lies outside the interval or above the
  bound), or nothing can be said (every temperature melted or failed);
* every temperature left is resolved with a relative 95 % interval of D below
  ``target_relative_width`` (more MD would not change the verdict's basis);
* the per-material budget is spent: ``max_production_steps`` per temperature or
  ``max_rounds`` -- budgets in steps, so the same recipe gives the same segments and numbers
  on a busy and on an idle machine;
* or, as a safety stop only, ``max_wall_s`` of MD integration (all temperatures together) has
  passed: then the ConductivityDoc carries a ``wall_time_cap`` flag and its verdict reason
  says that the run stopped early and that its numbers depend on the machine's speed.

Because the extension is a jobflow response, the same flow extends itself under FireWorks or
jobflow-remote, not only in ``run_locally``. An interrupted extension resumes like any
segment: a rerun of the flow reaches the same decision from the same finished segments, and
the new segments' keys (a chain of the previous segment's key) find the finished ones, which
are taken over without recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobflow import Flow, OnMissing, OutputReference, Response, job

from superionic.md.analysis.bounds import VERDICT_NOT, VERDICT_SUPERIONIC
from superionic.schemas.md import ConductivityDoc, DiffusionDoc


SAFETY_STOP = "safety stop: wall-time cap"


@dataclass
class ExtensionPolicy:
    """When to extend production and by how much (per material; see module docstring)."""

    extend_steps: int = 500
    max_production_steps: int = 2000
    max_wall_s: float | None = None
    target_relative_width: float = 0.5
    max_rounds: int = 6

    def __post_init__(self) -> None:
        if self.extend_steps <= 0 or self.max_production_steps <= 0:
            raise ValueError("extend_steps and max_production_steps must be > 0")
        if self.target_relative_width <= 0 or self.max_rounds < 0:
            raise ValueError("target_relative_width must be > 0 and max_rounds >= 0")


def extension_decision(
    conductivity: ConductivityDoc, analyses: list[DiffusionDoc], runs: list[dict],
    policy: ExtensionPolicy, round_index: int,
) -> tuple[list[float], str]:
    """(temperatures to extend, why); an empty list means stop, and the reason says why.

    ``runs``: per temperature ``{"temperature", "status", "production_steps_done",
    "wall_time_s"}`` of the latest run.
    """
    if conductivity.verdict in (VERDICT_SUPERIONIC, VERDICT_NOT):
        return [], f"decided: {conductivity.verdict}"
    by_t = {d.temperature: d for d in analyses}
    alive = [r for r in runs if r["status"] == "completed"
             and by_t.get(r["temperature"]) is not None
             and by_t[r["temperature"]].d_status in ("resolved", "upper_bound")]
    if not alive:
        return [], "nothing to extend: every temperature melted, failed or is off target"

    def tight(d: DiffusionDoc) -> bool:
        if d.d_status != "resolved" or not d.diffusivity or not d.diffusivity_ci95:
            return False
        lo, hi = d.diffusivity_ci95
        return (hi - lo) / d.diffusivity <= policy.target_relative_width

    if all(tight(by_t[r["temperature"]]) for r in alive):
        return [], f"D tight: relative 95 % width <= {policy.target_relative_width:g} at every temperature"
    if round_index >= policy.max_rounds:
        return [], f"budget: {policy.max_rounds} extension rounds done"
    wall = sum(float(r.get("wall_time_s") or 0.0) for r in runs)
    if policy.max_wall_s is not None and wall >= policy.max_wall_s:
        return [], f"{SAFETY_STOP} after {wall:.0f} s of MD (cap {policy.max_wall_s:g} s)"
    todo = [r["temperature"] for r in alive
            if r["production_steps_done"] + policy.extend_steps <= policy.max_production_steps]
    if not todo:
        return [], f"budget: {policy.max_production_steps} production steps per temperature"
    return sorted(todo), "undecided: extending " + ", ".join(f"{t:g} K" for t in sorted(todo))


def run_info(collect_output: Any, temperature: float) -> dict:
    """The small fields of an ``MDRunDoc`` (references until the collect job has run)."""
    return {
        "temperature": float(temperature),
        "status": collect_output.status,
        "production_steps_done": collect_output.production_steps_done,
        "wall_time_s": collect_output.wall_time_s,
        "segment_uuids": collect_output.segment_uuids,
    }


@job
def extend_or_finish(
    conductivity: ConductivityDoc | dict, analyses: list, runs: list[dict], context: dict,
    round_index: int = 0,
) -> Any:
    """The ConductivityDoc when MD has decided (or its budget is spent), else the next round
    as a ``Response(replace=...)``; see the module docstring. ``context`` holds what the
    round needs: ``segment_maker``, ``preset`` (dict), ``policy`` (dict), ``material_id``,
    ``supercell``, ``relaxation``, ``structure`` (the MD cell), ``diffusion_settings``,
    ``cross_check``, ``start_structure`` (the relaxed cell the MD began from)."""
    from superionic.md.workflow.analysis_jobs import _clean

    cond = conductivity if isinstance(conductivity, ConductivityDoc) else ConductivityDoc(**_clean(conductivity))
    docs = [d if isinstance(d, DiffusionDoc) else DiffusionDoc(**_clean(d)) for d in analyses]
    policy = ExtensionPolicy(**context["policy"])
    todo, why = extension_decision(cond, docs, runs, policy, round_index)
    note = f"md_extension: round {round_index}: {why}"
    if not todo:
        update = {"flags": [*cond.flags, note]}
        if why.startswith(SAFETY_STOP):
            update["flags"].append(f"wall_time_cap: {why}")
            update["verdict_reason"] = (f"{cond.verdict_reason}; stopped early by the wall-time safety cap "
                                        "before the step budget, so these numbers depend on this machine's speed")
        return cond.model_copy(update=update)
    return Response(replace=_next_round(docs, runs, todo, context, policy, round_index))


def _next_round(docs: list[DiffusionDoc], runs: list[dict], todo: list[float], context: dict,
                policy: ExtensionPolicy, round_index: int) -> Flow:
    from superionic.md.workflow.analysis_jobs import fit_conductivity
    from superionic.md.workflow.collect import analysis_job, collect_forcefield_run
    from superionic.md.presets import MDPreset

    base = MDPreset(**context["preset"])
    segment_maker = context["segment_maker"]
    jobs, new_runs, new_docs = [], [], []
    by_t = {d.temperature: d for d in docs}
    for run in runs:
        t = run["temperature"]
        if t not in todo:
            new_runs.append(run)
            new_docs.append(by_t[t])
            continue
        done = int(run["production_steps_done"])
        total = done + policy.extend_steps
        preset = base.model_copy(update={"production_steps": total})
        lengths = base.split_steps(policy.extend_steps)
        n_eq = len(base.segment_lengths("equilibration"))
        index = len(run["segment_uuids"]) - n_eq
        previous: Any = OutputReference(run["segment_uuids"][-1])
        segments, start = [], done
        for k, n_steps in enumerate(lengths, start=index):
            segment = segment_maker.make(
                previous, preset=preset.model_dump(), temperature=t, stage="production", index=k,
                n_segments_in_stage=index + len(lengths), start_step=start, n_steps=n_steps,
                material_id=context["material_id"],
            )
            segments.append(segment)
            previous, start = segment.output, start + n_steps
        uuids = [*run["segment_uuids"], *(s.uuid for s in segments)]
        collect = collect_forcefield_run(
            [OutputReference(u) for u in run["segment_uuids"]] + [s.output for s in segments],
            preset.model_dump(), t, supercell=context["supercell"], material_id=context["material_id"],
            segment_uuids=uuids, relaxation=context["relaxation"],
        )
        collect.name = f"md run {t:.0f}K (extended to {total} steps)"
        collect.config.on_missing_references = OnMissing.NONE
        analysis = analysis_job(collect.output, settings=context.get("diffusion_settings"),
                                cross_check=context.get("cross_check"), start_structure=context.get("start_structure"),
                                trajectory_ref=f"jobstore:{collect.uuid}:output.trajectory",
                                production_uuids=uuids[n_eq:])
        analysis.name = f"diffusion {t:.0f}K (extended)"
        jobs += [*segments, collect, analysis]
        new_runs.append(run_info(collect.output, t))
        new_docs.append(analysis.output)
    fit = fit_conductivity(new_docs, structure=context["structure"])
    fit.name = f"arrhenius conductivity (round {round_index + 1})"
    decide = extend_or_finish(fit.output, new_docs, new_runs, context, round_index + 1)
    decide.name = f"md extension decision (round {round_index + 1})"
    return Flow([*jobs, fit, decide], output=decide.output, name=f"md extension round {round_index + 1}")
