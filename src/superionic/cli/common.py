"""Helpers shared by the command modules: opening stores, failing clearly, printing."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

# Wide tables when output goes to a file or pipe (rich would otherwise assume 80 columns).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)

STORE_HELP = (
    "Store spec: monty://PATH (on-disk, default under ~/.superionic), mongodb://HOST/DB, "
    "memory://, or a name/file from stores/. Env: SUPERIONIC_STORE."
)
WORKERS_HELP = (
    "Processes for the MD jobs, side by side (default 0 = one per CPU core, at most 4; 1 = one at a "
    "time in this process). Env: SUPERIONIC_LOCAL_WORKERS."
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error a user can act on and exit with ``code`` (no traceback, no secrets)."""
    from superionic.redaction import redact

    err_console.print(f"[bold red]Error:[/] {escape(redact(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_project_stores(spec: str | None):
    """Open the project's stores or exit with a message naming the spec and the fix."""
    from superionic.engines.base import EngineError
    from superionic.engines.store_source import choose_store
    from superionic.stores import StoreSpecError, open_stores

    try:  # no spec: SUPERIONIC_STORE, else jobflow's JOB_STORE if configured, else the embedded one
        spec = spec or choose_store(None, "local").spec
        return open_stores(spec)
    except (StoreSpecError, EngineError) as exc:
        fail(str(exc))


def print_json(data: Any) -> None:
    """JSON on stdout and nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def read_formula_csv(path, formula_column: str, param_hint: str):
    """A CSV (all columns as text) that must hold ``formula_column``; clear errors otherwise."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path} as CSV: {exc}", param_hint=param_hint) from exc
    if formula_column not in table.columns:
        raise typer.BadParameter(
            f"{path} has no column {formula_column!r} (columns: {', '.join(table.columns) or 'none'})",
            param_hint="--formula-column",
        )
    return table
