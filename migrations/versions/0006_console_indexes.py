"""console indexes: the review queue's order

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The console's review queue lists pending extractions least confident first (the least of the
three fields' confidences, a missing one counting as 0). A partial expression index on exactly
that expression lets the first page of a long queue be read from the index instead of sorting
every pending extraction. Batch filters use the jobs' existing (batch_id, status) index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

FIELDS = ("gap_insurance_premium", "refund_calculation_method", "cancellation_fee")


def upgrade() -> None:
    least = "LEAST" if op.get_bind().dialect.name == "postgresql" else "min"
    expression = f"{least}(" + ", ".join(f"coalesce({name}_confidence, 0.0)" for name in FIELDS) + ")"
    op.create_index(
        'ix_extractions_pending_confidence', 'extractions', [sa.text(expression), 'created_at'],
        postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index('ix_extractions_pending_confidence', table_name='extractions')
