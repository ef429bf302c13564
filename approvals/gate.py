"""The approval gate: decisions bound to a plan's digest, and the check before any write.

The gate fails closed: anything it cannot confirm (a missing approval, a digest that does
not match the stored plan, a batch whose rows changed since approval) stops the write.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, insert, select

from agents.plans import bind, plan_digest, read_batch
from agents.uniform import Uniform
from approvals import schema as t
from approvals.errors import ApprovalRefused, ExecutionRefused
from approvals.plan_rows import PlanRows
from approvals.policy import Policy, Requirement
from approvals.store import Job, Store, now
from tools.changes import Change

Verdict = Literal["approve", "reject"]
# Who approved a digest: read before every batch, so built once (see `approvals.schema.one_batch`).
_APPROVERS = select(t.decisions.c.actor).where(
    t.decisions.c.job == bindparam("b_job"), t.decisions.c.verdict == "approve",
    t.decisions.c.digest == bindparam("b_digest"))
_POLICY_APPROVED = _APPROVERS.where(t.decisions.c.door == "policy")


class Decision(BaseModel):
    """Who approved or rejected which plan digest, from which door, when."""

    job: int
    actor: str
    verdict: Verdict
    digest: str
    comment: str | None
    door: str
    at: datetime


class Gate:
    """Takes decisions on plans and authorises execution."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.store, self.policy, self.rows = store, policy, PlanRows(store)
        # Plans whose digest this process has recomputed: (job, digest) -> batch digests.
        # Approvals and state are still read for every batch; only the O(batches) plan
        # check is done once per process.
        self._verified: dict[tuple[int, str], dict[int, str]] = {}

    def decide(self, job: int, actor: str, verdict: Verdict, *, digest: str | None = None,
               comment: str | None = None, door: str = "cli") -> Job:
        """Record a decision; approve moves the job on once enough approvals are in."""
        current = self.store.get(job)
        self._check_decision(current, actor, verdict, digest, comment)
        with self.store.begin() as conn:
            conn.execute(insert(t.decisions).values(
                job=job, actor=actor, verdict=verdict, digest=current.digest,
                comment=comment, door=door, at=now()))
            if verdict == "reject":
                self.store.move(job, "rejected", actor, comment, conn)
            elif len(self._approvers(current, conn)) >= self._requirement(current).approvals:
                self.store.move(job, "approved", actor, comment, conn)
        return self.store.get(job)

    def decisions(self, job: int) -> list[Decision]:
        """Every decision taken on the job, oldest first."""
        query = select(t.decisions).where(t.decisions.c.job == job).order_by(t.decisions.c.id)
        with self.store.engine.connect() as conn:
            return [Decision(**dict(r)) for r in conn.execute(query).mappings()]

    def authorize(self, job: int) -> Job:
        """Confirm the job's stored plan is the one approved; raise `ExecutionRefused` if not."""
        try:
            current = self.store.get(job)
            self._check_approved(current)
            self._check_plan(current)
            return current
        except ExecutionRefused:
            raise
        except Exception as exc:  # the gate fails closed on anything it cannot confirm
            raise ExecutionRefused(f"job {job}: the gate could not confirm it: {exc}") from exc

    def authorize_batch(self, job: Job, batch: int) -> list[Change] | Uniform:
        """The batch's changes, once confirmed to hash to the digest the approval covers
        (a `Uniform` batch where they differ only in key and reason)."""
        approved = self._verified.get((job.job, job.digest or ""), {}).get(batch)
        encoded = self.rows.encoded(job.job, batch)    # the bytes the digest hashes
        if approved is None or hashlib.sha256(encoded).hexdigest() != approved:
            raise ExecutionRefused(
                f"job {job.job} batch {batch}: its changes differ from the approved plan")
        return read_batch(encoded)

    def _check_decision(self, job: Job, actor: str, verdict: Verdict, digest: str | None,
                        comment: str | None) -> None:
        if job.state != "awaiting_approval":
            raise ApprovalRefused(f"job {job.job} is {job.state}, not awaiting approval")
        if digest is not None and digest != job.digest:
            raise ApprovalRefused(
                f"job {job.job}: the plan's digest is {job.digest}, not {digest}; "
                "read the plan again (mops show) before deciding")
        if verdict == "reject":
            if not (comment or "").strip():
                raise ApprovalRefused("a rejection needs a comment saying why")
            return
        if actor == job.requested_by:
            raise ApprovalRefused(
                f"{actor} requested job {job.job} and cannot approve it; ask someone else")
        requirement = self._requirement(job)
        if not self.policy.holds(actor, requirement.role):
            raise ApprovalRefused(f"approving job {job.job} needs the role {requirement.role}")
        with self.store.engine.connect() as conn:
            if actor in self._approvers(job, conn):
                raise ApprovalRefused(f"{actor} has already approved job {job.job}")

    def _approvers(self, job: Job, conn: object) -> set[str]:
        """Distinct valid approvers of the job's current digest."""
        actors = {r.actor for r in conn.execute(  # type: ignore[attr-defined]
            _APPROVERS, {"b_job": job.job, "b_digest": job.digest})}
        role = self._requirement(job).role
        return {a for a in actors if a != job.requested_by and self.policy.holds(a, role)}

    def _policy_approved(self, job: Job, conn: Connection) -> bool:
        found = conn.execute(_POLICY_APPROVED, {"b_job": job.job, "b_digest": job.digest})
        return found.first() is not None

    def _requirement(self, job: Job) -> Requirement:
        if job.requirement is None:
            raise ExecutionRefused(f"job {job.job} has no plan yet")
        return Requirement.model_validate(job.requirement)

    def _check_approved(self, job: Job) -> None:
        if job.state not in ("approved", "running"):
            raise ExecutionRefused(f"job {job.job} is {job.state}, not approved")
        requirement = self._requirement(job)
        with self.store.engine.connect() as conn:
            if requirement.auto:
                if not self._policy_approved(job, conn):
                    raise ExecutionRefused(f"job {job.job} has no approval on its current plan")
                return
            approvers = self._approvers(job, conn)
        if len(approvers) < requirement.approvals:
            raise ExecutionRefused(
                f"job {job.job} has {len(approvers)} of {requirement.approvals} approvals "
                "on its current plan")

    def _check_plan(self, job: Job) -> None:
        if (job.job, job.digest) in self._verified:
            return
        headers = self.rows.headers(job.job)
        scope = {"target": job.target, "params": job.params}
        digest = bind(plan_digest(job.job, job.kind, headers, job.rejects_digest or "", scope),
                      self._requirement(job).model_dump())
        if job.digest is None or digest != job.digest:
            raise ExecutionRefused(f"job {job.job}: the stored plan differs from its digest")
        self._verified[(job.job, digest)] = {h.batch: h.digest for h in headers}
