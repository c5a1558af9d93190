"""Extraction end to end: API, broker, a real Celery worker, PostgreSQL, Redis (and the
simulator where a remote provider is asked for)."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Contract, Extraction, Job
from pipeline.core.cache import get_cache
from pipeline.extraction import service as extraction_service
from pipeline.seed.demo import demo_contracts
from pipeline.core.pdf_render import render_text_pdf
from tests.support.waiting import wait_for
from workers.celery_app import CeleryDispatcher, create_celery

CREATE = "/api/v1/extractions/create"


def _contract(session_factory, *, demo_index=0, **values):
    demo = demo_contracts()[demo_index]
    row = {k: v for k, v in demo.items() if k not in ("expected", "pdf_path", "vehicle", "contract_start_date")}
    row.update(values)
    with session_factory() as session:
        contract = Contract(**row, text_status="available" if row.get("document_text") else "pending")
        session.add(contract)
        session.commit()
    return contract, demo


def _finished(client, job_id):
    body = client.get(f"/api/v1/jobs/{job_id}").get_json()
    return body if body["status"] in ("succeeded", "failed") else None


def test_extract_through_the_worker_and_read_it_back(client, worker, session_factory):
    contract, demo = _contract(session_factory)
    response = client.post(CREATE, json={"contract_id": str(contract.id)})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{job['job_id']}" == job["location"]
    assert job["status"] == "queued" and job["kind"] == "extraction"

    done = wait_for(lambda: _finished(client, job["job_id"]), timeout=60, what="the extraction job")
    assert done["status"] == "succeeded", done
    extraction_id = done["result"]["extraction_id"]

    body = client.get(f"/api/v1/extractions/{extraction_id}").get_json()
    assert body["status"] == "pending" and body["provider"] == "local"
    fields = body["fields"]
    assert {name: f["value"] for name, f in fields.items()} == demo["expected"]
    text = demo["document_text"]
    for name, field in fields.items():
        if field["value"] is not None:
            source = field["source"]
            assert text[source["start"]:source["end"]] == source["quote"]
            assert field["badge"] in ("high", "medium", "low")
    assert [e["event_type"] for e in body["audit_trail"]][:1] == ["extract"]
    assert body["audit_trail"][0]["event_data"]["outcome"] == "succeeded"
    assert body["audit_trail"][0]["request_id"] == response.headers["X-Request-ID"]

    again = client.post(CREATE, json={"contract_id": str(contract.id)})
    assert again.status_code == 200
    assert again.get_json()["extraction_id"] == extraction_id

    searched = client.post("/api/v1/contracts/search", json={"account_number": contract.account_number}).get_json()
    assert searched["extraction_status"] == "pending"


def test_a_live_job_is_joined_not_duplicated(client, session_factory):
    contract, _ = _contract(session_factory)
    with session_factory() as session:
        live = Job(kind="extraction", contract_id=contract.id, status="running")
        session.add(live)
        session.commit()
    response = client.post(CREATE, json={"contract_id": str(contract.id)})
    assert response.status_code == 202
    assert response.get_json()["job_id"] == str(live.id)


def test_two_concurrent_requests_start_one_job(app, session_factory):
    contract, _ = _contract(session_factory)
    barrier = threading.Barrier(2)
    answers = []

    def ask():
        client = app.test_client()
        barrier.wait()
        answers.append(client.post(CREATE, json={"contract_id": str(contract.id)}))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].get_json()["job_id"] == answers[1].get_json()["job_id"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_bad_requests(client):
    assert client.post(CREATE, json={"contract_id": str(uuid.uuid4())}).status_code == 404
    bad = client.post(CREATE, json={"contract_id": "nope"})
    assert bad.status_code == 422 and "contract_id" in bad.get_json()["details"]["json"]
    assert client.get("/api/v1/extractions/nope").status_code == 422
    assert client.get(f"/api/v1/extractions/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/api/v1/jobs/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/api/v1/jobs/{uuid.uuid4()}/events").status_code == 404


def test_job_status_by_server_sent_events(client, worker, session_factory):
    contract, _ = _contract(session_factory, demo_index=1)
    job_id = client.post(CREATE, json={"contract_id": str(contract.id)}).get_json()["job_id"]
    response = client.get(f"/api/v1/jobs/{job_id}/events", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    states = []
    for chunk in response.response:
        for block in chunk.decode().split("\n\n"):
            if block.startswith("event: status"):
                states.append(json.loads(block.split("data: ", 1)[1])["status"])
    response.close()
    assert states[-1] == "succeeded"
    assert states[0] in ("queued", "running", "succeeded")
    assert len(states) == len(set(states)) or states.count("succeeded") == 1


def test_polling_falls_back_to_postgres_when_redis_forgot(client, worker, session_factory, settings):
    contract, _ = _contract(session_factory, demo_index=2)
    job_id = client.post(CREATE, json={"contract_id": str(contract.id)}).get_json()["job_id"]
    wait_for(lambda: _finished(client, job_id), timeout=60, what="the job")
    get_cache(settings).delete(f"job:{job_id}")
    body = client.get(f"/api/v1/jobs/{job_id}").get_json()
    assert body["status"] == "succeeded" and body["result"]["extraction_id"]


def _job(session_factory, job_id):
    with session_factory() as session:
        return session.get(Job, job_id)


def test_a_redelivered_task_does_not_call_the_provider_twice(app, worker, session_factory, simulator, settings):
    simulator.reset()
    contract, demo = _contract(session_factory, demo_index=3)
    with session_factory() as session:
        job = extraction_service.request(session=session, contract_id=contract.id, provider="openai").job
        session.commit()
    wait_for(lambda: _job(session_factory, job.id).status == "succeeded", timeout=60, what="the job")
    assert simulator.stats()["total_requests"] == 1

    # The broker delivers the same message again (a lost acknowledgement)...
    dispatcher = CeleryDispatcher(create_celery(settings))
    dispatcher.send(task_name="extraction.run", job_id=str(job.id), queue="interactive", request_id=None)
    # ...and the job is re-queued by hand, as a reconciler would after a crash mid-commit.
    with session_factory() as session:
        session.get(Job, job.id).status = "queued"
        session.commit()
    dispatcher.send(task_name="extraction.run", job_id=str(job.id), queue="interactive", request_id=None)
    wait_for(lambda: _job(session_factory, job.id).status == "succeeded", timeout=60, what="the re-run")
    wait_for(lambda: worker.output().count("extraction exists; provider not called") >= 1, timeout=30, what="the re-run to log")
    assert simulator.stats()["total_requests"] == 1
    with session_factory() as session:
        extraction = session.scalars(select(Extraction).where(Extraction.contract_id == contract.id)).one()
        assert extraction.provider == "openai"
        assert session.get(Job, job.id).result["reused"] is True


def test_text_comes_from_the_pdf_when_the_row_has_none(client, worker, session_factory, settings):
    from pathlib import Path

    demo = demo_contracts()[4]
    folder = Path(settings.pdf_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / demo["pdf_path"]).write_bytes(render_text_pdf(demo["document_text"], title="GAP"))
    contract, _ = _contract(session_factory, demo_index=4, document_text=None, pdf_path=demo["pdf_path"])
    job_id = client.post(CREATE, json={"contract_id": str(contract.id)}).get_json()["job_id"]
    done = wait_for(lambda: _finished(client, job_id), timeout=60, what="the job")
    assert done["status"] == "succeeded", done
    assert done["result"]["fields"]["gap_insurance_premium"] == demo["expected"]["gap_insurance_premium"]
    with session_factory() as session:
        stored = session.get(Contract, contract.id)
        assert stored.text_status == "available" and "GAP" in stored.document_text


def test_a_contract_without_text_or_pdf_fails_clearly(client, worker, session_factory):
    contract, _ = _contract(session_factory, document_text=None)
    job_id = client.post(CREATE, json={"contract_id": str(contract.id)}).get_json()["job_id"]
    done = wait_for(lambda: _finished(client, job_id), timeout=60, what="the job")
    assert done["status"] == "failed"
    assert done["error"] == "the contract has no document text and no PDF"
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "extract")).one()
    assert event.event_data["outcome"] == "failed" and event.contract_id == contract.id


def test_a_failure_and_its_audit_event_commit_together(app, session_factory, monkeypatch):
    """The failure's audit event and the job's failed state are one transaction: a worker dying
    between them cannot leave an event that a retry would write a second time."""
    from pipeline.extraction.job import EXTRACTION
    from pipeline.jobs import lifecycle
    from workers.tasks.common import execute

    contract, _ = _contract(session_factory, document_text=None)
    with session_factory() as session:
        job = Job(kind=EXTRACTION.name, contract_id=contract.id)
        session.add(job)
        session.commit()
        job_id = str(job.id)
    finish = lifecycle.finish

    def dies_before_failing(*, session, job_id, result=None, error=None):
        if error is not None:
            raise RuntimeError("the worker died here")
        return finish(session=session, job_id=job_id, result=result)

    monkeypatch.setattr(lifecycle, "finish", dies_before_failing)
    with app.app_context(), pytest.raises(RuntimeError, match="the worker died here"):
        execute(EXTRACTION, job_id)
    with session_factory() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.event_type == "extract")).all() == []
        assert session.get(Job, uuid.UUID(job_id)).status == "running"

    monkeypatch.setattr(lifecycle, "finish", finish)
    with session_factory() as session:
        session.get(Job, uuid.UUID(job_id)).status = "queued"
        session.commit()
    with app.app_context():
        execute(EXTRACTION, job_id)
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "extract")).one()
        assert session.get(Job, uuid.UUID(job_id)).status == "failed"
    assert event.event_data["outcome"] == "failed" and event.event_data["job_id"] == job_id
