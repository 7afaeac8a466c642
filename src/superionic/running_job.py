"""The jobflow job running in this process: its JobStore and its uuid (None outside a job).

A job sees its store only with ``JobConfig(expose_store=True)``; the checkpoints, the trajectory
readers and the fine-tuned potentials use it to read what earlier jobs stored.
"""

from __future__ import annotations


def job_store():
    """The running job's JobStore; None outside a job or when the job was not given its store."""
    from jobflow import CURRENT_JOB

    return getattr(CURRENT_JOB, "store", None) if getattr(CURRENT_JOB, "job", None) is not None else None


def job_uuid() -> str | None:
    """The running job's uuid; None outside a job."""
    from jobflow import CURRENT_JOB

    return getattr(getattr(CURRENT_JOB, "job", None), "uuid", None)
