"""Job lifecycle: create (queued), claim (running), finish (succeeded or failed).

PostgreSQL holds the truth about every job. A worker claims a job with a conditional update so
that two deliveries of the same message cannot both run it; the reconciler re-sends jobs whose
message was lost.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from models import Job
from pipeline import dispatch
from pipeline.errors import NotFound

logger = logging.getLogger(__name__)

# A handler gets the claimed job (detached) and opens its own units of work, so that no
# transaction stays open while it waits on a provider.
Handler = Callable[[Job], dict[str, Any]]
_handlers: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the pipeline function that runs jobs of one kind."""

    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create(
    *,
    session: Session,
    kind: str,
    queue: str = "interactive",
    contract_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> Job:
    """Write a queued job; it is sent to the broker only after the session commits."""
    job = Job(
        kind=kind,
        queue=queue,
        contract_id=contract_id,
        batch_id=batch_id,
        payload=payload or {},
        request_id=request_id,
        status="queued",
    )
    session.add(job)
    session.flush()
    dispatch.send_after_commit(session, job)
    return job


def get_or_raise(*, session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def claim(*, session: Session, job_id: uuid.UUID, stale_after: int | None = None) -> Job | None:
    """Move a queued job to running; None when another delivery already has it.

    With ``stale_after`` (seconds), a job left ``running`` for longer than that is taken over:
    no live run can last past the task time limit, so its worker died mid-task and the broker
    redelivered the message.
    """
    now = _now()
    claimable = Job.status == "queued"
    if stale_after is not None:
        claimable = or_(claimable, and_(Job.status == "running", Job.started_at < now - timedelta(seconds=stale_after)))
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(status="running", attempts=Job.attempts + 1, started_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.scalars(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).one()


def succeed(*, session: Session, job: Job, result: dict[str, Any]) -> None:
    job.updated_at = _now()
    job.status = "succeeded"
    job.result = result
    job.error = None
    job.finished_at = _now()


def fail(*, session: Session, job: Job, error: str) -> None:
    job.updated_at = _now()
    job.status = "failed"
    job.error = error[:2000]
    job.finished_at = _now()


def run(*, job: Job) -> dict[str, Any]:
    """Run a claimed job's handler and return its result."""
    fn = _handlers.get(job.kind)
    if fn is None:
        raise RuntimeError(f"no handler registered for jobs of kind {job.kind!r}")
    return fn(job)


@handler("maintenance")
def _maintenance(job: Job) -> dict[str, Any]:
    """A no-op that proves a worker consumes a queue end to end (``flask worker-check``)."""
    return {"pong": True, "worker": socket.gethostname(), "queue": job.queue}
