"""``superionic build [NAME]``: run the maggma builders (incremental) over a store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from superionic.cli.common import STORE_HELP, console, fail, open_project_stores, print_json


def register(app: typer.Typer) -> None:
    """Add the build command to the ``superionic`` app."""
    app.command("build")(build)


def build(
    name: Optional[str] = typer.Argument(
        None, help="One builder: documents, structure, features, predictions, diffusion or conductivity (default: all, "
        "in that order)."
    ),
    store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Surrogate for predictions: a model id in the store or a saved .skops "
        "(default: the newest in the store)."
    ),
    export: Optional[Path] = typer.Option(
        None, "--export", help="Write the builders as JSON for maggma's `mrun FILE` instead of running them."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON only."),
) -> None:
    """Build the collections (job outputs, structural evidence, features, predictions, diffusion,
    conductivity) from what is new.

    Each builder builds only what is missing or stale: a second run builds nothing. The
    structure builder computes new survivors with the default settings (BVSE included) and
    keeps stored evidence as its recipe made it.
    """
    from superionic.builders import UnknownBuilderError
    from superionic.builders import build as run_build

    options: dict[str, dict] = {"structure": {"show_progress": not as_json}}
    if model:
        from superionic.ml.surrogate import is_surrogate_file

        is_file = is_surrogate_file(model)
        options["predictions"] = {"model_path": model} if is_file else {"model_id": model}
    stores = open_project_stores(store)
    try:
        if export is not None:
            _export(stores, name, options, export)
            return
        try:
            reports = run_build(stores, name, options)
        except UnknownBuilderError as exc:
            fail(str(exc))
    finally:
        stores.close()
    failed = any(r.failures for r in reports)
    if as_json:
        print_json({r.name: r.processed for r in reports})
        if failed:
            raise typer.Exit(1)
        return
    for r in reports:
        line = f"{r.name}: {r.processed} processed ({r.seconds:.1f} s)"
        if r.skipped:
            line += f" [yellow]skipped: {r.skipped}[/]"
        if r.failures:
            line += f" [red]{len(r.failures)} failed[/]"
        console.print(line, highlight=False, soft_wrap=True)
        for key, reason in list(r.failures.items())[:10]:
            console.print(f"  {key}: {reason}", highlight=False, soft_wrap=True)
    if failed:
        fail("Some inputs could not be built (listed above); the rest is stored.", code=1)


def _export(stores, name, options, path: Path) -> None:
    from monty.serialization import dumpfn

    from superionic.builders import UnknownBuilderError, make_builders
    from superionic.stores import resolve_spec

    if resolve_spec(stores.spec)["type"] == "memory":
        fail("memory:// stores live in one process: `mrun` would start from empty stores. "
             "Export builders of a monty:// or mongodb:// store.")
    try:
        builders = make_builders(stores, name, options)
    except UnknownBuilderError as exc:
        fail(str(exc))
    path.parent.mkdir(parents=True, exist_ok=True)
    dumpfn(builders, str(path))
    console.print(f"wrote {len(builders)} builder(s) to {path}; run them with `mrun {path}`")
