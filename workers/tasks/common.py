"""The one way a task runs a job: claim it, run its pipeline handler, record the outcome."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pipeline import db, jobs
from pipeline.settings import get_settings

logger = logging.getLogger(__name__)


def execute_job(job_id: str) -> dict[str, Any] | None:
    """Run one job; a job another delivery already claimed is left alone (returns None)."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        logger.error("task received a malformed job id %r; dropping it", job_id)
        return None
    with db.unit_of_work() as session:
        job = jobs.claim(session=session, job_id=key, stale_after=get_settings().celery_task_time_limit)
    if job is None:
        logger.info("job already claimed or finished; nothing to do", extra={"job_id": job_id})
        return None
    logger.info("job started", extra={"job_id": job_id, "kind": job.kind, "attempt": job.attempts})
    try:
        with db.unit_of_work() as session:
            job = session.merge(job)
            result = jobs.run(session=session, job=job)
            jobs.succeed(session=session, job=job, result=result)
    except Exception as exc:
        logger.exception("job failed", extra={"job_id": job_id})
        with db.unit_of_work() as session:
            job = jobs.get_or_raise(session=session, job_id=key)
            jobs.fail(session=session, job=job, error=f"{type(exc).__name__}: {exc}")
        return None
    logger.info("job succeeded", extra={"job_id": job_id})
    return result
