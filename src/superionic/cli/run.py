"""``superionic run``: the whole discovery chain on the embedded default, then the report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from superionic.cli.common import STORE_HELP, console, err_console, fail, open_project_stores
from superionic.results import candidate_rows, sigma_text


def _recipe(recipe: str, source, path, engine, preset, top):
    from superionic.recipes import RecipeError, load_recipe

    try:
        r = load_recipe(recipe)
        changes = {}
        if source:
            changes["source"] = source
            changes["source_path"] = path
        r = r.model_copy(update=changes)
        md_changes = {k: v for k, v in {"engine": engine, "preset": preset}.items() if v}
        if preset:  # a preset replaces the recipe's own temperatures and step counts
            md_changes.update(temperatures=None, equilibration_steps=None, production_steps=None)
        md = r.md.model_copy(update=md_changes)
        candidates = r.candidates.model_copy(update={"top_n": top} if top is not None else {})
        return type(r).model_validate({**r.model_dump(), "md": md.model_dump(), "candidates": candidates.model_dump()})
    except RecipeError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"Invalid option: {exc}")


def _fmt_sigma(row: dict) -> str:
    return sigma_text(row["sigma_300k"], row["sigma_300k_low"], row["sigma_300k_high"],
                      row.get("sigma_300k_kind"), digits=0) or "-"


def candidates_table(rows: list[dict], title: str = "Candidates (MD-validated first, then by ML rank)") -> Table:
    """The summary table: candidate, formula, anion, votes, probability, sigma(300 K), verdict."""
    table = Table(title=title)
    for col in ("candidate", "formula", "anion", "votes GB/LGBM", "prob.", "sigma(300 K) S/cm [95 %]", "verdict"):
        table.add_column(col)
    for r in rows:
        votes = "-" if r["votes_gb"] is None else f"{r['votes_gb']}/{r['votes_lgbm']} of {r['n_splits']}"
        verdict = r["md_verdict"] or (f"{r['ml_verdict']} (ML)" if r["ml_verdict"] else r["screening"] or "")
        if r["md_preset"] and "quick" in r["md_preset"]:
            verdict += " (quick MD)"
        prob = "-" if r["probability"] is None else f"{r['probability']:.2f}"
        table.add_row(r["material_id"], r["formula"] or "", r["anion_type"] or "", votes, prob, _fmt_sigma(r), verdict)
    return table


def run(
    recipe: str = typer.Option("quick", "--recipe", "-r", help="Recipe name (quick, seed) or YAML file (flows/NAME.yaml)."),
    source: Optional[str] = typer.Option(None, "--source", "-s", help="Override the recipe's corpus: snapshot, mp or files."),
    path: Optional[str] = typer.Option(None, "--path", help="Folder of structures for --source files."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    engine: Optional[str] = typer.Option(None, "--engine", help="MD engine: forcefield (runs here) or vasp."),
    preset: Optional[str] = typer.Option(None, "--preset", help="MD preset: quick or seed."),
    top: Optional[int] = typer.Option(None, "--top", min=0, help="How many candidates get MD."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Where to write the report (default DATA_DIR/report)."),
) -> None:
    """Run the whole discovery: screening, classifier, predictions, MD, conductivity, report.

    Results are stored as they are made; a second run reuses them (the trained model,
    finished MD segments) and an interrupted run resumes where it stopped.
    """
    from jobflow.managers.local import run_locally

    from superionic.flows.discovery import DiscoveryFlowMaker
    from superionic.progress import md_segment_bars
    from superionic.settings import get_settings

    r = _recipe(recipe, source, path, engine, preset, top)
    if r.md.engine == "vasp":
        fail("VASP MD cannot run locally: submit it with `superionic submit --engine jobflow-remote|fireworks`.")
    stores = open_project_stores(store)
    err_console.print(f"[bold]superionic run[/] recipe [cyan]{r.name}[/], source {r.source}, store {stores.spec}")
    flow = DiscoveryFlowMaker(recipe=r, show_progress=True).make(stores.spec)
    logging.getLogger("jobflow").setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        run_dir = Path(get_settings().data_dir).expanduser() / "runs"  # atomate2 writes files per job
        run_dir.mkdir(parents=True, exist_ok=True)
        with md_segment_bars() as segments:
            run_locally(flow, store=stores.job_store(), log=False, ensure_success=False,
                        create_folders=True, root_dir=run_dir)
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/] Finished work is stored; run the same command again to resume.")
        raise typer.Exit(130)
    elapsed = time.perf_counter() - start
    js = stores.job_store()
    outputs = {job.name: _output(js, job.uuid) for job in flow.jobs}
    _print_stages(outputs, segments)
    console.print(candidates_table(candidate_rows(stores)[:15]))
    report = _report(stores, report_dir or Path(get_settings().data_dir).expanduser() / "report")
    console.print(f"Finished in {elapsed / 60:.1f} min. Store: {stores.spec}" + (f"; report: {report}" if report else ""))


def _output(job_store, uuid: str):
    try:
        return job_store.get_output(uuid, which="last", load=True)
    except ValueError:
        return None


def _print_stages(outputs: dict, segments) -> None:
    screen, classify, md = outputs.get("screening"), outputs.get("classification"), outputs.get("md stage")
    if screen:
        console.print(f"Screening: {screen['n_survivors']} survivors (funnel '{screen['funnel_id']}').")
    if classify:
        how = "reused the stored surrogate" if classify["reused_model"] else "trained a new surrogate"
        console.print(f"Classifier: {how} {classify['model_id']}; {classify['n_predicted']} candidates predicted.")
    if md:
        console.print(
            f"MD: {len(md['md_candidates'])} candidate(s) {', '.join(md['md_candidates'])}: "
            f"{segments['end']} segment(s) run now, {segments['reused']} reused from an earlier run, "
            f"{segments['failed']} failed; documents built {md['builders']}"
        )
        passed_over = md.get("passed_over", {})
        for mid, why in list(passed_over.items())[:3]:
            console.print(f"  passed over {mid}: {why}", highlight=False)
        if len(passed_over) > 3:
            console.print(f"  ... and {len(passed_over) - 3} more passed over (see `superionic query`)")
    else:
        console.print("[yellow]MD stage did not finish; see the messages above.[/]")


def _report(stores, out_dir: Path):
    from superionic.report import ReportError, build_report

    try:
        return build_report(stores, out_dir)
    except ReportError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
