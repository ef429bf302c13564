"""Rollback as a job kind: planned from the ledger, then shown, gated and logged like any.

For every change a job applied, the inverse: delete what was created, restore what was
updated, remove memberships that were added, delete lists that were created. A value that
someone changed after the job wrote it is not overwritten: it becomes a `conflict` in the
plan's rejects, for a person to look at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar, cast, get_args

from agents.kinds import PlanContext, Services
from agents.plans import Reject
from agents.requests import RollbackParams
from approvals import chain
from approvals.errors import NothingToRollBack
from approvals.ledger import Entry
from approvals.store import Store
from tools.apply import observe, touched
from tools.changes import MEMBER_IN, Change, FieldValues, ObjectType, Op
from tools.collector import paused
from tools.records import Record

T = TypeVar("T")
ROLLBACKABLE = ("succeeded", "partially_failed", "failed")
# Stages undo in the reverse order of the upload: memberships, then contacts, then lists.
STAGE = {"list_membership": 0, "contact": 1, "list": 2, "link": 0}
CHUNK = 1000      # entries planned together: one read of their records, one pause of the gc


class RollbackKind:
    """Plans the inverse of a job's applied changes."""

    name = "rollback"
    params = RollbackParams

    def __init__(self, services: Services) -> None:
        self.store: Store = services.store

    def check(self, of_job: int) -> None:
        """Refuse a rollback of a job that has written nothing that can be undone."""
        job = self.store.get(of_job)
        if job.state not in ROLLBACKABLE:
            raise NothingToRollBack(
                f"job {of_job} is {job.state}; only a finished job can be rolled back")

    def plan(self, params: RollbackParams, ctx: PlanContext) -> None:
        """Propose the inverse of every applied change of `params.of_job`.

        The ledger is verified in the same pass that reads it; a plan made from a ledger
        that fails verification is refused at the end of the pass (and dropped: planning
        writes nothing to the CRM).
        """
        self.check(params.of_job)
        verified = chain.Verification()
        applied = (entry for entries in chain.applied_batches(self.store, params.of_job,
                                                              verified)
                   for entry in entries)
        undo, chunks = _Undo(ctx, params.of_job), _chunks(applied, CHUNK)
        while True:
            with paused():        # a chunk's objects are scanned once, when it is done
                chunk = next(chunks, None)
                if chunk is None:
                    break
                undo.plan_chunk(chunk)
        if not verified.ok:   # a rollback planned from a forged log could delete anything
            raise NothingToRollBack(f"job {params.of_job}'s ledger fails verification: "
                                    + "; ".join(verified.problems[:3]))
        _delete_lists(ctx, params.of_job, undo.lists, undo.removing)


@dataclass
class _Undo:
    """One pass of planning over a job's applied entries, a chunk at a time: the entries'
    positions, and what `_delete_lists` decides on at the end."""

    ctx: PlanContext
    of_job: int
    position: int = 0
    lists: list[tuple[int, Change, FieldValues | None]] = field(default_factory=list)
    removing: Counter[str] = field(default_factory=Counter)    # members removed, by list

    def plan_chunk(self, entries: list[Entry]) -> None:
        """Propose the inverses of a chunk of entries (or report their conflicts), with one
        read of the records they touch."""
        ctx, of_job = self.ctx, self.of_job
        inverses = inverses_of(entries)
        records, current = _observe(ctx, inverses)
        for inv, now in zip(inverses, current, strict=True):
            self.position += 1
            added = _filled_since(inv, records)
            if added:
                _conflict(ctx, of_job, self.position, inv, now, added)
                continue
            if inv.object == "list":          # decided last: see _delete_lists
                self.lists.append((self.position, inv, now))
                continue
            if inv.op == "remove_member" and now is not None:
                self.removing[inv.list_name or ""] += 1
            _propose(ctx, of_job, self.position, inv, now)


def inverse_of(entry: Entry) -> Change:
    """The change that undoes a ledger entry, whose record held the entry's `before` when it
    was written.

    Membership values are copies of `MEMBER_IN`: a change keeps the dict it is given.
    """
    _, op, kind, key, list_name, before, after = entry
    obj = cast(ObjectType, kind)
    reason = _REASONS.get(op, "")
    if op == "create":
        return Change("delete", obj, key, after, None, None, reason)
    if op == "add_member":
        return Change("remove_member", obj, key, dict(MEMBER_IN), None, list_name, reason)
    if op == "update":
        held = before or {}
        return Change("update", obj, key, after, {f: held.get(f) for f in after or {}}, None,
                      reason)
    if op == "delete":
        return Change("create", obj, key, None, before, None, reason)
    if op == "remove_member":
        return Change("add_member", obj, key, None, dict(MEMBER_IN), list_name, reason)
    raise ValueError(f"a ledger entry with an unknown op: {op!r}")


def inverses_of(entries: list[Entry]) -> list[Change]:
    """`inverse_of` each entry, in order. (Made in code, as any planner's changes: their
    values are validated where the plan is read back, by the gate.)"""
    return [inverse_of(entry) for entry in entries]


_REASONS = {op: f"undo {op}" for op in get_args(Op)}


def _observe(ctx: PlanContext, inverses: list[Change],
             ) -> tuple[dict[str, Record], list[FieldValues | None]]:
    """What `observe` says of each inverse, and the whole records of the chunk's contacts
    (for `_filled_since`): the contacts are read once, in one call, for both."""
    keys = [inv.key for inv in inverses if inv.object == "contact"]
    if not keys:
        return {}, observe(ctx.target, inverses)
    records = ctx.crm.read_contacts(keys)
    current: list[FieldValues | None] = [None] * len(inverses)
    others: list[int] = []
    for i, inv in enumerate(inverses):
        if inv.object == "contact":
            current[i] = touched(inv, records.get(inv.key))
        else:
            others.append(i)
    if others:
        seen = observe(ctx.target, [inverses[i] for i in others])
        for i, now in zip(others, seen, strict=True):
            current[i] = now
    return records, current


def _filled_since(inv: Change, records: dict[str, Record]) -> list[str]:
    """Undoing a create deletes the whole record: the fields someone filled in after the job
    (which would be lost with it) make it a conflict."""
    if inv.op != "delete" or inv.object != "contact":
        return []
    record = records.get(inv.key)
    if record is None:
        return []
    return sorted(f for f, v in record.fields.items() if v and f not in (inv.before or {}))


def _delete_lists(ctx: PlanContext, of_job: int,
                  lists: list[tuple[int, Change, FieldValues | None]],
                  removing: Counter[str]) -> None:
    """Delete a list the job created only if it holds nothing but the members we remove:
    a list someone has added members to since is theirs too, and is kept."""
    for position, inv, now in lists:
        if inv.op != "delete":
            _propose(ctx, of_job, position, inv, now)
            continue
        others = ctx.crm.count_members(inv.key) - removing[inv.key]
        if others > 0:
            ctx.plan.reject([Reject(
                row=position, kind="conflict", field="list",
                reason=f"list {inv.key!r} has {others} member(s) added after job {of_job}; "
                       "it is kept (its members from the job are removed)")])
        else:
            _propose(ctx, of_job, position, inv, now)


def _propose(ctx: PlanContext, of_job: int, position: int, inv: Change,
             now: FieldValues | None) -> None:
    stage = STAGE[inv.object]
    if inv.op in ("remove_member", "delete") and now is None:
        ctx.plan.count("already_undone")
    elif inv.op == "add_member" and now is not None:
        ctx.plan.count("already_undone")
    elif inv.op == "update":
        _restore_fields(ctx, of_job, position, inv, now, stage)
    elif inv.object == "contact" and inv.op == "delete" and not _holds(now, inv.before):
        _conflict(ctx, of_job, position, inv, now, _changed_fields(now, inv.before))
    else:
        ctx.plan.add(stage, inv)


def _restore_fields(ctx: PlanContext, of_job: int, position: int, inv: Change,
                    now: FieldValues | None, stage: int) -> None:
    """Restore the fields that still hold what the job wrote; report the others."""
    if now is None:
        _conflict(ctx, of_job, position, inv, now, list(inv.before or {}))
        return
    wrote = inv.before or {}
    kept = [f for f, v in wrote.items() if (now.get(f) or None) == (v or None)]
    moved = [f for f in wrote if f not in kept]
    if kept and not moved:      # the usual case: the whole inverse, as it is
        ctx.plan.add(stage, inv)
    elif kept:
        ctx.plan.add(stage, inv.model_copy(update={
            "before": {f: wrote[f] for f in kept},
            "after": {f: (inv.after or {}).get(f) for f in kept}}))
    if moved:
        _conflict(ctx, of_job, position, inv, now, moved)


def _conflict(ctx: PlanContext, of_job: int, position: int, inv: Change,
              now: FieldValues | None, fields: list[str]) -> None:
    if now is None:
        reason = f"{inv.key} no longer exists; job {of_job}'s change is left as it is"
    else:
        shown = ", ".join(f"{f}={now.get(f)!r}" for f in fields)
        reason = (f"{inv.key} was changed after job {of_job} wrote it ({shown}); "
                  "not overwritten")
    ctx.plan.reject([Reject(row=position, reason=reason, field=",".join(fields) or None,
                            kind="conflict")])


def _holds(now: FieldValues | None, wanted: FieldValues | None) -> bool:
    return now is not None and not _changed_fields(now, wanted)


def _changed_fields(now: FieldValues | None, wanted: FieldValues | None) -> list[str]:
    return [f for f, v in (wanted or {}).items()
            if ((now or {}).get(f) or None) != (v or None)]


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, size)):
        yield chunk
