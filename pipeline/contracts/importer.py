"""Loading contracts from JSON Lines, idempotently, with a report of what happened to each row.

Rows are read one at a time and written in chunks, each chunk its own transaction, so a file of
a million contracts neither holds one giant transaction nor sits in memory. Importing the same
file twice inserts and updates nothing the second time.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Contract
from models.session import after_commit, session_scope
from pipeline import audit
from pipeline.contracts.accounts import normalize_account_number
from pipeline.core.cache import Cache, get_cache, invalidate_contracts
from pipeline.core.db import commit_in_chunks

logger = logging.getLogger(__name__)

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split()
)
REQUIRED = ("account_number", "customer_name")
OPTIONAL = (
    "dealer",
    "lender",
    "vehicle",
    "contract_start_date",
    "term_months",
    "state",
    "document_text",
    "pdf_path",
    "s3_bucket",
    "s3_key",
)
# Columns an import may set; comparing them decides "updated" versus "unchanged".
COLUMNS = (
    "customer_name",
    "dealer",
    "lender",
    "vehicle",
    "contract_start_date",
    "term_months",
    "state",
    "document_text",
    "pdf_path",
    "s3_bucket",
    "s3_key",
)
_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.+)$")
MAX_TEXT_CHARS = 2_000_000


class RowError(ValueError):
    """A row that cannot be imported; the message says why."""


@dataclass
class Rejection:
    line: int
    account_number: str | None
    reason: str


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + len(self.rejected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
        }


def _text(row: dict[str, Any], name: str, limit: int = 200) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError(f"{name} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise RowError(f"{name} is longer than {limit} characters")
    return value or None


def _vehicle(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"description": value.strip()} if value.strip() else None
    if isinstance(value, dict):
        allowed = {"year", "make", "model", "vin", "description"}
        unknown = set(value) - allowed
        if unknown:
            raise RowError(f"vehicle has unknown keys: {', '.join(sorted(unknown))}")
        year = value.get("year")
        if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100):
            raise RowError("vehicle.year must be a year between 1900 and 2100")
        vin = value.get("vin")
        if vin is not None and (not isinstance(vin, str) or not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin.upper())):
            raise RowError("vehicle.vin must be 17 letters and digits (no I, O or Q)")
        return {k: (v.upper() if k == "vin" else v) for k, v in value.items() if v is not None}
    raise RowError("vehicle must be a string or an object")


def parse_row(row: Any) -> dict[str, Any]:
    """Validate one decoded JSON row and return the contract's column values."""
    if not isinstance(row, dict):
        raise RowError("row must be a JSON object")
    unknown = set(row) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise RowError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise RowError(f"{name} is required")
    try:
        account_number = normalize_account_number(row["account_number"])
    except ValueError as exc:
        raise RowError(str(exc)) from None

    start = row.get("contract_start_date")
    if start is not None:
        try:
            start = date.fromisoformat(start) if isinstance(start, str) else None
        except ValueError:
            start = None
        if start is None:
            raise RowError("contract_start_date must be a date like 2024-03-31")

    term = row.get("term_months")
    if term is not None and (not isinstance(term, int) or isinstance(term, bool) or not 1 <= term <= 240):
        raise RowError("term_months must be a whole number from 1 to 240")

    state = _text(row, "state", 2)
    if state is not None:
        state = state.upper()
        if state not in US_STATES:
            raise RowError(f"state {state!r} is not a US state code")

    document_text = row.get("document_text")
    if document_text is not None:
        if not isinstance(document_text, str):
            raise RowError("document_text must be a string")
        if len(document_text) > MAX_TEXT_CHARS:
            raise RowError(f"document_text is longer than {MAX_TEXT_CHARS} characters")
        document_text = document_text if document_text.strip() else None

    pdf_path = _text(row, "pdf_path", 500)
    s3_bucket = _text(row, "s3_bucket", 255)
    s3_key = _text(row, "s3_key", 1024)
    if pdf_path and (match := _S3_URI.match(pdf_path)):
        s3_bucket, s3_key, pdf_path = match["bucket"], match["key"], None
    elif pdf_path and (pdf_path.startswith("/") or ".." in pdf_path.split("/")):
        raise RowError("pdf_path must be relative to the PDF folder (or an s3:// URI)")
    if s3_bucket and not s3_key:
        raise RowError("s3_bucket needs an s3_key")

    return {
        "account_number": account_number,
        "customer_name": _text(row, "customer_name"),
        "dealer": _text(row, "dealer"),
        "lender": _text(row, "lender"),
        "vehicle": _vehicle(row.get("vehicle")),
        "contract_start_date": start,
        "term_months": term,
        "state": state,
        "document_text": document_text,
        "pdf_path": pdf_path,
        "s3_bucket": s3_bucket,
        "s3_key": s3_key,
    }


def read_jsonl(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """(line number, decoded row) for every non-blank line; a bad line yields a RowError."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, RowError(f"not valid JSON: {exc.msg} at column {exc.colno}")


def upsert(
    *,
    session: Session,
    rows: list[tuple[int, dict[str, Any]]],
    source: str,
    report: ImportReport,
    changed_accounts: list[str] | None = None,
) -> None:
    """Insert new contracts and update changed ones among already validated rows."""
    numbers = [values["account_number"] for _, values in rows]
    existing = {c.account_number: c for c in session.scalars(select(Contract).where(Contract.account_number.in_(numbers)))}
    for _, values in rows:
        contract = existing.get(values["account_number"])
        if contract is None:
            contract = Contract(**values, source=source)
            contract.text_status = "available" if values["document_text"] else "pending"
            session.add(contract)
            existing[contract.account_number] = contract
            report.inserted += 1
            continue
        changed = {name: values[name] for name in COLUMNS if getattr(contract, name) != values[name]}
        if not changed:
            report.unchanged += 1
            continue
        for name, value in changed.items():
            setattr(contract, name, value)
        if "document_text" in changed:
            contract.text_status = "available" if values["document_text"] else "pending"
        report.updated += 1
        if changed_accounts is not None:
            changed_accounts.append(contract.account_number)
    session.flush()


def import_rows(
    *,
    factory: sessionmaker[Session],
    rows: Iterable[tuple[int, Any]],
    source: str = "import",
    chunk_size: int = 500,
    origin: str | None = None,
    cache: Cache | None = None,
) -> ImportReport:
    """Validate and write rows chunk by chunk; return what happened to each."""
    cache = cache or get_cache()
    report = ImportReport()
    seen: dict[str, int] = {}

    def valid_rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for line, row in rows:
            try:
                if isinstance(row, RowError):
                    raise row
                values = parse_row(row)
                first = seen.get(values["account_number"])
                if first is not None:
                    raise RowError(f"account number repeats line {first} of this file")
                seen[values["account_number"]] = line
            except RowError as exc:
                number = row.get("account_number") if isinstance(row, dict) else None
                report.rejected.append(Rejection(line, str(number) if number is not None else None, str(exc)))
                continue
            yield line, values

    changed: list[str] = []

    def write(session: Session, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        upsert(session=session, rows=chunk, source=source, report=report, changed_accounts=changed)
        # Agents must not keep seeing the old values from the search cache.
        accounts = list(changed)
        changed.clear()
        after_commit(session, lambda: invalidate_contracts(cache, *accounts))

    commit_in_chunks(factory=factory, items=valid_rows(), chunk_size=chunk_size, write=write)
    if report.inserted or report.updated or report.rejected:
        # A re-run that changed nothing leaves no trace: the audit trail records changes.
        with session_scope(factory) as session:
            audit.record(
                session=session,
                event_type="import",
                data={"origin": origin, "source": source, **report.as_dict()},
            )
    logger.info("contracts imported", extra={"origin": origin, **report.as_dict()})
    return report
