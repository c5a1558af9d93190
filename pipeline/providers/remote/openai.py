"""OpenAI chat completions with function calling (extraction and chat); also any OpenAI-compatible
server by base URL."""

from __future__ import annotations

import time

import openai

from pipeline.providers.base import ChatOutput, ChatRequest, ExtractionOutput, Provider, ProviderError, retry_after_seconds
from pipeline.providers.prompts.chat import (ANSWER_TOOL_DESCRIPTION, ANSWER_TOOL_NAME, ANSWER_TOOL_SCHEMA, MAX_TOOL_ROUNDS, answer_from_arguments, conversation, run_tool, system_prompt,)
from pipeline.providers.costs import cost_usd, priced_output
from pipeline.providers.prompts.extraction import SYSTEM_PROMPT, TOOL_DESCRIPTION, TOOL_NAME, TOOL_SCHEMA, fields_from_arguments, user_message


def _retry_after(exc: openai.APIStatusError) -> float | None:
    return retry_after_seconds(exc.response.headers) if exc.response is not None else None


class OpenAIProvider(Provider):
    def __init__(self, *, name: str, api_key: str, model: str, base_url: str | None, timeout: float) -> None:
        self.name = name
        self.model = model
        # Retries are ours (one budget for SDK, task and breaker): the SDK makes one attempt.
        self.client = openai.OpenAI(api_key=api_key or "not-needed", base_url=base_url or None, timeout=timeout, max_retries=0)

    def _create(self, **request):  # the SDK's keyword arguments
        """One chat completion, its errors mapped to ProviderError (retryable or not)."""
        try:
            return self.client.chat.completions.create(model=self.model, temperature=0, **request)
        except openai.RateLimitError as exc:
            raise ProviderError(f"{self.name}: rate limited (429)", retryable=True, retry_after=_retry_after(exc)) from None
        except openai.APITimeoutError:
            raise ProviderError(f"{self.name}: timed out", retryable=True) from None
        except openai.APIConnectionError:
            raise ProviderError(f"{self.name}: connection failed", retryable=True) from None
        except openai.APIStatusError as exc:
            retryable = exc.status_code >= 500 or exc.status_code in (408, 409)
            raise ProviderError(f"{self.name}: HTTP {exc.status_code}", retryable=retryable, retry_after=_retry_after(exc)) from None

    def _arguments(self, completion) -> str:  # the SDK's ChatCompletion
        try:
            return completion.choices[0].message.tool_calls[0].function.arguments
        except (IndexError, TypeError, AttributeError):
            raise ProviderError(f"{self.name}: the answer has no tool call", retryable=True) from None

    def extract(self, *, text: str) -> ExtractionOutput:
        started = time.perf_counter()
        completion = self._create(
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user_message(text)}],
            tools=[{"type": "function", "function": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": TOOL_SCHEMA}}],
            tool_choice={"type": "function", "function": {"name": TOOL_NAME}},
        )
        latency_ms = int((time.perf_counter() - started) * 1000)
        fields = fields_from_arguments(self._arguments(completion))
        usage = completion.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        return priced_output(
            fields=fields, provider=self.name, model=completion.model or self.model, priced_as=self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms,
        )

    def answer(self, *, request: ChatRequest) -> ChatOutput:
        """Answer through the answer tool; the request's tools may be called first (each call's
        result goes back as a ``tool`` message), after ``MAX_TOOL_ROUNDS`` the answer is forced."""
        started = time.perf_counter()
        messages: list[dict] = [{"role": "system", "content": system_prompt(request)}, *conversation(request)]
        tools = [{"type": "function", "function": {"name": ANSWER_TOOL_NAME, "description": ANSWER_TOOL_DESCRIPTION, "parameters": ANSWER_TOOL_SCHEMA}}]
        tools += [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}} for t in request.tools]
        forced = {"type": "function", "function": {"name": ANSWER_TOOL_NAME}}
        prompt_tokens = completion_tokens = 0
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            free = bool(request.tools) and round_ < MAX_TOOL_ROUNDS
            completion = self._create(messages=messages, tools=tools, tool_choice="required" if free else forced)
            usage = completion.usage
            prompt_tokens += usage.prompt_tokens if usage else 0
            completion_tokens += usage.completion_tokens if usage else 0
            calls = self._tool_calls(completion)
            answer = next((c for c in calls if c.function.name == ANSWER_TOOL_NAME), None)
            if answer is not None:
                break
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}} for c in calls
            ]})
            for call in calls:
                messages.append({"role": "tool", "tool_call_id": call.id, "content": run_tool(request, call.function.name, call.function.arguments)})
        else:
            raise ProviderError(f"{self.name}: the model kept calling tools and never answered", retryable=True)
        latency_ms = int((time.perf_counter() - started) * 1000)
        text, quotes, answered = answer_from_arguments(answer.function.arguments)
        return ChatOutput(
            text=text, quotes=quotes, answered=answered, provider=self.name, model=completion.model or self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cost_usd=cost_usd(self.model, prompt_tokens, completion_tokens), latency_ms=latency_ms,
        )

    def _tool_calls(self, completion) -> list:  # the SDK's ChatCompletion
        try:
            calls = list(completion.choices[0].message.tool_calls or [])
        except (IndexError, TypeError, AttributeError):
            calls = []
        if not calls:
            raise ProviderError(f"{self.name}: the answer has no tool call", retryable=True)
        return calls
