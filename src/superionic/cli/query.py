"""``superionic query``: candidates with funnel status, votes, probability and sigma(300 K)."""

from __future__ import annotations

import csv
import sys
from typing import Optional

import typer

from superionic.cli.common import STORE_HELP, console, fail, open_project_stores, print_json


def query(
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    anion: Optional[str] = typer.Option(None, "--anion", help="Only this anion type (oxide, halide, sulfide, ...)."),
    verdict: Optional[str] = typer.Option(None, "--verdict", help="'superionic', 'not superionic' or 'insufficient data' (ML or MD)."),
    min_sigma: Optional[float] = typer.Option(None, "--min-sigma", help="Minimum sigma(300 K) in S/cm (MD-validated only)."),
    all_materials: bool = typer.Option(False, "--all", help="Every screened material, not only the survivors."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv (json/csv: data only on stdout)."),
    limit: int = typer.Option(50, "--limit", "-n", min=0, help="Rows to show in a table (0: all)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Predictions of this model id (default: "
                                        "each material's by the latest model; column ml_model)."),
    all_protocols: bool = typer.Option(False, "--all-protocols", help="One row per MD protocol stored for a "
                                       "material (default: the best one, VASP seed > VASP > force-field seed > "
                                       "force-field quick; column md_protocol)."),
) -> None:
    """List candidates from the store; filter by anion type, verdict and sigma(300 K)."""
    from superionic.cli.run import candidates_table
    from superionic.results import COLUMNS, candidate_rows, filter_rows

    if fmt not in ("table", "json", "csv"):
        fail(f"Unknown format {fmt!r}: choose table, json or csv.")
    stores = open_project_stores(store)
    rows = candidate_rows(stores, survivors_only=not all_materials, model_id=model, all_protocols=all_protocols)
    rows = filter_rows(rows, anion, verdict, min_sigma)
    if fmt == "json":
        print_json(rows)
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    else:
        if not rows:
            console.print("No matching materials. Run `superionic screen` or `superionic run` first, or relax the filters.")
            return
        shown = rows if limit == 0 else rows[:limit]
        used = sorted({r["ml_model"] for r in rows if r.get("ml_model")})
        models = f"; predictions of {', '.join(used)}" if used else ""
        n_materials = len({r["material_id"] for r in rows})
        per_protocol = f" ({len(rows)} rows: one per MD protocol)" if all_protocols and len(rows) > n_materials else ""
        console.print(candidates_table(shown, title=f"{n_materials} material(s){per_protocol} in {stores.safe_spec}{models}"))


def register(app: typer.Typer) -> None:
    app.command("query")(query)
