"""Test database chores: create it, empty it between tests."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool


def recreate_database(url: str) -> None:
    """Create the database if missing and drop every object in it."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


_generation = {"value": 0}


def generation() -> int:
    """How many times the test database was emptied (a cache of rows made for tests checks it)."""
    return _generation["value"]


def unique_suffix() -> str:
    import uuid

    return uuid.uuid4().hex[:10]


def truncate_all(url: str) -> None:
    """Empty every table. The append-only triggers on audit_events are bypassed the only way the
    database allows: replica mode, which needs a superuser (the test role is one)."""
    engine = create_engine(url, poolclass=NullPool)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    # A worker may still be writing the last test's outcome; TRUNCATE locks one table after
    # another, so PostgreSQL can pick it as a deadlock victim. Its transaction is rolled back
    # whole, so trying again is safe.
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            break
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) != "40P01" or attempt == 4:
                raise
    engine.dispose()
    _generation["value"] += 1
