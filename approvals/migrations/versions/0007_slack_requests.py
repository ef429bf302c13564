"""Slack requests taken: their signatures, so a replay is refused by every process of the
web app, not only by the one that took the original.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_requests",
        sa.Column("signature", sa.String(128), primary_key=True),
        sa.Column("stamp", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_slack_requests_stamp", "slack_requests", ["stamp"])


def downgrade() -> None:
    op.drop_index("ix_slack_requests_stamp", table_name="slack_requests")
    op.drop_table("slack_requests")
