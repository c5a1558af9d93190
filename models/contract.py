"""Contracts: the GAP contracts an agent looks up by account number."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, JsonType, Timestamps, check_in, new_id

if TYPE_CHECKING:
    from models.extraction import Extraction

TEXT_STATUSES = ("pending", "available", "failed")
CONTRACT_SOURCES = ("import", "seed", "external")


class Contract(Timestamps, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(check_in("text_status", TEXT_STATUSES), name="text_status"),
        CheckConstraint(check_in("source", CONTRACT_SOURCES), name="source"),
        CheckConstraint("term_months IS NULL OR (term_months > 0 AND term_months <= 240)", name="term_months"),
        CheckConstraint("length(account_number) >= 4", name="account_number_length"),
        Index("ix_contracts_customer_name", "customer_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    dealer: Mapped[str | None] = mapped_column(String(200))
    lender: Mapped[str | None] = mapped_column(String(200))
    vehicle: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    contract_start_date: Mapped[date | None]
    term_months: Mapped[int | None]
    state: Mapped[str | None] = mapped_column(String(2))
    document_text: Mapped[str | None] = mapped_column(Text)
    text_status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    text_extracted_at: Mapped[datetime | None]
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    s3_bucket: Mapped[str | None] = mapped_column(String(255))
    s3_key: Mapped[str | None] = mapped_column(String(1024))
    source: Mapped[str] = mapped_column(String(16), default="import", server_default="import")

    extraction: Mapped[Extraction | None] = relationship(back_populates="contract", uselist=False)

    def __repr__(self) -> str:
        return f"<Contract {self.account_number}>"
