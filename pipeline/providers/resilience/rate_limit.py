"""Requests per minute to each remote provider, shared by every worker through Redis.

A provider's limit belongs to the account, not to one worker: a fleet of workers must together
stay under it. Each provider has one bucket in Redis, run by a Lua script so that taking a slot
is atomic across processes and machines. The script schedules calls rather than refusing them
(the generic cell rate algorithm): every caller reserves the next free slot, at least
``60 / rpm`` seconds after the previous one, and sleeps until it comes. So callers are served in
the order they asked, and no window of one minute ever holds more than ``rpm`` calls. The clock
is Redis's own, so the workers' clocks need not agree.

The wait happens in the provider chain, outside any unit of work: a thread waiting for its slot
holds no database connection. Without Redis (the embedded default, one machine) the bucket lives
in the process. If Redis fails, calls go ahead unlimited (with a warning) rather than stopping
extractions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

from pipeline.core.cache import redis_client
from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)

NAMESPACE = "cre:ratelimit"

T = TypeVar("T")

# KEYS[1]: the provider's bucket (its theoretical arrival time, in microseconds of Redis time).
# ARGV[1]: microseconds between two calls. Returns the microseconds the caller must wait.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((wait + interval) / 1000) + 1000)
return wait
"""


def limit_for(name: str, settings: Settings) -> int:
    """Requests per minute allowed to a provider (0: unlimited)."""
    for provider, rpm in settings.llm_rate_limit_rpm_by_provider:
        if provider == name:
            return rpm
    return settings.llm_rate_limit_rpm


class LocalBucket:
    """The same schedule inside one process, for when there is no Redis."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, name: str, interval: float) -> float:
        with self._lock:
            now = self._clock()
            slot = max(self._next.get(name, now), now)
            self._next[name] = slot + interval
            return slot - now


_local = LocalBucket()
_scripts: dict[str, object] = {}
_scripts_lock = threading.Lock()


def _script(client: redis.Redis, url: str):  # redis-py's Script object
    with _scripts_lock:
        if url not in _scripts:
            _scripts[url] = client.register_script(_RESERVE)
        return _scripts[url]


def reserve(name: str, settings: Settings) -> float:
    """Reserve the provider's next slot; the seconds to wait before calling it (0: go now)."""
    rpm = limit_for(name, settings)
    if rpm <= 0:
        return 0.0
    interval = 60.0 / rpm
    if not settings.redis_url:
        return _local.reserve(name, interval)
    client = redis_client(settings.redis_url)
    try:
        waited_us = _script(client, settings.redis_url)(keys=[f"{NAMESPACE}:{name}"], args=[int(interval * 1_000_000)])
    except redis.RedisError as exc:
        logger.warning("rate limit unavailable, calling %s unlimited: %s", name, exc, extra={"provider": name})
        return 0.0
    return int(waited_us) / 1_000_000


def wait_for_slot(name: str, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> float:
    """Block until the provider may be called under its shared limit; the seconds waited."""
    delay = reserve(name, settings)
    if delay > 0:
        if delay >= 1:
            logger.info("waiting %.1fs for a %s rate-limit slot", delay, name, extra={"provider": name})
        sleep(delay)
    return delay


def limited(name: str, settings: Settings, call: Callable[[], T]) -> T:
    """Run one provider request once its slot has come (the hook the provider chain uses)."""
    wait_for_slot(name, settings)
    return call()
