"""Plans in the store: the `PlanSink` the planners write to, and the readers of plans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, insert, select

from agents.plans import BatchHeader, Reject, decode_batch
from approvals import schema as t
from approvals.packing import pack, unpack
from approvals.store import Store, insert_rows
from tools.changes import Change

REJECT_COLUMNS = ("job", "row", "kind", "field", "value", "reason")
# Built once: every batch of a plan runs them (see `approvals.schema.one_batch`).
_INSERT_BATCH = insert(t.batches).values(state="pending", applied=0, failed=0)
_INSERT_CHANGES = insert(t.batch_changes)
_ENCODED = select(t.batch_changes.c.changes).where(*t.one_batch(t.batch_changes))


def insert_batch(conn: Connection, job: int, header: BatchHeader, encoded: bytes) -> None:
    """`PlanRows.write_batch`, in the caller's transaction."""
    conn.execute(_INSERT_BATCH, {"job": job, "batch": header.batch, "stage": header.stage,
                                 "size": header.size, "digest": header.digest})
    conn.execute(_INSERT_CHANGES, {"job": job, "batch": header.batch, "changes": pack(encoded)})


def insert_rejects(conn: Connection, job: int, rejects: list[Reject]) -> None:
    """`PlanRows.write_rejects`, in the caller's transaction."""
    insert_rows(conn, "rejects", REJECT_COLUMNS,
                [(job, r.row, r.kind, r.field, r.value, r.reason) for r in rejects])


def drop_plan(conn: Connection, job: int) -> None:
    """Delete whatever of a plan has been stored: its batches and rejects."""
    for table in (t.batch_changes, t.batches, t.rejects):
        conn.execute(table.delete().where(table.c.job == job))


class PlanRows:
    """Writes and reads a job's batches, changes and rejects."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def write_batch(self, job: int, header: BatchHeader, changes: list[Change],
                    encoded: bytes) -> None:
        """Store one batch (its header, and its changes as `encoded`) in one transaction."""
        with self.store.begin() as conn:
            insert_batch(conn, job, header, encoded)

    def write_rejects(self, job: int, rejects: list[Reject]) -> None:
        """Store rows the plan will not write."""
        with self.store.begin() as conn:
            insert_rejects(conn, job, rejects)

    def headers(self, job: int) -> list[BatchHeader]:
        """The job's batch headers in execution order (stage, then batch)."""
        query = select(t.batches).where(t.batches.c.job == job).order_by(
            t.batches.c.stage, t.batches.c.batch)
        with self.store.engine.connect() as conn:
            return [BatchHeader(batch=r.batch, stage=r.stage, size=r.size, digest=r.digest)
                    for r in conn.execute(query)]

    def encoded(self, job: int, batch: int) -> bytes:
        """One batch's changes as stored (`agents.plans.encode_batch`)."""
        with self.store.engine.connect() as conn:
            stored = conn.execute(_ENCODED, t.batch_params(job, batch)).scalar_one_or_none()
        return unpack(bytes(stored)) if stored else b""

    def batch(self, job: int, batch: int) -> list[Change]:
        """The changes of one batch, in order."""
        encoded = self.encoded(job, batch)
        return decode_batch(encoded) if encoded else []

    def changes(self, job: int, limit: int | None = None, offset: int = 0,
                ) -> Iterator[tuple[int, int, Change]]:
        """(batch, seq, change) in execution order, from the `offset`-th change on, at most
        `limit` of them; only the batches that hold them are read."""
        left = limit
        for header in self.headers(job):
            if left is not None and left <= 0:
                return
            if offset >= header.size:
                offset -= header.size
                continue
            part = self.batch(job, header.batch)[offset:]
            if left is not None:
                part, left = part[:left], left - len(part[:left])
            yield from ((header.batch, seq, c) for seq, c in enumerate(part, offset))
            offset = 0

    def rejects(self, job: int, limit: int | None = None) -> list[dict[str, Any]]:
        """The job's rejects in row order: `row`, `reason`, `field`, `value`, `kind`."""
        query = select(t.rejects).where(t.rejects.c.job == job).order_by(
            t.rejects.c.row, t.rejects.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.store.engine.connect() as conn:
            return [{"row": r.row, "reason": r.reason, "field": r.field, "value": r.value,
                     "kind": r.kind} for r in conn.execute(query)]

    def count_rejects(self, job: int) -> int:
        """How many rejects the job has."""
        query = select(func.count()).select_from(t.rejects).where(t.rejects.c.job == job)
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

