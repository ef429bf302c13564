"""A 20,000-contact upload to the fake Marketo while 5% of requests fail (HTTP 429, 503,
or a connection dropped after the write was made): every contact ends up there exactly
once, every membership too, and no write is reported failed."""

from __future__ import annotations

from collections.abc import Sequence

from tests.conformance.crm_suite import emails
from tests.test_marketo_crm import WINDOW, connect, spec_path
from tools.apply import apply, observe, settle
from tools.changes import MEMBER_IN, MEMBER_OUT, Change
from tools.crm import CRM
from tools.fakes.marketo import Limits, MarketoState, marketo_app
from tools.fakes.server import FakeServer
from tools.records import WriteResult

CONTACTS = 20_000
BATCH = 1000            # changes per batch, as plans cut them
KINDS = ("429", "503", "drop")


def run_batch(crm: CRM, changes: Sequence[Change]) -> list[WriteResult]:
    """What `execute_batch` does with a batch, ledger aside: read, settle, write."""
    current = observe(crm, changes)
    todo = [c for c, now in zip(changes, current, strict=True) if settle(c, now) == "apply"]
    assert len(todo) == len(changes), "nothing of the batch was there before"
    return apply(crm, todo)


def test_upload_under_faults_leaves_every_record_once() -> None:
    state = MarketoState(limits=Limits(calls=WINDOW.requests, per_seconds=WINDOW.per_seconds))
    keys = emails(CONTACTS, prefix="lead")
    with FakeServer(marketo_app(state, spec_path())) as server:
        crm = connect(server, state)
        assert crm.create_list("Upload").ok
        server.faults.set(0.05, KINDS, seed=2026)
        for start in range(0, CONTACTS, BATCH):
            part = keys[start:start + BATCH]
            created = run_batch(crm, [
                Change(op="create", object="contact", key=key,
                       after={"firstname": key[:8], "company": "Acme"}) for key in part])
            joined = run_batch(crm, [
                Change(op="add_member", object="list_membership", key=key, list_name="Upload",
                       before=MEMBER_OUT, after=MEMBER_IN) for key in part])
            assert [r for r in created + joined if not r.ok] == []
        server.faults.set(0.0)
        records = list(crm.iter_contacts())
        assert crm.count_members("Upload") == CONTACTS
        crm.close()
    assert [r.key for r in records] == sorted(keys)
    assert all(r.fields == {"firstname": r.key[:8], "company": "Acme"} for r in records)
    assert state.emails() == sorted(keys)             # each lead once, none twice
    assert [len(members) for members in state.members.values()] == [CONTACTS]
    assert all(server.faults.injected.get(kind, 0) > 0 for kind in KINDS), \
        server.faults.injected
    assert state.checker.violations == []
