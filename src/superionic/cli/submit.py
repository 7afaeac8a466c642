"""``superionic submit``: send the discovery flow (or MD flows, or an engine check) to an engine."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from superionic.cli.common import STORE_HELP, console, fail, open_project_stores, print_json

WHATS = ("discovery", "md", "check")
CLUSTER_DEFAULT_RECIPE = "seed"
LOCAL_DEFAULT_RECIPE = "quick"


def absolute_spec(spec: str) -> str:
    """``monty://`` specs with an absolute path: jobs may run in other directories."""
    if spec.startswith("monty://") and spec[len("monty://") :]:
        return "monty://" + str(Path(spec[len("monty://") :]).expanduser().resolve())
    return spec


def _not_available(what: str, exc: ModuleNotFoundError) -> None:
    if exc.name and exc.name.startswith("superionic"):
        fail(
            f"{what} is not available yet in this version of superionic ({exc.name} is missing). "
            "Try --what check to test the engine set-up."
        )
    raise exc


def _recipe(name: str, md: str | None, preset: str | None):
    try:
        from superionic.recipes import RecipeError, load_recipe
    except ModuleNotFoundError as exc:
        _not_available("Recipes", exc)
    try:
        recipe = load_recipe(name)
    except RecipeError as exc:
        fail(str(exc))
    changes: dict = {k: v for k, v in (("engine", md), ("preset", preset)) if v}
    if preset:  # the preset's protocol, not the recipe's pinned temperatures and steps
        changes.update(temperatures=None, equilibration_steps=None, production_steps=None)
    if changes:
        try:
            md_recipe = type(recipe.md).model_validate({**recipe.md.model_dump(), **changes})
        except ValueError as exc:
            fail(f"--md/--preset: {exc}")
        recipe = recipe.model_copy(update={"md": md_recipe})
    return recipe


def discovery_flow(spec: str, recipe):
    """The whole discovery flow of ``recipe`` on the stores of ``spec``."""
    try:
        from superionic.flows.discovery import DiscoveryFlowMaker
    except ModuleNotFoundError as exc:
        _not_available("The discovery flow", exc)
    return DiscoveryFlowMaker(recipe=recipe).make(spec)


def md_flow(spec: str, stores, recipe, material_ids: list[str]):
    """Conductivity-MD flows for ``material_ids`` (structures from the materials store)."""
    from jobflow import Flow, OnMissing

    try:
        from superionic.jobs.md_stage import conductivity_flow, material_structure, md_maker_for
    except ModuleNotFoundError as exc:
        _not_available("MD flows", exc)
    try:
        maker = md_maker_for(recipe.md)
    except ModuleNotFoundError as exc:
        _not_available("MD flows", exc)
    flows = []
    for material_id in material_ids:
        try:
            structure = material_structure(stores, material_id)
        except ValueError as exc:
            fail(f"{exc}. Screen a corpus with structures first (superionic screen --source mp or files).")
        flows.append(conductivity_flow(recipe.md, maker, structure, material_id))
    jobs: list[Any] = list(flows)
    try:
        from superionic.flows.discovery import summarize_step
    except ImportError:
        summarize_step = None  # builders not there yet: `superionic build` later
    if summarize_step is not None:
        from superionic.engines.store_ref import store_reference

        summary = summarize_step(store_reference(spec), [f.output for f in flows], list(material_ids), {})
        summary.config.on_missing_references = OnMissing.NONE
        summary.name = "summary"
        jobs.append(summary)
    output = jobs[-1].output if summarize_step is not None else [f.output for f in flows]
    return Flow(jobs, output=output, name=f"superionic md [{recipe.md.engine}, {recipe.md.preset}]: {' '.join(material_ids)}")


def _store_choice(store: str | None, engine: str, project: str | None):
    """Which store to use (see :func:`superionic.engines.store_source.choose_store`)."""
    from superionic.engines.store_source import choose_store

    if engine == "jobflow-remote":
        from superionic.engines.jobflow_remote import import_jobflow_remote, load_project

        import_jobflow_remote()  # first: a missing package is the first thing to fix
    if engine == "jobflow-remote" and not store:
        proj = load_project(project)
        return choose_store(None, engine, proj.jobstore, proj.name)
    return choose_store(store, engine)


def _job_kinds(recipe) -> tuple[str, ...]:
    """The job kinds a flow of ``recipe`` has (None: the engine check, small jobs only)."""
    if recipe is None:
        return ("small",)
    return ("small", "vasp") if recipe.md.engine == "vasp" else ("small", "md")


def _engine_options(engine: str, launchpad, launch, launch_dir, project, worker) -> dict:
    given = {
        "fireworks": {"--launchpad": launchpad, "--launch": launch or None, "--launch-dir": launch_dir},
        "jobflow-remote": {"--project": project, "--worker": worker},
    }
    for owner, options in given.items():
        stray = [flag for flag, value in options.items() if value is not None and owner != engine]
        if stray:
            fail(f"{', '.join(stray)}: only for --engine {owner} (you chose --engine {engine}).")
    if engine == "fireworks":
        return {"launchpad": launchpad, "launch": launch, "launch_dir": launch_dir}
    if engine == "jobflow-remote":
        return {"project": project, "worker": worker}
    return {}


def submission_table(sub) -> Table:
    from rich.markup import escape

    table = Table(title=f"Submitted with {sub.engine}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    ids = ", ".join(str(i) for i in sub.ids[:6]) + (f" ... ({len(sub.ids)})" if len(sub.ids) > 6 else "")
    counts: dict[str, int] = {}
    for state in sub.states.values():
        counts[state] = counts.get(state, 0) + 1
    for label, value in (
        ("flow", sub.flow_name),
        ("jobs", str(sub.n_jobs)),
        ("ids", ids),
        ("states", ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))),
        ("where", sub.where),
        ("next", sub.next_step),
    ):
        if value:
            table.add_row(label, escape(value))
    return table


def submit(
    material_ids: Optional[list[str]] = typer.Argument(None, help="Material ids, for --what md."),
    engine: str = typer.Option("local", "--engine", "-e", help="local (run now), fireworks or jobflow-remote."),
    what: str = typer.Option("discovery", "--what", "-w", help="discovery (the whole flow), md (MD for the given ids) or check (a 2-job engine test)."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    recipe: Optional[str] = typer.Option(None, "--recipe", "-r", help="Recipe name (quick, seed) or YAML file. Default: quick for local, seed for cluster engines."),
    md: Optional[str] = typer.Option(None, "--md", help="MD engine for the recipe: forcefield or vasp."),
    preset: Optional[str] = typer.Option(None, "--preset", help="MD preset: quick or seed (replaces the recipe's temperatures and step counts)."),
    launchpad: Optional[Path] = typer.Option(None, "--launchpad", "-l", help="FireWorks LaunchPad file (default: FireWorks' own lookup)."),
    launch: bool = typer.Option(False, "--launch", help="FireWorks: also run the workflow here now (rlaunch rapidfire)."),
    launch_dir: Optional[Path] = typer.Option(None, "--launch-dir", help="FireWorks --launch: where the launcher_* folders go."),
    project: Optional[str] = typer.Option(None, "--project", "-p", help="jobflow-remote project name (default: jobflow-remote's)."),
    worker: Optional[str] = typer.Option(None, "--worker", help="jobflow-remote worker (default: the project's first)."),
    workers_on_this_machine: bool = typer.Option(
        False, "--workers-on-this-machine",
        help="Cluster engines: every worker runs on this machine (rlaunch here, jobflow-remote 'local' "
        "workers), so a monty:// store is allowed. Without it a cluster engine needs mongodb://.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the submission as JSON on stdout, nothing else."),
) -> None:
    """Run or queue a superionic flow on an engine.

    local: run it now, in this process.
    fireworks: add it to a LaunchPad; then `rlaunch rapidfire` or `qlaunch` on the cluster.
    jobflow-remote: submit it to a project's queue; then `jf runner start`.
    Cluster engines need MongoDB: see docker/ and config/.

    Store: --store (or SUPERIONIC_STORE); else, for jobflow-remote, the project's jobstore;
    else jobflow's JOB_STORE (~/.jobflow.yaml, JOBFLOW_CONFIG_FILE); else the embedded one.
    Per job kind cluster settings (worker, exec_config, resources, FireWorks category) come
    from SUPERIONIC_CLUSTER__... / the cluster section of ~/.superionic.yaml.
    """
    from superionic.engines import EngineError, get_engine

    try:
        chosen = get_engine(engine)
    except EngineError as exc:
        fail(str(exc))
    if what not in WHATS:
        fail(f"Unknown --what {what!r}: choose one of {', '.join(WHATS)}.")
    material_ids = list(material_ids or [])
    if what == "md" and not material_ids:
        fail("--what md needs material ids: superionic submit --what md mp-1234 mp-5678.")
    if what != "md" and material_ids:
        fail(f"Material ids are only read with --what md (got {' '.join(material_ids)} with --what {what}).")
    options = _engine_options(chosen.name, launchpad, launch if launch else None, launch_dir, project, worker)
    if workers_on_this_machine and chosen.name == "local":
        fail("--workers-on-this-machine: only for --engine fireworks or jobflow-remote (local runs here anyway).")

    try:
        choice = _store_choice(store, chosen.name, project)
        spec = absolute_spec(choice.spec)
        if chosen.name != "local":
            from superionic.engines.base import require_shared_store

            require_shared_store(spec, chosen.name, workers_on_this_machine or launch)
    except EngineError as exc:
        fail(str(exc))
    stores = open_project_stores(spec)
    recipe_obj = None
    if what == "check":
        from superionic.engines.check_flow import make_check_flow

        flow = make_check_flow(spec)
    else:
        recipe_obj = _recipe(recipe or (LOCAL_DEFAULT_RECIPE if chosen.name == "local" else CLUSTER_DEFAULT_RECIPE), md, preset)
        if chosen.name == "local" and recipe_obj.md.engine == "vasp":
            fail("VASP MD cannot run on the local engine: use --engine jobflow-remote or --engine fireworks.")
        flow = discovery_flow(spec, recipe_obj) if what == "discovery" else md_flow(spec, stores, recipe_obj, material_ids)
    if chosen.name != "local":
        from superionic.engines.cluster_settings import flow_metadata

        options.update(
            workers_on_this_machine=workers_on_this_machine,
            metadata=flow_metadata(what, recipe_obj, material_ids),
            job_kinds=_job_kinds(recipe_obj),
        )
    # engines log to stdout (jobflow, FireWorks): keep stdout for the JSON alone
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    try:
        with quiet:
            sub = chosen.submit(flow, stores, **options)
    except EngineError as exc:
        fail(str(exc))
    sub.where = f"{sub.where} (store from {choice.source})"
    if as_json:
        from monty.json import jsanitize

        print_json(jsanitize(dataclasses.asdict(sub), strict=False, enum_values=True))
    else:
        console.print(submission_table(sub))
    if sub.failures:
        lines = [f"job {name!r} failed: {reason}" for name, reason in sub.failures.items()]
        if sub.log_path:
            lines.append(f"tracebacks: {sub.log_path}")
        fail("\n".join(lines) + "\nWhat finished is stored; fix the cause and submit again.", code=1)


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
