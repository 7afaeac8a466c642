"""Run the conductivity MD flow here (``run_locally``) and return its documents.

:func:`run_conductivity_md` builds the flow and runs it on the project's JobStore (so that an
interrupted run resumes from its finished segments when called again). It writes no
collection: the ``diffusion`` and ``conductivity`` builders file the documents from the
JobStore (``superionic md`` runs them after it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymatgen.core import Structure

from superionic.md.workflow.makers import ConductivityMDMaker
from superionic.schemas.md_runs import MDRunDoc

logger = logging.getLogger(__name__)


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


def run_conductivity_md(
    structure: Structure,
    material_id: str,
    maker: ConductivityMDMaker | None = None,
    job_store=None,
    root_dir: str | Path | None = None,
    log: bool = False,
    workers: int | None = None,
) -> LocalMDResult:
    """Run the flow locally on ``job_store`` (resumable: finished segments are taken over) and
    return its documents. ``workers``: processes for the MD jobs (None: the settings'
    ``local_workers``; :mod:`superionic.engines.parallel_local`). It writes no collection: the
    ``diffusion`` and ``conductivity`` builders, the one writer of each, read the JobStore
    (``superionic md`` runs them)."""
    from superionic.engines.parallel_local import run_jobs
    from superionic.schemas.md import ConductivityDoc, DiffusionDoc

    maker = maker or ConductivityMDMaker()
    if maker.engine != "forcefield":
        raise ValueError("only the force-field engine runs locally; submit VASP flows to a cluster")
    if job_store is None:
        raise ValueError("give the JobStore to run MD in (ProjectStores.job_store())")
    flow = maker.make(structure, material_id=material_id)
    if root_dir is not None:
        Path(root_dir).mkdir(parents=True, exist_ok=True)
    responses = run_jobs(flow, job_store, workers=workers, root_dir=root_dir, log=log)

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
