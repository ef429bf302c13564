"""Who plans a job: one planner at a time, under a lease, so a dead one can be replaced.

Planning takes the job's lease (`claim`): a token on the job, good for `lease` seconds.
Every write of the plan (a batch, rejects, the finished plan, its failure) renews the lease
in the same transaction, and is refused with `PlanningLost` once the token is no longer the
job's. A job whose lease has run out may be claimed again: its partial plan is dropped and
it is planned from the start. So a planner killed half-way leaves a job that the next plan
message (redelivered, sent by the sweep, or `mops resume`) plans again, and a planner that
was only slow cannot mix its batches into the new plan.

The planner renews the lease as it goes (`FencedSink.touch`, from every change, count or
reject it makes), so the lease need only outlast the longest single step: one read of the
target. A job whose planners keep stopping (a worker killed for memory each time) is failed
after `ATTEMPTS` of them, not planned again forever.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, bindparam, or_, select, update

from agents.plans import BatchHeader, Reject
from approvals import schema as t
from approvals.errors import ApprovalsError, InvalidTransition, UnknownJob
from approvals.plan_rows import drop_plan, insert_batch, insert_rejects
from approvals.store import Store, aware, now
from tools.changes import Change

J = t.jobs
LEASE = 600.0      # seconds
ATTEMPTS = 3       # planners that may stop before the job is failed instead of re-planned
# Built once: every stored batch renews the lease (see `approvals.schema.one_batch`).
_RENEW = update(J).where(
    J.c.id == bindparam("b_job"), J.c.state == "planning", J.c.plan_token == bindparam("b_token"),
).values(plan_lease_until=bindparam("b_until"))


class PlanningBusy(ApprovalsError):
    """Another planner holds the job's lease: it is being planned."""


class PlanningLost(ApprovalsError):
    """The job's lease passed to another planner (or the job moved on): stop planning."""


def claim(store: Store, job: int, actor: str, lease: float = LEASE) -> str:
    """Take the job's planning lease and return its token: a queued job moves to planning;
    a job planning under a lease that has run out is planned again from the start, its
    partial plan dropped (after `ATTEMPTS` planners stopped, it is failed instead, and
    `PlanningLost` raised). Raises `PlanningBusy` while another planner's lease is live."""
    at, token = now(), uuid.uuid4().hex
    with store.begin() as conn:
        taken = conn.execute(update(J).where(
            J.c.id == job, (J.c.state == "queued") | ((J.c.state == "planning") & _expired(at)),
        ).values(plan_token=token, plan_lease_until=at + timedelta(seconds=lease),
                 plan_attempts=J.c.plan_attempts + 1))
        if taken.rowcount != 1:
            _refuse(conn, job)
        state, attempts = conn.execute(
            select(J.c.state, J.c.plan_attempts).where(J.c.id == job)).one()
        if state == "queued":
            store.move(job, "planning", actor, conn=conn)
            return token
        drop_plan(conn, job)
        if attempts > ATTEMPTS:
            store.move(job, "failed", actor, "planning failed", conn, plan_token=None,
                       plan_lease_until=None, error=f"its planner stopped {attempts - 1} times "
                       "before finishing (killed, or out of memory?)")
        else:
            store.move(job, "planning", actor, "planned again: its planner stopped before "
                       "finishing (its lease ran out)", conn)
    if attempts > ATTEMPTS:
        raise PlanningLost(f"job {job} failed: its planner stopped {attempts - 1} times")
    return token


def _expired(at: datetime) -> ColumnElement[bool]:
    """The planning lease has run out at `at`. A job planning with no lease at all (moved
    to planning by a version before migration 0011) counts as stopped once it has not
    moved for a whole lease, so a planner of that version still running is left alone."""
    return or_(J.c.plan_lease_until < at, J.c.plan_lease_until.is_(None)
               & (J.c.updated_at < at - timedelta(seconds=LEASE)))


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
    renewed = conn.execute(_RENEW, {"b_job": job, "b_token": token,
                                    "b_until": now() + timedelta(seconds=lease)})
    if renewed.rowcount != 1:
        raise PlanningLost(f"job {job} is no longer planned by this worker (its lease ran "
                           "out and another planner took it, or it moved on)")


def stalled(store: Store) -> list[int]:
    """Jobs planning under a lease that has run out: their planner stopped."""
    query = select(J.c.id).where(J.c.state == "planning", _expired(now())).order_by(J.c.id)
    with store.engine.connect() as conn:
        return [int(job) for job in conn.execute(query).scalars()]


class FencedSink:
    """The job store as a `PlanSink` for a planner holding the lease `token`: each write
    renews the lease, and none is made once the lease is lost."""

    def __init__(self, store: Store, token: str, lease: float = LEASE) -> None:
        self.store, self.token, self.lease = store, token, lease
        self._renewed = time.monotonic()

    def touch(self, job: int) -> None:
        """Renew the lease if a third of it has passed since it was last renewed: a planner
        that is reading, not writing, is still alive (`PlanBuilder` calls this as it goes)."""
        if time.monotonic() - self._renewed >= self.lease / 3:
            with self.store.begin() as conn:
                renew(conn, job, self.token, self.lease)
            self._renewed = time.monotonic()

    def write_batch(self, job: int, header: BatchHeader, changes: list[Change],
                    encoded: bytes) -> None:
        """Store one batch, if the lease is still ours."""
        with self.store.begin() as conn:
            renew(conn, job, self.token, self.lease)
            insert_batch(conn, job, header, encoded)
        self._renewed = time.monotonic()

    def write_rejects(self, job: int, rejects: list[Reject]) -> None:
        """Store rows the plan will not write, if the lease is still ours."""
        with self.store.begin() as conn:
            renew(conn, job, self.token, self.lease)
            insert_rejects(conn, job, rejects)
        self._renewed = time.monotonic()
