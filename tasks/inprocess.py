"""The embedded default: a job's tasks run in this process, one after another; a large
stage's batches may run in helper processes (`tasks.batch_pool`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from approvals.errors import ExecutionRefused
from approvals.execute import BatchResult
from approvals.store import Job
from tasks.batch_pool import BatchPool
from tasks.lifecycle import finish_job, halt_job, plan_job, run_batch, start_job
from tasks.runtime import Runtime

# Called after each batch with (job, changes done, changes in the plan).
Progress = Callable[[int, int, int], None]

MIN_BATCHES = 16     # a stage smaller than this runs here: starting helpers costs ~1 s


@dataclass(frozen=True)
class Helpers:
    """Helper processes for large stages: how many, how each makes its runtime, and which
    targets may take batches from several processes at once."""

    processes: int
    make_runtime: Callable[[], Runtime]
    shareable: Callable[[str], bool]

    def take(self, target: str, batches: int) -> bool:
        """Whether a stage of `batches` on `target` runs in the helpers."""
        return self.processes > 0 and batches >= MIN_BATCHES and self.shareable(target)


class InProcessRunner:
    """Runs the same steps the Celery tasks run, here and now."""

    def __init__(self, rt: Runtime, progress: Progress | None = None,
                 helpers: Helpers | None = None) -> None:
        self.rt, self.progress, self.helpers = rt, progress, helpers

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
        pool: BatchPool | None = None
        try:
            for stage in stages:
                results: Iterable[BatchResult]
                if self.helpers and self.helpers.take(current.target, len(stage)):
                    pool = pool or BatchPool(self.helpers.make_runtime,
                                             self.helpers.processes)
                    results = pool.run(job, current.target, stage)
                else:
                    results = (run_batch(self.rt, job, batch, crm=crm) for batch in stage)
                for result in results:
                    done += result.applied + result.failed
                    if self.progress:
                        self.progress(job, done, total)
        except ExecutionRefused as refused:
            halt_job(self.rt, job, str(refused))
            raise
        finally:
            crm.close()
            if pool is not None:
                pool.close()
        return finish_job(self.rt, job)
