"""``DiffusionBuilder``: MD outputs in the jobflow JobStore -> one ``DiffusionDoc`` per
material and temperature (key ``doc_id`` = ``'<material_id>:<T>K'``).

Sources: the JobStore's ``jobs`` store (jobflow keeps each job's output under ``output``,
large fields replaced by references into the ``data`` store) and that ``data`` store;
target ``diffusion``. Two kinds of job output count:

* ``DiffusionDoc`` (the MD flow's ``analyze_md_run`` job, or ``analyze_diffusion``):
  collected as they are (same ``last_updated``);
* ``MDRunDoc`` (``collect_forcefield_run`` / ``collect_vasp_run``): its trajectory is loaded
  the jobflow way (``JobStore.query_one(..., load=True)``) and analysed with the MD flow's own
  step (:func:`superionic.md.collect.analyze_md_run`), when the flow produced no
  ``DiffusionDoc`` for that run.

Which output makes the document of a ``doc_id`` (:func:`choose_sources`): the newest
``MDRunDoc`` of that material and temperature is the run; a ``DiffusionDoc`` whose
``trajectory_ref`` points at that run (``jobstore:<uuid>:...``) is collected, else the run is
analysed. Without any run, the newest ``DiffusionDoc`` is collected. The target is rebuilt
(:func:`is_stale`) when it is missing, when the chosen output is newer than it, or when it
was built from another run (``trajectory_ref`` differs).

Analysis settings: every DiffusionDoc carries ``analysis_version`` (analysis version + hash
of its ``DiffusionSettings``). An analysis made with other settings than the builder's
(``diffusion_settings``) is not collected: its run is analysed again, and a stored document
with another ``analysis_version`` is rebuilt from its run. A DiffusionDoc without a run (from
files) is collected as it is, whatever its settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, as_utc
from superionic.schemas.md import DiffusionDoc, diffusion_doc_id

RUN_CLASS = "MDRunDoc"
DIFFUSION_CLASS = "DiffusionDoc"
OUTPUT_FIELDS = ("@class", "last_updated", "doc_id", "material_id", "formula", "temperature", "trajectory_ref",
                 "analysis_version")


def run_trajectory_ref(uuid: str) -> str:
    """``trajectory_ref`` of a DiffusionDoc analysed from the MDRunDoc of job ``uuid``
    (the form :class:`superionic.md.makers.ConductivityMDMaker` passes to its analysis)."""
    return f"jobstore:{uuid}:output.trajectory"


class DiffusionBuilder(SuperionicBuilder):
    """Per-temperature Li diffusion documents from the MD job outputs (see module docstring)."""

    name = "diffusion"

    def __init__(
        self,
        jobs: Store,
        data: Store,
        diffusion: Store,
        diffusion_settings: dict | None = None,
        chunk_size: int = 20,
    ):
        """
        Args:
            jobs: the JobStore's document store (the project's ``jobs``).
            data: the JobStore's ``data`` store (trajectories).
            diffusion: the project's ``diffusion`` store.
            diffusion_settings: ``DiffusionSettings`` fields for runs analysed here.
            chunk_size: documents written per batch (trajectories are large: keep it small).
        """
        self.jobs = jobs
        self.data = data
        self.diffusion = diffusion
        self.diffusion_settings = diffusion_settings
        super().__init__(sources=[jobs, data], targets=[diffusion], chunk_size=chunk_size)

    def job_store(self):
        """The jobflow ``JobStore`` over ``jobs`` + ``data`` (references resolve into ``data``)."""
        from jobflow import JobStore

        return JobStore(self.jobs, additional_stores={"data": self.data})

    def analysis_version(self) -> str:
        """The ``analysis_version`` the builder's settings give (see the module docstring)."""
        from superionic.md.analysis_jobs import _settings
        from superionic.md.diffusion import analysis_version

        return analysis_version(_settings(self.diffusion_settings))

    def get_items(self) -> Iterator[dict]:
        self.reset_counts()
        outputs = list(job_outputs(self.jobs))
        version = self.analysis_version()
        chosen = choose_sources(outputs, version)
        targets = {d["doc_id"]: d for d in self.diffusion.query(
            properties=["doc_id", "last_updated", "trajectory_ref", "analysis_version"])}
        todo = [source for doc_id, source in sorted(chosen.items())
                if is_stale(source, targets.get(doc_id), version)]
        self.total = len(todo)
        self.logger.info("diffusion: %d of %d material-temperature documents to build (%d job outputs)",
                         len(todo), len(chosen), len(outputs))
        job_store = self.job_store() if todo else None
        for source in todo:
            try:
                job = job_store.query_one({"uuid": source.uuid, "index": source.index}, load=source.kind == RUN_CLASS)
            except Exception as exc:  # noqa: BLE001 - e.g. a trajectory missing from the data store
                self.record_failure(source.doc_id, f"job {source.uuid}: output not readable: {type(exc).__name__}: {exc}")
                continue
            if job is None:  # removed meanwhile
                continue
            yield {"source": source, "output": job["output"]}

    def process_item(self, item: dict) -> dict | None:
        source: JobOutput = item["source"]
        doc = diffusion_doc_from_output(item["output"], source, self.diffusion_settings)
        if not doc.usable:
            self.logger.info("%s: not usable (%s)", doc.doc_id, doc.reason)
        return doc.to_store()

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.diffusion.update(items, key="doc_id")
            self.n_processed += len(items)


def job_outputs(jobs: Store) -> Iterator[JobOutput]:
    """The MD run and diffusion outputs in a JobStore's ``jobs`` store (small fields only),
    the highest ``index`` of each job."""
    latest: dict[str, JobOutput] = {}
    criteria = {"output.@class": {"$in": [RUN_CLASS, DIFFUSION_CLASS]}}
    properties = ["uuid", "index", "name"] + [f"output.{f}" for f in OUTPUT_FIELDS]
    for doc in jobs.query(criteria=criteria, properties=properties):
        out = JobOutput.from_job(doc)
        if out is not None and (out.uuid not in latest or out.index > latest[out.uuid].index):
            latest[out.uuid] = out
    yield from latest.values()


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobOutput:
    """The small fields of one MD run or diffusion output in the JobStore."""

    uuid: str
    index: int
    kind: str  # RUN_CLASS or DIFFUSION_CLASS
    doc_id: str
    last_updated: datetime
    trajectory_ref: str | None  # runs: the ref an analysis of this run carries
    analysis_version: str | None = None  # analyses: the version + settings hash they used

    @classmethod
    def from_job(cls, job: dict) -> JobOutput | None:
        out = job.get("output") or {}
        kind = out.get("@class")
        try:
            if kind == RUN_CLASS:
                material_id = out.get("material_id") or out.get("formula")
                doc_id = diffusion_doc_id(str(material_id), float(out["temperature"]))
                ref = run_trajectory_ref(job["uuid"])
            elif kind == DIFFUSION_CLASS:
                doc_id, ref = str(out["doc_id"]), out.get("trajectory_ref")
            else:
                return None
        except (KeyError, TypeError, ValueError):
            return None
        return cls(str(job["uuid"]), int(job.get("index") or 1), kind, doc_id, as_utc(out.get("last_updated")), ref,
                   out.get("analysis_version") if kind == DIFFUSION_CLASS else None)

    @property
    def key(self) -> str:
        return f"{self.uuid}:{self.index}"


def choose_sources(outputs: Iterable[JobOutput], version: str | None = None) -> dict[str, JobOutput]:
    """doc_id -> the job output its DiffusionDoc comes from (rule in the module docstring);
    with ``version``, an analysis of a run made with another ``analysis_version`` is passed
    over (the run is analysed again)."""
    runs: dict[str, JobOutput] = {}
    analyses: dict[str, list[JobOutput]] = {}
    for out in outputs:
        if out.kind == RUN_CLASS:
            old = runs.get(out.doc_id)
            if old is None or (out.last_updated, out.key) > (old.last_updated, old.key):
                runs[out.doc_id] = out
        else:
            analyses.setdefault(out.doc_id, []).append(out)
    chosen: dict[str, JobOutput] = {}
    for doc_id in set(runs) | set(analyses):
        run = runs.get(doc_id)
        candidates = analyses.get(doc_id, [])
        if run is not None:
            candidates = [a for a in candidates if a.trajectory_ref == run.trajectory_ref
                          and (version is None or a.analysis_version == version)]
        if candidates:
            chosen[doc_id] = max(candidates, key=lambda a: (a.last_updated, a.key))
        elif run is not None:
            chosen[doc_id] = run
    return chosen


def is_stale(source: JobOutput, target: dict | None, version: str | None = None) -> bool:
    """Whether the stored DiffusionDoc (``last_updated``, ``trajectory_ref``,
    ``analysis_version``) must be rebuilt; a run is analysed again when the stored document
    has another ``analysis_version`` than ``version``."""
    if target is None:
        return True
    if version is not None and source.kind == RUN_CLASS and target.get("analysis_version") != version:
        return True
    if source.last_updated > as_utc(target.get("last_updated")):
        return True
    return (target.get("trajectory_ref") or None) != (source.trajectory_ref or None)


def diffusion_doc_from_output(output: dict, source: JobOutput, settings: dict | None = None) -> DiffusionDoc:
    """The DiffusionDoc of one job output: a DiffusionDoc as it is, an MDRunDoc analysed.

    ``output`` is the job's stored output (an ``MDRunDoc`` with its trajectory loaded from the
    data store). A run whose analysis raises becomes an unusable document with the reason.
    """
    from monty.json import MontyDecoder

    if source.kind == DIFFUSION_CLASS:
        doc = DiffusionDoc.model_validate({k: v for k, v in output.items() if not k.startswith("@")})
        return doc.model_copy(update={"last_updated": source.last_updated})
    from superionic.md.collect import _version, analyze_md_run

    try:
        run = MontyDecoder().process_decoded(output)
        return analyze_md_run.original(run, settings=settings, trajectory_ref=source.trajectory_ref)
    except Exception as exc:  # noqa: BLE001 - recorded in the document, the others go on
        material_id, _, temperature = source.doc_id.rpartition(":")
        reason = f"analysis_failed: {type(exc).__name__}: {exc}"
        return DiffusionDoc(
            doc_id=source.doc_id, material_id=material_id, formula=str(output.get("formula") or ""),
            temperature=float(temperature.rstrip("K")), engine=str(output.get("engine") or "unknown"),
            preset=output.get("preset"), trajectory_ref=source.trajectory_ref, flags=[reason],
            usable=False, reason=reason, analysis_version=_version(settings),
        )
