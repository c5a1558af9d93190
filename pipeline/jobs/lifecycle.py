"""Job lifecycle: create (queued), claim (running), finish (succeeded or failed).

PostgreSQL holds the truth about every job. A worker claims a job with a conditional update so
that two deliveries of the same message cannot both run it; the reconciler re-sends jobs whose
message was lost.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, and_, bindparam, or_, select, text, update
from sqlalchemy.orm import Session

from models import Job
from models.job import ACTIVE_JOB_STATUSES, LIVE_EXTRACTION
from pipeline.core.errors import NotFound
from pipeline.core.logs import get_user_id
from pipeline.jobs import dispatch
from pipeline.jobs.kinds import JobKind

logger = logging.getLogger(__name__)

def _now() -> datetime:
    return datetime.now(timezone.utc)


def create(
    *,
    session: Session,
    kind: JobKind,
    queue: str | None = None,
    contract_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
    requested_by: uuid.UUID | None = None,
) -> Job:
    """Write a queued job; it is sent to the broker only after the session commits.

    Its requester is the acting user unless given, so the worker acts in that user's name.
    """
    job = Job(
        kind=kind.name,
        queue=queue or kind.queue,
        contract_id=contract_id,
        batch_id=batch_id,
        payload=payload or {},
        request_id=request_id,
        requested_by=requested_by or get_user_id(),
        status="queued",
    )
    session.add(job)
    session.flush()
    dispatch.send_after_commit(session, job, task=kind.task)
    return job


def live_extraction(*, session: Session, contract_id: uuid.UUID) -> Job | None:
    """The contract's queued or running extraction job, if any."""
    return session.scalars(
        select(Job).where(Job.contract_id == contract_id, Job.kind == "extraction", Job.status.in_(ACTIVE_JOB_STATUSES))
    ).first()


@lru_cache(maxsize=None)
def _insert_live_extraction() -> TextClause:
    """INSERT ... ON CONFLICT DO NOTHING on the partial unique index of live extraction jobs.

    Written as text (valid on PostgreSQL and SQLite): SQLAlchemy cannot cache the compiled form
    of its ON CONFLICT construct, and compiling it on every request cost more than the insert.
    """
    table = Job.__table__
    names = ", ".join(c.name for c in table.c)
    statement = text(
        "INSERT INTO jobs (id, kind, status, queue, contract_id, batch_id, payload, attempts, request_id, requested_by, created_at, updated_at) "
        "VALUES (:id, 'extraction', 'queued', :queue, :contract_id, :batch_id, :payload, 0, :request_id, :requested_by, :now, :now) "
        f"ON CONFLICT (contract_id) WHERE {LIVE_EXTRACTION} DO NOTHING RETURNING {names}"
    )
    typed = statement.bindparams(
        bindparam("id", type_=table.c.id.type),
        bindparam("contract_id", type_=table.c.contract_id.type),
        bindparam("batch_id", type_=table.c.batch_id.type),
        bindparam("requested_by", type_=table.c.requested_by.type),
        bindparam("payload", type_=table.c.payload.type),
        bindparam("now", type_=table.c.created_at.type),
    )
    return typed.columns(*table.c)


def create_unless_active(
    *,
    session: Session,
    kind: JobKind,
    contract_id: uuid.UUID,
    queue: str = "interactive",
    batch_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
    requested_by: uuid.UUID | None = None,
) -> tuple[Job, bool]:
    """A queued extraction job for the contract, or the live one already there: (job, created).

    ``kind`` is the extraction's (the partial unique index covers that kind alone).
    One INSERT ... ON CONFLICT DO NOTHING against the partial unique index on live extraction
    jobs: two concurrent requests cannot both create one, and the common case costs one statement.
    """
    now = _now()
    for _ in range(3):
        params = {"id": uuid.uuid4(), "queue": queue, "contract_id": contract_id, "batch_id": batch_id,
                  "payload": payload or {}, "request_id": request_id, "requested_by": requested_by or get_user_id(), "now": now}
        row = session.execute(_insert_live_extraction(), params).mappings().first()
        if row is not None:
            job = Job(**row)
            dispatch.send_after_commit(session, job, task=kind.task)
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


def _returning(session: Session, statement, params: dict[str, Any]) -> Job | None:  # an UPDATE ... RETURNING
    """Run an UPDATE ... RETURNING on jobs; the row as a detached Job (one round trip, no ORM load)."""
    row = session.execute(statement, params).mappings().first()
    return Job(**row) if row is not None else None


# Every worker runs these statements once or twice per job: they are built once, with bound
# parameters, so SQLAlchemy neither rebuilds them nor recomputes their cache key each time.
@lru_cache(maxsize=None)
def _claim_statement(takes_over_stale: bool, capped: bool):  # an Update
    table = Job.__table__
    claimable = table.c.status == "queued"
    if takes_over_stale:
        stale = and_(table.c.status == "running", table.c.started_at < bindparam("stale_before"))
        if capped:
            stale = and_(stale, table.c.attempts < bindparam("max_attempts"))
        claimable = or_(claimable, stale)
    return (
        update(table)
        .where(table.c.id == bindparam("job_id"), claimable)
        .values(status="running", attempts=table.c.attempts + 1, started_at=bindparam("now"), updated_at=bindparam("now"))
        .returning(*table.c)
    )


@lru_cache(maxsize=None)
def _finish_statement():  # an Update
    table = Job.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("job_id"))
        .values(status=bindparam("status"), result=bindparam("result"), error=bindparam("error"), finished_at=bindparam("now"), updated_at=bindparam("now"))
        .returning(*table.c)
    )


def claim(*, session: Session, job_id: uuid.UUID, stale_after: int | None = None, max_attempts: int | None = None) -> Job | None:
    """Move a queued job to running; None when another delivery already has it.

    With ``stale_after`` (seconds), a job left ``running`` for longer than that is taken over:
    no live run can last past the task time limit, so its worker died mid-task and the broker
    redelivered the message. With ``max_attempts``, a job that has already started that many
    runs is not taken over: the reconciler fails it (a job that kills its worker every time
    must not loop forever).
    """
    now = _now()
    params: dict[str, Any] = {"job_id": job_id, "now": now}
    if stale_after is not None:
        params["stale_before"] = now - timedelta(seconds=stale_after)
        if max_attempts is not None:
            params["max_attempts"] = max_attempts
    statement = _claim_statement(stale_after is not None, stale_after is not None and max_attempts is not None)
    return _returning(session, statement, params)


def finish(*, session: Session, job_id: uuid.UUID, result: dict[str, Any] | None = None, error: str | None = None) -> Job:
    """Record a job's outcome: succeeded with its result, or failed with a reason for people."""
    job = _returning(
        session,
        _finish_statement(),
        {
            "job_id": job_id,
            "status": "failed" if error is not None else "succeeded",
            "result": result,
            "error": error[:2000] if error is not None else None,
            "now": _now(),
        },
    )
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job
