"""``superionic run``: the whole discovery chain on the embedded default, then the report."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from superionic.cli.common import STORE_HELP, WORKERS_HELP, console, err_console, fail, open_project_stores
from superionic.redaction import redact


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
    from superionic.results import sigma_text

    return sigma_text(row["sigma_300k"], row["sigma_300k_low"], row["sigma_300k_high"],
                      row.get("sigma_300k_kind"), digits=0) or "-"


def candidates_table(rows: list[dict], title: str = "Candidates (MD-validated first, then in-domain by ML rank, then out-of-domain)") -> Table:
    """The summary table: candidate, formula, anion, votes, probability, sigma(300 K), verdict."""
    table = Table(title=title)
    for col in ("candidate", "formula", "anion", "votes GB/LGBM", "prob.", "sigma(300 K) S/cm [95 %]", "verdict",
                "MD protocol; why chosen"):
        table.add_column(col)
    for r in rows:
        votes = "-" if r["votes_gb"] is None else f"{r['votes_gb']}/{r['votes_lgbm']} of {r['n_splits']}"
        verdict = r["md_verdict"] or (f"{r['ml_verdict']} (ML)" if r["ml_verdict"] else r["screening"] or "")
        if r["md_preset"] and "quick" in r["md_preset"]:
            verdict += " (quick MD)"
        if r.get("md_cross_check"):  # 'cross-checked with X: agree at 800, 1000 K' (+ a disowned melt)
            parts = r["md_cross_check"].split("; ")
            verdict += "; " + "; ".join([parts[0], *(p for p in parts[1:] if p.startswith("framework melted where"))])
        if r.get("structure_flags"):
            verdict += f" [flagged: {r['structure_flags']}]"
        prob = "-" if r["probability"] is None else f"{r['probability']:.2f}"
        protocol = r.get("md_protocol") or ""
        if protocol and (r.get("md_protocols") or 0) > 1 and r.get("md_best"):
            protocol += f" (best of {r['md_protocols']})"
        if r.get("md_chosen_because"):
            protocol += f"; chosen: {r['md_chosen_because']}"
        table.add_row(r["material_id"], r["formula"] or "", r["anion_type"] or "", votes, prob, _fmt_sigma(r), verdict,
                      protocol)
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
    workers: Optional[int] = typer.Option(None, "--workers", min=0, help=WORKERS_HELP),
) -> None:
    """Run the whole discovery: screening, classifier, predictions, MD, conductivity, report.

    Results are stored as they are made; a second run reuses them (the trained model,
    finished MD segments) and an interrupted run resumes where it stopped.
    """
    from superionic.engines.local import run_flow, write_failure_log
    from superionic.flows.discovery import DiscoveryFlowMaker
    from superionic.progress import md_segment_bars
    from superionic.results import candidate_rows
    from superionic.settings import get_settings

    r = _recipe(recipe, source, path, engine, preset, top)
    if r.md.engine == "vasp":
        fail("VASP MD cannot run locally: submit it with `superionic submit --engine jobflow-remote|fireworks`.")
    stores = open_project_stores(store)
    err_console.print(f"[bold]superionic run[/] recipe [cyan]{r.name}[/], source {r.source}, store {stores.safe_spec}")
    flow = DiscoveryFlowMaker(recipe=r, show_progress=True).make(stores.spec)
    logging.getLogger("jobflow").setLevel(logging.WARNING)
    start = time.perf_counter()
    run_dir = Path(get_settings().data_dir).expanduser() / "runs"  # atomate2 writes files per job
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with md_segment_bars() as segments, _segment_failures() as segment_failures:
            outcome = run_flow(flow, stores.job_store(), root_dir=run_dir, workers=workers)
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/] Finished work is stored; run the same command again to resume.")
        raise typer.Exit(130)
    except OSError as exc:
        fail(f"Cannot write the run folder {run_dir}: {exc}. Set SUPERIONIC_DATA_DIR to a writable folder.")
    elapsed = time.perf_counter() - start
    failures = outcome.failures + segment_failures
    js = stores.job_store()
    outputs = {job.name: _output(js, job.uuid) for job in flow.jobs}
    missing = missing_stages(outputs, outcome.failures)
    _print_stages(outputs, segments, structure_on=r.structure.enabled)
    console.print(candidates_table(candidate_rows(stores)[:15]))
    report = _report(stores, report_dir or Path(get_settings().data_dir).expanduser() / "report")
    log_path = write_failure_log(failures, run_dir) if failures else None
    if report and (missing or failures):
        mark_report(report, missing, failures, log_path)
    console.print(f"Finished in {elapsed / 60:.1f} min. Store: {stores.safe_spec}" + (f"; report: {report}" if report else ""))
    if missing or failures:
        _print_failures(missing, failures, log_path)
        raise typer.Exit(1)


STAGES = ("screening", "classification", "md stage")
"""The discovery flow's top-level jobs, in order (the MD stage's output is its summary's)."""


def missing_stages(outputs: dict, failures: list) -> dict[str, str]:
    """Stage -> why it has no output: its own failure, or the failure of a stage before it."""
    by_job = {f.job: f.reason for f in failures}
    missing: dict[str, str] = {}
    for stage in STAGES:
        if outputs.get(stage) is not None:
            continue
        if stage in by_job:
            missing[stage] = by_job[stage]
        elif missing:
            missing[stage] = f"not run: stage {next(iter(missing))!r} failed"
        else:  # the MD stage replaced itself: a job of its sub-flow failed
            inner = [f"{f.job!r}: {f.reason}" for f in failures if f.job not in STAGES]
            missing[stage] = "failed in " + "; ".join(inner) if inner else "no output (see the log)"
    return missing


@contextlib.contextmanager
def _segment_failures():
    """Collect the MD segments that fail while the flow runs (first failures, not skips)."""
    from superionic.engines.local import JobFailure
    from superionic.md.engines import progress as md_progress

    found: list = []

    def listener(event) -> None:
        if event.kind == "failed" and not event.message.startswith("previous segment"):
            found.append(JobFailure(job=f"MD segment {event.label}", reason=redact(event.message)))

    md_progress.add_listener(listener)
    try:
        yield found
    finally:
        md_progress.remove_listener(listener)


def _print_failures(missing: dict[str, str], failures: list, log_path) -> None:
    from rich.markup import escape

    for stage, why in missing.items():
        err_console.print(f"[bold red]Stage {stage!r} is missing:[/] {escape(why)}", highlight=False, soft_wrap=True)
    for f in failures:
        if f.job not in missing:
            err_console.print(f"[bold red]Job {f.job!r} failed:[/] {escape(f.reason)}", highlight=False, soft_wrap=True)
    if log_path:
        err_console.print(f"Tracebacks: {log_path}", highlight=False, soft_wrap=True)
    err_console.print("What finished is stored; fix the cause and run the same command again.")


def mark_report(report: Path, missing: dict[str, str], failures: list, log_path) -> None:
    """Put a banner at the top of the HTML report naming the missing stages and failures."""
    import html

    items = [f"<li>stage <b>{html.escape(s)}</b> missing: {html.escape(w)}</li>" for s, w in missing.items()]
    items += [f"<li>{html.escape(f.job)} failed: {html.escape(f.reason)}</li>" for f in failures if f.job not in missing]
    where = f"<p>Tracebacks: {html.escape(str(log_path))}</p>" if log_path else ""
    banner = ('<div class="run-failures" style="border:2px solid #b00;padding:0.5em 1em;margin:1em">'
              f"<h2>This run is incomplete</h2><ul>{''.join(items)}</ul>{where}</div>")
    text = report.read_text(encoding="utf-8")
    text = text.replace("<body>", "<body>" + banner, 1) if "<body>" in text else banner + text
    report.write_text(text, encoding="utf-8")


def _output(job_store, uuid: str):
    try:
        return job_store.get_output(uuid, which="last", load=True)
    except ValueError:
        return None


def _print_stages(outputs: dict, segments, structure_on: bool = True) -> None:
    screen, classify, md = outputs.get("screening"), outputs.get("classification"), outputs.get("md stage")
    if screen:
        console.print(f"Screening: {screen['n_survivors']} survivors (funnel '{screen['funnel_id']}').")
    built = outputs.get("store documents") or {}
    if not structure_on:
        console.print("Structural evidence: off in this recipe (`superionic build structure` adds it to the store).")
    elif "structure" in built:
        console.print(f"Structural evidence: {built['structure']} survivor(s) computed now, the rest reused "
                      "(column 'evidence' of `superionic query`; shown, not ranked on).")
    if classify:
        how = "reused the stored surrogate" if classify["reused_model"] else "trained a new surrogate"
        console.print(f"Classifier: {how} {classify['model_id']}; {classify['n_predicted']} candidates predicted.")
    if md:
        console.print(
            f"MD: {len(md['md_candidates'])} candidate(s) {', '.join(md['md_candidates'])}: "
            f"{segments['end']} segment(s) run now, {segments['reused']} reused from an earlier run, "
            f"{segments['failed']} failed; documents built {md['builders']}"
        )
        for mid, why in md.get("chosen_because", {}).items():
            console.print(f"  chose {mid}: {why}", highlight=False)
        passed_over = md.get("passed_over", {})
        for mid, why in list(passed_over.items())[:3]:
            console.print(f"  passed over {mid}: {why}", highlight=False)
        if len(passed_over) > 3:
            console.print(f"  ... and {len(passed_over) - 3} more passed over (see `superionic query`)")


def _report(stores, out_dir: Path):
    from superionic.report import ReportError, build_report

    try:
        return build_report(stores, out_dir)
    except ReportError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
