"""Review: a person corrects what the extractor got wrong and approves, in one submit.

The extraction row stays the source of truth: a correction overwrites the field (confidence 1.0,
source "reviewer", no offsets) and is also kept as a corrections row, which measures the
extractor. The whole submit is one unit of work: corrections, the field updates, the approval and
its audit event commit together or not at all, and a submit with a bad correction changes nothing.

Two reviewers submitting the same extraction at once are serialised by PostgreSQL: the row is
read with SELECT ... FOR UPDATE, so the second waits for the first to commit, then sees
``approved`` and gets a 409.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contract, Correction, Extraction
from models.base import utcnow
from models.session import after_commit
from pipeline import audit
from pipeline.core.cache import Cache, invalidate_contracts
from pipeline.core.errors import Conflict, NotFound, ValidationFailed
from pipeline.core.formatting import iso_utc, money
from pipeline.text.fields import canonical
from pipeline.vocabulary import FIELD_NAMES, MONEY_FIELDS, REFUND_METHODS

logger = logging.getLogger(__name__)

REVIEWER_SOURCE = "reviewer"


@dataclass(frozen=True)
class FieldCorrection:
    """One checked correction: the field and its canonical new value."""

    field_name: str
    corrected_value: str
    correction_reason: str | None = None


def parse_corrections(raw: list[dict[str, Any]]) -> list[FieldCorrection]:
    """Check every correction and return them canonical; raise ValidationFailed naming each bad one.

    Refused: an unknown field, a field corrected twice, an empty or unreadable value, a negative
    amount, an unknown refund method. Every problem is reported, not only the first.
    """
    # Shaped like the framework's own field errors, plus the messages per field name.
    errors: dict[str, dict[str, list[str]]] = {}
    by_field: dict[str, list[str]] = {}
    checked: list[FieldCorrection] = []
    seen: set[str] = set()

    def refuse(index: int, key: str, field: str, message: str) -> None:
        errors.setdefault(str(index), {}).setdefault(key, []).append(message)
        by_field.setdefault(field, []).append(message)

    for index, item in enumerate(raw):
        name = item.get("field_name")
        if name not in FIELD_NAMES:
            refuse(index, "field_name", str(name), f"unknown field {name!r}; fields are {', '.join(FIELD_NAMES)}")
            continue
        if name in seen:
            refuse(index, "field_name", name, f"{name} is corrected more than once")
            continue
        seen.add(name)
        value = item.get("corrected_value")
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)) or (name not in MONEY_FIELDS and not isinstance(value, str)):
            wanted = "an amount like 795.00" if name in MONEY_FIELDS else f"one of {', '.join(REFUND_METHODS)}"
            refuse(index, "corrected_value", name, f"{name} must be {wanted}")
            continue
        try:
            value = canonical(name, value)
        except ValueError as exc:
            text = str(exc)
            refuse(index, "corrected_value", name, text if text.startswith(name) else f"{name}: {text}")
            continue
        reason = item.get("correction_reason")
        checked.append(FieldCorrection(name, value, reason.strip() or None if isinstance(reason, str) else None))

    if errors:
        message = "; ".join(m for ms in by_field.values() for m in ms)
        raise ValidationFailed(message, details={"json": {"corrections": errors}, "fields": by_field})
    return checked


def _stored(extraction: Extraction, field: str) -> str | None:
    """A field's current value in its canonical text form (as corrections keep it)."""
    value = getattr(extraction, field)
    return money(value) if field in MONEY_FIELDS else value


def _lock(session: Session, extraction_id: uuid.UUID) -> tuple[Extraction, str]:
    """The extraction, locked until this unit of work ends, and its contract's account number."""
    row = session.execute(
        select(Extraction, Contract.account_number)
        .join(Contract, Contract.id == Extraction.contract_id)
        .where(Extraction.id == extraction_id)
        .with_for_update(of=Extraction)
        # Whatever this session read before, the locked row's current values win.
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(f"extraction {extraction_id} does not exist")
    return row[0], row[1]


def submit(
    *,
    session: Session,
    extraction_id: uuid.UUID,
    corrections: list[dict[str, Any]],
    notes: str | None = None,
    user_id: uuid.UUID | None = None,
    cache: Cache | None = None,
) -> tuple[Extraction, list[Correction]]:
    """Apply the corrections and approve the extraction; add everything to the unit of work.

    Raises ValidationFailed (422) for a bad correction, NotFound (404) for an unknown extraction
    and Conflict (409) when it is already approved. A correction that only restates the current
    value is no correction: it is listed as ``confirmed`` in the audit event, and no row is kept,
    so the corrections measure real extractor errors only.
    """
    checked = parse_corrections(corrections)
    extraction, account_number = _lock(session, extraction_id)
    if extraction.status == "approved":
        raise Conflict(
            f"extraction {extraction_id} was already approved at {iso_utc(extraction.approved_at)}",
            details={"approved_at": iso_utc(extraction.approved_at), "approved_by": str(extraction.approved_by) if extraction.approved_by else None},
        )

    written: list[Correction] = []
    confirmed: list[str] = []
    flags = dict(extraction.flags or {})
    for item in checked:
        original = _stored(extraction, item.field_name)
        if original == item.corrected_value:
            confirmed.append(item.field_name)
            continue
        correction = Correction(
            extraction_id=extraction.id,
            field_name=item.field_name,
            original_value=original,
            corrected_value=item.corrected_value,
            correction_reason=item.correction_reason,
            corrected_by=user_id,
        )
        session.add(correction)
        written.append(correction)
        name = item.field_name
        setattr(extraction, name, Decimal(item.corrected_value) if name in MONEY_FIELDS else item.corrected_value)
        setattr(extraction, f"{name}_confidence", 1.0)
        setattr(extraction, f"{name}_source", REVIEWER_SOURCE)
        setattr(extraction, f"{name}_start", None)
        setattr(extraction, f"{name}_end", None)
        # The provider's flags described its value, which is gone.
        flags.pop(name, None)
    extraction.flags = flags or None

    extraction.status = "approved"
    extraction.approved_by = user_id
    extraction.approved_at = utcnow()
    extraction.notes = notes.strip() or None if isinstance(notes, str) else None
    audit.record(
        session=session,
        event_type="approve",
        contract_id=extraction.contract_id,
        extraction_id=extraction.id,
        user_id=user_id,
        data={
            "corrections": [
                {"field": c.field_name, "original": c.original_value, "corrected": c.corrected_value, "reason": c.correction_reason}
                for c in written
            ],
            "confirmed": confirmed,
            "notes": extraction.notes,
        },
    )
    session.flush()
    if cache is not None:
        # Search answers embed the extraction's state and values; drop them once this is durable.
        after_commit(session, lambda: invalidate_contracts(cache, account_number))
    logger.info(
        "extraction approved",
        extra={"extraction_id": str(extraction.id), "corrections": [c.field_name for c in written]},
    )
    return extraction, written


def corrections_view(corrections: list[Correction]) -> list[dict[str, Any]]:
    return [
        {
            "field_name": c.field_name,
            "original_value": c.original_value,
            "corrected_value": c.corrected_value,
            "correction_reason": c.correction_reason,
            "corrected_by": str(c.corrected_by) if c.corrected_by else None,
            "created_at": iso_utc(c.created_at),
        }
        for c in corrections
    ]


def list_corrections(*, session: Session, extraction_id: uuid.UUID) -> list[Correction]:
    return list(
        session.scalars(select(Correction).where(Correction.extraction_id == extraction_id).order_by(Correction.created_at, Correction.id))
    )
