"""``DiffusionBuilder``: MD outputs in the jobflow JobStore -> one ``DiffusionDoc`` per
material, protocol and temperature (key ``doc_id`` =
``'<material_id>:<engine>:<potential>:<preset>:<T>K'``, :func:`superionic.schemas.md.diffusion_doc_id`).
A quick force-field run and a seed-protocol or VASP run of the same material and temperature
are two documents; neither overwrites the other.

Sources: the JobStore's ``jobs`` store (jobflow keeps each job's output under ``output``,
large fields replaced by references into the ``data`` store) and that ``data`` store;
target ``diffusion``. These job outputs count:

* ``DiffusionDoc`` (the MD flow's ``analyze_md_run`` job, or ``analyze_diffusion``):
  collected as they are (same ``last_updated``);
* ``MDRunDoc`` (``collect_forcefield_run`` / ``collect_vasp_run``): its production trajectory
  is loaded the jobflow way (``JobStore.query_one(..., load=True)``) from the segment (or
  atomate2 VASP task) outputs its ``production_segments`` point at, following ``reused_from``
  pointers, and joined (:mod:`superionic.md.workflow.segment_store`; a document of an earlier version
  carries it inline), then analysed with the MD flow's own step
  (:func:`superionic.md.workflow.collect.analyze_md_run`), when the flow produced no ``DiffusionDoc``
  for that run;
* atomate2's own MD outputs, ``ForceFieldTaskDocument`` and ``MultiMDOutput``
  (:mod:`superionic.builders.atomate2_md`: temperature and material from the job metadata,
  preset ``'atomate2'``): read as runs and analysed the same way, unless an ``MDRunDoc``
  already covers their MD (superionic's VASP engine runs atomate2's ``MultiMDMaker``; its
  ``MultiMDOutput`` is not analysed a second time).

Which output makes the document of a ``doc_id`` (:func:`choose_sources`): the newest
``MDRunDoc`` of that key (material, engine, potential, preset, temperature) is the run; a
``DiffusionDoc`` whose ``trajectory_ref`` points at that run (``jobstore:<uuid>:...``) and that
carries the same key is collected, else the run is analysed. Without any run, the newest
``DiffusionDoc`` is collected. The target is rebuilt
(:func:`is_stale`) when it is missing, when the chosen output is newer than it, or when it
was built from another run (``trajectory_ref`` differs).

Analysis settings: every DiffusionDoc carries ``analysis_version`` (analysis version + hash
of its ``DiffusionSettings``). An analysis made with other settings than the builder's
(``diffusion_settings``) is not collected: its run is analysed again, and a stored document
with another ``analysis_version`` is rebuilt from its run. A DiffusionDoc without a run (from
files) is collected as it is, whatever its settings.

Documents with the keys of earlier versions (``doc_id`` = ``'<material_id>:<T>K'``, no
``potential``) do not stop the builder:

* in the JobStore, an old analysis of a run is passed over (its key lacks the potential) and
  the run is analysed again under the new key; an old analysis without a run (from files) is
  collected under the key its fields give (potential ``'unknown'``);
* in the ``diffusion`` collection (:func:`legacy_documents`: ``doc_id`` is not the key its
  fields give), a document whose ``trajectory_ref`` is one of the chosen job outputs is
  removed once that output's document is written under the new key (at once if it already
  is); any other is re-keyed in place (same content, ``doc_id`` from its fields, potential
  ``'unknown'``), never dropped. A document that does not validate is left as it is and logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from maggma.core import Store

from superionic.builders.atomate2_md import ATOMATE2_CLASSES, FF_TASK_CLASS, JOB_FIELDS, MULTI_MD_CLASS
from superionic.builders.base import SuperionicBuilder, as_utc
from superionic.schemas.md import DiffusionDoc, diffusion_doc_id

RUN_CLASS = "MDRunDoc"
DIFFUSION_CLASS = "DiffusionDoc"
RUN_KINDS = (RUN_CLASS, *ATOMATE2_CLASSES)
"""Job outputs that are MD runs to analyse (superionic's and atomate2's)."""
OUTPUT_FIELDS = ("@class", "last_updated", "doc_id", "material_id", "formula", "temperature", "trajectory_ref",
                 "analysis_version", "engine", "potential", "force_field", "functional", "preset")
TARGET_FIELDS = ["doc_id", "last_updated", "trajectory_ref", "analysis_version", "material_id", "temperature",
                 "engine", "potential", "preset"]


def run_trajectory_ref(uuid: str, kind: str = RUN_CLASS) -> str:
    """``trajectory_ref`` of a DiffusionDoc analysed from the MD run output of job ``uuid``
    (for an MDRunDoc the form :class:`superionic.md.workflow.makers.ConductivityMDMaker` passes to its
    analysis; it names the run, whose trajectory is its segments')."""
    if kind == FF_TASK_CLASS:
        return f"jobstore:{uuid}:output.objects.trajectory"
    if kind == MULTI_MD_CLASS:
        return f"jobstore:{uuid}:output.traj_ids"
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
        self._superseded: dict[str, list[str]] = {}
        """New doc_id -> old-key doc_ids to remove once it is written."""
        super().__init__(sources=[jobs, data], targets=[diffusion], chunk_size=chunk_size)

    def job_store(self):
        """The jobflow ``JobStore`` over ``jobs`` + ``data`` (references resolve into ``data``)."""
        from jobflow import JobStore

        return JobStore(self.jobs, additional_stores={"data": self.data})

    def analysis_version(self) -> str:
        """The ``analysis_version`` the builder's settings give (see the module docstring)."""
        from superionic.md.workflow.analysis_jobs import _settings
        from superionic.md.analysis.diffusion import analysis_version

        return analysis_version(_settings(self.diffusion_settings))

    def get_items(self) -> Iterator[dict]:
        self.reset_counts()
        outputs = list(job_outputs(self.jobs))
        version = self.analysis_version()
        chosen = choose_sources(outputs, version)
        stored = list(self.diffusion.query(properties=TARGET_FIELDS))
        targets = {d["doc_id"]: d for d in stored}
        todo = [source for doc_id, source in sorted(chosen.items())
                if is_stale(source, targets.get(doc_id), version)]
        self._replace_legacy(legacy_documents(stored), chosen, {s.doc_id for s in todo})
        self.total = len(todo)
        self.logger.info("diffusion: %d of %d material-protocol-temperature documents to build (%d job outputs)",
                         len(todo), len(chosen), len(outputs))
        job_store = self.job_store() if todo else None
        for source in todo:
            try:
                job = job_store.query_one({"uuid": source.uuid, "index": source.index}, load=source.kind in RUN_KINDS)
                if job is not None and source.kind in RUN_KINDS:
                    job["output"] = loaded_run(job, source, job_store)
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
            superseded = [old for item in items for old in self._superseded.pop(item["doc_id"], [])]
            if superseded:
                self.diffusion.remove_docs({"doc_id": {"$in": superseded}})
                self.logger.info("diffusion: %d document(s) with old keys replaced", len(superseded))

    def _replace_legacy(self, legacy: list[dict], chosen: dict[str, JobOutput], todo: set[str]) -> None:
        """Old-key documents (module docstring): removed when their job output's new document
        is (or already was) written, else re-keyed in place."""
        self._superseded = {}
        by_ref = {s.trajectory_ref: doc_id for doc_id, s in chosen.items() if s.trajectory_ref}
        remove_now = []
        for old in legacy:
            new_id = by_ref.get(old.get("trajectory_ref"))
            if new_id in todo:
                self._superseded.setdefault(new_id, []).append(old["doc_id"])
            elif new_id is not None:
                remove_now.append(old["doc_id"])
            else:
                self._rekey(old["doc_id"])
        if remove_now:
            self.diffusion.remove_docs({"doc_id": {"$in": remove_now}})
            self.logger.info("diffusion: %d document(s) with old keys removed (rebuilt under new keys)",
                             len(remove_now))

    def _rekey(self, doc_id: str) -> None:
        full = self.diffusion.query_one({"doc_id": doc_id})
        try:
            doc = DiffusionDoc.model_validate({k: v for k, v in (full or {}).items() if k != "_id"})
        except Exception as exc:  # noqa: BLE001 - left in place, never a crash
            self.logger.warning("%s: old-key document left as it is (%s)", doc_id, exc)
            return
        if self.diffusion.query_one({"doc_id": doc.doc_id}, properties=["doc_id"]) is None:
            self.diffusion.update([doc.model_dump()], key="doc_id")  # same content and timestamp
        self.diffusion.remove_docs({"doc_id": doc_id})
        self.logger.info("diffusion: %s re-keyed as %s", doc_id, doc.doc_id)


def job_outputs(jobs: Store) -> Iterator[JobOutput]:
    """The MD run and diffusion outputs in a JobStore's ``jobs`` store (small fields only),
    the highest ``index`` of each job; atomate2's MD outputs keyed from their metadata
    (:func:`superionic.builders.atomate2_md.identity`)."""
    from superionic.builders.atomate2_md import identity

    latest: dict[str, JobOutput] = {}
    criteria = {"output.@class": {"$in": [RUN_CLASS, DIFFUSION_CLASS]}}
    properties = ["uuid", "index", "name"] + [f"output.{f}" for f in OUTPUT_FIELDS]
    found = list(jobs.query(criteria=criteria, properties=properties + ["output.segment_uuids"]))
    covered = {u for doc in found for u in (doc.get("output") or {}).get("segment_uuids") or []}
    for doc in jobs.query(criteria={"output.@class": {"$in": list(ATOMATE2_CLASSES)}}, properties=JOB_FIELDS):
        ids = set((doc.get("output") or {}).get("traj_ids") or [doc["uuid"]])
        if ids <= covered:
            continue  # MD of a superionic flow (its MDRunDoc is the run): not analysed twice
        info = identity(doc, jobs)
        if info is not None:
            found.append({"uuid": doc["uuid"], "index": doc.get("index"), "output": {**info, "@class": doc["output"]["@class"]}})
    for doc in found:
        out = JobOutput.from_job(doc)
        if out is not None and (out.uuid not in latest or out.index > latest[out.uuid].index):
            latest[out.uuid] = out
    yield from latest.values()


def loaded_run(job: dict, source: JobOutput, job_store):
    """The stored MD run output of ``job`` (loaded with ``load=True``) as an in-memory
    ``MDRunDoc`` carrying its production trajectory, read from ``job_store`` (segments joined,
    pointers followed; atomate2 outputs converted); the stored dict as it is when there is
    nothing to load (a trajectory inline, or a run that did not complete).

    The run is handed to :func:`diffusion_doc_from_output` as it is, not as a JSON dict to be
    decoded again (a trajectory as nested lists takes several times its memory); an item
    stays picklable for maggma's multiprocessing runner (pydantic model, numpy arrays)."""
    from superionic.builders import atomate2_md
    from superionic.md.workflow.segment_store import with_trajectory
    from superionic.safe_json import decode
    from superionic.schemas.md_runs import MDRunDoc

    output = job["output"]
    if source.kind == RUN_CLASS:
        if output.get("trajectory") is not None or output.get("status") != "completed":
            return output  # inline (earlier versions) or nothing to load
        run = MDRunDoc.model_validate(decode(output, "an MD run output"))
    else:
        info = source.atomate2 or atomate2_md.identity(job, job_store.docs_store)  # keyed once in job_outputs
        if info is None:
            raise ValueError("atomate2 MD output without a temperature")
        if source.kind == FF_TASK_CLASS:
            run = atomate2_md.forcefield_run(job, info)
        else:
            run = atomate2_md.multi_md_run(info, int(output.get("nsites") or 0))
        run = run.model_copy(update={"last_updated": source.last_updated})
    return with_trajectory(run, job_store)


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
def output_doc_id(out: dict) -> str:
    """The ``doc_id`` of the DiffusionDoc a job output (MDRunDoc or DiffusionDoc fields)
    makes: from its fields, never from a stored ``doc_id`` (old outputs carry old keys)."""
    material_id = out.get("material_id") or out.get("formula")
    potential = out.get("potential") or out.get("force_field") or out.get("functional")
    return diffusion_doc_id(str(material_id), float(out["temperature"]), engine=out.get("engine"),
                            potential=potential, preset=out.get("preset"))


def legacy_documents(stored: Iterable[dict]) -> list[dict]:
    """Stored DiffusionDocs whose ``doc_id`` is not the key their fields give (old keys)."""
    legacy = []
    for doc in stored:
        try:
            if doc.get("doc_id") != output_doc_id(doc):
                legacy.append(doc)
        except (KeyError, TypeError, ValueError):
            continue  # not a DiffusionDoc at all: not ours to touch
    return legacy


@dataclass(frozen=True)
class JobOutput:
    """The small fields of one MD run or diffusion output in the JobStore."""

    uuid: str
    index: int
    kind: str  # one of RUN_KINDS, or DIFFUSION_CLASS
    doc_id: str
    last_updated: datetime
    trajectory_ref: str | None  # runs: the ref an analysis of this run carries
    analysis_version: str | None = None  # analyses: the version + settings hash they used
    atomate2: dict | None = field(default=None, compare=False, repr=False)
    """atomate2 MD outputs: their :func:`~superionic.builders.atomate2_md.identity`, as
    :func:`job_outputs` computed it (so :func:`loaded_run` does not query it again)."""

    @classmethod
    def from_job(cls, job: dict) -> JobOutput | None:
        out = job.get("output") or {}
        kind = out.get("@class")
        if kind not in (*RUN_KINDS, DIFFUSION_CLASS):
            return None
        try:
            doc_id = output_doc_id(out)
            ref = run_trajectory_ref(job["uuid"], kind) if kind in RUN_KINDS else out.get("trajectory_ref")
        except (KeyError, TypeError, ValueError):
            return None
        return cls(str(job["uuid"]), int(job.get("index") or 1), kind, doc_id, as_utc(out.get("last_updated")), ref,
                   out.get("analysis_version") if kind == DIFFUSION_CLASS else None,
                   {k: v for k, v in out.items() if k != "@class"} if kind in ATOMATE2_CLASSES else None)

    @property
    def key(self) -> str:
        return f"{self.uuid}:{self.index}"


def choose_sources(outputs: Iterable[JobOutput], version: str | None = None) -> dict[str, JobOutput]:
    """doc_id -> the job output its DiffusionDoc comes from (rule in the module docstring);
    with ``version``, an analysis of a run made with another ``analysis_version`` is passed
    over (the run is analysed again), and so is an analysis whose key is not its run's (an
    old-key analysis)."""
    outputs = list(outputs)
    runs: dict[str, JobOutput] = {}
    run_keys = {out.trajectory_ref: out.doc_id for out in outputs if out.kind in RUN_KINDS}
    analyses: dict[str, list[JobOutput]] = {}
    for out in outputs:
        if out.kind in RUN_KINDS:
            old = runs.get(out.doc_id)
            if old is None or (out.last_updated, out.key) > (old.last_updated, old.key):
                runs[out.doc_id] = out
        elif run_keys.get(out.trajectory_ref, out.doc_id) == out.doc_id:
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
    if version is not None and source.kind in RUN_KINDS and target.get("analysis_version") != version:
        return True
    if source.last_updated > as_utc(target.get("last_updated")):
        return True
    return (target.get("trajectory_ref") or None) != (source.trajectory_ref or None)


def diffusion_doc_from_output(output, source: JobOutput, settings: dict | None = None) -> DiffusionDoc:
    """The DiffusionDoc of one job output: a DiffusionDoc as it is, an MDRunDoc analysed.

    ``output`` is the job's stored output (a dict), or for a run the ``MDRunDoc`` with its
    production trajectory loaded (:func:`loaded_run`). A run whose analysis raises becomes an
    unusable document with the reason.
    """
    from superionic.safe_json import decode
    from superionic.schemas.md_runs import MDRunDoc

    if source.kind == DIFFUSION_CLASS:
        doc = DiffusionDoc.model_validate({k: v for k, v in output.items() if not k.startswith("@")})
        return doc.model_copy(update={"last_updated": source.last_updated})
    from superionic.md.workflow.collect import _version, analyze_md_run

    try:
        run = output if isinstance(output, MDRunDoc) else decode(output, "an MD run output")
        return analyze_md_run.original(run, settings=settings, trajectory_ref=source.trajectory_ref)
    except Exception as exc:  # noqa: BLE001 - recorded in the document, the others go on
        reason = f"analysis_failed: {type(exc).__name__}: {exc}"
        if isinstance(output, MDRunDoc):
            output = {k: getattr(output, k) for k in ("material_id", "formula", "temperature", "engine",
                                                      "force_field", "functional", "preset")}
        return DiffusionDoc(
            material_id=str(output.get("material_id") or output.get("formula")),
            formula=str(output.get("formula") or ""), temperature=float(output["temperature"]),
            engine=str(output.get("engine") or "unknown"),
            potential=output.get("force_field") or output.get("functional"),
            preset=output.get("preset"), trajectory_ref=source.trajectory_ref, flags=[reason],
            usable=False, reason=reason, analysis_version=_version(settings),
        )
