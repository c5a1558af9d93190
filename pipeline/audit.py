"""Audit service: append-only. There is no update and no delete here, and the database refuses
both on audit_events.

Events are written with :func:`record` inside the unit of work whose change they describe, so an
event exists exactly when its change was committed. Trails are read newest first with
:func:`trail`, filtered by event type and time range, one page at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Contract, Extraction
from models.audit import AUDIT_EVENT_TYPES
from pipeline.core.errors import NotFound, ValidationFailed
from pipeline.core.formatting import iso_utc
from pipeline.core.logs import get_request_id, get_user_id

# The contract and extraction a unit of work's events are about: a request's own api_request
# event names the same subject.
SUBJECT_KEY = "audit_subject"


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
    """Add one audit event to the current unit of work; its user is the acting user unless given."""
    event = AuditEvent(
        event_type=event_type,
        contract_id=contract_id,
        extraction_id=extraction_id,
        user_id=user_id or get_user_id(),
        event_data=data or {},
        request_id=request_id or get_request_id(),
    )
    session.add(event)
    name_subject(session=session, contract_id=contract_id, extraction_id=extraction_id)
    return event


def name_subject(*, session: Session, contract_id: uuid.UUID | None = None, extraction_id: uuid.UUID | None = None) -> None:
    """Say which (existing) contract or extraction this unit of work is about, without an event.

    The request's api_request event then names it without looking it up again.
    """
    if contract_id is not None or extraction_id is not None:
        known = session.info.get(SUBJECT_KEY, (None, None))
        session.info[SUBJECT_KEY] = (known[0] or contract_id, known[1] or extraction_id)


def subject(session: Session) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(contract id, extraction id) of the events this session has recorded, where any named one."""
    return session.info.get(SUBJECT_KEY, (None, None))


def existing_subject(
    *, session: Session, contract_id: uuid.UUID | None, extraction_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The given ids, keeping only those that exist; an extraction brings its contract."""
    if extraction_id is not None:
        owner = session.scalar(select(Extraction.contract_id).where(Extraction.id == extraction_id))
        if owner is not None:
            return owner, extraction_id
    if contract_id is not None and session.scalar(select(Contract.id).where(Contract.id == contract_id)) is None:
        contract_id = None
    return contract_id, None


# --- reading trails ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailFilter:
    """Which events of a trail to show; every part optional."""

    event_types: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def checked(self) -> TrailFilter:
        """This filter with UTC times; ValidationFailed naming the bad part otherwise."""
        unknown = sorted(set(self.event_types) - set(AUDIT_EVENT_TYPES))
        if unknown:
            raise ValidationFailed(
                f"event_type {', '.join(unknown)} is unknown; types are {', '.join(AUDIT_EVENT_TYPES)}",
                details={"query": {"event_type": [f"unknown event type {t!r}" for t in unknown]}},
            )
        since, until = _utc(self.since), _utc(self.until)
        if since is not None and until is not None and since >= until:
            raise ValidationFailed("since must be before until", details={"query": {"since": ["must be before until"]}})
        return TrailFilter(tuple(dict.fromkeys(self.event_types)), since, until)


def _utc(moment: datetime | None) -> datetime | None:
    """Times without a zone are taken as UTC, as the service writes them."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _filtered(query: Select, where: Any, filters: TrailFilter) -> Select:
    query = query.where(where)
    if filters.event_types:
        query = query.where(AuditEvent.event_type.in_(filters.event_types))
    if filters.since is not None:
        query = query.where(AuditEvent.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.created_at < filters.until)
    return query


def _page(session: Session, where: Any, filters: TrailFilter, page: int, page_size: int) -> tuple[list[AuditEvent], int]:
    filters = filters.checked()
    total = session.scalar(_filtered(select(func.count()).select_from(AuditEvent), where, filters))
    events = session.scalars(
        _filtered(select(AuditEvent), where, filters)
        # Newest first; the id breaks ties between events written in the same instant.
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(events), int(total or 0)


def contract_trail(
    *, session: Session, contract_id: uuid.UUID, filters: TrailFilter = TrailFilter(), page: int = 1, page_size: int = 50
) -> tuple[list[AuditEvent], int]:
    """One page of a contract's events, newest first, and how many match in all."""
    if session.get(Contract, contract_id) is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return _page(session, AuditEvent.contract_id == contract_id, filters, page, page_size)


def extraction_trail(
    *, session: Session, extraction_id: uuid.UUID, filters: TrailFilter = TrailFilter(), page: int = 1, page_size: int = 50
) -> tuple[list[AuditEvent], int]:
    """One page of an extraction's events, newest first, and how many match in all."""
    if session.get(Extraction, extraction_id) is None:
        raise NotFound(f"extraction {extraction_id} does not exist")
    return _page(session, AuditEvent.extraction_id == extraction_id, filters, page, page_size)


def as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "event_type": event.event_type,
        "created_at": iso_utc(event.created_at),
        "user_id": str(event.user_id) if event.user_id else None,
        "contract_id": str(event.contract_id) if event.contract_id else None,
        "extraction_id": str(event.extraction_id) if event.extraction_id else None,
        "request_id": event.request_id,
        "event_data": event.event_data,
    }
