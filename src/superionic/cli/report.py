"""``superionic report``: regenerate the HTML report from the store alone."""

from __future__ import annotations

from pathlib import Path

import typer

from superionic.cli.common import STORE_HELP


def register(app: typer.Typer) -> None:
    """Add ``report`` to the superionic command line."""
    app.command("report")(report)


def report(
    store: str = typer.Option(None, "--store", help=STORE_HELP),
    out: Path = typer.Option(
        None, "--out", "-o", help="Report directory (default: DATA_DIR/report). Gets report.html "
        "and figures/*.png.",
    ),
) -> None:
    """Write report.html (self-contained, figures embedded) and its PNGs from the store's documents."""
    from superionic.cli.common import console, fail, open_project_stores
    from superionic.progress import progress_bar
    from superionic.report import ReportError, build_report
    from superionic.report.build import prepare_dir
    from superionic.report.sections import BUILDERS
    from superionic.settings import get_settings

    out_dir = Path(out or Path(get_settings().data_dir).expanduser() / "report").expanduser()
    try:
        prepare_dir(out_dir)  # fail before reading the store, not after
    except ReportError as exc:
        fail(str(exc))
    stores = open_project_stores(store)
    try:
        with progress_bar("Report sections", len(BUILDERS)) as advance:
            path = build_report(stores, out_dir, on_section=lambda key: advance())
    except ReportError as exc:
        fail(str(exc))
    finally:
        stores.close()
    console.print(f"report: {path}\nfigures: {path.parent / 'figures'}", highlight=False)
