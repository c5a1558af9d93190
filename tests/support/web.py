"""The real app under gunicorn in a subprocess, for tests that need truly concurrent requests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.net import free_port
from tests.support.processes import die_with_parent
from tests.support.waiting import wait_for


class WebServer:
    def __init__(self, *, cwd: Path, env: dict[str, str], workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="cre-web-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--threads", str(threads), "api:create_app()"],
            cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGKILL),
        )
        try:
            wait_for(self._up, timeout=60, what="gunicorn to serve /health")
        except AssertionError:
            self.stop()
            raise AssertionError(self.output()[-4000:]) from None

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {self.output()[-4000:]}")
        try:
            return self.request("GET", "/health")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict | None]:
        """(status, JSON body) of one request on a fresh connection, signed in with ``token``
        (default: the tests' admin; /health needs none)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data else {}
            if path != "/health":
                from tests.support.auth import default_token

                headers["Authorization"] = f"Bearer {token or default_token()}"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")
