"""Review: one submit corrects and approves an extraction, all or nothing, exactly once."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from models import AuditEvent, Contract, Correction, Extraction
from pipeline.core.cache import contract_key
from tests.conftest import ROOT
from tests.support.waiting import wait_for
from tests.support.web import WebServer

ACCOUNT = "4350948342"
TEXT = "GAP WAIVER. The GAP charge is $795.00. Refunds are pro rata. A cancellation fee of $50 applies."


def _pending(session_factory, number=ACCOUNT):
    """A contract with a pending extraction as a provider left it (one field flagged)."""
    with session_factory() as session:
        contract = Contract(account_number=number, customer_name="Maria Lopez", document_text=TEXT, text_status="available")
        session.add(contract)
        session.flush()
        extraction = Extraction(
            contract_id=contract.id,
            gap_insurance_premium=Decimal("795.00"), gap_insurance_premium_confidence=0.93,
            gap_insurance_premium_source="The GAP charge is $795.00", gap_insurance_premium_start=11, gap_insurance_premium_end=37,
            refund_calculation_method="pro_rata", refund_calculation_method_confidence=0.9,
            refund_calculation_method_source="Refunds are pro rata", refund_calculation_method_start=39, refund_calculation_method_end=59,
            cancellation_fee=Decimal("50.00"), cancellation_fee_confidence=0.4,
            cancellation_fee_source="A cancellation fee of $50 applies", cancellation_fee_start=61, cancellation_fee_end=94,
            flags={"cancellation_fee": ["amount_not_in_quote"], "gap_insurance_premium": ["low_margin"]},
            provider="local", model="local-rules",
        )
        session.add(extraction)
        session.commit()
        return contract.id, extraction.id


def _submit(client, extraction_id, body):
    return client.post(f"/api/v1/extractions/{extraction_id}/submit", json=body)


def _snapshot(session_factory, extraction_id):
    """Everything a submit may change: the extraction row, its corrections, the domain audit events."""
    with session_factory() as session:
        row = session.execute(select(Extraction.__table__).where(Extraction.id == extraction_id)).mappings().first()
        corrections = session.scalar(select(func.count()).select_from(Correction))
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type != "api_request"))
        return dict(row) if row else None, corrections, events


def _events(session_factory, event_type):
    with session_factory() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)).all()


def test_approve_without_corrections(client, session_factory):
    contract_id, extraction_id = _pending(session_factory)
    before, _, _ = _snapshot(session_factory, extraction_id)

    response = _submit(client, extraction_id, {"notes": "  Checked against the signed addendum. "})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    me = uuid.UUID(client.get("/api/v1/me").get_json()["user_id"])
    assert body["status"] == "approved" and body["approved_at"] and body["approved_by"] == str(me)
    assert body["notes"] == "Checked against the signed addendum."
    assert body["corrections"] == []
    assert body["fields"]["gap_insurance_premium"]["value"] == "795.00"
    assert body["fields"]["gap_insurance_premium"]["confidence"] == 0.93

    after, corrections, _ = _snapshot(session_factory, extraction_id)
    assert corrections == 0
    assert after["status"] == "approved" and after["approved_at"] is not None and after["approved_by"] == me
    unchanged = ("gap_insurance_premium", "refund_calculation_method", "cancellation_fee", "flags",
                 "cancellation_fee_confidence", "cancellation_fee_source", "cancellation_fee_start")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}

    [event] = _events(session_factory, "approve")
    assert (event.contract_id, event.extraction_id, event.user_id) == (contract_id, extraction_id, me)
    assert event.event_data == {"corrections": [], "confirmed": [], "notes": "Checked against the signed addendum."}
    assert event.request_id == response.headers["X-Request-ID"]
    assert [e["event_type"] for e in body["audit_trail"]] == ["approve"]


def test_approve_with_several_corrections(client, session_factory):
    _, extraction_id = _pending(session_factory)
    response = _submit(client, extraction_id, {
        "corrections": [
            {"field_name": "gap_insurance_premium", "corrected_value": "$1,095", "correction_reason": "section 2 says $1,095"},
            {"field_name": "refund_calculation_method", "corrected_value": "Rule of 78s"},
            {"field_name": "cancellation_fee", "corrected_value": 75, "correction_reason": "  "},
        ],
    })
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    me = uuid.UUID(client.get("/api/v1/me").get_json()["user_id"])
    fields = body["fields"]
    assert {name: f["value"] for name, f in fields.items()} == {
        "gap_insurance_premium": "1095.00", "refund_calculation_method": "rule_of_78", "cancellation_fee": "75.00",
    }
    for field in fields.values():
        assert field["confidence"] == 1.0 and field["badge"] == "high"
        assert field["source"] == {"quote": "reviewer", "start": None, "end": None}
        assert field["flags"] == []
    assert [(c["field_name"], c["original_value"], c["corrected_value"], c["correction_reason"]) for c in body["corrections"]] == [
        ("gap_insurance_premium", "795.00", "1095.00", "section 2 says $1,095"),
        ("refund_calculation_method", "pro_rata", "rule_of_78", None),
        ("cancellation_fee", "50.00", "75.00", None),
    ]

    with session_factory() as session:
        extraction = session.get(Extraction, extraction_id)
        assert extraction.status == "approved"
        assert extraction.gap_insurance_premium == Decimal("1095.00") and extraction.refund_calculation_method == "rule_of_78"
        assert extraction.cancellation_fee_start is None and extraction.cancellation_fee_end is None
        assert extraction.flags is None
        rows = session.scalars(select(Correction).order_by(Correction.field_name)).all()
        assert [(r.field_name, r.original_value, r.corrected_value, r.corrected_by) for r in rows] == [
            ("cancellation_fee", "50.00", "75.00", me),
            ("gap_insurance_premium", "795.00", "1095.00", me),
            ("refund_calculation_method", "pro_rata", "rule_of_78", me),
        ]
        assert all(r.extraction_id == extraction_id and r.created_at is not None for r in rows)

    [event] = _events(session_factory, "approve")
    assert event.event_data["corrections"] == [
        {"field": "gap_insurance_premium", "original": "795.00", "corrected": "1095.00", "reason": "section 2 says $1,095"},
        {"field": "refund_calculation_method", "original": "pro_rata", "corrected": "rule_of_78", "reason": None},
        {"field": "cancellation_fee", "original": "50.00", "corrected": "75.00", "reason": None},
    ]

    # Read back later, the extraction shows the reviewed values.
    again = client.get(f"/api/v1/extractions/{extraction_id}").get_json()
    assert again["fields"] == fields and again["status"] == "approved"


def test_restating_the_current_value_is_no_correction(client, session_factory):
    _, extraction_id = _pending(session_factory)
    response = _submit(client, extraction_id, {"corrections": [
        {"field_name": "gap_insurance_premium", "corrected_value": "795"},
        {"field_name": "cancellation_fee", "corrected_value": "No fee"},
    ]})
    assert response.status_code == 200
    body = response.get_json()
    assert [c["field_name"] for c in body["corrections"]] == ["cancellation_fee"]
    assert body["fields"]["gap_insurance_premium"]["confidence"] == 0.93
    assert body["fields"]["cancellation_fee"]["value"] == "0.00"
    # The premium's provider flag stays with the provider's value; the fee's went with it.
    assert body["fields"]["gap_insurance_premium"]["flags"] == ["low_margin"]
    [event] = _events(session_factory, "approve")
    assert event.event_data["confirmed"] == ["gap_insurance_premium"]
    assert [c["field"] for c in event.event_data["corrections"]] == ["cancellation_fee"]


@pytest.mark.parametrize(
    ("corrections", "named", "says"),
    [
        ([{"field_name": "gap_premium", "corrected_value": "795"}], "gap_premium", "unknown field"),
        ([{"field_name": "cancellation_fee", "corrected_value": "75"}, {"field_name": "cancellation_fee", "corrected_value": "80"}],
         "cancellation_fee", "more than once"),
        ([{"field_name": "gap_insurance_premium", "corrected_value": "   "}], "gap_insurance_premium", "empty"),
        ([{"field_name": "gap_insurance_premium", "corrected_value": None}], "gap_insurance_premium", "amount like"),
        ([{"field_name": "gap_insurance_premium", "corrected_value": "about eight hundred"}], "gap_insurance_premium", "amount like"),
        ([{"field_name": "cancellation_fee", "corrected_value": "-50"}], "cancellation_fee", "negative"),
        ([{"field_name": "cancellation_fee", "corrected_value": -50}], "cancellation_fee", "negative"),
        ([{"field_name": "refund_calculation_method", "corrected_value": "whatever the dealer says"}], "refund_calculation_method", "must be one of"),
        ([{"field_name": "refund_calculation_method", "corrected_value": 78}], "refund_calculation_method", "must be one of"),
        ([{"field_name": "refund_calculation_method", "corrected_value": ""}], "refund_calculation_method", "empty"),
        # One good correction does not get through beside a bad one.
        ([{"field_name": "gap_insurance_premium", "corrected_value": "900"}, {"field_name": "cancellation_fee", "corrected_value": True}],
         "cancellation_fee", "amount like"),
    ],
)
def test_a_bad_correction_is_a_422_naming_the_field_and_changes_nothing(client, session_factory, corrections, named, says):
    _, extraction_id = _pending(session_factory)
    before = _snapshot(session_factory, extraction_id)

    response = _submit(client, extraction_id, {"corrections": corrections, "notes": "should not stick"})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "validation_error" and body["request_id"]
    assert named in body["message"] and says in body["message"]
    assert named in body["details"]["fields"]
    assert body["details"]["json"]["corrections"]

    assert _snapshot(session_factory, extraction_id) == before
    # The attempt itself is on the record, and nothing else.
    [attempt] = _events(session_factory, "api_request")
    assert attempt.event_data["status"] == 422 and attempt.extraction_id == extraction_id


@pytest.mark.parametrize(
    "body",
    [
        {"corrections": "cancellation_fee=75"},
        {"corrections": [{"field_name": "cancellation_fee"}]},
        {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "75", "confidence": 1}]},
        {"notes": 42},
    ],
)
def test_a_malformed_body_is_a_422_and_changes_nothing(client, session_factory, body):
    _, extraction_id = _pending(session_factory)
    before = _snapshot(session_factory, extraction_id)
    response = _submit(client, extraction_id, body)
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    assert _snapshot(session_factory, extraction_id) == before


def test_unknown_extraction_is_a_404_and_a_bad_id_a_422(client, session_factory):
    response = _submit(client, uuid.uuid4(), {})
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = _submit(client, "not-an-id", {})
    assert response.status_code == 422 and "extraction_id" in response.get_json()["message"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Correction)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "approve")) == 0


def test_a_second_submit_is_a_409_and_changes_nothing(client, session_factory):
    _, extraction_id = _pending(session_factory)
    first = _submit(client, extraction_id, {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "75"}]})
    assert first.status_code == 200
    before = _snapshot(session_factory, extraction_id)

    second = _submit(client, extraction_id, {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "99"}], "notes": "again"})
    assert second.status_code == 409, second.get_json()
    body = second.get_json()
    assert body["code"] == "conflict" and "already approved" in body["message"]
    assert body["details"]["approved_at"] == first.get_json()["approved_at"]
    assert _snapshot(session_factory, extraction_id) == before


def test_submit_drops_the_cached_search_answer(client, session_factory, redis_client):
    _, extraction_id = _pending(session_factory)
    search = lambda: client.post("/api/v1/contracts/search", json={"account_number": ACCOUNT})
    assert search().get_json()["extraction_status"] == "pending"
    cached = search()
    assert cached.headers["X-Cache"] == "hit" and cached.get_json()["extraction"]["cancellation_fee"] == "50.00"

    assert _submit(client, extraction_id, {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "75"}]}).status_code == 200
    assert redis_client.get(contract_key(ACCOUNT)) is None

    fresh = search()
    assert fresh.headers["X-Cache"] == "miss"
    assert fresh.get_json()["extraction_status"] == "approved"
    assert fresh.get_json()["extraction"]["cancellation_fee"] == "75.00"


def test_a_refused_submit_keeps_the_cached_answer(client, session_factory, redis_client):
    _, extraction_id = _pending(session_factory)
    client.post("/api/v1/contracts/search", json={"account_number": ACCOUNT})
    assert _submit(client, extraction_id, {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "-1"}]}).status_code == 422
    assert redis_client.get(contract_key(ACCOUNT)) is not None


# --- two reviewers at once, through a real server --------------------------------------------------


@pytest.fixture
def web(clean_db, redis_client):
    import os

    server = WebServer(cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, workers=2, threads=4)
    yield server
    server.stop()


def _waiting_on_locks(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ))


def test_two_concurrent_submits_one_wins(web, session_factory):
    _, extraction_id = _pending(session_factory)
    path = f"/api/v1/extractions/{extraction_id}/submit"
    bodies = [
        {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "75", "correction_reason": "reviewer A"}], "notes": "A"},
        {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "80", "correction_reason": "reviewer B"}], "notes": "B"},
    ]
    answers: dict[int, tuple] = {}

    def send(i):
        answers[i] = web.request("POST", path, bodies[i])

    # Hold the row so both requests are certainly in flight together: each must be stopped at
    # the lock (a submit that read the row without locking it would both pass and approve twice).
    with session_factory() as holder:
        holder.execute(select(Extraction).where(Extraction.id == extraction_id).with_for_update())
        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: _waiting_on_locks(session_factory) >= 2, timeout=30, what="both submits to wait on the row lock")
        holder.rollback()
    for t in threads:
        t.join(timeout=60)

    statuses = sorted(status for status, _ in answers.values())
    assert statuses == [200, 409], answers
    winner = next(i for i, (status, _) in answers.items() if status == 200)
    loser_body = next(body for status, body in answers.values() if status == 409)
    assert loser_body["code"] == "conflict"

    with session_factory() as session:
        corrections = session.scalars(select(Correction)).all()
        assert [(c.corrected_value, c.correction_reason) for c in corrections] == [
            (bodies[winner]["corrections"][0]["corrected_value"] + ".00", f"reviewer {'AB'[winner]}")
        ]
        extraction = session.get(Extraction, extraction_id)
        assert extraction.notes == "AB"[winner] and extraction.status == "approved"
    assert len(_events(session_factory, "approve")) == 1
    # Both attempts are on the record, the loser with its 409.
    assert sorted(e.event_data["status"] for e in _events(session_factory, "api_request")) == [200, 409]
