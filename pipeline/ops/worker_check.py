"""The ``maintenance`` job: a no-op that proves a worker consumes a queue end to end
(``flask worker-check``)."""

from __future__ import annotations

import socket

from models import Job
from pipeline.jobs.kinds import Completion, JobKind, nothing_to_prepare


def ping(job: Job, prepared: None) -> Completion:
    return Completion(result={"pong": True, "worker": socket.gethostname(), "queue": job.queue})


MAINTENANCE = JobKind(name="maintenance", task="maintenance.run", queue="interactive", prepare=nothing_to_prepare, run=ping)
