"""A real Celery worker consumes jobs from Redis, once each, with the request id in its logs."""

import uuid

import pytest
from sqlalchemy import select

from models import Job
from pipeline.jobs import lifecycle as jobs
from pipeline.ops.worker_check import MAINTENANCE
from tests.support.waiting import wait_for
from workers.celery_app import CeleryDispatcher, create_celery


def _job(session_factory, job_id):
    with session_factory() as session:
        return session.get(Job, job_id)


def test_worker_check_runs_a_job_on_each_queue(app, worker):
    runner = app.test_cli_runner()
    for queue in ("interactive", "bulk"):
        result = runner.invoke(args=["worker-check", "--queue", queue, "--timeout", "60"])
        assert result.exit_code == 0, result.output + worker.output()[-3000:]
        assert f"succeeded on queue {queue}" in result.output


def test_a_redelivered_message_does_not_run_the_job_twice(app, worker, session_factory, settings):
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    with session_factory() as session:
        job = jobs.create(session=session, kind=MAINTENANCE, queue="interactive", request_id=request_id)
        session.commit()
    # The same job id arrives a second time (as after a redelivery).
    CeleryDispatcher(create_celery(settings)).send(
        task_name="maintenance.run", job_id=str(job.id), queue="interactive", request_id=request_id
    )
    done = wait_for(lambda: (j := _job(session_factory, job.id)).status == "succeeded" and j, timeout=60, what="job to succeed")
    assert done.attempts == 1
    assert done.result["pong"] is True
    wait_for(lambda: worker.output().count(str(job.id)) >= 4, timeout=30, what="both deliveries in the worker log")
    log = worker.output()
    assert log.count(f'"job started", "request_id": "{request_id}"') == 1
    assert "already claimed or finished" in log


def test_nothing_is_sent_when_the_transaction_rolls_back(app, session_factory):
    sent = []

    class Recorder:
        def send(self, **kwargs):
            sent.append(kwargs)

    from pipeline.jobs import dispatch

    previous = dispatch.current()
    dispatch.install(Recorder())
    try:
        with session_factory() as session:
            jobs.create(session=session, kind=MAINTENANCE)
            session.rollback()
        assert sent == []
        with session_factory() as session:
            job = jobs.create(session=session, kind=MAINTENANCE, queue="bulk")
            assert sent == []  # not before the commit
            session.commit()
        assert sent == [{"task_name": "maintenance.run", "job_id": str(job.id), "queue": "bulk", "request_id": None}]
        with session_factory() as session:
            assert session.scalars(select(Job.status)).all() == ["queued"]
    finally:
        dispatch.install(previous)


def test_claim_takes_over_a_job_whose_worker_died(clean_db, session_factory):
    from datetime import datetime, timedelta, timezone

    with session_factory() as session:
        dead = Job(kind="maintenance", status="running", attempts=1, started_at=datetime.now(timezone.utc) - timedelta(hours=2))
        alive = Job(kind="maintenance", status="running", attempts=1, started_at=datetime.now(timezone.utc))
        session.add_all([dead, alive])
        session.commit()
        assert jobs.claim(session=session, job_id=alive.id, stale_after=900) is None
        assert jobs.claim(session=session, job_id=dead.id) is None  # without the bound, never
        taken = jobs.claim(session=session, job_id=dead.id, stale_after=900)
        session.commit()
    assert taken is not None and taken.status == "running" and taken.attempts == 2


def test_work_registered_inside_a_savepoint_waits_for_the_real_commit(migrated_database, session_factory):
    from sqlalchemy import text

    from models.session import after_commit

    ran = []
    with session_factory() as session:
        session.execute(text("SELECT 1"))
        with session.begin_nested():
            after_commit(session, lambda: ran.append("sent"))
        assert ran == []  # releasing the savepoint is not a commit
        session.commit()
    assert ran == ["sent"]


def test_work_of_a_rolled_back_savepoint_is_dropped_and_the_rest_kept(migrated_database, session_factory):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from models.session import after_commit

    ran = []
    with session_factory() as session:
        after_commit(session, lambda: ran.append("outer"))
        session.execute(text("SELECT 1"))
        with pytest.raises(DBAPIError):
            with session.begin_nested():
                after_commit(session, lambda: ran.append("inner"))
                session.execute(text("SELECT 1/0"))
        session.commit()
    assert ran == ["outer"]
    with session_factory() as session:
        after_commit(session, lambda: ran.append("rolled back"))
        session.execute(text("SELECT 1"))
        session.rollback()
        session.execute(text("SELECT 1"))
        session.commit()
    assert ran == ["outer"]
