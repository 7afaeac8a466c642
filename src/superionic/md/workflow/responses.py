"""What one conductivity MD flow produced, read from its jobs' responses.

:func:`md_result` turns the ``{uuid: {index: Response}}`` of a local run (jobflow's
``run_locally``, or :func:`superionic.engines.parallel_local.run_jobs`) into a
:class:`LocalMDResult`: per temperature the longest run and its analysis, and the final
Arrhenius fit. Running the flow is the front floor's (:func:`superionic.engines.local.run_conductivity_md`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow

from superionic.schemas.md_runs import MDRunDoc


@dataclass
class LocalMDResult:
    """What one local MD flow produced (documents as Python objects)."""

    material_id: str
    runs: list[MDRunDoc] = field(default_factory=list)
    diffusion: list[Any] = field(default_factory=list)
    conductivity: Any = None
    errors: list[str] = field(default_factory=list)

    @property
    def steps_run(self) -> int:
        return sum(r.steps_run for r in self.runs)

    @property
    def segments_reused(self) -> int:
        return sum(r.n_segments_reused for r in self.runs)


def md_result(flow: Flow, responses: dict, material_id: str) -> LocalMDResult:
    """The documents of ``flow``'s run (``responses`` as a local manager returns them), and an
    error per job of the flow that did not finish."""
    from superionic.schemas.md import ConductivityDoc, DiffusionDoc

    result = LocalMDResult(material_id=material_id)
    for job, _ in flow.iterflow():
        if not responses.get(job.uuid):
            result.errors.append(f"job '{job.name}' did not finish (see the log)")
    # every job that ran, including the extension rounds the flow added to itself: per
    # temperature the longest run and its analysis; the final fit (marked md_extension) wins
    runs: dict[float, MDRunDoc] = {}
    diffusion: dict[float, DiffusionDoc] = {}
    fits: list[ConductivityDoc] = []
    for by_index in responses.values():
        output = by_index[max(by_index)].output
        if isinstance(output, MDRunDoc):
            old = runs.get(output.temperature)
            if old is None or output.production_steps_done > old.production_steps_done:
                runs[output.temperature] = output
        elif isinstance(output, DiffusionDoc):
            old = diffusion.get(output.temperature)
            if old is None or output.n_frames > old.n_frames:
                diffusion[output.temperature] = output
        elif isinstance(output, ConductivityDoc):
            fits.append(output)
    result.runs = [runs[t] for t in sorted(runs)]
    result.diffusion = [diffusion[t] for t in sorted(diffusion)]
    final = [c for c in fits if any(f.startswith("md_extension") for f in c.flags)]
    result.conductivity = (final or fits or [None])[-1]
    return result
