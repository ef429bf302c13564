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
Ctrl-C is this process's to handle: helpers are born with it held back
(`tools.spawning`) and then ignore it; they finish the batch they are on and start no
other. A helper told to stop (the pool terminates the others when one dies) lets go
of its batch's lease on the way out, so the batch can be run again at once.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from multiprocessing.synchronize import Event
from types import FrameType

from approvals.execute import BatchResult
from tasks.lifecycle import run_batch
from tasks.runtime import Runtime
from tools.spawning import SPAWN, ctrl_c_held, helper_pool

RUN = 8            # at most this many batches are handed to a helper at a time (one
                   # connection to the target); fewer where a stage is short, so that
                   # every helper gets some

# A helper's own: its runtime, made when it starts, and the pool's signal to stop.
_runtime: Runtime | None = None
_stop: Event | None = None


def _start(make_runtime: Callable[[], Runtime], stop: Event) -> None:
    global _runtime, _stop
    signal.signal(signal.SIGTERM, _exit)
    _runtime, _stop = make_runtime(), stop


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)   # a batch under way releases its lease (execute_batch)


def _run(job: int, target: str, batches: list[int]) -> list[BatchResult]:
    """In a helper: run `batches` of `job`, in order, on one connection to `target`; stop
    before the next batch once the pool says so."""
    if _runtime is None or _stop is None:
        raise RuntimeError("a batch helper was started without a runtime")
    crm = _runtime.connect(target)
    results = []
    try:
        for batch in batches:
            if _stop.is_set():
                break
            results.append(run_batch(_runtime, job, batch, crm=crm))
        return results
    finally:
        crm.close()


class BatchPool:
    """`processes` helpers, started on the first stage handed to them, stopped by `close`.

    `make_runtime` must pickle (a module-level function, or a partial of one): each helper
    calls it once.
    """

    def __init__(self, make_runtime: Callable[[], Runtime], processes: int) -> None:
        self.make_runtime, self.processes = make_runtime, processes
        self._stop = SPAWN.Event()
        self._pool: ProcessPoolExecutor | None = None

    def run(self, job: int, target: str, batches: list[int]) -> Iterator[BatchResult]:
        """Run a stage's `batches` in the helpers; each one's result, in batch order.

        If a batch raises (or Ctrl-C is pressed), the helpers finish the batches they are
        on and start no other, and the error is raised here."""
        if self._pool is None:
            self._pool = helper_pool(self.processes, _start, (self.make_runtime, self._stop))
        pool = self._pool
        size = max(1, min(RUN, -(-len(batches) // self.processes)))
        with ctrl_c_held():          # submitting starts the helpers
            runs: list[Future[list[BatchResult]]] = [
                pool.submit(_run, job, target, batches[i:i + size])
                for i in range(0, len(batches), size)]
        try:
            for done in runs:
                yield from done.result()
        except BaseException:
            self._stop.set()
            for run in runs:
                run.cancel()
            wait(runs)
            raise

    def close(self) -> None:
        """Stop the helpers (each finishes the batch it is on)."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
