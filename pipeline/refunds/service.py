"""Refund quotes as the service makes them: gather the inputs with their sources, ask the pure
calculator, store the answer and audit it.

Three steps, so that a job or a chat turn need hold no transaction while it thinks:

1. :func:`read_basis` (a session): the contract's record and its extraction, each value with where
   it came from (the extraction's quote and offsets, or the reviewer's correction), as plain data.
   No extraction: :class:`ExtractionRequired` (409). A contract without a start date or a term, or
   an extraction without a premium: :class:`QuoteInputsMissing` (409, naming what is missing).
2. :func:`compute` (pure): the request and the state rules through
   :func:`pipeline.refunds.formulas.quote_refund`; a :class:`Draft` with its id already chosen.
   A cancellation before the start, a bad reason: 422 (``BadInput``); the actuarial method, which
   needs the loan's APR that the contract record does not keep: 422 naming ``apr``.
3. :func:`save` (a session): the quote row and its ``refund_quote`` audit event, added to the
   caller's unit of work. Nothing here commits.

:func:`create` does the three in one unit of work (the API). A quote is immutable: asking again,
even with the same inputs, makes a new quote.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Contract, Correction, Extraction, RefundQuote
from models.base import utcnow
from pipeline import audit
from pipeline.jobs import lifecycle as jobs
from pipeline.core.errors import Conflict, NotFound, ValidationFailed
from pipeline.core.formatting import iso_utc, money
from pipeline.extraction.grounding import locate
from pipeline.core.logs import get_request_id, get_user_id
from pipeline.refunds.formulas import REASONS, BadInput, MissingInput, quote_refund
from pipeline.refunds.formulas import RefundQuote as Quote
from pipeline.refunds.rules import RuleBook, default_rules
from pipeline.extraction.review import REVIEWER_SOURCE
from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)

# The extraction field behind each input of the calculator.
EXTRACTION_INPUTS = {
    "premium": "gap_insurance_premium",
    "method": "refund_calculation_method",
    "fee": "cancellation_fee",
}
REQUEST_FIELDS = ("cancellation_date", "reason", "claim_paid", "odometer")
UNREVIEWED_WARNING = "extraction not yet reviewed: the premium, method and fee are the extractor's, not yet approved by a reviewer"
LETTER_PATH = "/api/v1/refund-quotes/{}/letter.pdf"


class ExtractionRequired(Conflict):
    """The contract has no extraction: the agent must extract it before asking for a quote."""

    code = "extraction_required"


class QuoteInputsMissing(Conflict):
    """The contract record or its extraction lacks a value every quote needs; ``details.missing`` names them."""

    code = "quote_inputs_missing"


@dataclass(frozen=True)
class FieldSource:
    """One extraction field as a quote uses it: its value and where that value came from."""

    field: str
    value: Any
    quote: str | None = None
    start: int | None = None
    end: int | None = None
    confidence: float | None = None
    flags: tuple[str, ...] = ()
    correction: dict[str, Any] | None = None
    set_by_reviewer: bool = False

    def descriptor(self, *, extraction_id: uuid.UUID, status: str) -> dict[str, Any]:
        """The source as a quote's inputs show it."""
        where: dict[str, Any] = {"field": self.field, "extraction_id": str(extraction_id), "extraction_status": status}
        if self.correction is not None:
            return {"source": "correction", **where, "correction": self.correction}
        if self.set_by_reviewer:
            return {"source": "reviewer", **where}
        return {
            "source": "extraction", **where, "quote": self.quote, "start": self.start, "end": self.end,
            "confidence": self.confidence, **({"flags": list(self.flags)} if self.flags else {}),
        }


@dataclass(frozen=True)
class Basis:
    """Everything a quote of one contract is made from, read once (plain values, no ORM rows)."""

    contract_id: uuid.UUID
    account_number: str
    extraction_id: uuid.UUID
    extraction_status: str
    start_date: date
    term_months: int
    state: str | None
    fields: dict[str, FieldSource]
    document_text: str = ""


@dataclass(frozen=True)
class Draft:
    """A computed quote not yet stored; its id is chosen so an answer can name it before it is."""

    id: uuid.UUID
    basis: Basis
    request: dict[str, Any]
    quote: Quote
    result: dict[str, Any]
    created_at: datetime = field(default_factory=utcnow)

    @property
    def refund(self) -> Decimal:
        return self.quote.refund

    def summary(self) -> dict[str, Any]:
        """The figures a chat answer or a job result carries."""
        return {
            "quote_id": str(self.id),
            "contract_id": str(self.basis.contract_id),
            "cancellation_date": self.request["cancellation_date"],
            "reason": self.request["reason"],
            "eligible": self.quote.eligible,
            "reason_code": self.quote.reason_code,
            "reason_text": self.quote.reason_text,
            "refund": str(self.quote.refund),
            "gross_refund": str(self.quote.gross_refund),
            "fee_applied": str(self.quote.fee_applied),
            "method": self.quote.method,
            "factor": str(self.quote.factor),
            "warnings": list(self.result["warnings"]),
            "clause": self.result.get("clause"),
            "letter_url": LETTER_PATH.format(self.id),
        }


# --- 1. reading the inputs ----------------------------------------------------------------------


def read_basis(*, session: Session, contract_id: uuid.UUID) -> Basis:
    """The contract's quote inputs with their sources; NotFound, ExtractionRequired or QuoteInputsMissing."""
    found = session.execute(
        select(Contract, Extraction).outerjoin(Extraction, Extraction.contract_id == Contract.id).where(Contract.id == contract_id)
    ).first()
    if found is None:
        raise NotFound(f"contract {contract_id} does not exist")
    contract, extraction = found
    audit.name_subject(session=session, contract_id=contract.id, extraction_id=extraction.id if extraction else None)
    if extraction is None:
        live = jobs.live_extraction(session=session, contract_id=contract.id)
        if live is not None:
            raise ExtractionRequired(
                f"contract {contract.account_number} is being extracted (job {live.id}, {live.status}); quote it once the job has finished",
                details={"job_id": str(live.id), "job_status": live.status},
            )
        raise ExtractionRequired(
            f"contract {contract.account_number} has no extraction yet: extract it first "
            f"(POST /api/v1/extractions/create), then ask for the quote again",
            details={"extract": "/api/v1/extractions/create"},
        )
    corrections = _latest_corrections(session, extraction.id)
    fields = {name: _field_source(extraction, name, corrections.get(name)) for name in EXTRACTION_INPUTS.values()}

    missing: list[str] = []
    if contract.contract_start_date is None:
        missing.append("contract_start_date")
    if contract.term_months is None:
        missing.append("term_months")
    if fields["gap_insurance_premium"].value is None:
        missing.append("gap_insurance_premium")
    if missing:
        raise QuoteInputsMissing(_missing_message(contract.account_number, missing), details={"missing": missing})
    return Basis(
        contract_id=contract.id,
        account_number=contract.account_number,
        extraction_id=extraction.id,
        extraction_status=extraction.status,
        start_date=contract.contract_start_date,
        term_months=contract.term_months,
        state=contract.state,
        fields=fields,
        document_text=contract.document_text or "",
    )


def _missing_message(account_number: str, missing: list[str]) -> str:
    record = [name for name in missing if name != "gap_insurance_premium"]
    parts = []
    if record:
        parts.append(f"the contract record has no {' and no '.join(record)} (fix the record, e.g. by importing it again)")
    if "gap_insurance_premium" in missing:
        parts.append("the extraction has no gap_insurance_premium (correct it in review)")
    return f"cannot quote contract {account_number}: " + "; ".join(parts)


def _latest_corrections(session: Session, extraction_id: uuid.UUID) -> dict[str, Correction]:
    rows = session.scalars(
        select(Correction).where(Correction.extraction_id == extraction_id).order_by(Correction.created_at, Correction.id)
    ).all()
    return {row.field_name: row for row in rows}  # the last correction of each field wins


def _field_source(extraction: Extraction, name: str, correction: Correction | None) -> FieldSource:
    value = getattr(extraction, name)
    source = getattr(extraction, f"{name}_source")
    by_reviewer = source == REVIEWER_SOURCE
    correction_view = None
    if by_reviewer and correction is not None:
        correction_view = {
            "original_value": correction.original_value,
            "corrected_value": correction.corrected_value,
            "reason": correction.correction_reason,
            "corrected_by": str(correction.corrected_by) if correction.corrected_by else None,
            "corrected_at": iso_utc(correction.created_at),
        }
    return FieldSource(
        field=name,
        value=value,
        quote=None if by_reviewer else source,
        start=None if by_reviewer else getattr(extraction, f"{name}_start"),
        end=None if by_reviewer else getattr(extraction, f"{name}_end"),
        confidence=getattr(extraction, f"{name}_confidence"),
        flags=tuple((extraction.flags or {}).get(name, [])),
        correction=correction_view,
        set_by_reviewer=by_reviewer,
    )


# --- 2. computing -------------------------------------------------------------------------------


def compute(
    *,
    basis: Basis,
    settings: Settings,
    cancellation_date: date,
    reason: str,
    claim_paid: bool = False,
    odometer: int | None = None,
    origin: str = "api",
    rules: RuleBook | None = None,
) -> Draft:
    """The quote for one cancellation of the basis's contract (pure: no I/O but the rules file, read once)."""
    rules = rules or default_rules()
    asked = {"source": "request", "origin": origin}
    sources: dict[str, dict[str, Any]] = {
        name: basis.fields[field].descriptor(extraction_id=basis.extraction_id, status=basis.extraction_status)
        for name, field in EXTRACTION_INPUTS.items()
    }
    sources.update(
        start_date={"source": "contract", "field": "contract_start_date", "contract_id": str(basis.contract_id)},
        term_months={"source": "contract", "field": "term_months", "contract_id": str(basis.contract_id)},
        state={"source": "contract", "field": "state", "contract_id": str(basis.contract_id)},
        cancellation_date=asked, reason=asked, claim_paid=asked,
    )
    try:
        quote = quote_refund(
            premium=basis.fields["gap_insurance_premium"].value,
            method=basis.fields["refund_calculation_method"].value,
            fee=basis.fields["cancellation_fee"].value,
            start_date=basis.start_date,
            term_months=basis.term_months,
            cancellation_date=cancellation_date,
            reason=reason,
            claim_paid=claim_paid,
            state=basis.state,
            rules=rules,
            free_look_default_days=settings.refund_free_look_days,
            sources=sources,
        )
    except MissingInput as exc:
        if exc.field == "apr":
            raise MissingInput(
                "apr",
                f"{exc.message}. The contract record keeps no APR, so an actuarial refund cannot be quoted here: "
                "quote it by hand or correct the refund method in review if the contract says otherwise",
            ) from None
        raise
    except BadInput as exc:
        if exc.field in REQUEST_FIELDS:
            raise ValidationFailed(exc.message, details={"json": {exc.field: [exc.message]}, "field": exc.field}) from None
        raise

    result = quote.as_dict()
    warnings: list[str] = []
    if basis.extraction_status != "approved":
        warnings.append(UNREVIEWED_WARNING)
        for name, item in basis.fields.items():
            for flag in item.flags:
                warnings.append(f"{name} flagged by the extractor's checks: {flag}")
    result["warnings"] = warnings + result["warnings"]
    request: dict[str, Any] = {"cancellation_date": cancellation_date.isoformat(), "reason": reason, "claim_paid": claim_paid}
    if odometer is not None:
        request["odometer"] = odometer
        # Kept as asked; no formula or state rule on file uses it.
        result["inputs"]["odometer"] = {"value": odometer, **asked, "used": False}
    result["clause"] = method_clause(basis)
    return Draft(id=uuid.uuid4(), basis=basis, request=request, quote=quote, result=result)


def method_clause(basis: Basis) -> dict[str, Any] | None:
    """The contract's passage on how a refund is computed, located in its text (``text[start:end]
    == quote``): the extraction's source for the method, else the refund clause the offline rules
    find (a reviewer's correction has no passage of its own). None when neither is in the text."""
    text = basis.document_text
    if not text:
        return None

    def located(quote: str | None, source: str) -> dict[str, Any] | None:
        span = locate(quote, text) if quote else None
        if span is None:
            return None
        start, end = span
        return {"quote": text[start:end], "start": start, "end": end, "source": source}

    found = located(basis.fields["refund_calculation_method"].quote, "extraction")
    if found is None:
        from pipeline.providers.local.extractor import extract_fields

        rules = extract_fields(text).get("refund_calculation_method")
        found = located(rules.quote if rules is not None else None, "document")
    return found


# --- 3. storing ---------------------------------------------------------------------------------


def save(
    *,
    session: Session,
    draft: Draft,
    origin: str,
    job_id: uuid.UUID | None = None,
    requested_by: uuid.UUID | None = None,
    request_id: str | None = None,
) -> RefundQuote:
    """Add the quote and its ``refund_quote`` audit event to the unit of work (no commit)."""
    quote = draft.quote
    user_id = requested_by or get_user_id()
    request_id = request_id or get_request_id()
    row = RefundQuote(
        id=draft.id,
        contract_id=draft.basis.contract_id,
        extraction_id=draft.basis.extraction_id,
        job_id=job_id,
        requested_by=user_id,
        request_id=request_id,
        origin=origin,
        cancellation_date=date.fromisoformat(draft.request["cancellation_date"]),
        reason=draft.request["reason"],
        claim_paid=draft.request["claim_paid"],
        request=draft.request,
        eligible=quote.eligible,
        reason_code=quote.reason_code,
        refund=quote.refund,
        gross_refund=quote.gross_refund,
        fee_applied=quote.fee_applied,
        factor=quote.factor,
        method=quote.method,
        reason_text=quote.reason_text,
        rules_version=quote.rules_version,
        formulas_version=quote.formulas_version,
        result={key: draft.result[key] for key in ("steps", "inputs", "warnings", "clause")},
        created_at=draft.created_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        event_type="refund_quote",
        contract_id=row.contract_id,
        extraction_id=row.extraction_id,
        user_id=user_id,
        request_id=request_id,
        data={
            "quote_id": str(row.id),
            "origin": origin,
            **({"job_id": str(job_id)} if job_id else {}),
            **draft.request,
            "eligible": quote.eligible,
            "reason_code": quote.reason_code,
            "refund": str(quote.refund),
            "method": quote.method,
            "extraction_status": draft.basis.extraction_status,
            "rules_version": quote.rules_version,
            "warnings": len(draft.result["warnings"]),
        },
    )
    logger.info("refund quote made", extra={"quote_id": str(row.id), "contract_id": str(row.contract_id), "origin": origin})
    return row


def create(
    *,
    session: Session,
    settings: Settings,
    contract_id: uuid.UUID,
    cancellation_date: date,
    reason: str,
    claim_paid: bool = False,
    odometer: int | None = None,
    origin: str = "api",
    request_id: str | None = None,
) -> RefundQuote:
    """Read, compute and store one quote in the caller's unit of work."""
    if reason not in REASONS:
        raise ValidationFailed(f"reason must be one of {', '.join(REASONS)}; got {reason!r}",
                               details={"json": {"reason": [f"Must be one of: {', '.join(REASONS)}."]}})
    basis = read_basis(session=session, contract_id=contract_id)
    draft = compute(basis=basis, settings=settings, cancellation_date=cancellation_date, reason=reason,
                    claim_paid=claim_paid, odometer=odometer, origin=origin)
    return save(session=session, draft=draft, origin=origin, request_id=request_id)


# --- reading quotes back ------------------------------------------------------------------------


def get_or_raise(*, session: Session, quote_id: uuid.UUID) -> RefundQuote:
    quote = session.get(RefundQuote, quote_id)
    if quote is None:
        raise NotFound(f"refund quote {quote_id} does not exist")
    return quote


def list_for_contract(*, session: Session, contract_id: uuid.UUID, page: int = 1, page_size: int = 20) -> tuple[list[RefundQuote], int]:
    """One page of a contract's quotes, newest first, and how many it has in all."""
    if session.get(Contract, contract_id) is None:
        raise NotFound(f"contract {contract_id} does not exist")
    audit.name_subject(session=session, contract_id=contract_id)
    total = session.scalar(select(func.count()).select_from(RefundQuote).where(RefundQuote.contract_id == contract_id))
    rows = session.scalars(
        select(RefundQuote)
        .where(RefundQuote.contract_id == contract_id)
        .order_by(RefundQuote.created_at.desc(), RefundQuote.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), int(total or 0)


def view(quote: RefundQuote) -> dict[str, Any]:
    """A stored quote as the API shows it."""
    result = quote.result or {}
    return {
        "quote_id": str(quote.id),
        "contract_id": str(quote.contract_id),
        "extraction_id": str(quote.extraction_id),
        "origin": quote.origin,
        "job_id": str(quote.job_id) if quote.job_id else None,
        "requested_by": str(quote.requested_by) if quote.requested_by else None,
        "request_id": quote.request_id,
        "created_at": iso_utc(quote.created_at),
        "cancellation_date": quote.cancellation_date.isoformat(),
        "reason": quote.reason,
        "claim_paid": quote.claim_paid,
        "odometer": (quote.request or {}).get("odometer"),
        "eligible": quote.eligible,
        "reason_code": quote.reason_code,
        "reason_text": quote.reason_text,
        "refund": money(quote.refund),
        "gross_refund": money(quote.gross_refund),
        "fee_applied": money(quote.fee_applied),
        "method": quote.method,
        "factor": f"{quote.factor:.6f}",
        "steps": result.get("steps", []),
        "inputs": result.get("inputs", {}),
        "warnings": result.get("warnings", []),
        "clause": result.get("clause"),
        "rules_version": quote.rules_version,
        "formulas_version": quote.formulas_version,
        "letter_url": LETTER_PATH.format(quote.id),
    }
