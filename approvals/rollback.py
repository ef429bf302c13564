"""Rollback as a job kind: planned from the ledger, then shown, gated and logged like any.

For every change a job applied, the inverse: delete what was created, restore what was
updated, remove memberships that were added, delete lists that were created. A value that
someone changed after the job wrote it is not overwritten: it becomes a `conflict` in the
plan's rejects, for a person to look at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any, TypeVar

from agents.kinds import PlanContext, Services
from agents.plans import Reject
from agents.requests import RollbackParams
from approvals import chain
from approvals.errors import NothingToRollBack
from approvals.store import Store
from tools.apply import observe
from tools.changes import MEMBER_IN, Change, FieldValues
from tools.records import Record

T = TypeVar("T")
ROLLBACKABLE = ("succeeded", "partially_failed", "failed")
# Stages undo in the reverse order of the upload: memberships, then contacts, then lists.
STAGE = {"list_membership": 0, "contact": 1, "list": 2, "link": 0}


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
        applied = (row for rows in chain.checked_batches(self.store, params.of_job, verified)
                   for row in rows if row["status"] == "applied")
        position, lists, removing = 0, [], Counter[str]()
        for chunk in _chunks(applied, 1000):
            inverses = [inverse_of(row) for row in chunk]
            records, current = _observe(ctx, inverses)
            for inv, now in zip(inverses, current, strict=True):
                position += 1
                added = _filled_since(inv, records)
                if added:
                    _conflict(ctx, params.of_job, position, inv, now, added)
                    continue
                if inv.object == "list":          # decided last: see _delete_lists
                    lists.append((position, inv, now))
                    continue
                if inv.op == "remove_member" and now is not None:
                    removing[inv.list_name or ""] += 1
                _propose(ctx, params.of_job, position, inv, now)
        if not verified.ok:   # a rollback planned from a forged log could delete anything
            raise NothingToRollBack(f"job {params.of_job}'s ledger fails verification: "
                                    + "; ".join(verified.problems[:3]))
        _delete_lists(ctx, params.of_job, lists, removing)


def inverse(change: Change, before: FieldValues | None) -> Change:
    """The change that undoes `change`, whose record held `before` when it was written."""
    return inverse_of({"op": change.op, "object": change.object, "key": change.key,
                       "list_name": change.list_name, "after": change.after, "before": before})


def inverse_of(entry: Mapping[str, Any]) -> Change:
    """The change that undoes a ledger entry (`op`, `object`, `key`, `list_name`, `after`,
    and `before`: what its record held when it was written)."""
    op, obj, key, after = entry["op"], entry["object"], entry["key"], entry["after"]
    reason = f"undo {op}"
    if op == "create":
        return Change(op="delete", object=obj, key=key, before=after, reason=reason)
    if op == "delete":
        return Change(op="create", object=obj, key=key, after=entry["before"], reason=reason)
    if op == "add_member":
        return Change(op="remove_member", object=obj, key=key, list_name=entry["list_name"],
                      before=dict(MEMBER_IN), reason=reason)
    if op == "remove_member":
        return Change(op="add_member", object=obj, key=key, list_name=entry["list_name"],
                      after=dict(MEMBER_IN), reason=reason)
    if op != "update":
        raise ValueError(f"a ledger entry with an unknown op: {op!r}")
    before = entry["before"] or {}
    return Change(op="update", object=obj, key=key, before=after,
                  after={f: before.get(f) for f in after or {}}, reason=reason)


def _observe(ctx: PlanContext, inverses: list[Change],
             ) -> tuple[dict[str, Record], list[FieldValues | None]]:
    """What `observe` says of each inverse, and the whole records of the contacts that
    would be deleted (for `_filled_since`): those are read once, for both."""
    deleting = [i for i, inv in enumerate(inverses) if _deletes_contact(inv)]
    if not deleting:
        return {}, observe(ctx.target, inverses)
    records = ctx.crm.read_contacts([inverses[i].key for i in deleting])
    current: list[FieldValues | None] = [None] * len(inverses)
    for i in deleting:
        inv, record = inverses[i], records.get(inverses[i].key)
        names = set(inv.after or {}) | set(inv.before or {})     # as `observe` reads it
        current[i] = None if record is None else {f: record.fields.get(f) for f in names}
    others = [i for i, inv in enumerate(inverses) if not _deletes_contact(inv)]
    if others:
        seen = observe(ctx.target, [inverses[i] for i in others])
        for i, now in zip(others, seen, strict=True):
            current[i] = now
    return records, current


def _deletes_contact(inv: Change) -> bool:
    return inv.op == "delete" and inv.object == "contact"


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
    if kept:
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
