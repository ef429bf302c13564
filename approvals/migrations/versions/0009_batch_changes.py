"""Plans: a batch's changes stored as one value, the bytes its digest hashes.

A row per change made planning insert, and every batch run read back and re-serialise,
a row per change; the gate then hashed the re-serialised changes. Now each batch's changes
are kept as their canonical JSON, one change per line (`agents.plans.encode_batch`): the
gate hashes what is stored and decodes it once. Existing plans are converted here, batch by
batch, and each converted batch is checked against its digest.

Revision ID: 0009
Revises: 0008
"""

import hashlib
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_FIELDS = ("op", "object", "key", "list_name", "before", "after", "reason")


def upgrade() -> None:
    batch_changes = op.create_table(
        "batch_changes",
        sa.Column("job", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("changes", sa.LargeBinary, nullable=False),
    )
    conn = op.get_bind()
    digests = {(r.job, r.batch): r.digest for r in conn.execute(
        sa.text("SELECT job, batch, digest FROM batches"))}
    for (job, batch), encoded in _encoded_batches(conn):
        if hashlib.sha256(encoded).hexdigest() != digests.get((job, batch)):
            raise RuntimeError(f"job {job} batch {batch}: its stored changes do not match "
                               "its digest; the plan was altered, refusing to convert it")
        conn.execute(sa.insert(batch_changes).values(job=job, batch=batch, changes=encoded))
    op.drop_table("changes")


def _encoded_batches(conn: Any) -> Iterator[tuple[tuple[int, int], bytes]]:
    rows = conn.execute(sa.text(
        'SELECT job, batch, op, "object", "key", list_name, CAST("before" AS TEXT), '
        'CAST("after" AS TEXT), reason FROM changes ORDER BY job, batch, seq',
    ).execution_options(yield_per=5000))
    for key, group in groupby(rows, key=lambda r: (r[0], r[1])):
        yield key, b"".join(orjson.dumps(_change(r), option=orjson.OPT_SORT_KEYS) + b"\n"
                            for r in group)


def _change(r: Any) -> dict[str, Any]:
    values = (r[2], r[3], r[4], r[5], _json(r[6]), _json(r[7]), r[8])
    return dict(zip(_FIELDS, values, strict=True))


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def downgrade() -> None:
    changes = op.create_table(
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
    conn = op.get_bind()
    for r in conn.execute(sa.text("SELECT job, batch, changes FROM batch_changes")).all():
        rows = [{"job": r.job, "batch": r.batch, "seq": seq, **orjson.loads(line)}
                for seq, line in enumerate(bytes(r.changes).splitlines())]
        if rows:
            conn.execute(sa.insert(changes), rows)
    op.drop_table("batch_changes")
