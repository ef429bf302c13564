"""The rollback log: one entry per change, written before the change is attempted.

Entries are written once and never updated: each is `intended` when written (its
before-image is safe, the write may or may not have happened) and chained then (see
`approvals/chain.py`). When the batch is sealed, which of its entries failed, and why, is
recorded on the batch (`outcome`); every other entry was applied. Readers see each entry's
settled status: `intended` until its batch is sealed, then `applied` or `failed`. (Batches
sealed before migration 0008 updated their entries' status in place instead.)

Entries are written and read on the driver's cursor (`approvals.store.cursor`), a batch or a
page at a time, each in a short transaction of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection, select

from approvals import schema as t
from approvals.store import Store, dumps, fetch, insert_rows, loads
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
COLUMNS = (*HASHED, "prev_hash", "hash")   # as `_SELECT` reads them
_SELECT = ("SELECT job, batch, seq, op, \"object\", \"key\", list_name, "
           "CAST(\"before\" AS TEXT), CAST(\"after\" AS TEXT), status, error, recorded_at, "
           "prev_hash, hash FROM ledger")
_PREV, _HASH = COLUMNS.index("prev_hash"), COLUMNS.index("hash")
PAGE = 5000


def payload(row: Any) -> dict[str, Any]:
    """What the chain hashes of a ledger row: every column but the hashes."""
    return {name: row[name] for name in HASHED}


def stamp() -> str:
    """The time as the ledger records it: ISO 8601, UTC, microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry_row(job: int, batch: int, seq: int, change: Change, before: FieldValues | None,
              status: Status, error: str | None = None, at: str | None = None,
              ) -> dict[str, Any]:
    """A new ledger row for a change (its `payload`: it has no place in the chain yet),
    with the before-image actually read from the record; `at` is the time it is recorded
    (now, if not given)."""
    return {"job": job, "batch": batch, "seq": seq, "op": change.op, "object": change.object,
            "key": change.key, "list_name": change.list_name, "before": before,
            "after": change.after, "status": status, "error": error,
            "recorded_at": at or stamp()}


def write(conn: Connection, rows: list[dict[str, Any]],
          links: list[tuple[str, str]]) -> None:
    """Insert new entries (the write-ahead step), each with its (prev_hash, hash)."""
    values = [(r["job"], r["batch"], r["seq"], r["op"], r["object"], r["key"], r["list_name"],
               dumps(r["before"]), dumps(r["after"]), r["status"], r["error"],
               r["recorded_at"], prev, hash) for r, (prev, hash) in zip(rows, links,
                                                                         strict=True)]
    insert_rows(conn, "ledger", COLUMNS, values, json=("before", "after"))


Failures = dict[int, str | None]     # seq → error, of a sealed batch's failed entries


def outcome(sealed_at: str, failures: Failures) -> dict[str, Any]:
    """What a batch's seal records (and chains): when, and which entries failed and why."""
    return {"sealed_at": sealed_at, "failed": [[seq, failures[seq]] for seq in sorted(failures)]}


def failures_of(outcome_json: str | None) -> Failures | None:
    """The failures a batch's stored `outcome` records; None if it has none (not sealed, or
    sealed before migration 0008 with the outcome in its entries)."""
    if outcome_json is None:
        return None
    return {seq: error for seq, error in loads(outcome_json)["failed"]}


def settle(row: dict[str, Any], failures: Failures | None) -> dict[str, Any]:
    """`row` (a `payload`) with its settled status: what its batch's outcome says of it."""
    if failures is None or row["status"] != "intended":
        return row
    if row["seq"] in failures:
        return {**row, "status": "failed", "error": failures[row["seq"]]}
    return {**row, "status": "applied"}


def statuses(store: Store, job: int, batch: int) -> dict[int, Status]:
    """The status of each entry already written for a batch, by seq."""
    with store.engine.connect() as conn:
        return batch_statuses(conn, job, batch)


def batch_statuses(conn: Connection, job: int, batch: int) -> dict[int, Status]:
    """`statuses`, on a connection of the caller's."""
    query = select(t.ledger.c.seq, t.ledger.c.status).where(
        t.ledger.c.job == job, t.ledger.c.batch == batch)
    failures = failures_of(conn.execute(select(t.batches.c.outcome).where(
        t.batches.c.job == job, t.batches.c.batch == batch)).scalar())
    return {r.seq: settle({"seq": r.seq, "status": r.status}, failures)["status"]
            for r in conn.execute(query)}


def chained_rows(conn: Connection, job: int, batch: int,
                 ) -> list[tuple[dict[str, Any], str | None, str | None]]:
    """A batch's ledger rows in seq order, each as (`payload`, prev_hash, hash)."""
    return [(_payload(r), r[_PREV], r[_HASH]) for r in fetch(
        conn, f"{_SELECT} WHERE job = ? AND batch = ? ORDER BY seq", (job, batch))]


def entries(store: Store, job: int | None = None, batch: int | None = None,
            conn: Connection | None = None, key: str | None = None,
            ) -> Iterator[LedgerEntry]:
    """Entries in chain order (job, batch, seq), streamed a page at a time (by key, each
    page in a short read of its own, so nothing is held open between pages)."""
    where, params = [], []
    for column, value in (("job", job), ("batch", batch), ('"key"', key)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    after: tuple[int, int, int] = (-1, -1, -1)
    while True:
        page = " AND ".join([*where, "(job, batch, seq) > (?, ?, ?)"])
        query = f"{_SELECT} WHERE {page} ORDER BY job, batch, seq LIMIT {PAGE}"
        keyed = [*params, *after]
        if conn is not None:
            found, failures = _page(conn, query, keyed)
        else:
            with store.engine.connect() as own:
                found, failures = _page(own, query, keyed)
        yield from (_entry(settle(_payload(r), failures[(r[0], r[1])]), r[_PREV], r[_HASH])
                    for r in found)
        if len(found) < PAGE:
            return
        after = (found[-1][0], found[-1][1], found[-1][2])


def _page(conn: Connection, query: str, params: list[Any],
          ) -> tuple[list[Any], dict[tuple[int, int], Failures | None]]:
    """A page of ledger rows, and the failures recorded on each of their batches."""
    found = fetch(conn, query, params)
    b = t.batches.c
    failures = {}
    for job, batch in dict.fromkeys((r[0], r[1]) for r in found):
        stored = conn.execute(select(b.outcome).where(b.job == job, b.batch == batch)).scalar()
        failures[(job, batch)] = failures_of(stored)
    return found, failures


def _payload(row: Any) -> dict[str, Any]:
    # Spelled out (the columns of `_SELECT`, in order): twice as fast as dict(zip(...)).
    return {"job": row[0], "batch": row[1], "seq": row[2], "op": row[3], "object": row[4],
            "key": row[5], "list_name": row[6], "before": loads(row[7]),
            "after": loads(row[8]), "status": row[9], "error": row[10],
            "recorded_at": row[11]}


def _entry(r: dict[str, Any], prev_hash: str | None, hash: str | None) -> LedgerEntry:
    change = Change(op=r["op"], object=r["object"], key=r["key"], list_name=r["list_name"],
                    before=r["before"], after=r["after"])
    return LedgerEntry(job=r["job"], batch=r["batch"], seq=r["seq"], change=change,
                       status=r["status"], error=r["error"], recorded_at=r["recorded_at"],
                       prev_hash=prev_hash, hash=hash)
