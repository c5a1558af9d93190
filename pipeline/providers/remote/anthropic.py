"""Anthropic messages with tool use (extraction and chat)."""

from __future__ import annotations

import time

import anthropic

from pipeline.providers.base import ChatOutput, ChatRequest, ExtractionOutput, Provider, ProviderError, retry_after_seconds
from pipeline.providers.prompts.chat import (ANSWER_TOOL_DESCRIPTION, ANSWER_TOOL_NAME, ANSWER_TOOL_SCHEMA, MAX_TOOL_ROUNDS, answer_from_arguments, conversation, run_tool, system_prompt,)
from pipeline.providers.costs import cost_usd, priced_output
from pipeline.providers.prompts.extraction import SYSTEM_PROMPT, TOOL_DESCRIPTION, TOOL_NAME, TOOL_SCHEMA, fields_from_arguments, user_message


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    return retry_after_seconds(exc.response.headers) if exc.response is not None else None


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, *, api_key: str, model: str, base_url: str | None, timeout: float) -> None:
        self.model = model
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)

    def _create(self, *, system: str, messages: list, tool: tuple[str, str, dict], extra_tools: tuple = (), free: bool = False):  # the SDK's Message
        """One message call that must use ``tool`` (name, description, schema), or with ``free``
        any of it and ``extra_tools``; errors as ProviderError."""
        name, description, schema = tool
        tools = [{"name": name, "description": description, "input_schema": schema}]
        tools += [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in extra_tools]
        try:
            return self.client.messages.create(
                model=self.model,
                max_tokens=1024,
                system=system,
                messages=messages,
                tools=tools,
                tool_choice={"type": "any"} if free else {"type": "tool", "name": name},
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

    @staticmethod
    def _tool_input(message):  # the SDK's Message; the tool's input object
        block = next((b for b in message.content if getattr(b, "type", None) == "tool_use"), None)
        if block is None:
            raise ProviderError("anthropic: the answer has no tool use", retryable=True)
        return block.input

    def extract(self, *, text: str) -> ExtractionOutput:
        started = time.perf_counter()
        message = self._create(
            system=SYSTEM_PROMPT,
            messages=[{"role": "user", "content": user_message(text)}],
            tool=(TOOL_NAME, TOOL_DESCRIPTION, TOOL_SCHEMA),
        )
        latency_ms = int((time.perf_counter() - started) * 1000)
        fields = fields_from_arguments(self._tool_input(message))
        prompt_tokens, completion_tokens = message.usage.input_tokens, message.usage.output_tokens
        return priced_output(
            fields=fields, provider=self.name, model=message.model or self.model, priced_as=self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms,
        )

    def answer(self, *, request: ChatRequest) -> ChatOutput:
        """Answer through the answer tool; the request's tools may be used first (their results go
        back as ``tool_result`` blocks), after ``MAX_TOOL_ROUNDS`` the answer is forced."""
        started = time.perf_counter()
        messages: list[dict] = list(conversation(request))
        prompt_tokens = completion_tokens = 0
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            free = bool(request.tools) and round_ < MAX_TOOL_ROUNDS
            message = self._create(
                system=system_prompt(request), messages=messages, tool=(ANSWER_TOOL_NAME, ANSWER_TOOL_DESCRIPTION, ANSWER_TOOL_SCHEMA),
                extra_tools=request.tools, free=free,
            )
            prompt_tokens += message.usage.input_tokens
            completion_tokens += message.usage.output_tokens
            uses = [b for b in message.content if getattr(b, "type", None) == "tool_use"]
            if not uses:
                raise ProviderError("anthropic: the answer has no tool use", retryable=True)
            answer = next((b for b in uses if b.name == ANSWER_TOOL_NAME), None)
            if answer is not None:
                break
            messages.append({"role": "assistant", "content": [
                {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input} for b in uses
            ]})
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": b.id, "content": run_tool(request, b.name, b.input)} for b in uses
            ]})
        else:
            raise ProviderError("anthropic: the model kept calling tools and never answered", retryable=True)
        latency_ms = int((time.perf_counter() - started) * 1000)
        text, quotes, answered = answer_from_arguments(answer.input)
        return ChatOutput(
            text=text, quotes=quotes, answered=answered, provider=self.name, model=message.model or self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cost_usd=cost_usd(self.model, prompt_tokens, completion_tokens), latency_ms=latency_ms,
        )
