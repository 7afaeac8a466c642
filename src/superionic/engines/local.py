"""The local engine: jobflow's ``run_locally`` semantics here (MD jobs in worker processes,
:mod:`superionic.engines.parallel_local`), on the project's JobStore.

jobflow's local manager catches a failing job, logs its traceback at INFO on
``jobflow.managers.local`` and goes on with the jobs that do not need it. :func:`run_flow`
listens on that logger while the flow runs, so every failure comes back as a
:class:`JobFailure` (job name, ``ExceptionType: message``, traceback) and the tracebacks go to a
log file whose path the caller prints. Both ``superionic run`` and ``superionic submit --engine
local`` use it, and both exit non-zero when anything failed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from jobflow import Flow, Job

from superionic.engines.base import EngineError, Submission
from superionic.redaction import redact
from superionic.stores import ProjectStores

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from superionic.md.workflow.makers import ConductivityMDMaker
    from superionic.md.workflow.responses import LocalMDResult

JOBFLOW_LOGGER = "jobflow.managers.local"
_FAILED = " failed with exception:\n"


@dataclass
class JobFailure:
    """One job (or MD segment) that failed: who, why, and the full traceback."""

    job: str
    reason: str
    traceback: str = ""


@dataclass
class LocalRun:
    """What :func:`run_flow` saw: jobflow's responses and every failure."""

    responses: dict = field(default_factory=dict)
    failures: list[JobFailure] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


_EXCEPTION_HEADER = re.compile(r"^[A-Za-z_][\w.]*(?::|$)")


def reason_of(traceback_text: str, limit: int = 400) -> str:
    """``ExceptionType: message`` of the last exception in a traceback, on one line, redacted.

    Multi-line messages (pydantic's validation errors) are joined; their "For further
    information visit ..." links are dropped.
    """
    lines = traceback_text.rstrip().splitlines()
    start = next((i for i in range(len(lines) - 1, -1, -1) if _EXCEPTION_HEADER.match(lines[i])), None)
    if start is None:
        return redact(lines[-1].strip()) if lines else "unknown error"
    text = " ".join(line.strip() for line in lines[start:]
                    if line.strip() and not line.strip().startswith("For further information"))
    return redact(text if len(text) <= limit else text[: limit - 3] + "...")


class _FailureCatcher(logging.Handler):
    """Collects jobflow's "JOB failed with exception:\\nTRACEBACK" records."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.failures: list[JobFailure] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if _FAILED in message:
            name, tb = message.split(_FAILED, 1)
            self.failures.append(JobFailure(job=name.strip(), reason=reason_of(tb), traceback=redact(tb)))


def write_failure_log(failures: list[JobFailure], log_dir: Path) -> Path:
    """Write every failure with its traceback to ``log_dir/failures-<UTC time>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    when = datetime.now(timezone.utc)
    path = log_dir / f"failures-{when:%Y%m%d-%H%M%S-%f}.log"
    parts = [f"superionic run failures, {when:%Y-%m-%d %H:%M:%S} UTC\n"]
    for f in failures:
        parts.append(f"\n=== {f.job}: {f.reason}\n{f.traceback or '(no traceback)'}\n")
    path.write_text(redact("".join(parts)))
    return path


def run_flow(flow: Flow | Job, job_store, root_dir: str | Path | None = None,
             log_dir: str | Path | None = None, workers: int | None = None) -> LocalRun:
    """Run ``flow`` on ``job_store`` (``run_locally``, MD jobs in worker processes), collecting each failed job.

    Never raises for a failed job (``KeyboardInterrupt`` and errors of jobflow itself do
    propagate). ``workers``: processes for the MD jobs (None: the settings'). With failures and a
    ``log_dir``, their tracebacks are written there and ``log_path`` names the file.
    """
    from superionic.engines.parallel_local import run_jobs

    logger = logging.getLogger(JOBFLOW_LOGGER)
    catcher = _FailureCatcher()
    saved = (logger.level, logger.propagate)
    logger.addHandler(catcher)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # jobflow's INFO chatter is not for the terminal; failures are
    try:
        responses = run_jobs(flow, job_store, workers=workers, root_dir=root_dir, create_folders=root_dir is not None)
    finally:
        logger.removeHandler(catcher)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    run = LocalRun(responses=responses, failures=catcher.failures)
    if run.failures and log_dir is not None:
        run.log_path = write_failure_log(run.failures, Path(log_dir))
    return run


def failure_summary(failures: list[JobFailure], log_path: Path | None, limit: int = 5) -> str:
    """One line per failure (at most ``limit``) and where the tracebacks are."""
    lines = [f"job {f.job!r} failed: {f.reason}" for f in failures[:limit]]
    if len(failures) > limit:
        lines.append(f"... and {len(failures) - limit} more failure(s)")
    if log_path is not None:
        lines.append(f"tracebacks: {log_path}")
    return "\n".join(lines)


def run_local(
    flow: Flow | Job,
    stores: ProjectStores,
    ensure_success: bool = True,
    root_dir: str | Path | None = None,
    log_dir: str | Path | None = None,
) -> Submission:
    """Run ``flow`` now on ``stores.job_store()`` (:func:`run_flow`).

    Outputs land in the ``jobs`` collection (large objects in ``data``). jobflow gives each
    run fresh job uuids; the project documents the jobs write are upserted by their stable
    keys, so a rerun replaces rather than duplicates. Failed jobs are listed in
    ``failures`` (name -> reason) and their tracebacks written under ``log_dir`` (default:
    the settings' ``DATA_DIR/runs``); with ``ensure_success`` a failure raises ``EngineError``
    naming the jobs, the reasons and the log file.
    """
    if log_dir is None:
        from superionic.settings import get_settings

        log_dir = Path(get_settings().data_dir).expanduser() / "runs"
    all_jobs = [job for job, _ in flow.iterflow()] if isinstance(flow, Flow) else [flow]
    run = run_flow(flow, stores.job_store(), root_dir=root_dir, log_dir=log_dir)
    if ensure_success and not run.ok:
        raise EngineError(
            f"Flow {flow.name!r} did not finish on the local engine:\n"
            f"{failure_summary(run.failures, run.log_path)}\n"
            f"Outputs of the jobs that finished are in the 'jobs' collection of {stores.safe_spec}."
        )
    responses = run.responses
    outputs = {uuid: by_index[max(by_index)].output for uuid, by_index in responses.items() if by_index}
    states = {job.uuid: "COMPLETED" if job.uuid in outputs else "FAILED or not run" for job in all_jobs}
    states.update({uuid: "COMPLETED" for uuid in outputs})  # jobs added while running
    return Submission(
        engine="local",
        flow_name=flow.name,
        n_jobs=len(all_jobs),
        ids=list(states),
        where=stores.safe_spec,
        states=states,
        outputs=outputs,
        failures={f.job: f.reason for f in run.failures},
        log_path=str(run.log_path) if run.log_path else "",
    )


def submit(flow: Flow, stores: ProjectStores, ensure_success: bool = False, **_: object) -> Submission:
    """Engine entry point (see :func:`superionic.engines.get_engine`): run now, locally.

    Failures do not raise here: they come back in ``Submission.failures`` so the caller can
    show what finished and exit non-zero.
    """
    return run_local(flow, stores, ensure_success=ensure_success)


def run_conductivity_md(structure: Structure, material_id: str, maker: ConductivityMDMaker | None = None,
                        job_store=None, root_dir: str | Path | None = None, log: bool = False,
                        workers: int | None = None) -> LocalMDResult:
    """Run one material's conductivity MD flow here on ``job_store`` (resumable: finished segments
    are taken over) and return its documents.

    ``workers``: processes for the MD jobs (None: the settings' ``local_workers``). It writes no
    collection: the ``diffusion`` and ``conductivity`` builders, the one writer of each, read the
    JobStore (``superionic md`` runs them after it).
    """
    from superionic.engines.parallel_local import run_jobs
    from superionic.md.workflow.makers import ConductivityMDMaker
    from superionic.md.workflow.responses import md_result

    maker = maker or ConductivityMDMaker()
    if maker.engine != "forcefield":
        raise ValueError("only the force-field engine runs locally; submit VASP flows to a cluster")
    if job_store is None:
        raise ValueError("give the JobStore to run MD in (ProjectStores.job_store())")
    flow = maker.make(structure, material_id=material_id)
    if root_dir is not None:
        Path(root_dir).mkdir(parents=True, exist_ok=True)
    return md_result(flow, run_jobs(flow, job_store, workers=workers, root_dir=root_dir, log=log), material_id)
