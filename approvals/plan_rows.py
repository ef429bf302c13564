"""Plans stored as rows: the `PlanSink` the planners write to, and the readers of plans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, insert, select

from agents.plans import BatchHeader, Reject
from approvals import schema as t
from approvals.store import Store
from tools.changes import Change


class PlanRows:
    """Writes and reads a job's batches, changes and rejects."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def write_batch(self, job: int, header: BatchHeader, changes: list[Change]) -> None:
        """Store one batch of changes and its header, in one transaction."""
        rows = [
            {"job": job, "batch": header.batch, "seq": seq, "op": c.op, "object": c.object,
             "key": c.key, "list_name": c.list_name, "before": c.before, "after": c.after,
             "reason": c.reason}
            for seq, c in enumerate(changes)
        ]
        with self.store.begin() as conn:
            conn.execute(insert(t.batches).values(
                job=job, batch=header.batch, stage=header.stage, size=header.size,
                digest=header.digest, state="pending", applied=0, failed=0))
            conn.execute(insert(t.changes), rows)

    def write_rejects(self, job: int, rejects: list[Reject]) -> None:
        """Store rows the plan will not write."""
        with self.store.begin() as conn:
            conn.execute(insert(t.rejects), [
                {"job": job, "row": r.row, "kind": r.kind, "field": r.field, "value": r.value,
                 "reason": r.reason} for r in rejects])

    def headers(self, job: int) -> list[BatchHeader]:
        """The job's batch headers in execution order (stage, then batch)."""
        query = select(t.batches).where(t.batches.c.job == job).order_by(
            t.batches.c.stage, t.batches.c.batch)
        with self.store.engine.connect() as conn:
            return [BatchHeader(batch=r.batch, stage=r.stage, size=r.size, digest=r.digest)
                    for r in conn.execute(query)]

    def batch(self, job: int, batch: int) -> list[Change]:
        """The changes of one batch, in order."""
        query = select(t.changes).where(
            t.changes.c.job == job, t.changes.c.batch == batch).order_by(t.changes.c.seq)
        with self.store.engine.connect() as conn:
            return [_change(r) for r in conn.execute(query).mappings()]

    def changes(self, job: int, limit: int | None = None, offset: int = 0,
                ) -> Iterator[tuple[int, int, Change]]:
        """(batch, seq, change) in execution order, paged."""
        query = (select(t.changes).join(t.batches, (t.batches.c.job == t.changes.c.job)
                                        & (t.batches.c.batch == t.changes.c.batch))
                 .where(t.changes.c.job == job)
                 .order_by(t.batches.c.stage, t.changes.c.batch, t.changes.c.seq)
                 .offset(offset))
        if limit is not None:
            query = query.limit(limit)
        with self.store.engine.connect() as conn:
            for r in conn.execution_options(yield_per=2000).execute(query).mappings():
                yield r["batch"], r["seq"], _change(r)

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


def _change(r: Any) -> Change:
    # Rows the store wrote from validated changes, and checked against the plan's digest
    # before anything is written: validating them again would only cost time.
    return Change.model_construct(op=r["op"], object=r["object"], key=r["key"],
                                  list_name=r["list_name"], before=r["before"],
                                  after=r["after"], reason=r["reason"])
