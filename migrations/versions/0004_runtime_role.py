"""runtime role: the service reads and writes rows, and may only insert and read audit events

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Migrations run as the role that owns the tables (MIGRATION_DATABASE_URL); the service connects as
another role (DATABASE_URL), whose name ``pipeline.ops.migrate`` hands to this revision as the context
option ``runtime_role``. That role is granted exactly what the service needs: USAGE on the schema;
SELECT, INSERT, UPDATE and DELETE on the tables; only SELECT and INSERT on audit_events; only
SELECT on alembic_version (the service never writes the schema's version); USAGE and SELECT on the
sequences. Default privileges give tables and sequences created later by the owner the same DML
grants; a later table with special needs revokes explicitly, as audit_events does here.

Not being the owner, the role can neither disable the append-only triggers (ALTER TABLE ...
DISABLE TRIGGER, or session_replication_role, which needs a superuser), nor truncate, alter or
drop a table, nor create one.

When the service and the migrations use one role (SQLite; a developer's single PostgreSQL user)
there is nothing to grant: the revision logs that the record is then protected by the triggers
alone, and changes nothing.
"""

from __future__ import annotations

import logging

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

logger = logging.getLogger("migrations.0004_runtime_role")

DML = "SELECT, INSERT, UPDATE, DELETE"
# Tables the service may not use like the others, and all it may do with them.
LIMITED = {
    "audit_events": "SELECT, INSERT",
    "alembic_version": "SELECT",
}


def _roles(*, upgrading: bool) -> tuple[str, str, str] | None:
    """(owner, runtime role, schema), each quoted; None when there is no separate runtime role."""
    bind = op.get_bind()
    runtime = op.get_context().opts.get("runtime_role")
    if bind.dialect.name != "postgresql":
        if upgrading:
            logger.warning(
                "%s has no database roles: the service and the migrations act alike, and the audit "
                "record is protected only by the append-only triggers", bind.dialect.name,
            )
        return None
    owner = bind.exec_driver_sql("SELECT current_user").scalar()
    if not runtime or runtime == owner:
        if upgrading:
            logger.warning(
                "the service's role (DATABASE_URL) is the role that runs the migrations (%s): nothing "
                "to grant. The audit record is then protected only by the append-only triggers, which "
                "that role may disable; set MIGRATION_DATABASE_URL to the owner role and DATABASE_URL "
                "to a role that owns nothing (README: Two database roles)", owner,
            )
        return None
    if bind.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": runtime}).scalar() is None:
        if upgrading:
            raise RuntimeError(
                f"the service's role {runtime!r} (the user of DATABASE_URL) does not exist; create it "
                "before migrating (README: Two database roles)"
            )
        return None  # the role is gone, and its grants with it
    quote = bind.dialect.identifier_preparer.quote_identifier
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar()
    return quote(owner), quote(runtime), quote(schema)


def upgrade() -> None:
    roles = _roles(upgrading=True)
    if roles is None:
        return
    owner, runtime, schema = roles
    # Revoked first, so the grants below are all the role holds, whatever it was given before.
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {runtime}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {runtime}")
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {runtime}")
    op.execute(f"GRANT {DML} ON ALL TABLES IN SCHEMA {schema} TO {runtime}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {runtime}")
    for table, privileges in LIMITED.items():
        op.execute(f"REVOKE ALL ON {schema}.{table} FROM {runtime}")
        op.execute(f"GRANT {privileges} ON {schema}.{table} TO {runtime}")
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT {DML} ON TABLES TO {runtime}")
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {runtime}")


def downgrade() -> None:
    roles = _roles(upgrading=False)
    if roles is None:
        return
    owner, runtime, schema = roles
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {runtime}")
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {runtime}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {runtime}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {runtime}")
    op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {runtime}")
