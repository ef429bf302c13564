"""The job service the doors use: request, decide, roll back. Every door goes through here."""

from __future__ import annotations

from typing import Protocol

from agents.requests import JobRequest, RollbackParams, Source
from approvals.errors import NothingToRollBack
from approvals.gate import Verdict
from approvals.store import Job
from tasks.runtime import Runtime


class Runner(Protocol):
    """Runs a job's steps: in this process, or by sending them to workers."""

    def plan(self, job: int) -> Job: ...

    def execute(self, job: int) -> Job: ...


class Jobs:
    """Requests, decisions and rollbacks, with the gate in the middle."""

    def __init__(self, rt: Runtime, runner: Runner) -> None:
        self.rt, self.runner = rt, runner

    def request(self, request: JobRequest) -> Job:
        """Store and plan a job. Bad input leaves no job behind: the error is raised."""
        if isinstance(request.params, RollbackParams):
            self._check_rollback(request.params.of_job, request.target)
        job = self.rt.store.create_job(request)
        try:
            return self.runner.plan(job)
        except BaseException:      # bad input, the queue unreachable, Ctrl-C: no job is left ...
            current = self.rt.store.get(job)
            if current.state in ("queued", "planning") or current.digest is None:
                self.rt.store.forget(job)
            # ... unless it was planned and ran (auto-approved) before failing: what it
            # wrote is in its ledger, and it must stay to be shown and rolled back.
            raise

    def resume(self, job: int) -> Job:
        """Run an approved or interrupted job again; batches already done are skipped. A job
        whose planning never finished (its planner stopped) is planned again."""
        if self.rt.store.get(job).state in ("queued", "planning"):
            return self.runner.plan(job)
        return self.runner.execute(job)

    def decide(self, job: int, actor: str, verdict: Verdict, *, digest: str | None = None,
               comment: str | None = None, door: str = "cli") -> Job:
        """Approve or reject; a job approved by this decision is run."""
        decided = self.rt.gate.decide(job, actor, verdict, digest=digest, comment=comment,
                                      door=door)
        self.rt.notify(job)
        return self.runner.execute(job) if decided.state == "approved" else decided

    def rollback(self, job: int, actor: str, source: Source = "cli") -> Job:
        """Plan a rollback of `job` as a new job; it passes the gate like any other."""
        original = self.rt.store.get(job)
        return self.request(JobRequest(params=RollbackParams(of_job=job), requested_by=actor,
                                       source=source, target=original.target))

    def _check_rollback(self, of_job: int, target: str) -> None:
        self.rt.kinds.get("rollback").check(of_job)  # type: ignore[attr-defined]
        original = self.rt.store.get(of_job).target
        if target != original:
            raise NothingToRollBack(
                f"job {of_job} wrote to {original!r}; its rollback cannot target {target!r}")
        for other in self.rt.store.jobs(kind="rollback"):
            if other.params.get("of_job") == of_job and other.state in (
                    "queued", "planning", "awaiting_approval", "approved", "running"):
                raise NothingToRollBack(
                    f"job {other.job} is already rolling back job {of_job} ({other.state})")
