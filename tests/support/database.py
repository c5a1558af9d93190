"""Test database chores: the two roles, creating the database, emptying it between tests.

A test database is reached three ways. The superuser of ``TEST_DATABASE_URL`` is test plumbing:
it creates the roles and the database and empties the tables between tests. The owner role runs
the migrations (``MIGRATION_DATABASE_URL``). The service's role, which owns nothing, is what the
app, the workers and the CLI connect as (``DATABASE_URL``), as in a real deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class DatabaseRoles:
    """One test database and the URLs of its superuser, owner role and service role.

    The role names derive from the test database's name (``cre_test`` -> ``cre_test_owner``,
    ``cre_test_app``), so test runs on different databases never share roles, and no name can
    be a real deployment's.
    """

    admin_url: str
    owner: str
    service: str

    @classmethod
    def for_database(cls, admin_url: str) -> DatabaseRoles:
        name = make_url(admin_url).database
        return cls(admin_url=admin_url, owner=f"{name}_owner", service=f"{name}_app")

    @property
    def database(self) -> str:
        return make_url(self.admin_url).database

    def _as(self, role: str) -> str:
        # Passwordless: the test cluster trusts local connections.
        return make_url(self.admin_url).set(username=role, password=None).render_as_string(hide_password=False)

    @property
    def owner_url(self) -> str:
        return self._as(self.owner)

    @property
    def service_url(self) -> str:
        return self._as(self.service)

    def on(self, database: str) -> DatabaseRoles:
        """The same roles on another database (a scratch one)."""
        url = make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)
        return DatabaseRoles(admin_url=url, owner=self.owner, service=self.service)


def ensure_roles(admin_url: str, *roles: str) -> None:
    """Create each role if missing: it may log in and is nothing more (no superuser, no CREATEDB,
    no CREATEROLE). Roles are cluster-wide, so parallel runs may race: losing is fine."""
    admin = create_engine(make_url(admin_url).set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for role in roles:
            found = conn.execute(text("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if found is None:
                try:
                    conn.execute(text(f"CREATE ROLE {_quote(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"))
                except DBAPIError as exc:  # created by a parallel run in the meantime
                    if getattr(exc.orig, "pgcode", None) not in ("42710", "23505"):
                        raise
            elif found.rolsuper or not found.rolcanlogin:
                conn.execute(text(f"ALTER ROLE {_quote(role)} LOGIN NOSUPERUSER"))
    admin.dispose()


def recreate_database(url: str, owner: str | None = None) -> None:
    """Create the database if missing and drop every object in it (``url``: a superuser's).

    With ``owner``, that role owns the database and its public schema, as the owner role of a
    deployment does; nobody else may create objects in the schema.
    """
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar()
        if not exists:
            conn.execute(text(f"CREATE DATABASE {_quote(parsed.database)}" + (f" OWNER {_quote(owner)}" if owner else "")))
        elif owner:
            conn.execute(text(f"ALTER DATABASE {_quote(parsed.database)} OWNER TO {_quote(owner)}"))
    admin.dispose()
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public" + (f" AUTHORIZATION {_quote(owner)}" if owner else "")))
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
    """Empty every table (``url``: the superuser's; this is test plumbing, not the service).

    The append-only triggers on audit_events are bypassed without touching the table: replica
    mode, which only a superuser may set."""
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
