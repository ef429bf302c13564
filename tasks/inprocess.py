"""The embedded default: a job's tasks run in this process, one after another; a large
job's batches may run in helper processes, a stage at a time (`tasks.batch_pool`)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from approvals.errors import ExecutionRefused
from approvals.execute import BatchResult
from approvals.store import Job
from tasks.batch_pool import BatchPool
from tasks.lifecycle import finish_job, halt_job, plan_job, run_batch, start_job
from tasks.runtime import Runtime

# Called after each batch with (job, changes done, changes in the plan).
Progress = Callable[[int, int, int], None]

# A job of fewer changes runs here: starting two helpers costs about 1.6 s of CPU (each
# imports mops and builds its runtime), which a job of 83,000 changes (50,000 rows) did not
# make up for (apply 0.96 s here, 1.7 s in helpers) and one of 332,000 only just did (3.5
# → 3.4 s); a line through the two breaks even near 300,000.
MIN_CHANGES = 300_000


@dataclass(frozen=True)
class Helpers:
    """Helper processes for large stages: how many, how each makes its runtime, and which
    targets may take batches from several processes at once."""

    processes: int
    make_runtime: Callable[[], Runtime]
    shareable: Callable[[str], bool]

    def take(self, target: str, changes: int) -> bool:
        """Whether a job of `changes` on `target` runs its stages in the helpers (each
        stage of more than one batch)."""
        return self.processes > 0 and changes >= MIN_CHANGES and self.shareable(target)


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
        tally = _Tally(job, current.total, self.progress)
        stages = start_job(self.rt, job)
        crm = self.rt.connect(current.target)      # one connection for the whole job
        helpers = self.helpers if self.helpers and self.helpers.take(
            current.target, current.total) else None
        pool = None
        try:
            for stage in stages:
                if helpers and len(stage) > 1:
                    pool = pool or BatchPool(helpers.make_runtime, helpers.processes)
                    try:
                        for result in pool.run(job, current.target, stage):
                            tally.add(result)
                        continue
                    except (BrokenProcessPool, OSError):
                        # A helper died (killed, out of memory) or could not start: the rest
                        # of the job runs here (the other helpers let go of their batches).
                        pool.close()
                        helpers, pool = None, None
                for batch in stage:    # batches sealed already give their result at once
                    tally.add(run_batch(self.rt, job, batch, crm=crm))
        except ExecutionRefused as refused:
            halt_job(self.rt, job, str(refused))
            raise
        finally:
            crm.close()
            if pool is not None:
                pool.close()
        return finish_job(self.rt, job)


@dataclass
class _Tally:
    """Changes done so far, told to `progress` after each batch (each batch counted once)."""

    job: int
    total: int
    progress: Progress | None
    done: int = 0
    counted: set[int] = field(default_factory=set)

    def add(self, result: BatchResult) -> None:
        if result.batch in self.counted:
            return
        self.counted.add(result.batch)
        self.done += result.applied + result.failed
        if self.progress:
            self.progress(self.job, self.done, self.total)
