"""A batch's results as CSV: one row per contract given a job, written as it is read.

The rows are read in chunks from a session of their own (``yield_per``), so a batch of a
hundred thousand contracts is neither held in memory nor kept in one response buffer.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Contract, Extraction, Job
from pipeline.core.formatting import money
from pipeline.core.settings import Settings
from pipeline.extraction.grounding import badge
from pipeline.vocabulary import FIELD_NAMES

COLUMNS = (
    "account_number", "contract_id", "status", "extraction_status",
    *(f"{name}{suffix}" for name in FIELD_NAMES for suffix in ("", "_confidence", "_badge")),
    "error",
)
ROWS_PER_READ = 1000


def _line(values: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(["" if v is None else v for v in values])
    return out.getvalue()


def results_csv(*, factory: sessionmaker[Session], settings: Settings, batch_id: uuid.UUID) -> Iterator[str]:
    """The header, then a line per job of the batch, by account number."""
    yield _line(list(COLUMNS))
    query = (
        select(Contract.account_number, Job.contract_id, Job.status, Job.error, Extraction)
        .join(Contract, Contract.id == Job.contract_id)
        .outerjoin(Extraction, Extraction.contract_id == Job.contract_id)
        .where(Job.batch_id == batch_id, Job.kind == "extraction")
        .order_by(Contract.account_number, Job.id)
        .execution_options(yield_per=ROWS_PER_READ)
    )
    with factory() as session:
        for account_number, contract_id, status, error, extraction in session.execute(query):
            values: list[object] = [account_number, str(contract_id), status, extraction.status if extraction else None]
            for name in FIELD_NAMES:
                if extraction is None:
                    values += [None, None, None]
                    continue
                confidence = getattr(extraction, f"{name}_confidence")
                values += [
                    money(getattr(extraction, name)),
                    None if confidence is None else f"{confidence:.2f}",
                    badge(confidence, high=settings.confidence_high, medium=settings.confidence_medium),
                ]
            values.append(error)
            yield _line(values)
