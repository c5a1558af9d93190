"""Schema migrations (Alembic) driven from the service settings.

Migrations run as the role that owns the tables (``MIGRATION_DATABASE_URL``, else
``DATABASE_URL``). The service's own role, the user of ``DATABASE_URL``, is handed to the
migrations by name: revision 0004 grants it what the service needs and no more, and every run
checks that it has not been given the owner's powers some other way.
"""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# The key under which the service's role travels in the Alembic config's attributes.
RUNTIME_ROLE = "runtime_role"


def role_of(url: str) -> str | None:
    """The PostgreSQL role a URL connects as; None for SQLite, which has no roles.

    A URL without a user name connects as libpq's default user: PGUSER, else the
    operating-system user.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.username or parsed.query.get("user") or os.environ.get("PGUSER") or getpass.getuser()


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs may contain it (encoded passwords).
    config.set_main_option("sqlalchemy.url", settings.migration_url.replace("%", "%%"))
    config.attributes[RUNTIME_ROLE] = role_of(settings.database_url)
    if settings.is_sqlite:
        Path(settings.migration_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return config


def _warn_when_one_role_in_production(settings: Settings) -> None:
    if settings.app_env == "production" and not settings.migration_database_url:
        logger.warning(
            "MIGRATION_DATABASE_URL is not set: migrations run as the service's own role (DATABASE_URL). "
            "In production the service should connect as a role that owns nothing and may only insert "
            "and read audit events; set MIGRATION_DATABASE_URL to the owner role (README: Two database roles)"
        )


def upgrade(settings: Settings, revision: str = "head") -> None:
    _warn_when_one_role_in_production(settings)
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    _warn_when_one_role_in_production(settings)
    command.downgrade(alembic_config(settings), revision)


def current(settings: Settings) -> None:
    command.current(alembic_config(settings), verbose=False)


def runtime_role_problems(connection: Connection, role: str) -> list[str]:
    """Ways the service's role could change the record in spite of its grants (PostgreSQL).

    It must be no superuser, and must neither own nor be able to act as the owner of the schema
    or of any table in it: an owner may drop tables and disable the append-only triggers.
    """
    found = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if found is None:
        return []
    if found.rolsuper:
        return [f"the service's role {role!r} is a superuser: it bypasses every grant and can switch off the append-only triggers"]
    problems = []
    schema = connection.execute(
        text(
            "SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner FROM pg_namespace n "
            "WHERE n.nspname = current_schema() AND pg_has_role(:role, n.nspowner, 'MEMBER')"
        ),
        {"role": role},
    ).first()
    if schema is not None:
        problems.append(
            f"the service's role {role!r} owns schema {schema.nspname!r} (or is a member of its owner "
            f"{schema.owner!r}): it can drop any table in it"
        )
    owned = connection.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "AND pg_has_role(:role, c.relowner, 'MEMBER') ORDER BY c.relname"
        ),
        {"role": role},
    ).scalars().all()
    if owned:
        problems.append(
            f"the service's role {role!r} owns (or is a member of the owner of) {', '.join(owned)}: "
            "it can alter or drop them and disable the append-only triggers"
        )
    if connection.dialect.server_version_info >= (15,):
        may_set = connection.execute(
            text("SELECT has_parameter_privilege(:role, 'session_replication_role', 'SET')"), {"role": role}
        ).scalar()
        if may_set:
            problems.append(
                f"the service's role {role!r} may set session_replication_role, which silences the append-only triggers"
            )
    return problems


def warn_about_runtime_role(connection: Connection, role: str | None) -> None:
    """Log each way the service's role could change the record (run after every migration)."""
    if connection.dialect.name != "postgresql" or not role:
        return
    if role == connection.execute(text("SELECT current_user")).scalar():
        return  # one role for both: revision 0004 says so when it runs
    for problem in runtime_role_problems(connection, role):
        logger.warning("database roles: %s (README: Two database roles)", problem)
