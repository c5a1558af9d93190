"""Extraction: ask for it (a job) and read it back; ``pipeline.extraction.job`` runs it.

One extraction per contract, enforced by the database. Asking again while one exists returns
it; asking while a job is queued or running returns that job.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Contract, Extraction, Job
from pipeline import audit
from pipeline.core.errors import NotFound
from pipeline.core.formatting import iso_utc, money
from pipeline.core.settings import Settings
from pipeline.extraction.grounding import badge
from pipeline.extraction.job import EXTRACTION
from pipeline.jobs import lifecycle as jobs
from pipeline.vocabulary import FIELD_NAMES

logger = logging.getLogger(__name__)


@dataclass
class Requested:
    extraction: Extraction | None = None
    job: Job | None = None
    created: bool = False


def request(
    *,
    session: Session,
    contract_id: uuid.UUID,
    queue: str = "interactive",
    provider: str | None = None,
    batch_id: uuid.UUID | None = None,
    request_id: str | None = None,
) -> Requested:
    """The existing extraction, the live job, or a new queued job (sent after commit)."""
    found = session.execute(
        select(Contract.id, Extraction).outerjoin(Extraction, Extraction.contract_id == Contract.id).where(Contract.id == contract_id)
    ).first()
    if found is None:
        raise NotFound(f"contract {contract_id} does not exist")
    audit.name_subject(session=session, contract_id=contract_id, extraction_id=found.Extraction.id if found.Extraction else None)
    if found.Extraction is not None:
        return Requested(extraction=found.Extraction)
    job, created = jobs.create_unless_active(
        session=session,
        kind=EXTRACTION,
        contract_id=contract_id,
        queue=queue,
        batch_id=batch_id,
        payload={"provider": provider} if provider else {},
        request_id=request_id,
    )
    return Requested(job=job, created=created)


def get_or_raise(*, session: Session, extraction_id: uuid.UUID) -> Extraction:
    extraction = session.get(Extraction, extraction_id)
    if extraction is None:
        raise NotFound(f"extraction {extraction_id} does not exist")
    return extraction


# --- reading it back ---------------------------------------------------------------------------


def field_view(extraction: Extraction, name: str, settings: Settings) -> dict[str, Any]:
    value = getattr(extraction, name)
    confidence = getattr(extraction, f"{name}_confidence")
    quote = getattr(extraction, f"{name}_source")
    start, end = getattr(extraction, f"{name}_start"), getattr(extraction, f"{name}_end")
    return {
        "value": money(value),
        "confidence": confidence,
        "badge": badge(confidence, high=settings.confidence_high, medium=settings.confidence_medium),
        "source": {"quote": quote, "start": start, "end": end} if quote else None,
        "flags": (extraction.flags or {}).get(name, []),
    }


def detail(*, session: Session, extraction: Extraction, settings: Settings) -> dict[str, Any]:
    """Everything a reviewer sees: values, confidences, badges, sources, cost, audit trail."""
    trail = session.scalars(
        select(AuditEvent).where(AuditEvent.extraction_id == extraction.id).order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    return {
        "extraction_id": str(extraction.id),
        "contract_id": str(extraction.contract_id),
        "status": extraction.status,
        "fields": {name: field_view(extraction, name, settings) for name in FIELD_NAMES},
        "provider": extraction.provider,
        "model": extraction.model,
        "prompt_tokens": extraction.prompt_tokens,
        "completion_tokens": extraction.completion_tokens,
        "cost_usd": None if extraction.cost_usd is None else f"{extraction.cost_usd:.6f}",
        "latency_ms": extraction.latency_ms,
        "approved_at": iso_utc(extraction.approved_at),
        "approved_by": str(extraction.approved_by) if extraction.approved_by else None,
        "notes": extraction.notes,
        "created_at": iso_utc(extraction.created_at),
        "updated_at": iso_utc(extraction.updated_at),
        "audit_trail": [
            {
                "event_type": e.event_type,
                "created_at": iso_utc(e.created_at),
                "user_id": str(e.user_id) if e.user_id else None,
                "request_id": e.request_id,
                "event_data": e.event_data,
            }
            for e in trail
        ],
    }
