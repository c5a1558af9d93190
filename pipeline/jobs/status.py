"""Job status mirrored to Redis for fast polling, and published for server-sent events.

PostgreSQL stays the truth: a missing or expired mirror falls back to the jobs table.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from models import Job
from pipeline.core.cache import Cache, RedisCache
from pipeline.core.formatting import iso_utc

logger = logging.getLogger(__name__)

TERMINAL = ("succeeded", "failed")


def key(job_id: Any) -> str:
    return f"job:{job_id}"


def channel(job_id: Any) -> str:
    return f"job-events:{job_id}"


def as_dict(job: Job) -> dict[str, Any]:
    return {
        "job_id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "queue": job.queue,
        "contract_id": str(job.contract_id) if job.contract_id else None,
        "batch_id": str(job.batch_id) if job.batch_id else None,
        "requested_by": str(job.requested_by) if job.requested_by else None,
        "attempts": job.attempts,
        "result": job.result,
        "error": job.error,
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at),
        "finished_at": iso_utc(job.finished_at),
    }


def mirror(cache: Cache, job: Job, *, ttl: int) -> dict[str, Any]:
    """Write the job's state to Redis and tell subscribers."""
    state = as_dict(job)
    payload = json.dumps(state)
    if isinstance(cache, RedisCache):
        try:
            # One round trip: the mirror for pollers, the message for event streams.
            pipe = cache.client.pipeline(transaction=False)
            pipe.set(key(job.id), payload, ex=ttl)
            pipe.publish(channel(job.id), payload)
            pipe.execute()
        except Exception as exc:  # a lost mirror costs a database read, nothing more
            logger.warning("job status mirror failed: %s", exc)
    else:
        cache.set(key(job.id), payload, ttl)
    return state


def read(cache: Cache, job_id: uuid.UUID) -> dict[str, Any] | None:
    raw = cache.get(key(job_id))
    return json.loads(raw) if raw else None
