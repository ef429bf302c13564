"""Who runs which batch: stages handed out once, batches leased to one worker at a time.

Queues redeliver (a killed worker's message comes back; a restarted Redis may lose one), so
the store, not the queue, decides: a stage's batches are dispatched by whoever claims them
first; a batch runs only under a lease; a batch whose message went missing is found by its
old `dispatched_at` and sent again. Together with the ledger this makes every batch run
to the end exactly once in effect, however often its message arrives.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from approvals import schema as t
from approvals.store import Store, aware, now

B = t.batches
# Built once (every batch runs them): see `approvals.schema.one_batch`.
_CLAIM = update(B).where(
    *t.one_batch(B), B.c.state != "sealed",
    or_(B.c.lease_until.is_(None), B.c.lease_until < bindparam("b_at")),
).values(lease_until=bindparam("b_until"), lease_token=bindparam("b_token"))
_HELD = select(B.c.lease_token, B.c.lease_until).where(*t.one_batch(B))


def next_stage(store: Store, job: int) -> int | None:
    """The lowest stage of the job that still has unsealed batches (None: all sealed)."""
    query = select(func.min(B.c.stage)).where(B.c.job == job, B.c.state != "sealed")
    with store.engine.connect() as conn:
        stage = conn.execute(query).scalar_one_or_none()
    return None if stage is None else int(stage)


def claim_stage(store: Store, job: int, stage: int) -> list[int]:
    """Mark the stage's pending batches queued and return them; a second caller gets []."""
    stmt = (update(B).where(B.c.job == job, B.c.stage == stage, B.c.state == "pending")
            .values(state="queued", dispatched_at=now()).returning(B.c.batch))
    with store.begin() as conn:
        return sorted(int(b) for b in conn.execute(stmt).scalars())


def claim_batch(store: Store, job: int, batch: int, lease: float) -> str | None:
    """Take the lease on an unsealed batch and return its token; None if another worker
    holds a live lease. Only the holder of the current token can seal the batch."""
    with store.begin() as conn:
        return claim(conn, job, batch, lease)


def claim(conn: Connection, job: int, batch: int, lease: float) -> str | None:
    """`claim_batch` in the caller's transaction (which must commit for the lease to hold)."""
    at, token = now(), uuid.uuid4().hex
    claimed = conn.execute(_CLAIM, t.batch_params(
        job, batch, b_at=at, b_until=at + timedelta(seconds=lease), b_token=token))
    return token if claimed.rowcount == 1 else None


def holds(store: Store, job: int, batch: int, token: str) -> bool:
    """Whether the lease with `token` is still the batch's, and still live."""
    with store.engine.connect() as conn:
        return held(conn, job, batch, token)


def held(conn: Connection, job: int, batch: int, token: str) -> bool:
    """`holds`, on the caller's connection (inside its transaction)."""
    row = conn.execute(_HELD, t.batch_params(job, batch)).first()
    return row is not None and row.lease_token == token and (
        row.lease_until is None or aware(row.lease_until) >= now())


def release(store: Store, job: int, batch: int) -> None:
    """Give up a batch's lease (its run stopped), so another run may take it at once."""
    with store.begin() as conn:
        conn.execute(update(B).where(B.c.job == job, B.c.batch == batch)
                     .values(lease_until=None))


def stalled(store: Store, older_than: float) -> list[tuple[int, int]]:
    """Queued batches sent longer ago than `older_than` seconds that nobody is running."""
    at = now()
    cutoff = at - timedelta(seconds=older_than)
    query = select(B.c.job, B.c.batch).where(and_(
        B.c.state == "queued", B.c.dispatched_at < cutoff,
        or_(B.c.lease_until.is_(None), B.c.lease_until < at)))
    with store.engine.connect() as conn:
        return [(int(r.job), int(r.batch)) for r in conn.execute(query)]


def redispatched(store: Store, job: int, batch: int) -> None:
    """Record that a stalled batch's task was sent again."""
    with store.begin() as conn:
        conn.execute(update(B).where(B.c.job == job, B.c.batch == batch)
                     .values(dispatched_at=now()))
