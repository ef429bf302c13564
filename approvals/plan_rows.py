"""Plans stored as rows: the `PlanSink` the planners write to, and the readers of plans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, insert, select

from agents.plans import BatchHeader, Reject
from approvals import schema as t
from approvals.store import Store, dumps, fetch, insert_rows, loads
from tools.changes import Change

CHANGE_COLUMNS = ("job", "batch", "seq", "op", "object", "key", "list_name", "before",
                  "after", "reason")
REJECT_COLUMNS = ("job", "row", "kind", "field", "value", "reason")
# Validating a batch as one list costs less than a constructor call per change.
_CHANGES = TypeAdapter(list[Change])
_BATCH = ('SELECT op, "object", "key", list_name, CAST("before" AS TEXT), '
          'CAST("after" AS TEXT), reason FROM changes WHERE job = ? AND batch = ? ORDER BY seq')


class PlanRows:
    """Writes and reads a job's batches, changes and rejects."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def write_batch(self, job: int, header: BatchHeader, changes: list[Change]) -> None:
        """Store one batch of changes and its header, in one transaction."""
        rows = [(job, header.batch, seq, c.op, c.object, c.key, c.list_name, dumps(c.before),
                 dumps(c.after), c.reason) for seq, c in enumerate(changes)]
        with self.store.begin() as conn:
            conn.execute(insert(t.batches).values(
                job=job, batch=header.batch, stage=header.stage, size=header.size,
                digest=header.digest, state="pending", applied=0, failed=0))
            insert_rows(conn, "changes", CHANGE_COLUMNS, rows, json=("before", "after"))

    def write_rejects(self, job: int, rejects: list[Reject]) -> None:
        """Store rows the plan will not write."""
        rows = [(job, r.row, r.kind, r.field, r.value, r.reason) for r in rejects]
        with self.store.begin() as conn:
            insert_rows(conn, "rejects", REJECT_COLUMNS, rows)

    def headers(self, job: int) -> list[BatchHeader]:
        """The job's batch headers in execution order (stage, then batch)."""
        query = select(t.batches).where(t.batches.c.job == job).order_by(
            t.batches.c.stage, t.batches.c.batch)
        with self.store.engine.connect() as conn:
            return [BatchHeader(batch=r.batch, stage=r.stage, size=r.size, digest=r.digest)
                    for r in conn.execute(query)]

    def batch(self, job: int, batch: int) -> list[Change]:
        """The changes of one batch, in order."""
        with self.store.engine.connect() as conn:
            rows = fetch(conn, _BATCH, (job, batch))
        return _CHANGES.validate_python([
            {"op": op, "object": obj, "key": key, "list_name": list_name,
             "before": loads(before), "after": loads(after), "reason": reason}
            for op, obj, key, list_name, before, after, reason in rows])

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
    # Validating is cheaper than pydantic's model_construct, and the gate checks the rows
    # against the approved digest before anything is written anyway.
    return Change(op=r["op"], object=r["object"], key=r["key"], list_name=r["list_name"],
                  before=r["before"], after=r["after"], reason=r["reason"])
