"""The job store: jobs, transitions, plans (batches, changes, rejects), decisions, ledger.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False, index=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64)),
        sa.Column("rejects_digest", sa.String(64)),
        sa.Column("summary", sa.JSON),
        sa.Column("fields", sa.JSON),
        sa.Column("notes", sa.JSON),
        sa.Column("requirement", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("from_state", sa.String(32)),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("job", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("applied", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64)),
    )
    op.create_table(
        "changes",
        sa.Column("job", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("object", sa.String(32), nullable=False),
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("list_name", sa.String(200)),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "rejects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("job", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("field", sa.String(64)),
        sa.Column("value", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("door", sa.String(16), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("job", sa.Integer, primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("object", sa.String(32), nullable=False),
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("list_name", sa.String(200)),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
    )
    op.create_index("ix_ledger_key", "ledger", ["key"])
    op.create_table(
        "seals",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job", sa.Integer, nullable=False, unique=True),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    for table in ("seals", "ledger", "decisions", "rejects", "changes", "batches",
                  "transitions", "jobs"):
        op.drop_table(table)
