"""A real Celery worker in a subprocess, for tests of a job's whole path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.processes import die_with_parent


class WorkerProcess:
    def __init__(self, *, cwd: Path, env: dict[str, str], queues: str = "interactive,bulk", concurrency: int = 4, name: str = "test") -> None:
        self.cwd = cwd
        self.name = name  # node names must differ between workers running at once
        # INFO, whatever the tests' own level: the tests read the worker's log.
        self.env = {**env, "LOG_LEVEL": "INFO"}
        self.queues = queues
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="cre-worker-", suffix=".log", delete=False)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                # Under coverage (parallel mode, the project's settings), so the code only a
                # worker runs counts in the report; pytest-cov combines the data at the end.
                sys.executable, "-m", "coverage", "run", "--parallel-mode", f"--rcfile={self.cwd / 'setup.cfg'}",
                "-m", "celery", "-A", "workers", "worker",
                "-Q", self.queues, "-c", str(self.concurrency), "--loglevel", "INFO",
                "--without-mingle", "--without-gossip", "-n", f"{self.name}-{os.getpid()}@%h",
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGKILL),
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")
