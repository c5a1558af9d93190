"""The migrations run up and down on PostgreSQL (as the owner role) and SQLite and match the
models exactly; the service's role gets its grants with revision 0004 and loses them going down."""

import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from models import Base
from pipeline.ops import migrate
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
def scratch(database_roles):
    """A scratch database named after the test database (parallel runs on other test databases
    do not collide), owned by the owner role."""
    roles = database_roles.on(f"{database_roles.database}_migrations")
    dbsupport.recreate_database(roles.admin_url, owner=roles.owner)
    yield roles
    dbsupport.drop_database(roles.admin_url)


@pytest.fixture
def scratch_postgres(settings, scratch):
    return settings.replace(database_url=scratch.service_url, migration_database_url=scratch.owner_url)


def _up_down_up(settings):
    migrate.upgrade(settings)
    assert _tables(settings.migration_url) == TABLES
    assert _diff(settings.migration_url) == []
    migrate.downgrade(settings, "base")
    assert _tables(settings.migration_url) == set()
    migrate.upgrade(settings)
    assert _tables(settings.migration_url) == TABLES


def _privileges(url, role, table):
    """What ``role`` may do with ``table``, and on the schema; looked at by the superuser."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            on_table = {
                p for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
                if conn.execute(text("SELECT has_table_privilege(:r, :t, :p)"), {"r": role, "t": f"public.{table}", "p": p}).scalar()
            }
            schema = conn.execute(text("SELECT has_schema_privilege(:r, 'public', 'USAGE')"), {"r": role}).scalar()
            defaults = conn.execute(
                text("SELECT count(*) FROM pg_default_acl a, unnest(a.defaclacl) acl WHERE acl::text LIKE :r || '=%'"),
                {"r": role},
            ).scalar()
            return on_table, schema, defaults
    finally:
        engine.dispose()


def test_postgres_up_down_up(scratch_postgres):
    _up_down_up(scratch_postgres)


def test_postgres_grants_follow_the_migrations_up_and_down(scratch, scratch_postgres):
    migrate.upgrade(scratch_postgres)
    assert _privileges(scratch.admin_url, scratch.service, "contracts") == ({"SELECT", "INSERT", "UPDATE", "DELETE"}, True, 2)
    assert _privileges(scratch.admin_url, scratch.service, "audit_events")[0] == {"SELECT", "INSERT"}

    # A table a later migration creates (as the owner) gets the same grants by default.
    owner = create_engine(scratch.owner_url, poolclass=NullPool)
    with owner.begin() as conn:
        conn.execute(text("CREATE TABLE later (id bigserial PRIMARY KEY, note text)"))
    owner.dispose()
    assert _privileges(scratch.admin_url, scratch.service, "later")[0] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    service = create_engine(scratch.service_url, poolclass=NullPool)
    with service.begin() as conn:  # its sequence too
        conn.execute(text("INSERT INTO later (note) VALUES ('x')"))
    service.dispose()
    owner = create_engine(scratch.owner_url, poolclass=NullPool)
    with owner.begin() as conn:
        conn.execute(text("DROP TABLE later"))
    owner.dispose()

    migrate.downgrade(scratch_postgres, "0003")
    assert _privileges(scratch.admin_url, scratch.service, "contracts") == (set(), False, 0)
    migrate.downgrade(scratch_postgres, "base")
    migrate.upgrade(scratch_postgres)
    assert _privileges(scratch.admin_url, scratch.service, "contracts") == ({"SELECT", "INSERT", "UPDATE", "DELETE"}, True, 2)


def test_one_role_for_both_grants_nothing_and_says_so(scratch, settings, caplog):
    one_role = settings.replace(
        app_env="production", database_url=scratch.owner_url, migration_database_url="", redis_url=settings.redis_url,
    )
    with caplog.at_level(logging.WARNING):
        migrate.upgrade(one_role)
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "MIGRATION_DATABASE_URL is not set" in messages
    assert "protected only by the append-only triggers" in messages
    assert _privileges(scratch.admin_url, scratch.service, "contracts") == (set(), False, 0)

    # Moving to two roles (README): 0004 again, now with a service role to grant to.
    two_roles = settings.replace(database_url=scratch.service_url, migration_database_url=scratch.owner_url)
    migrate.downgrade(two_roles, "0003")
    migrate.upgrade(two_roles)
    assert _privileges(scratch.admin_url, scratch.service, "contracts") == ({"SELECT", "INSERT", "UPDATE", "DELETE"}, True, 2)


def test_a_missing_service_role_stops_the_migration(scratch, settings):
    missing = make_url(scratch.service_url).set(username=f"{scratch.service}_missing").render_as_string(hide_password=False)
    with pytest.raises(RuntimeError, match="does not exist; create it before migrating"):
        migrate.upgrade(settings.replace(database_url=missing, migration_database_url=scratch.owner_url))
    assert _tables(scratch.owner_url) == set()  # the whole upgrade was rolled back


def test_a_service_role_with_the_owner_s_powers_is_reported(scratch, scratch_postgres, settings, caplog):
    migrate.upgrade(scratch_postgres)
    admin = create_engine(scratch.admin_url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE TABLE stray (id int); ALTER TABLE stray OWNER TO "{scratch.service}"'))
    admin.dispose()
    with caplog.at_level(logging.WARNING):
        migrate.upgrade(scratch_postgres)  # at head already: the roles are checked on every run
    assert any(f"'{scratch.service}' owns (or is a member of the owner of) stray" in r.getMessage() for r in caplog.records)

    caplog.clear()
    superuser = settings.replace(database_url=scratch.admin_url, migration_database_url=scratch.owner_url)
    with caplog.at_level(logging.WARNING):
        migrate.current(superuser)
    assert any("is a superuser" in r.getMessage() for r in caplog.records)


def test_sqlite_up_down_up(settings, tmp_path):
    _up_down_up(settings.replace(database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}", migration_database_url=""))


def test_sqlite_audit_events_are_append_only_too(settings, tmp_path):
    local = settings.replace(database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", migration_database_url="")
    migrate.upgrade(local)
    engine = create_engine(local.database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO audit_events (event_type, event_data) VALUES ('search', '{}')")
    for statement in ("UPDATE audit_events SET event_type = 'view'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_sqlite_refund_quotes_are_immutable_too(settings, tmp_path):
    local = settings.replace(database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}", migration_database_url="")
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
