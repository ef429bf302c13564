"""Plans' batches and ledger blocks are stored zstd-compressed (`approvals/packing.py`).

Nothing in the schema changes: values are compressed as they are written, and those written
before stay plain JSON and are read as they are. The revision exists so that a version
before this one, which would read a compressed value as JSON, refuses the store (it does
not know this revision) instead; and so that a downgrade leaves every value plain, as those
versions read them.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
import zstandard
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# How every zstd frame starts (JSON never does). A migration keeps its own copy of what it
# needs, not an import of `approvals.packing`, whose code may change after it.
MAGIC = b"\x28\xb5\x2f\xfd"
PAGE = 100                          # values held at once, each about 200 KB when plain


def upgrade() -> None:
    pass


def downgrade() -> None:
    conn = op.get_bind()
    decompressor = zstandard.ZstdDecompressor()
    for table, column in (("batch_changes", "changes"), ("ledger_blocks", "entries")):
        values = sa.table(table, sa.column("job"), sa.column("batch"),
                          sa.column(column, sa.LargeBinary))
        after = (-1, -1)
        while True:   # in key order, a page at a time: memory stays bounded
            rows = conn.execute(
                sa.select(values.c.job, values.c.batch, values.c[column])
                .where(sa.tuple_(values.c.job, values.c.batch) > after)
                .order_by(values.c.job, values.c.batch).limit(PAGE)).all()
            for job, batch, stored in rows:
                if bytes(stored[:4]) == MAGIC:
                    conn.execute(values.update()
                                 .where(values.c.job == job, values.c.batch == batch)
                                 .values({column: decompressor.decompress(bytes(stored))}))
            if len(rows) < PAGE:
                break
            after = (rows[-1][0], rows[-1][1])
