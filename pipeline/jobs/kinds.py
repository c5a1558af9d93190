"""What a job kind is: its name, its Celery task, its queue, and the two steps a worker runs.

Each kind is declared once, in the package of the domain it belongs to (``EXTRACTION`` in
``pipeline.extraction.job``), and listed in ``pipeline.kinds.KINDS``. Nothing registers itself by
being imported: a task names its kind, and the reconciler looks kinds up in that tuple.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import Job

Write = Callable[[Session], None]


@dataclass
class Completion:
    """A job's result, with the writes to commit in the same transaction as the job's
    ``succeeded``: the outcome and the job's state never disagree."""

    result: dict[str, Any]
    write: Write | None = None


class JobFailed(Exception):
    """A job failing with writes (its audit event) that commit with its ``failed`` state, so a
    worker dying in between cannot leave one without the other."""

    def __init__(self, error: BaseException, write: Write) -> None:
        super().__init__(str(error))
        self.error = error
        self.write = write


def nothing_to_prepare(session: Session, job: Job) -> None:  # the prepare signature
    return None


@dataclass(frozen=True)
class JobKind:
    """One kind of job.

    ``prepare(session, job)`` reads what the run needs in the claim's own transaction (one
    transaction less per job). ``run(job, prepared)`` gets the claimed job (detached) and what
    prepare returned; it opens no transaction while it waits on a provider, and returns a
    :class:`Completion` (or raises; :class:`JobFailed` to commit writes with the failure).
    """

    name: str
    task: str  # the Celery task name: stable, messages in flight carry it
    queue: str
    prepare: Callable[[Session, Job], Any]
    run: Callable[[Job, Any], Completion]
