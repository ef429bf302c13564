"""`mops log`: what was done, by whom and when; `--verify` checks the ledger's chain."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

import typer
from rich.table import Table

from approvals import chain, ledger
from mops import output
from mops.views import entry_view


def log(
    job: Annotated[int | None, typer.Argument(help="Only this job.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Recompute the ledger's hash chain; exit 1 if it was tampered with.")]
    = False,
    limit: Annotated[int | None, typer.Option(help="At most this many writes.")] = None,
) -> None:
    """What was done, by whom, when: state changes, decisions and every write.

    Example: mops log 3 --verify
    """
    from mops.common import opened

    with opened() as app:
        if verify:
            _verify(app, job, as_json)
            return
        events = _events(app, job) + [entry_view(e) for e in
                                      islice(ledger.entries(app.store, job), limit)]
        if as_json:
            output.print_json(events)
        else:
            _table(events)


def _events(app: Any, job: int | None) -> list[dict[str, Any]]:
    jobs = [app.store.get(job)] if job is not None else list(reversed(app.store.jobs()))
    events: list[dict[str, Any]] = []
    for j in jobs:
        start = len(events)
        for h in app.store.history(j.job):
            events.append({"type": "transition", "job": j.job, "from": h["from_state"],
                           "to": h["to_state"], "actor": h["actor"], "note": h["note"],
                           "at": h["at"].isoformat()})
        for d in app.runtime.gate.decisions(j.job):
            events.append({"type": "decision", "job": j.job, "actor": d.actor,
                           "verdict": d.verdict, "digest": d.digest, "door": d.door,
                           "comment": d.comment, "at": d.at.isoformat()})
        events[start:] = sorted(events[start:], key=lambda e: e["at"])  # stable: ties keep order
    return events


def _verify(app: Any, job: int | None, as_json: bool) -> None:
    result = chain.verify(app.store, job)
    summary = {"ok": result.ok, "entries": result.entries, "batches": result.batches,
               "jobs": result.jobs, "head": result.head, "problems": result.problems}
    if as_json:
        output.print_json(summary)
    elif result.ok:
        output.out.print(f"ledger ok: {result.entries} entries in {result.batches} batches "
                         f"of {result.jobs} sealed jobs verified; chain head {result.head} "
                         "(keep it elsewhere: a later --verify against it shows truncation)")
    if not result.ok:
        output.fail("ledger tampered with: " + "; ".join(result.problems[:5]))


def _table(events: list[dict[str, Any]]) -> None:
    table = Table("job", "at", "who / status", "what")
    for e in events:
        if e["type"] == "transition":
            what = f"{e['from'] or '—'} → {e['to']}" + (f" ({e['note']})" if e["note"] else "")
            table.add_row(str(e["job"]), e["at"][:19], e["actor"], what)
        elif e["type"] == "decision":
            table.add_row(str(e["job"]), e["at"][:19], e["actor"],
                          f"{e['verdict']}d digest {e['digest'][:12]}…")
        else:
            change = ", ".join(f"{f}: {output.show_value((e['before'] or {}).get(f))} → "
                               f"{output.show_value(v)}" for f, v in (e["after"] or {}).items())
            what = f"{e['op']} {e['key']}" + (f" in {e['list']}" if e["list"] else "")
            table.add_row(str(e["job"]), e["at"][:19], e["status"],
                          f"{what} {change}" + (f" [red]{e['error']}[/]" if e["error"] else ""))
    output.out.print(table)
