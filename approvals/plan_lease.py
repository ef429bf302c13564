"""Who plans a job: one planner at a time, under a lease, so a dead one can be replaced.

Planning takes the job's lease (`claim`): a token on the job, good for `lease` seconds.
Every write of the plan (a batch, rejects, the finished plan, its failure) renews the lease
in the same transaction, and is refused with `PlanningLost` once the token is no longer the
job's. A job whose lease has run out may be claimed again: its partial plan is dropped and
it is planned from the start. So a planner killed half-way leaves a job that the next plan
message (redelivered, sent by the sweep, or `mops resume`) plans again, and a planner that
was only slow cannot mix its batches into the new plan.

The lease must outlast the longest stretch between two writes of a plan (a list upload
reads its whole file before its first batch).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Connection, or_, select, update

from agents.plans import BatchHeader, Reject
from approvals import schema as t
from approvals.errors import ApprovalsError, InvalidTransition, UnknownJob
from approvals.plan_rows import drop_plan, insert_batch, insert_rejects
from approvals.store import Store, aware, now
from tools.changes import Change

J = t.jobs
LEASE = 600.0      # seconds


class PlanningBusy(ApprovalsError):
    """Another planner holds the job's lease: it is being planned."""


class PlanningLost(ApprovalsError):
    """The job's lease passed to another planner (or the job moved on): stop planning."""


def claim(store: Store, job: int, actor: str, lease: float = LEASE) -> str:
    """Take the job's planning lease and return its token: a queued job moves to planning;
    a job planning under a lease that has run out is planned again from the start, its
    partial plan dropped. Raises `PlanningBusy` while another planner's lease is live."""
    at, token = now(), uuid.uuid4().hex
    expired = or_(J.c.plan_lease_until.is_(None), J.c.plan_lease_until < at)
    with store.begin() as conn:
        taken = conn.execute(update(J).where(
            J.c.id == job, (J.c.state == "queued") | ((J.c.state == "planning") & expired),
        ).values(plan_token=token, plan_lease_until=at + timedelta(seconds=lease)))
        if taken.rowcount != 1:
            _refuse(conn, job)
        state = conn.execute(select(J.c.state).where(J.c.id == job)).scalar_one()
        if state == "planning":
            drop_plan(conn, job)
            store.move(job, "planning", actor, "planned again: its planner stopped before "
                       "finishing (its lease ran out)", conn)
        else:
            store.move(job, "planning", actor, conn=conn)
    return token


def _refuse(conn: Connection, job: int) -> None:
    row = conn.execute(select(J.c.state, J.c.plan_lease_until).where(J.c.id == job)).first()
    if row is None:
        raise UnknownJob(job)
    if row.state == "planning":
        until = row.plan_lease_until
        raise PlanningBusy(f"job {job} is being planned by another worker" + (
            f" (its lease runs until {aware(until).isoformat(timespec='seconds')})"
            if until is not None else ""))
    raise InvalidTransition(f"job {job} is {row.state}; it cannot be planned")


def renew(conn: Connection, job: int, token: str, lease: float = LEASE) -> None:
    """In the caller's transaction: extend the lease by `lease` seconds from now, or raise
    `PlanningLost` if it is no longer `token`'s."""
    renewed = conn.execute(update(J).where(
        J.c.id == job, J.c.state == "planning", J.c.plan_token == token,
    ).values(plan_lease_until=now() + timedelta(seconds=lease)))
    if renewed.rowcount != 1:
        raise PlanningLost(f"job {job} is no longer planned by this worker (its lease ran "
                           "out and another planner took it, or it moved on)")


def stalled(store: Store) -> list[int]:
    """Jobs planning under a lease that has run out: their planner stopped."""
    query = select(J.c.id).where(J.c.state == "planning", or_(
        J.c.plan_lease_until.is_(None), J.c.plan_lease_until < now())).order_by(J.c.id)
    with store.engine.connect() as conn:
        return [int(job) for job in conn.execute(query).scalars()]


class FencedSink:
    """The job store as a `PlanSink` for a planner holding the lease `token`: each write
    renews the lease, and none is made once the lease is lost."""

    def __init__(self, store: Store, token: str, lease: float = LEASE) -> None:
        self.store, self.token, self.lease = store, token, lease

    def write_batch(self, job: int, header: BatchHeader, changes: list[Change],
                    encoded: bytes) -> None:
        """Store one batch, if the lease is still ours."""
        with self.store.begin() as conn:
            renew(conn, job, self.token, self.lease)
            insert_batch(conn, job, header, encoded)

    def write_rejects(self, job: int, rejects: list[Reject]) -> None:
        """Store rows the plan will not write, if the lease is still ours."""
        with self.store.begin() as conn:
            renew(conn, job, self.token, self.lease)
            insert_rejects(conn, job, rejects)
