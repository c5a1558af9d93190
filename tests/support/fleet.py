"""Many contracts at once, and workers of the tests' own (named, started and killed at will).

The session's ``worker`` fixture consumes both queues for the whole run. A test that needs to
know which worker runs a job (kill it mid-job, give it a rate limit, dedicate it to a queue)
pauses that worker with :func:`paused` and starts its own with :class:`NamedWorker`.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import insert

from models import Contract
from pipeline.seed.demo import demo_contracts
from tests.support.waiting import wait_for
from tests.support.worker import WorkerProcess


def insert_contracts(session_factory, count: int, *, with_text: bool = True, prefix: int = 7) -> list[uuid.UUID]:
    """``count`` contracts in one multi-row insert; demo texts, so the local extractor reads them."""
    texts = [d["document_text"] for d in demo_contracts()]
    now = datetime.now(timezone.utc)
    rows = [
        {
            "id": uuid.uuid4(),
            "account_number": f"{prefix}{uuid.uuid4().int % 10**12:012d}",
            "customer_name": f"Customer {i}",
            "document_text": texts[i % len(texts)] if with_text else None,
            "text_status": "available" if with_text else "pending",
            "source": "import",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with session_factory() as session:
        session.execute(insert(Contract), rows)
        session.commit()
    return [row["id"] for row in rows]


class NamedWorker(WorkerProcess):
    """A worker with its own node name (several may run at once) and its own environment."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: " ready." in self.output() or self.proc.poll() is not None, timeout=timeout, what=f"worker {self.name} to be ready")
        assert self.proc.poll() is None, self.output()[-3000:]

    def kill(self) -> None:
        """SIGKILL the whole worker (as the OOM killer or a lost machine would): no clean-up at all."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)


@contextmanager
def paused(worker: WorkerProcess) -> Iterator[None]:
    """Stop the session's shared worker for the duration, so only the test's own workers run jobs."""
    worker.stop()
    try:
        yield
    finally:
        worker.start()


@contextmanager
def workers(*fleet: NamedWorker) -> Iterator[tuple[NamedWorker, ...]]:
    try:
        for member in fleet:
            member.start()
        for member in fleet:
            member.wait_ready()
        yield fleet
    finally:
        for member in fleet:
            member.stop()
