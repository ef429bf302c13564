"""A batch of memberships written by key (`approvals.members`) logs and writes exactly what
the change-by-change path (`tools.apply`: observe, settle, apply) does."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.plans import encode_batch, read_batch
from agents.uniform import Uniform
from approvals import ledger, members
from tests.helpers import snapshot
from tools.apply import apply, observe, settle
from tools.changes import MEMBER_IN, MEMBER_OUT, Change
from tools.records import Record
from tools.sandbox import SandboxCRM

CONTACTS = [f"c{i}@x.example" for i in range(6)]


def _crm(path: Path) -> SandboxCRM:
    """Six contacts; the list "L" holds c1 and c3, the list "Other" holds c2."""
    crm = SandboxCRM(f"sqlite:///{path}")
    crm.create_contacts([Record(key=k, fields={"firstname": k[:2]}) for k in CONTACTS])
    crm.create_list("L")
    crm.create_list("Other")
    crm.add_members("L", [CONTACTS[1], CONTACTS[3]])
    crm.add_members("Other", [CONTACTS[2]])
    return crm


def _batch(op: str, keys: list[str], list_name: str = "L") -> Uniform:
    before, after = (MEMBER_OUT, MEMBER_IN) if op == "add_member" else (MEMBER_IN, None)
    changes = [Change(op, "list_membership", k, None if before is None else dict(before),  # type: ignore[arg-type]
                      None if after is None else dict(after), list_name, f"row {i}")
               for i, k in enumerate(keys)]
    batch = read_batch(encode_batch(changes))
    assert isinstance(batch, Uniform)
    return batch


def _change_by_change(crm: SandboxCRM, batch: Uniform,
                      ) -> tuple[list[ledger.Entry], list[members.Outcome]]:
    """What `approvals.execute` does with the batch as changes."""
    changes = batch.changes()
    current = observe(crm, changes)
    entries = [ledger.entry(seq, c, now) for seq, (c, now) in
               enumerate(zip(changes, current, strict=True))]
    outcomes: list[members.Outcome] = []
    to_write: list[tuple[int, Change]] = []
    for seq, (c, now) in enumerate(zip(changes, current, strict=True)):
        verdict = settle(c, now)
        if verdict == "apply":
            to_write.append((seq, c))
        else:
            assert verdict == "done"
            outcomes.append((seq, "applied", None))
    results = apply(crm, [c for _, c in to_write])
    outcomes += [(seq, "applied" if r.ok else "failed", r.error)
                 for (seq, _), r in zip(to_write, results, strict=True)]
    return entries, outcomes


@pytest.mark.parametrize(("op", "list_name", "keys"), [
    # Members already, new members, an unknown contact, one key twice.
    ("add_member", "L", [*CONTACTS, "nobody@x.example", CONTACTS[0]]),
    ("remove_member", "L", [*CONTACTS, "nobody@x.example", CONTACTS[3]]),
    ("add_member", "Missing", CONTACTS[:3]),          # no such list: every write fails
    ("remove_member", "Missing", CONTACTS[:3]),
    ("add_member", "Other", CONTACTS[2:4]),
])
def test_a_batch_written_by_key_logs_and_writes_as_change_by_change(
        tmp_path: Path, op: str, list_name: str, keys: list[str]) -> None:
    by_key, by_change = _crm(tmp_path / "a.db"), _crm(tmp_path / "b.db")
    batch = _batch(op, keys, list_name)
    entries, outcomes, to_write = members.settle_keys(by_key, batch)
    if to_write:
        outcomes += members.write_keys(by_key, batch, to_write)
    expected_entries, expected_outcomes = _change_by_change(by_change, batch)
    assert entries == expected_entries
    assert sorted(outcomes) == sorted(expected_outcomes)
    assert [seq for seq, _, _ in sorted(outcomes)] == list(range(len(keys)))
    assert snapshot(by_key) == snapshot(by_change)
    # The block holds the same bytes either way.
    assert ledger.encode_block(1, 1, "t", entries) == ledger.encode_block(
        1, 1, "t", expected_entries)
    by_key.close()
    by_change.close()


def test_only_uniform_memberships_are_written_by_key() -> None:
    assert members.is_members(_batch("add_member", CONTACTS[:2]))
    assert members.is_members(_batch("remove_member", CONTACTS[:2]))
    deletes = read_batch(encode_batch(
        [Change("delete", "contact", k, {"firstname": "c"}, None) for k in CONTACTS[:2]]))
    assert isinstance(deletes, Uniform) and not members.is_members(deletes)
