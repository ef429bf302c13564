"""The Celery app: built from settings in one place, with mops' tasks registered on it.

Job state lives in the job store, never in Celery's result backend (there is none): a task
is a nudge ("plan job 7", "run batch 3 of job 7"), and the store says what is left to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery

from tasks.runtime import Runtime
from tasks.steps import Steps


@dataclass(frozen=True)
class QueueSettings:
    """How mops uses the broker. Times are seconds."""

    broker_url: str
    batch_lease: float = 600.0          # longer than any batch takes
    visibility_timeout: float = 3600.0  # longer than the lease (see below)
    queue: str = "mops"


def reliability(settings: QueueSettings) -> dict[str, Any]:
    """Celery settings chosen for long, idempotent batches that must not be lost."""
    return dict(
        # A task is acknowledged after it ran, not when it was received, and a worker
        # process that dies mid-task gets its message requeued: a killed worker's batch is
        # run again, and the ledger makes that second run apply nothing twice.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Redis hands an unacknowledged message to another worker after the visibility
        # timeout. It must exceed the longest batch (the lease), or a live batch would be
        # delivered twice; the lease would then turn the second delivery away.
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        # Batches take seconds: a worker holds one message at a time, so a slow batch
        # never keeps others waiting behind it in a prefetch buffer.
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.queue,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,   # a restarted Redis is waited for, not fatal
        worker_hijack_root_logger=False,
    )


def make_celery(settings: QueueSettings, runtime: Callable[[], Runtime]) -> Celery:
    """A Celery app on `settings.broker_url`; `runtime` builds a Runtime in each process."""
    app = Celery("mops", broker=settings.broker_url, set_as_current=False)
    app.conf.update(reliability(settings))
    cache: dict[int, Steps] = {}

    def steps() -> Steps:
        # One Runtime per process: a forked worker child must not share its parent's
        # database connections.
        pid = os.getpid()
        if pid not in cache:
            cache.clear()
            cache[pid] = Steps(runtime(), send, settings.batch_lease)
        return cache[pid]

    @app.task(name="mops.plan_job")
    def plan_job(job: int) -> None:
        steps().plan(job)

    @app.task(name="mops.run_job")
    def run_job(job: int) -> None:
        steps().run(job)

    @app.task(name="mops.execute_batch")
    def execute_batch(job: int, batch: int) -> None:
        steps().execute(job, batch)

    tasks = {"plan": plan_job, "run": run_job, "execute": execute_batch}

    def send(name: str, *args: int) -> None:
        tasks[name].apply_async(args=args)

    app.mops_send = send  # type: ignore[attr-defined]
    app.mops_steps = steps  # type: ignore[attr-defined]
    return app
