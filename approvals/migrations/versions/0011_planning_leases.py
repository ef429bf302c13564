"""Jobs: the lease of the worker planning them, so a planner that died can be replaced.

A job whose planner was killed stayed `planning` for good: a second planner could not tell
a dead one from a slow one. Now planning runs under a lease (`plan_token`, renewed by every
write of the plan until `plan_lease_until`); once it has run out, the job may be planned
again, and the first planner, if it was only slow, can no longer write; `plan_attempts`
counts the planners, so a job whose planners keep dying is failed, not retried forever.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch mode): on SQLite, batch mode copies the table, and dropping
    # the old `jobs` would cascade to every table that refers to it.
    op.add_column("jobs", sa.Column("plan_token", sa.String(32)))
    op.add_column("jobs", sa.Column("plan_lease_until", sa.DateTime(timezone=True)))
    op.add_column("jobs", sa.Column("plan_attempts", sa.Integer, nullable=False,
                                    server_default="0"))


def downgrade() -> None:
    op.drop_column("jobs", "plan_attempts")         # SQLite 3.35+ drops a column in place
    op.drop_column("jobs", "plan_lease_until")
    op.drop_column("jobs", "plan_token")
