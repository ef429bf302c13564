"""The rollback log: one entry per change, written before the change is attempted.

A batch's entries are written ahead together, once, before any of its writes is made, as
one block (`encode_block`): their before-images are safe, the writes may or may not have
happened. The block is hashed once, over its bytes, when it is written (see
`approvals/chain.py`), and never updated. When the batch is sealed, which of its entries
failed, and why, is recorded on the batch (`outcome`); every other entry was applied.
Readers see each entry's settled status: `intended` until its batch is sealed, then
`applied` or `failed`.

Batches run before migration 0010 keep their entries as rows of `ledger`, each chained
after the one before; those sealed before migration 0008 updated their entries' status in
place instead of recording an outcome. Both are still read and verified as they were written.

Entries are read a batch at a time, each batch in a short transaction of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection, insert, select

from approvals import schema as t
from approvals.packing import pack, unpack
from approvals.store import Store, fetch, loads
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
    # The hash that covers the entry: its block's (prev_hash None), or for an entry written
    # before migration 0010, its own, chained after prev_hash.
    prev_hash: str | None = None
    hash: str | None = None


# An entry as a block holds it: (seq, op, object, key, list_name, before, after).
Entry = tuple[int, str, str, str, str | None, FieldValues | None, FieldValues | None]
# What the chain hashes of a row of `ledger` (a "payload"): every column but the hashes.
HASHED = ("job", "batch", "seq", "op", "object", "key", "list_name", "before", "after",
          "status", "error", "recorded_at")
COLUMNS = (*HASHED, "prev_hash", "hash")   # as `_SELECT` reads them
_SELECT = ("SELECT job, batch, seq, op, \"object\", \"key\", list_name, "
           "CAST(\"before\" AS TEXT), CAST(\"after\" AS TEXT), status, error, recorded_at, "
           "prev_hash, hash FROM ledger")
_PREV, _HASH = COLUMNS.index("prev_hash"), COLUMNS.index("hash")
# The statements every batch runs, built once (see `approvals.schema.one_batch`).
_BLOCK = select(t.ledger_blocks.c.entries, t.ledger_blocks.c.hash).where(
    *t.one_batch(t.ledger_blocks))
_WRITE_BLOCK = insert(t.ledger_blocks)
_OUTCOME = select(t.batches.c.outcome).where(*t.one_batch(t.batches))
_ROW_STATUSES = select(t.ledger.c.seq, t.ledger.c.status).where(*t.one_batch(t.ledger))


def stamp() -> str:
    """The time as the ledger records it: ISO 8601, UTC, microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry(seq: int, change: Change, before: FieldValues | None) -> Entry:
    """A change's entry, with the before-image actually read from its record."""
    return (seq, change.op, change.object, change.key, change.list_name, before, change.after)


def encode_block(job: int, batch: int, recorded_at: str, entries: list[Entry]) -> bytes:
    """A batch's entries, as stored and hashed: one JSON object naming its job and batch
    (so a block cannot pass for another batch's) and when it was written."""
    return orjson.dumps({"job": job, "batch": batch, "recorded_at": recorded_at,
                         "entries": entries})


def block_entries(encoded: bytes) -> tuple[int, int, list[Entry]]:
    """(job, batch, entries) of a stored block, each entry as written (`Entry`)."""
    block = orjson.loads(encoded)
    return block["job"], block["batch"], block["entries"]


def decode_block(encoded: bytes) -> tuple[int, int, list[dict[str, Any]]]:
    """(job, batch, `payload`s) of a stored block: its entries, each `intended` as written."""
    block = orjson.loads(encoded)
    job, batch, at = block["job"], block["batch"], block["recorded_at"]
    return job, batch, [
        {"job": job, "batch": batch, "seq": seq, "op": op, "object": obj, "key": key,
         "list_name": list_name, "before": before, "after": after, "status": "intended",
         "error": None, "recorded_at": at}
        for seq, op, obj, key, list_name, before, after in block["entries"]]


def as_entry(row: dict[str, Any]) -> Entry:
    """A row of `ledger` (a `payload`, written before migration 0010) as a block holds its
    entry."""
    return (row["seq"], row["op"], row["object"], row["key"], row["list_name"], row["before"],
            row["after"])


def write_block(conn: Connection, job: int, batch: int, encoded: bytes, hash: str) -> None:
    """Write a batch's entries ahead (once: a second block for the batch is refused)."""
    conn.execute(_WRITE_BLOCK, {"job": job, "batch": batch, "entries": pack(encoded),
                                "hash": hash})


def block(conn: Connection, job: int, batch: int) -> tuple[bytes, str] | None:
    """(entries, hash) of a batch's block; None if it has none (not run yet, or run before
    migration 0010, with its entries in `ledger`)."""
    row = conn.execute(_BLOCK, t.batch_params(job, batch)).first()
    return None if row is None else (unpack(bytes(row.entries)), row.hash)


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
    this = t.batch_params(job, batch)
    failures = failures_of(conn.execute(_OUTCOME, this).scalar())
    stored = block(conn, job, batch)
    if stored is None:
        rows = [{"seq": r.seq, "status": r.status} for r in conn.execute(_ROW_STATUSES, this)]
        return {r["seq"]: settle(r, failures)["status"] for r in rows}
    seqs = [entry[0] for entry in block_entries(stored[0])[2]]   # each written `intended`
    if failures is None:
        return dict.fromkeys(seqs, "intended")
    return {seq: "failed" if seq in failures else "applied" for seq in seqs}


def chained_rows(conn: Connection, job: int, batch: int,
                 ) -> list[tuple[dict[str, Any], str | None, str | None]]:
    """A batch's rows of `ledger` (written before migration 0010) in seq order, each as
    (`payload`, prev_hash, hash)."""
    return [(_payload(r), r[_PREV], r[_HASH]) for r in fetch(
        conn, f"{_SELECT} WHERE job = ? AND batch = ? ORDER BY seq", (job, batch))]


def entries(store: Store, job: int | None = None, batch: int | None = None,
            conn: Connection | None = None, key: str | None = None,
            ) -> Iterator[LedgerEntry]:
    """Entries in chain order (job, batch, seq), streamed a batch at a time (each batch in a
    short read of its own, so nothing is held open between batches)."""
    b = t.batches.c
    query = select(b.job, b.batch, b.outcome).order_by(b.job, b.batch)
    for column, value in ((b.job, job), (b.batch, batch)):
        if value is not None:
            query = query.where(column == value)
    with _connected(store, conn) as own:
        batches = own.execute(query).all()
    needle = None if key is None else orjson.dumps(key)
    for job_, batch_, outcome in batches:
        with _connected(store, conn) as own:
            found = _batch_rows(own, job_, batch_, needle)
        failures = failures_of(outcome)
        yield from (_entry(settle(row, failures), prev, hash) for row, prev, hash in found
                    if key is None or row["key"] == key)


def _batch_rows(conn: Connection, job: int, batch: int, needle: bytes | None,
                ) -> list[tuple[dict[str, Any], str | None, str | None]]:
    """A batch's entries as (`payload`, prev_hash, hash); with `needle` (a key as JSON),
    none from a block that does not hold it anywhere."""
    stored = block(conn, job, batch)
    if stored is None:
        return chained_rows(conn, job, batch)
    encoded, hash = stored
    if needle is not None and needle not in encoded:
        return []
    return [(row, None, hash) for row in decode_block(encoded)[2]]


@contextmanager
def _connected(store: Store, conn: Connection | None) -> Iterator[Connection]:
    """`conn` if given, else a short-lived connection of the store's own."""
    if conn is not None:
        yield conn
        return
    with store.engine.connect() as own:
        yield own


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
