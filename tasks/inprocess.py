"""The embedded default: a job's tasks run in this process, one after another."""

from __future__ import annotations

from collections.abc import Callable

from approvals.errors import ExecutionRefused
from approvals.store import Job
from tasks.lifecycle import finish_job, halt_job, plan_job, run_batch, start_job
from tasks.runtime import Runtime

# Called after each batch with (job, changes done, changes in the plan).
Progress = Callable[[int, int, int], None]


class InProcessRunner:
    """Runs the same steps the Celery tasks run, here and now."""

    def __init__(self, rt: Runtime, progress: Progress | None = None) -> None:
        self.rt, self.progress = rt, progress

    def plan(self, job: int) -> Job:
        """Plan the job; run it too if policy approved it."""
        planned = plan_job(self.rt, job)
        return self.execute(job) if planned.state == "approved" else planned

    def execute(self, job: int) -> Job:
        """Run an approved job's batches, stage after stage, and finish it."""
        current = self.rt.store.get(job)
        total, done = current.total, 0
        stages = start_job(self.rt, job)
        crm = self.rt.connect(current.target)      # one connection for the whole job
        try:
            for stage in stages:
                for batch in stage:
                    result = run_batch(self.rt, job, batch, crm=crm)
                    done += result.applied + result.failed
                    if self.progress:
                        self.progress(job, done, total)
        except ExecutionRefused as refused:
            halt_job(self.rt, job, str(refused))
            raise
        finally:
            crm.close()
        return finish_job(self.rt, job)
