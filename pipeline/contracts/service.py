"""Finding contracts: by account number (cache, then database, then the external source) and by id.

A search answer is cached in Redis for CACHE_TTL_CONTRACT seconds under the account number, so
an agent searching the same customer again touches neither the database's contracts nor the
external source. Anything that changes a contract or its extraction calls
:func:`pipeline.core.cache.invalidate_contracts` so no agent sees a stale answer.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Contract, Extraction
from pipeline import audit
from pipeline.contracts.importer import RowError, parse_row
from pipeline.contracts.sources import ContractSource
from pipeline.core.cache import Cache, contract_key, count_lookup
from pipeline.core.errors import AppError, NotFound, UpstreamError
from pipeline.core.formatting import iso_utc, money
from pipeline.jobs import lifecycle as jobs

logger = logging.getLogger(__name__)


@dataclass
class SearchResult:
    contract: dict[str, Any]
    via: str  # cache, database or external


def extraction_summary(extraction: Extraction | None) -> dict[str, Any] | None:
    if extraction is None:
        return None
    return {
        "extraction_id": str(extraction.id),
        "status": extraction.status,
        "gap_insurance_premium": money(extraction.gap_insurance_premium),
        "refund_calculation_method": extraction.refund_calculation_method,
        "cancellation_fee": money(extraction.cancellation_fee),
        "approved_at": iso_utc(extraction.approved_at),
    }


def summary(*, session: Session, contract: Contract) -> dict[str, Any]:
    """The contract's metadata with its extraction's state, as agents see it in a search."""
    extraction = session.scalars(select(Extraction).where(Extraction.contract_id == contract.id)).first()
    job = jobs.live_extraction(session=session, contract_id=contract.id) if extraction is None else None
    return {
        "contract_id": str(contract.id),
        "account_number": contract.account_number,
        "customer_name": contract.customer_name,
        "dealer": contract.dealer,
        "lender": contract.lender,
        "vehicle": contract.vehicle,
        "contract_start_date": contract.contract_start_date.isoformat() if contract.contract_start_date else None,
        "term_months": contract.term_months,
        "state": contract.state,
        "text_status": contract.text_status,
        "has_pdf": bool(contract.pdf_path or contract.s3_key),
        "pdf_url": f"/api/v1/contracts/{contract.id}/pdf" if (contract.pdf_path or contract.s3_key) else None,
        "source": contract.source,
        "extraction_status": extraction.status if extraction else "none",
        "extraction": extraction_summary(extraction),
        "extraction_job": {"job_id": str(job.id), "status": job.status} if job else None,
        "created_at": iso_utc(contract.created_at),
        "updated_at": iso_utc(contract.updated_at),
    }


def detail(*, session: Session, contract: Contract) -> dict[str, Any]:
    """Summary plus the document text (extraction offsets point into it)."""
    return {**summary(session=session, contract=contract), "document_text": contract.document_text}


def get_or_raise(*, session: Session, contract_id: uuid.UUID) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return contract


def _store_external(*, session: Session, record: dict[str, Any], account_number: str) -> Contract:
    try:
        values = parse_row({**record, "account_number": record.get("account_number", account_number)})
    except RowError as exc:
        raise UpstreamError(f"the external contract source returned an unusable contract: {exc}") from None
    if values["account_number"] != account_number:
        raise UpstreamError("the external contract source returned a different account number")
    contract = Contract(**values, source="external")
    contract.text_status = "available" if values["document_text"] else "pending"
    try:
        # A savepoint: if another agent stored the same contract a moment ago, use theirs.
        with session.begin_nested():
            session.add(contract)
    except IntegrityError:
        existing = session.scalars(select(Contract).where(Contract.account_number == account_number)).one()
        return existing
    return contract


def search(
    *,
    session: Session,
    cache: Cache,
    source: ContractSource,
    account_number: str,
    ttl: int,
) -> SearchResult:
    """Find a contract by (normalised) account number; audit the outcome whatever it is.

    Raises NotFound when neither the database nor the source knows it, and UpstreamError /
    UpstreamTimeout when the source fails. The audit event is added to the session in every
    case; the caller commits it even when the answer is an error.
    """
    cached = cache.get(contract_key(account_number))
    if cached is not None:
        count_lookup(cache, "contract", hit=True)
        payload = json.loads(cached)
        _audit(session, account_number, "found", "cache", payload["contract_id"])
        return SearchResult(payload, "cache")
    count_lookup(cache, "contract", hit=False)

    contract = session.scalars(select(Contract).where(Contract.account_number == account_number)).first()
    via = "database"
    if contract is None:
        try:
            record = source.fetch(account_number)
        except AppError as exc:
            _audit(session, account_number, "source_error", source.name, None, error=exc.message)
            raise
        if record is None:
            _audit(session, account_number, "not_found", source.name, None)
            raise NotFound(f"no contract has account number {account_number}")
        contract = _store_external(session=session, record=record, account_number=account_number)
        session.flush()
        via = "external"
        logger.info("contract stored from the external source", extra={"contract_id": str(contract.id)})

    payload = summary(session=session, contract=contract)
    cache.set(contract_key(account_number), json.dumps(payload), ttl)
    _audit(session, account_number, "found", via, payload["contract_id"])
    return SearchResult(payload, via)


def _audit(
    session: Session,
    account_number: str,
    outcome: str,
    via: str,
    contract_id: str | None,
    *,
    error: str | None = None,
) -> None:
    data: dict[str, Any] = {"account_number": account_number, "outcome": outcome, "via": via}
    if error:
        data["error"] = error
    audit.record(
        session=session,
        event_type="search",
        contract_id=uuid.UUID(contract_id) if contract_id else None,
        data=data,
    )
