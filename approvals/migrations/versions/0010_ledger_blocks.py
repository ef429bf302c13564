"""The ledger: a batch's entries written ahead as one block, hashed once.

Until now each entry was a row of `ledger`, with a hash of its own chaining it to the one
before: a batch of a thousand changes cost a thousand rows and hashes to write ahead, and
as many to read back and verify. From this revision a batch's entries are written as one
value (`ledger_blocks.entries`, `approvals.ledger.encode_block`) with one hash over its
bytes, and the batch's head chains its outcome after that hash. Batches run before keep
their rows in `ledger` and verify as they were chained: nothing is converted, since a
converted entry would need a new hash and every seal after it would break.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_blocks",
        sa.Column("job", sa.Integer, primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("entries", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    # Refused before anything is dropped. (On SQLite, run downgrades one revision at a time:
    # pysqlite commits DDL as it goes, so a later refusal cannot undo an earlier step.)
    blocks = op.get_bind().execute(sa.text("SELECT count(*) FROM ledger_blocks")).scalar()
    if blocks:
        # As rows they would need new hashes, and every job seal after them would break.
        raise RuntimeError(f"{blocks} batches keep their ledger entries as blocks, which "
                           "revision 0009 cannot read; refusing to downgrade")
    op.drop_table("ledger_blocks")
