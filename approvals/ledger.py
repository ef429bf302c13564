"""The rollback log: one entry per change, written before the change is attempted.

An entry is `intended` (its before-image is safe, the write may or may not have happened),
then `applied` or `failed`. When a batch finishes its entries are sealed into a hash chain
(see `approvals/chain.py`); sealed entries are never updated again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection, insert, select

from approvals import schema as t
from approvals.store import Store
from tools.changes import Change, FieldValues

Status = Literal["intended", "applied", "failed"]


class LedgerEntry(BaseModel):
    """What one change did: its before-image, its outcome and its place in the chain."""

    job: int
    batch: int
    seq: int
    change: Change
    status: Status
    error: str | None = None
    recorded_at: str
    prev_hash: str | None = None
    hash: str | None = None


HASHED = ("job", "batch", "seq", "op", "object", "key", "list_name", "before", "after",
          "status", "error", "recorded_at")


def payload(row: Any) -> dict[str, Any]:
    """What the chain hashes of a ledger row: every column but the hashes."""
    return {name: row[name] for name in HASHED}


def stamp() -> str:
    """The time as the ledger records it: ISO 8601, UTC, microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry_row(job: int, batch: int, seq: int, change: Change, before: FieldValues | None,
              status: Status, error: str | None = None) -> dict[str, Any]:
    """A ledger row for a change, with the before-image actually read from the record."""
    return {"job": job, "batch": batch, "seq": seq, "op": change.op, "object": change.object,
            "key": change.key, "list_name": change.list_name, "before": before,
            "after": change.after, "status": status, "error": error,
            "recorded_at": stamp(), "prev_hash": None, "hash": None}


def write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new entries (the write-ahead step when their status is `intended`)."""
    if rows:
        conn.execute(insert(t.ledger), rows)


def statuses(store: Store, job: int, batch: int) -> dict[int, Status]:
    """The status of each entry already written for a batch, by seq."""
    query = select(t.ledger.c.seq, t.ledger.c.status).where(
        t.ledger.c.job == job, t.ledger.c.batch == batch)
    with store.engine.connect() as conn:
        return {r.seq: r.status for r in conn.execute(query)}


def rows(conn: Connection, job: int, batch: int) -> list[dict[str, Any]]:
    """A batch's ledger rows as plain dicts, in seq order (for sealing and verifying)."""
    query = select(t.ledger).where(t.ledger.c.job == job, t.ledger.c.batch == batch
                                   ).order_by(t.ledger.c.seq)
    return [dict(r) for r in conn.execute(query).mappings()]


def entries(store: Store, job: int | None = None, batch: int | None = None,
            conn: Connection | None = None, key: str | None = None,
            ) -> Iterator[LedgerEntry]:
    """Entries in chain order (job, batch, seq), streamed."""
    query = select(t.ledger).order_by(t.ledger.c.job, t.ledger.c.batch, t.ledger.c.seq)
    if job is not None:
        query = query.where(t.ledger.c.job == job)
    if batch is not None:
        query = query.where(t.ledger.c.batch == batch)
    if key is not None:
        query = query.where(t.ledger.c.key == key)
    if conn is not None:
        yield from (_entry(r) for r in conn.execute(query).mappings())
        return
    with store.engine.connect() as own:
        for r in own.execution_options(yield_per=5000).execute(query).mappings():
            yield _entry(r)


def _entry(r: Any) -> LedgerEntry:
    change = Change(op=r["op"], object=r["object"], key=r["key"], list_name=r["list_name"],
                    before=r["before"], after=r["after"])
    return LedgerEntry(job=r["job"], batch=r["batch"], seq=r["seq"], change=change,
                       status=r["status"], error=r["error"], recorded_at=r["recorded_at"],
                       prev_hash=r["prev_hash"], hash=r["hash"])
