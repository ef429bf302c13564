"""Printing for the CLI: JSON on stdout for scripts, Rich tables for people, errors on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def print_json(value: Any) -> None:
    """Print one JSON document and nothing else on stdout."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error on stderr and exit with `code`."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise SystemExit(code)


def show_value(value: str | None) -> str:
    """A field value as a person reads it in a diff: empty is shown as ∅."""
    return "∅" if value in (None, "") else str(value)


def job_panel(view: dict[str, Any]) -> None:
    """A job's header: state, who asked, what the plan does, what it needs."""
    state = view["state"]
    out.print(f"[bold]job {view['job']}[/] · {view['kind']} · [bold]{state}[/] · "
              f"requested by {view['requested_by']} · target {view['target']}")
    summary = ", ".join(f"{k} {v}" for k, v in view["summary"].items() if v)
    out.print(f"  plan: {summary or 'nothing to do'}")
    if view["digest"]:
        out.print(f"  digest: {view['digest']}", highlight=False)
    progress = view["progress"]
    if state in ("running", "succeeded", "partially_failed", "failed", "rolled_back"):
        out.print(f"  progress: {progress['applied']} applied, {progress['failed']} failed "
                  f"of {progress['total']}")
    for note in view["notes"]:
        out.print(f"  [yellow]note:[/] {note}", highlight=False)
    if view["error"]:
        out.print(f"  [red]error:[/] {view['error']}", highlight=False)
    for d in view["decisions"]:
        out.print(f"  {d['verdict']}d by {d['actor']} ({d['door']}, {d['at'][:19]})"
                  + (f": {d['comment']}" if d["comment"] else ""), highlight=False)


def jobs_table(views: list[dict[str, Any]]) -> None:
    """Jobs, one row each."""
    table = Table("job", "kind", "state", "requested by", "plan", "progress", "created")
    for v in views:
        plan = ", ".join(f"{k} {n}" for k, n in v["summary"].items() if n)
        p = v["progress"]
        table.add_row(str(v["job"]), v["kind"], v["state"], v["requested_by"], plan,
                      f"{p['applied'] + p['failed']}/{p['total']}", v["created_at"][:19])
    out.print(table)


def rejects_table(rejects: list[dict[str, Any]], total: int) -> None:
    """Rows the plan will not write, and why."""
    if not rejects:
        return
    table = Table("row", "kind", "field", "value", "reason", title=f"rejects ({total})")
    for r in rejects:
        table.add_row(str(r["row"]), r["kind"], r["field"] or "", show_value(r["value"]),
                      r["reason"])
    out.print(table)


@contextmanager
def progress_bar() -> Iterator[Callable[[int, int, int], None]]:
    """A progress bar on stderr; yields `advance(job, done, total)` for the runner to call."""
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(), console=err,
                  transient=True) as bar:
        tasks: dict[int, Any] = {}

        def advance(job: int, done: int, total: int) -> None:
            if job not in tasks:
                tasks[job] = bar.add_task(f"job {job}: writing", total=total)
            bar.update(tasks[job], completed=done)

        yield advance
