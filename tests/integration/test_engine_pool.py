"""Pooled PostgreSQL connections: pinged only after sitting idle, and replaced when found dead."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from models import Contract
from models import session as model_session
from models.session import dispose_engines
from pipeline.seed.demo import demo_contracts
from tests.support.waiting import wait_for


def _engine(url):
    engine = create_engine(url, pool_size=1, max_overflow=0)
    model_session._ping_after_idle(engine, idle_seconds=5)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _age_pooled_connection(engine, seconds: float) -> None:
    """Pretend the pooled connection was checked in ``seconds`` ago."""
    record = engine.pool._pool.queue[0]
    record.info["checked_in_at"] = time.monotonic() - seconds


def _terminate(url, pid: int) -> None:
    """What a database restart or an administrator does to one connection (``url``: the superuser's)."""
    admin = create_engine(url)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    admin.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(migrated_database, database_roles):
    engine = _engine(migrated_database)
    dead = _backend_pid(engine)
    _terminate(database_roles.admin_url, dead)

    # No round trip before use: the dead connection is only found on use, as a disconnect the
    # pool reacts to by dropping its connections...
    with pytest.raises(DBAPIError) as failure:
        _backend_pid(engine)
    assert failure.value.connection_invalidated
    # ...so the next checkout gets a fresh one.
    assert _backend_pid(engine) != dead
    engine.dispose()


def test_an_idle_connection_found_dead_is_replaced_without_an_error(migrated_database, database_roles):
    engine = _engine(migrated_database)
    dead = _backend_pid(engine)
    _terminate(database_roles.admin_url, dead)
    _age_pooled_connection(engine, 60)

    # The checkout pings the idle connection, finds it dead and hands out a new one.
    alive = _backend_pid(engine)
    assert alive != dead
    engine.dispose()


def _drop_service_connections(url) -> None:
    """What a database restart does to every pooled connection of the service's processes
    (``url``: the superuser's)."""
    admin = create_engine(url)
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'contract-refund-eligibility' AND datname = current_database() AND pid <> pg_backend_pid()"
        ))
        conn.commit()
    admin.dispose()


def _extract(client, session_factory, demo_index):
    demo = demo_contracts()[demo_index]
    row = {k: v for k, v in demo.items() if k not in ("expected", "pdf_path", "vehicle", "contract_start_date")}
    with session_factory() as session:
        contract = Contract(**row, text_status="available")
        session.add(contract)
        session.commit()
    response = client.post("/api/v1/extractions/create", json={"contract_id": str(contract.id)})
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]

    def finished():
        body = client.get(f"/api/v1/jobs/{job_id}").get_json()
        return body if body["status"] in ("succeeded", "failed") else None

    return wait_for(finished, timeout=60, what="the extraction job")


def test_a_worker_whose_connections_were_dropped_runs_the_next_job(client, worker, session_factory, database_roles):
    assert _extract(client, session_factory, 0)["status"] == "succeeded"  # the worker's pool holds connections now
    _drop_service_connections(database_roles.admin_url)
    dispose_engines()  # this process's too: the test's own requests are not what is tested

    done = _extract(client, session_factory, 1)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 1
    wait_for(lambda: "database connection was dropped; trying again" in worker.output(), timeout=10, what="the worker to say it reconnected")


def test_a_request_that_meets_a_dropped_connection_gets_503_and_the_next_one_works(client, database_roles):
    missing = "/api/v1/contracts/00000000-0000-4000-8000-000000000000"
    assert client.get(missing).status_code == 404  # the pool now holds a connection
    _drop_service_connections(database_roles.admin_url)

    response = client.get(missing)
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "unavailable" and "try again" in body["message"] and body["request_id"]
    assert response.headers["Retry-After"] == "1"
    assert client.get(missing).status_code == 404
