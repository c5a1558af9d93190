"""identity: API tokens and the auditor role

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Every request now names its user: by an OpenID Connect token from the lender's identity provider
or by an API token, whose SHA-256 hash is kept here. A read-only ``auditor`` role joins agent,
operator and admin. A job keeps who asked for it, so the worker acts in their name.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _roles(*roles: str) -> str:
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_api_tokens_created_by_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), _roles("agent", "operator", "auditor", "admin"))
        # Issuer URLs (Entra ID's are about 75 characters) are the provider's name.
        batch_op.alter_column('auth_provider', existing_type=sa.String(length=50), type_=sa.String(length=255), existing_nullable=True)
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column('requested_by', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_jobs_requested_by_users'), 'users', ['requested_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint(op.f('fk_jobs_requested_by_users'), type_="foreignkey")
        batch_op.drop_column('requested_by')
    op.execute("UPDATE users SET role = 'agent' WHERE role = 'auditor'")
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column('auth_provider', existing_type=sa.String(length=255), type_=sa.String(length=50), existing_nullable=True)
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), _roles("agent", "operator", "admin"))
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
