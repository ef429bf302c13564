"""Batches: `outcome`, what their writes came to, so ledger entries are never updated.

A batch's entries are chained when they are written, before the writes; when the batch is
sealed, which entries failed (and why) is recorded once on the batch, in `outcome`, and
chained into its head. Batches sealed before this revision keep their outcome in their
entries (`outcome` stays NULL) and are verified as they were chained.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("outcome", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("outcome")
