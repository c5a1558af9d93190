"""The extraction job: read the contract's text, ask the provider chain, write the extraction.

A worker runs it in three short steps, none holding a transaction open while the provider
thinks: read the contract (and its text, from the PDF when the row has none) with the claim,
call the provider chain, write the extraction with the job's success. A redelivered job finds the
extraction already written and does not call the provider again. A failure's audit event commits
with the job's ``failed`` state.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Contract, Extraction, Job
from models.session import after_commit
from pipeline import audit
from pipeline.contracts import documents
from pipeline.core.cache import get_cache, invalidate_contracts
from pipeline.core.errors import AppError, NotFound
from pipeline.core.settings import Settings, get_settings
from pipeline.extraction.grounding import CheckedField, check_all
from pipeline.jobs.kinds import Completion, JobFailed, JobKind
from pipeline.providers.registry import AllProvidersFailed, ProviderChain
from pipeline.vocabulary import FIELD_NAMES

logger = logging.getLogger(__name__)


class ExtractionFailed(AppError):
    """The job cannot produce an extraction; the message says why (kept on the failed job)."""

    status = 422
    code = "extraction_failed"


def get_for_contract(*, session: Session, contract_id: uuid.UUID) -> Extraction | None:
    return session.scalars(select(Extraction).where(Extraction.contract_id == contract_id)).first()


def _document_text(*, session: Session, contract: Contract, settings: Settings) -> str:
    """The contract's text; from its PDF (stored back on the row) when the row has none."""
    if contract.document_text and contract.document_text.strip():
        return contract.document_text
    if not contract.pdf_path and not contract.s3_key:
        raise ExtractionFailed("the contract has no document text and no PDF")
    text = documents.text_from_pdf(documents.pdf_bytes(contract=contract, settings=settings, cache=get_cache(settings)))
    if not text.strip():
        contract.text_status = "failed"
        raise ExtractionFailed("the contract's PDF has no text layer (a scanned image?)")
    contract.document_text = text
    contract.text_status = "available"
    contract.text_extracted_at = datetime.now(timezone.utc)
    return text


def _apply(extraction: Extraction, checked: dict[str, CheckedField]) -> None:
    flags: dict[str, list[str]] = {}
    for name, item in checked.items():
        value: Any = item.value
        if value is not None and name != "refund_calculation_method":
            value = Decimal(value)
        setattr(extraction, name, value)
        setattr(extraction, f"{name}_confidence", item.confidence)
        setattr(extraction, f"{name}_source", item.quote)
        setattr(extraction, f"{name}_start", item.start)
        setattr(extraction, f"{name}_end", item.end)
        if item.flags:
            flags[name] = item.flags
    extraction.flags = flags or None


@dataclass(frozen=True)
class Prepared:
    """What an extraction job reads before calling a provider (in the claim's transaction)."""

    contract_id: uuid.UUID | None = None
    account_number: str | None = None
    text: str | None = None
    existing_id: uuid.UUID | None = None
    failure: AppError | None = None


def prepare(session: Session, job: Job) -> Prepared:
    """The contract's text, or the extraction that already exists, or why there is no text.

    A failure is returned, not raised: the contract's text status commits with the claim, and
    the run then fails with it (its audit event committed with the job's failed state).
    """
    found = session.execute(
        select(Contract, Extraction.id).outerjoin(Extraction, Extraction.contract_id == Contract.id).where(Contract.id == job.contract_id)
    ).first()
    if found is None:
        return Prepared(failure=NotFound(f"contract {job.contract_id} does not exist"))
    contract, existing_id = found
    if existing_id is not None:
        return Prepared(existing_id=existing_id)
    settings = get_settings()
    try:
        text = _document_text(session=session, contract=contract, settings=settings)
    except AppError as exc:
        return Prepared(contract_id=contract.id, failure=exc)
    return Prepared(contract_id=contract.id, account_number=contract.account_number, text=text)


def run(job: Job, prepared: Prepared) -> Completion:
    """Run one extraction job (the worker's side); the write commits with the job's success."""
    settings = get_settings()
    if prepared.failure is not None:
        failure, contract_id = prepared.failure, prepared.contract_id
        if contract_id is None:  # no contract: nothing to audit
            raise failure
        raise JobFailed(failure, lambda session: _audit_failure(session, contract_id, job, failure.message, []))
    if prepared.existing_id is not None:
        logger.info("extraction exists; provider not called", extra={"job_id": str(job.id)})
        return Completion(result={"extraction_id": str(prepared.existing_id), "reused": True})
    contract_id, account_number, text = prepared.contract_id, prepared.account_number, prepared.text

    chain = ProviderChain(settings, primary=(job.payload or {}).get("provider"))
    try:
        chained = chain.extract(text=text)
    except AllProvidersFailed as exc:
        error, attempts = str(exc), exc.attempts
        raise JobFailed(exc, lambda session: _audit_failure(session, contract_id, job, error, attempts)) from exc
    checked = check_all(chained.output.fields, text)
    output = chained.output
    result: dict[str, Any] = {
        "extraction_id": str(uuid.uuid4()),
        "provider": output.provider,
        "fields": {name: checked[name].value for name in FIELD_NAMES},
    }

    def write(session: Session) -> None:
        extraction = Extraction(
            id=uuid.UUID(result["extraction_id"]),
            contract_id=contract_id,
            status="pending",
            provider=output.provider,
            model=output.model,
            prompt_tokens=output.prompt_tokens,
            completion_tokens=output.completion_tokens,
            cost_usd=output.cost_usd,
            latency_ms=output.latency_ms,
        )
        _apply(extraction, checked)
        try:
            with session.begin_nested():
                session.add(extraction)
        except IntegrityError:
            # Two jobs raced for one contract; the first extraction stands.
            existing = get_for_contract(session=session, contract_id=contract_id)
            result.clear()
            result.update(extraction_id=str(existing.id), reused=True)
            return
        audit.record(
            session=session,
            event_type="extract",
            contract_id=contract_id,
            extraction_id=extraction.id,
            request_id=job.request_id,
            data={
                "outcome": "succeeded",
                "job_id": str(job.id),
                "provider": output.provider,
                "model": output.model,
                "fallback": chained.attempts[0]["provider"] != output.provider,
                "attempts": chained.attempts,
                "latency_ms": output.latency_ms,
            },
        )
        cache = get_cache(settings)
        after_commit(session, lambda: invalidate_contracts(cache, account_number))

    return Completion(result=result, write=write)


def _audit_failure(session: Session, contract_id: uuid.UUID, job: Job, error: str, attempts: list[dict[str, Any]]) -> None:
    audit.record(
        session=session,
        event_type="extract",
        contract_id=contract_id,
        request_id=job.request_id,
        data={"outcome": "failed", "job_id": str(job.id), "error": error, "attempts": attempts},
    )


EXTRACTION = JobKind(name="extraction", task="extraction.run", queue="interactive", prepare=prepare, run=run)
