"""The provider simulator, driven through the real OpenAI, Anthropic and boto3 SDKs.

What is proven here is what the provider adapters' tests lean on: each SDK accepts the simulator's
answers as real ones, its own retry honours the simulator's 429 ``retry-after``, a 500 and a timeout
become the SDK's own exception classes, malformed output reaches the caller, many requests are in
flight at once, and other processes can steer it over HTTP. Nothing here needs PostgreSQL or Redis,
and a guard fails any test that opens a connection beyond loopback.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import boto3
import botocore.exceptions
import openai
import pytest
from botocore.config import Config

from pipeline.vocabulary import FIELD_NAMES, REFUND_METHODS
from tests.simulator import MALFORMED_JSON_TEXT, Simulator, default_brain

ROOT = Path(__file__).resolve().parents[2]

SYSTEM = (
    "Extract the GAP premium, the refund calculation method (one of pro_rata, rule_of_78, short_rate, "
    "actuarial) and the cancellation fee. Quote the contract verbatim."
)
CONTRACT = (
    "RETAIL INSTALLMENT CONTRACT - GAP WAIVER ADDENDUM\n"
    "Amount financed: $24,500.00 over 60 months.\n"
    "The GAP Waiver charge for this contract is $795.00, included in the amount financed.\n"
    "If you cancel this addendum, the refund is computed by the Rule of 78s method.\n"
    "A cancellation fee of $50.00 will be deducted from any refund.\n"
)
TOOL_NAME = "record_refund_terms"
_FIELD_SCHEMA = {
    "type": "object",
    "properties": {
        "value": {"type": ["string", "null"]},
        "confidence": {"type": "number"},
        "quote": {"type": "string"},
    },
    "required": ["value", "confidence", "quote"],
}
TOOL_SCHEMA = {
    "type": "object",
    "properties": {name: _FIELD_SCHEMA for name in FIELD_NAMES},
    "required": list(FIELD_NAMES),
}
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-simulated-1"  # a real name may draw the SDK's deprecation warning
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"  # the ':' is percent-encoded on the wire
SDKS = ("openai", "anthropic", "bedrock")


# -- environment ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, config files, proxies or instance metadata; connections to loopback only."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in (
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ENDPOINT_URL",
        "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"a simulator test tried to reach {address!r}")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


# -- one tool-calling request through each SDK ------------------------------------------------


def openai_client(sim: Simulator, *, max_retries: int = 0, timeout: float = 10.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url + "/v1", api_key="test", max_retries=max_retries, timeout=timeout)


def anthropic_client(sim: Simulator, *, max_retries: int = 0, timeout: float = 10.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sim.base_url, api_key="test", max_retries=max_retries, timeout=timeout)


def bedrock_client(sim: Simulator, *, max_retries: int = 0, timeout: float = 10.0) -> Any:
    # A fresh session: the default one may have been built before this test's environment.
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    config = Config(
        read_timeout=timeout,
        connect_timeout=2,
        retries={"mode": "standard", "max_attempts": max_retries},  # retries, not counting the first try
    )
    return session.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=sim.base_url,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=config,
    )


def openai_tool_call(sim: Simulator, **client_options: Any) -> str:
    """The raw ``arguments`` string of a forced function call."""
    with openai_client(sim, **client_options) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": CONTRACT}],
            tools=[{"type": "function", "function": {"name": TOOL_NAME, "parameters": TOOL_SCHEMA}}],
            tool_choice={"type": "function", "function": {"name": TOOL_NAME}},
        )
    tool_call = completion.choices[0].message.tool_calls[0]
    assert tool_call.function.name == TOOL_NAME
    return tool_call.function.arguments


def anthropic_tool_use(sim: Simulator, **client_options: Any) -> Any:
    with anthropic_client(sim, **client_options) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=1024,
            system=SYSTEM,
            messages=[{"role": "user", "content": CONTRACT}],
            tools=[{"name": TOOL_NAME, "description": "Record the terms.", "input_schema": TOOL_SCHEMA}],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
    block = message.content[0]
    assert block.type == "tool_use" and block.name == TOOL_NAME
    return block.input


def bedrock_tool_use(sim: Simulator, **client_options: Any) -> Any:
    client = bedrock_client(sim, **client_options)
    try:
        response = client.converse(
            modelId=BEDROCK_MODEL,
            system=[{"text": SYSTEM}],
            messages=[{"role": "user", "content": [{"text": CONTRACT}]}],
            toolConfig={
                "tools": [{"toolSpec": {"name": TOOL_NAME, "inputSchema": {"json": TOOL_SCHEMA}}}],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            },
        )
    finally:
        client.close()
    tool_use = response["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == TOOL_NAME
    return tool_use["input"]


CALLS: dict[str, Callable[..., Any]] = {
    "openai": openai_tool_call,
    "anthropic": anthropic_tool_use,
    "bedrock": bedrock_tool_use,
}


def tool_arguments(sdk: str, sim: Simulator, **client_options: Any) -> Any:
    """The tool arguments as an object (OpenAI's JSON string parsed)."""
    raw = CALLS[sdk](sim, **client_options)
    return json.loads(raw) if sdk == "openai" else raw


def fits_schema(arguments: Any) -> bool:
    if not isinstance(arguments, dict) or set(arguments) != set(FIELD_NAMES):
        return False
    return all(
        isinstance(field, dict)
        and (field.get("value") is None or isinstance(field["value"], str))
        and isinstance(field.get("confidence"), int | float)
        and isinstance(field.get("quote"), str)
        for field in arguments.values()
    )


def assert_grounded_answer(arguments: Any, prompt: str) -> None:
    assert fits_schema(arguments), arguments
    assert arguments["gap_insurance_premium"]["value"] == "795.00"
    assert arguments["refund_calculation_method"]["value"] == "rule_of_78"
    assert arguments["cancellation_fee"]["value"] == "50.00"
    for field in arguments.values():
        assert field["quote"] and field["quote"] in prompt


# -- success through each SDK -----------------------------------------------------------------


def test_openai_tool_call(sim: Simulator) -> None:
    with openai_client(sim) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": CONTRACT}],
            tools=[{"type": "function", "function": {"name": TOOL_NAME, "parameters": TOOL_SCHEMA}}],
        )
        again = client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": CONTRACT}],
            tools=[{"type": "function", "function": {"name": TOOL_NAME, "parameters": TOOL_SCHEMA}}],
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert completion.object == "chat.completion" and completion.model == OPENAI_MODEL
    assert completion.id.startswith("chatcmpl-") and completion.created > 0
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens > 0
    assert_grounded_answer(json.loads(choice.message.tool_calls[0].function.arguments), SYSTEM + "\n\n" + CONTRACT)
    assert json.loads(again.choices[0].message.tool_calls[0].function.arguments)["cancellation_fee"]["value"] == "50.00"
    first, second = sim.requests("openai")
    # Keep-alive: the SDK's pool sent the second request down the first one's connection.
    assert first.client_port == second.client_port
    assert sim.stats()["requests"]["openai"] == 2


def test_openai_json_schema(sim: Simulator) -> None:
    with openai_client(sim) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": CONTRACT}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "refund_terms", "schema": TOOL_SCHEMA, "strict": True},
            },
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert_grounded_answer(json.loads(choice.message.content or ""), SYSTEM + "\n\n" + CONTRACT)


def test_anthropic_tool_use_honours_tool_choice(sim: Simulator) -> None:
    with anthropic_client(sim) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=1024,
            system=SYSTEM,
            messages=[{"role": "user", "content": [{"type": "text", "text": CONTRACT}]}],
            tools=[
                {"name": "lookup_contract", "input_schema": {"type": "object"}},
                {"name": TOOL_NAME, "input_schema": TOOL_SCHEMA},
            ],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
    assert message.stop_reason == "tool_use" and message.model == ANTHROPIC_MODEL
    block = message.content[0]
    assert block.type == "tool_use" and block.name == TOOL_NAME and block.id.startswith("toolu_")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert_grounded_answer(block.input, SYSTEM + "\n\n" + CONTRACT)


def test_bedrock_converse_tool_use(sim: Simulator) -> None:
    client = bedrock_client(sim)
    try:
        response = client.converse(
            modelId=BEDROCK_MODEL,
            system=[{"text": SYSTEM}],
            messages=[{"role": "user", "content": [{"text": CONTRACT}]}],
            toolConfig={"tools": [{"toolSpec": {"name": TOOL_NAME, "inputSchema": {"json": TOOL_SCHEMA}}}]},
            inferenceConfig={"maxTokens": 1024, "temperature": 0},
        )
    finally:
        client.close()
    assert response["stopReason"] == "tool_use"
    usage = response["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0
    assert response["metrics"]["latencyMs"] >= 0
    tool_use = response["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == TOOL_NAME and tool_use["toolUseId"]
    assert_grounded_answer(tool_use["input"], SYSTEM + "\n\n" + CONTRACT)
    (record,) = sim.requests("bedrock")
    assert record.model == BEDROCK_MODEL  # decoded from the percent-encoded path


def test_plain_chat_answers_in_text(sim: Simulator) -> None:
    sim.chat_brain = lambda prompt: f"chat:{len(prompt)}"
    question = "What fee applies if I cancel?"
    with openai_client(sim) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": question}]
        )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == f"chat:{len(question)}"
    with anthropic_client(sim) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=256, messages=[{"role": "user", "content": question}]
        )
    assert message.stop_reason == "end_turn" and message.content[0].text == f"chat:{len(question)}"
    bedrock = bedrock_client(sim)
    try:
        response = bedrock.converse(modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": question}]}])
    finally:
        bedrock.close()
    assert response["stopReason"] == "end_turn"
    assert response["output"]["message"]["content"] == [{"text": f"chat:{len(question)}"}]


def test_a_custom_brain_sees_system_and_user_text(sim: Simulator) -> None:
    seen: list[str] = []

    def brain(prompt: str) -> dict[str, Any]:
        seen.append(prompt)
        return {name: {"value": None, "confidence": 0.05, "quote": ""} for name in FIELD_NAMES}

    sim.brain = brain
    arguments = tool_arguments("anthropic", sim)
    assert arguments["gap_insurance_premium"] == {"value": None, "confidence": 0.05, "quote": ""}
    assert seen == [SYSTEM + "\n\n" + CONTRACT]


def test_default_brain_quotes_verbatim_and_leaves_silence_null() -> None:
    text = (
        "Choose one of pro_rata, rule of 78, short rate or actuarial.\n"
        "Debt cancellation fee: the GAP price is $1,095 payable today.\n"
        "Unearned charges are refunded on a pro-rata basis. There is no cancellation fee."
    )
    answer = default_brain(text)
    assert answer["gap_insurance_premium"]["value"] == "1095.00"
    # The instruction line naming every method is skipped for the contract's own choice.
    assert answer["refund_calculation_method"]["value"] == "pro_rata"
    assert answer["refund_calculation_method"]["value"] in REFUND_METHODS
    assert answer["cancellation_fee"]["value"] == "0.00"
    for field in answer.values():
        assert field["quote"] in text
    silent = default_brain("This page intentionally left blank.")
    assert all(field == {"value": None, "confidence": 0.1, "quote": ""} for field in silent.values())


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sdk", SDKS)
def test_429_then_success_through_the_sdks_own_retry(sim: Simulator, sdk: str) -> None:
    sim.retry_after = 2  # longer than each SDK's own first backoff (<= 0.5 s OpenAI/Anthropic, < 1 s boto)
    sim.enqueue_faults(["429"])

    arguments = tool_arguments(sdk, sim, max_retries=1)

    assert fits_schema(arguments)
    stats = sim.stats()
    assert stats["requests"][sdk] == 2 and stats["faults_served"]["429"] == 1
    first, retry = sim.requests(sdk)
    assert (first.status, first.fault, retry.status, retry.fault) == (429, "429", 200, None)
    if sdk == "bedrock":
        assert "attempt=2" in retry.headers["amz-sdk-request"]
    else:
        assert retry.headers["x-stainless-retry-count"] == "1"
    gap = retry.arrived - first.arrived
    assert 1.8 <= gap < 6, f"{sdk} waited {gap:.2f}s after retry-after: 2"


@pytest.mark.parametrize("sdk", SDKS)
def test_500_surfaces_as_the_sdks_error_when_retries_are_off(sim: Simulator, sdk: str) -> None:
    sim.enqueue_faults(["500"], family=sdk)

    with pytest.raises(Exception) as caught:
        CALLS[sdk](sim, max_retries=0)

    error = caught.value
    if sdk == "openai":
        assert isinstance(error, openai.InternalServerError)
        assert error.status_code == 500 and error.type == "server_error"
    elif sdk == "anthropic":
        assert isinstance(error, anthropic.InternalServerError)
        assert error.status_code == 500 and error.type == "api_error" and error.request_id
    else:
        assert isinstance(error, botocore.exceptions.ClientError)
        assert error.response["Error"]["Code"] == "InternalServerException"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert sim.stats()["requests"][sdk] == 1 and sim.stats()["faults_served"]["500"] == 1


def test_overloaded_maps_to_each_sdks_class(sim: Simulator) -> None:
    sim.enqueue_faults(["overloaded", "overloaded", "overloaded"])
    with pytest.raises(openai.InternalServerError) as from_openai:
        openai_tool_call(sim)
    with pytest.raises(anthropic.OverloadedError) as from_anthropic:
        anthropic_tool_use(sim)
    with pytest.raises(botocore.exceptions.ClientError) as from_bedrock:
        bedrock_tool_use(sim)
    assert from_openai.value.status_code == 503
    assert from_anthropic.value.status_code == 529 and from_anthropic.value.type == "overloaded_error"
    assert from_bedrock.value.response["Error"]["Code"] == "ServiceUnavailableException"


@pytest.mark.parametrize("sdk", SDKS)
def test_timeout_surfaces_as_the_sdks_timeout(sim: Simulator, sdk: str) -> None:
    sim.timeout_hold = 5
    sim.enqueue_faults(["timeout"])
    expected: dict[str, type[BaseException]] = {
        "openai": openai.APITimeoutError,
        "anthropic": anthropic.APITimeoutError,
        "bedrock": botocore.exceptions.ReadTimeoutError,
    }

    started = time.monotonic()
    with pytest.raises(expected[sdk]):
        CALLS[sdk](sim, max_retries=0, timeout=0.5)

    assert time.monotonic() - started < 4  # the client gave up; it did not wait out the hold
    assert sim.stats()["faults_served"]["timeout"] == 1
    # The held request blocks nobody else.
    assert fits_schema(tool_arguments(sdk, sim))
    # The held request is still in the simulator; stop() (fixture teardown) releases it at once.
    assert sim.stats()["in_flight"] == 1


@pytest.mark.parametrize("sdk", SDKS)
def test_malformed_output_reaches_the_client(sim: Simulator, sdk: str) -> None:
    sim.enqueue_faults(["malformed"])

    raw = CALLS[sdk](sim)

    if sdk == "openai":
        assert raw == MALFORMED_JSON_TEXT
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw)
    else:
        assert isinstance(raw, dict) and not fits_schema(raw)
    assert sim.stats()["faults_served"]["malformed"] == 1
    # The next request is healthy again.
    assert fits_schema(tool_arguments(sdk, sim))


def test_stop_releases_a_held_request_at_once() -> None:
    sim = Simulator(timeout_hold=30).start()
    sim.enqueue_faults(["timeout"])
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            openai_tool_call(sim, timeout=60)
        except BaseException as exc:  # recorded for the assertion below
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert sim.wait_until(lambda stats: stats["in_flight"] == 1, timeout=5)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2
    caller.join(5)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], openai.APIConnectionError)


def test_requests_the_provider_would_reject_consume_no_fault(sim: Simulator) -> None:
    sim.enqueue_faults(["500"])
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        connection.request("POST", "/v1/messages", body=b"{not json", headers={"content-type": "application/json"})
        response = connection.getresponse()
        body = json.loads(response.read())
        assert response.status == 400 and body["type"] == "error"
        assert body["error"]["type"] == "invalid_request_error"
        connection.request("POST", "/v2/unknown", body=b"{}")
        response = connection.getresponse()
        response.read()
        assert response.status == 404
    finally:
        connection.close()
    assert sim.config()["pending_faults"] == {"*": ["500"]}
    assert sim.stats()["rejected"] == 1 and sim.stats()["unmatched"] == 1


# -- concurrency ------------------------------------------------------------------------------


def test_concurrent_requests_overlap(sim: Simulator) -> None:
    sim.latency = 0.3
    count = 20
    barrier = threading.Barrier(count)
    with openai_client(sim) as client:

        def one(_: int) -> str:
            barrier.wait(timeout=10)
            completion = client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=[{"role": "user", "content": CONTRACT}],
                tools=[{"type": "function", "function": {"name": TOOL_NAME, "parameters": TOOL_SCHEMA}}],
            )
            return completion.choices[0].message.tool_calls[0].function.arguments

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(one, range(count)))
        elapsed = time.monotonic() - started

    assert all(fits_schema(json.loads(result)) for result in results)
    assert 0.3 <= elapsed < 3, f"{count} requests of 0.3 s took {elapsed:.2f}s (serial would be {count * 0.3:.0f}s)"
    stats = sim.stats()
    assert stats["requests"]["openai"] == count and stats["succeeded"] == count
    assert stats["max_in_flight"] >= 10 and stats["in_flight"] == 0


def test_two_hundred_connections_at_once(sim: Simulator) -> None:
    sim.latency = 0.5
    count = 200
    barrier = threading.Barrier(count)
    body = json.dumps({"model": OPENAI_MODEL, "messages": [{"role": "user", "content": CONTRACT}]}).encode()
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=30)
        try:
            barrier.wait(timeout=20)
            connection.request("POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            with lock:
                statuses.append(response.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started

    assert statuses == [200] * count
    assert elapsed < 10, f"{count} requests of 0.5 s took {elapsed:.2f}s"
    assert sim.stats()["max_in_flight"] >= 100


# -- control from other processes -------------------------------------------------------------


def _control(sim: Simulator, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        sim.base_url + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_control_over_http(sim: Simulator) -> None:
    assert _control(sim, "GET", "/_sim/health") == (200, {"status": "ok"})
    status, config = _control(
        sim, "POST", "/_sim/config",
        {"latency": 0.05, "retry_after": 3, "timeout_hold": 7, "faults": ["500", 429], "family": "anthropic"},
    )
    assert status == 200
    assert config == {
        "latency": 0.05, "retry_after": 3.0, "timeout_hold": 7.0, "pending_faults": {"anthropic": ["500", "429"]}
    }
    assert (sim.latency, sim.retry_after, sim.timeout_hold) == (0.05, 3.0, 7.0)

    assert fits_schema(tool_arguments("openai", sim))  # another family's request takes no anthropic fault
    with pytest.raises(anthropic.InternalServerError):
        anthropic_tool_use(sim)
    with pytest.raises(anthropic.RateLimitError) as limited:
        anthropic_tool_use(sim)
    assert limited.value.response.headers["retry-after"] == "3"

    status, stats = _control(sim, "GET", "/_sim/stats")
    assert status == 200
    assert stats["requests"] == {"openai": 1, "anthropic": 2, "bedrock": 0}
    assert stats["faults_served"]["500"] == 1 and stats["faults_served"]["429"] == 1
    assert stats["pending_faults"] == {} and stats["in_flight"] == 0

    assert _control(sim, "POST", "/_sim/config", {"faults": ["418"]})[0] == 400
    assert _control(sim, "POST", "/_sim/config", {"latncy": 1})[0] == 400
    assert _control(sim, "POST", "/_sim/config", {"latency": -1})[0] == 400
    assert _control(sim, "GET", "/_sim/nothing")[0] == 404

    sim.enqueue_faults(["timeout"])
    status, config = _control(sim, "POST", "/_sim/reset")
    assert status == 200
    assert config == {"latency": 0.0, "retry_after": 1.0, "timeout_hold": 30.0, "pending_faults": {}}
    assert sim.stats()["total_requests"] == 0


def test_standalone_process_prints_its_url_and_obeys_control() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.simulator", "--port", "0", "--latency", "0.1"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "the simulator printed no URL within 20 s"
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(base_url + "/_sim/config", timeout=5) as response:
            assert json.loads(response.read())["latency"] == 0.1
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert returncode == 0
