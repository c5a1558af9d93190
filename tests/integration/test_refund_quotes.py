"""Refund quotes through the API: made from the extraction, stored, audited, listed, and as a letter."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

from models import AuditEvent, RefundQuote
from pipeline.refunds import default_rules, quote_refund
from tests.support.auth import user_with_token
from tests.support.quotes import demo_contract as _contract, demo_extraction as _extraction
from tests.support.waiting import wait_for

def _quote(client, contract_id, body=None, **kwargs):
    return client.post(f"/api/v1/contracts/{contract_id}/refund-quotes", json=body or {"cancellation_date": "2026-11-20", "reason": "payoff"}, **kwargs)


def _count(session_factory, model=RefundQuote):
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# --- the whole way: extract on a worker, approve with a correction, quote, letter ------------------


def test_extract_approve_with_a_corrected_fee_then_quote_with_sources_audit_and_letter(app, worker, session_factory):
    user, token = user_with_token("agent")
    client = app.test_client()
    contract = _contract(session_factory)
    document = contract.document_text

    accepted = client.post("/api/v1/extractions/create", json={"contract_id": str(contract.id)}, as_token=token)
    assert accepted.status_code == 202, accepted.get_json()
    job_id = accepted.get_json()["job_id"]
    done = wait_for(lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/v1/jobs/{job_id}", as_token=token).get_json()), timeout=60, what="the extraction job")
    assert done["status"] == "succeeded", done
    extraction_id = done["result"]["extraction_id"]
    extracted = client.get(f"/api/v1/extractions/{extraction_id}", as_token=token).get_json()["fields"]
    assert (extracted["gap_insurance_premium"]["value"], extracted["refund_calculation_method"]["value"],
            extracted["cancellation_fee"]["value"]) == ("1095.00", "rule_of_78", "75.00")

    submitted = client.post(f"/api/v1/extractions/{extraction_id}/submit", as_token=token, json={
        "corrections": [{"field_name": "cancellation_fee", "corrected_value": "$60", "correction_reason": "addendum B lowers the fee"}],
    })
    assert submitted.status_code == 200, submitted.get_json()

    response = _quote(client, contract.id, {"cancellation_date": "2026-11-20", "reason": "payoff", "odometer": 41250}, as_token=token)
    assert response.status_code == 201, response.get_json()
    quote = response.get_json()
    assert response.headers["Location"] == f"/api/v1/refund-quotes/{quote['quote_id']}"

    # The figures are the pure calculator's for the approved values, with the corrected fee.
    expected = quote_refund(
        premium=Decimal("1095.00"), method="rule_of_78", fee=Decimal("60.00"), start_date=date(2023, 6, 2), term_months=84,
        cancellation_date=date(2026, 11, 20), reason="payoff", claim_paid=False, state="TX", rules=default_rules(),
    )
    assert quote["refund"] == str(expected.refund) and quote["fee_applied"] == "60.00"
    assert (quote["eligible"], quote["reason_code"], quote["method"]) == (True, "unearned_refund", "rule_of_78")
    assert quote["gross_refund"] == str(expected.gross_refund) and quote["factor"] == str(expected.factor)
    assert quote["reason_text"] == expected.reason_text
    assert [s["text"] for s in quote["steps"]] == [s.text for s in expected.steps]
    assert quote["warnings"] == [] and quote["rules_version"] == default_rules().version
    assert (quote["cancellation_date"], quote["reason"], quote["odometer"], quote["claim_paid"]) == ("2026-11-20", "payoff", 41250, False)

    inputs = quote["inputs"]
    premium, method, fee = inputs["premium"], inputs["method"], inputs["fee"]
    # Premium and method: the extraction's own passages, found where it says in the document.
    for item, field in ((premium, "gap_insurance_premium"), (method, "refund_calculation_method")):
        assert item["source"] == "extraction" and item["field"] == field and item["extraction_id"] == extraction_id
        assert item["extraction_status"] == "approved" and item["quote"]
        assert document[item["start"]:item["end"]] == item["quote"]
    assert "$1,095" in premium["quote"] and "Rule of 78" in method["quote"]
    # The fee: the reviewer's correction, with what it replaced and why.
    assert fee["source"] == "correction" and fee["value"] == "60.00"
    assert fee["correction"]["original_value"] == "75.00" and fee["correction"]["corrected_value"] == "60.00"
    assert fee["correction"]["reason"] == "addendum B lowers the fee" and fee["correction"]["corrected_by"] == str(user.id)
    # The contract record, the state rule with its citation, the request.
    assert inputs["start_date"] == {"value": "2023-06-02", "source": "contract", "field": "contract_start_date", "contract_id": str(contract.id)}
    assert inputs["term_months"]["value"] == 84 and inputs["state"]["value"] == "TX"
    assert inputs["free_look_days"]["source"] == "state_rule" and inputs["free_look_days"]["citation"].startswith("Tex. Fin. Code")
    assert inputs["free_look_days"]["url"].startswith("http")
    assert inputs["cancellation_date"] == {"value": "2026-11-20", "source": "request", "origin": "api"}
    assert inputs["odometer"]["value"] == 41250 and inputs["odometer"]["used"] is False
    assert quote["clause"]["quote"] == method["quote"] and document[quote["clause"]["start"]:quote["clause"]["end"]] == method["quote"]

    # Stored as answered, readable again, and on the record with the agent's name.
    again = client.get(f"/api/v1/refund-quotes/{quote['quote_id']}", as_token=token)
    assert again.status_code == 200 and again.get_json() == quote
    with session_factory() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "refund_quote")).all()
        row = session.get(RefundQuote, uuid.UUID(quote["quote_id"]))
    assert len(events) == 1
    event = events[0]
    assert event.user_id == user.id and event.contract_id == contract.id and str(event.extraction_id) == extraction_id
    assert event.event_data["quote_id"] == quote["quote_id"] and event.event_data["refund"] == quote["refund"]
    assert event.request_id == response.headers["X-Request-ID"]
    assert row.requested_by == user.id and row.origin == "api" and row.refund == expected.refund
    trail = client.get(f"/api/v1/audit/contract/{contract.id}?event_type=refund_quote").get_json()
    assert [e["event_data"]["quote_id"] for e in trail] == [quote["quote_id"]] and trail[0]["user_id"] == str(user.id)

    # The letter: one page, a real PDF, with the refund, the customer and the clause.
    letter = client.get(quote["letter_url"], as_token=token)
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    assert letter.headers["Content-Disposition"] == f'attachment; filename="refund-quote-{contract.account_number}-2026-11-20.pdf"'
    pages, words = _pdf_text(letter.data)
    assert pages == 1
    assert f"${expected.refund:,.2f}" in words and contract.customer_name in words and contract.account_number in words
    assert "2026-11-20" in words and "Rule of 78" in words and quote["quote_id"] in words
    assert "Unearned charge" in words and "$60.00" in words
    assert letter.data == client.get(quote["letter_url"], as_token=token).data  # the same quote, the same bytes


# --- answers without a worker --------------------------------------------------------------------


def test_no_extraction_is_409_telling_the_agent_to_extract_first(client, session_factory):
    contract = _contract(session_factory)
    response = _quote(client, contract.id)
    body = response.get_json()
    assert response.status_code == 409 and body["code"] == "extraction_required"
    assert "extract it first" in body["message"] and "/api/v1/extractions/create" in body["message"]
    assert _count(session_factory) == 0


def test_a_pending_extraction_quotes_with_a_warning(client, session_factory):
    contract = _contract(session_factory)
    _extraction(session_factory, contract, status="pending")
    response = _quote(client, contract.id)
    assert response.status_code == 201, response.get_json()
    quote = response.get_json()
    assert quote["warnings"][0].startswith("extraction not yet reviewed")
    assert quote["inputs"]["premium"]["extraction_status"] == "pending"
    assert quote["fee_applied"] == "75.00"


def test_a_state_without_rules_and_a_missing_method_are_warned(client, session_factory):
    contract = _contract(session_factory, demo_index=0)  # Arizona: no rule on file
    _extraction(session_factory, contract, refund_calculation_method=None, refund_calculation_method_source=None,
                refund_calculation_method_start=None, refund_calculation_method_end=None)
    quote = _quote(client, contract.id).get_json()
    assert any(w.startswith("state rule unknown for AZ") for w in quote["warnings"]), quote["warnings"]
    assert any(w.startswith("method missing: pro rata assumed") for w in quote["warnings"]), quote["warnings"]
    assert quote["method"] == "pro_rata"


def test_a_contract_missing_its_start_date_or_term_is_409_naming_them(client, session_factory):
    contract = _contract(session_factory, contract_start_date=None, term_months=None)
    _extraction(session_factory, contract)
    body = _quote(client, contract.id).get_json()
    assert body["status"] == 409 and body["code"] == "quote_inputs_missing"
    assert body["details"]["missing"] == ["contract_start_date", "term_months"]
    assert "contract_start_date" in body["message"] and "term_months" in body["message"]
    assert _count(session_factory) == 0


def test_bad_requests_are_refused_and_write_nothing(client, session_factory):
    contract = _contract(session_factory)
    _extraction(session_factory, contract)
    cases = [
        ({"cancellation_date": "2023-05-01", "reason": "payoff"}, 422, "cancellation_date"),  # before the start
        ({"cancellation_date": "2026-11-20", "reason": "bored"}, 422, "reason"),
        ({"cancellation_date": "2026-13-40", "reason": "payoff"}, 422, "cancellation_date"),
        ({"cancellation_date": "next tuesday", "reason": "payoff"}, 422, "cancellation_date"),
        ({"reason": "payoff"}, 422, "cancellation_date"),
        ({"cancellation_date": "2026-11-20", "reason": "payoff", "claim_payed": True}, 422, "claim_payed"),
        ({"cancellation_date": "2026-11-20", "reason": "payoff", "odometer": -5}, 422, "odometer"),
    ]
    for body, status, field in cases:
        response = _quote(client, contract.id, body)
        error = response.get_json()
        assert response.status_code == status, (body, error)
        assert field in error["details"]["json"], error
    before = _quote(client, contract.id, {"cancellation_date": "2023-05-01", "reason": "payoff"}).get_json()
    assert "before the coverage started on 2023-06-02" in before["message"]
    assert _quote(client, uuid.uuid4()).status_code == 404
    assert _quote(client, "nope").status_code == 422
    assert _count(session_factory) == 0


def test_actuarial_contracts_are_422_naming_the_apr(client, session_factory):
    contract = _contract(session_factory, demo_index=5)  # Pennsylvania, actuarial
    _extraction(session_factory, contract)
    body = _quote(client, contract.id).get_json()
    assert body["status"] == 422 and body["code"] == "missing_input" and body["details"]["field"] == "apr"
    assert "APR" in body["message"]


def test_roles_agents_and_admins_quote_auditors_and_operators_may_not(client, session_factory):
    contract = _contract(session_factory)
    _extraction(session_factory, contract)
    made = _quote(client, contract.id).get_json()
    for role, allowed in (("agent", True), ("admin", True), ("auditor", False), ("operator", False)):
        _user, token = user_with_token(role)
        calls = [
            _quote(client, contract.id, as_token=token),
            client.get(f"/api/v1/contracts/{contract.id}/refund-quotes", as_token=token),
            client.get(f"/api/v1/refund-quotes/{made['quote_id']}", as_token=token),
            client.get(made["letter_url"], as_token=token),
        ]
        assert [c.status_code for c in calls] == ([201, 200, 200, 200] if allowed else [403] * 4), role
    assert _quote(client, contract.id, anonymous=True).status_code == 401


def test_quotes_are_listed_per_contract_newest_first_and_paginated(client, session_factory):
    contract = _contract(session_factory)
    other = _contract(session_factory, demo_index=2)
    _extraction(session_factory, contract)
    _extraction(session_factory, other)
    made = [_quote(client, contract.id, {"cancellation_date": d, "reason": "trade_in"}).get_json()["quote_id"]
            for d in ("2025-01-10", "2025-06-10", "2026-01-10")]
    _quote(client, other.id)
    first = client.get(f"/api/v1/contracts/{contract.id}/refund-quotes?page_size=2")
    assert first.status_code == 200
    assert [q["quote_id"] for q in first.get_json()] == made[::-1][:2]
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    second = client.get(f"/api/v1/contracts/{contract.id}/refund-quotes?page_size=2&page=2").get_json()
    assert [q["quote_id"] for q in second] == [made[0]]
    # Each quote is its own: the same question again is a new quote.
    again = _quote(client, contract.id, {"cancellation_date": "2025-01-10", "reason": "trade_in"}).get_json()
    assert again["quote_id"] not in made and again["refund"] == client.get(f"/api/v1/refund-quotes/{made[0]}").get_json()["refund"]
    assert client.get(f"/api/v1/contracts/{uuid.uuid4()}/refund-quotes").status_code == 404


def test_unknown_quotes_and_letters_are_404(client):
    for path in ("/api/v1/refund-quotes/{}", "/api/v1/refund-quotes/{}/letter.pdf"):
        missing = client.get(path.format(uuid.uuid4()))
        assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
        assert client.get(path.format("nope")).status_code == 422


def test_quotes_are_immutable_in_the_database(client, session_factory, database_roles):
    """The service's role may not change a quote at all; the owner (triggers) may not either."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    contract = _contract(session_factory)
    _extraction(session_factory, contract)
    assert _quote(client, contract.id).status_code == 201
    owner = create_engine(database_roles.owner_url, poolclass=NullPool)
    for statement in ("UPDATE refund_quotes SET refund = refund + 1", "DELETE FROM refund_quotes"):
        with pytest.raises(Exception, match="permission denied"), session_factory() as session:
            session.execute(text(statement))
            session.commit()
        with pytest.raises(Exception, match="immutable"), owner.begin() as conn:
            conn.execute(text(statement))
    owner.dispose()


def test_the_letter_is_documented_as_a_binary_pdf(client):
    spec = client.get("/openapi.json", anonymous=True).get_json()
    letter = spec["paths"]["/api/v1/refund-quotes/{quote_id}/letter.pdf"]["get"]
    assert letter["responses"]["200"]["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert letter["x-roles"] == ["agent", "admin"]
    create = spec["paths"]["/api/v1/contracts/{contract_id}/refund-quotes"]["post"]
    assert set(create["responses"]) >= {"201", "404", "409", "422"}


def test_letters_survive_names_outside_latin_1(client, session_factory):
    contract = _contract(session_factory, customer_name="Łukasz Żółć — 王", dealer="Škoda “Plus”")
    _extraction(session_factory, contract)
    quote = _quote(client, contract.id).get_json()
    letter = client.get(quote["letter_url"])
    assert letter.status_code == 200
    pages, words = _pdf_text(letter.data)
    assert pages == 1 and "Lukasz Zólc" in words and f"${Decimal(quote['refund']):,.2f}" in words
