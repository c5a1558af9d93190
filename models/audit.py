"""Audit events: append-only; PostgreSQL (and SQLite) reject UPDATE and DELETE by trigger."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntId, JsonType, check_in, utcnow

AUDIT_EVENT_TYPES = (
    "search",
    "view",
    "extract",
    "approve",
    "chat",
    "api_request",
    "admin",
    "import",
    "job",
    "refund_quote",
)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(check_in("event_type", AUDIT_EVENT_TYPES), name="event_type"),
        Index("ix_audit_events_contract_id_created_at", "contract_id", "created_at"),
        Index("ix_audit_events_extraction_id_created_at", "extraction_id", "created_at"),
        Index("ix_audit_events_event_type_created_at", "event_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"))
    extraction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("extractions.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))
    event_data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
