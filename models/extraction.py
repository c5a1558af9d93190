"""Extractions (one per contract, the source of truth for the three fields) and corrections."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, Numeric, String, Text, func, literal_column, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import Float

from models.base import Base, JsonType, Timestamps, check_in, new_id, utcnow
from pipeline.vocabulary import FIELD_NAMES, REFUND_METHODS

if TYPE_CHECKING:
    from models.contract import Contract

EXTRACTION_STATUSES = ("pending", "approved")

Money = Numeric(12, 2)


class least(GenericFunction):  # named as the SQL function it calls
    """LEAST(a, b, ...) on PostgreSQL; SQLite spells it MIN(a, b, ...)."""

    type = Float()
    inherit_cache = True


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


def field_confidence(source: Any, field: str) -> ColumnElement:
    """A field's confidence for sorting (``source``: the model or its table's columns); a missing
    one counts as 0, as nothing is known of that value."""
    return func.coalesce(getattr(source, f"{field}_confidence"), literal_column("0.0"))


def lowest_confidence(source: Any) -> ColumnElement:
    """The least confident field's confidence: the review queue's order and its index's expression."""
    return least(*(field_confidence(source, name) for name in FIELD_NAMES))


PENDING = "status = 'pending'"


def _field_checks(field: str) -> list[CheckConstraint]:
    """Confidence in [0, 1] and a sane source span for one extracted field."""
    return [
        CheckConstraint(f"{field}_confidence IS NULL OR ({field}_confidence >= 0 AND {field}_confidence <= 1)", name=f"{field}_confidence"),
        CheckConstraint(f"{field}_start IS NULL OR ({field}_start >= 0 AND {field}_end >= {field}_start)", name=f"{field}_span"),
    ]


class Extraction(Timestamps, Base):
    __tablename__ = "extractions"
    __table_args__ = (
        CheckConstraint(check_in("status", EXTRACTION_STATUSES), name="status"),
        CheckConstraint(check_in("refund_calculation_method", REFUND_METHODS), name="refund_method"),
        CheckConstraint("gap_insurance_premium IS NULL OR gap_insurance_premium >= 0", name="premium_non_negative"),
        CheckConstraint("cancellation_fee IS NULL OR cancellation_fee >= 0", name="fee_non_negative"),
        CheckConstraint("status <> 'approved' OR approved_at IS NOT NULL", name="approved_has_time"),
        *[check for field in FIELD_NAMES for check in _field_checks(field)],
        Index("ix_extractions_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")

    # Each field: the value, the confidence, the verbatim passage it came from and its offsets
    # in the document text ("reviewer" as the source once a person corrected it).
    gap_insurance_premium: Mapped[Decimal | None] = mapped_column(Money)
    gap_insurance_premium_confidence: Mapped[float | None]
    gap_insurance_premium_source: Mapped[str | None] = mapped_column(Text)
    gap_insurance_premium_start: Mapped[int | None]
    gap_insurance_premium_end: Mapped[int | None]

    refund_calculation_method: Mapped[str | None] = mapped_column(String(16))
    refund_calculation_method_confidence: Mapped[float | None]
    refund_calculation_method_source: Mapped[str | None] = mapped_column(Text)
    refund_calculation_method_start: Mapped[int | None]
    refund_calculation_method_end: Mapped[int | None]

    cancellation_fee: Mapped[Decimal | None] = mapped_column(Money)
    cancellation_fee_confidence: Mapped[float | None]
    cancellation_fee_source: Mapped[str | None] = mapped_column(Text)
    cancellation_fee_start: Mapped[int | None]
    cancellation_fee_end: Mapped[int | None]

    # Values a provider gave that failed validation or grounding, and why.
    flags: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    provider: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(100))
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    latency_ms: Mapped[int | None]

    approved_at: Mapped[datetime | None]
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship(back_populates="extraction")
    corrections: Mapped[list[Correction]] = relationship(
        back_populates="extraction", order_by="Correction.created_at"
    )


# The review queue: pending extractions, least confident first (migration 0006).
Index(
    "ix_extractions_pending_confidence", lowest_confidence(Extraction.__table__.c), Extraction.__table__.c.created_at,
    postgresql_where=text(PENDING), sqlite_where=text(PENDING),
)


class Correction(Base):
    """A reviewer's change to one field; kept forever to measure the extractor."""

    __tablename__ = "corrections"
    __table_args__ = (
        CheckConstraint(check_in("field_name", FIELD_NAMES), name="field_name"),
        Index("ix_corrections_field_name_created_at", "field_name", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    extraction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("extractions.id"), index=True)
    field_name: Mapped[str] = mapped_column(String(50))
    original_value: Mapped[str | None] = mapped_column(Text)
    corrected_value: Mapped[str] = mapped_column(Text)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    corrected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    extraction: Mapped[Extraction] = relationship(back_populates="corrections")
