"""The local engine: jobflow's ``run_locally`` in this process, on the project's JobStore."""

from __future__ import annotations

from pathlib import Path

from jobflow import Flow, Job

from superionic.engines.base import EngineError, Submission
from superionic.stores import ProjectStores


def run_local(
    flow: Flow | Job,
    stores: ProjectStores,
    ensure_success: bool = True,
    root_dir: str | Path | None = None,
    log: bool = True,
) -> Submission:
    """Run ``flow`` now with ``jobflow.run_locally`` on ``stores.job_store()``.

    Outputs land in the ``jobs`` collection (large objects in ``data``). jobflow gives each
    run fresh job uuids; the project documents the jobs write are upserted by their stable
    keys, so a rerun replaces rather than duplicates. With ``ensure_success`` a failed job
    raises ``EngineError``; without it, the failed jobs are listed in ``states``.
    """
    from jobflow import run_locally

    all_jobs = [job for job, _ in flow.iterflow()] if isinstance(flow, Flow) else [flow]
    try:
        responses = run_locally(
            flow,
            store=stores.job_store(),
            ensure_success=ensure_success,
            root_dir=root_dir,
            create_folders=root_dir is not None,
            log=log,
        )
    except RuntimeError as exc:
        if "did not finish" not in str(exc):
            raise
        raise EngineError(
            f"Flow {flow.name!r} did not finish on the local engine: a job failed (jobflow's "
            f"log above names it and its error) and its children did not run. Outputs of the "
            f"jobs that finished are in the 'jobs' collection of {stores.spec}."
        ) from exc
    outputs = {uuid: by_index[max(by_index)].output for uuid, by_index in responses.items() if by_index}
    states = {job.uuid: "COMPLETED" if job.uuid in outputs else "FAILED or not run" for job in all_jobs}
    states.update({uuid: "COMPLETED" for uuid in outputs})  # jobs added while running
    return Submission(
        engine="local",
        flow_name=flow.name,
        n_jobs=len(all_jobs),
        ids=list(states),
        where=stores.spec,
        states=states,
        outputs=outputs,
    )


def submit(flow: Flow, stores: ProjectStores, ensure_success: bool = True, **_: object) -> Submission:
    """Engine entry point (see :func:`superionic.engines.get_engine`): run now, locally."""
    return run_local(flow, stores, ensure_success=ensure_success)
