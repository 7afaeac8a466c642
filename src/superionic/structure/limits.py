"""Limits on one structure's evidence: CPU seconds per method, memory per worker process.

``cpu_time_limit(seconds)`` raises ``CpuTimeExceeded`` once the process has spent that many
CPU seconds inside the block (a SIGPROF interval timer, so a loaded machine does not cut a
calculation short: the same structure stops at the same point on an idle and a busy machine).
Signals reach only the main thread: elsewhere the block runs without a limit.

``cap_memory(bytes)`` sets the process's data-segment limit (RLIMIT_DATA: heap and anonymous
mappings), so an allocation beyond it raises ``MemoryError`` (recorded as a reason) instead of
the kernel killing the process; it is set in the builder's worker processes only.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading


class CpuTimeExceeded(Exception):
    """A method ran past its CPU-time limit."""


def _raise(signum, frame):  # noqa: ARG001 - signal handler signature
    raise CpuTimeExceeded


@contextlib.contextmanager
def cpu_time_limit(seconds: float | None):
    """Raise ``CpuTimeExceeded`` after ``seconds`` of process CPU time in the block (None: no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGPROF, _raise)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def cap_memory(max_bytes: int | None) -> None:
    """Limit this process's data segment to ``max_bytes`` (None or 0: leave it)."""
    if not max_bytes:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
