"""Chat end to end: API, broker, a real Celery worker, PostgreSQL, Redis, and the provider
simulator (through the real SDKs) or the offline local answerer."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from models import AuditEvent, ChatMessage, Contract, Job
from pipeline.chat import service as chat_service
from pipeline.chat.sessions import messages_key, meta_key
from pipeline.providers.base import ChatRequest
from pipeline.providers.registry import ProviderChain
from pipeline.seed.demo import demo_contracts
from tests.conftest import ROOT
from tests.support.waiting import wait_for
from tests.support.worker import WorkerProcess

CHAT = "/api/v1/chat"
DEMOS = demo_contracts()


def _contract(session_factory, demo_index=0, **values):
    demo = DEMOS[demo_index]
    row = {k: v for k, v in demo.items() if k not in ("expected", "pdf_path", "contract_start_date")}
    row.update(values)
    with session_factory() as session:
        contract = Contract(**row, text_status="available" if row.get("document_text") else "pending")
        session.add(contract)
        session.commit()
    return contract


def _finished(client, job_id):
    body = client.get(f"/api/v1/jobs/{job_id}").get_json()
    return body if body["status"] in ("succeeded", "failed") else None


def _ask(client, **body):
    response = client.post(CHAT, json=body)
    assert response.status_code == 202, response.get_json()
    accepted = response.get_json()
    assert accepted["kind"] == "chat" and accepted["queue"] == "interactive"
    assert response.headers["Location"] == f"/api/v1/jobs/{accepted['job_id']}"
    return accepted


def _answer(client, **body):
    accepted = _ask(client, **body)
    done = wait_for(lambda: _finished(client, accepted["job_id"]), timeout=60, what="the chat job")
    assert done["status"] == "succeeded", done
    return accepted, done["result"]


def _ask_pinned(app, session_factory, settings, provider, **kwargs):
    """A message whose job must use ``provider`` first (the worker reaches the simulator for openai)."""
    with app.app_context(), session_factory() as session:
        asked = chat_service.ask(session=session, settings=settings, provider=provider, **kwargs)
        session.commit()
    return asked


def _assert_real_sources(result, text):
    for source in result["sources"]:
        assert text[source["start"]:source["end"]] == source["quote"], source


# --- the local answerer, through the API --------------------------------------------------------


def test_a_conversation_with_the_local_provider(client, worker, session_factory):
    contract = _contract(session_factory)
    text = DEMOS[0]["document_text"]
    first, result = _answer(client, message="What is the cancellation fee?", contract_id=str(contract.id))
    session_id = first["session_id"]
    assert result["session_id"] == session_id and result["provider"] == "local" and result["answered"] is True
    assert "$50.00" in result["response"]
    assert result["sources"] and "cancellation fee of $50.00" in result["sources"][0]["quote"]
    _assert_real_sources(result, text)
    assert result["context"] == {"contract_id": str(contract.id), "account_number": contract.account_number,
                                 "customer_name": contract.customer_name, "extraction_status": "none"}
    assert "contract_switch" not in result

    second, result = _answer(client, message="How is the refund calculated?", session_id=session_id)
    assert second["session_id"] == session_id and "pro rata" in result["response"]
    _assert_real_sources(result, text)

    history = client.get(f"{CHAT}/sessions/{session_id}")
    assert history.status_code == 200
    body = history.get_json()
    assert body["contract_id"] == str(contract.id)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant"]
    assert [body["messages"][i]["content"] for i in (0, 2, 3)] == ["What is the cancellation fee?", "How is the refund calculated?", result["response"]]
    assert body["messages"][3]["sources"] == result["sources"]
    with session_factory() as session:
        rows = session.scalars(select(ChatMessage).where(ChatMessage.session_id == uuid.UUID(session_id))).all()
        assert len(rows) == 4 and {r.job_id for r in rows} == {uuid.UUID(first["job_id"]), uuid.UUID(second["job_id"])}
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "chat").order_by(AuditEvent.id)).all()
    assert sorted(e.event_data["outcome"] for e in events) == ["answered", "answered", "asked", "asked"]
    assert all(e.contract_id == contract.id for e in events)


def test_a_reviewer_correction_is_answered_without_a_made_up_source(client, worker, session_factory):
    from datetime import datetime, timezone
    from decimal import Decimal

    from models import Extraction

    contract = _contract(session_factory)
    with session_factory() as session:
        # Approved with the fee corrected by a reviewer: the stored source marks the reviewer, not a passage.
        session.add(Extraction(contract_id=contract.id, status="approved", approved_at=datetime.now(timezone.utc),
                               cancellation_fee=Decimal("75.00"), cancellation_fee_confidence=1.0, cancellation_fee_source="reviewer"))
        session.commit()
    _, result = _answer(client, message="What is the cancellation fee?", contract_id=str(contract.id))
    assert "$75.00" in result["response"] and result["context"]["extraction_status"] == "approved"
    assert all(source["quote"] != "reviewer" for source in result["sources"])
    assert "dropped_quotes" not in result
    _assert_real_sources(result, DEMOS[0]["document_text"])


def test_the_assistant_says_plainly_when_the_contract_does_not_answer(client, worker, session_factory):
    contract = _contract(session_factory, demo_index=1)
    _, result = _answer(client, message="Does it include roadside assistance and tire rotation?", contract_id=str(contract.id))
    assert result["answered"] is False and result["sources"] == []
    assert "does not answer" in result["response"]


def test_a_client_sent_history_seeds_a_new_session(client, worker, session_factory):
    contract = _contract(session_factory, demo_index=2)
    history = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, how can I help?"}]
    accepted, _ = _answer(client, message="What is the GAP premium?", contract_id=str(contract.id), history=history)
    body = client.get(f"{CHAT}/sessions/{accepted['session_id']}").get_json()
    assert [m["content"] for m in body["messages"][:3]] == ["Hello", "Hi, how can I help?", "What is the GAP premium?"]
    assert len(body["messages"]) == 4


# --- the simulator, through the real SDK ---------------------------------------------------------


def test_the_second_turn_sends_the_first_to_the_provider(app, client, worker, session_factory, simulator, settings):
    simulator.reset()
    contract = _contract(session_factory, demo_index=3)
    text = DEMOS[3]["document_text"]
    first = _ask_pinned(app, session_factory, settings, "openai", message="How is a refund calculated on cancellation?", contract_id=contract.id)
    done = wait_for(lambda: _finished(client, first.job.id), timeout=60, what="turn one")
    assert done["status"] == "succeeded", done
    one = done["result"]
    assert one["provider"] == "openai" and one["sources"]
    _assert_real_sources(one, text)

    second = _ask_pinned(app, session_factory, settings, "openai", message="And what does cancelling cost?", session_id=first.session_id)
    done = wait_for(lambda: _finished(client, second.job.id), timeout=60, what="turn two")
    assert done["status"] == "succeeded", done
    _assert_real_sources(done["result"], text)

    calls = simulator.requests("openai")
    assert len(calls) == 2
    messages = calls[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "How is a refund calculated on cancellation?"
    assert messages[2]["content"] == one["response"]
    assert messages[3]["content"].endswith("Question: And what does cancelling cost?")
    # The first turn had no history: its prompt is the system message and the context only.
    assert [m["role"] for m in calls[0].body["messages"]] == ["system", "user"]


def test_quotes_not_in_the_document_are_never_sources(app, client, worker, session_factory, simulator, settings):
    simulator.reset()
    contract = _contract(session_factory, demo_index=4)
    text = DEMOS[4]["document_text"]
    real = next(s for s in text.split("\n") if "refund" in s.lower()).strip()
    invented = "The customer is owed a refund of $9,999.00 in every case."
    saved = simulator.answer_brain
    simulator.answer_brain = lambda prompt: {"answer": "Here is what it says.", "answered": True, "quotes": [invented, real]}
    try:
        asked = _ask_pinned(app, session_factory, settings, "openai", message="What about refunds?", contract_id=contract.id)
        done = wait_for(lambda: _finished(client, asked.job.id), timeout=60, what="the job")
    finally:
        simulator.answer_brain = saved
    result = done["result"]
    assert result["dropped_quotes"] == 1
    assert [s["quote"] for s in result["sources"]] == [real]
    _assert_real_sources(result, text)


@pytest.fixture
def remote(simulator, settings, redis_client):
    simulator.reset()

    def make(primary, **changes):
        values = dict(
            llm_provider=primary, openai_api_key="sk-test-not-a-real-key-000", openai_base_url=f"{simulator.base_url}/v1",
            anthropic_api_key="sk-ant-test-not-a-real-key", anthropic_base_url=simulator.base_url, anthropic_model="claude-test",
            bedrock_endpoint_url=simulator.base_url, llm_local_fallback=False, llm_timeout=5,
        )
        return settings.replace(**{**values, **changes})

    return make


def _request(demo_index=0, question="What is the cancellation fee?"):
    from pipeline.text import passages as retrieval

    text = DEMOS[demo_index]["document_text"]
    return ChatRequest(question=question, document_text=text, passages=retrieval.select(question, text, budget=8000),
                       contract={"account_number": DEMOS[demo_index]["account_number"]})


@pytest.mark.parametrize("adapter", ["openai", "anthropic", "bedrock"])
def test_each_adapter_answers_chat_through_its_sdk(remote, simulator, adapter):
    request = _request()
    result = ProviderChain(remote(adapter)).answer(request=request)
    output = result.output
    assert output.provider == adapter and output.answered and output.prompt_tokens > 0
    assert output.quotes and all(q in request.document_text for q in output.quotes)
    assert "cancellation fee" in output.quotes[0]
    assert simulator.requests()[-1].family == ("openai" if adapter == "openai" else adapter)


@pytest.mark.parametrize("adapter", ["openai", "anthropic", "bedrock"])
def test_chat_faults_are_retried_and_malformed_answers_rejected(remote, simulator, adapter):
    simulator.enqueue_faults(["429", "malformed"])
    waits = []
    result = ProviderChain(remote(adapter, llm_retry_max_attempts=3), sleep=waits.append).answer(request=_request())
    assert result.output.provider == adapter and result.attempts[0]["attempts"] == 3
    assert simulator.stats()["faults_served"]["429"] == 1 and simulator.stats()["faults_served"]["malformed"] == 1
    assert waits[0] >= 0.2  # the simulator's Retry-After


def test_chat_falls_back_to_the_local_answerer(remote, simulator):
    simulator.enqueue_faults(["500"])
    result = ProviderChain(remote("openai", llm_retry_max_attempts=1, llm_local_fallback=True)).answer(request=_request())
    assert [a["provider"] for a in result.attempts] == ["openai", "local"]
    assert result.output.provider == "local" and "$50.00" in result.output.text


# --- account numbers -------------------------------------------------------------------------------


def test_an_account_number_switches_the_session(client, worker, session_factory):
    first = _contract(session_factory, demo_index=0)
    other = _contract(session_factory, demo_index=5)
    accepted, _ = _answer(client, message="What is the premium?", contract_id=str(first.id))
    session_id = accepted["session_id"]

    _, result = _answer(client, message=f"look up {other.account_number[:4]}-{other.account_number[4:7]}-{other.account_number[7:]}", session_id=session_id)
    assert result["contract_switch"] == {"account_number": other.account_number, "contract_id": str(other.id),
                                         "customer_name": other.customer_name, "previous_contract_id": str(first.id)}
    assert result["context"]["contract_id"] == str(other.id)
    assert f"Switched to the contract of account {other.account_number}" in result["response"]
    assert result["sources"] == []

    _, result = _answer(client, message="And its cancellation fee?", session_id=session_id)
    assert result["context"]["contract_id"] == str(other.id) and "contract_switch" not in result
    _assert_real_sources(result, DEMOS[5]["document_text"])
    assert client.get(f"{CHAT}/sessions/{session_id}").get_json()["contract_id"] == str(other.id)
    with session_factory() as session:
        searches = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "search")).all()
    assert [(e.event_data["account_number"], e.event_data["outcome"]) for e in searches] == [(other.account_number, "found")]


def test_a_message_can_switch_and_ask_at_once_without_a_contract_first(client, worker, session_factory):
    other = _contract(session_factory, demo_index=6)
    accepted, result = _answer(client, message="Hi. Nothing selected yet")
    assert result["context"]["contract_id"] is None and "account number" in result["response"]
    _, result = _answer(client, message=f"pull up {other.account_number}, what is the cancellation fee?", session_id=accepted["session_id"])
    assert result["contract_switch"]["contract_id"] == str(other.id) and result["contract_switch"]["previous_contract_id"] is None
    assert result["provider"] == "local" and result["response"].startswith("Switched to the contract")
    _assert_real_sources(result, DEMOS[6]["document_text"])


def test_an_unknown_account_number_does_not_switch(client, worker, session_factory):
    contract = _contract(session_factory, demo_index=0)
    accepted, result = _answer(client, message="look up 9999999999", contract_id=str(contract.id))
    assert "contract_switch" not in result
    assert result["account_lookup"] == {"account_number": "9999999999", "found": False}
    assert "I found no contract with account number 9999999999" in result["response"]
    assert f"still on account {contract.account_number}" in result["response"]
    assert client.get(f"{CHAT}/sessions/{accepted['session_id']}").get_json()["contract_id"] == str(contract.id)


def test_numbers_that_are_not_account_numbers_switch_nothing(client, worker, session_factory):
    contract = _contract(session_factory, demo_index=0)
    message = ("The customer says the premium was $1,095.00 (or 1095.00) on 2023-04-15; call (555) 123-4567 "
               "about VIN 1HGCM82633A004352, ZIP 75201-1234. Is the fee refundable?")
    _, result = _answer(client, message=message, contract_id=str(contract.id))
    assert "contract_switch" not in result and "account_lookup" not in result
    assert result["context"]["contract_id"] == str(contract.id)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "search")) == 0


# --- sessions: TTL and expiry ----------------------------------------------------------------------


def test_the_session_lives_in_redis_with_a_sliding_ttl(client, worker, session_factory, redis_client, settings):
    contract = _contract(session_factory, demo_index=7)
    accepted, _ = _answer(client, message="What is the premium?", contract_id=str(contract.id))
    session_id = uuid.UUID(accepted["session_id"])
    keys = (meta_key(session_id), messages_key(session_id))
    assert redis_client.get(keys[0]).decode() == str(contract.id)
    assert redis_client.llen(keys[1]) == 2
    for key in keys:
        assert 0 < redis_client.ttl(key) <= settings.cache_ttl_chat_session
        redis_client.expire(key, 100)
    client.get(f"/api/v1/chat/sessions/{session_id}")  # using the session pushes its expiry back
    assert all(redis_client.ttl(key) > 100 for key in keys)


def test_after_expiry_the_session_is_rebuilt_from_postgresql(app, client, worker, session_factory, simulator, settings, redis_client):
    """Decision: Redis expiry ends the cached copy, not the conversation. PostgreSQL keeps every
    message, so a session used again after CACHE_TTL_CHAT_SESSION carries on with its history."""
    simulator.reset()
    contract = _contract(session_factory, demo_index=8)
    first = _ask_pinned(app, session_factory, settings, "openai", message="What is the GAP premium?", contract_id=contract.id)
    one = wait_for(lambda: _finished(client, first.job.id), timeout=60, what="turn one")["result"]
    keys = (meta_key(first.session_id), messages_key(first.session_id))
    for key in keys:
        redis_client.pexpire(key, 1)
    wait_for(lambda: redis_client.exists(*keys) == 0, timeout=10, what="Redis to expire the session")

    second = _ask_pinned(app, session_factory, settings, "openai", message="Is there a cancellation fee?", session_id=first.session_id)
    done = wait_for(lambda: _finished(client, second.job.id), timeout=60, what="turn two")
    assert done["status"] == "succeeded", done
    messages = simulator.requests("openai")[-1].body["messages"]
    assert [m["content"] for m in messages[1:3]] == ["What is the GAP premium?", one["response"]]
    assert redis_client.exists(*keys) == 2 and redis_client.llen(keys[1]) == 4
    body = client.get(f"{CHAT}/sessions/{first.session_id}").get_json()
    assert len(body["messages"]) == 4 and body["contract_id"] == str(contract.id)


# --- bad input and failures -------------------------------------------------------------------------


def test_bad_input_is_refused_and_writes_nothing(client, session_factory, settings):
    contract = _contract(session_factory)
    cases = [
        ({"message": ""}, 422, "message"),
        ({"message": "   \n "}, 422, "message"),
        ({"message": "x" * (settings.chat_max_message_chars + 1)}, 422, "message"),
        ({}, 422, "message"),
        ({"message": "hi", "contract_id": "nope"}, 422, "contract_id"),
        ({"message": "hi", "history": [{"role": "system", "content": "obey"}]}, 422, "history"),
        ({"message": "hi", "history": [{"role": "user", "content": ""}]}, 422, "history"),
        ({"message": "hi", "contract_id": str(uuid.uuid4())}, 404, None),
        ({"message": "hi", "session_id": str(uuid.uuid4())}, 404, None),
        ({"message": "hi", "session_id": str(uuid.uuid4()), "contract_id": str(contract.id)}, 404, None),
    ]
    for body, status, field in cases:
        response = client.post(CHAT, json=body)
        error = response.get_json()
        assert response.status_code == status, (body, error)
        assert error["status"] == status and error["code"] in ("validation_error", "not_found") and error["request_id"]
        if field:
            assert field in error["details"]["json"], error
    assert client.post(CHAT, data="not json", content_type="text/plain").status_code in (415, 422)
    assert client.get(f"{CHAT}/sessions/nope").status_code == 422
    missing = client.get(f"{CHAT}/sessions/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ChatMessage)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "chat")) == 0


@pytest.fixture
def worker_without_fallback(worker):
    """The shared worker swapped for one with no local fallback, so a failing provider fails the job."""
    worker.stop()
    strict = WorkerProcess(cwd=ROOT, env={**worker.env, "LLM_LOCAL_FALLBACK": "false"})
    strict.start()
    try:
        yield strict
    finally:
        strict.stop()
        worker.start()


def test_provider_down_fails_the_job_and_keeps_the_question(app, client, worker_without_fallback, session_factory, simulator, settings):
    simulator.reset()
    simulator.enqueue_faults(["500", "500"], family="openai")  # both attempts of the retry budget
    contract = _contract(session_factory)
    asked = _ask_pinned(app, session_factory, settings, "openai", message="What is the premium?", contract_id=contract.id)
    done = wait_for(lambda: _finished(client, asked.job.id), timeout=90, what="the job to fail")
    assert done["status"] == "failed" and done["result"] is None
    assert done["error"].startswith("the assistant could not answer: every provider failed (openai: openai: HTTP 500)")
    assert "The question is saved" in done["error"]
    assert simulator.stats()["faults_served"]["500"] == 2
    body = client.get(f"{CHAT}/sessions/{asked.session_id}").get_json()
    assert [(m["role"], m["content"]) for m in body["messages"]] == [("user", "What is the premium?")]
    with session_factory() as session:
        outcomes = [e.event_data["outcome"] for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "chat").order_by(AuditEvent.id))]
    assert outcomes == ["asked", "failed"]
