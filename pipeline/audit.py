"""Audit service: append-only. There is no update and no delete here, and the database refuses
both on audit_events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent
from pipeline.logs import get_request_id


def record(
    *,
    session: Session,
    event_type: str,
    contract_id: uuid.UUID | None = None,
    extraction_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Add one audit event to the current unit of work."""
    event = AuditEvent(
        event_type=event_type,
        contract_id=contract_id,
        extraction_id=extraction_id,
        user_id=user_id,
        event_data=data or {},
        request_id=request_id or get_request_id(),
    )
    session.add(event)
    return event
