"""Anthropic messages with tool use."""

from __future__ import annotations

import time

import anthropic

from pipeline.providers.base import ExtractionOutput, Provider, ProviderError, retry_after_seconds
from pipeline.providers.costs import priced_output
from pipeline.providers.prompt import SYSTEM_PROMPT, TOOL_DESCRIPTION, TOOL_NAME, TOOL_SCHEMA, fields_from_arguments, user_message


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    return retry_after_seconds(exc.response.headers) if exc.response is not None else None


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, *, api_key: str, model: str, base_url: str | None, timeout: float) -> None:
        self.model = model
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)

    def extract(self, *, text: str) -> ExtractionOutput:
        started = time.perf_counter()
        try:
            message = self.client.messages.create(
                model=self.model,
                max_tokens=1024,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": user_message(text)}],
                tools=[{"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": TOOL_SCHEMA}],
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )
        except anthropic.RateLimitError as exc:
            raise ProviderError("anthropic: rate limited (429)", retryable=True, retry_after=_retry_after(exc)) from None
        except anthropic.APITimeoutError:
            raise ProviderError("anthropic: timed out", retryable=True) from None
        except anthropic.APIConnectionError:
            raise ProviderError("anthropic: connection failed", retryable=True) from None
        except anthropic.APIStatusError as exc:
            retryable = exc.status_code >= 500 or exc.status_code in (408, 409, 529)
            raise ProviderError(f"anthropic: HTTP {exc.status_code}", retryable=retryable, retry_after=_retry_after(exc)) from None
        latency_ms = int((time.perf_counter() - started) * 1000)
        block = next((b for b in message.content if getattr(b, "type", None) == "tool_use"), None)
        if block is None:
            raise ProviderError("anthropic: the answer has no tool use", retryable=True)
        fields = fields_from_arguments(block.input)
        prompt_tokens, completion_tokens = message.usage.input_tokens, message.usage.output_tokens
        return priced_output(
            fields=fields, provider=self.name, model=message.model or self.model, priced_as=self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms,
        )
