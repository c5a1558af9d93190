"""The API the console needs: the review queue, the batch list, batches by account number and a
batch's results as CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from models import Batch, Contract, Extraction, Job
from tests.support.auth import user_with_token

TEXT = "GAP WAIVER. The GAP charge is $795.00. Refunds are pro rata. A cancellation fee of $50 applies."


def _extraction(session, number, confidences, *, status="pending", created_at=None, batch=None, job_status="succeeded", error=None):
    """A contract with an extraction whose three confidences are given (premium, method, fee)."""
    contract = Contract(account_number=number, customer_name=f"Customer {number}", document_text=TEXT, text_status="available")
    session.add(contract)
    session.flush()
    premium, method, fee = confidences
    extraction = Extraction(
        contract_id=contract.id, status=status,
        gap_insurance_premium=Decimal("795.00"), gap_insurance_premium_confidence=premium,
        refund_calculation_method="pro_rata", refund_calculation_method_confidence=method,
        cancellation_fee=Decimal("50.00"), cancellation_fee_confidence=fee,
        approved_at=datetime.now(timezone.utc) if status == "approved" else None,
    )
    if created_at is not None:
        extraction.created_at = created_at
    session.add(extraction)
    if batch is not None:
        session.add(Job(kind="extraction", status=job_status, queue="bulk", contract_id=contract.id, batch_id=batch.id, error=error))
    session.flush()
    return contract, extraction


def _ids(response):
    return [item["account_number"] for item in response.get_json()]


def test_the_queue_lists_pending_least_confident_first_with_filters_and_pages(client, session_factory):
    old = datetime.now(timezone.utc) - timedelta(days=3)
    with session_factory() as session:
        batch = Batch(status="running", total=2)
        session.add(batch)
        session.flush()
        _extraction(session, "1000001", (0.95, 0.9, 0.9))            # high: least 0.9
        _extraction(session, "1000002", (0.95, 0.3, 0.9), batch=batch)  # low by its method
        _extraction(session, "1000003", (0.7, 0.9, 0.95), batch=batch, created_at=old)  # medium
        _extraction(session, "1000004", (0.2, 0.2, 0.2), status="approved")
        _extraction(session, "1000005", (None, 0.9, 0.9))            # no confidence: 0
        session.commit()
        batch_id = batch.id

    response = client.get("/api/v1/extractions?status=pending")
    assert response.status_code == 200
    assert _ids(response) == ["1000005", "1000002", "1000003", "1000001"]
    first = response.get_json()[1]
    assert first["confidence"] == pytest.approx(0.3) and first["badge"] == "low"
    assert first["fields"]["refund_calculation_method"] == {"value": "pro_rata", "confidence": 0.3, "badge": "low", "flags": []}
    assert json.loads(response.headers["X-Pagination"])["total"] == 4

    assert _ids(client.get("/api/v1/extractions?status=pending&badge=medium")) == ["1000003"]
    assert _ids(client.get("/api/v1/extractions?status=pending&badge=high")) == ["1000001"]
    assert _ids(client.get("/api/v1/extractions?status=pending&field=gap_insurance_premium&badge=medium")) == ["1000003"]
    assert _ids(client.get("/api/v1/extractions?status=pending&field=gap_insurance_premium")) == ["1000005", "1000003", "1000001", "1000002"]
    assert _ids(client.get("/api/v1/extractions?status=pending&max_confidence=0.7")) == ["1000005", "1000002", "1000003"]
    assert _ids(client.get(f"/api/v1/extractions?batch_id={batch_id}")) == ["1000002", "1000003"]
    before = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    assert _ids(client.get("/api/v1/extractions", query_string={"status": "pending", "created_before": before})) == ["1000003"]
    assert _ids(client.get("/api/v1/extractions?status=approved")) == ["1000004"]
    assert _ids(client.get("/api/v1/extractions?status=pending&sort=-confidence"))[0] == "1000001"
    assert _ids(client.get("/api/v1/extractions?sort=created_at"))[0] == "1000003"

    paged = client.get("/api/v1/extractions?status=pending&page=2&page_size=3")
    assert _ids(paged) == ["1000001"]
    assert json.loads(paged.headers["X-Pagination"]).items() >= {"total": 4, "total_pages": 2, "page": 2}.items()


@pytest.mark.parametrize("query", ["status=done", "badge=great", "field=vin", "max_confidence=2", "batch_id=nope", "sort=name", "created_before=yesterday", "page=0"])
def test_bad_queue_filters_are_422_with_a_message(client, query):
    response = client.get(f"/api/v1/extractions?{query}")
    assert response.status_code == 422, query
    assert response.get_json()["message"]


def test_the_queue_is_for_agents_and_admins(client):
    for role, expected in (("agent", 200), ("operator", 403), ("auditor", 403)):
        _user, token = user_with_token(role)
        assert client.get("/api/v1/extractions", as_token=token).status_code == expected, role


def test_the_pending_queue_order_uses_its_index_on_postgresql(client, session_factory):
    from pipeline.extraction.queue import QueueFilter, _order, confidence_of  # noqa: F401
    from sqlalchemy import select

    with session_factory() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        from models import Extraction as E
        query = select(E.id).where(E.status == "pending").order_by(*_order(QueueFilter(status="pending"))).limit(50)
        compiled = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_extractions_pending_confidence" in plan, plan


def test_batches_are_listed_newest_first_with_counts(client, session_factory):
    with session_factory() as session:
        older = Batch(status="running", total=2, created_at=datetime.now(timezone.utc) - timedelta(hours=1))
        newer = Batch(status="running", total=1)
        session.add_all([older, newer])
        session.flush()
        _extraction(session, "2000001", (0.9, 0.9, 0.9), batch=older)
        session.add(Job(kind="extraction", status="queued", queue="bulk", batch_id=older.id))
        _extraction(session, "2000002", (0.9, 0.9, 0.9), batch=newer)
        session.commit()
        older_id, newer_id = str(older.id), str(newer.id)

    response = client.get("/api/v1/batches")
    assert response.status_code == 200
    listed = response.get_json()
    assert [b["batch_id"] for b in listed] == [newer_id, older_id]
    assert listed[0]["status"] == "completed" and listed[0]["succeeded"] == 1 and listed[0]["percent"] == 100.0
    assert listed[1]["status"] == "running" and listed[1]["queued"] == 1 and listed[1]["done"] == 1 and listed[1]["percent"] == 50.0
    assert json.loads(response.headers["X-Pagination"])["total"] == 2
    assert [b["batch_id"] for b in client.get("/api/v1/batches?status=running").get_json()] == [older_id]
    _user, agent = user_with_token("agent")
    assert client.get("/api/v1/batches", as_token=agent).status_code == 403


def test_a_batch_from_account_numbers_with_dashes(client, session_factory):
    from tests.integration.test_batches import _sending_to

    with session_factory() as session:
        for number in ("3000001", "3000002"):
            session.add(Contract(account_number=number, customer_name="C", document_text=TEXT, text_status="available"))
        session.commit()
    with _sending_to():
        response = client.post("/api/v1/batches", json={"account_numbers": ["300-0001", "3000 002", "3000001"]})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["total"] == 2 and response.get_json()["skipped"] == 1

    refused = client.post("/api/v1/batches", json={"account_numbers": ["3000001", "9999999"]})
    assert refused.status_code == 422
    assert refused.get_json()["details"]["json"]["account_numbers"] == ["9999999"]
    assert "name no contract" in refused.get_json()["message"]
    both = client.post("/api/v1/batches", json={"account_numbers": ["3000001"], "all_unextracted": True})
    assert both.status_code == 422 and "one of" in both.get_json()["message"]
    assert client.post("/api/v1/batches", json={"account_numbers": ["12ab"]}).status_code == 422


def test_a_batch_s_results_stream_as_csv(client, session_factory):
    with session_factory() as session:
        batch = Batch(status="running", total=2)
        session.add(batch)
        session.flush()
        _extraction(session, "4000002", (0.95, 0.5, 0.2), batch=batch)
        failed = Contract(account_number="4000001", customer_name="F")
        session.add(failed)
        session.flush()
        session.add(Job(kind="extraction", status="failed", queue="bulk", contract_id=failed.id, batch_id=batch.id, error="the contract has no document text and no PDF"))
        session.commit()
        batch_id = batch.id

    response = client.get(f"/api/v1/batches/{batch_id}/results.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["account_number"] for r in rows] == ["4000001", "4000002"]
    assert rows[0]["status"] == "failed" and rows[0]["error"] == "the contract has no document text and no PDF" and rows[0]["gap_insurance_premium"] == ""
    assert rows[1].items() >= {
        "status": "succeeded", "extraction_status": "pending", "gap_insurance_premium": "795.00", "gap_insurance_premium_confidence": "0.95",
        "gap_insurance_premium_badge": "high", "refund_calculation_method": "pro_rata", "refund_calculation_method_badge": "low",
        "cancellation_fee": "50.00", "cancellation_fee_badge": "low", "error": "",
    }.items()
    assert client.get(f"/api/v1/batches/{uuid.uuid4()}/results.csv").status_code == 404
    _user, agent = user_with_token("agent")
    assert client.get(f"/api/v1/batches/{batch_id}/results.csv", as_token=agent).status_code == 403
