"""AWS Bedrock through boto3's bedrock-runtime Converse API with a tool schema."""

from __future__ import annotations

import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from pipeline.providers.base import ExtractionOutput, Provider, ProviderError, retry_after_seconds
from pipeline.providers.costs import priced_output
from pipeline.providers.prompt import SYSTEM_PROMPT, TOOL_DESCRIPTION, TOOL_NAME, TOOL_SCHEMA, fields_from_arguments, user_message

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

    def extract(self, *, text: str) -> ExtractionOutput:
        started = time.perf_counter()
        try:
            answer = self.client.converse(
                modelId=self.model,
                system=[{"text": SYSTEM_PROMPT}],
                messages=[{"role": "user", "content": [{"text": user_message(text)}]}],
                inferenceConfig={"maxTokens": 1024, "temperature": 0},
                toolConfig={
                    "tools": [{"toolSpec": {"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "inputSchema": {"json": TOOL_SCHEMA}}}],
                    "toolChoice": {"tool": {"name": TOOL_NAME}},
                },
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
        latency_ms = int((time.perf_counter() - started) * 1000)
        content = answer.get("output", {}).get("message", {}).get("content", [])
        tool_use = next((c["toolUse"] for c in content if isinstance(c, dict) and "toolUse" in c), None)
        if tool_use is None:
            raise ProviderError("bedrock: the answer has no tool use", retryable=True)
        fields = fields_from_arguments(tool_use.get("input"))
        usage = answer.get("usage", {})
        prompt_tokens, completion_tokens = int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))
        return priced_output(
            fields=fields, provider=self.name, model=self.model, priced_as=self.model,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms,
        )
