"""The migration runs up and down on PostgreSQL and SQLite and matches the models exactly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from models import Base
from pipeline import migrate
from tests.support import database as dbsupport

TABLES = {"contracts", "extractions", "corrections", "audit_events", "users", "api_tokens", "chat_messages", "jobs", "batches", "refund_quotes"}


def _tables(url):
    engine = create_engine(url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url):
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


@pytest.fixture
def scratch_postgres(settings):
    url = str(make_url(settings.database_url).set(database="cre_test_migrations").render_as_string(hide_password=False))
    dbsupport.recreate_database(url)
    yield settings.replace(database_url=url)
    dbsupport.drop_database(url)


def _up_down_up(settings):
    migrate.upgrade(settings)
    assert _tables(settings.database_url) == TABLES
    assert _diff(settings.database_url) == []
    migrate.downgrade(settings, "base")
    assert _tables(settings.database_url) == set()
    migrate.upgrade(settings)
    assert _tables(settings.database_url) == TABLES


def test_postgres_up_down_up(scratch_postgres):
    _up_down_up(scratch_postgres)


def test_sqlite_up_down_up(settings, tmp_path):
    _up_down_up(settings.replace(database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}"))


def test_sqlite_audit_events_are_append_only_too(settings, tmp_path):
    local = settings.replace(database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}")
    migrate.upgrade(local)
    engine = create_engine(local.database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO audit_events (event_type, event_data) VALUES ('search', '{}')")
    for statement in ("UPDATE audit_events SET event_type = 'view'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_sqlite_refund_quotes_are_immutable_too(settings, tmp_path):
    local = settings.replace(database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}")
    migrate.upgrade(local)
    engine = create_engine(local.database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO refund_quotes (id, contract_id, extraction_id, origin, cancellation_date, reason, claim_paid, request, "
            "eligible, reason_code, refund, gross_refund, fee_applied, factor, reason_text, rules_version, formulas_version, result) "
            "VALUES ('a', 'c', 'e', 'api', '2026-11-20', 'payoff', 0, '{}', 1, 'unearned_refund', 10, 60, 50, 0.5, 'x', 'v', '1', '{}')"
        )
    for statement in ("UPDATE refund_quotes SET refund = 11, gross_refund = 61", "DELETE FROM refund_quotes"):
        with pytest.raises(Exception, match="immutable"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()
