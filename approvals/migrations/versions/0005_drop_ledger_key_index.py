"""Ledger: drop the index on `key`.

Nothing reads the ledger by key (rollback and `mops log` read it by job and batch, on the
primary key), and keeping an index over random e-mails made each batch's write-ahead
commit rewrite about one index page per entry: most of the commit's time.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ledger_key", table_name="ledger")


def downgrade() -> None:
    op.create_index("ix_ledger_key", "ledger", ["key"])
