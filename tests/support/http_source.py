"""A loopback stand-in for the lender's contract system (EXTERNAL_RDB_API_URL)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeContractSystem:
    """Serves GET /contracts/{account_number}; behaviour is set per test."""

    def __init__(self) -> None:
        self.records: dict[str, dict] = {}
        self.fail_next = 0          # answer 503 this many times, then normally
        self.delay = 0.0            # seconds before answering
        self.garbage = False        # answer 200 with a body that is not JSON
        self.requests: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                with owner._lock:
                    owner.requests.append(self.path)
                    failing = owner.fail_next > 0
                    if failing:
                        owner.fail_next -= 1
                if owner.delay:
                    time.sleep(owner.delay)
                if failing:
                    return self._send(503, {"error": "maintenance"})
                if owner.garbage:
                    return self._send(200, None, raw=b"<html>oops</html>")
                number = self.path.rsplit("/", 1)[-1]
                record = owner.records.get(number)
                if record is None:
                    return self._send(404, {"error": "unknown account"})
                return self._send(200, record)

            def _send(self, status: int, body, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/contracts"

    def __enter__(self) -> FakeContractSystem:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
