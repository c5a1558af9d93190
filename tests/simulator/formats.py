"""The three providers' wire formats: read a request, write an answer or an error.

Shapes follow what the official SDKs parse (checked against openai 3.x, anthropic 2.x and botocore's
bedrock-runtime service model), so a response the simulator writes is one the real client accepts,
and an error it writes becomes the SDK's own exception class with its usual attributes:

- OpenAI: ``{"error": {"message", "type", "param", "code"}}``; ``x-request-id``; the SDK maps the
  status to ``RateLimitError`` / ``InternalServerError`` and reads ``retry-after`` (seconds,
  floats allowed) or ``retry-after-ms``.
- Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}``; ``request-id``;
  529 is ``OverloadedError``.
- Bedrock (rest-json): the error code travels in ``x-amzn-ErrorType`` and the body is
  ``{"message": ...}``; botocore's standard retry mode reads ``x-amz-retry-after`` (milliseconds),
  not ``retry-after``, so a 429 carries both.

Nothing here holds state; the server decides which answer or fault a request gets.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

FAMILIES = ("openai", "anthropic", "bedrock")

# Shown in place of real tool arguments when a "malformed" fault is served. The OpenAI form is
# cut off mid-object, like a model that ran out of tokens; the object form (Anthropic, Bedrock,
# whose tool input is already parsed JSON) has a field missing and the others of the wrong type.
MALFORMED_JSON_TEXT = '{"gap_insurance_premium": '
MALFORMED_TOOL_INPUT: dict[str, Any] = {
    "gap_insurance_premium": 795,
    "refund_calculation_method": {"value": 78, "confidence": "high"},
}


class BadRequest(Exception):
    """The request is not one the provider would accept; answered with a 400 in its error shape."""


@dataclass(frozen=True)
class ParsedRequest:
    family: str
    model: str
    prompt: str
    """System and user message text, concatenated: what the brain sees."""
    tool_name: str | None
    """The tool the answer calls unless the brain picks another (the one tool_choice names, else
    the first); None answers in text."""
    wants_json: bool = False
    """OpenAI ``response_format`` json_schema / json_object: the object goes in message.content."""
    tools: tuple[str, ...] = ()
    """Every tool offered."""
    forced: bool = False
    """tool_choice names one tool: the model may call no other."""

    @property
    def structured(self) -> bool:
        """The answer is the brain's object (tool arguments or a JSON body), not chat text."""
        return self.tool_name is not None or self.wants_json


@dataclass(frozen=True)
class Answer:
    """What the simulated model says: tool arguments (or a JSON body) or text."""

    arguments: dict[str, Any] | None = None
    text: str | None = None
    malformed: bool = False


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class WireFormat(Protocol):
    family: str

    def parse(self, body: Any, model_id: str | None = None) -> ParsedRequest: ...

    def success(self, request: ParsedRequest, answer: Answer, *, latency_ms: int) -> Reply: ...

    def error(self, kind: str, *, message: str | None = None, retry_after: float | None = None) -> Reply: ...


ERROR_KINDS = ("429", "500", "overloaded", "bad_request", "not_found")


def tokens(text: str) -> int:
    """A rough token count (4 characters a token); the pipeline only needs a plausible number."""
    return max(1, len(text) // 4)


def seconds_header(value: float) -> str:
    """``retry-after`` as an integer when it is one (the standard form), else a decimal both SDKs read."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"content-type": "application/json", **(headers or {})}, json.dumps(payload).encode())


def _require_messages(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("'messages' must be a non-empty array of message objects")
    return messages


def _text_parts(content: Any) -> list[str]:
    """Text of a message content: a plain string or a list of text blocks (other blocks ignored).

    Blocks are ``{"type": "text", "text": ...}`` (OpenAI, Anthropic) or ``{"text": ...}`` (Bedrock).
    """
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            block["text"]
            for block in content
            if isinstance(block, dict) and isinstance(block.get("text"), str) and block.get("type", "text") == "text"
        ]
    return []


def _user_text(messages: list[dict[str, Any]]) -> list[str]:
    return [
        text for message in messages if message.get("role") == "user" for text in _text_parts(message.get("content"))
    ]


TOOL_RESULT_OPEN = "<tool_result>"
TOOL_RESULT_CLOSE = "</tool_result>"


def _tool_result_text(text: str) -> str:
    """A tool result as the brain sees it in the prompt, after the conversation."""
    return f"{TOOL_RESULT_OPEN}\n{text}\n{TOOL_RESULT_CLOSE}"


def _tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """The results of earlier tool calls sent back in the conversation, in all three formats:
    OpenAI ``{"role": "tool", "content"}``, Anthropic ``{"type": "tool_result", "content"}`` blocks
    and Bedrock ``{"toolResult": {"content": [{"text"} | {"json"}]}}`` blocks (in user turns)."""
    results: list[str] = []
    for message in messages:
        if message.get("role") == "tool":
            results += _text_parts(message.get("content"))
            continue
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                inner = block.get("content")
                results += [inner] if isinstance(inner, str) else _text_parts(inner)
            elif isinstance(block.get("toolResult"), dict):
                for part in block["toolResult"].get("content") or []:
                    if isinstance(part, dict) and "json" in part:
                        results.append(json.dumps(part["json"]))
                    elif isinstance(part, dict) and isinstance(part.get("text"), str):
                        results.append(part["text"])
    return [_tool_result_text(text) for text in results]


def _join(parts: list[str]) -> str:
    return "\n\n".join(part for part in parts if part)


def _retry_headers(retry_after: float | None) -> dict[str, str]:
    return {} if retry_after is None else {"retry-after": seconds_header(retry_after)}


class OpenAIFormat:
    """``POST /v1/chat/completions``."""

    family = "openai"
    _ERRORS = {
        # kind: (status, type, code, default message)
        "429": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
        "500": (500, "server_error", None, "The server had an error while processing your request. Sorry about that!"),
        "overloaded": (503, "server_error", None, "The engine is currently overloaded, please try again later."),
        "bad_request": (400, "invalid_request_error", None, "Invalid request."),
        "not_found": (404, "invalid_request_error", "unknown_url", "Unknown request URL."),
    }

    def parse(self, body: Any, model_id: str | None = None) -> ParsedRequest:
        messages = _require_messages(body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest("you must provide a model parameter")
        if body.get("stream"):
            raise BadRequest("the simulator does not stream; send stream=false")
        prompt = _join(
            [
                text
                for message in messages
                if message.get("role") in ("system", "developer", "user")
                for text in _text_parts(message.get("content"))
            ]
            + _tool_results(messages)
        )
        functions = [
            tool["function"]["name"]
            for tool in body.get("tools") or []
            if isinstance(tool, dict) and tool.get("type") == "function"
            and isinstance(tool.get("function"), dict) and isinstance(tool["function"].get("name"), str)
        ]
        choice = body.get("tool_choice")
        tool_name: str | None = None
        forced = False
        if functions and choice != "none":
            if isinstance(choice, dict):
                named = (choice.get("function") or {}).get("name")
                if named not in functions:
                    raise BadRequest(f"tool_choice names {named!r}, which is not among the tools")
                tool_name, forced = named, True
            else:  # "auto", "required" or absent: the simulated model always calls a tool
                tool_name = functions[0]
        response_format = body.get("response_format")
        wants_json = isinstance(response_format, dict) and response_format.get("type") in ("json_schema", "json_object")
        return ParsedRequest(self.family, model, prompt, tool_name, wants_json, tuple(functions), forced)

    def success(self, request: ParsedRequest, answer: Answer, *, latency_ms: int) -> Reply:
        if request.structured:
            output = MALFORMED_JSON_TEXT if answer.malformed else json.dumps(answer.arguments or {})
        else:
            output = "" if answer.malformed else (answer.text or "")
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        if request.tool_name:
            message["tool_calls"] = [
                {
                    "id": f"call_{secrets.token_hex(12)}",
                    "type": "function",
                    "function": {"name": request.tool_name, "arguments": output},
                }
            ]
            finish_reason = "tool_calls"
        else:
            message["content"] = output
            finish_reason = "stop"
        prompt_tokens, completion_tokens = tokens(request.prompt), tokens(output)
        payload = {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_simulator",
        }
        return _json_reply(
            200, payload, {"x-request-id": f"req_{secrets.token_hex(16)}", "openai-processing-ms": str(latency_ms)}
        )

    def error(self, kind: str, *, message: str | None = None, retry_after: float | None = None) -> Reply:
        status, error_type, code, default = self._ERRORS[kind]
        headers = {"x-request-id": f"req_{secrets.token_hex(16)}"}
        if kind in ("429", "500", "overloaded"):
            # The real API marks retryable answers; the SDK obeys this header before the status code.
            headers["x-should-retry"] = "true"
        if kind == "429":
            headers.update(_retry_headers(retry_after))
        body = {"error": {"message": message or default, "type": error_type, "param": None, "code": code}}
        return _json_reply(status, body, headers)


class AnthropicFormat:
    """``POST /v1/messages``."""

    family = "anthropic"
    _ERRORS = {
        "429": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
        "500": (500, "api_error", "Internal server error"),
        "overloaded": (529, "overloaded_error", "Overloaded"),
        "bad_request": (400, "invalid_request_error", "Invalid request."),
        "not_found": (404, "not_found_error", "Not found."),
    }

    def parse(self, body: Any, model_id: str | None = None) -> ParsedRequest:
        messages = _require_messages(body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest("model: Field required")
        if not isinstance(body.get("max_tokens"), int):
            raise BadRequest("max_tokens: Field required")
        if body.get("stream"):
            raise BadRequest("the simulator does not stream; send stream=false")
        parts = _text_parts(body.get("system"))
        parts += _user_text(messages)
        parts += _tool_results(messages)
        tools = [
            tool["name"]
            for tool in body.get("tools") or []
            if isinstance(tool, dict) and isinstance(tool.get("name"), str) and tool.get("type", "custom") == "custom"
        ]
        choice = body.get("tool_choice") or {"type": "auto"}
        tool_name: str | None = None
        forced = False
        if tools and choice.get("type") != "none":
            if choice.get("type") == "tool":
                if choice.get("name") not in tools:
                    raise BadRequest(f"tool_choice names {choice.get('name')!r}, which is not among the tools")
                tool_name, forced = choice["name"], True
            else:  # "auto" or "any": the simulated model always calls a tool, the first unless the brain picks
                tool_name = tools[0]
        return ParsedRequest(self.family, model, _join(parts), tool_name, tools=tuple(tools), forced=forced)

    def success(self, request: ParsedRequest, answer: Answer, *, latency_ms: int) -> Reply:
        if request.tool_name:
            tool_input = MALFORMED_TOOL_INPUT if answer.malformed else (answer.arguments or {})
            tool_use_id = f"toolu_{secrets.token_hex(12)}"
            content: list[dict[str, Any]] = [
                {"type": "tool_use", "id": tool_use_id, "name": request.tool_name, "input": tool_input}
            ]
            output, stop_reason = json.dumps(tool_input), "tool_use"
        else:
            output = "" if answer.malformed else (answer.text or "")
            content, stop_reason = [{"type": "text", "text": output}], "end_turn"
        payload = {
            "id": f"msg_{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "model": request.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": tokens(request.prompt),
                "output_tokens": tokens(output),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        return _json_reply(200, payload, {"request-id": f"req_{secrets.token_hex(12)}"})

    def error(self, kind: str, *, message: str | None = None, retry_after: float | None = None) -> Reply:
        status, error_type, default = self._ERRORS[kind]
        request_id = f"req_{secrets.token_hex(12)}"
        headers = {"request-id": request_id}
        if kind in ("429", "500", "overloaded"):
            headers["x-should-retry"] = "true"
        if kind == "429":
            headers.update(_retry_headers(retry_after))
        body = {"type": "error", "error": {"type": error_type, "message": message or default}, "request_id": request_id}
        return _json_reply(status, body, headers)


class BedrockFormat:
    """``POST /model/{modelId}/converse`` (rest-json)."""

    family = "bedrock"
    _ERRORS = {
        "429": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
        "500": (500, "InternalServerException", "The server encountered an internal error."),
        "overloaded": (503, "ServiceUnavailableException", "The service is temporarily unable to handle the request."),
        "bad_request": (400, "ValidationException", "Invalid request."),
        "not_found": (404, "ResourceNotFoundException", "Not found."),
    }

    def parse(self, body: Any, model_id: str | None = None) -> ParsedRequest:
        messages = _require_messages(body)
        if not model_id:
            raise BadRequest("modelId is required")
        parts = _text_parts(body.get("system"))
        parts += _user_text(messages)
        parts += _tool_results(messages)
        tool_config = body.get("toolConfig") or {}
        tools = [
            tool["toolSpec"]["name"]
            for tool in tool_config.get("tools") or []
            if isinstance(tool, dict) and isinstance(tool.get("toolSpec"), dict)
            and isinstance(tool["toolSpec"].get("name"), str)
        ]
        choice = tool_config.get("toolChoice") or {"auto": {}}
        tool_name: str | None = None
        forced = False
        if tools:
            if "tool" in choice:
                named = (choice.get("tool") or {}).get("name")
                if named not in tools:
                    raise BadRequest(f"toolChoice names {named!r}, which is not among the tools")
                tool_name, forced = named, True
            else:  # {"auto": {}} or {"any": {}}: the simulated model always calls a tool, the first unless the brain picks
                tool_name = tools[0]
        return ParsedRequest(self.family, model_id, _join(parts), tool_name, tools=tuple(tools), forced=forced)

    def success(self, request: ParsedRequest, answer: Answer, *, latency_ms: int) -> Reply:
        if request.tool_name:
            tool_input = MALFORMED_TOOL_INPUT if answer.malformed else (answer.arguments or {})
            tool_use_id = f"tooluse_{secrets.token_hex(11)}"
            block: dict[str, Any] = {
                "toolUse": {"toolUseId": tool_use_id, "name": request.tool_name, "input": tool_input}
            }
            output, stop_reason = json.dumps(tool_input), "tool_use"
        else:
            output = "" if answer.malformed else (answer.text or "")
            block, stop_reason = {"text": output}, "end_turn"
        input_tokens, output_tokens = tokens(request.prompt), tokens(output)
        payload = {
            "output": {"message": {"role": "assistant", "content": [block]}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": latency_ms},
        }
        return _json_reply(200, payload, {"x-amzn-requestid": str(uuid.uuid4())})

    def error(self, kind: str, *, message: str | None = None, retry_after: float | None = None) -> Reply:
        status, code, default = self._ERRORS[kind]
        headers = {
            "x-amzn-requestid": str(uuid.uuid4()),
            # botocore takes the error code from this header (the part before ':').
            "x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        }
        if kind == "429" and retry_after is not None:
            headers.update(_retry_headers(retry_after))
            # The only retry delay botocore reads (standard mode), in milliseconds.
            headers["x-amz-retry-after"] = str(int(round(retry_after * 1000)))
        return _json_reply(status, {"message": message or default}, headers)


FORMATS: dict[str, WireFormat] = {fmt.family: fmt for fmt in (OpenAIFormat(), AnthropicFormat(), BedrockFormat())}
