"""Circuit breakers per remote provider, their state shared by every worker through Redis.

pybreaker keeps the state (closed, open, half-open), the consecutive-failure counter and the
opening time in Redis (``CircuitRedisStorage``). Its ``call()`` holds a lock for the whole
wrapped call (pybreaker issue 55), which would let one thread at a time talk to the provider;
so calls do not go through it. Instead :meth:`SharedBreaker.guard` asks the shared state before
a call and reports the outcome after it, keeping dozens of calls in flight per worker. When the
reset time has passed, exactly one call in the whole fleet is let through as the half-open trial
(a Redis ``SET NX``); its outcome closes or re-opens the circuit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import pybreaker
import redis

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CircuitOpen(Exception):
    """The provider's circuit is open: the call was not attempted."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"circuit of provider {name} is open (next trial in {retry_in:.0f}s)")
        self.name = name
        self.retry_in = retry_in


class SharedBreaker:
    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_timeout: float,
        redis_client: redis.Redis | None,
        namespace: str = "cre:breaker",
    ) -> None:
        self.name = name
        self.reset_timeout = reset_timeout
        if redis_client is not None:
            storage: pybreaker.CircuitBreakerStorage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, redis_client, namespace=f"{namespace}:{name}"
            )
        else:
            storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self.redis = redis_client
        # Kept here: the storage is the shared truth, and pybreaker exposes no getter for it.
        self.storage = storage
        # pybreaker's Redis keys ("<namespace>:pybreaker:<key>"), read together in _snapshot.
        self._state_keys = tuple(f"{namespace}:{name}:{pybreaker.CircuitRedisStorage.BASE_NAMESPACE}:{key}" for key in ("state", "fail_counter"))
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout, state_storage=storage, name=name
        )
        self._trial_key = f"{namespace}:{name}:trial"
        self._local_trial = threading.Lock()

    @property
    def state(self) -> str:
        return self.breaker.current_state

    def _storage(self) -> pybreaker.CircuitBreakerStorage:
        return self.storage

    def _seconds_until_trial(self) -> float:
        opened_at = self._storage().opened_at
        if opened_at is None:
            return 0.0
        due = opened_at + timedelta(seconds=self.reset_timeout)
        return max(0.0, (due - datetime.now(timezone.utc)).total_seconds())

    def _take_trial(self) -> bool:
        """Only one caller in the fleet runs the half-open trial call."""
        if self.redis is not None:
            ttl = max(int(self.reset_timeout), 1)
            return bool(self.redis.set(self._trial_key, "1", nx=True, ex=ttl))
        return self._local_trial.acquire(blocking=False)

    def _end_trial(self) -> None:
        if self.redis is not None:
            self.redis.delete(self._trial_key)
        elif self._local_trial.locked():
            self._local_trial.release()

    def _snapshot(self) -> tuple[str, int | None]:
        """The shared state and failure counter in one Redis round trip (counter None: unknown)."""
        if self.redis is not None:
            try:
                raw_state, raw_counter = self.redis.mget(*self._state_keys)
            except redis.RedisError:
                raw_state = None
            if raw_state is not None:
                return raw_state.decode() if isinstance(raw_state, bytes) else str(raw_state), int(raw_counter or 0)
        return self.state, None  # pybreaker's getter initialises a missing state

    def guard(self, call: Callable[[], T], *, is_failure: Callable[[BaseException], bool] = lambda exc: True) -> T:
        """Run ``call`` unless the circuit is open; record its outcome in the shared state."""
        state, counter = self._snapshot()
        trial = False
        if state != pybreaker.STATE_CLOSED:
            wait = self._seconds_until_trial()
            if state == pybreaker.STATE_OPEN and wait > 0:
                raise CircuitOpen(self.name, wait)
            if not self._take_trial():
                raise CircuitOpen(self.name, wait or self.reset_timeout)
            trial = True
            if state == pybreaker.STATE_OPEN:
                self.breaker.half_open()
                logger.info("circuit half-open: trial call", extra={"provider": self.name})
        try:
            result = call()
        except BaseException as exc:
            if is_failure(exc):
                self._failed(trial)
            elif trial:
                self._end_trial()
            raise
        self._succeeded(trial, state, counter)
        return result

    def _failed(self, trial: bool) -> None:
        storage = self._storage()
        storage.increment_counter()
        if trial or storage.counter >= self.breaker.fail_max:
            if self.state != pybreaker.STATE_OPEN:
                logger.warning(
                    "circuit opened after %s consecutive failures", storage.counter, extra={"provider": self.name}
                )
            self.breaker.open()
        if trial:
            self._end_trial()

    def _succeeded(self, trial: bool, state: str, counter: int | None = None) -> None:
        # A success ends a run of failures; with none counted before the call there is nothing to
        # reset, which saves a Redis write on nearly every call. (A failure counted by another
        # call meanwhile is reset by the next success that saw it.)
        if counter != 0:
            self._storage().reset_counter()
        if trial or state == pybreaker.STATE_HALF_OPEN:
            self.breaker.close()
            logger.info("circuit closed", extra={"provider": self.name})
        if trial:
            self._end_trial()
