"""The production path: a job's steps are sent to `mops worker` processes through Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery import Celery

from approvals.store import Job
from tasks.runtime import Runtime


class QueuedRunner:
    """Sends a job's steps to the queue and returns at once; workers do the rest."""

    def __init__(self, rt: Runtime, celery: Celery) -> None:
        self.rt, self.celery = rt, celery

    def plan(self, job: int) -> Job:
        """Queue the planning of a job."""
        self.celery.mops_send("plan", job)
        return self.rt.store.get(job)

    def execute(self, job: int) -> Job:
        """Queue the run of an approved job."""
        self.celery.mops_send("run", job)
        return self.rt.store.get(job)


def start_sweeper(celery: Celery, every: float, stall_after: float,
                  on_error: Callable[[Exception], None]) -> threading.Event:
    """Every `every` seconds, resend work whose message was lost; set the event to stop.

    Runs in the worker's main process. Several workers sweeping at once is harmless: the
    store hands each stage out once and leases each batch to one worker.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                celery.mops_steps().sweep(stall_after)
            except Exception as exc:   # Redis or the store down: try again next round
                on_error(exc)

    threading.Thread(target=loop, name="mops-sweeper", daemon=True).start()
    return stop
