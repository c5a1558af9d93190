"""The database protects the record: the service's role (DATABASE_URL) owns nothing and may only
insert and read audit events, so it can neither change the record nor switch off what guards it.
The owner role (MIGRATION_DATABASE_URL) runs the migrations."""

from __future__ import annotations

import psycopg2.errors
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from pipeline.ops.health import schema_head
from pipeline.ops.migrate import role_of, runtime_role_problems

FORBIDDEN = [
    # Both ways around the append-only triggers.
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role = replica",
    "ALTER TABLE audit_events DISABLE TRIGGER USER",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_events_no_update_delete ON audit_events",
    # What the triggers guard against, refused before any trigger runs.
    "UPDATE audit_events SET event_type = 'view'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    # Refund quotes are a record too.
    "UPDATE refund_quotes SET refund = 0",
    "DELETE FROM refund_quotes",
    "TRUNCATE refund_quotes",
    # Owning nothing: no schema changes, no other table emptied, no way to become the owner.
    "TRUNCATE contracts",
    "DROP TABLE contracts",
    "ALTER TABLE contracts ADD COLUMN note text",
    "ALTER TABLE contracts OWNER TO CURRENT_USER",
    "CREATE TABLE public.scratch (id int)",
    "CREATE INDEX ix_scratch ON contracts (dealer)",
    "UPDATE alembic_version SET version_num = '0001'",
    "SET ROLE {owner}",
]


@pytest.fixture
def service(clean_db, migrated_database):
    engine = create_engine(migrated_database, poolclass=NullPool)
    yield engine
    engine.dispose()


def _audit_rows(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT event_type FROM audit_events ORDER BY id")).scalars().all()


def test_the_service_and_the_migrations_use_two_roles(settings, database_roles):
    assert role_of(settings.database_url) == database_roles.service
    assert role_of(settings.migration_url) == database_roles.owner


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_service_role_may_not(service, database_roles, statement):
    with service.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (event_type, event_data) VALUES ('search', '{}')"))
    with pytest.raises(DBAPIError) as refused, service.begin() as conn:
        conn.execute(text(statement.format(owner=f'"{database_roles.owner}"')))
    assert isinstance(refused.value.orig, psycopg2.errors.InsufficientPrivilege), refused.value
    assert refused.value.orig.pgcode == "42501"
    assert _audit_rows(service) == ["search"]


def test_the_service_role_inserts_and_reads_audit_events(service):
    with service.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (event_type, event_data) VALUES ('search', '{\"n\": 1}')"))
        conn.execute(text("INSERT INTO audit_events (event_type, event_data) VALUES ('view', '{\"n\": 2}')"))
    assert _audit_rows(service) == ["search", "view"]


def test_the_service_role_reads_and_writes_the_other_tables(service):
    with service.begin() as conn:
        conn.execute(text("INSERT INTO contracts (id, account_number) VALUES (gen_random_uuid(), '4350948342')"))
        conn.execute(text("UPDATE contracts SET dealer = 'Sunrise Toyota'"))
        assert conn.execute(text("SELECT dealer FROM contracts")).scalar_one() == "Sunrise Toyota"
        conn.execute(text("DELETE FROM contracts"))
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == schema_head()


def test_the_service_role_is_no_superuser_and_owns_nothing(service, database_roles):
    role = database_roles.service
    with service.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == role
        assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one() is False
        assert conn.execute(text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")).scalar_one() == 0
        owned = conn.execute(text(
            "SELECT count(*) FROM pg_class WHERE pg_has_role(current_user, relowner, 'MEMBER')"
        )).scalar_one()
        assert owned == 0
        owners = set(conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
        assert owners == {database_roles.owner}
        assert runtime_role_problems(conn, role) == []


def test_each_table_grants_the_service_what_it_needs_and_no_more(service, database_roles):
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    with service.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        held = {
            table: {p for p in privileges if conn.execute(
                text("SELECT has_table_privilege(:t, :p)"), {"t": f"public.{table}", "p": p}
            ).scalar_one()}
            for table in tables
        }
    assert held.pop("audit_events") == {"SELECT", "INSERT"}
    assert held.pop("refund_quotes") == {"SELECT", "INSERT"}
    assert held.pop("alembic_version") == {"SELECT"}
    assert held and all(p == {"SELECT", "INSERT", "UPDATE", "DELETE"} for p in held.values()), held
