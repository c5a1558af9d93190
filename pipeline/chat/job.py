"""The chat job: answer an agent's message (``pipeline.chat.service`` queued it). The job:

1. reads the question and the session's history (Redis, else PostgreSQL);
2. looks up an account number in the message, if there is one, and switches the session to
   that contract (or says it found none);
3. builds the context (contract details, its extraction, the passages of its text most relevant
   to the question) and asks the provider chain: the same chain, breakers and retry budget as
   extraction, with the offline `local` answerer as the last fallback. The refund quote
   calculator is offered as a tool (see ``pipeline.chat.quotes``): "how much would they get back
   if they cancel today?" is answered with a quote's figure, its id and the contract's clause;
4. keeps only the quotes it finds in the document, as sources with their offsets, and writes the
   answer as a chat message (and the refund quotes it names, audited) together with the job's
   success.

When every provider fails the job fails with a message saying so; the question stays stored.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ChatMessage, Contract, Extraction, Job
from models.session import after_commit
from pipeline import audit
from pipeline.chat import sessions
from pipeline.chat.accounts import find_account_numbers
from pipeline.chat.quotes import Quoter
from pipeline.contracts import documents
from pipeline.contracts import service as contracts
from pipeline.contracts.sources import get_source
from pipeline.core import db
from pipeline.core.cache import get_cache
from pipeline.core.errors import AppError, NotFound
from pipeline.core.formatting import money
from pipeline.core.settings import Settings, get_settings
from pipeline.extraction.grounding import locate
from pipeline.extraction.review import REVIEWER_SOURCE
from pipeline.jobs.kinds import Completion, JobKind, nothing_to_prepare
from pipeline.providers.base import ChatOutput, ChatRequest, ChatTurn
from pipeline.providers.registry import AllProvidersFailed, ProviderChain
from pipeline.refunds import service as refund_quotes
from pipeline.text import passages as retrieval
from pipeline.vocabulary import FIELD_NAMES

logger = logging.getLogger(__name__)

NO_CONTRACT_REPLY = (
    "No contract is selected yet. Tell me the customer's account number (for example "
    '"look up 4350948342") and I will open their contract.'
)
# Words of a lookup request; a message with little else in it asks for nothing more.
_LOOKUP_WORDS = frozenset(
    "look up lookup pull find search switch to open account acct number no contract customer for please "
    "the a an show me get load go on with and can you could id its it this".split()
)


class ChatFailed(AppError):
    """The job could not answer; the message says why (kept on the failed job)."""

    status = 502
    code = "chat_failed"


@dataclass
class _Turn:
    """What the job read in its first short transaction."""

    session_id: uuid.UUID
    question: str
    history: list[ChatTurn]
    contract: Contract | None
    previous_contract_id: uuid.UUID | None
    extraction: Extraction | None
    switch: dict[str, Any] | None = None
    lookup: dict[str, Any] | None = None


def run(job: Job, prepared: None) -> Completion:
    """Answer one chat message (the worker's side); the answer commits with the job's success."""
    settings = get_settings()
    store = sessions.get_store(settings)
    payload = job.payload or {}
    session_id, message_id = uuid.UUID(payload["session_id"]), uuid.UUID(payload["message_id"])
    with db.unit_of_work(settings) as session:
        turn = _read_turn(session=session, settings=settings, store=store, session_id=session_id, message_id=message_id)
    contract = turn.contract
    text = _document_text(contract, settings) if contract is not None else ""

    output: ChatOutput | None = None
    attempts: list[dict[str, Any]] = []
    quoter = Quoter(settings=settings, contract_id=contract.id) if contract is not None else None
    if contract is None:
        reply = _lookup_note(turn) + NO_CONTRACT_REPLY
    elif (turn.switch or turn.lookup) and not _asks_more(turn.question):
        reply = _lookup_note(turn) + (_contract_overview(contract, turn.extraction) if turn.switch else "")
    else:
        request = ChatRequest(
            question=turn.question,
            document_text=text,
            passages=retrieval.select(turn.question, text, budget=settings.chat_context_chars) if text else (),
            history=tuple(turn.history[-settings.chat_history_messages:] if settings.chat_history_messages else ()),
            contract=_contract_facts(contract),
            extraction=_extraction_facts(turn.extraction),
            tools=(quoter.tool(),),
        )
        try:
            chained = ProviderChain(settings, primary=payload.get("provider")).answer(request=request)
        except AllProvidersFailed as exc:
            with db.unit_of_work(settings) as session:
                _audit(session, job, turn, {"outcome": "failed", "error": str(exc), "attempts": exc.attempts})
            raise ChatFailed(
                f"the assistant could not answer: {exc}. The question is saved in the session; ask again in a moment."
            ) from None
        output, attempts = chained.output, chained.attempts
        reply = _lookup_note(turn) + output.text

    quoted: list[refund_quotes.Draft] = []
    if quoter is not None:
        reply, quoted = quoter.cited(reply)
    # A quote's source is the contract's refund clause, located in the text like any other.
    clauses = [d.result["clause"]["quote"] for d in quoted if d.result.get("clause")]
    sources, dropped = verified_sources([*clauses, *(output.quotes if output else ())], text)
    answer_id = uuid.uuid4()
    result: dict[str, Any] = {
        "response": reply,
        "sources": sources,
        "context": {
            "contract_id": str(contract.id) if contract else None,
            "account_number": contract.account_number if contract else None,
            "customer_name": contract.customer_name if contract else None,
            "extraction_status": (turn.extraction.status if turn.extraction else "none") if contract else None,
        },
        "session_id": str(session_id),
        "message_id": str(answer_id),
        "answered": bool(output.answered) if output else turn.switch is not None,
        "provider": output.provider if output else None,
        "model": output.model if output else None,
    }
    if turn.switch:
        result["contract_switch"] = turn.switch
    if turn.lookup:
        result["account_lookup"] = turn.lookup
    if quoted:
        result["refund_quotes"] = [draft.summary() for draft in quoted]
    if dropped:
        # Quotes the provider gave that are not in the document: never shown as sources.
        result["dropped_quotes"] = dropped

    def write(session: Session) -> None:
        row = ChatMessage(
            id=answer_id, session_id=session_id, contract_id=contract.id if contract else None, job_id=job.id,
            role="assistant", content=reply, sources=sources, user_id=job.requested_by,
        )
        session.add(row)
        session.flush()
        for draft in quoted:
            refund_quotes.save(session=session, draft=draft, origin="chat", requested_by=job.requested_by, request_id=job.request_id)
        data: dict[str, Any] = {
            "outcome": "answered", "answered": result["answered"], "sources": len(sources), "dropped_quotes": dropped,
            "provider": result["provider"], "model": result["model"], "attempts": attempts,
        }
        if output is not None:
            data.update(latency_ms=output.latency_ms, prompt_tokens=output.prompt_tokens, completion_tokens=output.completion_tokens)
        if turn.switch:
            data["contract_switch"] = turn.switch
        if quoted:
            data["refund_quote_ids"] = [str(draft.id) for draft in quoted]
        _audit(session, job, turn, data)
        message = sessions.message_dict(row)
        switched_to = contract.id if turn.switch and contract else None
        after_commit(session, lambda: store.append(session_id, message, contract_id=switched_to))

    return Completion(result=result, write=write)


def _read_turn(*, session: Session, settings: Settings, store: sessions.SessionStore, session_id: uuid.UUID, message_id: uuid.UUID) -> _Turn:
    question_row = session.get(ChatMessage, message_id)
    if question_row is None:
        raise NotFound(f"chat message {message_id} does not exist")
    chat = sessions.load(session=session, store=store, session_id=session_id, must_hold=str(message_id))
    history: list[ChatTurn] = []
    for message in chat.messages if chat else []:
        if message["message_id"] == str(message_id):
            break
        history.append(ChatTurn(role=message["role"], content=message["content"]))
    contract = session.get(Contract, question_row.contract_id) if question_row.contract_id else None
    turn = _Turn(session_id, question_row.content, history, contract, question_row.contract_id, None)
    _look_up_account(session=session, settings=settings, turn=turn)
    if turn.contract is not None:
        turn.extraction = session.scalars(select(Extraction).where(Extraction.contract_id == turn.contract.id)).first()
    return turn


def _look_up_account(*, session: Session, settings: Settings, turn: _Turn) -> None:
    """Switch the turn to the contract of an account number in the question, if it names one."""
    current = turn.contract.account_number if turn.contract else None
    number = next((n for n in find_account_numbers(turn.question) if n != current), None)
    if number is None:
        return
    try:
        # The contracts search: cache, database, external source; audited as `search`.
        found = contracts.search(
            session=session, cache=get_cache(settings), source=get_source(settings), account_number=number, ttl=settings.cache_ttl_contract,
        )
    except NotFound:
        turn.lookup = {"account_number": number, "found": False}
        return
    except AppError as exc:
        turn.lookup = {"account_number": number, "found": False, "error": exc.message}
        return
    contract = session.get(Contract, uuid.UUID(found.contract["contract_id"]))
    turn.switch = {
        "account_number": number,
        "contract_id": str(contract.id),
        "customer_name": contract.customer_name,
        "previous_contract_id": str(turn.previous_contract_id) if turn.previous_contract_id else None,
    }
    turn.contract = contract


def _asks_more(question: str) -> bool:
    """Whether a message that names an account also asks something else."""
    if "?" in question:
        return True
    words = [w for w in re.findall(r"[a-z']+", question.lower()) if w not in _LOOKUP_WORDS]
    return len(words) >= 2


def _lookup_note(turn: _Turn) -> str:
    if turn.switch:
        who = f" ({turn.switch['customer_name']})" if turn.switch.get("customer_name") else ""
        return f"Switched to the contract of account {turn.switch['account_number']}{who}. "
    if turn.lookup:
        if turn.lookup.get("error"):
            note = f"I could not look up account {turn.lookup['account_number']} just now ({turn.lookup['error']})."
        else:
            note = f"I found no contract with account number {turn.lookup['account_number']}."
        still = f" We are still on account {turn.contract.account_number}." if turn.contract else ""
        return f"{note}{still} "
    return ""


def _contract_overview(contract: Contract, extraction: Extraction | None) -> str:
    facts = [f"Customer: {contract.customer_name}."]
    if contract.vehicle:
        vehicle = contract.vehicle if isinstance(contract.vehicle, dict) else {"description": str(contract.vehicle)}
        facts.append("Vehicle: " + " ".join(str(vehicle[k]) for k in ("year", "make", "model", "description") if vehicle.get(k)) + ".")
    if extraction is None:
        facts.append("Its refund terms have not been extracted yet.")
    else:
        state = "approved" if extraction.status == "approved" else "extracted, not yet reviewed"
        facts.append(
            f"Refund terms ({state}): GAP premium {money(extraction.gap_insurance_premium) or 'not stated'}, "
            f"refund method {extraction.refund_calculation_method or 'not stated'}, "
            f"cancellation fee {money(extraction.cancellation_fee) or 'not stated'}."
        )
    return " ".join(facts) + " What would you like to know about it?"


def _document_text(contract: Contract, settings: Settings) -> str:
    """The contract's text; read from its PDF when the row has none (extraction stores it)."""
    if contract.document_text and contract.document_text.strip():
        return contract.document_text
    if not contract.pdf_path and not contract.s3_key:
        return ""
    try:
        return documents.text_from_pdf(documents.pdf_bytes(contract=contract, settings=settings, cache=get_cache(settings)))
    except AppError as exc:
        logger.warning("chat: the contract's PDF could not be read: %s", exc.message)
        return ""


def _contract_facts(contract: Contract) -> dict[str, Any]:
    return {
        "account_number": contract.account_number,
        "customer_name": contract.customer_name,
        "vehicle": contract.vehicle,
        "dealer": contract.dealer,
        "lender": contract.lender,
        "contract_start_date": contract.contract_start_date.isoformat() if contract.contract_start_date else None,
        "term_months": contract.term_months,
        "state": contract.state,
    }


def _extraction_facts(extraction: Extraction | None) -> dict[str, Any] | None:
    if extraction is None:
        return None
    return {"status": extraction.status, "fields": {name: _field_fact(extraction, name) for name in FIELD_NAMES}}


def _field_fact(extraction: Extraction, name: str) -> dict[str, Any]:
    source = getattr(extraction, f"{name}_source")
    # A reviewer's correction has no passage behind it: its source marks who set it, not a quote.
    if source == REVIEWER_SOURCE:
        return {"value": money(getattr(extraction, name)), "quote": None, "corrected_by_reviewer": True}
    return {"value": money(getattr(extraction, name)), "quote": source}


def verified_sources(quotes: tuple[str, ...] | list[str], text: str) -> tuple[list[dict[str, Any]], int]:
    """Quotes found in the document, as ``{quote, start, end}`` with ``text[start:end] == quote``;
    and how many were not found (dropped, never shown as sources)."""
    sources: list[dict[str, Any]] = []
    dropped = 0
    for quote in quotes:
        span = locate(quote, text) if text else None
        if span is None:
            dropped += 1
            continue
        start, end = span
        if not any(s["start"] == start and s["end"] == end for s in sources):
            sources.append({"quote": text[start:end], "start": start, "end": end})
    return sources, dropped


def _audit(session: Session, job: Job, turn: _Turn, data: dict[str, Any]) -> None:
    audit.record(
        session=session,
        event_type="chat",
        contract_id=turn.contract.id if turn.contract else None,
        request_id=job.request_id,
        data={"session_id": str(turn.session_id), "job_id": str(job.id), **data},
    )


CHAT = JobKind(name="chat", task="chat.run", queue="interactive", prepare=nothing_to_prepare, run=run)
