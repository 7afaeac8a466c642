"""``superionic screen``: the screening funnel on a corpus."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from superionic.cli.common import STORE_HELP, console, fail, open_project_stores, print_json
from superionic.schemas.screening import FunnelDoc


def funnel_table(funnel: FunnelDoc) -> Table:
    """The funnel as a rich table, with the seed's counts beside ours."""
    table = Table(title=f"Screening funnel ({funnel.source})")
    for col in ("step", "rule", "survivors", "failed", "unknown", "seed"):
        table.add_column(col, justify="left" if col in ("step", "rule") else "right")
    for s in funnel.steps:
        seed = "" if s.seed_survivors is None else f"{s.seed_survivors:,}"
        table.add_row(s.name, s.threshold, f"{s.survivors:,}", str(s.failed), str(s.unknown), seed)
    return table


def _print_unknowns(unknown: list, limit: int = 8) -> None:
    """What was unknown and why, grouped by step and reason (most frequent first)."""
    if not unknown:
        return
    import re
    from collections import defaultdict

    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d in unknown:
        reason = next(c.reason for c in d.criteria if c.verdict == "unknown")
        generic = re.sub(r"\b[A-Z][a-z]?(?:-[A-Z][a-z]?)+\b", "<system>", reason.replace(d.formula, "<formula>"))
        groups[(d.stopped_at, generic)].append(d.formula)
    console.print(f"[yellow]{len(unknown)} material(s) unknown (data missing, never a silent pass):[/]")
    ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    for (step, reason), formulas in ranked[:limit]:
        shown = ", ".join(formulas[:6]) + (", ..." if len(formulas) > 6 else "")
        console.print(f"  {len(formulas)} at {step}: {reason} ({shown})", highlight=False)
    if len(ranked) > limit:
        console.print(f"  ... and {len(ranked) - limit} other reason(s): see the screening store.")


def screen(
    source: str = typer.Option("snapshot", "--source", "-s", help="snapshot (bundled, offline), mp (live, needs MP_API_KEY) or files."),
    path: Optional[str] = typer.Argument(None, help="Folder or file of structures, for --source files."),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the funnel and survivors as JSON on stdout, nothing else."),
    corpus: str = typer.Option(
        "snapshot", "--corpus",
        help="With --source snapshot: 'snapshot' (560 pre-screened compounds, default) or 'full' "
        "(all 21,755 MP 2025.02.12 Li materials; gap and E_hull by composition from MP-2019)."),
    convention: Optional[str] = typer.Option(
        None, "--convention",
        help="V_ox convention of the verdict: seed (V_ox + 1.909 V, the seed's rule; default) or "
        "li_metal (physical, vs Li/Li+). Both values are stored either way."),
) -> None:
    """Screen a corpus: no transition metal, band gap, E_hull, oxidation voltage.

    Every material, its per-criterion verdicts and the funnel are stored (upserted: a rerun
    replaces, never duplicates). Missing data gives 'unknown', counted separately.
    """
    from superionic.jobs.screening import run_screening
    from superionic.settings import get_settings
    from superionic.sources import SOURCES, SourceError

    if source.startswith("files:"):
        source, path = "files", source.split(":", 1)[1]
    if source not in SOURCES:
        fail(f"Unknown source {source!r}: choose one of {', '.join(SOURCES)}.")
    if corpus != "snapshot" and source != "snapshot":
        fail(f"--corpus {corpus} needs --source snapshot (the bundled offline corpus).")
    thresholds = get_settings().screening
    if convention is not None:
        if convention not in ("seed", "li_metal"):
            fail(f"Unknown --convention {convention!r}: choose seed or li_metal.")
        thresholds = thresholds.model_copy(update={"voltage_convention": convention})
    stores = open_project_stores(store)
    try:
        outcome = run_screening(stores, source, path, thresholds, show_progress=not as_json,
                                corpus_name=corpus)
    except SourceError as exc:
        fail(str(exc))
    funnel = outcome.funnel
    if as_json:
        print_json(
            {
                "funnel": funnel.model_dump(mode="json"),
                "survivors": [d.model_dump(mode="json") for d in outcome.survivors],
            }
        )
        return
    console.print(funnel_table(funnel))
    if funnel.n_skipped_records:
        console.print(f"[yellow]{funnel.n_skipped_records} record(s) could not be read:[/]")
        for item in funnel.skipped[:20]:
            console.print(f"  {item['record']}: {item['reason']}", highlight=False)
    _print_unknowns(outcome.unknown)
    anions = ", ".join(f"{k} {v}" for k, v in funnel.anion_counts.items())
    console.print(f"Survivors by anion type: {anions or 'none'}")
    console.print(f"V_ox source for survivors: {funnel.window_methods}; verdict convention: "
                  f"{funnel.voltage_convention}")
    for energy_set, n in funnel.energy_sets.items():
        console.print(f"  energies: {energy_set}: {n} material(s)", highlight=False)
    console.print(f"Stored in {stores.safe_spec}")


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
