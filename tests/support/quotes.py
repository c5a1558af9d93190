"""Contracts and extractions for refund-quote tests: demo contracts with their record filled in, and
extractions as the offline extractor reads them (each value with its passage and offsets)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from models import Contract, Extraction
from pipeline.seed.demo import demo_contracts

DEMOS = demo_contracts()
TX = 1  # James R. Whitfield: Texas, $1,095.00, rule of 78, $75.00 fee, 84 months from 2023-06-02


def demo_contract(session_factory, demo_index=TX, **values):
    demo = DEMOS[demo_index]
    row = {k: v for k, v in demo.items() if k not in ("expected", "pdf_path")}
    row["contract_start_date"] = date.fromisoformat(row["contract_start_date"])
    row.update(values)
    with session_factory() as session:
        contract = Contract(**row, text_status="available")
        session.add(contract)
        session.commit()
    return contract


def demo_extraction(session_factory, contract, *, status="approved", **values):
    """An extraction as the local extractor would leave it: each value with its passage in the text."""
    from pipeline.providers.local.extractor import extract_fields

    text_ = contract.document_text
    row = {}
    for name, found in extract_fields(text_).items():
        start = text_.find(found.quote) if found.quote else -1
        row.update({
            name: None if found.value is None else (found.value if name == "refund_calculation_method" else Decimal(found.value)),
            f"{name}_confidence": found.confidence,
            f"{name}_source": found.quote,
            f"{name}_start": start if start >= 0 else None,
            f"{name}_end": start + len(found.quote) if start >= 0 else None,
        })
    row.update(values)
    with session_factory() as session:
        extraction = Extraction(contract_id=contract.id, status=status, provider="local", model="local-rules-v1",
                                approved_at=datetime.now(timezone.utc) if status == "approved" else None, **row)
        session.add(extraction)
        session.commit()
    return extraction
