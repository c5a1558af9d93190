"""Providers by name, and the chain an extraction goes through: main provider, fallbacks, local.

One retry budget: the SDKs make a single attempt (max_retries=0), Celery does not retry
extraction tasks, and this chain makes up to LLM_RETRY_MAX_ATTEMPTS attempts per provider for
errors worth retrying (timeouts, 429, 5xx, malformed answers), waiting with exponential backoff
and full jitter, or as long as the provider's Retry-After asks when that is longer (up to
LLM_RETRY_MAX_WAIT; a provider asking for more is skipped for the next one). Each remote
provider sits behind a shared circuit breaker; an open circuit moves straight to the next.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.core.cache import redis_client
from pipeline.core.settings import Settings
from pipeline.providers.base import ChatOutput, ChatRequest, ExtractionOutput, Provider, ProviderError
from pipeline.providers.resilience import rate_limit
from pipeline.providers.resilience.breaker import CircuitOpen, SharedBreaker
from pipeline.providers.specs import spec_for

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_providers: dict[tuple[str, Settings], Provider] = {}
_breakers: dict[tuple[str, str, int, int], SharedBreaker] = {}


def build(name: str, settings: Settings) -> Provider:
    """A provider instance by name (SDK clients are reused: they pool connections)."""
    key = (name, settings)
    with _lock:
        if key in _providers:
            return _providers[key]
    provider = _build(name, settings)
    with _lock:
        return _providers.setdefault(key, provider)


def _build(name: str, settings: Settings) -> Provider:
    return spec_for(name).build(settings)


def breaker_for(name: str, settings: Settings) -> SharedBreaker:
    key = (name, settings.redis_url, settings.llm_circuit_breaker_threshold, settings.llm_circuit_breaker_reset_seconds)
    with _lock:
        if key not in _breakers:
            _breakers[key] = SharedBreaker(
                name,
                fail_max=settings.llm_circuit_breaker_threshold,
                reset_timeout=settings.llm_circuit_breaker_reset_seconds,
                redis_client=redis_client(settings.redis_url) if settings.redis_url else None,
            )
        return _breakers[key]


def chain_names(settings: Settings, *, primary: str | None = None) -> list[str]:
    names = [primary or settings.llm_provider]
    for name in settings.llm_fallback_providers:
        if name not in names:
            names.append(name)
    if settings.llm_local_fallback and "local" not in names:
        names.append("local")
    return names


@dataclass
class ChainResult:
    output: ExtractionOutput | ChatOutput
    attempts: list[dict[str, Any]] = field(default_factory=list)


class AllProvidersFailed(Exception):
    def __init__(self, attempts: list[dict[str, Any]]) -> None:
        summary = "; ".join(f"{a['provider']}: {a.get('error', a['outcome'])}" for a in attempts)
        super().__init__(f"every provider failed ({summary})")
        self.attempts = attempts


def backoff_delay(attempt: int, retry_after: float | None, *, base: float = 0.5, cap: float = 20.0) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``; None when the provider asks for more than the cap."""
    jittered = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    if retry_after is not None:
        if retry_after > cap:
            return None
        return max(retry_after, jittered)
    return jittered


class ProviderChain:
    def __init__(self, settings: Settings, *, primary: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.names = chain_names(settings, primary=primary)
        self.sleep = sleep

    def extract(self, *, text: str) -> ChainResult:
        return self._through_chain(lambda provider: provider.extract(text=text))

    def answer(self, *, request: ChatRequest) -> ChainResult:
        """A chat turn through the same providers, breakers and retry budget as extraction."""
        return self._through_chain(lambda provider: provider.answer(request=request))

    def _through_chain(self, call: Callable[[Provider], Any]) -> ChainResult:
        attempts: list[dict[str, Any]] = []
        for name in self.names:
            provider = build(name, self.settings)
            record: dict[str, Any] = {"provider": name, "attempts": 0}
            attempts.append(record)
            output = self._try(provider, call, record)
            if output is not None:
                record["outcome"] = "ok"
                return ChainResult(output, attempts)
        raise AllProvidersFailed(attempts)

    def _try(self, provider: Provider, call: Callable[[Provider], Any], record: dict[str, Any]) -> Any:
        if provider.name == "local":
            record["attempts"] = 1
            return call(provider)
        breaker = breaker_for(provider.name, self.settings)
        for attempt in range(1, self.settings.llm_retry_max_attempts + 1):
            record["attempts"] = attempt
            try:
                # The shared rate limit is waited for inside the guard: an open circuit takes no slot.
                return breaker.guard(lambda: rate_limit.limited(provider.name, self.settings, lambda: call(provider)), is_failure=lambda exc: isinstance(exc, ProviderError))
            except CircuitOpen as exc:
                record.update(outcome="circuit_open", error=str(exc))
                logger.info("provider skipped: circuit open", extra={"provider": provider.name})
                return None
            except ProviderError as exc:
                record.update(outcome="error", error=str(exc))
                logger.warning("provider call failed: %s", exc, extra={"provider": provider.name, "attempt": attempt})
                if not exc.retryable or attempt == self.settings.llm_retry_max_attempts:
                    return None
                delay = backoff_delay(attempt, exc.retry_after, cap=self.settings.llm_retry_max_wait)
                if delay is None:
                    record["error"] = f"{exc} (asked to wait {exc.retry_after:.0f}s, more than LLM_RETRY_MAX_WAIT)"
                    return None
                self.sleep(delay)
        return None
