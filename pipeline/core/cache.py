"""Cache and fast status store: Redis when configured, an in-process store otherwise.

Redis is transport and cache, never the only copy of anything: every value here can be rebuilt
from PostgreSQL, so a cache error is logged and treated as a miss rather than failing a request.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Protocol

import redis

from pipeline.core.settings import Settings, get_settings

logger = logging.getLogger(__name__)


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes | str, ttl: int) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, amount: int = 1) -> None: ...
    def get_int(self, key: str) -> int: ...
    def ping(self) -> None: ...


class LocalCache:
    """Per-process store with expiry, for the embedded default (no server to run)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= time.monotonic():
                del self._data[key]
                return None
            return value

    def set(self, key: str, value: bytes | str, ttl: int) -> None:
        data = value.encode() if isinstance(value, str) else value
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, data)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def incr(self, key: str, amount: int = 1) -> None:
        with self._lock:
            _, current = self._data.get(key, (float("inf"), b"0"))
            self._data[key] = (float("inf"), str(int(current) + amount).encode())

    def get_int(self, key: str) -> int:
        value = self.get(key)
        return int(value) if value else 0

    def ping(self) -> None:
        return None


class RedisCache:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(key)
        except redis.RedisError as exc:
            logger.warning("cache get failed, treating as a miss: %s", exc)
            return None

    def set(self, key: str, value: bytes | str, ttl: int) -> None:
        try:
            self.client.set(key, value, ex=ttl)
        except redis.RedisError as exc:
            logger.warning("cache set failed: %s", exc)

    def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            self.client.delete(*keys)
        except redis.RedisError as exc:
            logger.warning("cache delete failed: %s", exc)

    def incr(self, key: str, amount: int = 1) -> None:
        try:
            self.client.incrby(key, amount)
        except redis.RedisError as exc:
            logger.warning("cache counter failed: %s", exc)

    def get_int(self, key: str) -> int:
        value = self.get(key)
        return int(value) if value else 0

    def ping(self) -> None:
        self.client.ping()


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """A pooled client per URL; short timeouts so a dead Redis is noticed, not waited on."""
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


_local = LocalCache()


def get_cache(settings: Settings | None = None) -> Cache:
    s = settings or get_settings()
    return RedisCache(redis_client(s.redis_url)) if s.redis_url else _local


def count_lookup(cache: Cache, kind: str, *, hit: bool) -> None:
    """Count a cache hit or miss of one kind (contract, pdf, ...) for the metrics."""
    cache.incr(f"metrics:cache:{kind}:{'hit' if hit else 'miss'}")


def lookup_counts(cache: Cache, kind: str) -> dict[str, int]:
    return {
        "hit": cache.get_int(f"metrics:cache:{kind}:hit"),
        "miss": cache.get_int(f"metrics:cache:{kind}:miss"),
    }


def contract_key(account_number: str) -> str:
    """Where a search answer for this account number is cached."""
    return f"contract:account:{account_number}"


def invalidate_contracts(cache: Cache, *account_numbers: str) -> None:
    """Forget cached search answers (a contract or its extraction changed)."""
    keys = [contract_key(n) for n in account_numbers if n]
    if keys:
        cache.delete(*keys)
