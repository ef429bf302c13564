"""Writing a uniform batch of memberships by key: one list, one operation, no change per key.

Most of a list upload's changes, and of its rollback, are memberships of one list, read
back from the plan as a `Uniform` batch (its first change, and every line's key). They are
written as `approvals.execute` writes any batch (the before-images first, then the writes),
with what `tools.apply` would decide for each, worked out per key: one read of which keys
are members now, one add or remove call for the keys still to write.
"""

from __future__ import annotations

from agents.uniform import Uniform
from approvals.ledger import Entry, Status
from tools.changes import MEMBER_IN
from tools.sheet import Target, as_crm

Outcome = tuple[int, Status, str | None]


def is_members(batch: Uniform) -> bool:
    """Whether a uniform batch is memberships, written here by key."""
    first = batch.first
    return first.object == "list_membership" and first.op in ("add_member", "remove_member")


def settle_keys(target: Target, batch: Uniform,
                ) -> tuple[list[Entry], list[Outcome], list[tuple[int, str]]]:
    """Each line's entry (its before-image: a member or not), the outcome of each line that
    needs no write, and the (seq, key) of those still to write. For a batch's first run
    only: its entries are all new (a run after that goes change by change).

    As `tools.apply.settle` has it for a membership, presence is the whole state: a key
    already where the change would put it is done; any other is written. A list named None
    is read as "", as `tools.apply` reads it; the entries keep the name as planned."""
    first = batch.first
    op, obj, list_name, after = first.op, first.object, first.list_name, first.after
    present = as_crm(target).list_members(list_name or "", batch.keys)
    adding = op == "add_member"
    entries: list[Entry] = []
    done: list[Outcome] = []
    to_write: list[tuple[int, str]] = []
    for seq, key in enumerate(batch.keys):
        member = key in present
        # The before-image is what the record held: a member, or not (None), as `observe`
        # tells it. (The block only serialises entries, never changes them: one dict,
        # `MEMBER_IN` itself, serves every entry.)
        entries.append((seq, op, obj, key, list_name, MEMBER_IN if member else None, after))
        if member is adding:
            done.append((seq, "applied", None))
        else:
            to_write.append((seq, key))
    return entries, done, to_write


def write_keys(target: Target, batch: Uniform,
               to_write: list[tuple[int, str]]) -> list[Outcome]:
    """Add or remove the keys in one call; each one's outcome (seq, status, error), from
    the results as `tools.apply.apply` reads them. A `SystemFault` is the caller's to settle
    (`approvals.execute` reads the records again)."""
    crm, first = as_crm(target), batch.first
    name, keys = first.list_name or "", [key for _, key in to_write]
    results = (crm.add_members(name, keys) if first.op == "add_member"
               else crm.remove_members(name, keys))
    by_key = {r.key: r for r in results}
    outcomes: list[Outcome] = []
    for seq, key in to_write:
        r = by_key.get(key)
        if r is None:
            outcomes.append((seq, "failed", "no result"))
        else:
            outcomes.append((seq, "applied" if r.ok else "failed", r.error))
    return outcomes
