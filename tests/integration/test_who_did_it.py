"""Every action names its person: the review flow as an agent, through the real worker, leaves a
trail in which every event names that agent; approved_by, the correction, the job, chat messages
and batches keep who asked; log lines carry the user id."""

from __future__ import annotations

import json
import logging
import uuid

from sqlalchemy import select

from models import AuditEvent, Batch, ChatMessage, Contract, Correction, Extraction, Job
from pipeline.seed.demo import demo_contracts
from tests.support.auth import user_with_token
from tests.support.waiting import wait_for


def _add_demo(session_factory, index=0):
    demo = demo_contracts()[index]
    row = {k: v for k, v in demo.items() if k not in ("expected", "pdf_path", "vehicle", "contract_start_date")}
    with session_factory() as session:
        session.add(Contract(**row, text_status="available"))
        session.commit()
    return demo


def _finished(client, location, token):
    def done():
        body = client.get(location, as_token=token).get_json()
        return body if body["status"] in ("succeeded", "failed") else None

    return wait_for(done, timeout=60, what=f"the job at {location}")


def test_the_review_flow_as_an_agent_names_the_agent_everywhere(client, worker, session_factory):
    demo = _add_demo(session_factory)
    agent, token = user_with_token("agent", full_name="Ana Agent")

    found = client.post("/api/v1/contracts/search", json={"account_number": demo["account_number"]}, as_token=token)
    assert found.status_code == 200, found.get_json()
    contract_id = found.get_json()["contract_id"]
    job = client.post("/api/v1/extractions/create", json={"contract_id": contract_id}, as_token=token).get_json()
    done = _finished(client, job["location"], token)
    assert done["status"] == "succeeded", done
    extraction_id = done["result"]["extraction_id"]

    submitted = client.post(f"/api/v1/extractions/{extraction_id}/submit", as_token=token, json={
        "corrections": [{"field_name": "cancellation_fee", "corrected_value": "$75", "correction_reason": "addendum, page 2"}],
    })
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["approved_by"] == str(agent.id)
    assert submitted.get_json()["corrections"][0]["corrected_by"] == str(agent.id)

    with session_factory() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.contract_id == uuid.UUID(contract_id))).all()
        kinds = {e.event_type for e in events}
        assert {"search", "extract", "approve"} <= kinds
        # Every event of the flow, the worker's extract event included, names the agent.
        assert {(e.event_type, e.user_id) for e in events} == {(kind, agent.id) for kind in kinds}
        extraction = session.get(Extraction, uuid.UUID(extraction_id))
        assert extraction.approved_by == agent.id
        correction = session.scalars(select(Correction).where(Correction.extraction_id == extraction.id)).one()
        assert correction.corrected_by == agent.id
        assert session.get(Job, uuid.UUID(job["job_id"])).requested_by == agent.id

    # The trail alone answers "who approved this and what did they change".
    _auditor, auditor_token = user_with_token("auditor")
    trail = client.get(f"/api/v1/audit/extraction/{extraction_id}", query_string={"event_type": "approve"}, as_token=auditor_token).get_json()
    assert trail[0]["user_id"] == str(agent.id)
    assert trail[0]["event_data"]["corrections"][0]["corrected"] == "75.00"


def test_chat_messages_and_batches_keep_who_asked(client, worker, session_factory):
    demo = _add_demo(session_factory, 1)
    agent, token = user_with_token("agent")
    contract_id = client.post("/api/v1/contracts/search", json={"account_number": demo["account_number"]}, as_token=token).get_json()["contract_id"]
    asked = client.post("/api/v1/chat", json={"message": "What is the cancellation fee?", "contract_id": contract_id}, as_token=token)
    assert asked.status_code == 202, asked.get_json()
    assert _finished(client, asked.get_json()["location"], token)["status"] == "succeeded"

    operator, operator_token = user_with_token("operator")
    batch = client.post("/api/v1/batches", json={"contract_ids": [contract_id]}, as_token=operator_token)
    assert batch.status_code == 202, batch.get_json()

    with session_factory() as session:
        messages = session.scalars(select(ChatMessage).where(ChatMessage.session_id == uuid.UUID(asked.get_json()["session_id"]))).all()
        assert {(m.role, m.user_id) for m in messages} == {("user", agent.id), ("assistant", agent.id)}
        chat_events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "chat")).all()
        assert chat_events and {e.user_id for e in chat_events} == {agent.id}
        assert session.get(Batch, uuid.UUID(batch.get_json()["batch_id"])).requested_by == operator.id
        batch_jobs = session.scalars(select(Job).where(Job.batch_id == uuid.UUID(batch.get_json()["batch_id"]))).all()
        assert batch_jobs and {j.requested_by for j in batch_jobs} == {operator.id}


class _Lines(logging.Handler):
    """Formats each record as it is emitted, as the service's own handler does."""

    def __init__(self):
        from pipeline.core.logs import JsonFormatter

        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_log_lines_carry_the_user_id_and_never_the_token(client):
    agent, token = user_with_token("agent")
    handler = _Lines()
    logger = logging.getLogger("api.request")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.get("/api/v1/me", as_token=token)
        client.get("/api/v1/me", headers={"Authorization": "Bearer cre_a-wrong-token-that-must-not-be-logged"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in handler.lines]
    assert [line["user_id"] for line in lines if line.get("status") == 200] == [str(agent.id)]
    assert [line.get("user_id") for line in lines if line.get("status") == 401] == [None]
    assert all(token not in line and "cre_a-wrong-token" not in line for line in handler.lines)


def test_an_agent_follows_extraction_jobs_and_their_own_chats_only(client, session_factory):
    from pipeline.chat.job import CHAT
    from pipeline.core import db
    from pipeline.core.settings import get_settings
    from pipeline.extraction.job import EXTRACTION
    from pipeline.jobs import lifecycle as jobs

    demo = _add_demo(session_factory, 2)
    asker, asker_token = user_with_token("agent")
    _other, other_token = user_with_token("agent")
    _operator, operator_token = user_with_token("operator")
    with session_factory() as session:
        contract_id = session.scalars(select(Contract.id).where(Contract.account_number == demo["account_number"])).one()
    with db.unit_of_work(get_settings()) as session:
        chat = jobs.create(session=session, kind=CHAT, contract_id=contract_id, requested_by=asker.id)
        extraction, _ = jobs.create_unless_active(session=session, kind=EXTRACTION, contract_id=contract_id, requested_by=asker.id)
        chat_id, extraction_id = chat.id, extraction.id

    for path in (f"/api/v1/jobs/{chat_id}", f"/api/v1/jobs/{chat_id}/events"):
        assert client.get(path, as_token=other_token).status_code == 404, path
    assert client.get(f"/api/v1/jobs/{chat_id}", as_token=asker_token).get_json()["requested_by"] == str(asker.id)
    assert client.get(f"/api/v1/jobs/{chat_id}", as_token=operator_token).status_code == 200
    assert client.get(f"/api/v1/jobs/{extraction_id}", as_token=other_token).status_code == 200
