"""Liveness and readiness against real dependencies, including a dependency that stops."""

import shutil
import socket
import subprocess

import pytest

from api import create_app
from tests.support.net import free_port
from tests.support.waiting import wait_for


def test_health_answers_without_dependencies(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_ready_when_postgres_and_redis_are_up(client):
    response = client.get("/ready")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["database"]["detail"].startswith("postgresql, schema ")
    assert checks["cache"]["ok"] and checks["broker"]["ok"]


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of the test's own, so stopping it disturbs nobody else."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed for this test (it is part of the test environment)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_for(up, timeout=10, what="private redis-server to accept connections")
    yield proc, f"redis://127.0.0.1:{port}/0"
    proc.kill()
    proc.wait()


def test_ready_reports_a_stopped_redis(private_redis, settings, clean_db):
    proc, url = private_redis
    app = create_app(settings.replace(redis_url=url, celery_broker_url=url))
    client = app.test_client()
    assert client.get("/ready").status_code == 200

    proc.terminate()
    proc.wait(timeout=10)

    response = client.get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "unavailable"
    assert "cache" in body["message"] and "broker" in body["message"]
    checks = body["details"]["checks"]
    assert checks["database"]["ok"] is True
    assert checks["cache"]["ok"] is False and "Connection" in checks["cache"]["error"]
    assert checks["broker"]["ok"] is False


def test_ready_reports_an_unreachable_database(settings, redis_client):
    port = free_port()  # nothing listens there
    app = create_app(settings.replace(database_url=f"postgresql://postgres@127.0.0.1:{port}/cre_test"))
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["message"] == "not ready: database down"
    assert body["details"]["checks"]["database"]["ok"] is False
    assert body["details"]["checks"]["cache"]["ok"] is True


def test_ready_is_503_on_a_database_not_at_the_newest_migration(settings, redis_client):
    """An unmigrated (or half-migrated) database would answer 503 on every call: not ready."""
    from sqlalchemy.engine import make_url

    from pipeline.ops import migrate
    from pipeline.ops.health import schema_head
    from tests.conftest import TEST_DATABASE_URL
    from tests.support import database as dbsupport

    url = make_url(TEST_DATABASE_URL).set(database=make_url(TEST_DATABASE_URL).database + "_unmigrated").render_as_string(hide_password=False)
    dbsupport.recreate_database(url)
    try:
        scratch = settings.replace(database_url=url, migration_database_url=url)
        client = create_app(scratch).test_client()
        body = client.get("/ready", anonymous=True).get_json()
        assert body["status"] == 503 and body["message"] == "not ready: database down"

        migrate.upgrade(scratch, "0002")
        assert client.get("/ready", anonymous=True).status_code == 503
        migrate.upgrade(scratch)
        ready = client.get("/ready", anonymous=True)
        assert ready.status_code == 200, ready.get_json()
        assert schema_head() != "0002"
    finally:
        from models.session import dispose_engines

        dispose_engines()
        dbsupport.drop_database(url)
