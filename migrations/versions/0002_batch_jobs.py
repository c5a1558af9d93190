"""batch jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

A job of kind ``batch`` writes a large batch's extraction jobs in the background, so that
``POST /api/v1/batches {"all_unextracted": true}`` answers at once however many contracts wait.
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _kinds(*kinds: str) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_jobs_kind"), _kinds("extraction", "chat", "maintenance", "batch"))


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE kind = 'batch'")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_jobs_kind"), _kinds("extraction", "chat", "maintenance"))
