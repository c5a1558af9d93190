"""Inputs that used to reach the database or the parser and answer 500: each is now a 4xx in the
shared error body, and nothing is written."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from models import AuditEvent, ChatMessage, Contract, Extraction, User

NUL = "bad\x00value"


def _assert_error(response, status, code):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert body["status"] == status and body["code"] == code and body["message"] and body["request_id"]
    return body


@pytest.fixture
def pending(session_factory):
    with session_factory() as session:
        contract = Contract(account_number="4350948342", customer_name="Maria Lopez", document_text="GAP waiver. Fee $50.")
        session.add(contract)
        session.flush()
        extraction = Extraction(contract_id=contract.id, status="pending", cancellation_fee=50)
        session.add(extraction)
        session.commit()
        return contract.id, extraction.id


def _counts(session_factory):
    with session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(ChatMessage)),
            session.scalar(select(func.count()).select_from(User).where(User.email.not_like("test-admin-%"))),
            session.scalar(select(Extraction.status)),
        )


def test_nul_bytes_in_text_fields_are_422_naming_the_field(client, pending, session_factory):
    contract_id, extraction_id = pending
    before = _counts(session_factory)
    cases = [
        (f"/api/v1/extractions/{extraction_id}/submit", {"notes": NUL}, "notes"),
        (f"/api/v1/extractions/{extraction_id}/submit",
         {"corrections": [{"field_name": "cancellation_fee", "corrected_value": "75", "correction_reason": NUL}]},
         "corrections.0.correction_reason"),
        ("/api/v1/chat", {"message": NUL, "contract_id": str(contract_id)}, "message"),
        ("/api/v1/chat", {"message": "hello", "history": [{"role": "user", "content": NUL}]}, "history.0.content"),
        ("/api/v1/admin/users", {"email": "x@example.com", "username": "xavier", "full_name": NUL}, "full_name"),
        ("/api/v1/contracts/search", {"account_number": "4350\x00948342"}, "account_number"),
    ]
    for path, body, field in cases:
        error = _assert_error(client.post(path, json=body), 422, "validation_error")
        assert field in error["details"]["json"], (path, error)
        assert field in error["message"]
    # A NUL in a key is named too.
    error = _assert_error(client.post("/api/v1/chat", json={"mess\x00age": "hi"}), 422, "validation_error")
    assert "mess\\u0000age" in error["details"]["json"]
    assert _counts(session_factory) == before


def test_nul_bytes_in_query_and_path_are_422(client, pending):
    contract_id, _ = pending
    _assert_error(client.get(f"/api/v1/audit/contract/{contract_id}?event_type=search%00"), 422, "validation_error")
    _assert_error(client.get("/api/v1/contracts/abc%00def"), 422, "validation_error")


@pytest.mark.parametrize("path", ["/api/v1/contracts/search", "/api/v1/chat", "/api/v1/admin/users", "/api/v1/batches", "/api/v1/tokens"])
def test_deeply_nested_json_is_400_before_parsing(client, path, session_factory):
    before = _counts(session_factory)
    body = "[" * 5000 + "]" * 5000
    error = _assert_error(client.post(path, data=body, content_type="application/json"), 400, "bad_request")
    assert "nested deeper than" in error["message"]
    # Objects too, and brackets inside strings do not count.
    _assert_error(client.post(path, data='{"a":' * 3000 + "1" + "}" * 3000, content_type="application/json"), 400, "bad_request")
    shallow = client.post(path, json={"note": "[" * 5000})
    assert shallow.status_code != 400 or "nested" not in shallow.get_json()["message"]
    assert _counts(session_factory) == before


def test_page_numbers_are_bounded_on_every_paginated_list(client, pending):
    contract_id, extraction_id = pending
    spec = client.get("/openapi.json").get_json()
    paginated = [
        path for path, item in spec["paths"].items()
        if "get" in item and any(p["name"] == "page" for p in item["get"].get("parameters", []))
    ]
    assert "/api/v1/admin/users" in paginated and "/api/v1/audit/contract/{contract_id}" in paginated
    for path in paginated:
        page = next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "page")
        assert page["schema"]["maximum"] == 1_000_000, path
        url = path.replace("{contract_id}", str(contract_id)).replace("{extraction_id}", str(extraction_id))
        url = url.replace("{", "").replace("}", "") if "{" in url else url
        for value in ("9223372036854775807", "1000001", "0", "-1"):
            error = _assert_error(client.get(url, query_string={"page": value}), 422, "validation_error")
            assert "page" in error["details"]["query"], (url, value)
        assert client.get(url, query_string={"page": "1000000"}).status_code == 200, url


def test_bad_input_is_not_audited_as_a_change(client, pending, session_factory):
    _, extraction_id = pending
    client.post(f"/api/v1/extractions/{extraction_id}/submit", json={"notes": NUL})
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "approve")) == 0
        assert session.get(Extraction, extraction_id).status == "pending"
    assert uuid.UUID(str(extraction_id))
