"""Runs approved jobs on a thread of the web process, so a page returns at once and can
show the job's progress while it runs (the in-process default; a broker needs none of it)."""

from __future__ import annotations

import logging
import threading

from approvals.store import Job
from tasks.jobs import Runner
from tasks.runtime import Runtime

log = logging.getLogger("mops.web")


class BackgroundRunner:
    """Plans in the request (its errors are the requester's to see); executes on a thread."""

    def __init__(self, rt: Runtime, inner: Runner) -> None:
        self.rt, self.inner = rt, inner
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def plan(self, job: int) -> Job:
        """Plan the job here and now (a plan policy approves at once also runs here)."""
        return self.inner.plan(job)

    def execute(self, job: int) -> Job:
        """Start running the approved job on a thread; return it as it is now."""
        thread = threading.Thread(target=self._run, args=(job,), name=f"mops-job-{job}",
                                  daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return self.rt.store.get(job)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the jobs this runner started."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _run(self, job: int) -> None:
        try:
            self.inner.execute(job)
        except Exception:    # the job's state and the ledger say what happened; `mops resume`
            log.exception("job %s stopped while running", job)
