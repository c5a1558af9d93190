"""Refund quotes: what a contract would refund for one cancellation, stored as it was answered.

A quote is immutable (the database refuses UPDATE and DELETE, like audit events): a changed input
makes a new quote. The key figures are columns (to list, sort and export them); everything else the
quote said, each input with its source, each step in words and the warnings, is in ``result``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonType, check_in, new_id, utcnow
from models.extraction import REFUND_METHODS, Money

# The same as pipeline.refunds.formulas.REASONS and REASON_CODES (a unit test keeps them equal;
# models import nothing from the pipeline).
REFUND_REASONS = ("customer_request", "payoff", "trade_in", "refinance", "repossession", "total_loss", "unwind")
QUOTE_REASON_CODES = ("free_look", "unwind", "unearned_refund", "expired", "claim_paid")
# Where the question came from: the API, a chat answer, a portfolio batch.
QUOTE_ORIGINS = ("api", "chat", "batch")


class RefundQuote(Base):
    __tablename__ = "refund_quotes"
    __table_args__ = (
        CheckConstraint(check_in("reason", REFUND_REASONS), name="reason"),
        CheckConstraint(check_in("reason_code", QUOTE_REASON_CODES), name="reason_code"),
        CheckConstraint(check_in("method", REFUND_METHODS), name="method"),
        CheckConstraint(check_in("origin", QUOTE_ORIGINS), name="origin"),
        CheckConstraint(
            "refund >= 0 AND fee_applied >= 0 AND gross_refund = refund + fee_applied", name="figures"
        ),
        CheckConstraint("factor >= 0 AND factor <= 1", name="factor"),
        Index("ix_refund_quotes_contract_id_created_at", "contract_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    extraction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("extractions.id"), index=True)
    # The portfolio job that made it, if one did: a job makes at most one quote.
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), unique=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))

    # The question, as asked (``request`` keeps every value given, odometer included).
    cancellation_date: Mapped[date]
    reason: Mapped[str] = mapped_column(String(32))
    claim_paid: Mapped[bool]
    request: Mapped[dict[str, Any]] = mapped_column(JsonType)

    # The answer's key figures.
    eligible: Mapped[bool]
    reason_code: Mapped[str] = mapped_column(String(32))
    refund: Mapped[Decimal] = mapped_column(Money)
    gross_refund: Mapped[Decimal] = mapped_column(Money)
    fee_applied: Mapped[Decimal] = mapped_column(Money)
    factor: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    method: Mapped[str | None] = mapped_column(String(16))
    reason_text: Mapped[str] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(64))
    formulas_version: Mapped[str] = mapped_column(String(16))

    # The rest of the answer: {"steps": [...], "inputs": {...}, "warnings": [...]}.
    result: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
