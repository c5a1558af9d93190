"""Chat answers "how much would they get back?" with a stored refund quote: through the local answerer
and through the remote adapters (the provider simulator calls the quote tool, over the real SDKs)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import AuditEvent, RefundQuote
from pipeline.chat import service as chat_service
from pipeline.providers.base import ChatRequest, ChatTool
from pipeline.providers.prompts.chat import QUOTE_TOOL_NAME, QUOTE_TOOL_SCHEMA
from pipeline.providers.registry import ProviderChain
from tests.support.auth import user_with_token
from tests.support.quotes import demo_contract, demo_extraction
from tests.support.waiting import wait_for

QUESTION = "How much would they get back if they paid off the loan on 2026-11-20?"


def _finished(client, job_id, token=None):
    body = client.get(f"/api/v1/jobs/{job_id}", as_token=token).get_json()
    return body if body["status"] in ("succeeded", "failed") else None


def _dollars(amount) -> str:
    return f"${Decimal(amount):,.2f}"


def _check_quoted_answer(client, session_factory, contract, result, *, cancellation_date, reason, user_id):
    """The answer states the stored quote's figure and id, and cites the contract's refund clause."""
    assert len(result["refund_quotes"]) == 1
    summary = result["refund_quotes"][0]
    stored = client.get(f"/api/v1/refund-quotes/{summary['quote_id']}").get_json()
    assert stored["origin"] == "chat" and stored["requested_by"] == str(user_id)
    assert (stored["cancellation_date"], stored["reason"]) == (cancellation_date, reason)
    assert summary["refund"] == stored["refund"]
    assert _dollars(stored["refund"]) in result["response"] and stored["quote_id"] in result["response"]
    # The clause is a source like any other: located in the contract's text.
    clause = stored["clause"]["quote"]
    assert "Rule of 78s" in clause
    text = contract.document_text
    assert any(s["quote"] == clause and text[s["start"]:s["end"]] == clause for s in result["sources"]), result["sources"]
    with session_factory() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "refund_quote")).all()
        chats = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "chat").order_by(AuditEvent.id)).all()
    assert [e.event_data["quote_id"] for e in events] == [stored["quote_id"]] and events[0].user_id == user_id
    assert chats[-1].event_data["refund_quote_ids"] == [stored["quote_id"]]
    return stored


def test_the_local_answerer_quotes_a_payoff_and_cites_the_clause(app, worker, session_factory):
    agent, token = user_with_token("agent")
    client = app.test_client()
    contract = demo_contract(session_factory)
    demo_extraction(session_factory, contract)
    accepted = client.post("/api/v1/chat", json={"message": QUESTION, "contract_id": str(contract.id)}, as_token=token).get_json()
    done = wait_for(lambda: _finished(client, accepted["job_id"], token), timeout=60, what="the chat job")
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["provider"] == "local" and result["answered"] is True
    stored = _check_quoted_answer(client, session_factory, contract, result, cancellation_date="2026-11-20", reason="payoff", user_id=agent.id)
    assert stored["refund"] == "201.97"  # $1,095.00 x 42.43/84.85 less the $75.00 fee: the figure an agent reads out

    # "Today" is today's date; a trade-in is a trade-in.
    accepted = client.post("/api/v1/chat", as_token=token, json={
        "message": "They traded the truck in. How much do they get back if they cancel today?", "session_id": accepted["session_id"]}).get_json()
    result = wait_for(lambda: _finished(client, accepted["job_id"], token), timeout=60, what="the second chat job")["result"]
    quote = result["refund_quotes"][0]
    assert (quote["cancellation_date"], quote["reason"]) == (datetime.now(timezone.utc).date().isoformat(), "trade_in")
    assert _dollars(quote["refund"]) in result["response"]
    with session_factory() as session:
        assert len(session.scalars(select(RefundQuote)).all()) == 2


def test_a_quote_that_cannot_be_made_is_explained_and_nothing_is_stored(client, worker, session_factory):
    contract = demo_contract(session_factory)  # never extracted
    accepted = client.post("/api/v1/chat", json={"message": QUESTION, "contract_id": str(contract.id)}).get_json()
    result = wait_for(lambda: _finished(client, accepted["job_id"]), timeout=60, what="the chat job")["result"]
    assert result["response"].startswith("I could not quote a refund:") and "extract it first" in result["response"]
    assert result["answered"] is False and "refund_quotes" not in result
    with session_factory() as session:
        assert session.scalars(select(RefundQuote)).all() == []


def test_the_openai_adapter_calls_the_quote_tool_through_the_sdk(app, client, worker, session_factory, simulator, settings):
    from pipeline.core.logs import user_id_var

    simulator.reset()
    agent, _token = user_with_token("agent")
    contract = demo_contract(session_factory)
    demo_extraction(session_factory, contract)
    signed_in = user_id_var.set(str(agent.id))  # as the API does for a signed-in agent
    try:
        with app.app_context(), session_factory() as session:
            asked = chat_service.ask(session=session, settings=settings, provider="openai", message=QUESTION, contract_id=contract.id)
            session.commit()
    finally:
        user_id_var.reset(signed_in)
    done = wait_for(lambda: _finished(client, asked.job.id), timeout=60, what="the chat job")
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["provider"] == "openai"
    stored = _check_quoted_answer(client, session_factory, contract, result, cancellation_date="2026-11-20", reason="payoff", user_id=agent.id)
    assert stored["refund"] == "201.97"

    calls = simulator.requests("openai")
    assert len(calls) == 2
    first, second = calls[0].body, calls[1].body
    assert first["tool_choice"] == "required" and {t["function"]["name"] for t in first["tools"]} == {"answer_contract_question", QUOTE_TOOL_NAME}
    assert "quote_refund" in first["messages"][0]["content"]  # the system prompt says when to use it
    tool_call = second["messages"][-2]["tool_calls"][0]
    assert tool_call["function"]["name"] == QUOTE_TOOL_NAME
    assert json.loads(tool_call["function"]["arguments"]) == {"reason": "payoff", "claim_paid": False, "cancellation_date": "2026-11-20"}
    tool_result = json.loads(second["messages"][-1]["content"])
    assert second["messages"][-1]["role"] == "tool" and second["messages"][-1]["tool_call_id"] == tool_call["id"]
    assert tool_result["quote_id"] == stored["quote_id"] and tool_result["refund"] == "201.97"


@pytest.fixture
def remote(simulator, settings, redis_client):
    simulator.reset()

    def make(primary):
        return settings.replace(
            llm_provider=primary, openai_api_key="sk-test-not-a-real-key-000", openai_base_url=f"{simulator.base_url}/v1",
            anthropic_api_key="sk-ant-test-not-a-real-key", anthropic_base_url=simulator.base_url, anthropic_model="claude-test",
            bedrock_endpoint_url=simulator.base_url, llm_local_fallback=False, llm_timeout=5,
        )

    return make


@pytest.mark.parametrize("adapter", ["openai", "anthropic", "bedrock"])
def test_each_adapter_runs_the_tool_and_answers_with_its_figure(remote, simulator, adapter):
    from pipeline.text import passages as retrieval
    from tests.support.quotes import DEMOS

    text = DEMOS[1]["document_text"]
    clause = next(line for line in text.split("\n") if "Rule of 78s" in line).split("Otherwise, ", 1)[1]
    calls = []

    def run(arguments):
        calls.append(arguments)
        return {"quote_id": "q-123", "refund": "201.97", "cancellation_date": arguments["cancellation_date"],
                "reason": arguments["reason"], "clause": {"quote": clause}}

    question = "What refund would they receive if they trade it in on 2026-11-20?"
    request = ChatRequest(
        question=question, document_text=text, passages=retrieval.select(question, text, budget=8000),
        contract={"account_number": DEMOS[1]["account_number"]},
        tools=(ChatTool(name=QUOTE_TOOL_NAME, description="quote", parameters=QUOTE_TOOL_SCHEMA, run=run),),
    )
    output = ProviderChain(remote(adapter)).answer(request=request).output
    assert output.provider == adapter and output.answered
    assert "$201.97" in output.text and "q-123" in output.text and output.quotes == (clause,)
    assert calls == [{"reason": "trade_in", "claim_paid": False, "cancellation_date": "2026-11-20"}]
    requests = simulator.requests()
    assert len(requests) == 2 and {r.family for r in requests} == {adapter}
    sent = requests[1].body["messages"]
    if adapter == "anthropic":
        assert requests[0].body["tool_choice"] == {"type": "any"}
        assert sent[-1]["content"][0]["type"] == "tool_result" and json.loads(sent[-1]["content"][0]["content"])["quote_id"] == "q-123"
    elif adapter == "bedrock":
        assert requests[0].body["toolConfig"]["toolChoice"] == {"any": {}}
        result = sent[-1]["content"][0]["toolResult"]
        assert json.loads(result["content"][0]["text"])["refund"] == "201.97"
    else:
        assert sent[-1]["role"] == "tool"
    assert output.prompt_tokens > 0


def test_a_question_that_is_not_about_a_refund_figure_calls_no_tool(remote, simulator):
    from pipeline.text import passages as retrieval
    from tests.support.quotes import DEMOS

    text = DEMOS[1]["document_text"]
    question = "How is a refund calculated on cancellation?"

    def run(arguments):  # pragma: no cover - must not be called
        raise AssertionError("the quote tool was called")

    request = ChatRequest(question=question, document_text=text, passages=retrieval.select(question, text, budget=8000),
                          tools=(ChatTool(name=QUOTE_TOOL_NAME, description="quote", parameters=QUOTE_TOOL_SCHEMA, run=run),))
    output = ProviderChain(remote("openai")).answer(request=request).output
    assert output.answered and len(simulator.requests()) == 1
