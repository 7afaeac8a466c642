"""Progress bars for long work (rich), silent when output is not a terminal or JSON is asked."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr_console = Console(stderr=True)


@contextlib.contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True) -> Iterator:
    """Yield ``advance(n=1)``; draws a bar on stderr (stdout stays clean for --json)."""
    if not enabled:
        yield lambda n=1: None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=False,
        disable=not sys.stderr.isatty() and total is not None and total < 1,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


@contextlib.contextmanager
def md_segment_bars(enabled: bool = True) -> Iterator[Counter]:
    """A bar per MD segment while local force-field MD runs (listens to ``superionic.md.engines.progress``).

    Yields a Counter of segment outcomes ('end' = run now, 'reused', 'failed').
    """
    from superionic.md.engines import progress as md_progress

    outcomes: Counter = Counter()
    bars = Progress(
        TextColumn("[bold]MD {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=stderr_console, disable=not enabled,
    )
    tasks: dict[str, int] = {}

    def listener(event) -> None:
        if event.kind in ("end", "reused", "failed"):
            outcomes[event.kind] += 1
        if event.kind == "begin":
            tasks[event.label] = bars.add_task(event.label, total=event.total_steps or None)
        elif event.label in tasks:
            task = tasks[event.label]
            if event.kind == "advance":
                bars.advance(task, event.steps)
            else:  # end, reused or failed: close the bar with the outcome
                bars.update(task, completed=bars.tasks[task].total or 0,
                            description=f"{event.label} ({event.kind})" if event.kind != "end" else event.label)

    md_progress.add_listener(listener)
    try:
        with bars:
            yield outcomes
    finally:
        md_progress.remove_listener(listener)
