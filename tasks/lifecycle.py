"""The steps of a job's life: plan it, execute its batches, finish it.

Each step is a plain function of a `Runtime` and a job id, so the same code runs in-process
(the embedded default) and inside Celery tasks on workers.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from agents.kinds import PlanContext
from agents.plans import Plan, PlanBuilder, bind
from approvals import chain, plan_lease
from approvals import schema as t
from approvals.errors import ApprovalsError
from approvals.execute import BatchResult, execute_batch
from approvals.plan_rows import drop_plan
from approvals.policy import Requirement
from approvals.states import State
from approvals.store import Job, now
from tasks.runtime import Runtime
from tools.errors import InputError
from tools.readonly import read_only
from tools.sheet import Target

SYSTEM = "mops"
_RELEASED = {"plan_token": None, "plan_lease_until": None}   # planning over: no lease


class PlanningFailed(Exception):
    """Planning stopped on bad input or a refused request; the job is `failed`."""


def plan_job(rt: Runtime, job_id: int, lease: float = plan_lease.LEASE) -> Job:
    """Plan a queued job (or one whose planner stopped: see `approvals.plan_lease`); it ends
    awaiting approval, or approved when policy allows."""
    job = rt.store.get(job_id)
    token = plan_lease.claim(rt.store, job_id, SYSTEM, lease)
    sink = plan_lease.FencedSink(rt.store, token, lease)
    builder = PlanBuilder(job_id, job.kind, sink, rt.batch_size,
                          scope={"target": job.target, "params": job.params},
                          heartbeat=lambda: sink.touch(job_id))
    try:
        crm = rt.connect(job.target)
        try:
            kind = rt.kinds.get(job.kind)
            # A planner reads and proposes: it gets a view that refuses writes.
            kind.plan(rt.kinds.parse_params(job.params),
                      PlanContext(job_id, read_only(crm), builder))
            plan = builder.finish()
        finally:
            crm.close()
        requirement = rt.policy.requirement(plan)
        plan = plan.model_copy(update={"digest": bind(plan.digest, requirement.model_dump())})
    except plan_lease.PlanningLost:
        raise                       # another planner has the job now: its plan is theirs
    except Exception as exc:  # bad input, or the CRM failing: the job fails, nothing is kept
        message = str(exc) if isinstance(exc, InputError | ApprovalsError) else (
            f"{type(exc).__name__}: {exc}")
        with rt.store.begin() as conn:
            plan_lease.renew(conn, job_id, token, lease)     # only while it is ours
            drop_plan(conn, job_id)
            rt.store.move(job_id, "failed", SYSTEM, "planning failed", conn, error=message,
                          **_RELEASED)
        raise PlanningFailed(message) from exc
    _record(rt, plan, requirement, token, lease)
    rt.notify(job_id)
    return rt.store.get(job_id)


def _record(rt: Runtime, plan: Plan, requirement: Requirement, token: str,
            lease: float) -> None:
    """Store a finished plan and move its job on (approved, if policy says so), only while
    the planner still holds the job's lease."""
    job_id = plan.job
    with rt.store.begin() as conn:
        plan_lease.renew(conn, job_id, token, lease)
        rt.store.record_plan(plan, requirement.model_dump(), conn)
        if requirement.auto:
            actor = f"policy:{requirement.rule}"
            conn.execute(insert(t.decisions).values(
                job=job_id, actor=actor, verdict="approve", digest=plan.digest,
                comment="auto-approved by policy", door="policy", at=now()))
            rt.store.move(job_id, "approved", actor, "auto-approved by policy", conn,
                          **_RELEASED)
        else:
            rt.store.move(job_id, "awaiting_approval", SYSTEM,
                          f"needs {requirement.approvals} approval(s)", conn, **_RELEASED)


def start_job(rt: Runtime, job_id: int) -> list[list[int]]:
    """Check the gate and mark the job running; return its batches, stage by stage."""
    job = rt.gate.authorize(job_id)
    if job.state == "approved":
        rt.store.move(job_id, "running", SYSTEM)
        rt.notify(job_id)
    stages: dict[int, list[int]] = {}
    for header in rt.rows.headers(job_id):
        stages.setdefault(header.stage, []).append(header.batch)
    return [stages[s] for s in sorted(stages)]


def run_batch(rt: Runtime, job_id: int, batch: int, lease: float = 600.0,
              crm: Target | None = None) -> BatchResult:
    """Execute one batch of a running job (idempotent), on `crm` or a connection of its own."""
    job = rt.gate.authorize(job_id)
    own = crm is None
    crm = rt.connect(job.target) if crm is None else crm
    try:
        return execute_batch(rt.store, rt.gate, crm, job, batch, lease)
    finally:
        if own:
            crm.close()


def finish_job(rt: Runtime, job_id: int) -> Job:
    """Seal the job's ledger and set its final state from its batches' outcomes."""
    job = rt.store.get(job_id)
    with rt.store.begin() as conn:
        applied, failed, pending = conn.execute(select(
            func.coalesce(func.sum(t.batches.c.applied), 0),
            func.coalesce(func.sum(t.batches.c.failed), 0),
            func.count().filter(t.batches.c.state != "sealed"),
        ).where(t.batches.c.job == job_id)).one()
        if pending:
            raise RuntimeError(f"job {job_id} still has {pending} batch(es) to run")
        chain.seal_job(conn, job_id)
        state: State = "succeeded" if not failed else ("failed" if not applied else
                                                "partially_failed")
        rt.store.move(job_id, state, SYSTEM, f"{applied} applied, {failed} failed", conn)
        if job.kind == "rollback" and state == "succeeded":   # in the same transaction
            original = int(job.params["of_job"])
            rt.store.move(original, "rolled_back", job.requested_by,
                          f"undone by job {job_id}", conn)
    rt.notify(job_id)
    return rt.store.get(job_id)


def halt_job(rt: Runtime, job_id: int, reason: str) -> None:
    """Stop a running job the gate no longer lets write: it ends `failed` with the reason,
    so what it did write can be rolled back."""
    if rt.store.get(job_id).state == "running":
        rt.store.move(job_id, "failed", SYSTEM, "stopped by the gate", error=reason)
        rt.notify(job_id)
