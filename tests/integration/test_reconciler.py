"""The reconciler puts lost and orphaned jobs back in the broker, from what PostgreSQL records.

Real losses: the broker's queue keys deleted in Redis, a worker SIGKILLed mid-job (the provider
simulator's latency keeps the job in flight). Time passing is the one thing simulated: the
reconciler is asked to look at the jobs as if the bound had passed (``now=``).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from models import AuditEvent, Batch, Extraction, Job
from pipeline.batches import service as batches
from pipeline.jobs import dispatch
from pipeline.jobs import lifecycle as jobs
from pipeline.maintenance import reconciler
from tests.conftest import ROOT
from tests.support.fleet import NamedWorker, insert_contracts, paused, workers
from tests.support.waiting import wait_for
from workers.celery_app import create_celery


def _later(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def _statuses(session_factory, ids):
    with session_factory() as session:
        return dict(session.execute(select(Job.id, Job.status).where(Job.id.in_(ids))).all())


def _extractions_per_contract(session_factory, contract_ids):
    with session_factory() as session:
        return dict(
            session.execute(
                select(Extraction.contract_id, func.count()).where(Extraction.contract_id.in_(contract_ids)).group_by(Extraction.contract_id)
            ).all()
        )


def _job_audit(session_factory, action):
    with session_factory() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "job")).all()
    return [e for e in events if e.event_data.get("action") == action]


def _worker_env(simulator):
    return {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key-000", "OPENAI_BASE_URL": f"{simulator.base_url}/v1", "LLM_RETRY_MAX_ATTEMPTS": "1"}


def test_jobs_whose_messages_were_lost_are_sent_again(client, worker, session_factory, settings, redis_client, simulator):
    contracts = insert_contracts(session_factory, 8)
    with paused(worker):
        interactive = [client.post("/api/v1/extractions/create", json={"contract_id": str(c)}).get_json()["job_id"] for c in contracts[:3]]
        batch_id = client.post("/api/v1/batches", json={"contract_ids": [str(c) for c in contracts[3:]]}).get_json()["batch_id"]
        with session_factory() as session:
            job_ids = list(session.scalars(select(Job.id)))
        assert len(job_ids) == 8

        # Not stale yet; and once stale, nothing is missing while the broker holds the messages.
        assert reconciler.reconcile(settings=settings)["resent"] == []
        assert reconciler.reconcile(settings=settings, now=_later(settings.job_queued_stale_seconds + 1))["resent"] == []

        assert redis_client.delete("interactive", "bulk") == 2  # the broker loses every message
        outcome = reconciler.reconcile(settings=settings, now=_later(settings.job_queued_stale_seconds + 1))
        assert sorted(outcome["resent"]) == sorted(str(j) for j in job_ids)
        assert redis_client.llen("interactive") == 3 and redis_client.llen("bulk") == 5
        # Resent once per bound: the next pass finds them fresh again.
        assert reconciler.reconcile(settings=settings, now=_later(settings.job_queued_stale_seconds + 2))["resent"] == []

    wait_for(lambda: set(_statuses(session_factory, job_ids).values()) == {"succeeded"}, timeout=120, what="every resent job to succeed")
    assert _extractions_per_contract(session_factory, contracts) == {c: 1 for c in contracts}
    assert sorted(e.event_data["job_id"] for e in _job_audit(session_factory, "resent")) == sorted(str(j) for j in job_ids)
    progress = client.get(f"/api/v1/batches/{batch_id}").get_json()
    assert (progress["total"], progress["succeeded"], progress["failed"], progress["status"]) == (5, 5, 0, "completed")
    assert interactive  # polled below through the API, as a client would
    assert all(client.get(f"/api/v1/jobs/{j}").get_json()["status"] == "succeeded" for j in interactive)


def test_jobs_of_a_killed_worker_are_requeued_and_run_once(client, worker, session_factory, settings, simulator):
    contracts = insert_contracts(session_factory, 3)
    simulator.reset()
    simulator.configure(latency=25)  # long enough to kill the worker mid-call
    try:
        with paused(worker):
            doomed = NamedWorker("doomed", cwd=ROOT, env=_worker_env(simulator), queues="bulk", concurrency=4)
            with workers(doomed):
                created = batches.create(factory=session_factory, settings=settings.replace(openai_api_key="sk-x"),
                                         contract_ids=contracts, provider="openai")
                assert simulator.wait_until(lambda s: s["in_flight"] == 3, timeout=60), simulator.stats()
                doomed.kill()
            with session_factory() as session:
                stuck = session.execute(select(Job.id, Job.status, Job.attempts).where(Job.batch_id == created.batch_id)).all()
            assert {(status, attempts) for _, status, attempts in stuck} == {("running", 1)}
            assert client.get(f"/api/v1/batches/{created.batch_id}").get_json()["running"] == 3

            simulator.configure(latency=0)
            # The worker's lifetime is not up yet: nothing is touched.
            assert reconciler.reconcile(settings=settings)["requeued"] == []
            outcome = reconciler.reconcile(settings=settings, now=_later(settings.celery_visibility_timeout + 1))
            assert sorted(outcome["requeued"]) == sorted(str(j) for j, _, _ in stuck) and outcome["failed"] == []
            progress = client.get(f"/api/v1/batches/{created.batch_id}").get_json()
            assert (progress["queued"], progress["running"], progress["total"]) == (3, 0, 3)

            rescuer = NamedWorker("rescuer", cwd=ROOT, env=_worker_env(simulator), queues="bulk", concurrency=4)
            with workers(rescuer):
                done = wait_for(lambda: (p := client.get(f"/api/v1/batches/{created.batch_id}").get_json())["status"] == "completed" and p,
                                timeout=120, what="the batch to complete on the second worker")
    finally:
        simulator.reset()
    assert (done["succeeded"], done["failed"], done["total"], done["skipped"]) == (3, 0, 3, 0)
    assert _extractions_per_contract(session_factory, contracts) == {c: 1 for c in contracts}
    with session_factory() as session:
        assert set(session.scalars(select(Job.attempts).where(Job.batch_id == created.batch_id))) == {2}
    assert len(_job_audit(session_factory, "requeued")) == 3
    assert "job re-queued" not in rescuer.output()  # the log line is the reconciler's, in this process


def test_a_job_that_keeps_losing_its_worker_fails_after_the_cap(app, session_factory, settings):
    contracts = insert_contracts(session_factory, 2)
    long_ago = datetime.now(timezone.utc) - timedelta(seconds=settings.celery_visibility_timeout + 60)
    with session_factory() as session:
        batch = Batch(status="running", total=2)
        session.add(batch)
        session.flush()
        hopeless = Job(kind="extraction", queue="bulk", status="running", contract_id=contracts[0], batch_id=batch.id,
                       attempts=settings.job_max_attempts, started_at=long_ago)
        hopeful = Job(kind="extraction", queue="bulk", status="running", contract_id=contracts[1], batch_id=batch.id,
                      attempts=settings.job_max_attempts - 1, started_at=long_ago)
        session.add_all([hopeless, hopeful])
        session.commit()

    # A redelivered message may take over a stale job, but not one that has used up its attempts.
    with session_factory() as session:
        assert jobs.claim(session=session, job_id=hopeless.id, stale_after=settings.celery_task_time_limit, max_attempts=settings.job_max_attempts) is None
        session.rollback()

    sent = []
    previous = dispatch.current()
    dispatch.install(type("Recorder", (), {"send": lambda self, **kw: sent.append(kw)})())
    try:
        outcome = reconciler.reconcile(settings=settings)
    finally:
        dispatch.install(previous)
    assert outcome["failed"] == [str(hopeless.id)] and outcome["requeued"] == [str(hopeful.id)]
    assert [m["job_id"] for m in sent] == [str(hopeful.id)]
    with session_factory() as session:
        failed = session.get(Job, hopeless.id)
        assert failed.status == "failed" and f"after {settings.job_max_attempts} attempts" in failed.error
        assert session.get(Job, hopeful.id).status == "queued"
        progress = batches.progress(session=session, batch_id=batch.id)
    assert (progress["failed"], progress["queued"], progress["running"]) == (1, 1, 0)
    assert progress["failure_reasons"][0]["error"].startswith(f"gave up after {settings.job_max_attempts} attempts")
    assert [e.event_data["job_id"] for e in _job_audit(session_factory, "failed")] == [str(hopeless.id)]

    # The requeued one finishes: the next pass marks the batch completed.
    with session_factory() as session:
        session.execute(update(Job).where(Job.id == hopeful.id).values(status="succeeded", finished_at=datetime.now(timezone.utc)))
        session.commit()
    assert reconciler.reconcile(settings=settings)["batches_completed"] == 1
    with session_factory() as session:
        assert session.get(Batch, batch.id).status == "completed"


def test_beat_schedules_the_reconciler_and_a_worker_runs_it(app, worker, session_factory, settings):
    schedule = create_celery(settings).conf.beat_schedule
    entry = next(e for e in schedule.values() if e["task"] == "maintenance.reconcile")
    assert entry["schedule"] == float(settings.reconcile_interval_seconds)
    assert entry["options"]["queue"] == "interactive"

    with session_factory() as session:
        orphan = Job(kind="maintenance", queue="interactive", status="running", attempts=1,
                     started_at=datetime.now(timezone.utc) - timedelta(seconds=settings.celery_visibility_timeout + 60))
        session.add(orphan)
        session.commit()
    create_celery(settings).send_task("maintenance.reconcile", queue="interactive")
    done = wait_for(lambda: (j := _job(session_factory, orphan.id)).status == "succeeded" and j, timeout=60, what="the orphan to be re-queued and run")
    assert done.attempts == 2 and done.result["pong"] is True
    assert "job re-queued: its worker stopped mid-run" in worker.output()


def _job(session_factory, job_id: uuid.UUID) -> Job:
    with session_factory() as session:
        return session.get(Job, job_id)
