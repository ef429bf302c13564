"""What every `mops` command shares: common options, opening the app with clear errors,
submitting a job request and reporting a job.

Exit codes: 0 done; 1 the request failed (a one-line message on stderr says why);
2 usage error. With `--json`, stdout carries one JSON document and nothing else.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Annotated

import kombu.exceptions
import pydantic
import redis.exceptions
import sqlalchemy.exc
import typer

from agents.kinds import UnknownKind
from agents.requests import JobRequest
from approvals.errors import ApprovalsError
from mops import output
from mops.app import App, UnknownTarget, build
from mops.queue_commands import wait_for
from mops.settings import ConfigError
from mops.views import job_view
from tasks.lifecycle import PlanningFailed
from tools.errors import ToolError

AsUser = Annotated[str | None, typer.Option("--as", help="Who is acting (else MOPS_USER, "
                                            "else the login name).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object, nothing else.")]
JobId = Annotated[int, typer.Argument(help="The job's number.", show_default=False)]
Wait = Annotated[bool, typer.Option(
    "--wait", help="With a broker: wait until the work is done (else return once queued).")]

USER_ERRORS = (ToolError, ApprovalsError, PlanningFailed, UnknownTarget, UnknownKind)
# The store, the broker or a target not answering: one line, not a traceback.
UNREACHABLE = (sqlalchemy.exc.OperationalError, kombu.exceptions.OperationalError,
               redis.exceptions.ConnectionError)


@contextmanager
def opened(show_progress: bool = False) -> Iterator[App]:
    """The app, closed afterwards; a request that fails exits 1 with a one-line message.

    With `show_progress`, a job run in this process draws a progress bar on stderr.
    """
    try:
        app = build()
        # What the app holds lives as long as the command: keep the collector from scanning
        # it again and again while a job makes millions of short-lived objects.
        gc.freeze()
    except UNREACHABLE as exc:
        output.fail(f"cannot reach the job store: {_first_line(exc)}")
        raise
    except ConfigError as exc:
        output.fail(f"configuration: {exc}")
        raise
    try:
        if show_progress:
            with output.progress_bar() as advance:
                app.jobs.runner.progress = advance  # type: ignore[attr-defined]
                yield app
        else:
            yield app
    except USER_ERRORS as exc:
        output.fail(str(exc))
    except pydantic.ValidationError as exc:
        output.fail("invalid request: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), code=2)
    except UNREACHABLE as exc:
        output.fail(f"cannot reach a service mops needs: {_first_line(exc)}")
    finally:
        app.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def report(app: App, job: int, as_json: bool, limit: int = 20, wait: bool = False) -> None:
    """Print a job (after waiting for the queue, if asked): JSON for scripts, a summary for
    people. A job that ended failed or partially failed makes the command exit 1."""
    if wait and app.queued:
        wait_for(app, job, show=not as_json)
    current = app.store.get(job)
    view = job_view(app.store, app.runtime.gate, current, None if as_json else limit)
    if as_json:
        output.print_json(view)
    else:
        output.job_panel(view)
        output.rejects_table(view["rejects"], app.runtime.rows.count_rejects(job))
    if current.state in ("failed", "partially_failed"):
        p = view["progress"]
        output.fail(f"job {job} {current.state.replace('_', ' ')}: {p['failed']} of "
                    f"{p['total']} changes failed" + (f" ({current.error})" if current.error
                                                       else "") + f"; see mops log {job}")



def submit(app: App, request: JobRequest, as_json: bool, wait: bool) -> None:
    """Plan a requested job (a spinner while it plans) and report it, with what to do next."""
    with output.err.status("planning…", spinner="dots") if not as_json else nullcontext():
        job = app.jobs.request(request)
    report(app, job.job, as_json, wait=wait)
    if not as_json and job.state == "awaiting_approval":
        output.out.print(f"  next: mops show {job.job}, then mops approve {job.job} "
                         "--as <someone else>")
