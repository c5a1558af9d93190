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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models import Job
from models.job import ACTIVE_JOB_STATUSES, LIVE_EXTRACTION
from pipeline import dispatch
from pipeline.errors import NotFound

logger = logging.getLogger(__name__)

# A handler gets the claimed job (detached) and opens its own units of work, so that no
# transaction stays open while it waits on a provider.
Handler = Callable[[Job], "dict[str, Any] | Completion"]
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


def live_extraction(*, session: Session, contract_id: uuid.UUID) -> Job | None:
    """The contract's queued or running extraction job, if any."""
    return session.scalars(
        select(Job).where(Job.contract_id == contract_id, Job.kind == "extraction", Job.status.in_(ACTIVE_JOB_STATUSES))
    ).first()


def create_unless_active(
    *,
    session: Session,
    contract_id: uuid.UUID,
    queue: str = "interactive",
    batch_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> tuple[Job, bool]:
    """A queued extraction job for the contract, or the live one already there: (job, created).

    One INSERT ... ON CONFLICT DO NOTHING against the partial unique index on live extraction
    jobs: two concurrent requests cannot both create one, and the common case costs one statement.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = _now()
    for _ in range(3):
        statement = (
            insert(Job.__table__)
            .values(
                id=uuid.uuid4(), kind="extraction", status="queued", queue=queue, contract_id=contract_id,
                batch_id=batch_id, payload=payload or {}, attempts=0, request_id=request_id,
                created_at=now, updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["contract_id"], index_where=text(LIVE_EXTRACTION))
            .returning(*Job.__table__.c)
        )
        row = session.execute(statement).mappings().first()
        if row is not None:
            job = Job(**row)
            dispatch.send_after_commit(session, job)
            return job, True
        live = live_extraction(session=session, contract_id=contract_id)
        if live is not None:
            return live, False
        # The live job finished between the two statements: try again.
    raise RuntimeError(f"could not create or find an extraction job for contract {contract_id}")


def get_or_raise(*, session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def _returning(session: Session, statement) -> Job | None:  # noqa: ANN001 - an UPDATE statement
    """Run an UPDATE ... RETURNING on jobs; the row as a detached Job (one round trip, no ORM load)."""
    row = session.execute(statement.returning(*Job.__table__.c)).mappings().first()
    return Job(**row) if row is not None else None


def claim(*, session: Session, job_id: uuid.UUID, stale_after: int | None = None, max_attempts: int | None = None) -> Job | None:
    """Move a queued job to running; None when another delivery already has it.

    With ``stale_after`` (seconds), a job left ``running`` for longer than that is taken over:
    no live run can last past the task time limit, so its worker died mid-task and the broker
    redelivered the message. With ``max_attempts``, a job that has already started that many
    runs is not taken over: the reconciler fails it (a job that kills its worker every time
    must not loop forever).
    """
    now = _now()
    table = Job.__table__
    claimable = table.c.status == "queued"
    if stale_after is not None:
        stale = and_(table.c.status == "running", table.c.started_at < now - timedelta(seconds=stale_after))
        if max_attempts is not None:
            stale = and_(stale, table.c.attempts < max_attempts)
        claimable = or_(claimable, stale)
    return _returning(
        session,
        update(table)
        .where(table.c.id == job_id, claimable)
        .values(status="running", attempts=table.c.attempts + 1, started_at=now, updated_at=now),
    )


def finish(*, session: Session, job_id: uuid.UUID, result: dict[str, Any] | None = None, error: str | None = None) -> Job:
    """Record a job's outcome: succeeded with its result, or failed with a reason for people."""
    now = _now()
    table = Job.__table__
    job = _returning(
        session,
        update(table)
        .where(table.c.id == job_id)
        .values(
            status="failed" if error is not None else "succeeded",
            result=result,
            error=error[:2000] if error is not None else None,
            finished_at=now,
            updated_at=now,
        ),
    )
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


@dataclass
class Completion:
    """A handler's result, with the writes to commit in the same transaction as the job's
    ``succeeded``: the outcome and the job's state never disagree."""

    result: dict[str, Any]
    write: Callable[[Session], None] | None = None


def run(*, job: Job) -> Completion:
    """Run a claimed job's handler."""
    fn = _handlers.get(job.kind)
    if fn is None:
        raise RuntimeError(f"no handler registered for jobs of kind {job.kind!r}")
    outcome = fn(job)
    return outcome if isinstance(outcome, Completion) else Completion(result=outcome)


@handler("maintenance")
def _maintenance(job: Job) -> dict[str, Any]:
    """A no-op that proves a worker consumes a queue end to end (``flask worker-check``)."""
    return {"pong": True, "worker": socket.gethostname(), "queue": job.queue}
