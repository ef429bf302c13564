"""A stage's batches run in helper processes: the embedded default on more than one core.

Queued, a stage's batches run on many workers at once, and everything a batch does is its
own: it is authorised by the gate, claimed under its own lease, logged ahead, written and
sealed on its own, and the batches of a stage touch different records. The embedded default
does the same with helper processes on this machine: each builds its own runtime (store,
gate, connections) from the app's settings, is handed a run of batches at a time, and runs
each one as `tasks.lifecycle.run_batch` does. Results come back in batch order; the next
stage starts when this one is done.

Only for targets that need no limit shared between processes (the app decides: the
sandbox, a database of its own): a rate limit counted in one process would let two of them
send twice what the vendor allows.

Helpers are spawned (never forked from a process that may hold threads and connections);
the process that starts them must guard its entry point (`if __name__ == "__main__"`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait

from approvals.execute import BatchResult
from tasks.lifecycle import run_batch
from tasks.runtime import Runtime

RUN = 8            # batches handed to a helper at a time (one connection to the target)

_runtime: Runtime | None = None     # a helper's own runtime, made when it starts


def _start(make_runtime: Callable[[], Runtime]) -> None:
    global _runtime
    _runtime = make_runtime()


def _run(job: int, target: str, batches: list[int]) -> list[BatchResult]:
    """In a helper: run `batches` of `job`, in order, on one connection to `target`."""
    if _runtime is None:
        raise RuntimeError("a batch helper was started without a runtime")
    crm = _runtime.connect(target)
    try:
        return [run_batch(_runtime, job, batch, crm=crm) for batch in batches]
    finally:
        crm.close()


class BatchPool:
    """`processes` helpers, started on the first stage handed to them, stopped by `close`.

    `make_runtime` must pickle (a module-level function, or a partial of one): each helper
    calls it once.
    """

    def __init__(self, make_runtime: Callable[[], Runtime], processes: int) -> None:
        self.make_runtime, self.processes = make_runtime, processes
        self._pool: ProcessPoolExecutor | None = None

    def run(self, job: int, target: str, batches: list[int]) -> Iterator[BatchResult]:
        """Run a stage's `batches` in the helpers; each one's result, in batch order.

        If a batch raises, the runs not yet started are dropped, the ones under way are
        waited for, and the error is raised here (a batch left unsealed is run again by
        `mops resume`, once its lease has run out)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start, initargs=(self.make_runtime,))
        pool = self._pool
        runs: list[Future[list[BatchResult]]] = [
            pool.submit(_run, job, target, batches[i:i + RUN])
            for i in range(0, len(batches), RUN)]
        try:
            for done in runs:
                yield from done.result()
        except BaseException:
            for run in runs:
                run.cancel()
            wait(runs)
            raise

    def close(self) -> None:
        """Stop the helpers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
