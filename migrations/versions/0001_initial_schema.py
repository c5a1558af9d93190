"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28

Every table of the design with its constraints and indexes, and the triggers that make
audit_events append-only (PostgreSQL and SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contracts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_number', sa.String(length=32), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=True),
    sa.Column('dealer', sa.String(length=200), nullable=True),
    sa.Column('lender', sa.String(length=200), nullable=True),
    sa.Column('vehicle', JSON, nullable=True),
    sa.Column('contract_start_date', sa.Date(), nullable=True),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('document_text', sa.Text(), nullable=True),
    sa.Column('text_status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('text_extracted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pdf_path', sa.String(length=500), nullable=True),
    sa.Column('s3_bucket', sa.String(length=255), nullable=True),
    sa.Column('s3_key', sa.String(length=1024), nullable=True),
    sa.Column('source', sa.String(length=16), server_default='import', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("source IN ('import', 'seed', 'external')", name=op.f('ck_contracts_source')),
    sa.CheckConstraint("text_status IN ('pending', 'available', 'failed')", name=op.f('ck_contracts_text_status')),
    sa.CheckConstraint('length(account_number) >= 4', name=op.f('ck_contracts_account_number_length')),
    sa.CheckConstraint('term_months IS NULL OR (term_months > 0 AND term_months <= 240)', name=op.f('ck_contracts_term_months')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('account_number', name=op.f('uq_contracts_account_number'))
    )
    op.create_index('ix_contracts_customer_name', 'contracts', ['customer_name'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=16), server_default='agent', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('auth_provider', sa.String(length=50), nullable=True),
    sa.Column('auth_provider_user_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("role IN ('agent', 'operator', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('auth_provider', 'auth_provider_user_id', name=op.f('uq_users_auth_provider_auth_provider_user_id')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('batches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='queued', nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=True),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('skipped', sa.Integer(), server_default='0', nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'running', 'completed', 'cancelled')", name=op.f('ck_batches_status')),
    sa.CheckConstraint('total >= 0 AND skipped >= 0', name=op.f('ck_batches_counts')),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_batches_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches'))
    )
    op.create_table('extractions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('gap_insurance_premium', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('gap_insurance_premium_confidence', sa.Float(), nullable=True),
    sa.Column('gap_insurance_premium_source', sa.Text(), nullable=True),
    sa.Column('gap_insurance_premium_start', sa.Integer(), nullable=True),
    sa.Column('gap_insurance_premium_end', sa.Integer(), nullable=True),
    sa.Column('refund_calculation_method', sa.String(length=16), nullable=True),
    sa.Column('refund_calculation_method_confidence', sa.Float(), nullable=True),
    sa.Column('refund_calculation_method_source', sa.Text(), nullable=True),
    sa.Column('refund_calculation_method_start', sa.Integer(), nullable=True),
    sa.Column('refund_calculation_method_end', sa.Integer(), nullable=True),
    sa.Column('cancellation_fee', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('cancellation_fee_confidence', sa.Float(), nullable=True),
    sa.Column('cancellation_fee_source', sa.Text(), nullable=True),
    sa.Column('cancellation_fee_start', sa.Integer(), nullable=True),
    sa.Column('cancellation_fee_end', sa.Integer(), nullable=True),
    sa.Column('flags', JSON, nullable=True),
    sa.Column('provider', sa.String(length=50), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('cost_usd', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("refund_calculation_method IN ('pro_rata', 'rule_of_78', 'short_rate', 'actuarial')", name=op.f('ck_extractions_refund_method')),
    sa.CheckConstraint("status <> 'approved' OR approved_at IS NOT NULL", name=op.f('ck_extractions_approved_has_time')),
    sa.CheckConstraint("status IN ('pending', 'approved')", name=op.f('ck_extractions_status')),
    sa.CheckConstraint('cancellation_fee IS NULL OR cancellation_fee >= 0', name=op.f('ck_extractions_fee_non_negative')),
    sa.CheckConstraint('cancellation_fee_confidence IS NULL OR (cancellation_fee_confidence >= 0 AND cancellation_fee_confidence <= 1)', name=op.f('ck_extractions_cancellation_fee_confidence')),
    sa.CheckConstraint('cancellation_fee_start IS NULL OR (cancellation_fee_start >= 0 AND cancellation_fee_end >= cancellation_fee_start)', name=op.f('ck_extractions_cancellation_fee_span')),
    sa.CheckConstraint('gap_insurance_premium IS NULL OR gap_insurance_premium >= 0', name=op.f('ck_extractions_premium_non_negative')),
    sa.CheckConstraint('gap_insurance_premium_confidence IS NULL OR (gap_insurance_premium_confidence >= 0 AND gap_insurance_premium_confidence <= 1)', name=op.f('ck_extractions_gap_insurance_premium_confidence')),
    sa.CheckConstraint('gap_insurance_premium_start IS NULL OR (gap_insurance_premium_start >= 0 AND gap_insurance_premium_end >= gap_insurance_premium_start)', name=op.f('ck_extractions_gap_insurance_premium_span')),
    sa.CheckConstraint('refund_calculation_method_confidence IS NULL OR (refund_calculation_method_confidence >= 0 AND refund_calculation_method_confidence <= 1)', name=op.f('ck_extractions_refund_calculation_method_confidence')),
    sa.CheckConstraint('refund_calculation_method_start IS NULL OR (refund_calculation_method_start >= 0 AND refund_calculation_method_end >= refund_calculation_method_start)', name=op.f('ck_extractions_refund_calculation_method_span')),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_extractions_approved_by_users')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_extractions_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extractions')),
    sa.UniqueConstraint('contract_id', name=op.f('uq_extractions_contract_id'))
    )
    op.create_index('ix_extractions_status_created_at', 'extractions', ['status', 'created_at'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('extraction_id', sa.Uuid(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('event_data', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("event_type IN ('search', 'view', 'extract', 'approve', 'chat', 'api_request', 'admin', 'import', 'job')", name=op.f('ck_audit_events_event_type')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_audit_events_contract_id_contracts')),
    sa.ForeignKeyConstraint(['extraction_id'], ['extractions.id'], name=op.f('fk_audit_events_extraction_id_extractions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_contract_id_created_at', 'audit_events', ['contract_id', 'created_at'], unique=False)
    op.create_index('ix_audit_events_event_type_created_at', 'audit_events', ['event_type', 'created_at'], unique=False)
    op.create_index('ix_audit_events_extraction_id_created_at', 'audit_events', ['extraction_id', 'created_at'], unique=False)

    op.create_table('corrections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('extraction_id', sa.Uuid(), nullable=False),
    sa.Column('field_name', sa.String(length=50), nullable=False),
    sa.Column('original_value', sa.Text(), nullable=True),
    sa.Column('corrected_value', sa.Text(), nullable=False),
    sa.Column('correction_reason', sa.Text(), nullable=True),
    sa.Column('corrected_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("field_name IN ('gap_insurance_premium', 'refund_calculation_method', 'cancellation_fee')", name=op.f('ck_corrections_field_name')),
    sa.ForeignKeyConstraint(['corrected_by'], ['users.id'], name=op.f('fk_corrections_corrected_by_users')),
    sa.ForeignKeyConstraint(['extraction_id'], ['extractions.id'], name=op.f('fk_corrections_extraction_id_extractions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrections'))
    )
    op.create_index(op.f('ix_corrections_extraction_id'), 'corrections', ['extraction_id'], unique=False)
    op.create_index('ix_corrections_field_name_created_at', 'corrections', ['field_name', 'created_at'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='queued', nullable=False),
    sa.Column('queue', sa.String(length=16), server_default='interactive', nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('batch_id', sa.Uuid(), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('result', JSON, nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("kind IN ('extraction', 'chat', 'maintenance')", name=op.f('ck_jobs_kind')),
    sa.CheckConstraint("queue IN ('interactive', 'bulk')", name=op.f('ck_jobs_queue')),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name=op.f('ck_jobs_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_jobs_attempts')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_jobs_batch_id_batches')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_jobs_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index('ix_jobs_batch_id_status', 'jobs', ['batch_id', 'status'], unique=False)
    op.create_index(op.f('ix_jobs_contract_id'), 'jobs', ['contract_id'], unique=False)
    op.create_index('ix_jobs_status_updated_at', 'jobs', ['status', 'updated_at'], unique=False)
    op.create_index('uq_jobs_active_extraction_contract', 'jobs', ['contract_id'], unique=True, postgresql_where=sa.text("kind = 'extraction' AND status IN ('queued', 'running')"), sqlite_where=sa.text("kind = 'extraction' AND status IN ('queued', 'running')"))

    op.create_table('chat_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('sources', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('user', 'assistant', 'system')", name=op.f('ck_chat_messages_role')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_chat_messages_contract_id_contracts')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_chat_messages_job_id_jobs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_messages_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages'))
    )
    op.create_index(op.f('ix_chat_messages_contract_id'), 'chat_messages', ['contract_id'], unique=False)
    op.create_index('ix_chat_messages_session_id_created_at', 'chat_messages', ['session_id', 'created_at'], unique=False)

    _make_audit_events_append_only()


# The audit trail must be trustworthy: the database itself refuses to change or remove events,
# whatever code (or person with a SQL prompt) tries.
_PG_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def _make_audit_events_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    elif op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {action} is not allowed'); END"
            )


def _drop_audit_events_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    elif op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")


def downgrade() -> None:
    _drop_audit_events_triggers()
    op.drop_index('ix_chat_messages_session_id_created_at', table_name='chat_messages')
    op.drop_index(op.f('ix_chat_messages_contract_id'), table_name='chat_messages')

    op.drop_table('chat_messages')
    op.drop_index('uq_jobs_active_extraction_contract', table_name='jobs')
    op.drop_index('ix_jobs_status_updated_at', table_name='jobs')
    op.drop_index(op.f('ix_jobs_contract_id'), table_name='jobs')
    op.drop_index('ix_jobs_batch_id_status', table_name='jobs')

    op.drop_table('jobs')
    op.drop_index('ix_corrections_field_name_created_at', table_name='corrections')
    op.drop_index(op.f('ix_corrections_extraction_id'), table_name='corrections')

    op.drop_table('corrections')
    op.drop_index('ix_audit_events_extraction_id_created_at', table_name='audit_events')
    op.drop_index('ix_audit_events_event_type_created_at', table_name='audit_events')
    op.drop_index('ix_audit_events_contract_id_created_at', table_name='audit_events')

    op.drop_table('audit_events')
    op.drop_index('ix_extractions_status_created_at', table_name='extractions')

    op.drop_table('extractions')
    op.drop_table('batches')
    op.drop_table('users')
    op.drop_index('ix_contracts_customer_name', table_name='contracts')

    op.drop_table('contracts')
