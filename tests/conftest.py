"""Shared fixtures.

Integration tests run against a real PostgreSQL and a real Redis (TEST_DATABASE_URL,
TEST_REDIS_URL; defaults below) and, where a job's path is tested, a real Celery worker process.
The environment is pointed at them before anything reads settings, so the code under test, the
worker subprocesses and the CLI all see the same configuration.

TEST_DATABASE_URL names a superuser. It only sets the stage: it creates two roles named after the
test database (``<db>_owner``, ``<db>_app``) and the database, owned by the first, and empties
the tables between tests. The migrations run as the owner (MIGRATION_DATABASE_URL); everything
else, the app, the workers and the CLI, connects as the service's role (DATABASE_URL), which owns
nothing, as in a real deployment.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cre_test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent

_DATA_DIR = tempfile.mkdtemp(prefix="cre-test-")

from tests.support.database import DatabaseRoles  # reads no settings

DATABASE = DatabaseRoles.for_database(TEST_DATABASE_URL)

# Before any settings are read: every process of the test run shares this configuration.
os.environ.update(
    {
        "APP_ENV": "test",
        "LOG_LEVEL": os.environ.get("TEST_LOG_LEVEL", "WARNING"),
        "DATABASE_URL": DATABASE.service_url,
        "MIGRATION_DATABASE_URL": DATABASE.owner_url,
        "REDIS_URL": TEST_REDIS_URL,
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "DATA_DIR": _DATA_DIR,
        "LLM_PROVIDER": "local",
        # Tests fire requests far faster than any person; the limits have tests of their own.
        "RATE_LIMIT_PER_IDENTITY": "off",
        "RATE_LIMIT_SIGN_IN_FAILURES": "1000 per second",
        # boto3 must never look for real credentials or instance metadata.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
for _name in ("PDF_DIR", "S3_BUCKET", "S3_ENDPOINT_URL", "EXTERNAL_RDB_API_URL"):
    os.environ.pop(_name, None)

# Every Flask test client signs in (as a test admin unless a test says otherwise): the API refuses
# anonymous calls.
import flask

from tests.support import database as dbsupport
from tests.support.auth import SignedInClient
from tests.support.worker import WorkerProcess

flask.Flask.test_client_class = SignedInClient


@pytest.fixture(scope="session")
def settings():
    from pipeline.core.settings import get_settings, reset_settings

    reset_settings()
    return get_settings()


@pytest.fixture(scope="session")
def database_roles() -> DatabaseRoles:
    """The owner role and the service's role exist (created by the superuser if missing)."""
    dbsupport.ensure_roles(DATABASE.admin_url, DATABASE.owner, DATABASE.service)
    return DATABASE


@pytest.fixture(scope="session")
def migrated_database(database_roles, settings) -> str:
    """The test database, created if missing and migrated from scratch (as the owner) once per
    run; the service's URL, which is what the code under test connects as."""
    dbsupport.recreate_database(database_roles.admin_url, owner=database_roles.owner)
    from pipeline.ops import migrate

    migrate.upgrade(settings)
    return settings.database_url


@pytest.fixture
def clean_db(migrated_database, database_roles) -> Iterator[None]:
    """Empty tables before the test (real commits happen: workers are other processes)."""
    dbsupport.truncate_all(database_roles.admin_url)
    yield


@pytest.fixture
def redis_client(settings):
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def app(clean_db, redis_client, settings):
    from api import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session_factory(migrated_database, settings):
    from pipeline.core import db

    return db.session_factory(settings)


@pytest.fixture(scope="session")
def owner_session_factory(migrated_database, settings):
    """Sessions as the owner role: for tests of what the database refuses even to the owner."""
    from pipeline.core import db

    return db.session_factory(settings.replace(database_url=settings.migration_url))


@pytest.fixture(scope="session")
def simulator():
    """The loopback LLM provider simulator, answering as a careful model would."""
    from tests.simulator import Simulator
    from tests.support.brains import reading_brain

    with Simulator(brain=reading_brain, retry_after=0.2) as sim:
        yield sim


@pytest.fixture(scope="session")
def worker(migrated_database, settings, simulator) -> Iterator[WorkerProcess]:
    """A real Celery worker process consuming both queues from the test Redis.

    Its main provider is local; jobs that ask for ``openai`` reach the simulator.
    """
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-not-a-real-key-000",
        "OPENAI_BASE_URL": f"{simulator.base_url}/v1",
        "LLM_RETRY_MAX_ATTEMPTS": "2",
    }
    proc = WorkerProcess(cwd=ROOT, env=env)
    proc.start()
    yield proc
    proc.stop()
