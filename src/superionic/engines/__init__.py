"""Engines that run a jobflow Flow: here and now, or on clusters through a MongoDB queue.

========================  ==========================================================
``local``                 jobflow ``run_locally`` semantics here, MD jobs on every core (``parallel_local``)
``fireworks``             jobflow ``flow_to_workflow`` -> a FireWorks LaunchPad (``rlaunch``)
``jobflow-remote``        jobflow-remote ``submit_flow`` -> a project's queue (``jf runner``)
========================  ==========================================================

``get_engine(name).submit(flow, stores, **options)`` works with any Flow and returns a
:class:`~superionic.engines.base.Submission`. Engine modules are imported only when used,
so a missing optional package (jobflow-remote) matters only to whoever picks that engine.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from superionic.engines.base import EngineError, Submission


@dataclass(frozen=True)
class Engine:
    """One way to run a Flow."""

    name: str
    module: str
    summary: str

    def submit(self, flow, stores, **options) -> Submission:
        """Run or queue ``flow`` with its outputs in ``stores``; see the engine module."""
        return importlib.import_module(self.module).submit(flow, stores, **options)


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        Engine("local", "superionic.engines.local", "run now, here (jobflow run_locally; MD jobs on every core)"),
        Engine("fireworks", "superionic.engines.fireworks", "add to a FireWorks LaunchPad (MongoDB)"),
        Engine(
            "jobflow-remote",
            "superionic.engines.jobflow_remote",
            "submit to a jobflow-remote project (MongoDB; pip install 'superionic[remote]')",
        ),
    )
}


class UnknownEngineError(EngineError, ValueError):
    """An engine name that is not in :data:`ENGINES`."""


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (``jobflow_remote`` is accepted for ``jobflow-remote``)."""
    key = (name or "").strip().lower().replace("_", "-")
    if key not in ENGINES:
        raise UnknownEngineError(
            f"Unknown engine {name!r}: choose one of {', '.join(ENGINES)}."
        )
    return ENGINES[key]


__all__ = ["ENGINES", "Engine", "EngineError", "Submission", "UnknownEngineError", "get_engine"]
