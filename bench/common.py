"""Shared pieces of the benchmarks: a fresh PostgreSQL database, a web server, timing helpers.

Benchmarks print their figures; they assert nothing about speed. The machine is shared and noisy:
quote medians and ratios, and run them more than once.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cre_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def bench_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(
        {
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": BENCH_DATABASE_URL,
            # One role for migrations and service: a MIGRATION_DATABASE_URL from the shell
            # would migrate another database than the one measured.
            "MIGRATION_DATABASE_URL": "",
            "REDIS_URL": BENCH_REDIS_URL,
            "CELERY_BROKER_URL": BENCH_REDIS_URL,
            "DATA_DIR": str(ROOT / "var" / "bench"),
        }
    )
    env.update(extra)
    return env


def fresh_database() -> None:
    """Recreate the benchmark database and migrate it."""
    from tests.support.database import recreate_database  # same helper the tests use

    recreate_database(BENCH_DATABASE_URL)
    subprocess.run([sys.executable, "-m", "flask", "--app", "api", "db", "upgrade"], cwd=ROOT, env=bench_env(), check=True, capture_output=True)


class WebServer:
    """gunicorn serving the real app, as in production."""

    def __init__(self, *, workers: int = 2, threads: int = 4, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads", str(threads), "api:create_app()"],
            cwd=ROOT, env=env or bench_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _ = self.request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def request(self, method: str, path: str, body: dict | None = None, conn: http.client.HTTPConnection | None = None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "median_ms": statistics.median(samples_ms),
        "p95_ms": percentile(samples_ms, 95),
        "mean_ms": statistics.fmean(samples_ms),
    }


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def print_table(title: str, rows: list[tuple[str, dict[str, float]]]) -> None:
    print(f"\n{title}  ({machine()})")
    print(f"{'case':<28}{'n':>6}{'median ms':>12}{'p95 ms':>10}{'mean ms':>10}")
    for name, s in rows:
        print(f"{name:<28}{s['n']:>6}{s['median_ms']:>12.2f}{s['p95_ms']:>10.2f}{s['mean_ms']:>10.2f}")
