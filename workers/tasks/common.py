"""The one way a task runs a job: claim it, run its kind's steps, record the outcome.

Every state change is written to PostgreSQL first, then mirrored to Redis and published, so
pollers and server-sent-event streams see it at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models import Job
from pipeline.core import db
from pipeline.core.cache import get_cache
from pipeline.core.errors import AppError
from pipeline.core.logs import user_id_var
from pipeline.core.settings import get_settings
from pipeline.jobs import lifecycle as jobs
from pipeline.jobs import status as job_status
from pipeline.jobs.kinds import JobFailed, JobKind

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _mirror(job) -> None:
    settings = get_settings()
    job_status.mirror(get_cache(settings), job, ttl=settings.job_status_ttl)


def _transaction(settings, work: Callable[[Session], T]) -> T:  # Settings
    """Run ``work`` in one unit of work, once more on a fresh connection if the pooled one was dead.

    Pooled connections in constant use are not pinged before use (see models.session), so the
    first statement after a database restart meets a dropped connection; nothing was written on
    it, and the pool has replaced its connections.
    """
    for attempt in (1, 2):
        try:
            with db.unit_of_work(settings) as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == 2:
                raise
            logger.warning("database connection was dropped; trying again on a fresh one")
    raise AssertionError("unreachable")


def execute(kind: JobKind, job_id: str) -> dict[str, Any] | None:
    """Run one job; a job another delivery already has is left alone (returns None).

    Two short transactions around the work: the claim (with what the kind's ``prepare`` reads),
    and the outcome written together with the job's final state (success or failure). No
    transaction stays open while ``run`` waits on a provider.
    """
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        logger.error("task received a malformed job id %r; dropping it", job_id)
        return None
    settings = get_settings()

    def claim(session: Session) -> tuple[Job | None, Any]:
        claimed = jobs.claim(session=session, job_id=key, stale_after=settings.celery_task_time_limit, max_attempts=settings.job_max_attempts)
        return claimed, (kind.prepare(session, claimed) if claimed is not None else None)

    job, prepared = _transaction(settings, claim)
    if job is None:
        logger.info("job already claimed or finished; nothing to do", extra={"job_id": job_id})
        return None
    # The job acts for whoever asked for it: its logs, audit events and the jobs it creates name them.
    user_token = user_id_var.set(str(job.requested_by) if job.requested_by else None)
    try:
        return _run_claimed(settings, kind, key, job_id, job, prepared)
    finally:
        user_id_var.reset(user_token)


def _run_claimed(settings, kind: JobKind, key: uuid.UUID, job_id: str, job: Job, prepared: Any) -> dict[str, Any] | None:  # Settings
    _mirror(job)
    logger.info("job started", extra={"job_id": job_id, "kind": job.kind, "attempt": job.attempts})
    try:
        completion = kind.run(job, prepared)

        def record_outcome(session: Session) -> Job:
            # Safe to repeat: writes are idempotent per job (one extraction per contract).
            if completion.write is not None:
                completion.write(session)
            return jobs.finish(session=session, job_id=key, result=completion.result)

        job = _transaction(settings, record_outcome)
    except Exception as raised:
        # A JobFailed carries writes (the failure's audit event) to commit with the failed state.
        exc, failure_write = (raised.error, raised.write) if isinstance(raised, JobFailed) else (raised, None)
        error = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, AppError):
            logger.warning("job failed: %s", error, extra={"job_id": job_id})
        else:
            logger.exception("job failed", extra={"job_id": job_id})
        def record_failure(session: Session) -> Job:
            if failure_write is not None:
                failure_write(session)
            return jobs.finish(session=session, job_id=key, error=error)

        job = _transaction(settings, record_failure)
        _mirror(job)
        return None
    _mirror(job)
    logger.info("job succeeded", extra={"job_id": job_id})
    return completion.result
