"""A loopback HTTP server that answers as OpenAI, Anthropic and Bedrock do, with injectable faults.

Why: tests must never reach the internet, yet the provider adapters should be exercised through
the real SDKs (their retries, timeouts, error classes and response parsing), not through mocks of
them. So the simulator speaks the real wire formats (see ``formats.py``) on 127.0.0.1:

- ``POST /v1/chat/completions`` (also ``/chat/completions``): OpenAI, tool calls or json_schema.
- ``POST /v1/messages``: Anthropic, tool use or text.
- ``POST /model/{modelId}/converse``: Bedrock Converse, toolUse or text.

What the model answers comes from a pluggable brain (``brain.py``): ``brain`` for extraction tool
calls, ``answer_brain`` for chat turns (the ``answer_contract_question`` tool: an answer quoting the
contract's passages verbatim), ``chat_brain`` for plain-text requests, and ``tool_brain`` for a
request that lets the model choose among several tools: it may call another tool first (the
refund quote calculator), whose result comes back in the next request. Faults apply to all alike. Behaviour is settable while it
runs, from Python or over HTTP (for benchmarks in other processes):

- ``GET /_sim/health``, ``GET /_sim/stats``, ``GET /_sim/config``
- ``POST /_sim/config`` ``{"latency": 0.5, "retry_after": 1, "timeout_hold": 30,
  "faults": ["429", "500", "overloaded", "timeout", "malformed"], "family": "openai"}``
  (every key optional; ``faults`` are appended to the queue; unknown keys are a 400)
- ``POST /_sim/reset``: back to the values the simulator was started with, no pending faults,
  counters zeroed.

Fault semantics: each fault applies to one provider request, in order, then requests succeed
again. A fault enqueued for a family (``family="openai"``) is taken by that endpoint only and
before any global one; a fault enqueued without a family is taken by the next request to any of
the three endpoints. Requests the provider would reject (bad JSON, missing fields: a 400) and
control calls never consume a fault.

- ``"429"``: the provider's rate-limit error with ``retry-after`` (seconds; Bedrock also
  ``x-amz-retry-after`` in ms), from ``retry_after``; ``None`` sends no delay header.
- ``"500"``: the provider's internal-server error (500 everywhere).
- ``"overloaded"``: 503 (OpenAI), 529 ``overloaded_error`` (Anthropic), 503
  ``ServiceUnavailableException`` (Bedrock).
- ``"timeout"``: the request is held ``timeout_hold`` seconds, then answered normally; a client
  with a shorter timeout gives up first.
- ``"malformed"``: a 200 whose tool arguments do not parse (OpenAI) or do not fit the schema
  (Anthropic, Bedrock); plain text answers are empty.

Stats (``sim.stats()``, ``GET /_sim/stats``): requests per endpoint family, current and maximum
requests in flight, faults served per kind, faults still pending.

Latency applies to successful (and malformed) answers only, and is slept without any lock held,
so N concurrent requests with latency L all finish in about L. Holding and sleeping requests wake
at once on ``stop()``, which drops their connections unanswered.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline.providers.prompts.chat import ANSWER_TOOL_NAME
from tests.simulator.brain import (AnswerBrain, Brain, ChatBrain, ToolBrain, default_answer_brain, default_brain, default_chat_brain, default_tool_brain,)
from tests.simulator.formats import FAMILIES, FORMATS, Answer, BadRequest, ParsedRequest, Reply, WireFormat

logger = logging.getLogger(__name__)

FAULT_KINDS = ("429", "500", "overloaded", "timeout", "malformed")
ANY_FAMILY = "*"
"""Key of the global fault queue in ``pending_faults``."""

# Benchmarks open hundreds of connections at once; the kernel caps this at somaxconn anyway.
LISTEN_BACKLOG = 1024
# An idle keep-alive connection costs a thread; close it after this long without a request.
IDLE_TIMEOUT = 120.0
MAX_BODY_BYTES = 32 * 1024 * 1024
_CONVERSE_PATH = re.compile(r"/model/([^/]+)/converse")
_UNSET: Any = object()


@dataclass
class RequestRecord:
    """One provider request as the simulator saw it (kept for the most recent ``record_limit``)."""

    family: str
    path: str
    arrived: float
    """``time.monotonic()`` when the request line arrived; compare records to measure retry gaps."""
    client_port: int
    """The client's source port: two requests from the same port came over one keep-alive connection."""
    headers: dict[str, str]
    body: Any = None
    model: str | None = None
    fault: str | None = None
    status: int | None = None
    """The status answered; None while in flight or when the connection was dropped."""


def _check_seconds(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _check_faults(faults: Iterable[Any]) -> list[str]:
    if isinstance(faults, str | bytes):
        raise ValueError("faults must be a list, e.g. ['429', 'timeout']")
    kinds = [str(fault) for fault in faults]  # 429 or "429": both mean the same fault
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown faults {unknown}; known: {list(FAULT_KINDS)}")
    return kinds


def _check_family(family: str | None) -> str:
    if family is None or family == ANY_FAMILY:
        return ANY_FAMILY
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {list(FAMILIES)}")
    return family


class Simulator:
    """The provider simulator: ``with Simulator() as sim: OpenAI(base_url=sim.base_url + "/v1")``.

    Thread-safe: settings, faults and counters sit behind one lock that is never held while a
    request sleeps or writes.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        brain: Brain | None = None,
        chat_brain: ChatBrain | None = None,
        answer_brain: AnswerBrain | None = None,
        tool_brain: ToolBrain | None = None,
        latency: float = 0.0,
        retry_after: float | None = 1.0,
        timeout_hold: float = 30.0,
        record_limit: int = 256,
    ) -> None:
        self.brain: Brain = brain or default_brain
        self.chat_brain: ChatBrain = chat_brain or default_chat_brain
        self.answer_brain: AnswerBrain = answer_brain or default_answer_brain
        self.tool_brain: ToolBrain = tool_brain or default_tool_brain
        self._host = host
        self._requested_port = port
        self._initial = {
            "latency": _check_seconds("latency", latency),
            "retry_after": _check_seconds("retry_after", retry_after, allow_none=True),
            "timeout_hold": _check_seconds("timeout_hold", timeout_hold),
        }
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._settings: dict[str, float | None] = dict(self._initial)
        self._faults: dict[str, deque[str]] = {}
        self._records: deque[RequestRecord] = deque(maxlen=record_limit)
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._zero_counters()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        self._stopping.clear()
        self._server = _Server((self._host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how quickly stop() is noticed
            name=f"provider-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("provider simulator listening on %s", self.base_url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, drop open connections (held requests included) and wait for handlers to end."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                # Wakes handler threads blocked reading an idle keep-alive connection.
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout)
        with self._changed:
            if not self._changed.wait_for(lambda: self._in_flight == 0, timeout):
                logger.warning("provider simulator stopped with %d requests still in flight", self._in_flight)
        self._server = self._thread = None
        logger.info("provider simulator stopped")

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: OpenAI clients append ``/v1``; Anthropic and boto3 take it as is."""
        return f"http://{self._host}:{self.port}"

    # -- behaviour -------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return float(self._settings["latency"] or 0.0)

    @latency.setter
    def latency(self, value: float) -> None:
        self.configure(latency=value)

    @property
    def retry_after(self) -> float | None:
        with self._lock:
            return self._settings["retry_after"]

    @retry_after.setter
    def retry_after(self, value: float | None) -> None:
        self.configure(retry_after=value)

    @property
    def timeout_hold(self) -> float:
        with self._lock:
            return float(self._settings["timeout_hold"] or 0.0)

    @timeout_hold.setter
    def timeout_hold(self, value: float) -> None:
        self.configure(timeout_hold=value)

    def enqueue_faults(self, faults: Iterable[str | int], *, family: str | None = None) -> None:
        """Fail the next requests, one fault each, in order (``family`` None: any endpoint)."""
        self.configure(faults=faults, family=family)

    def configure(
        self,
        *,
        latency: float = _UNSET,
        retry_after: float | None = _UNSET,
        timeout_hold: float = _UNSET,
        faults: Iterable[str | int] | None = None,
        family: str | None = None,
    ) -> dict[str, Any]:
        """Change any of the settings at once (all validated before any applies); returns ``config()``."""
        updates: dict[str, float | None] = {}
        if latency is not _UNSET:
            updates["latency"] = _check_seconds("latency", latency)
        if retry_after is not _UNSET:
            updates["retry_after"] = _check_seconds("retry_after", retry_after, allow_none=True)
        if timeout_hold is not _UNSET:
            updates["timeout_hold"] = _check_seconds("timeout_hold", timeout_hold)
        kinds = _check_faults(faults) if faults is not None else []
        queue_key = _check_family(family)
        with self._changed:
            self._settings.update(updates)
            if kinds:
                self._faults.setdefault(queue_key, deque()).extend(kinds)
            self._changed.notify_all()
            return self._config_locked()

    def reset(self) -> None:
        """Back to the settings given at construction; no pending faults; counters zeroed."""
        with self._changed:
            self._settings = dict(self._initial)
            self._faults.clear()
            self._records.clear()
            self._zero_counters()
            self._changed.notify_all()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return self._config_locked()

    # -- observation -----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters since start or the last reset.

        ``requests`` per endpoint family and ``total_requests``; ``succeeded`` (200s, malformed ones
        included), ``rejected`` (400/404 a provider would give), ``unmatched`` (no such endpoint),
        ``brain_errors``; ``in_flight`` (received, not yet answered: always the live number) and
        its ``max_in_flight``; ``faults_served`` per kind; ``pending_faults`` per queue.
        """
        with self._lock:
            return self._stats_locked()

    def requests(self, family: str | None = None) -> list[RequestRecord]:
        """The most recent provider requests, oldest first (records are live until answered)."""
        with self._lock:
            return [record for record in self._records if family is None or record.family == family]

    def wait_until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(stats)`` holds (checked on every change) or ``timeout``; return whether it held."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self._stats_locked()), timeout)

    # -- internals (callers hold self._lock where named *_locked) -------------------------------

    def _zero_counters(self) -> None:
        self._requests = {family: 0 for family in FAMILIES}
        self._faults_served = {kind: 0 for kind in FAULT_KINDS}
        self._succeeded = 0
        self._rejected = 0
        self._brain_errors = 0
        self._unmatched = 0
        self._max_in_flight = self._in_flight

    def _pending_locked(self) -> dict[str, list[str]]:
        return {key: list(queue) for key, queue in self._faults.items() if queue}

    def _config_locked(self) -> dict[str, Any]:
        return {**self._settings, "pending_faults": self._pending_locked()}

    def _stats_locked(self) -> dict[str, Any]:
        return {
            "requests": dict(self._requests),
            "total_requests": sum(self._requests.values()),
            "succeeded": self._succeeded,
            "rejected": self._rejected,
            "brain_errors": self._brain_errors,
            "unmatched": self._unmatched,
            "in_flight": self._in_flight,
            "max_in_flight": self._max_in_flight,
            "faults_served": dict(self._faults_served),
            "pending_faults": self._pending_locked(),
        }

    def _take_fault_locked(self, family: str) -> str | None:
        for key in (family, ANY_FAMILY):
            queue = self._faults.get(key)
            if queue:
                fault = queue.popleft()
                self._faults_served[fault] += 1
                return fault
        return None

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # -- request handling (runs on the connection's thread) ------------------------------------

    def _handle(self, handler: _Handler, method: str) -> None:
        path = urlsplit(handler.path).path
        if path.startswith("/_sim/"):
            self._send(handler, self._control(handler, method, path))
            return
        route = self._route(method, path)
        if route is None:
            _read_body(handler)  # keep the keep-alive stream in step
            with self._lock:
                self._unmatched += 1
            logger.debug("simulator: no endpoint for %s %s", method, path)
            self._send(handler, FORMATS["openai"].error("not_found", message=f"Unknown request URL: {method} {path}"))
            return
        family, model_id = route
        self._serve_provider(handler, FORMATS[family], path, model_id)

    @staticmethod
    def _route(method: str, path: str) -> tuple[str, str | None] | None:
        if method != "POST":
            return None
        if path in ("/v1/chat/completions", "/chat/completions"):
            return "openai", None
        if path == "/v1/messages":
            return "anthropic", None
        match = _CONVERSE_PATH.fullmatch(path)
        if match:
            # boto3 percent-encodes the model id ("...-v1:0" arrives as "...-v1%3A0").
            return "bedrock", unquote(match.group(1))
        return None

    def _serve_provider(self, handler: _Handler, fmt: WireFormat, path: str, model_id: str | None) -> None:
        started = time.monotonic()
        record = RequestRecord(
            family=fmt.family,
            path=path,
            arrived=started,
            client_port=int(handler.client_address[1]),
            headers={name.lower(): value for name, value in handler.headers.items()},
        )
        with self._changed:
            self._requests[fmt.family] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._records.append(record)
            self._changed.notify_all()
        finished = False
        try:
            reply = self._answer(handler, fmt, record, model_id)
            # Counted before the answer is written, so a client holding its answer already sees
            # it in stats() (no race between a test's assertion and this thread).
            self._finish(record, reply)
            finished = True
            if reply is None:
                handler.close_connection = True  # stopping: drop the connection unanswered
            else:
                self._send(handler, reply)
        finally:
            if not finished:
                self._finish(record, None)

    def _finish(self, record: RequestRecord, reply: Reply | None) -> None:
        with self._changed:
            self._in_flight -= 1
            if reply is not None:
                record.status = reply.status
                if reply.status == 200:
                    self._succeeded += 1
                elif reply.status in (400, 404):
                    self._rejected += 1
            self._changed.notify_all()

    def _answer(self, handler: _Handler, fmt: WireFormat, record: RequestRecord, model_id: str | None) -> Reply | None:
        try:
            raw = _read_body(handler)
            record.body = json.loads(raw) if raw else None
            request: ParsedRequest = fmt.parse(record.body, model_id)
        except (ValueError, BadRequest) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return fmt.error("bad_request", message=str(exc))
        except (TypeError, AttributeError, KeyError) as exc:  # a field of the wrong shape, e.g. tools: "x"
            return fmt.error("bad_request", message=f"unexpected request shape: {exc!r}")
        record.model = request.model

        with self._lock:
            fault = self._take_fault_locked(fmt.family)
            record.fault = fault
            latency = float(self._settings["latency"] or 0.0)
            retry_after = self._settings["retry_after"]
            hold = float(self._settings["timeout_hold"] or 0.0)
        if fault is not None:
            logger.info("simulator: serving fault %r to %s %s", fault, fmt.family, request.model)
        if fault in ("429", "500", "overloaded"):
            return fmt.error(fault, retry_after=retry_after)

        delay = hold if fault == "timeout" else latency
        # Waiting on the stop event rather than sleeping lets stop() end held requests at once.
        if delay > 0 and self._stopping.wait(delay):
            return None

        malformed = fault == "malformed"
        try:
            chosen = None
            if not malformed and request.tool_name and not request.forced and len(request.tools) > 1:
                # A free choice among tools: the model may call another one before it answers.
                chosen = self.tool_brain(request.prompt, request.tools)
            if malformed:
                answer = Answer(malformed=True)
            elif chosen is not None:
                name, arguments = chosen
                if name not in request.tools or not isinstance(arguments, dict):
                    raise TypeError(f"the tool brain chose {name!r} with {type(arguments).__name__} arguments")
                request = replace(request, tool_name=name)
                answer = Answer(arguments=arguments)
            elif request.structured:
                # A chat turn (the answer tool) is answered by the answer brain, an extraction by the brain.
                think = self.answer_brain if request.tool_name == ANSWER_TOOL_NAME else self.brain
                arguments = think(request.prompt)
                if not isinstance(arguments, dict):
                    raise TypeError(f"the brain must return a dict, not {type(arguments).__name__}")
                answer = Answer(arguments=arguments)
            else:
                answer = Answer(text=str(self.chat_brain(request.prompt)))
        except Exception as exc:  # a broken test brain must show up as an error, not a hang
            logger.exception("simulator: the brain failed")
            with self._lock:
                self._brain_errors += 1
            return fmt.error("500", message=f"simulator brain failed: {exc}")
        return fmt.success(request, answer, latency_ms=int((time.monotonic() - record.arrived) * 1000))

    def _control(self, handler: _Handler, method: str, path: str) -> Reply:
        try:
            raw = _read_body(handler)
            if method == "GET" and path == "/_sim/health":
                return _control_reply(200, {"status": "ok"})
            if method == "GET" and path == "/_sim/stats":
                return _control_reply(200, self.stats())
            if method == "GET" and path == "/_sim/config":
                return _control_reply(200, self.config())
            if method == "POST" and path == "/_sim/reset":
                self.reset()
                return _control_reply(200, self.config())
            if method == "POST" and path == "/_sim/config":
                payload = json.loads(raw) if raw else {}
                if not isinstance(payload, dict):
                    raise ValueError("the body must be a JSON object")
                allowed = {"latency", "retry_after", "timeout_hold", "faults", "family"}
                unknown = sorted(set(payload) - allowed)
                if unknown:
                    raise ValueError(f"unknown keys {unknown}; allowed: {sorted(allowed)}")
                return _control_reply(200, self.configure(**payload))
        except ValueError as exc:
            return _control_reply(400, {"error": str(exc)})
        return _control_reply(404, {"error": f"no control endpoint {method} {path}"})

    @staticmethod
    def _send(handler: _Handler, reply: Reply) -> None:
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("content-length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
        except OSError as exc:  # the client gave up (its timeout) before the answer
            handler.close_connection = True
            logger.debug("simulator: client went away before the answer: %s", exc)


def _control_reply(status: int, payload: Any) -> Reply:
    return Reply(status, {"content-type": "application/json"}, json.dumps(payload).encode())


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body (Content-Length or chunked), read in full so the keep-alive stream stays in step."""
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(handler.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            if total > MAX_BODY_BYTES:
                handler.close_connection = True
                raise ValueError("request body too large")
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
        return b"".join(chunks)
    length = int(handler.headers.get("content-length") or 0)
    if length > MAX_BODY_BYTES:
        handler.close_connection = True
        raise ValueError("request body too large")
    return handler.rfile.read(length) if length else b""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 with a content-length on every answer: keep-alive works with the SDKs' pools.
    protocol_version = "HTTP/1.1"
    server_version = "provider-simulator/1.0"
    # Headers and body go out in two writes; without this Nagle plus delayed ACK adds ~40 ms.
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.simulator._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.simulator._untrack(self.connection)

    def do_GET(self) -> None:  # the stdlib's naming
        self.server.simulator._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.simulator._handle(self, "POST")

    def version_string(self) -> str:
        return self.server_version  # not the stdlib's "BaseHTTP/0.6 Python/3.x"

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
        logger.debug("simulator %s: " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Held requests must not make stop() wait for their threads.
    block_on_close = False
    request_queue_size = LISTEN_BACKLOG
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN (DNS); a loopback server needs none.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.simulator._stopping.is_set():
            logger.debug("simulator: connection from %s ended: %r", client_address, exc)
        else:
            logger.exception("simulator: unexpected error serving %s", client_address)
