"""Jobs and batches: PostgreSQL remembers what must be done; the broker only carries job ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonType, Timestamps, check_in, new_id
from pipeline.vocabulary import JOB_KINDS, QUEUES

JOB_STATUSES = ("queued", "running", "succeeded", "failed")
ACTIVE_JOB_STATUSES = ("queued", "running")
BATCH_STATUSES = ("queued", "running", "completed", "cancelled")
# What a batch's jobs do: extract contracts, or quote refunds for a list of cancellations.
BATCH_KINDS = ("extraction", "refund_quote")
# The partial unique index's predicate: at most one such job per contract.
LIVE_EXTRACTION = "kind = 'extraction' AND status IN ('queued', 'running')"


class Job(Timestamps, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(check_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(check_in("status", JOB_STATUSES), name="status"),
        CheckConstraint(check_in("queue", QUEUES), name="queue"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The reconciler's query: jobs in a state for too long.
        Index("ix_jobs_status_updated_at", "status", "updated_at"),
        Index("ix_jobs_batch_id_status", "batch_id", "status"),
        # At most one live extraction job per contract: a second request joins the first.
        Index(
            "uq_jobs_active_extraction_contract",
            "contract_id",
            unique=True,
            postgresql_where=text(LIVE_EXTRACTION),
            sqlite_where=text(LIVE_EXTRACTION),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    queue: Mapped[str] = mapped_column(String(16), default="interactive", server_default="interactive")
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("batches.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    request_id: Mapped[str | None] = mapped_column(String(64))
    # Who asked for it: the worker acts (logs, audit events, jobs it creates) in their name.
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Batch(Timestamps, Base):
    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint(check_in("status", BATCH_STATUSES), name="status"),
        CheckConstraint(check_in("kind", BATCH_KINDS), name="kind"),
        CheckConstraint("total >= 0 AND skipped >= 0", name="counts"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32), default="extraction", server_default="extraction")
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    provider: Mapped[str | None] = mapped_column(String(50))
    total: Mapped[int] = mapped_column(default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
