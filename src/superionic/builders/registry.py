"""The project's builders by name, made from a ``ProjectStores``, and how to run them.

``run_builders(stores)`` runs them in the order of the data flow (documents, structure, features,
predictions, diffusion, conductivity) with maggma's own serial runner (``maggma.cli.serial.serial``,
what ``mrun`` uses), so what runs here is what runs under ``mrun``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from superionic.builders.base import SuperionicBuilder
from superionic.builders.conductivity import ConductivityBuilder
from superionic.builders.diffusion import DiffusionBuilder
from superionic.builders.documents import DocumentsBuilder
from superionic.builders.features import FeatureBuilder
from superionic.builders.predictions import PredictionBuilder
from superionic.builders.structure import StructureEvidenceBuilder

BuilderFactory = Callable[..., SuperionicBuilder]

BUILDERS: dict[str, BuilderFactory] = {
    "documents": lambda s, **kw: DocumentsBuilder(s.jobs, s.data, s.materials, s.screening, s.funnel, s.models,
                                                  s.potentials, **kw),
    "structure": lambda s, **kw: StructureEvidenceBuilder(s.screening, s.materials, s.evidence, **kw),
    "features": lambda s, **kw: FeatureBuilder(s.materials, s.features, **kw),
    "predictions": lambda s, **kw: PredictionBuilder(s.screening, s.features, s.models, s.predictions, s.data,
                                                    **kw),
    "diffusion": lambda s, **kw: DiffusionBuilder(s.jobs, s.data, s.diffusion, **kw),
    "conductivity": lambda s, **kw: ConductivityBuilder(s.diffusion, s.materials, s.conductivity, **kw),
}
"""Builder name -> factory ``(stores, **options) -> builder``, in data-flow order."""


class UnknownBuilderError(ValueError):
    """A builder name that is not in the registry."""


class BuildFailedError(RuntimeError):
    """Inputs that a builder could not turn into documents (everything else was built)."""

    def __init__(self, reports: list[BuildReport]):
        self.reports = reports
        super().__init__(failure_message(reports))


def failure_message(reports: list[BuildReport], per_builder: int = 3) -> str:
    """'builder: N input(s) failed (key: reason; ...)' for every builder with failures."""
    parts = []
    for r in reports:
        if r.failures:
            shown = "; ".join(f"{k}: {v}" for k, v in list(r.failures.items())[:per_builder])
            more = f"; ... {len(r.failures) - per_builder} more" if len(r.failures) > per_builder else ""
            parts.append(f"{r.name}: {len(r.failures)} input(s) failed ({shown}{more})")
    return "Builders could not build everything: " + " | ".join(parts)


def resolve_names(names: str | Iterable[str] | None) -> list[str]:
    """Names in data-flow order (all if None); a clear error for an unknown one."""
    if names is None:
        return list(BUILDERS)
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in BUILDERS]
    if unknown:
        raise UnknownBuilderError(f"Unknown builder(s) {', '.join(map(repr, unknown))}; choose from {', '.join(BUILDERS)}.")
    return [n for n in BUILDERS if n in wanted]


def make_builders(stores, names: str | Iterable[str] | None = None,
                  options: dict[str, dict[str, Any]] | None = None) -> list[SuperionicBuilder]:
    """Builders over a ``ProjectStores``; ``options``: builder name -> constructor kwargs."""
    options = options or {}
    return [BUILDERS[name](stores, **options.get(name, {})) for name in resolve_names(names)]


@dataclass
class BuildReport:
    """What one builder did in one run."""

    name: str
    processed: int
    skipped: str | None = None
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def run_builder(builder: SuperionicBuilder) -> BuildReport:
    """Run one builder with maggma's serial runner; its report."""
    from maggma.cli.serial import serial

    start = time.perf_counter()
    serial(builder, no_bars=True)
    return BuildReport(builder.name, builder.n_processed, builder.skip_reason, dict(builder.failures),
                       time.perf_counter() - start)


def build(stores, names: str | Iterable[str] | None = None,
          options: dict[str, dict[str, Any]] | None = None) -> list[BuildReport]:
    """Run the named builders (all by default) in data-flow order; one report each."""
    return [run_builder(b) for b in make_builders(stores, names, options)]


def run_builders(stores, names: str | Iterable[str] | None = None,
                 options: dict[str, dict[str, Any]] | None = None, strict: bool = True) -> dict[str, int]:
    """Run the builders over ``stores`` (a ``ProjectStores``); documents built per builder.

    A second run with nothing new returns zeros. A skipped builder (e.g. predictions without
    a trained surrogate) counts 0 and logs why; see :func:`build` for the reasons. Inputs a
    builder could not process are loud: with ``strict`` (the default) every builder runs,
    what could be built is written, and then :class:`BuildFailedError` names each failed
    input and its reason (so a flow's summary job fails visibly instead of logging).
    """
    reports = build(stores, names, options)
    if strict and any(r.failures for r in reports):
        raise BuildFailedError(reports)
    return {r.name: r.processed for r in reports}
