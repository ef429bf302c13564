"""The ledger's hash chain: tamper-evident, and cheap for concurrent workers.

Each batch is chained on its own, so workers on different batches never wait for each
other: its entries when they are written ahead, as one block (block hash = sha256(genesis +
a tag + the block's bytes)), and when it is sealed its outcome (which entries failed, and when)
after that, into the batch's head. Blocks are written once and never updated. When a job
ends, its batch heads are chained in execution order into the job's head, and the job's
seal is chained after the previous job's seal. `verify` recomputes all of it: an edited,
inserted or deleted entry, batch or job breaks the chain.

Batches run before migration 0010 chained each entry after the one before instead (entry
hash = sha256(prev hash + canonical JSON of the entry)); they verify as they were chained.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from approvals import ledger
from approvals import schema as t
from approvals.store import Store, dumps, executemany, loads
from tools.changes import canonical_json

GENESIS = "0" * 64
_CHAIN = "UPDATE ledger SET prev_hash = ?, hash = ? WHERE job = ? AND batch = ? AND seq = ?"
# Statements every batch runs (sealing it; verifying it), built once: see
# `approvals.schema.one_batch`.
_SEALING_ANY = update(t.batches).where(*t.one_batch(t.batches), t.batches.c.state != "sealed"
                                       ).values(state="sealing")
_SEALING = _SEALING_ANY.where(t.batches.c.lease_token == bindparam("b_token"))
_SEALED = update(t.batches).where(*t.one_batch(t.batches)).values(
    state="sealed", head=bindparam("b_head"), applied=bindparam("b_applied"),
    failed=bindparam("b_failed"), outcome=bindparam("b_outcome"), lease_until=None)
_HAS_ROWS = select(t.ledger.c.seq).where(*t.one_batch(t.ledger)).limit(1)


def link(prev: str, payload: object) -> str:
    """The hash of one link: sha256 over the previous hash and the canonical payload."""
    return link_bytes(prev, canonical_json(payload))


def link_bytes(prev: str, data: bytes) -> str:
    """The hash of a link whose payload is stored as the bytes `data`."""
    return hashlib.sha256(prev.encode() + b"\n" + data).hexdigest()


# Hashed before a block's bytes, so no block can ever hash like an entry of the older
# row-per-entry chain (or the reverse).
BLOCK_TAG = b"mops-ledger-block/1\n"


def block_hash(encoded: bytes) -> str:
    """The hash of a batch's block of entries (`ledger.encode_block`): its first link."""
    return link_bytes(GENESIS, BLOCK_TAG + encoded)


class LeaseLost(Exception):
    """The batch was sealed by another run, or its lease passed to another worker."""


def links(rows: list[dict[str, Any]], prev: str = GENESIS) -> list[tuple[str, str]]:
    """(prev_hash, hash) of each of `rows` (payloads: `ledger.HASHED`, in seq order), chained after
    `prev`: how entries were chained before migration 0010."""
    out = []
    for row in rows:
        digest = link(prev, row)
        out.append((prev, digest))
        prev = digest
    return out


def seal_batch(conn: Connection, job: int, batch: int,
               outcomes: dict[int, tuple[ledger.Status, str | None]],
               chained: tuple[int, str] | None = None, token: str | None = None) -> str:
    """Seal a finished batch: record its outcome on the batch and chain it into the head.

    `outcomes` are the final status and error of every entry of the batch, by seq. Entries
    are not touched: they were hashed when written. `chained` is (entries, block hash) as
    the write-ahead step left them; None reads them back.
    With `token`, only the holder of the batch's current lease may seal it (`LeaseLost`).
    """
    this = t.batch_params(job, batch)
    taken = conn.execute(_SEALING, {**this, "b_token": token}) if token is not None else (
        conn.execute(_SEALING_ANY, this))
    if taken.rowcount != 1:        # checked first: nothing below runs for a stale worker
        raise LeaseLost(f"job {job} batch {batch} was sealed or taken over by another run")
    entries, last = _chain_back(conn, job, batch) if chained is None else chained
    failures = {seq: error for seq, (status, error) in outcomes.items() if status == "failed"}
    if len(outcomes) != entries or any(s == "intended" for s, _ in outcomes.values()):
        raise ValueError(f"job {job} batch {batch}: {len(outcomes)} outcomes for "
                         f"{entries} entries")
    sealed = ledger.outcome(ledger.stamp(), failures)
    head = link(last, sealed)
    conn.execute(_SEALED, {**this, "b_head": head, "b_applied": entries - len(failures),
                           "b_failed": len(failures), "b_outcome": dumps(sealed)})
    return head


def _chain_back(conn: Connection, job: int, batch: int) -> tuple[int, str]:
    """(entries, last hash) of a batch's entries as stored. Entries written by a version
    before migration 0008 were chained only when sealed: they are chained now."""
    stored = ledger.block(conn, job, batch)
    if stored is not None:
        encoded, hash = stored
        return len(ledger.block_entries(encoded)[2]), hash
    rows = ledger.chained_rows(conn, job, batch)
    if all(hash is not None for _, _, hash in rows):
        return len(rows), rows[-1][2] if rows else GENESIS   # type: ignore[return-value]
    payloads = [row for row, _, _ in rows]
    chained = links(payloads)
    executemany(conn, _CHAIN, [(prev, hash, job, batch, row["seq"])
                               for row, (prev, hash) in zip(payloads, chained, strict=True)])
    return len(rows), chained[-1][1]


def job_head(conn: Connection, job: int) -> str:
    """The chain of a job's batch heads, in execution order."""
    head = GENESIS
    b = t.batches.c
    query = select(b.batch, b.head, b.size, b.applied, b.failed).where(b.job == job).order_by(
        b.stage, b.batch)
    for row in conn.execute(query):
        head = link(head, {"batch": row.batch, "head": row.head, "size": row.size,
                           "applied": row.applied, "failed": row.failed})
    return head


def seal_job(conn: Connection, job: int) -> None:
    """Chain the job's head after the last sealed job's."""
    if conn.dialect.name == "postgresql":  # one sealer at a time keeps the chain linear
        conn.execute(text("LOCK TABLE seals IN EXCLUSIVE MODE"))
    last = conn.execute(select(t.seals.c.hash).order_by(t.seals.c.seq.desc()).limit(1)
                        ).scalar_one_or_none() or GENESIS
    head, at = job_head(conn, job), ledger.stamp()
    conn.execute(insert(t.seals).values(
        job=job, head=head, prev_hash=last, sealed_at=at,
        hash=link(last, {"job": job, "head": head, "sealed_at": at})))


@dataclass
class Verification:
    """What `verify` found: entries checked and every break in the chain."""

    entries: int = 0
    batches: int = 0
    jobs: int = 0
    head: str = GENESIS        # the last seal's hash: record it elsewhere to anchor the chain
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found broken."""
        return not self.problems


def verify(store: Store, job: int | None = None) -> Verification:
    """Recompute the chain of every sealed batch and job (or of one job)."""
    result = Verification()
    for _ in applied_batches(store, job, result):
        pass
    return result


def applied_batches(store: Store, job: int | None, result: Verification,
                    ) -> Iterator[list[ledger.Entry]]:
    """The entries each sealed batch (of `job`, or of all jobs) applied, in chain order (job,
    batch, seq), each batch checked against its chain as it is read: one pass does both
    `verify` and what a rollback needs. Every problem found is in `result` once the iterator
    is exhausted, not before: a caller must not act on the entries until then.

    Each batch is read in a short transaction of its own, so a long pass holds no snapshot
    open (SQLite can checkpoint its WAL behind it).
    """
    with store.engine.connect() as conn:
        # Every batch that is sealed, and every batch of a sealed job whatever its state
        # says. (The batches of a job stopped half-way hold only `intended` entries.)
        sealed_jobs = select(t.seals.c.job)
        query = select(t.batches.c.job, t.batches.c.batch, t.batches.c.state,
                       t.batches.c.head, t.batches.c.size, t.batches.c.outcome).where(
            (t.batches.c.state == "sealed") | t.batches.c.job.in_(sealed_jobs)).order_by(
            t.batches.c.job, t.batches.c.batch)
        if job is not None:
            query = query.where(t.batches.c.job == job)
        batches = conn.execute(query).all()
        later = Verification()
        _verify_orphans(conn, job, later)
        _verify_seals(conn, job, later)
    for b in batches:
        if b.state != "sealed":
            result.problems.append(f"job {b.job} batch {b.batch}: the job is sealed but "
                                   f"the batch says {b.state}")
        yield _checked_batch(store, b, result)
    result.problems += later.problems
    result.jobs, result.head = later.jobs, later.head


def _checked_batch(store: Store, b: Any, result: Verification) -> list[ledger.Entry]:
    """The entries a sealed batch applied (`b`: its row), read as a block or, from before
    migration 0010, as rows, and checked against its chain; in a short transaction of its own.

    A block's entries were all written `intended`: the batch's outcome says which failed (a
    batch with no outcome was never sealed, and applied none)."""
    failures = ledger.failures_of(b.outcome)
    with store.engine.connect() as conn:
        stored = ledger.block(conn, b.job, b.batch)
        if stored is None:
            rows = ledger.chained_rows(conn, b.job, b.batch)
            _verify_batch(rows, b, result)
            return [ledger.as_entry(row) for row, _, _ in rows
                    if ledger.settle(row, failures)["status"] == "applied"]
        if _has_rows(conn, b.job, b.batch):
            result.problems.append(f"job {b.job} batch {b.batch}: ledger rows beside its "
                                   "block (inserted)")
    entries = _verify_block(*stored, b, result)
    if failures is None:
        return []
    return [entry for entry in entries if entry[0] not in failures]


def _verify_orphans(conn: Connection, job: int | None, result: Verification) -> None:
    """Ledger entries of no batch are outside every chain: they must not exist."""
    for table in (t.ledger, t.ledger_blocks):
        owned = select(t.batches.c.job).where(t.batches.c.job == table.c.job,
                                             t.batches.c.batch == table.c.batch).exists()
        query = select(table.c.job, table.c.batch).where(~owned).distinct()
        if job is not None:
            query = query.where(table.c.job == job)
        for row in conn.execute(query):
            result.problems.append(
                f"job {row.job} batch {row.batch}: ledger entries of no batch")


def _has_rows(conn: Connection, job: int, batch: int) -> bool:
    """Whether a batch has rows in `ledger` (only batches run before migration 0010 do)."""
    return conn.execute(_HAS_ROWS, t.batch_params(job, batch)).first() is not None


def _verify_block(encoded: bytes, hash: str, b: Any,
                  result: Verification) -> list[ledger.Entry]:
    """Check a batch's block against its hash and its head (`b`: the batch's row); its
    entries (none if the block is not this batch's)."""
    job, batch = b.job, b.batch
    digest = block_hash(encoded)
    if digest != hash:
        result.problems.append(f"job {job} batch {batch}: its entries do not match their "
                               "hash (edited, inserted or deleted)")
        return []
    of_job, of_batch, rows = ledger.block_entries(encoded)
    if (of_job, of_batch) != (job, batch):
        result.problems.append(f"job {job} batch {batch}: it holds the entries of job "
                               f"{of_job} batch {of_batch}")
        return []
    result.entries += len(rows)
    result.batches += 1
    head = digest if b.outcome is None else link(digest, loads(b.outcome))
    if head != b.head or len(rows) != b.size:
        result.problems.append(
            f"job {job} batch {batch}: {len(rows)} of {b.size} entries, chain head "
            f"{'matches' if head == b.head else 'differs'} (entries deleted or added, or "
            "its outcome edited)")
    return rows


def _verify_batch(rows: list[tuple[dict[str, Any], str | None, str | None]], b: Any,
                  result: Verification) -> None:
    """Check a batch's entries against their chain, and its head (`b`: the batch's row)."""
    job, batch = b.job, b.batch
    prev, count = GENESIS, 0
    for row, prev_hash, hash in rows:
        count += 1
        digest = link(prev, row)
        if prev_hash != prev or hash != digest:
            result.problems.append(
                f"job {job} batch {batch} entry {row['seq']}: hash does not match its "
                "content or its predecessor (edited, inserted or deleted)")
            return
        prev = digest
    result.entries += count
    result.batches += 1
    # Since migration 0008 the head chains the batch's outcome after its last entry.
    head = prev if b.outcome is None else link(prev, loads(b.outcome))
    if head != b.head or count != b.size:
        result.problems.append(
            f"job {job} batch {batch}: {count} of {b.size} entries, chain head "
            f"{'matches' if head == b.head else 'differs'} (entries deleted or added, or "
            "its outcome edited)")


def _verify_seals(conn: Connection, job: int | None, result: Verification) -> None:
    prev = GENESIS
    for s in conn.execute(select(t.seals).order_by(t.seals.c.seq)).all():
        expected = link(s.prev_hash, {"job": s.job, "head": s.head, "sealed_at": s.sealed_at})
        if s.prev_hash != prev or s.hash != expected:
            result.problems.append(f"seal of job {s.job}: chain of jobs broken before it")
        elif job is None or s.job == job:
            if job_head(conn, s.job) != s.head:
                result.problems.append(f"job {s.job}: its batches do not match its seal")
            result.jobs += 1
        prev = s.hash
    result.head = prev
