"""Operational figures for the admin metrics endpoint and the Prometheus scrape.

Every figure comes from a handful of aggregate SQL queries (PostgreSQL does the counting, never
Python over rows), the cache's Redis counters and the broker's queue lengths:

- contracts: how many there are.
- extractions: how many, by status (pending, approved).
- extraction time: from the jobs of kind ``extraction`` that succeeded in the last
  ``WINDOW_DAYS`` days, ``finished_at - started_at``: what a job spent from its claim to its
  result (document text, provider calls and retries, validation, the write), the time an agent
  waits once a worker has the job; queue wait is not in it. Average and p95 (nearest rank). The
  average provider latency (``extractions.latency_ms``, the provider's share of it) is given
  beside it.
- cache: hits, misses and hit rate per kind, from the counters ``metrics:cache:{kind}:{hit,miss}``
  written by :func:`pipeline.core.cache.count_lookup`; they count since Redis last lost them.
- corrections: per field, how many approved extractions a reviewer corrected; the extractor's
  accuracy as reviewers see it is ``1 - corrected / approved``.
- jobs: by status, and by kind and status.
- queues: messages waiting in the Celery queues ``interactive`` and ``bulk`` (LLEN of each queue's
  lists when the broker is Redis; ``None`` for the file-system broker and AMQP).
- daily and weekly: extractions created and approved on each of the last 7 days and in each of
  the last 4 seven-day periods ending today (UTC), oldest first.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import redis
from sqlalchemy import ColumnElement, and_, extract, func, literal, select, union_all
from sqlalchemy.orm import Session

from models import EXTRACTION_STATUSES, JOB_STATUSES, Contract, Correction, Extraction, Job
from pipeline.core.cache import Cache, lookup_counts, redis_client
from pipeline.core.formatting import iso_utc
from pipeline.core.settings import Settings
from pipeline.vocabulary import FIELD_NAMES, JOB_KINDS, QUEUES

logger = logging.getLogger(__name__)

WINDOW_DAYS = 7
DAYS = 7
WEEKS = 4
CACHE_KINDS = ("contract", "pdf")
P95 = 0.95
# kombu's Redis transport keeps a queue's prioritised messages in sibling lists
# (queue, queue\x06\x163, ...); a queue's depth is the sum of their lengths.
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
REDIS_PRIORITY_SEP = "\x06\x16"


def collect(*, session: Session, cache: Cache, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Every figure, as the admin API shows it."""
    now = now or datetime.now(timezone.utc)
    dialect = session.get_bind().dialect.name
    by_status = extraction_counts(session=session)
    approved = by_status["approved"]
    daily, weekly = recent_counts(session=session, dialect=dialect, today=now.astimezone(timezone.utc).date())
    return {
        "generated_at": iso_utc(now),
        "contracts": {"total": session.scalar(select(func.count()).select_from(Contract)) or 0},
        "extractions": {"total": sum(by_status.values()), "by_status": by_status},
        "extraction_time": extraction_time(session=session, dialect=dialect, since=now - timedelta(days=WINDOW_DAYS)),
        "cache": cache_figures(cache),
        "corrections": corrections_by_field(session=session, approved=approved),
        "jobs": job_counts(session=session),
        "queues": queue_depths(settings),
        "daily": daily,
        "weekly": weekly,
    }


def extraction_counts(*, session: Session) -> dict[str, int]:
    counts = dict.fromkeys(EXTRACTION_STATUSES, 0)
    for status, count in session.execute(select(Extraction.status, func.count()).group_by(Extraction.status)):
        counts[status] = count
    return counts


def _duration_ms(dialect: str) -> ColumnElement:
    if dialect == "sqlite":
        return (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86_400_000.0
    return extract("epoch", Job.finished_at - Job.started_at) * 1000.0


def extraction_time(*, session: Session, dialect: str, since: datetime) -> dict[str, Any]:
    """Average and p95 of succeeded extraction jobs' run time, and the average provider latency."""
    duration = _duration_ms(dialect)
    window = and_(
        Job.kind == "extraction",
        Job.status == "succeeded",
        Job.started_at.is_not(None),
        Job.finished_at.is_not(None),
        Job.finished_at >= since,
    )
    count, average = session.execute(select(func.count(), func.avg(duration)).where(window)).one()
    p95 = None
    if count:
        # Nearest rank: the smallest duration with at least 95 % of the samples at or below it.
        rank = math.ceil(P95 * count)
        p95 = session.scalar(select(duration).where(window).order_by(duration).offset(rank - 1).limit(1))
    provider_avg = session.scalar(
        select(func.avg(Extraction.latency_ms)).where(Extraction.created_at >= since, Extraction.latency_ms.is_not(None))
    )
    return {
        "source": "jobs",
        "window_days": WINDOW_DAYS,
        "count": count,
        "avg_ms": _rounded(average),
        "p95_ms": _rounded(p95),
        "provider_avg_ms": _rounded(provider_avg),
    }


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def cache_figures(cache: Cache) -> dict[str, Any]:
    kinds = {}
    for kind in CACHE_KINDS:
        counts = lookup_counts(cache, kind)
        kinds[kind] = {**counts, "hit_rate": _ratio(counts["hit"], counts["hit"] + counts["miss"])}
    hits = sum(k["hit"] for k in kinds.values())
    lookups = hits + sum(k["miss"] for k in kinds.values())
    return {"hit_rate": _ratio(hits, lookups), "kinds": kinds}


def corrections_by_field(*, session: Session, approved: int) -> dict[str, Any]:
    """Per field: corrections made and approved extractions corrected, against all approved."""
    rows = session.execute(
        select(Correction.field_name, func.count(), func.count(func.distinct(Correction.extraction_id)))
        .join(Extraction, Extraction.id == Correction.extraction_id)
        .where(Extraction.status == "approved")
        .group_by(Correction.field_name)
    )
    found = {field: (total, extractions) for field, total, extractions in rows}
    fields = {}
    for field in FIELD_NAMES:
        total, corrected = found.get(field, (0, 0))
        rate = _ratio(corrected, approved)
        fields[field] = {
            "corrections": total,
            "corrected_extractions": corrected,
            "correction_rate": rate,
            "accuracy": None if rate is None else round(1 - rate, 4),
        }
    return {"approved_extractions": approved, "fields": fields}


def job_counts(*, session: Session) -> dict[str, Any]:
    by_kind = {kind: dict.fromkeys(JOB_STATUSES, 0) for kind in JOB_KINDS}
    for kind, status, count in session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
        by_kind.setdefault(kind, dict.fromkeys(JOB_STATUSES, 0))[status] = count
    by_status = {status: sum(kinds[status] for kinds in by_kind.values()) for status in JOB_STATUSES}
    return {"by_status": by_status, "by_kind": by_kind}


def _broker_kind(url: str) -> str:
    return url.split(":", 1)[0].replace("rediss", "redis")


def queue_depths(settings: Settings, queues: tuple[str, ...] = QUEUES) -> dict[str, Any]:
    """Messages waiting per Celery queue; ``None`` where the broker cannot say cheaply."""
    url = settings.celery_broker_url
    broker = _broker_kind(url)
    depth: dict[str, int | None] = dict.fromkeys(queues)
    if broker != "redis":
        return {"broker": broker, "depth": depth}
    try:
        pipe = redis_client(url).pipeline(transaction=False)
        for queue in queues:
            for step in REDIS_PRIORITY_STEPS:
                pipe.llen(f"{queue}{REDIS_PRIORITY_SEP}{step}" if step else queue)
        lengths = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("queue depth unavailable: %s", exc)
        return {"broker": broker, "depth": depth}
    steps = len(REDIS_PRIORITY_STEPS)
    for n, queue in enumerate(queues):
        depth[queue] = sum(lengths[n * steps:(n + 1) * steps])
    return {"broker": broker, "depth": depth}


def _day(column: Any, dialect: str) -> ColumnElement:
    """The UTC calendar day of a timestamp, as YYYY-MM-DD."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d", column)  # SQLite keeps timestamps as UTC text
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def recent_counts(*, session: Session, dialect: str, today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Extractions created and approved per day for the last 7 days and per 7-day period for the
    last 4, from one query grouping the last 28 days by day."""
    first = today - timedelta(days=WEEKS * 7 - 1)
    since = datetime.combine(first, time.min, tzinfo=timezone.utc)
    created_day = _day(Extraction.created_at, dialect)
    approved_day = _day(Extraction.approved_at, dialect)
    query = union_all(
        select(literal("created").label("what"), created_day.label("day"), func.count().label("n"))
        .where(Extraction.created_at >= since)
        .group_by(created_day),
        select(literal("approved").label("what"), approved_day.label("day"), func.count().label("n"))
        .where(Extraction.status == "approved", Extraction.approved_at >= since)
        .group_by(approved_day),
    )
    per_day: dict[tuple[str, str], int] = {}
    for what, day, n in session.execute(query):
        per_day[(what, day)] = n

    def counts(days: list[date]) -> dict[str, int]:
        return {
            "extractions_created": sum(per_day.get(("created", d.isoformat()), 0) for d in days),
            "extractions_approved": sum(per_day.get(("approved", d.isoformat()), 0) for d in days),
        }

    daily = [{"date": d.isoformat(), **counts([d])} for d in (today - timedelta(days=k) for k in range(DAYS - 1, -1, -1))]
    weekly = []
    for week in range(WEEKS - 1, -1, -1):
        end = today - timedelta(days=7 * week)
        days = [end - timedelta(days=k) for k in range(7)]
        weekly.append({"start": days[-1].isoformat(), "end": end.isoformat(), **counts(days)})
    return daily, weekly
