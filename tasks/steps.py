"""What each queued task does, driven by the store so that redelivery is harmless."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from approvals import leases, plan_lease
from approvals.errors import ApprovalsError, ExecutionRefused
from approvals.execute import BatchBusy
from approvals.store import now
from tasks.lifecycle import PlanningFailed, finish_job, halt_job, plan_job, run_batch, start_job
from tasks.runtime import Runtime

log = logging.getLogger("mops.tasks")
Send = Callable[..., None]   # send(task name, *args): put a task on the queue


class Steps:
    """The queued life of a job: plan, start, run batches stage by stage, finish."""

    def __init__(self, rt: Runtime, send: Send, lease: float) -> None:
        self.rt, self.send, self.lease = rt, send, lease

    def plan(self, job: int) -> None:
        """Plan a queued job; start it if policy approved it."""
        try:
            planned = plan_job(self.rt, job)      # planning has a lease of its own
        except PlanningFailed as exc:
            log.info("job %s: planning failed: %s", job, exc)
            return
        except ApprovalsError as exc:      # a redelivered message for a job already planned
            log.info("job %s: not planned again: %s", job, exc)
            return
        if planned.state == "approved":
            self.send("run", job)

    def run(self, job: int) -> None:
        """Start an approved job and send its first stage."""
        start_job(self.rt, job)
        self.advance(job)

    def execute(self, job: int, batch: int) -> None:
        """Run one batch, then move the job on if its stage is complete."""
        try:
            run_batch(self.rt, job, batch, self.lease)
        except BatchBusy as exc:
            log.info("%s", exc)
            return
        except ExecutionRefused as refused:
            log.warning("%s", refused)
            halt_job(self.rt, job, str(refused))
            return
        self.advance(job)

    def advance(self, job: int) -> None:
        """Send the next stage's batches (once, whoever asks), or finish the job."""
        stage = leases.next_stage(self.rt.store, job)
        if stage is None:
            if self.rt.store.get(job).state == "running":
                try:
                    finish_job(self.rt, job)
                except Exception as exc:    # another worker finished it at the same moment
                    if self.rt.store.get(job).state == "running":
                        raise
                    log.info("job %s finished elsewhere (%s)", job, type(exc).__name__)
            return
        for batch in leases.claim_stage(self.rt.store, job, stage):
            self.send("execute", job, batch)

    def sweep(self, stall_after: float) -> int:
        """Resend work whose message was lost (a restarted Redis); returns how much."""
        sent = 0
        for job, batch in leases.stalled(self.rt.store, stall_after):
            leases.redispatched(self.rt.store, job, batch)
            self.send("execute", job, batch)
            sent += 1
        cutoff = now() - timedelta(seconds=stall_after)
        for running in self.rt.store.jobs(state="running"):
            self.advance(running.job)
        for state, task in (("approved", "run"), ("queued", "plan")):
            for stale in self.rt.store.jobs(state=state):
                if stale.updated_at < cutoff:
                    self.send(task, stale.job)
                    sent += 1
        for job in plan_lease.stalled(self.rt.store):   # its planner stopped half-way
            self.send("plan", job)
            sent += 1
        return sent
