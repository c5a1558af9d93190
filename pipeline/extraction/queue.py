"""The review queue: extractions listed for reviewers, least confident first, filtered.

An extraction's confidence, for sorting and filtering, is its least confident field's (a
reviewer's eye is needed where the weakest value is), or one field's when the caller names it.
Its badge is that confidence's badge. The pending queue's order is served by a partial
expression index on PostgreSQL (migration 0006), so the first page of a long queue stays cheap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from models import Contract, Extraction, Job
from models.extraction import field_confidence, lowest_confidence
from pipeline.core.formatting import iso_utc, money
from pipeline.core.settings import Settings
from pipeline.extraction.grounding import badge
from pipeline.vocabulary import FIELD_NAMES

SORTS = ("confidence", "-confidence", "created_at", "-created_at")
BADGES = ("high", "medium", "low")


def confidence_of(field: str | None) -> ColumnElement:
    """The confidence the queue sorts by: one field's, or the least of the three."""
    return field_confidence(Extraction, field) if field is not None else lowest_confidence(Extraction)


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    badge: str | None = None
    field: str | None = None
    max_confidence: float | None = None
    batch_id: uuid.UUID | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    sort: str = "confidence"


@dataclass
class QueuePage:
    items: list[dict[str, Any]]
    total: int


def _conditions(filters: QueueFilter, settings: Settings) -> list[ColumnElement]:
    confidence = confidence_of(filters.field)
    conditions: list[ColumnElement] = []
    if filters.status:
        conditions.append(Extraction.status == filters.status)
    if filters.badge == "high":
        conditions.append(confidence >= settings.confidence_high)
    elif filters.badge == "medium":
        conditions.append(and_(confidence >= settings.confidence_medium, confidence < settings.confidence_high))
    elif filters.badge == "low":
        conditions.append(confidence < settings.confidence_medium)
    if filters.max_confidence is not None:
        conditions.append(confidence <= filters.max_confidence)
    if filters.batch_id is not None:
        # Through the batch's jobs (index ix_jobs_batch_id_status), not a join: one row per extraction.
        conditions.append(
            Extraction.contract_id.in_(select(Job.contract_id).where(Job.batch_id == filters.batch_id, Job.kind == "extraction"))
        )
    if filters.created_before is not None:
        conditions.append(Extraction.created_at < filters.created_before)
    if filters.created_after is not None:
        conditions.append(Extraction.created_at >= filters.created_after)
    return conditions


def _order(filters: QueueFilter) -> list[ColumnElement]:
    confidence = confidence_of(filters.field)
    by = {
        "confidence": [confidence.asc(), Extraction.created_at.asc()],
        "-confidence": [confidence.desc(), Extraction.created_at.asc()],
        "created_at": [Extraction.created_at.asc()],
        "-created_at": [Extraction.created_at.desc()],
    }[filters.sort]
    return [*by, Extraction.id]


def get_all(*, session: Session, settings: Settings, filters: QueueFilter, offset: int = 0, limit: int = 50) -> QueuePage:
    """One page of extractions matching the filters, in the asked order, with the total."""
    conditions = _conditions(filters, settings)
    total = session.scalar(select(func.count()).select_from(Extraction).where(*conditions)) or 0
    rows = session.execute(
        select(Extraction, Contract.account_number, Contract.customer_name, confidence_of(filters.field).label("sort_confidence"))
        .join(Contract, Contract.id == Extraction.contract_id)
        .where(*conditions)
        .order_by(*_order(filters))
        .offset(offset)
        .limit(limit)
    ).all()
    return QueuePage(items=[_item(row, settings) for row in rows], total=total)


def _item(row: Any, settings: Settings) -> dict[str, Any]:
    extraction: Extraction = row.Extraction
    fields = {}
    for name in FIELD_NAMES:
        confidence = getattr(extraction, f"{name}_confidence")
        fields[name] = {
            "value": money(getattr(extraction, name)),
            "confidence": confidence,
            "badge": badge(confidence, high=settings.confidence_high, medium=settings.confidence_medium),
            "flags": (extraction.flags or {}).get(name, []),
        }
    confidence = float(row.sort_confidence) if row.sort_confidence is not None else None
    return {
        "extraction_id": str(extraction.id),
        "contract_id": str(extraction.contract_id),
        "account_number": row.account_number,
        "customer_name": row.customer_name,
        "status": extraction.status,
        "confidence": confidence,
        "badge": badge(confidence, high=settings.confidence_high, medium=settings.confidence_medium),
        "fields": fields,
        "provider": extraction.provider,
        "approved_at": iso_utc(extraction.approved_at),
        "created_at": iso_utc(extraction.created_at),
    }

