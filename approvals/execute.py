"""Writing one approved batch: before-images first, then the writes, then the seal.

Running a batch twice (a worker killed, a message redelivered) applies each change at most
once: entries already `applied` or `failed` are skipped; an `intended` entry is settled by
reading the record (`tools.apply.settle`): if it holds `after` the write happened, if it
still holds `before` the write is made now.

A batch of memberships read by template (`agents.uniform.Uniform`) is written by key, the
same way (`approvals.members`), on its first run; a run after that goes change by change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from agents.uniform import Uniform
from approvals import chain, leases, ledger, members
from approvals import schema as t
from approvals.errors import ApprovalsError
from approvals.gate import Gate
from approvals.ledger import Status
from approvals.store import Job, Store
from tools.apply import apply, observe, settle
from tools.changes import Change
from tools.collector import paused
from tools.errors import SystemFault
from tools.sheet import Target


class BatchBusy(ApprovalsError):
    """Another worker holds the batch's lease; it will finish the batch."""


@dataclass(frozen=True)
class BatchResult:
    """How many changes of a batch ended applied and failed."""

    batch: int
    applied: int
    failed: int


def execute_batch(store: Store, gate: Gate, crm: Target, job: Job, batch: int,
                  lease: float = 600.0) -> BatchResult:
    """Apply one batch of an approved job, write-ahead, idempotently.

    `lease` (seconds) must exceed the longest a batch can take: a worker that dies holding
    it blocks the batch until then, and a live one past it could be joined by another.
    """
    with paused():     # a batch's objects are scanned once, when it is done
        return _execute(store, gate, crm, job, batch, lease)


def _execute(store: Store, gate: Gate, crm: Target, job: Job, batch: int,
             lease: float) -> BatchResult:
    sealed = _sealed(store, job.job, batch)
    if sealed is not None:
        return sealed
    changes = gate.authorize_batch(job, batch)
    with store.begin() as conn:     # the lease, and what a run before this one has logged
        token = leases.claim(conn, job.job, batch, lease)
        done = ledger.batch_statuses(conn, job.job, batch) if token is not None else {}
    if token is None:
        raise BatchBusy(
            f"job {job.job} batch {batch} is being run by another worker or process (one "
            f"that stopped holds it until its lease runs out: MOPS_BATCH_LEASE); run "
            f"`mops resume {job.job}` then")
    try:
        return _run(store, crm, job.job, batch, changes, token, done)
    except BaseException:
        leases.release(store, job.job, batch)   # stopped (Ctrl-C, an error): free it now
        raise


def _run(store: Store, crm: Target, job: int, batch: int, changes: list[Change] | Uniform,
         token: str, done: dict[int, Status]) -> BatchResult:
    if isinstance(changes, Uniform) and members.is_members(changes) and not done:
        entries, outcomes, keys = members.settle_keys(crm, changes)
        chained = _log_ahead(store, job, batch, entries, token)
        outcomes += _write_members(crm, changes, keys)
    else:
        if isinstance(changes, Uniform):
            changes = changes.changes()
        todo = [(seq, c) for seq, c in enumerate(changes)
                if done.get(seq, "intended") == "intended"]
        chained, outcomes, to_write = _write_ahead(store, crm, job, batch, todo, done, token)
        outcomes += _write(crm, to_write)
    with store.begin() as conn:
        # On a first run every entry was written just now: seal from memory, not a re-read.
        chain.seal_batch(conn, job, batch, {s: (st, e) for s, st, e in outcomes},
                         chained=None if done else chained, token=token)
        return _result(conn, job, batch) or BatchResult(batch, 0, 0)


def _write_ahead(store: Store, crm: Target, job: int, batch: int,
                 todo: list[tuple[int, Change]], done: dict[int, Status], token: str,
                 ) -> tuple[tuple[int, str], list[tuple[int, Status, str | None]],
                            list[tuple[int, Change]]]:
    """Record every before-image (the batch's entries, `intended`, in one block hashed as
    written) before any write is made, and confirm in the same transaction that the lease
    is still ours.

    Returns (entries written, block hash), the outcome of each entry already settled, and
    the changes still to write."""
    current = observe(crm, [c for _, c in todo])
    entries: list[ledger.Entry] = []
    outcomes: list[tuple[int, Status, str | None]] = []
    to_write: list[tuple[int, Change]] = []
    for (seq, change), now in zip(todo, current, strict=True):
        verdict = settle(change, now)
        if seq not in done:
            entries.append(ledger.entry(seq, change, now if change.op != "create"
                                        else change.before))
        if verdict == "apply":
            to_write.append((seq, change))
        elif verdict == "done":
            outcomes.append((seq, "applied", None))
        else:
            outcomes.append((seq, "failed", "the record changed after the plan was made"))
    if entries and done:   # a batch's entries are written in one block: all or none
        raise AssertionError(f"job {job} batch {batch}: entries missing from a batch run before")
    return _log_ahead(store, job, batch, entries, token), outcomes, to_write


def _log_ahead(store: Store, job: int, batch: int, entries: list[ledger.Entry],
               token: str) -> tuple[int, str]:
    """Write the batch's entries (if any) as its block, and confirm the lease is still
    ours, in one transaction; (entries written, block hash)."""
    encoded = ledger.encode_block(job, batch, ledger.stamp(), entries) if entries else None
    digest = chain.block_hash(encoded) if encoded is not None else chain.GENESIS
    with store.begin() as conn:
        if encoded is not None:
            ledger.write_block(conn, job, batch, encoded, digest)
        if not leases.held(conn, job, batch, token):  # overran the lease: another run has it
            raise chain.LeaseLost(f"job {job} batch {batch}: lease lost before writing")
    return len(entries), digest


def _write(crm: Target,
           to_write: list[tuple[int, Change]]) -> list[tuple[int, Status, str | None]]:
    """Make the writes; an outside system that stays down fails them, with its error."""
    if not to_write:
        return []
    try:
        results = apply(crm, [c for _, c in to_write])
    except SystemFault as exc:
        return _settle_after_fault(crm, to_write, f"{type(exc).__name__}: {exc}")
    return [(seq, "applied" if r.ok else "failed", r.error)
            for (seq, _), r in zip(to_write, results, strict=True)]


def _write_members(crm: Target, batch: Uniform,
                   to_write: list[tuple[int, str]]) -> list[members.Outcome]:
    """`_write`, for a batch of memberships written by key."""
    if not to_write:
        return []
    try:
        return members.write_keys(crm, batch, to_write)
    except SystemFault as exc:
        changes = batch.changes()
        return _settle_after_fault(crm, [(seq, changes[seq]) for seq, _ in to_write],
                                   f"{type(exc).__name__}: {exc}")


def _settle_after_fault(crm: Target, to_write: list[tuple[int, Change]],
                        error: str) -> list[tuple[int, Status, str | None]]:
    """Some writes may have been made before the system failed: read the records again and
    log what they hold. If they cannot be read, the entries stay `intended` (the error
    propagates) and the next run of the batch settles them."""
    now = observe(crm, [c for _, c in to_write])
    outcomes: list[tuple[int, Status, str | None]] = []
    for (seq, change), current in zip(to_write, now, strict=True):
        done = settle(change, current) == "done"
        outcomes.append((seq, "applied", None) if done else (seq, "failed", error))
    return outcomes


def _sealed(store: Store, job: int, batch: int) -> BatchResult | None:
    with store.engine.connect() as conn:
        return _result(conn, job, batch)


# Built once, as every statement a batch runs (see `approvals.schema.one_batch`).
_RESULT = select(t.batches.c.state, t.batches.c.applied, t.batches.c.failed).where(
    *t.one_batch(t.batches))


def _result(conn: Connection, job: int, batch: int) -> BatchResult | None:
    row = conn.execute(_RESULT, t.batch_params(job, batch)).first()
    if row is None or row.state != "sealed":
        return None
    return BatchResult(batch, row.applied, row.failed)
