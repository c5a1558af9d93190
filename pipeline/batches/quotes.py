"""Portfolio quotes: a batch of refund quotes, one ``refund_quote`` job per cancellation, on the
``bulk`` queue, for operators pricing a book of cancellations (payoffs, trade-ins, repossessions).

A batch is checked whole before anything is written: every row must name a contract (by id or
account number), a date and a reason; a bad row refuses the batch with every bad row listed, as
unknown contract ids refuse an extraction batch. The jobs are then written in chunks, each its own
transaction, and sent once it commits. A worker makes each quote like an agent's (read, compute,
store and audit, with the job's requester as the user); a quote that cannot be made (no
extraction, no start date, a cancellation before the start) fails its job with the reason, which
the batch's failures show. The results export as CSV, one row per cancellation in the order given.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from itertools import islice
from typing import Any, TextIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Batch, Contract, Job, RefundQuote
from models.session import after_commit
from pipeline.batches import service as batches
from pipeline.core import db
from pipeline.contracts.accounts import normalize_account_number
from pipeline.core.errors import AppError, NotFound, ValidationFailed
from pipeline.core.formatting import money
from pipeline.core.logs import get_user_id
from pipeline.jobs.kinds import Completion, JobKind
from pipeline.refunds import service
from pipeline.refunds.formulas import REASONS
from pipeline.core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

KIND = "refund_quote"
QUEUE = "bulk"
BAD_ROWS_SHOWN = 20
CSV_COLUMNS = (
    "row", "contract_id", "account_number", "cancellation_date", "reason", "claim_paid", "status", "quote_id",
    "eligible", "reason_code", "refund", "gross_refund", "fee_applied", "method", "factor", "rules_version",
    "warnings", "error",
)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True)
class Cancellation:
    """One row of a portfolio: which contract, when, why. ``row`` numbers it (1-based) as given."""

    row: int
    cancellation_date: date
    reason: str
    claim_paid: bool = False
    contract_id: uuid.UUID | None = None
    account_number: str | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"row": self.row, "cancellation_date": self.cancellation_date.isoformat(),
                                "reason": self.reason, "claim_paid": self.claim_paid}
        if self.account_number:
            data["account_number"] = self.account_number
        return data


class BadRows(ValidationFailed):
    """Rows the batch cannot take; ``details.rows`` lists them (row number, problem), nothing is written."""

    def __init__(self, problems: list[tuple[int, str]], *, where: str = "row") -> None:
        shown = problems[:BAD_ROWS_SHOWN]
        more = f" (first {BAD_ROWS_SHOWN} listed)" if len(problems) > BAD_ROWS_SHOWN else ""
        summary = "; ".join(f"{where} {row}: {problem}" for row, problem in shown[:3])
        super().__init__(
            f"{len(problems)} bad row{'s' if len(problems) != 1 else ''}{more}; nothing was created. {summary}",
            details={"rows": [{where: row, "problem": problem} for row, problem in shown], "bad_count": len(problems)},
        )
        self.problems = problems


# --- reading a CSV --------------------------------------------------------------------------------


def read_csv(stream: TextIO) -> list[Cancellation]:
    """Cancellations from CSV text with a header: ``contract_id`` or ``account_number``,
    ``cancellation_date`` (YYYY-MM-DD), ``reason``, optional ``claim_paid`` (true/false, yes/no,
    1/0). Rows are numbered by their line in the file. Raises BadRows listing every bad line."""
    reader = csv.DictReader(stream)
    header = {name.strip().lower() for name in reader.fieldnames or [] if name}
    missing = [name for name in ("cancellation_date", "reason") if name not in header]
    if not {"contract_id", "account_number"} & header:
        missing.insert(0, "contract_id or account_number")
    if missing:
        raise BadRows([(1, f"the header needs {', '.join(missing)} (it has {', '.join(sorted(header)) or 'nothing'})")], where="line")
    rows: list[Cancellation] = []
    problems: list[tuple[int, str]] = []
    for raw in reader:
        line = reader.line_num
        values = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        if not any(values.values()):
            continue
        try:
            rows.append(_row(line, values))
        except ValueError as exc:
            problems.append((line, str(exc)))
    if problems:
        raise BadRows(problems, where="line")
    if not rows:
        raise BadRows([(1, "the file has no cancellations")], where="line")
    return rows


def _row(number: int, values: dict[str, str]) -> Cancellation:
    contract_id = account_number = None
    if values.get("contract_id"):
        try:
            contract_id = uuid.UUID(values["contract_id"])
        except ValueError:
            raise ValueError(f"contract_id {values['contract_id'][:40]!r} is not a UUID") from None
    elif values.get("account_number"):
        try:
            account_number = normalize_account_number(values["account_number"])
        except ValueError as exc:
            raise ValueError(f"account_number {values['account_number'][:40]!r}: {exc}") from None
    else:
        raise ValueError("give a contract_id or an account_number")
    try:
        when = date.fromisoformat(values.get("cancellation_date", ""))
    except ValueError:
        raise ValueError(f"cancellation_date {values.get('cancellation_date', '')[:40]!r} is not a date like 2026-11-20") from None
    reason = values.get("reason", "").lower()
    if reason not in REASONS:
        raise ValueError(f"reason {reason[:40]!r} is not one of {', '.join(REASONS)}")
    paid = values.get("claim_paid", "").lower()
    if paid not in _TRUE | _FALSE:
        raise ValueError(f"claim_paid {paid[:20]!r} is not true or false")
    return Cancellation(row=number, cancellation_date=when, reason=reason, claim_paid=paid in _TRUE,
                        contract_id=contract_id, account_number=account_number)


# --- writing the batch ------------------------------------------------------------------------------


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def resolve(*, factory: sessionmaker[Session], cancellations: list[Cancellation], chunk_size: int) -> list[Cancellation]:
    """Every cancellation with its contract id; BadRows listing those that name no contract."""
    resolved: list[Cancellation] = []
    problems: list[tuple[int, str]] = []
    for chunk in _chunks(cancellations, chunk_size):
        ids = {c.contract_id for c in chunk if c.contract_id is not None}
        numbers = {c.account_number for c in chunk if c.account_number is not None}
        with factory() as session:
            known_ids = set(session.scalars(select(Contract.id).where(Contract.id.in_(ids)))) if ids else set()
            by_number = dict(session.execute(select(Contract.account_number, Contract.id).where(Contract.account_number.in_(numbers))).all()) if numbers else {}
        for item in chunk:
            if item.contract_id is not None:
                if item.contract_id not in known_ids:
                    problems.append((item.row, f"contract {item.contract_id} does not exist"))
                    continue
                resolved.append(item)
            elif item.account_number in by_number:
                resolved.append(replace(item, contract_id=by_number[item.account_number]))
            else:
                problems.append((item.row, f"no contract has account number {item.account_number}"))
    if problems:
        raise BadRows(problems)
    return resolved


def create(
    *,
    factory: sessionmaker[Session],
    settings: Settings,
    cancellations: list[Cancellation],
    request_id: str | None = None,
    chunk_size: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> batches.Created:
    """A batch of quote jobs on the bulk queue, written in chunks (each its own unit of work)."""
    size = chunk_size or settings.batch_chunk_size
    resolved = resolve(factory=factory, cancellations=cancellations, chunk_size=size)
    with db.transaction(factory) as session:
        batch = Batch(kind=KIND, status="queued", request_id=request_id, requested_by=get_user_id())
        session.add(batch)
        session.flush()
        batch_id = batch.id
    total = 0
    try:
        for chunk in _chunks(resolved, size):
            with db.transaction(factory) as session:
                total += _write_chunk(session, batch, chunk, request_id=request_id)
            if on_chunk:
                on_chunk(total, 0)
    finally:
        total, skipped = batches.finish_writing(factory, batch_id, request_id=request_id)
    logger.info("quote batch submitted: %d jobs", total, extra={"batch_id": str(batch_id)})
    return batches.Created(batch_id=batch_id, total=total, skipped=skipped)


def _write_chunk(session: Session, batch: Batch, chunk: list[Cancellation], *, request_id: str | None) -> int:
    now = datetime.now(timezone.utc)
    rows = [
        {"id": uuid.uuid4(), "kind": KIND, "status": "queued", "queue": QUEUE, "contract_id": item.contract_id,
         "batch_id": batch.id, "payload": item.payload(), "attempts": 0, "request_id": request_id,
         "requested_by": batch.requested_by, "created_at": now, "updated_at": now}
        for item in chunk
    ]
    session.execute(Job.__table__.insert(), rows)
    session.execute(update(Batch).where(Batch.id == batch.id).values(total=Batch.total + len(rows), updated_at=now))
    created = [row["id"] for row in rows]
    after_commit(session, lambda: batches.send_jobs(created, request_id, task=REFUND_QUOTE.task))
    return len(rows)


# --- the job ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    basis: service.Basis | None = None
    failure: AppError | None = None


def prepare(session: Session, job: Job) -> Prepared:
    """The contract's quote inputs, read with the claim; why not, when they cannot be had."""
    try:
        return Prepared(basis=service.read_basis(session=session, contract_id=job.contract_id))
    except AppError as exc:
        return Prepared(failure=exc)


def run(job: Job, prepared: Prepared) -> Completion:
    """Make one portfolio quote (the worker's side); it is stored with the job's success."""
    if prepared.failure is not None:
        raise prepared.failure
    payload = job.payload or {}
    draft = service.compute(
        basis=prepared.basis,
        settings=get_settings(),
        cancellation_date=date.fromisoformat(payload["cancellation_date"]),
        reason=payload["reason"],
        claim_paid=bool(payload.get("claim_paid")),
        origin="batch",
    )
    result = {key: value for key, value in draft.summary().items() if key not in ("steps", "clause")}

    def write(session: Session) -> None:
        service.save(session=session, draft=draft, origin="batch", job_id=job.id, requested_by=job.requested_by, request_id=job.request_id)

    return Completion(result=result, write=write)


# --- the results ---------------------------------------------------------------------------------------


def get_quote_batch_or_raise(*, session: Session, batch_id: uuid.UUID) -> Batch:
    batch = batches.get_or_raise(session=session, batch_id=batch_id)
    if batch.kind != KIND:
        raise NotFound(f"batch {batch_id} is a batch of {batch.kind}s; only refund-quote batches have quotes")
    return batch


def results_csv(*, factory: sessionmaker[Session], batch_id: uuid.UUID, rows_per_read: int = 500) -> Iterator[str]:
    """The batch's results as CSV text, a chunk at a time: one row per cancellation, in the order
    given, with its quote's figures, or its status and error when it has no quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    statement = (
        select(Job.payload, Job.status, Job.error, Job.contract_id, Contract.account_number, RefundQuote)
        .join(Contract, Contract.id == Job.contract_id)
        .outerjoin(RefundQuote, RefundQuote.job_id == Job.id)
        .where(Job.batch_id == batch_id, Job.kind == KIND)
        .order_by(Job.payload["row"].as_integer(), Job.id)
        .execution_options(yield_per=rows_per_read)
    )
    with factory() as session:
        for count, (payload, status, error, contract_id, account_number, quote) in enumerate(session.execute(statement), start=1):
            writer.writerow(_csv_row(payload or {}, status, error, contract_id, account_number, quote))
            if count % rows_per_read == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _csv_row(payload: dict[str, Any], status: str, error: str | None, contract_id: uuid.UUID, account_number: str,
             quote: RefundQuote | None) -> list[Any]:
    asked = [payload.get("row"), str(contract_id), account_number, payload.get("cancellation_date"), payload.get("reason"),
             "true" if payload.get("claim_paid") else "false"]
    if quote is None:
        return [*asked, status, "", "", "", "", "", "", "", "", "", "", error or ""]
    return [
        *asked, status, str(quote.id), "true" if quote.eligible else "false", quote.reason_code, money(quote.refund),
        money(quote.gross_refund), money(quote.fee_applied), quote.method or "", f"{quote.factor:.6f}", quote.rules_version,
        " | ".join((quote.result or {}).get("warnings", [])), "",
    ]


# One refund quote per cancellation, on the bulk queue.
REFUND_QUOTE = JobKind(name=KIND, task="refund_quote.run", queue=QUEUE, prepare=prepare, run=run)
