"""The `mops` command line: queue jobs, read plans, decide, roll back, read the log.

Exit codes and `--json` are the same for every command: see `mops.common`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agents.requests import JobRequest, ListUploadParams
from approvals.states import STATES
from mops import output
from mops.chat_command import chat
from mops.common import AsUser, JobId, Json, Wait, opened, report, submit
from mops.connection_commands import connections_cli
from mops.crm_commands import crm_cli, sandbox_cli
from mops.fix_commands import backfill, utm_fix
from mops.log_commands import log
from mops.queue_commands import db_cli, watch, worker
from mops.user_commands import users_cli
from mops.views import job_view
from mops.web import serve

cli = typer.Typer(
    name="mops", no_args_is_help=True, rich_markup_mode="rich",
    help="Marketing-operations jobs you can read before they run and take back after.\n\n"
         "Agents plan; people approve; every write is logged with what it replaced.",
)
cli.add_typer(sandbox_cli, name="sandbox")
cli.add_typer(crm_cli, name="crm")
cli.add_typer(db_cli, name="db")
cli.add_typer(connections_cli, name="connections")
cli.add_typer(users_cli, name="users")
cli.command(name="log")(log)
cli.command(name="worker")(worker)
cli.command(name="watch")(watch)
cli.command(name="serve")(serve)

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
        submit(app, JobRequest(
            params=ListUploadParams(file=str(file), list=list_name, mapping=mapping),
            requested_by=app.settings.actor(user), target=target), as_json, wait)


cli.command(name="utm-fix")(utm_fix)
cli.command(name="backfill")(backfill)
cli.command(name="chat")(chat)


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
    """Run an approved or interrupted job again; batches already done are skipped. A job
    whose planner stopped half-way (its planning lease ran out) is planned again.

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


def main() -> None:
    """Entry point of the `mops` command."""
    cli()
