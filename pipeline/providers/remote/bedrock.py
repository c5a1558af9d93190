"""AWS Bedrock through boto3's bedrock-runtime Converse API with a tool schema (extraction and chat)."""

from __future__ import annotations

import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from pipeline.providers.base import ChatOutput, ChatRequest, ExtractionOutput, Provider, ProviderError, retry_after_seconds
from pipeline.providers.prompts.chat import (ANSWER_TOOL_DESCRIPTION, ANSWER_TOOL_NAME, ANSWER_TOOL_SCHEMA, MAX_TOOL_ROUNDS, answer_from_arguments, conversation, run_tool, system_prompt,)
from pipeline.providers.costs import cost_usd, priced_output
from pipeline.providers.prompts.extraction import SYSTEM_PROMPT, TOOL_DESCRIPTION, TOOL_NAME, TOOL_SCHEMA, fields_from_arguments, user_message

_RETRYABLE_CODES = {
    "ThrottlingException", "ServiceUnavailableException", "InternalServerException",
    "ModelTimeoutException", "ModelNotReadyException", "TooManyRequestsException",
}


def _retry_after(headers: dict[str, str]) -> float | None:
    """AWS sends x-amz-retry-after in milliseconds; some gateways a plain retry-after in seconds."""
    millis = headers.get("x-amz-retry-after")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            return None
    return retry_after_seconds(headers)


class BedrockProvider(Provider):
    name = "bedrock"

    def __init__(self, *, region: str, model_id: str, endpoint_url: str | None, timeout: float) -> None:
        self.model = model_id
        self.client = boto3.client(
            "bedrock-runtime",
            region_name=region,
            endpoint_url=endpoint_url or None,
            # One attempt per call: the retry budget is ours.
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=min(timeout, 10), read_timeout=timeout, max_pool_connections=64),
        )

    def _converse(self, *, system: str, messages: list, tool: tuple[str, str, dict], extra_tools: tuple = (), free: bool = False) -> dict:
        """One Converse call that must use ``tool`` (name, description, schema), or with ``free``
        any of it and ``extra_tools``; errors as ProviderError."""
        name, description, schema = tool
        tools = [{"toolSpec": {"name": name, "description": description, "inputSchema": {"json": schema}}}]
        tools += [{"toolSpec": {"name": t.name, "description": t.description, "inputSchema": {"json": t.parameters}}} for t in extra_tools]
        try:
            return self.client.converse(
                modelId=self.model,
                system=[{"text": system}],
                messages=messages,
                inferenceConfig={"maxTokens": 1024, "temperature": 0},
                toolConfig={"tools": tools, "toolChoice": {"any": {}} if free else {"tool": {"name": name}}},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            raise ProviderError(
                f"bedrock: {code or status}",
                retryable=code in _RETRYABLE_CODES or status == 429 or status >= 500,
                retry_after=_retry_after(exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})),
            ) from None
        except ReadTimeoutError:
            raise ProviderError("bedrock: timed out", retryable=True) from None
        except (EndpointConnectionError, ConnectTimeoutError):
            raise ProviderError("bedrock: connection failed", retryable=True) from None
        except BotoCoreError as exc:
            raise ProviderError(f"bedrock: {type(exc).__name__}", retryable=True) from None

    @staticmethod
    def _tool_input(answer: dict):  # the tool's input object
        content = answer.get("output", {}).get("message", {}).get("content", [])
        tool_use = next((c["toolUse"] for c in content if isinstance(c, dict) and "toolUse" in c), None)
        if tool_use is None:
            raise ProviderError("bedrock: the answer has no tool use", retryable=True)
        return tool_use.get("input")

    @staticmethod
    def _usage(answer: dict) -> tuple[int, int]:
        usage = answer.get("usage", {})
        return int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))

    def extract(self, *, text: str) -> ExtractionOutput:
        started = time.perf_counter()
        answer = self._converse(
            system=SYSTEM_PROMPT,
            messages=[{"role": "user", "content": [{"text": user_message(text)}]}],
            tool=(TOOL_NAME, TOOL_DESCRIPTION, TOOL_SCHEMA),
        )
        latency_ms = int((time.perf_counter() - started) * 1000)
        fields = fields_from_arguments(self._tool_input(answer))
        prompt_tokens, completion_tokens = self._usage(answer)
        return priced_output(
            fields=fields, provider=self.name, model=self.model, priced_as=self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms,
        )

    def answer(self, *, request: ChatRequest) -> ChatOutput:
        """Answer through the answer tool; the request's tools may be used first (their results go
        back as ``toolResult`` blocks), after ``MAX_TOOL_ROUNDS`` the answer is forced."""
        started = time.perf_counter()
        messages = [{"role": turn["role"], "content": [{"text": turn["content"]}]} for turn in conversation(request)]
        prompt_tokens = completion_tokens = 0
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            free = bool(request.tools) and round_ < MAX_TOOL_ROUNDS
            answer = self._converse(
                system=system_prompt(request), messages=messages, tool=(ANSWER_TOOL_NAME, ANSWER_TOOL_DESCRIPTION, ANSWER_TOOL_SCHEMA),
                extra_tools=request.tools, free=free,
            )
            used = self._usage(answer)
            prompt_tokens, completion_tokens = prompt_tokens + used[0], completion_tokens + used[1]
            content = answer.get("output", {}).get("message", {}).get("content", [])
            uses = [c["toolUse"] for c in content if isinstance(c, dict) and "toolUse" in c]
            if not uses:
                raise ProviderError("bedrock: the answer has no tool use", retryable=True)
            final = next((u for u in uses if u.get("name") == ANSWER_TOOL_NAME), None)
            if final is not None:
                break
            messages.append({"role": "assistant", "content": [{"toolUse": u} for u in uses]})
            messages.append({"role": "user", "content": [
                {"toolResult": {"toolUseId": u["toolUseId"], "content": [{"text": run_tool(request, u.get("name", ""), u.get("input"))}]}}
                for u in uses
            ]})
        else:
            raise ProviderError("bedrock: the model kept calling tools and never answered", retryable=True)
        latency_ms = int((time.perf_counter() - started) * 1000)
        text, quotes, answered = answer_from_arguments(final.get("input"))
        return ChatOutput(
            text=text, quotes=quotes, answered=answered, provider=self.name, model=self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cost_usd=cost_usd(self.model, prompt_tokens, completion_tokens), latency_ms=latency_ms,
        )
