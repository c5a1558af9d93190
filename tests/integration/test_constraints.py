"""The database itself keeps the rules: unique accounts, one extraction per contract, append-only
audit events, status checks, at most one live extraction job per contract."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models import AuditEvent, Contract, Extraction, Job


@pytest.fixture
def session(clean_db, session_factory):
    with session_factory() as session:
        yield session
        session.rollback()


def _contract(session, number="4350948342"):
    contract = Contract(account_number=number, customer_name="Maria Lopez")
    session.add(contract)
    session.commit()
    return contract


def test_duplicate_account_number_is_rejected(session):
    _contract(session)
    session.add(Contract(account_number="4350948342", customer_name="Someone Else"))
    with pytest.raises(IntegrityError, match="uq_contracts_account_number"):
        session.commit()


def test_second_extraction_for_a_contract_is_rejected(session):
    contract = _contract(session)
    session.add(Extraction(contract_id=contract.id))
    session.commit()
    session.add(Extraction(contract_id=contract.id))
    with pytest.raises(IntegrityError, match="uq_extractions_contract_id"):
        session.commit()


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"status": "rejected"}, "ck_extractions_status"),
        ({"refund_calculation_method": "pro-rata"}, "ck_extractions_refund_method"),
        ({"gap_insurance_premium": Decimal("-1.00")}, "ck_extractions_premium_non_negative"),
        ({"cancellation_fee_confidence": 1.5}, "ck_extractions_cancellation_fee_confidence"),
        ({"status": "approved"}, "ck_extractions_approved_has_time"),
    ],
)
def test_extraction_checks(session, values, constraint):
    contract = _contract(session)
    session.add(Extraction(contract_id=contract.id, **values))
    with pytest.raises(IntegrityError, match=constraint):
        session.commit()


def test_approved_extraction_with_time_is_accepted(session):
    contract = _contract(session)
    session.add(Extraction(contract_id=contract.id, status="approved", approved_at=datetime.now(timezone.utc)))
    session.commit()


def test_one_live_extraction_job_per_contract(session):
    contract = _contract(session)
    session.add(Job(kind="extraction", contract_id=contract.id))
    session.commit()
    session.add(Job(kind="extraction", contract_id=contract.id))
    with pytest.raises(IntegrityError, match="uq_jobs_active_extraction_contract"):
        session.commit()
    session.rollback()
    # Finished jobs do not count: a failed job can be retried by a new one.
    session.execute(text("UPDATE jobs SET status = 'failed'"))
    session.add(Job(kind="extraction", contract_id=contract.id))
    session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET event_type = 'view'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_audit_events_are_append_only(clean_db, owner_session_factory, statement):
    # As the owner: the service's role may not even try (test_database_roles), and the triggers
    # hold for the role that owns the table too.
    with owner_session_factory() as session:
        session.add(AuditEvent(event_type="search", event_data={"outcome": "found"}))
        session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
            session.commit()
        session.rollback()
        assert session.scalars(select(AuditEvent.event_type)).all() == ["search"]


def test_audit_event_type_is_checked(session):
    session.add(AuditEvent(event_type="hack", event_data={}))
    with pytest.raises(IntegrityError, match="ck_audit_events_event_type"):
        session.commit()
