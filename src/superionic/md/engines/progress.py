"""Progress of local MD, for whoever listens (the CLI draws a bar; nobody listens by default).

The segment job announces each segment (:func:`begin_segment`), the dynamics report steps as
they are integrated (:func:`advance`), and a reused segment reports its steps at once. With no
listener registered every call is a no-op, so jobs run unchanged under FireWorks or
jobflow-remote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ProgressEvent:
    """One update: ``kind`` is 'begin', 'advance', 'reused', 'failed' or 'end'."""

    kind: str
    label: str = ""
    steps: int = 0
    total_steps: int = 0
    message: str = ""


_listeners: list[Callable[[ProgressEvent], None]] = []
_current_label = ""


def add_listener(listener: Callable[[ProgressEvent], None]) -> None:
    _listeners.append(listener)


def remove_listener(listener: Callable[[ProgressEvent], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _emit(event: ProgressEvent) -> None:
    for listener in list(_listeners):
        listener(event)


def begin_segment(label: str, total_steps: int) -> None:
    global _current_label
    _current_label = label
    _emit(ProgressEvent("begin", label, 0, total_steps))


def advance(steps: int) -> None:
    if _listeners:
        _emit(ProgressEvent("advance", _current_label, steps))


def end_segment(kind: str = "end", steps: int = 0, message: str = "") -> None:
    _emit(ProgressEvent(kind, _current_label, steps, message=message))
