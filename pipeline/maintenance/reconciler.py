"""The reconciler: PostgreSQL remembers what must be done; this puts the broker back in step.

Beat runs it every ``RECONCILE_INTERVAL_SECONDS``. Each pass, in short transactions:

1. Jobs ``running`` for longer than the visibility timeout lost their worker (killed, machine
   gone): no run lasts that long, and Redis would be handing the message out again by now. Each
   is put back to ``queued`` and sent again, or failed once it has started ``JOB_MAX_ATTEMPTS``
   runs (a job that kills its worker every time must not loop forever).
2. Jobs ``queued`` for longer than ``JOB_QUEUED_STALE_SECONDS`` may have lost their message
   (Redis flushed, a send that failed after commit). A long bulk backlog is also old, though, and
   its messages are waiting in the broker; so a queue's stale jobs are sent again only when the
   broker holds fewer messages for that queue than PostgreSQL has queued jobs, and only as many
   as are missing, oldest first. A duplicate message is harmless: the claim lets one delivery run.
3. Batches: finished ones are marked completed; one whose writer died is let run.

Every job it touches gets an audit event (type ``job``) and a log line. The job row is changed in
place, so a batch's counts (read from its jobs) stay right through every retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Job
from models.session import after_commit
from pipeline import audit
from pipeline.batches import service as batches
from pipeline.core import db
from pipeline.core.cache import get_cache, redis_client
from pipeline.core.settings import Settings
from pipeline.jobs import dispatch
from pipeline.jobs import status as job_status
from pipeline.kinds import by_name

logger = logging.getLogger(__name__)

LOCK_KEY = "cre:reconciler:lock"
# kombu's Redis transport keeps a queue's messages in one list per priority step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

BrokerDepth = Callable[[str], "int | None"]


def redis_broker_depth(settings: Settings) -> BrokerDepth:
    """Messages waiting in a queue (None when the broker cannot be asked: then every stale job is resent)."""
    if not settings.celery_broker_url.startswith(("redis://", "rediss://")):
        return lambda _queue: None
    client = redis_client(settings.celery_broker_url)

    def depth(queue: str) -> int | None:
        try:
            pipe = client.pipeline(transaction=False)
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(f"{queue}{suffix}")
            return sum(pipe.execute())
        except redis.RedisError as exc:
            logger.warning("cannot read the depth of queue %s: %s", queue, exc)
            return None

    return depth


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _returning(session: Session, statement) -> list[Job]:  # an UPDATE statement
    return [Job(**row) for row in session.execute(statement.returning(*Job.__table__.c)).mappings()]


def _mirror_after_commit(session: Session, settings: Settings, touched: list[Job]) -> None:
    def mirror() -> None:
        cache = get_cache(settings)
        for job in touched:
            job_status.mirror(cache, job, ttl=settings.job_status_ttl)

    if touched:
        after_commit(session, mirror)


def _audit(session: Session, job: Job, action: str, reason: str) -> None:
    audit.record(
        session=session,
        event_type="job",
        contract_id=job.contract_id,
        request_id=job.request_id,
        data={"action": action, "reason": reason, "job_id": str(job.id), "kind": job.kind, "queue": job.queue,
              "attempts": job.attempts, "batch_id": str(job.batch_id) if job.batch_id else None},
    )


def recover_running(*, session: Session, settings: Settings, now: datetime, limit: int) -> tuple[list[Job], list[Job]]:
    """Re-queue (or fail, past the attempt cap) jobs whose worker is gone: (requeued, failed)."""
    table = Job.__table__
    bound = now - timedelta(seconds=settings.celery_visibility_timeout)
    stale = (
        select(table.c.id)
        .where(table.c.status == "running", table.c.started_at < bound)
        .order_by(table.c.started_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(stale))
    if not ids:
        return [], []
    cap = settings.job_max_attempts
    failed = _returning(
        session,
        update(table)
        .where(table.c.id.in_(ids), table.c.status == "running", table.c.attempts >= cap)
        .values(status="failed", finished_at=now, updated_at=now,
                error=f"gave up after {cap} attempts: the worker running the job stopped each time (killed or lost) before it finished"),
    )
    requeued = _returning(
        session,
        update(table)
        .where(table.c.id.in_(ids), table.c.status == "running", table.c.attempts < cap)
        .values(status="queued", started_at=None, updated_at=now),
    )
    for job in failed:
        logger.warning("job failed: its worker stopped on each of %d attempts", job.attempts, extra={"job_id": str(job.id), "queue": job.queue})
        _audit(session, job, "failed", "worker_lost_max_attempts")
    for job in requeued:
        logger.warning("job re-queued: its worker stopped mid-run (attempt %d of %d)", job.attempts, cap, extra={"job_id": str(job.id), "queue": job.queue})
        _audit(session, job, "requeued", "worker_lost")
        dispatch.send_after_commit(session, job, task=by_name(job.kind).task)
    _mirror_after_commit(session, settings, failed + requeued)
    return requeued, failed


def resend_queued(*, session: Session, settings: Settings, now: datetime, depth: BrokerDepth, limit: int) -> list[Job]:
    """Send again the stale queued jobs whose messages the broker seems to have lost."""
    table = Job.__table__
    bound = now - timedelta(seconds=settings.job_queued_stale_seconds)
    resent: list[Job] = []
    for queue, in_database in session.execute(
        select(table.c.queue, func.count()).where(table.c.status == "queued").group_by(table.c.queue)
    ).all():
        waiting = depth(queue)
        missing = in_database if waiting is None else in_database - waiting
        if missing <= 0:
            continue
        ids = list(
            session.scalars(
                select(table.c.id)
                .where(table.c.status == "queued", table.c.queue == queue, table.c.updated_at < bound)
                .order_by(table.c.updated_at)
                .limit(min(missing, limit - len(resent)))
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            continue
        # updated_at moves on, so a resent job waits a whole bound before it is considered again.
        jobs = _returning(session, update(table).where(table.c.id.in_(ids), table.c.status == "queued").values(updated_at=now))
        logger.warning(
            "re-sending %d queued jobs on %s: PostgreSQL has %d queued, the broker %s",
            len(jobs), queue, in_database, "cannot say how many it holds" if waiting is None else f"holds {waiting}",
        )
        for job in jobs:
            logger.info("job re-sent: its message was lost", extra={"job_id": str(job.id), "queue": queue})
            _audit(session, job, "resent", "message_lost")
            dispatch.send_after_commit(session, job, task=by_name(job.kind).task)
        resent += jobs
        if len(resent) >= limit:
            break
    return resent


def reconcile(
    *,
    settings: Settings,
    factory: sessionmaker[Session] | None = None,
    now: datetime | None = None,
    depth: BrokerDepth | None = None,
    limit: int = 5000,
) -> dict[str, Any]:
    """One pass; returns what it did. ``limit`` caps the jobs touched per kind and pass."""
    factory = factory or db.session_factory(settings)
    now = now or _now()
    depth = depth or redis_broker_depth(settings)
    lock = None
    if settings.redis_url:
        # One pass at a time across the fleet (two beats, or a pass slower than the interval).
        lock = redis_client(settings.redis_url).lock(LOCK_KEY, timeout=max(settings.reconcile_interval_seconds * 5, 60), blocking=False)
        if not lock.acquire(blocking=False):
            logger.info("reconciler already running elsewhere; skipping this pass")
            return {"skipped": True}
    try:
        with db.transaction(factory) as session:
            requeued, failed = recover_running(session=session, settings=settings, now=now, limit=limit)
        with db.transaction(factory) as session:
            resent = resend_queued(session=session, settings=settings, now=now, depth=depth, limit=limit)
        with db.transaction(factory) as session:
            swept = batches.sweep(session=session, queued_stale_after=settings.job_queued_stale_seconds, now=now)
    finally:
        if lock is not None:
            try:
                lock.release()
            except redis.RedisError:
                pass  # expired or Redis gone: the timeout frees it
    outcome = {
        "requeued": [str(j.id) for j in requeued],
        "failed": [str(j.id) for j in failed],
        "resent": [str(j.id) for j in resent],
        **swept,
    }
    if requeued or failed or resent or swept["batches_released"] or swept["batches_completed"]:
        logger.info(
            "reconciled: %d re-queued, %d failed, %d re-sent, %d batches completed",
            len(requeued), len(failed), len(resent), swept["batches_completed"],
        )
    return outcome
