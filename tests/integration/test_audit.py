"""Audit trails: newest first, filtered, paginated; every request that matters is on the record;
and the record cannot be changed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from api import create_app
from models import AuditEvent, Contract, Extraction
from pipeline import audit
from pipeline.seed.demo import demo_contracts
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)
TYPES = ("search", "view", "extract", "approve", "chat")


def _contract_with_extraction(session_factory, number="4350948342"):
    with session_factory() as session:
        contract = Contract(account_number=number, customer_name="Maria Lopez")
        session.add(contract)
        session.flush()
        extraction = Extraction(contract_id=contract.id)
        session.add(extraction)
        session.commit()
        return contract.id, extraction.id


def _seed(session_factory, contract_id, extraction_id, count=25):
    """`count` events one minute apart; every other one names the extraction."""
    with session_factory() as session:
        for i in range(count):
            session.add(AuditEvent(
                event_type=TYPES[i % len(TYPES)], contract_id=contract_id,
                extraction_id=extraction_id if i % 2 == 0 else None,
                created_at=T0 + timedelta(minutes=i), event_data={"n": i},
            ))
        session.commit()


def _ns(response):
    return [e["event_data"]["n"] for e in response.get_json()]


def test_contract_trail_newest_first_with_pagination_headers(client, session_factory):
    contract_id, extraction_id = _contract_with_extraction(session_factory)
    other, _ = _contract_with_extraction(session_factory, number="5550001111")
    _seed(session_factory, contract_id, extraction_id)
    _seed(session_factory, other, None, count=3)

    first = client.get(f"/api/v1/audit/contract/{contract_id}?page_size=10")
    assert first.status_code == 200, first.get_json()
    assert _ns(first) == list(range(24, 14, -1))
    assert json.loads(first.headers["X-Pagination"]) == {
        "total": 25, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2,
    }
    event = first.get_json()[0]
    assert event["contract_id"] == str(contract_id) and event["extraction_id"] == str(extraction_id)
    assert event["event_type"] == TYPES[24 % 5] and event["created_at"] == (T0 + timedelta(minutes=24)).isoformat()

    last = client.get(f"/api/v1/audit/contract/{contract_id}?page_size=10&page=3")
    assert _ns(last) == [4, 3, 2, 1, 0]
    assert json.loads(last.headers["X-Pagination"])["previous_page"] == 2

    # Reading a trail is audited, but not onto the trail: page 2 still follows page 1 exactly.
    second = client.get(f"/api/v1/audit/contract/{contract_id}?page_size=10&page=2")
    assert _ns(second) == list(range(14, 4, -1))
    with session_factory() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "api_request")).all()
    assert len(reads) == 3 and all(e.contract_id is None for e in reads)
    assert reads[0].event_data["path"] == f"/api/v1/audit/contract/{contract_id}"


def test_events_written_in_one_instant_keep_their_order(client, session_factory):
    contract_id, _ = _contract_with_extraction(session_factory)
    with session_factory() as session:
        for n in range(3):
            session.add(AuditEvent(event_type="view", contract_id=contract_id, created_at=T0, event_data={"n": n}))
            session.flush()
        session.commit()
    assert _ns(client.get(f"/api/v1/audit/contract/{contract_id}")) == [2, 1, 0]


def test_extraction_trail_has_only_its_events(client, session_factory):
    contract_id, extraction_id = _contract_with_extraction(session_factory)
    _seed(session_factory, contract_id, extraction_id, count=10)
    response = client.get(f"/api/v1/audit/extraction/{extraction_id}")
    assert response.status_code == 200
    assert _ns(response) == [8, 6, 4, 2, 0]
    assert json.loads(response.headers["X-Pagination"])["total"] == 5


def test_filters_by_type_and_time_range(client, session_factory):
    contract_id, extraction_id = _contract_with_extraction(session_factory)
    _seed(session_factory, contract_id, extraction_id)
    base = f"/api/v1/audit/contract/{contract_id}"

    approvals = client.get(f"{base}?event_type=approve")
    assert _ns(approvals) == [23, 18, 13, 8, 3]
    assert {e["event_type"] for e in approvals.get_json()} == {"approve"}

    two = client.get(f"{base}?event_type=search,approve&page_size=4")
    assert _ns(two) == [23, 20, 18, 15]
    assert json.loads(two.headers["X-Pagination"])["total"] == 10

    since = (T0 + timedelta(minutes=10)).isoformat()
    until = (T0 + timedelta(minutes=13)).isoformat()
    window = client.get(base, query_string={"since": since, "until": until})
    assert _ns(window) == [12, 11, 10]  # since inclusive, until exclusive

    # A time without a zone is UTC; combined with a type.
    naive = client.get(base, query_string={"since": "2026-11-28T09:10:00", "event_type": "view"})
    assert _ns(naive) == [21, 16, 11]

    empty = client.get(base, query_string={"since": "2030-01-01T00:00:00Z"})
    assert empty.get_json() == [] and json.loads(empty.headers["X-Pagination"])["total"] == 0


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"event_type": "approve,delete"}, "event_type"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45T00:00:00Z"}, "until"),
        ({"since": "2026-11-29T00:00:00Z", "until": "2026-11-28T00:00:00Z"}, "since"),
        ({"page_size": "1000"}, "page_size"),
        ({"page": "0"}, "page"),
    ],
)
def test_a_bad_filter_is_a_422(client, session_factory, query, named):
    contract_id, extraction_id = _contract_with_extraction(session_factory)
    for path in (f"/api/v1/audit/contract/{contract_id}", f"/api/v1/audit/extraction/{extraction_id}"):
        response = client.get(path, query_string=query)
        assert response.status_code == 422, response.get_json()
        body = response.get_json()
        assert body["code"] == "validation_error"
        assert named in json.dumps(body["details"]) or named in body["message"]


def test_unknown_ids_are_404_and_malformed_ids_422(client, clean_db):
    for kind in ("contract", "extraction"):
        missing = client.get(f"/api/v1/audit/{kind}/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
        assert client.get(f"/api/v1/audit/{kind}/42").status_code == 422


# --- the request's own event ---------------------------------------------------------------------


def _api_requests(session_factory):
    with session_factory() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.event_type == "api_request").order_by(AuditEvent.id)).all()


def test_probes_docs_and_polling_are_not_audited(client, session_factory):
    job = str(uuid.uuid4())
    for path in ("/health", "/ready", "/openapi.json", "/docs", f"/api/v1/jobs/{job}", "/api/v1/nowhere"):
        client.get(path)
    client.options("/api/v1/contracts/search", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert _api_requests(session_factory) == []


def test_requests_that_read_or_change_contract_data_are_audited(client, session_factory):
    contract_id, extraction_id = _contract_with_extraction(session_factory)
    found = client.post("/api/v1/contracts/search", json={"account_number": "4350948342"}, headers={"X-Request-ID": "desk-7"})
    assert found.status_code == 200
    assert client.post("/api/v1/contracts/search", json={"account_number": "9999999999"}).status_code == 404
    assert client.get(f"/api/v1/contracts/{contract_id}").status_code == 200
    assert client.get(f"/api/v1/extractions/{uuid.uuid4()}").status_code == 404

    events = _api_requests(session_factory)
    assert [(e.event_data["method"], e.event_data["path"], e.event_data["status"]) for e in events] == [
        ("POST", "/api/v1/contracts/search", 200),
        ("POST", "/api/v1/contracts/search", 404),
        ("GET", f"/api/v1/contracts/{contract_id}", 200),
        ("GET", events[3].event_data["path"], 404),
    ]
    assert events[0].request_id == "desk-7" and events[0].contract_id == contract_id
    assert events[0].event_data["endpoint"] == "contracts.Search" and events[0].event_data["duration_ms"] >= 0
    # The search that found nothing is kept with its own search event; it names no contract.
    assert events[1].contract_id is None
    assert events[2].contract_id == contract_id
    # An id that does not exist is in the path, never in a foreign key.
    assert events[3].contract_id is None and events[3].extraction_id is None


def test_a_failed_request_is_audited_after_its_rollback(client, session_factory):
    contract_id, extraction_id = _contract_with_extraction(session_factory)
    bad = client.post(f"/api/v1/extractions/{extraction_id}/submit", json={"corrections": [{"field_name": "nope", "corrected_value": "1"}]})
    assert bad.status_code == 422
    [event] = _api_requests(session_factory)
    assert (event.contract_id, event.extraction_id) == (contract_id, extraction_id)
    assert event.event_data["status"] == 422 and event.request_id == bad.headers["X-Request-ID"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_exclusions_are_configurable(settings, clean_db, redis_client, session_factory):
    _contract_with_extraction(session_factory)
    app = create_app(settings.replace(audit_request_exclude=(("POST", "/api/v1/contracts/search"),)))
    client = app.test_client()
    assert client.post("/api/v1/contracts/search", json={"account_number": "4350948342"}).status_code == 200
    client.get("/health")
    [health] = _api_requests(session_factory)
    assert health.event_data["path"] == "/health"
    with session_factory() as session:  # the search's own event is not a request event: still there
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "search")) == 1

    silent = create_app(settings.replace(audit_request_exclude=(("", "/"),))).test_client()
    silent.post("/api/v1/contracts/search", json={"account_number": "4350948342"})
    assert len(_api_requests(session_factory)) == 1


# --- append-only -----------------------------------------------------------------------------------


def test_the_service_offers_no_update_or_delete():
    public = {name for name in dir(audit) if not name.startswith("_") and callable(getattr(audit, name))}
    assert not {n for n in public if any(word in n for word in ("update", "delete", "remove", "purge", "edit"))}


@pytest.mark.parametrize(
    ("role", "refusal"),
    [("service", "permission denied for table audit_events"), ("owner", "append-only")],
)
def test_an_event_changed_through_the_orm_is_refused(clean_db, session_factory, owner_session_factory, role, refusal):
    # The service's role holds no UPDATE or DELETE grant; the owner meets the triggers.
    factory = session_factory if role == "service" else owner_session_factory
    with factory() as session:
        event = audit.record(session=session, event_type="search", data={"outcome": "found"})
        session.commit()
        event.event_data = {"outcome": "not_found"}
        with pytest.raises(DBAPIError, match=refusal):
            session.commit()
        session.rollback()
        session.delete(event)
        with pytest.raises(DBAPIError, match=refusal):
            session.commit()
        session.rollback()
    with session_factory() as session:
        assert session.scalars(select(AuditEvent.event_data)).all() == [{"outcome": "found"}]


# --- end to end ------------------------------------------------------------------------------------


def test_search_extract_correct_submit_and_read_the_trail(client, worker, session_factory):
    demo = demo_contracts()[0]
    row = {k: v for k, v in demo.items() if k not in ("expected", "pdf_path", "vehicle", "contract_start_date")}
    with session_factory() as session:
        session.add(Contract(**row, text_status="available"))
        session.commit()

    found = client.post("/api/v1/contracts/search", json={"account_number": demo["account_number"]})
    assert found.status_code == 200
    contract_id = found.get_json()["contract_id"]

    job = client.post("/api/v1/extractions/create", json={"contract_id": contract_id}).get_json()
    done = wait_for(
        lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(client.get(job["location"]).get_json()),
        timeout=60, what="the extraction job",
    )
    assert done["status"] == "succeeded", done
    extraction_id = done["result"]["extraction_id"]

    viewed = client.get(f"/api/v1/extractions/{extraction_id}").get_json()
    original = viewed["fields"]["cancellation_fee"]["value"]
    corrected = "123.45"
    assert original != corrected
    submitted = client.post(f"/api/v1/extractions/{extraction_id}/submit", json={
        "corrections": [{"field_name": "cancellation_fee", "corrected_value": "$123.45", "correction_reason": "fee schedule, page 2"}],
        "notes": "reviewed with the customer on the line",
    })
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["fields"]["cancellation_fee"]["value"] == corrected

    trail = client.get(f"/api/v1/audit/contract/{contract_id}").get_json()
    domain = [e for e in trail if e["event_type"] != "api_request"]
    assert [e["event_type"] for e in domain] == ["approve", "view", "extract", "search"]
    approve = domain[0]
    assert approve["extraction_id"] == extraction_id
    assert approve["event_data"]["corrections"] == [
        {"field": "cancellation_fee", "original": original, "corrected": corrected, "reason": "fee schedule, page 2"}
    ]
    assert approve["event_data"]["notes"] == "reviewed with the customer on the line"
    assert domain[2]["event_data"]["outcome"] == "succeeded" and domain[3]["event_data"]["outcome"] == "found"

    requests = [(e["event_data"]["method"], e["event_data"]["path"]) for e in trail if e["event_type"] == "api_request"]
    assert requests == [
        ("POST", f"/api/v1/extractions/{extraction_id}/submit"),
        ("GET", f"/api/v1/extractions/{extraction_id}"),
        ("POST", "/api/v1/extractions/create"),
        ("POST", "/api/v1/contracts/search"),
    ]  # polling the job is not on the record
    # The worker's extract event carries the id of the request that asked for it.
    create = next(e for e in trail if e["event_type"] == "api_request" and e["event_data"]["path"].endswith("/create"))
    assert domain[2]["request_id"] == create["request_id"]
    times = [e["created_at"] for e in trail]
    assert times == sorted(times, reverse=True)

    # The extraction's own trail: what happened to it, newest first.
    own = client.get(f"/api/v1/audit/extraction/{extraction_id}", query_string={"event_type": "extract,view,approve"}).get_json()
    assert [e["event_type"] for e in own] == ["approve", "view", "extract"]
