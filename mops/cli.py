"""The `mops` command line: queue jobs, read plans, decide, roll back, read the log.

Exit codes: 0 done; 1 the request failed (a one-line message on stderr says why);
2 usage error. With `--json`, stdout carries one JSON document and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import kombu.exceptions
import pydantic
import redis.exceptions
import sqlalchemy.exc
import typer

from agents.kinds import UnknownKind
from agents.requests import JobRequest, ListUploadParams
from approvals.errors import ApprovalsError
from approvals.states import STATES
from mops import output
from mops.app import App, UnknownTarget, build
from mops.crm_commands import crm_cli, sandbox_cli
from mops.log_commands import log
from mops.queue_commands import db_cli, wait_for, watch, worker
from mops.views import job_view
from mops.web import serve
from tasks.lifecycle import PlanningFailed
from tools.errors import ToolError

cli = typer.Typer(
    name="mops", no_args_is_help=True, rich_markup_mode="rich",
    help="Marketing-operations jobs you can read before they run and take back after.\n\n"
         "Agents plan; people approve; every write is logged with what it replaced.",
)
cli.add_typer(sandbox_cli, name="sandbox")
cli.add_typer(crm_cli, name="crm")
cli.add_typer(db_cli, name="db")
cli.command(name="log")(log)
cli.command(name="worker")(worker)
cli.command(name="watch")(watch)
cli.command(name="serve")(serve)

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
    except UNREACHABLE as exc:
        output.fail(f"cannot reach the job store: {_first_line(exc)}")
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


@cli.command()
def upload(
    file: Annotated[Path, typer.Argument(help="CSV of leads (comma, semicolon or tab).")],
    list_name: Annotated[str, typer.Option("--list", help="Static list to add rows to.")],
    maps: Annotated[list[str] | None, typer.Option(
        "--map", help="Map a column: HEADER=field (field '-' ignores the column).")] = None,
    target: Annotated[str, typer.Option(help="CRM connection to write to.")] = "sandbox",
    user: AsUser = None, as_json: Json = False, wait: Wait = False,
) -> None:
    """Plan a list upload: create new contacts, update changed ones, add all to a list.

    Example: mops upload expo-leads.csv --list "Expo 2026" --map "Mail=email"
    """
    mapping = dict(_pair(m) for m in maps or [])
    with opened(show_progress=not as_json) as app:
        app.connect(target).close()  # an unknown target fails before a job is made
        request = JobRequest(
            params=ListUploadParams(file=str(file), list=list_name, mapping=mapping),
            requested_by=app.settings.actor(user), target=target)
        with output.err.status("planning…", spinner="dots") if not as_json else _quiet():
            job = app.jobs.request(request)
        report(app, job.job, as_json, wait=wait)
        if not as_json and job.state == "awaiting_approval":
            output.out.print(f"  next: mops show {job.job}, then mops approve {job.job} "
                             "--as <someone else>")


@cli.command()
def jobs(
    state: Annotated[str | None, typer.Option(
        help=f"Only jobs in this state ({', '.join(STATES)}).")] = None,
    as_json: Json = False,
) -> None:
    """List jobs, newest first, with their state and progress.

    Example: mops jobs --state awaiting_approval
    """
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"no state {state!r}; states: {', '.join(STATES)}",
                                 param_hint="--state")
    with opened() as app:
        views = [job_view(app.store, app.runtime.gate, j, rejects=0)
                 for j in app.store.jobs(state=state)]
        for v in views:
            del v["rejects"]
        output.print_json(views) if as_json else output.jobs_table(views)


@cli.command()
def show(
    job: JobId, as_json: Json = False,
    limit: Annotated[int, typer.Option(min=0, help="How many changes and rejects to show.")]
    = 20,
) -> None:
    """Show a job's plan: summary, the changes (before → after) and the rejects.

    Example: mops show 3 --limit 50
    """
    from mops.show import show_plan

    with opened() as app:
        show_plan(app, job, as_json, limit)


@cli.command()
def approve(
    job: JobId, user: AsUser = None,
    comment: Annotated[str | None, typer.Option(help="Why, for the log.")] = None,
    digest: Annotated[str | None, typer.Option(
        help="Approve only if the plan still has this digest (as shown by mops show).")] = None,
    as_json: Json = False, wait: Wait = False,
) -> None:
    """Approve a job's plan; once approvals are complete it runs.

    Example: mops approve 3 --as bob --comment "checked the diff"
    """
    with opened(show_progress=not as_json) as app:
        app.jobs.decide(job, app.settings.actor(user), "approve", digest=digest,
                        comment=comment)
        report(app, job, as_json, wait=wait)


@cli.command()
def reject(
    job: JobId,
    comment: Annotated[str, typer.Option(help="Why the plan is rejected (required).")],
    user: AsUser = None, as_json: Json = False,
) -> None:
    """Reject a job's plan; nothing is written.

    Example: mops reject 3 --as bob --comment "wrong list"
    """
    with opened() as app:
        app.jobs.decide(job, app.settings.actor(user), "reject", comment=comment)
        report(app, job, as_json)


@cli.command()
def rollback(job: JobId, user: AsUser = None, as_json: Json = False,
             wait: Wait = False) -> None:
    """Plan a rollback of a finished job; it is shown and approved like any job.

    Example: mops rollback 3 --as alice   (then: mops approve 4 --as bob)
    """
    with opened() as app:
        planned = app.jobs.rollback(job, app.settings.actor(user))
        report(app, planned.job, as_json, wait=wait)


@cli.command()
def resume(job: JobId, as_json: Json = False, wait: Wait = False) -> None:
    """Run an approved or interrupted job again; batches already done are skipped.

    Example: mops resume 3   (after a crash or Ctrl-C during mops approve)
    """
    with opened(show_progress=not as_json) as app:
        app.jobs.resume(job)
        report(app, job, as_json, wait=wait)


@cli.command()
def demo(
    home: Annotated[Path, typer.Option(help="Where the demo keeps its state (wiped first).")]
    = Path(".mops-demo"),
) -> None:
    """Walk through a whole job, narrated: seed, upload, review, approve, log, roll back."""
    from mops.demo import run_demo

    run_demo(home)


def _pair(text: str) -> tuple[str, str]:
    header, sep, field = text.partition("=")
    if not sep or not header.strip() or not field.strip():
        raise typer.BadParameter(f"--map takes HEADER=field, not {text!r}")
    return header.strip(), field.strip()


@contextmanager
def _quiet() -> Iterator[None]:
    yield


def main() -> None:
    """Entry point of the `mops` command."""
    cli()
