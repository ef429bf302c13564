"""Applying changes through a `CRM`, and telling what a change's record holds now.

`observe` reads the current values of the fields each change touches; `settle` compares them
with the change's `before` and `after` so a write is made only where the record still holds
`before` (and recognised as done where it already holds `after`). That one comparison makes
re-running a batch safe and lets an interrupted write be settled by reading the record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from tools.changes import MEMBER_IN, Change, FieldValues
from tools.crm import CRM
from tools.errors import ToolError
from tools.records import Record, WriteResult
from tools.sheet import Target, as_crm, as_sheet

Verdict = Literal["apply", "done", "conflict"]


def observe(target: Target, changes: Sequence[Change]) -> list[FieldValues | None]:
    """For each change, the current values of the fields it touches (None: no such record)."""
    if _links(changes):
        cells = as_sheet(target).read_cells([c.key for c in changes])
        return [cells.get(c.key) for c in changes]
    crm = as_crm(target)
    keys = [c.key for c in changes if c.object == "contact"]
    contacts = crm.read_contacts(keys) if keys else {}
    members = _members(crm, changes)
    out: list[FieldValues | None] = []
    for c in changes:
        if c.object == "contact":
            out.append(touched(c, contacts.get(c.key)))
        elif c.object == "list_membership":
            out.append(dict(MEMBER_IN) if c.key in members[c.list_name or ""] else None)
        else:
            out.append({"name": c.key} if crm.list_exists(c.key) else None)
    return out


def touched(change: Change, record: Record | None) -> FieldValues | None:
    """What `record` holds now of the fields `change` touches (None: no such record)."""
    if record is None:
        return None
    fields, after, before = record.fields, change.after, change.before
    # Most changes name their fields once: a create or a delete on one side, an update the
    # same ones on both.
    names: Iterable[str]
    if not before or (after and after.keys() == before.keys()):
        names = after or ()
    elif not after:
        names = before.keys()
    else:
        names = after.keys() | before.keys()
    return {f: fields.get(f) for f in names}


def settle(change: Change, current: FieldValues | None) -> Verdict:
    """Whether `change` is still to apply, already done, or in conflict with the record."""
    creates = change.op in ("create", "add_member")
    removes = change.op in ("delete", "remove_member")
    if creates and current is None:
        return "apply"
    if removes and current is None:
        return "done"
    if change.object in ("list", "list_membership"):  # presence is the whole state
        return "done" if creates else "apply"
    if matches(current, change.after):
        return "done"
    if change.op != "create" and matches(current, change.before):
        return "apply"
    return "conflict"


def matches(current: FieldValues | None, wanted: FieldValues | None) -> bool:
    """Whether `current` holds every value of `wanted` (empty and absent are the same)."""
    if current is None or wanted is None:
        return current is None and wanted is None
    for f, v in wanted.items():     # a loop, not all(...): a third of the cost per change
        if (current.get(f) or None) != (v or None):
            return False
    return True


def apply(target: Target, changes: Sequence[Change]) -> list[WriteResult]:
    """Write `changes` in bulk, grouped by operation; one result per change, in order."""
    if _links(changes):
        return as_sheet(target).write_cells([(c.key, c.after or {}) for c in changes])
    crm = as_crm(target)
    groups: dict[tuple[str, str, str | None], list[int]] = defaultdict(list)
    for i, c in enumerate(changes):
        groups[(c.op, c.object, c.list_name)].append(i)
    results: list[WriteResult | None] = [None] * len(changes)
    for (op, obj, list_name), idx in groups.items():
        part = [changes[i] for i in idx]
        by_key = {r.key: r for r in _write(crm, op, obj, list_name, part)}
        for i in idx:
            key = changes[i].key
            results[i] = by_key.get(key) or WriteResult(key=key, ok=False, error="no result")
    return [r for r in results if r is not None]


def _write(crm: CRM, op: str, obj: str, list_name: str | None,
           part: list[Change]) -> list[WriteResult]:
    keys = [c.key for c in part]
    if obj == "list":
        return [crm.create_list(k) if op == "create" else crm.delete_list(k) for k in keys]
    if obj == "list_membership":
        name = list_name or ""
        return crm.add_members(name, keys) if op == "add_member" else crm.remove_members(
            name, keys)
    if op == "create":
        return crm.create_contacts([Record(key=c.key, fields=c.after or {}) for c in part])
    if op == "update":
        return crm.update_contacts([(c.key, c.after or {}) for c in part])
    return crm.delete_contacts(keys)


def _links(changes: Sequence[Change]) -> bool:
    """Whether `changes` are changes to a sheet's links (a batch never mixes the two)."""
    links = sum(c.object == "link" for c in changes)
    if links and links != len(changes):
        raise ToolError("a batch mixes links with CRM records")
    return bool(links)


def _members(crm: CRM, changes: Sequence[Change]) -> dict[str, set[str]]:
    wanted: dict[str, list[str]] = defaultdict(list)
    for c in changes:
        if c.object == "list_membership":
            wanted[c.list_name or ""].append(c.key)
    found: dict[str, set[str]] = defaultdict(set)
    for name, keys in wanted.items():
        found[name] = crm.list_members(name, keys)
    return found
