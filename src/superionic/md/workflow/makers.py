"""``ConductivityMDMaker``: structure -> supercell -> MD per temperature -> D(T) -> sigma(300 K).

The flow (atomate2 style: a Maker dataclass whose ``make`` returns a jobflow ``Flow``)::

    md_supercell [-> force-field relaxation] ─┬─ T1: equilibration segments -> production segments -> collect -> analyze ─┐
                  ├─ T2: ...                                                                 ├─ fit_conductivity
                  └─ Tn: ...                                                                 ┘

Engines behind the same maker:

* ``"forcefield"`` (default, runs here): :class:`superionic.md.workflow.forcefield.ForceFieldSegmentMaker`
  segments on atomate2's ``ForceFieldMDMaker`` with CHGNet (weights in the wheel). Segments are
  checkpoints: rerunning an interrupted flow on the same JobStore takes over every finished
  segment and continues after the last one.
* ``"vasp"`` (production AIMD): atomate2 ``MultiMDMaker`` per temperature with the seed's
  settings (:mod:`superionic.md.engines.vasp`); submit the flow with jobflow-remote or FireWorks.

Every temperature is independent: a blown-up run is a failed ``MDRunDoc`` and an unusable
``DiffusionDoc`` with the reason; the fit uses the temperatures that are left and says
"insufficient data" with fewer than two. Each trajectory is stored once, in the JobStore's
``data`` store, by the job that computed it (a segment, or atomate2's VASP task); the
per-temperature ``MDRunDoc`` points at them and the analysis job loads and joins them
(:mod:`superionic.md.workflow.segment_store`). The preset name (e.g. ``"quick"``) is carried into
every document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from jobflow import Flow, Maker, OnMissing, job
from pymatgen.core import Structure

from superionic.md.workflow.collect import analysis_job, collect_forcefield_run, collect_vasp_run
from superionic.md.workflow.extension import ExtensionPolicy, extend_or_finish, run_info
from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
from superionic.md.workflow.relax import relax_for_md
from superionic.md.presets import MDPreset, get_preset
from superionic.md.engines.supercell import make_md_supercell


@job
def md_supercell(structure: Structure, min_image_distance: float, max_atoms: int | None = None) -> dict:
    """The MD cell (see :func:`superionic.md.engines.supercell.make_md_supercell`) and how it was made."""
    result = make_md_supercell(structure, min_image_distance, max_atoms)
    summary = result.summary()
    summary["formula"] = result.structure.composition.reduced_formula
    return {"structure": result.structure, "summary": summary}


@dataclass
class ConductivityMDMaker(Maker):
    """MD at a temperature series and the Arrhenius conductivity of one material.

    Parameters
    ----------
    name : str
        Flow name.
    engine : "forcefield" | "vasp"
        MD engine (see module docstring).
    preset : MDPreset | str
        Protocol: ``"seed"`` (the seed's) or ``"quick"`` (laptop), or an ``MDPreset``.
    temperatures : tuple of float | None
        Override the preset's temperatures (K).
    segment_maker : ForceFieldSegmentMaker
        Force-field engine settings (force field, threads, blow-up checks).
    user_incar_settings, user_kpoints_settings
        VASP engine: changes on top of the seed's settings.
    analyze : bool
        Add the diffusion analysis and the Arrhenius fit (the analysis developer's jobs).
    diffusion_settings : dict | None
        Passed to the diffusion analysis (``DiffusionSettings`` fields).
    extension : ExtensionPolicy | None
        Force-field engine: extend production round by round until the verdict is decided,
        D is tight or the budget is spent (:mod:`superionic.md.workflow.extension`); None = the
        preset's production only.
    cross_check : str | None
        Force-field engine: a second potential re-evaluates frames of every run
        (:mod:`superionic.md.engines.cross_check`); "auto" = the other family's default
        (SevenNet-0 for CHGNet runs, CHGNet 0.3.0 for SevenNet ones), a registry name, or None.
    """

    name: str = "conductivity md"
    engine: Literal["forcefield", "vasp"] = "forcefield"
    preset: MDPreset | str = "seed"
    temperatures: tuple[float, ...] | None = None
    segment_maker: ForceFieldSegmentMaker = field(default_factory=ForceFieldSegmentMaker)
    user_incar_settings: dict = field(default_factory=dict)
    user_kpoints_settings: Any = None
    analyze: bool = True
    diffusion_settings: dict | None = None
    extension: ExtensionPolicy | None = None
    cross_check: str | None = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ("forcefield", "vasp"):
            raise ValueError(f"engine must be 'forcefield' or 'vasp', got {self.engine!r}")
        preset = get_preset(self.preset)
        if self.temperatures:
            preset = preset.with_overrides(temperatures=tuple(self.temperatures))
        self.preset = preset

    def make(self, structure: Structure, material_id: str | None = None) -> Flow:
        """The flow for one material; its output is the ``ConductivityDoc`` (or the runs)."""
        preset: MDPreset = self.preset  # normalised in __post_init__
        preset_dict = preset.model_dump()
        cell = md_supercell(structure, preset.min_image_distance, preset.max_atoms)
        cell.name = "md supercell"
        jobs: list = [cell]
        relaxed = None
        if self.engine == "forcefield":
            sm = self.segment_maker
            relaxed = relax_for_md(
                cell.output["structure"], preset_dict, force_field_name=sm.force_field_name,
                calculator_meta=sm.calculator_meta, min_distance=sm.min_distance, n_threads=sm.n_threads,
                calculator_kwargs=sm.calculator_kwargs,
            )
            relaxed.name = "force-field relaxation"
            jobs.append(relaxed)
        runs, analyses, infos = [], [], []
        for temperature in preset.temperatures:
            if self.engine == "forcefield":
                t_jobs, collect, production_uuids = self._forcefield_temperature(
                    cell, relaxed, preset, preset_dict, temperature, material_id
                )
            else:
                t_jobs, collect, production_uuids = self._vasp_temperature(
                    cell, preset, preset_dict, temperature, material_id
                )
            collect.config.on_missing_references = OnMissing.NONE  # a crashed job -> failed run doc
            jobs.extend(t_jobs)
            jobs.append(collect)
            runs.append(collect.output)
            infos.append(run_info(collect.output, temperature))
            if self.analyze:
                analysis = analysis_job(
                    collect.output,
                    settings=self.diffusion_settings,
                    trajectory_ref=f"jobstore:{collect.uuid}:output.trajectory",
                    production_uuids=production_uuids,
                    vasp=self.engine == "vasp",
                    cross_check=self.cross_check if self.engine == "forcefield" else None,
                    start_structure=relaxed.output["structure"] if relaxed is not None else None,
                )
                analysis.name = f"diffusion {temperature:.0f}K"
                jobs.append(analysis)
                analyses.append(analysis.output)
        output: Any = {"runs": runs}
        if self.analyze:
            from superionic.md.workflow.analysis_jobs import fit_conductivity

            fit = fit_conductivity(analyses, structure=cell.output["structure"])
            fit.name = "arrhenius conductivity"
            jobs.append(fit)
            output = fit.output
            if self.extension is not None and self.engine == "forcefield":
                from dataclasses import asdict

                context = {
                    "segment_maker": self.segment_maker, "preset": preset_dict,
                    "policy": asdict(self.extension), "material_id": material_id,
                    "supercell": cell.output["summary"], "relaxation": relaxed.output["summary"],
                    "structure": cell.output["structure"], "diffusion_settings": self.diffusion_settings,
                    "cross_check": self.cross_check, "start_structure": relaxed.output["structure"],
                }
                decide = extend_or_finish(fit.output, analyses, infos, context, 0)
                decide.name = "md extension decision (round 0)"
                jobs.append(decide)
                output = decide.output
        flow_name = f"{self.name} {material_id or ''} [{preset.name}, {self.engine}]".replace("  ", " ")
        flow = Flow(jobs, output=output, name=flow_name)
        if material_id:  # every job says which material it is for, also extension rounds (dynamic)
            flow.update_metadata({"material_id": material_id}, dynamic=True)
        return flow

    # --------------------------------------------------------------------------------------
    def _forcefield_temperature(self, cell, relaxed, preset, preset_dict, temperature, material_id):
        jobs = []
        previous: Any = relaxed.output["structure"]
        for stage in ("equilibration", "production"):
            lengths = preset.segment_lengths(stage)
            start = 0
            for index, n_steps in enumerate(lengths):
                segment = self.segment_maker.make(
                    previous,
                    preset=preset_dict,
                    temperature=temperature,
                    stage=stage,
                    index=index,
                    n_segments_in_stage=len(lengths),
                    start_step=start,
                    n_steps=n_steps,
                    material_id=material_id,
                )
                jobs.append(segment)
                previous = segment.output
                start += n_steps
        collect = collect_forcefield_run(
            [j.output for j in jobs],
            preset_dict,
            temperature,
            supercell=cell.output["summary"],
            material_id=material_id,
            segment_uuids=[j.uuid for j in jobs],
            relaxation=relaxed.output["summary"],
        )
        collect.name = f"md run {temperature:.0f}K"
        n_eq = len(preset.segment_lengths("equilibration"))
        return jobs, collect, [j.uuid for j in jobs[n_eq:]]

    def _vasp_temperature(self, cell, preset, preset_dict, temperature, material_id):
        from superionic.md.engines.vasp import temperature_multi_md_maker

        multi, n_eq = temperature_multi_md_maker(
            preset, temperature, self.user_incar_settings or None, self.user_kpoints_settings
        )
        chain = multi.make(cell.output["structure"])
        md_jobs = [j for j in chain.jobs if j.name.startswith("vasp md ") and "output" not in j.name]
        production = md_jobs[n_eq:]
        collect = collect_vasp_run(
            [j.output for j in production],
            preset_dict,
            temperature,
            supercell=cell.output["summary"],
            material_id=material_id,
            segment_uuids=[j.uuid for j in md_jobs],
            production_uuids=[j.uuid for j in production],
        )
        collect.name = f"md run {temperature:.0f}K"
        return [chain], collect, [j.uuid for j in production]
