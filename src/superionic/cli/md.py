"""``superionic md``: MD at a temperature series and the Arrhenius conductivity of one material.

``--engine forcefield`` (default) runs CHGNet MD here with a progress bar, resumes an
interrupted run from its finished segments, and files the DiffusionDocs / ConductivityDoc in
the store. ``--engine vasp`` writes the VASP inputs of the first segment of every temperature
(POTCAR.spec, no POTCARs needed) and the whole jobflow Flow as JSON for a cluster.
Heavy imports happen inside the command so that ``superionic --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from superionic.cli.common import WORKERS_HELP

err = Console(stderr=True)

STRUCTURE_SUFFIXES = (".cif", ".json", ".vasp", ".gz", ".xyz", ".poscar")


def _temperatures(values: list[str] | None) -> tuple[float, ...] | None:
    if not values:
        return None
    out = []
    for value in values:
        for part in str(value).replace(" ", ",").split(","):
            if part:
                try:
                    out.append(float(part))
                except ValueError:
                    raise typer.BadParameter(f"not a temperature: {part!r}", param_hint="--temperatures") from None
    return tuple(out)


def _load_structure(target: str, store_spec: str | None, material_id: str | None):
    """A structure file, or a material_id in the store's materials collection."""
    from pymatgen.core import Structure

    from superionic.cli.common import fail, open_project_stores

    path = Path(target).expanduser()
    if path.is_file():
        try:
            structure = Structure.from_file(path)
        except Exception as exc:  # noqa: BLE001 - any parse error -> a clear message
            fail(f"cannot read a structure from {path}: {type(exc).__name__}: {exc}")
        return structure, material_id or f"file:{path.name.split('.')[0]}"
    if path.suffix.lower() in STRUCTURE_SUFFIXES or "/" in target:
        fail(f"no such structure file: {path}")
    stores = open_project_stores(store_spec)
    doc = stores.materials.query_one({"material_id": target})
    if doc is None:
        fail(
            f"{target!r} is neither a structure file nor a material_id in the store "
            f"({stores.safe_spec}). Give a CIF/POSCAR/JSON path, or load the corpus first "
            "(superionic screen / run)."
        )
    if not doc.get("structure"):
        fail(
            f"{target} is in the store but has no structure (the offline snapshot has none for "
            "most materials). Pass a structure file, or use --source mp with an MP_API_KEY."
        )
    return Structure.from_dict(doc["structure"]), material_id or target


def md(
    target: str = typer.Argument(..., help="Structure file (CIF, POSCAR, pymatgen JSON) or a material_id in the store."),
    engine: str = typer.Option("forcefield", "--engine", help="forcefield (CHGNet, runs here) or vasp (writes inputs + flow)."),
    preset: str = typer.Option("seed", "--preset", help="seed (600-1200 K, 3k+10k steps) or quick (laptop; not converged)."),
    temperatures: list[str] = typer.Option(None, "--temperatures", "-T", help="Temperatures (K), e.g. -T 800,1000 or -T 800 -T 1000."),
    material_id: str = typer.Option(None, "--material-id", help="Label for the documents (default: the id or file name)."),
    store: str = typer.Option(None, "--store", help="Store spec (monty://PATH, mongodb://..., memory://); default from settings."),
    equilibration_steps: int = typer.Option(None, "--equilibration-steps", help="Override the preset's equilibration steps."),
    production_steps: int = typer.Option(None, "--production-steps", help="Override the preset's production steps."),
    min_image_distance: float = typer.Option(None, "--min-image-distance", help="Override the supercell's minimum image distance (A)."),
    max_atoms: int = typer.Option(None, "--max-atoms", help="Override the supercell's atom cap."),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads (default 1: the same numbers on a busy and an idle machine)."),
    force_field: str = typer.Option("auto", "--force-field", help="A potential whose weights ship in a wheel: chgnet-0.3.0, chgnet-r2scan, sevennet-0, sevennet-mf-0-pbe, sevennet-mf-0-r2scan, sevennet-l3i5; finetuned:<potential_id>, a fine-tuned one in the store (`superionic finetune`); auto: the preset's (seed: sevennet-0, quick: chgnet-0.3.0)."),
    extend_to: int = typer.Option(None, "--extend-to", help="forcefield: extend production (500 steps a round) "
                                  "until the verdict is decided, D is tight or this many production steps."),
    output_dir: Path = typer.Option(Path("md_vasp"), "--output-dir", help="vasp: where inputs and the flow JSON go."),
    json_out: bool = typer.Option(False, "--json", help="forcefield: print the ConductivityDoc as JSON only."),
    workers: int = typer.Option(None, "--workers", min=0, help=WORKERS_HELP),
) -> None:
    """MD of one material at a temperature series -> D(T) -> Ea, sigma(300 K) with intervals."""
    from superionic.cli.common import fail

    if engine not in ("forcefield", "vasp"):
        fail(f"--engine must be forcefield or vasp, not {engine!r}")
    from superionic.md.engines.potentials import default_potential
    from superionic.md.workflow.extension import ExtensionPolicy
    from superionic.md.workflow.makers import ConductivityMDMaker
    from superionic.md.presets import get_preset

    try:
        chosen = get_preset(preset).with_overrides(
            equilibration_steps=equilibration_steps, production_steps=production_steps,
            min_image_distance=min_image_distance, max_atoms=max_atoms,
        )
        maker = ConductivityMDMaker(
            engine=engine,
            preset=chosen,
            temperatures=_temperatures(temperatures),
            segment_maker=_segment_maker(default_potential(preset, force_field), threads, store),
            extension=ExtensionPolicy(max_production_steps=extend_to) if extend_to else None,
        )
    except ValueError as exc:
        fail(str(exc))
    structure, material_id = _load_structure(target, store, material_id)
    if maker.preset.is_quick and not json_out:
        err.print(f"[yellow]QUICK protocol[/]: {maker.preset.label()}")
    if engine == "vasp":
        _write_vasp(maker, structure, material_id, output_dir)
        return
    _run_forcefield(maker, structure, material_id, store, json_out, workers)


def _segment_maker(force_field: str, threads: int | None, store: str | None):
    """The segment maker of ``--force-field``; a fine-tuned potential's record is read from ``--store``."""
    from superionic.md.workflow.forcefield import segment_maker_for

    if not force_field.startswith("finetuned:"):
        return segment_maker_for(force_field, n_threads=threads)
    from superionic.cli.common import open_project_stores

    stores = open_project_stores(store)
    try:
        return segment_maker_for(force_field, stores=stores, n_threads=threads)
    finally:
        stores.close()


def _write_vasp(maker, structure, material_id: str, output_dir: Path) -> None:
    from monty.serialization import dumpfn

    from superionic.md.engines.supercell import make_md_supercell
    from superionic.md.engines.vasp import seed_md_maker

    preset = maker.preset
    cell = make_md_supercell(structure, preset.min_image_distance, preset.max_atoms)
    output_dir.mkdir(parents=True, exist_ok=True)
    for temperature in preset.temperatures:
        stage = "equilibration" if preset.equilibration_steps else "production"
        n_steps = preset.segment_lengths(stage)[0]
        generator = seed_md_maker(
            temperature, n_steps, preset.time_step_fs, "first segment",
            maker.user_incar_settings or None, maker.user_kpoints_settings,
        ).input_set_generator
        generator.structure = cell.structure
        generator.write_input(output_dir / f"{temperature:.0f}K_{stage}_1", potcar_spec=True)
    flow = maker.make(structure, material_id=material_id)
    dumpfn(flow, output_dir / "md_flow.json")
    err.print(
        f"{material_id}: {len(cell.structure)}-atom cell {cell.scaling} (image distance "
        f"{cell.image_distance:.2f} A); VASP inputs of the first segment per temperature and the "
        f"flow ({len(preset.temperatures)} T x {preset.n_segments()} segments) in {output_dir}/.\n"
        "Submit: jobflow-remote `from jobflow_remote import submit_flow; submit_flow(loadfn("
        f"'{output_dir}/md_flow.json'))`, or FireWorks `flow_to_workflow` + `lpad add`."
    )


def _run_forcefield(maker, structure, material_id: str, store_spec: str | None, json_out: bool,
                    workers: int | None = None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from superionic.cli.common import open_project_stores, print_json
    from superionic.engines.local import run_conductivity_md
    from superionic.md.engines import progress as md_progress
    from superionic.md.engines.supercell import make_md_supercell

    preset = maker.preset
    stores = open_project_stores(store_spec)
    n_atoms = len(make_md_supercell(structure, preset.min_image_distance, preset.max_atoms).structure)
    total = preset.steps_per_temperature * len(preset.temperatures)
    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=json_out,
    )
    segments: dict[str, list[int]] = {}  # label -> [steps done, steps]: temperatures run side by side

    def listener(event: md_progress.ProgressEvent) -> None:
        if event.kind == "begin":
            segments[event.label] = [0, event.total_steps]
            bar.update(task, description=f"{material_id} {event.label}")
        elif event.kind == "advance":
            segments.setdefault(event.label, [0, 0])[0] += event.steps
            bar.advance(task, event.steps)
        elif event.kind in ("reused", "failed", "end"):
            done, steps = segments.pop(event.label, [0, 0])
            bar.advance(task, max(0, steps - done))
            if event.kind != "end" and not json_out:
                err.print(f"  {event.label}: {event.kind} {event.message}")

    md_progress.add_listener(listener)
    try:
        with bar:
            task = bar.add_task(f"{material_id} MD ({n_atoms} atoms)", total=total)
            result = run_conductivity_md(structure, material_id, maker=maker, job_store=stores.job_store(),
                                         workers=workers)
        from superionic.builders import run_builders

        run_builders(stores, ["diffusion", "conductivity"], strict=False)  # the one writer of each collection
    finally:
        md_progress.remove_listener(listener)
    if json_out:
        print_json(result.conductivity.to_store() if result.conductivity else {"errors": result.errors})
        return
    _print_result(result, preset)


def _fmt(x, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def _print_result(result, preset) -> None:
    out = Console()
    table = Table(title=f"{result.material_id} - {preset.label()}")
    for col in ("T (K)", "MD", "steps run / reused seg.", "T mean (K)", "D (cm2/s)", "95 % interval", "usable / reason"):
        table.add_column(col)
    diffusion = {d.temperature: d for d in result.diffusion}
    for run in result.runs:
        d = diffusion.get(run.temperature)
        ci = getattr(d, "diffusivity_ci95", None)
        table.add_row(
            f"{run.temperature:.0f}",
            run.status if run.status == "completed" else f"{run.status}: {run.failure_reason}",
            f"{run.steps_run} / {run.n_segments_reused}",
            _fmt(run.mean_temperature, ".0f"),
            _fmt(getattr(d, "diffusivity", None)),
            f"D <= {d.diffusivity_upper95:.2g}" if d is not None and d.d_status == "upper_bound"
            else "-" if not ci else f"[{ci[0]:.2g}, {ci[1]:.2g}]",
            "-" if d is None else ("yes" if d.usable else f"no: {d.reason}"),
        )
    out.print(table)
    c = result.conductivity
    if c is None:
        out.print("[red]no ConductivityDoc[/]: " + "; ".join(result.errors))
        return
    out.print(
        f"verdict: [bold]{c.verdict}[/] ({c.verdict_reason})"
        + ("  [yellow](QUICK protocol)[/]" if preset.is_quick else "")
    )
    for flag in c.flags:
        if flag.startswith("md_extension"):
            out.print(flag)


def register(app: typer.Typer) -> None:
    """Add ``md`` to the superionic command line."""
    app.command("md")(md)
