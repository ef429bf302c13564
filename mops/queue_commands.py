"""`mops worker`, `mops watch` and `mops db upgrade`: running jobs on the queue."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from approvals.states import FINAL
from approvals.store import Job
from mops import output
from mops.app import App
from mops.views import progress as job_progress
from tasks.queued import start_sweeper

db_cli = typer.Typer(no_args_is_help=True, help="The job store's schema.")
log = logging.getLogger("mops.worker")
# States in which a job waits for a person: watching or waiting stops there.
WAITS_FOR_PEOPLE = frozenset({"awaiting_approval"})


@db_cli.command(name="upgrade")
def db_upgrade() -> None:
    """Create or migrate the job store (MOPS_DATABASE_URL) to the newest schema.

    Example: MOPS_DATABASE_URL=postgresql+psycopg://mops@db/mops mops db upgrade
    """
    from mops.common import opened

    with opened() as app:          # building the app runs the migrations
        output.out.print(f"job store at schema head ({app.store.engine.url.render_as_string()})")


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    queues: Annotated[str | None, typer.Option(
        help="Comma-separated queues to consume (default: MOPS_QUEUE, 'mops').")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker for mops' jobs (needs MOPS_BROKER_URL).

    Example: MOPS_BROKER_URL=redis://127.0.0.1:6379/0 mops worker --concurrency 4
    """
    from mops.common import opened

    with opened() as app:
        if app.celery is None:
            output.fail("mops worker needs MOPS_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
            return
        settings = app.settings
        stop = start_sweeper(app.celery, settings.sweep_every, settings.stall_after,
                             lambda exc: log.warning("sweep failed: %s", exc))
        try:
            app.celery.worker_main([
                "worker", f"--concurrency={concurrency}",
                f"--queues={queues or settings.queue}",
                f"--loglevel={loglevel}", "--without-gossip", "--without-mingle",
            ])
        finally:
            stop.set()


def watch(
    job: Annotated[int, typer.Argument(help="The job's number.")],
    interval: Annotated[float, typer.Option(help="Seconds between looks.")] = 0.5,
) -> None:
    """Show a live progress bar until the job ends (or waits for approval).

    Example: mops watch 7
    """
    from mops.common import opened

    with opened() as app:
        final = wait_for(app, job, interval, show=True)
        output.out.print(f"job {job}: {final.state}")
        if final.state not in ("succeeded", "awaiting_approval"):
            output.fail(f"job {job} ended {final.state}" +
                        (f": {final.error}" if final.error else ""))


def wait_for(app: App, job: int, interval: float = 0.5, show: bool = False) -> Job:
    """Poll the store until the job ends or waits for a person; draw progress if `show`."""
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=output.err,
                  transient=True, disable=not show) as bar:
        task = bar.add_task(f"job {job}", total=None)
        while True:
            current = app.store.get(job)
            done = job_progress(app.store, current)
            bar.update(task, total=done["total"] or None,
                       completed=done["applied"] + done["failed"],
                       description=f"job {job}: {current.state}")
            if current.state in FINAL or current.state in WAITS_FOR_PEOPLE:
                return current
            time.sleep(interval)
