"""Alembic environment: the URL comes from the service settings unless a caller passes a
connection (tests, ``flask db``).

Migrations run as the owner role (``MIGRATION_DATABASE_URL``, else ``DATABASE_URL``); the
service's role, the user of ``DATABASE_URL``, reaches the revisions as the context option
``runtime_role`` (None for SQLite), set by ``pipeline.ops.migrate`` or read here from the settings
when Alembic is run by itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from models import Base
from pipeline.core.settings import get_settings
from pipeline.ops.migrate import RUNTIME_ROLE, role_of, warn_about_runtime_role

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().migration_url


def _runtime_role() -> str | None:
    if RUNTIME_ROLE in config.attributes:
        return config.attributes[RUNTIME_ROLE]
    return role_of(get_settings().database_url)


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=_url().startswith("sqlite"),
        runtime_role=_runtime_role(),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # an SQLAlchemy Connection
    runtime_role = _runtime_role()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        runtime_role=runtime_role,
    )
    with context.begin_transaction():
        context.run_migrations()
        warn_about_runtime_role(connection, runtime_role)


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sqlalchemy import create_engine

    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
