"""refund quotes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

A refund quote answers "what would this contract refund if it were cancelled on this date for
this reason": its key figures as columns, every input with its source and every step in
``result``. Quotes are immutable: the database refuses UPDATE and DELETE on them, as it does on
audit events. Quotes are audited (``refund_quote`` events), and portfolio quotes run as jobs of
kind ``refund_quote`` grouped in batches, which now say what their jobs do (``kind``).

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
JOB_KINDS_BEFORE = ("extraction", "chat", "maintenance", "batch")
JOB_KINDS = (*JOB_KINDS_BEFORE, "refund_quote")
AUDIT_TYPES = ("search", "view", "extract", "approve", "chat", "api_request", "admin", "import", "job", "refund_quote")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        'refund_quotes',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('contract_id', sa.Uuid(), nullable=False),
        sa.Column('extraction_id', sa.Uuid(), nullable=False),
        sa.Column('job_id', sa.Uuid(), nullable=True),
        sa.Column('requested_by', sa.Uuid(), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('cancellation_date', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('claim_paid', sa.Boolean(), nullable=False),
        sa.Column('request', JSON, nullable=False),
        sa.Column('eligible', sa.Boolean(), nullable=False),
        sa.Column('reason_code', sa.String(length=32), nullable=False),
        sa.Column('refund', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('gross_refund', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('fee_applied', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('factor', sa.Numeric(precision=7, scale=6), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=True),
        sa.Column('reason_text', sa.Text(), nullable=False),
        sa.Column('rules_version', sa.String(length=64), nullable=False),
        sa.Column('formulas_version', sa.String(length=16), nullable=False),
        sa.Column('result', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(_in("reason", ("customer_request", "payoff", "trade_in", "refinance", "repossession", "total_loss", "unwind")), name=op.f('ck_refund_quotes_reason')),
        sa.CheckConstraint(_in("reason_code", ("free_look", "unwind", "unearned_refund", "expired", "claim_paid")), name=op.f('ck_refund_quotes_reason_code')),
        sa.CheckConstraint(_in("method", ("pro_rata", "rule_of_78", "short_rate", "actuarial")), name=op.f('ck_refund_quotes_method')),
        sa.CheckConstraint(_in("origin", ("api", "chat", "batch")), name=op.f('ck_refund_quotes_origin')),
        sa.CheckConstraint('refund >= 0 AND fee_applied >= 0 AND gross_refund = refund + fee_applied', name=op.f('ck_refund_quotes_figures')),
        sa.CheckConstraint('factor >= 0 AND factor <= 1', name=op.f('ck_refund_quotes_factor')),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_refund_quotes_contract_id_contracts')),
        sa.ForeignKeyConstraint(['extraction_id'], ['extractions.id'], name=op.f('fk_refund_quotes_extraction_id_extractions')),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_refund_quotes_job_id_jobs')),
        sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_refund_quotes_requested_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_quotes')),
        sa.UniqueConstraint('job_id', name=op.f('uq_refund_quotes_job_id')),
    )
    op.create_index('ix_refund_quotes_contract_id_created_at', 'refund_quotes', ['contract_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_refund_quotes_extraction_id'), 'refund_quotes', ['extraction_id'], unique=False)
    _make_refund_quotes_immutable()

    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_events_event_type"), type_="check")
        batch_op.create_check_constraint(op.f("ck_audit_events_event_type"), _in("event_type", AUDIT_TYPES))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite changes a CHECK by copying the table, which leaves its triggers behind.
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {action} is not allowed'); END"
            )
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_jobs_kind"), _in("kind", JOB_KINDS))
    with op.batch_alter_table("batches") as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), server_default='extraction', nullable=False))
        batch_op.create_check_constraint(op.f("ck_batches_kind"), _in("kind", ("extraction", "refund_quote")))
    _runtime_role_inserts_and_reads_quotes()


def _runtime_role_inserts_and_reads_quotes() -> None:
    """Quotes are a record too: the service's role (see 0004) may only insert and read them, so it
    cannot get round the triggers either (dropping the table in a downgrade drops the grants).
    Nothing to do with one role or on SQLite."""
    bind = op.get_bind()
    runtime = op.get_context().opts.get("runtime_role")
    if bind.dialect.name != "postgresql" or not runtime or runtime == bind.exec_driver_sql("SELECT current_user").scalar():
        return
    role = bind.dialect.identifier_preparer.quote(runtime)
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON refund_quotes FROM {role}")


def downgrade() -> None:
    _drop_refund_quotes_triggers()
    op.drop_index(op.f('ix_refund_quotes_extraction_id'), table_name='refund_quotes')
    op.drop_index('ix_refund_quotes_contract_id_created_at', table_name='refund_quotes')
    op.drop_table('refund_quotes')
    op.execute("DELETE FROM jobs WHERE kind = 'refund_quote'")
    op.execute("DELETE FROM batches WHERE kind = 'refund_quote'")
    with op.batch_alter_table("batches") as batch_op:
        batch_op.drop_constraint(op.f("ck_batches_kind"), type_="check")
        batch_op.drop_column('kind')
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_jobs_kind"), _in("kind", JOB_KINDS_BEFORE))
    # audit_events keeps 'refund_quote' in its CHECK: the trail is append-only, so the events of
    # quotes made before the downgrade stay, and a narrower CHECK would refuse them.


# Immutable like the audit trail: the database refuses to change or remove a quote, whatever
# code (or person with a SQL prompt) tries.
_PG_FUNCTION = """
CREATE FUNCTION refund_quotes_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refund_quotes are immutable: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def _make_refund_quotes_immutable() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER refund_quotes_no_update_delete BEFORE UPDATE OR DELETE ON refund_quotes "
            "FOR EACH ROW EXECUTE FUNCTION refund_quotes_immutable()"
        )
    elif dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER refund_quotes_no_{action.lower()} BEFORE {action} ON refund_quotes "
                f"BEGIN SELECT RAISE(ABORT, 'refund_quotes are immutable: {action} is not allowed'); END"
            )


def _drop_refund_quotes_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS refund_quotes_no_update_delete ON refund_quotes")
        op.execute("DROP FUNCTION IF EXISTS refund_quotes_immutable()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS refund_quotes_no_update")
        op.execute("DROP TRIGGER IF EXISTS refund_quotes_no_delete")
