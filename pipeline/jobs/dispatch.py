"""The seam between writing a job and sending it to a worker.

The API and the CLI create jobs through the pipeline; the pipeline asks the configured dispatcher
to send the job's id once the transaction has committed. The Celery dispatcher lives with the
workers; the API installs it at start-up, so the API never imports task bodies.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session

from models import Job
from models.session import after_commit

logger = logging.getLogger(__name__)

class Dispatcher(Protocol):
    def send(self, *, task_name: str, job_id: str, queue: str, request_id: str | None) -> None: ...


class NoDispatcher:
    """Until one is installed, sending is an error rather than a silent drop."""

    def send(self, *, task_name: str, job_id: str, queue: str, request_id: str | None) -> None:
        raise RuntimeError("no job dispatcher installed; call pipeline.jobs.dispatch.install() at start-up")


_dispatcher: Dispatcher = NoDispatcher()


def install(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def current() -> Dispatcher:
    return _dispatcher


def send_after_commit(session: Session, job: Job, *, task: str) -> None:
    """Send the job to its kind's task once the session commits; nothing is sent if it rolls back."""
    task_name = task
    job_id, queue, request_id = str(job.id), job.queue, job.request_id

    def send() -> None:
        _dispatcher.send(task_name=task_name, job_id=job_id, queue=queue, request_id=request_id)
        logger.info("job sent", extra={"job_id": job_id, "task": task_name, "queue": queue})

    after_commit(session, send)
