"""Bulk extraction: a batch is one extraction job per contract, run on the ``bulk`` queue.

Creating a batch of 100,000 contracts must neither hold one giant transaction nor load every id
into memory. So a batch is written in chunks of ``BATCH_CHUNK_SIZE`` contracts, each its own short
transaction: one SELECT picks the chunk's contracts with what they already have, one multi-row
INSERT ... ON CONFLICT DO NOTHING writes their jobs, one UPDATE adds to the batch's counters, and
the chunk's jobs are sent to the broker once it has committed. A contract that already has an
extraction, or a job queued or running, gets no job and is counted as skipped; so for a list of
ids, ``total + skipped`` is the number of ids given (a repeated id is skipped the second time).

Progress is never counted separately: it is read from the jobs table, grouped by status (index
``ix_jobs_batch_id_status``). A job the reconciler re-queues is the same row, so the counters stay
right through retries.

Status of a batch: ``queued`` while its jobs are being written, ``running`` once they all are
(until every job has finished), ``completed`` when none is queued or running any more (failed jobs
included: see ``failed`` and the reasons). ``cancelled`` is reserved for a cancel operation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from models import Batch, Contract, Extraction, Job
from models.job import ACTIVE_JOB_STATUSES, LIVE_EXTRACTION
from models.session import after_commit
from pipeline import audit
from pipeline.core import db
from pipeline.core.errors import NotFound, ValidationFailed
from pipeline.core.formatting import iso_utc
from pipeline.core.logs import get_user_id
from pipeline.core.settings import LLM_PROVIDERS, Settings, get_settings
from pipeline.extraction.job import EXTRACTION
from pipeline.jobs import dispatch
from pipeline.jobs import lifecycle as jobs
from pipeline.jobs.kinds import Completion, JobKind, nothing_to_prepare
from pipeline.providers.specs import spec_for

logger = logging.getLogger(__name__)

QUEUE = "bulk"
MISSING_SHOWN = 20
FAILURES_SHOWN = 20
REASONS_SHOWN = 10
SEND_THREADS = 8


@dataclass
class Created:
    batch_id: uuid.UUID
    total: int
    skipped: int


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _chunks(ids: Iterable[uuid.UUID], size: int) -> Iterator[list[uuid.UUID]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def check_provider(provider: str | None, settings: Settings) -> None:
    """A batch may name a provider only if this deployment can call it."""
    if provider is None:
        return
    if provider not in LLM_PROVIDERS:
        raise ValidationFailed(
            f"unknown provider {provider!r}; known: {', '.join(LLM_PROVIDERS)}",
            details={"json": {"provider": [f"Must be one of: {', '.join(LLM_PROVIDERS)}."]}},
        )
    if not spec_for(provider).configured(settings):
        raise ValidationFailed(
            f"provider {provider} is not configured on this deployment",
            details={"json": {"provider": [f"{provider} has no credentials or endpoint configured."]}},
        )


def check_contracts_exist(*, factory: sessionmaker[Session], contract_ids: Iterable[uuid.UUID], chunk_size: int) -> None:
    """Refuse the whole batch when some ids name no contract, before anything is written.

    A typing mistake in an operator's id file should not quietly start a partial batch; the
    answer lists the unknown ids, and sending the corrected list again is safe (contracts that
    already have a job or an extraction are skipped).
    """
    unknown: list[str] = []
    count = 0
    for chunk in _chunks(contract_ids, chunk_size):
        wanted = set(chunk)
        with factory() as session:
            found = set(session.scalars(select(Contract.id).where(Contract.id.in_(wanted))))
        for contract_id in chunk:
            if contract_id not in found:
                count += 1
                if len(unknown) < MISSING_SHOWN:
                    unknown.append(str(contract_id))
    if count:
        more = f" (first {MISSING_SHOWN} listed)" if count > MISSING_SHOWN else ""
        raise ValidationFailed(
            f"{count} contract id{'s' if count != 1 else ''} name no contract{more}; nothing was created",
            details={"json": {"contract_ids": unknown}, "unknown_count": count},
        )


def _insert(session: Session):  # a dialect's insert()
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


_has_extraction = exists().where(Extraction.contract_id == Contract.id)
_has_live_job = exists().where(Job.contract_id == Contract.id, Job.kind == EXTRACTION.name, Job.status.in_(ACTIVE_JOB_STATUSES))


def _write_chunk(
    session: Session, batch: Batch, candidates: list[uuid.UUID], *, given: int, request_id: str | None
) -> int:
    """Jobs for the chunk's candidate contracts, counters updated, jobs sent after commit."""
    now = _now()
    payload = {"provider": batch.provider} if batch.provider else {}
    created: list[uuid.UUID] = []
    if candidates:
        rows = [
            {
                "id": uuid.uuid4(), "kind": EXTRACTION.name, "status": "queued", "queue": QUEUE, "contract_id": contract_id,
                "batch_id": batch.id, "payload": payload, "attempts": 0, "request_id": request_id,
                "requested_by": batch.requested_by, "created_at": now, "updated_at": now,
            }
            for contract_id in candidates
        ]
        # A job created meanwhile by someone else (an agent's click) wins: that contract is skipped.
        statement = (
            _insert(session)(Job.__table__)
            .on_conflict_do_nothing(index_elements=["contract_id"], index_where=text(LIVE_EXTRACTION))
            .returning(Job.__table__.c.id)
        )
        created = list(session.scalars(statement, rows))
    session.execute(
        update(Batch)
        .where(Batch.id == batch.id)
        .values(total=Batch.total + len(created), skipped=Batch.skipped + (given - len(created)), updated_at=now)
    )
    if created:
        after_commit(session, lambda: send_jobs(created, request_id))
    return len(created)


def send_jobs(job_ids: list[uuid.UUID], request_id: str | None, *, task: str | None = None) -> None:
    """Send a committed chunk's jobs (of one kind, on the bulk queue), several at a time: each
    send waits on the broker's round trips, so threads overlap them. A send that fails leaves its
    job queued in PostgreSQL, where the reconciler finds it."""
    sender = dispatch.current()
    task_name = task or EXTRACTION.task

    def send(job_id: uuid.UUID) -> None:
        sender.send(task_name=task_name, job_id=str(job_id), queue=QUEUE, request_id=request_id)

    with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
        failures = [exc for exc in pool.map(_quietly(send), job_ids) if exc is not None]
    if failures:
        logger.warning("%d of %d batch jobs not sent (%s); the reconciler will send them", len(failures), len(job_ids), failures[0])


def _quietly(fn: Callable[[uuid.UUID], None]) -> Callable[[uuid.UUID], Exception | None]:
    def run(job_id: uuid.UUID) -> Exception | None:
        try:
            fn(job_id)
        except Exception as exc:  # counted and logged once for the chunk
            return exc
        return None

    return run


def _explicit_chunk(session: Session, chunk: list[uuid.UUID]) -> list[uuid.UUID]:
    ready = set(
        session.scalars(select(Contract.id).where(Contract.id.in_(set(chunk)), ~_has_extraction, ~_has_live_job))
    )
    # Keep the given order; a repeated id gets one job.
    return [contract_id for contract_id in dict.fromkeys(chunk) if contract_id in ready]


def create(
    *,
    factory: sessionmaker[Session],
    settings: Settings,
    contract_ids: Iterable[uuid.UUID] | None = None,
    all_unextracted: bool = False,
    provider: str | None = None,
    request_id: str | None = None,
    chunk_size: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Created:
    """Create a batch in chunks, each its own short unit of work; its jobs go to the ``bulk`` queue.

    ``contract_ids`` may be any iterable that can be read twice (a list, or a reader that opens
    its file again): once to check every id names a contract, once to write the jobs. Either it
    or ``all_unextracted`` (every contract without an extraction), never both. ``on_chunk(total,
    skipped)`` is told the running counts after each chunk commits.
    """
    if (contract_ids is None) == (not all_unextracted):
        raise ValidationFailed(
            "give either contract_ids or all_unextracted, not both and not neither",
            details={"json": {"_schema": ["Give either contract_ids or all_unextracted."]}},
        )
    check_provider(provider, settings)
    size = chunk_size or settings.batch_chunk_size
    if contract_ids is not None:
        check_contracts_exist(factory=factory, contract_ids=contract_ids, chunk_size=size)

    with db.transaction(factory) as session:
        batch = Batch(status="queued", provider=provider, request_id=request_id, requested_by=get_user_id())
        session.add(batch)
    batch_id = batch.id
    logger.info("batch created; writing its jobs", extra={"batch_id": str(batch_id), "provider": provider})

    total = skipped = 0
    try:
        if contract_ids is not None:
            for chunk in _chunks(contract_ids, size):
                with db.transaction(factory) as session:
                    made = _write_chunk(session, batch, _explicit_chunk(session, chunk), given=len(chunk), request_id=request_id)
                total, skipped = total + made, skipped + len(chunk) - made
                if on_chunk:
                    on_chunk(total, skipped)
        else:
            total, skipped = _write_unextracted(factory, batch, size=size, request_id=request_id, on_chunk=on_chunk)
    finally:
        # Even when a chunk failed, what was written is a consistent batch: let it run.
        total, skipped = finish_writing(factory, batch_id, provider=provider, request_id=request_id)
    logger.info("batch submitted: %d jobs, %d skipped", total, skipped, extra={"batch_id": str(batch_id)})
    return Created(batch_id=batch_id, total=total, skipped=skipped)


def _write_unextracted(
    factory: sessionmaker[Session], batch: Batch, *, size: int, request_id: str | None,
    on_chunk: Callable[[int, int], None] | None = None, writer: Job | None = None,
) -> tuple[int, int]:
    """Jobs for every contract without an extraction, in chunks; (total, skipped) written now.

    Contracts are taken in id order. With ``writer`` (the background job doing this), the last
    id of each chunk is kept in its payload, committed with the chunk: a writer run again after
    dying midway goes on from there, so no contract is given a second job or counted twice.
    """
    total = skipped = 0
    cursor = (writer.payload or {}).get("after") if writer is not None else None
    after: uuid.UUID | None = uuid.UUID(cursor) if cursor else None
    while True:
        with db.transaction(factory) as session:
            query = select(Contract.id, _has_live_job.label("live")).where(~_has_extraction).order_by(Contract.id).limit(size)
            if after is not None:
                query = query.where(Contract.id > after)
            rows = session.execute(query).all()
            if not rows:
                break
            after = rows[-1].id
            made = _write_chunk(session, batch, [r.id for r in rows if not r.live], given=len(rows), request_id=request_id)
            if writer is not None:
                session.execute(update(Job).where(Job.id == writer.id).values(payload={**writer.payload, "after": str(after)}))
        total, skipped = total + made, skipped + len(rows) - made
        if on_chunk:
            on_chunk(total, skipped)
    return total, skipped


def start_unextracted(*, session: Session, settings: Settings, provider: str | None = None, request_id: str | None = None) -> Batch:
    """A batch of every contract without an extraction, its jobs written by a background job.

    For the API: the request writes the batch and one ``batch`` job in its own unit of work and
    answers at once; a worker writes the extraction jobs in chunks (a hundred thousand
    contracts take minutes to write, too long to hold a request open).
    """
    check_provider(provider, settings)
    batch = Batch(status="queued", provider=provider, request_id=request_id, requested_by=get_user_id())
    session.add(batch)
    session.flush()
    jobs.create(session=session, kind=BATCH, payload={"batch_id": str(batch.id)}, request_id=request_id)
    logger.info("batch created; a worker writes its jobs", extra={"batch_id": str(batch.id), "provider": provider})
    return batch


def _expand(job: Job) -> dict[str, Any]:
    """The worker's side of :func:`start_unextracted`."""
    settings = get_settings()
    factory = db.session_factory(settings)
    batch_id = uuid.UUID(job.payload["batch_id"])
    with factory() as session:
        batch = get_or_raise(session=session, batch_id=batch_id)
        session.expunge(batch)
    if batch.status != "queued":
        return {"batch_id": str(batch_id), "written": False, "status": batch.status}
    try:
        _write_unextracted(factory, batch, size=settings.batch_chunk_size, request_id=job.request_id, writer=job)
    finally:
        total, skipped = finish_writing(factory, batch_id, provider=batch.provider, request_id=job.request_id)
    logger.info("batch submitted: %d jobs, %d skipped", total, skipped, extra={"batch_id": str(batch_id)})
    return {"batch_id": str(batch_id), "written": True, "total": total, "skipped": skipped}


def finish_writing(factory: sessionmaker[Session], batch_id: uuid.UUID, *, provider: str | None = None, request_id: str | None) -> tuple[int, int]:
    """The batch's jobs are all written: it runs (or is complete when it has none); (total, skipped).

    The counts are the batch row's, which every committed chunk added to: right even when a
    chunk failed or an earlier run of the writer wrote part of the batch.
    """
    with db.transaction(factory) as session:
        kind, total, skipped = session.execute(select(Batch.kind, Batch.total, Batch.skipped).where(Batch.id == batch_id)).one()
        now = _now()
        values: dict[str, Any] = {"status": "running", "updated_at": now}
        if total == 0:
            values.update(status="completed", started_at=now, finished_at=now)
        session.execute(update(Batch).where(Batch.id == batch_id, Batch.status == "queued").values(**values))
        audit.record(
            session=session,
            event_type="job",
            request_id=request_id,
            data={"action": "batch_created", "batch_id": str(batch_id), "kind": kind, "total": total, "skipped": skipped, "provider": provider},
        )
    return total, skipped


# --- progress --------------------------------------------------------------------------------


def get_or_raise(*, session: Session, batch_id: uuid.UUID) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} does not exist")
    return batch


def counts(*, session: Session, batch_id: uuid.UUID) -> dict[str, int]:
    """The batch's jobs by status (every status present, zeros included)."""
    found = dict(session.execute(select(Job.status, func.count()).where(Job.batch_id == batch_id).group_by(Job.status)).all())
    return {status: int(found.get(status, 0)) for status in ("queued", "running", "succeeded", "failed")}


def refresh(*, session: Session, batch: Batch, by_status: dict[str, int] | None = None) -> dict[str, int]:
    """Bring the batch's status and times in line with its jobs; returns the counts."""
    by_status = by_status or counts(session=session, batch_id=batch.id)
    if batch.status != "running":
        return by_status
    now = _now()
    if batch.started_at is None and by_status["running"] + by_status["succeeded"] + by_status["failed"]:
        first = session.scalar(select(func.min(Job.started_at)).where(Job.batch_id == batch.id))
        batch.started_at = first or now
        batch.updated_at = now
    if by_status["queued"] + by_status["running"] == 0:
        last = session.scalar(select(func.max(Job.finished_at)).where(Job.batch_id == batch.id))
        batch.status = "completed"
        batch.finished_at = last or now
        batch.started_at = batch.started_at or batch.finished_at
        batch.updated_at = now
        logger.info("batch completed: %d succeeded, %d failed", by_status["succeeded"], by_status["failed"], extra={"batch_id": str(batch.id)})
    return by_status


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return moment


def progress(*, session: Session, batch_id: uuid.UUID, failures_shown: int = FAILURES_SHOWN) -> dict[str, Any]:
    """Counts, times, throughput and failures of a batch (its status brought up to date)."""
    batch = get_or_raise(session=session, batch_id=batch_id)
    by_status = refresh(session=session, batch=batch)
    session.flush()
    done = by_status["succeeded"] + by_status["failed"]
    started, finished = _aware(batch.started_at), _aware(batch.finished_at)
    elapsed = ((finished or _now()) - started).total_seconds() if started else None
    throughput = done / elapsed if elapsed and elapsed > 0 else None
    remaining = by_status["queued"] + by_status["running"]
    failed_jobs = session.execute(
        select(Job.id, Job.contract_id, Job.error, Job.attempts, Job.finished_at)
        .where(Job.batch_id == batch_id, Job.status == "failed")
        .order_by(Job.finished_at.desc())
        .limit(failures_shown)
    ).all()
    reasons = session.execute(
        select(Job.error, func.count().label("n"))
        .where(Job.batch_id == batch_id, Job.status == "failed")
        .group_by(Job.error)
        .order_by(func.count().desc())
        .limit(REASONS_SHOWN)
    ).all()
    return {
        "batch_id": str(batch.id),
        "kind": batch.kind,
        "status": batch.status,
        "provider": batch.provider,
        "total": batch.total,
        "skipped": batch.skipped,
        **by_status,
        "done": done,
        "percent": round(100.0 * done / batch.total, 1) if batch.total else 100.0,
        "created_at": iso_utc(batch.created_at),
        "started_at": iso_utc(started),
        "finished_at": iso_utc(finished),
        "elapsed_seconds": round(elapsed, 3) if elapsed is not None else None,
        "throughput_per_second": round(throughput, 3) if throughput else None,
        "eta_seconds": round(remaining / throughput, 1) if throughput and remaining and batch.status == "running" else None,
        "failures": [
            {"job_id": str(j.id), "contract_id": str(j.contract_id) if j.contract_id else None, "error": j.error, "attempts": j.attempts, "finished_at": iso_utc(j.finished_at)}
            for j in failed_jobs
        ],
        "failure_reasons": [{"error": r.error, "count": int(r.n)} for r in reasons],
        "request_id": batch.request_id,
    }


def sweep(*, session: Session, queued_stale_after: int, now: datetime | None = None) -> dict[str, int]:
    """For the reconciler: complete finished batches, and let run a batch whose writer died.

    A batch still ``queued`` long after it was created lost the process writing its jobs (a
    killed request or CLI): the jobs that were written are a consistent batch, so it runs.
    """
    now = now or _now()
    # A batch whose expansion job is queued or running still has its writer.
    expanding = {
        payload.get("batch_id")
        for payload in session.scalars(select(Job.payload).where(Job.kind == BATCH.name, Job.status.in_(ACTIVE_JOB_STATUSES)))
    }
    stuck = [
        batch
        for batch in session.scalars(
            select(Batch).where(Batch.status == "queued", Batch.updated_at < now - timedelta(seconds=queued_stale_after)).with_for_update(skip_locked=True)
        ).all()
        if str(batch.id) not in expanding
    ]
    for batch in stuck:
        batch.status = "running"
        batch.updated_at = now
        logger.warning("batch writer gone; running the %d jobs written", batch.total, extra={"batch_id": str(batch.id)})
        audit.record(session=session, event_type="job", data={"action": "batch_released", "batch_id": str(batch.id), "total": batch.total, "reason": "writer_gone"})
    completed = 0
    for batch in session.scalars(select(Batch).where(Batch.status == "running").with_for_update(skip_locked=True)).all():
        refresh(session=session, batch=batch)
        completed += batch.status == "completed"
    return {"batches_released": len(stuck), "batches_completed": completed}


# --- listing -----------------------------------------------------------------------------------


@dataclass
class BatchPage:
    items: list[dict[str, Any]]
    total: int


def get_all(*, session: Session, offset: int = 0, limit: int = 50, status: str | None = None) -> BatchPage:
    """One page of batches, newest first, each with its jobs counted by status.

    The page's counts come from one grouped query (index ``ix_jobs_batch_id_status``), and each
    batch's status is brought up to date from them as :func:`progress` does.
    """
    conditions = [Batch.status == status] if status else []
    total = session.scalar(select(func.count()).select_from(Batch).where(*conditions)) or 0
    page = session.scalars(
        select(Batch).where(*conditions).order_by(Batch.created_at.desc(), Batch.id).offset(offset).limit(limit)
    ).all()
    found: dict[uuid.UUID, dict[str, int]] = {batch.id: {s: 0 for s in ("queued", "running", "succeeded", "failed")} for batch in page}
    if page:
        rows = session.execute(
            select(Job.batch_id, Job.status, func.count()).where(Job.batch_id.in_(list(found))).group_by(Job.batch_id, Job.status)
        ).all()
        for batch_id, job_status_, n in rows:
            found[batch_id][job_status_] = int(n)
    items = []
    for batch in page:
        by_status = refresh(session=session, batch=batch, by_status=found[batch.id])
        done = by_status["succeeded"] + by_status["failed"]
        items.append({
            "batch_id": str(batch.id),
            "status": batch.status,
            "provider": batch.provider,
            "total": batch.total,
            "skipped": batch.skipped,
            **by_status,
            "done": done,
            "percent": round(100.0 * done / batch.total, 1) if batch.total else 100.0,
            "created_at": iso_utc(batch.created_at),
            "started_at": iso_utc(_aware(batch.started_at)),
            "finished_at": iso_utc(_aware(batch.finished_at)),
            "requested_by": str(batch.requested_by) if batch.requested_by else None,
        })
    session.flush()
    return BatchPage(items=items, total=total)


def contract_ids_for_accounts(*, session: Session, account_numbers: list[str], chunk_size: int) -> list[uuid.UUID]:
    """The contracts of these (normalised) account numbers, in the order given.

    A batch started from a file of account numbers refuses the whole file when some number names
    no contract in the database, listing them, as a file of unknown ids does.
    """
    by_number: dict[str, uuid.UUID] = {}
    for chunk in _chunks(list(dict.fromkeys(account_numbers)), chunk_size):
        by_number.update(session.execute(select(Contract.account_number, Contract.id).where(Contract.account_number.in_(chunk))).tuples().all())
    unknown = [number for number in dict.fromkeys(account_numbers) if number not in by_number]
    if unknown:
        more = f" (first {MISSING_SHOWN} listed)" if len(unknown) > MISSING_SHOWN else ""
        raise ValidationFailed(
            f"{len(unknown)} account number{'s' if len(unknown) != 1 else ''} name no contract{more}; nothing was created",
            details={"json": {"account_numbers": unknown[:MISSING_SHOWN]}, "unknown_count": len(unknown)},
        )
    return [by_number[number] for number in account_numbers]


def _run_writer(job: Job, prepared: None) -> Completion:
    return Completion(result=_expand(job))


# Interactive queue: the expansion must not wait behind an earlier batch's bulk backlog.
BATCH = JobKind(name="batch", task="batch.expand", queue="interactive", prepare=nothing_to_prepare, run=_run_writer)
