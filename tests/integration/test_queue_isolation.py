"""Interactive work is not stuck behind a bulk batch: ordering, not timing (bench/queue_isolation.py
measures the latency).

A worker consuming both queues (``-Q interactive,bulk``) takes one message per free thread
(prefetch 1), and kombu's Redis transport asks the queues in turn, moving the one it just served to
the back: so an agent's job is taken at the next free thread, ahead of the bulk backlog, but it
still waits for one bulk job to finish. A worker dedicated to ``interactive`` takes it at once.
"""

from __future__ import annotations

import os

from sqlalchemy import func, select

from models import Job
from pipeline.batches import service as batches
from tests.conftest import ROOT
from tests.support.fleet import NamedWorker, insert_contracts, paused, workers
from tests.support.waiting import wait_for

BULK = 40


def _env(simulator):
    return {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key-000", "OPENAI_BASE_URL": f"{simulator.base_url}/v1"}


def _bulk_backlog(session_factory, settings, simulator, slots):
    """A batch whose jobs call the (slow) simulator; returns once every bulk thread is busy."""
    contracts = insert_contracts(session_factory, BULK)
    created = batches.create(factory=session_factory, settings=settings.replace(openai_api_key="sk-x"), contract_ids=contracts, provider="openai")
    assert simulator.wait_until(lambda s: s["in_flight"] == slots, timeout=60), simulator.stats()
    return created.batch_id


def _interactive_job(client, session_factory):
    contract = insert_contracts(session_factory, 1, prefix=8)[0]
    job_id = client.post("/api/v1/extractions/create", json={"contract_id": str(contract)}).get_json()["job_id"]

    def finished():
        with session_factory() as session:
            job = session.get(Job, job_id)
            return job if job.status == "succeeded" else None

    return wait_for(finished, timeout=120, what="the interactive job")


def test_a_shared_worker_takes_interactive_work_ahead_of_the_bulk_backlog(client, worker, session_factory, settings, simulator):
    simulator.reset()
    simulator.configure(latency=0.3)
    try:
        with paused(worker), workers(NamedWorker("shared", cwd=ROOT, env=_env(simulator), queues="interactive,bulk", concurrency=2)):
            batch_id = _bulk_backlog(session_factory, settings, simulator, slots=2)
            job = _interactive_job(client, session_factory)
            with session_factory() as session:
                started_later = session.scalar(
                    select(func.count()).select_from(Job).where(Job.batch_id == batch_id, (Job.started_at > job.started_at) | Job.started_at.is_(None))
                )
    finally:
        simulator.reset()
    assert job.queue == "interactive"
    # Two bulk jobs were running and at most a couple more started before it: the backlog waited.
    assert started_later >= BULK - 6, started_later


def test_a_dedicated_interactive_worker_does_not_wait_for_a_bulk_job(client, worker, session_factory, settings, simulator):
    simulator.reset()
    simulator.configure(latency=5)
    fleet = (
        NamedWorker("interactive", cwd=ROOT, env=_env(simulator), queues="interactive", concurrency=2),
        NamedWorker("bulk", cwd=ROOT, env=_env(simulator), queues="bulk", concurrency=2),
    )
    try:
        with paused(worker), workers(*fleet):
            batch_id = _bulk_backlog(session_factory, settings, simulator, slots=2)
            job = _interactive_job(client, session_factory)
            with session_factory() as session:
                bulk_finished = session.scalar(select(func.count()).select_from(Job).where(Job.batch_id == batch_id, Job.finished_at < job.finished_at))
    finally:
        simulator.reset()
    # Every bulk thread was busy in a slow provider call, and the agent's job finished first anyway.
    assert bulk_finished == 0
    assert str(job.id) in fleet[0].output() and str(job.id) not in fleet[1].output()
