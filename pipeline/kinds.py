"""Every job kind, in one tuple: what the reconciler resends and the worker's tasks run.

A kind is declared once, beside the domain it belongs to; adding one is a line here, a task in
``workers/tasks`` naming it, and its name in ``vocabulary.JOB_KINDS`` (the database's CHECK).
"""

from __future__ import annotations

from pipeline.batches.quotes import REFUND_QUOTE
from pipeline.batches.service import BATCH
from pipeline.chat.job import CHAT
from pipeline.extraction.job import EXTRACTION
from pipeline.jobs.kinds import JobKind
from pipeline.ops.worker_check import MAINTENANCE

KINDS: tuple[JobKind, ...] = (EXTRACTION, CHAT, BATCH, REFUND_QUOTE, MAINTENANCE)
_BY_NAME = {kind.name: kind for kind in KINDS}


def by_name(name: str) -> JobKind:
    """The kind of a job row (``jobs.kind``)."""
    return _BY_NAME[name]
