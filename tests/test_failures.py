"""When an outside system stays down: the change fails with its error, the rest is kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from approvals import chain, ledger
from mops.app import App
from tests.helpers import crm_of, snapshot, upload, write_csv
from tools.crm import CRM
from tools.records import Record, WriteResult
from tools.retry import RetriesExhausted, RetryPolicy, Transient

LEADS = "email\n" + "".join(f"f{i}@example.com\n" for i in range(5))


class ListsDown:
    """A CRM whose list-membership endpoint answers 503 every time (after retries)."""

    def __init__(self, inner: CRM) -> None:
        self.inner = inner
        self.policy = RetryPolicy(max_attempts=3, initial=0, jitter=0)
        self.attempts = 0

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        def call() -> list[WriteResult]:
            self.attempts += 1
            raise Transient("503 Service Unavailable from the lists endpoint")
        return self.policy.call(call, sleep=lambda _: None)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_exhausted_retries_fail_those_changes_and_keep_the_rest(app: App,
                                                                tmp_path: Path) -> None:
    crm = crm_of(app)
    before = snapshot(crm)
    connect = app.runtime.connect
    flaky: list[ListsDown] = []

    def connect_flaky(name: str) -> CRM:
        flaky.append(ListsDown(connect(name)))
        return flaky[-1]  # type: ignore[return-value]

    app.runtime.connect = connect_flaky
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    done = app.jobs.decide(job, "bob", "approve")
    assert done.state == "partially_failed"
    assert sum(f.attempts for f in flaky) == 3                     # retried, then gave up
    entries = list(ledger.entries(app.store, job))
    failed = [e for e in entries if e.status == "failed"]
    assert {e.change.op for e in failed} == {"add_member"} and len(failed) == 5
    assert all("gave up after 3 attempts" in (e.error or "") for e in failed)
    assert "503" in (failed[0].error or "")
    contacts, members = snapshot(crm)
    assert len(contacts) == 5 and members == []                    # the creates were kept
    assert chain.verify(app.store).ok

    app.runtime.connect = connect                                  # the system is back
    undo = app.jobs.rollback(job, "alice")
    assert undo.summary.get("delete") == 5 and undo.summary.get("remove_member") is None
    app.jobs.decide(undo.job, "bob", "approve")
    assert snapshot(crm) == before
    crm.close()


class UpdatesDown:
    """A CRM whose update endpoint fails after creates in the same batch went through."""

    def __init__(self, inner: CRM) -> None:
        self.inner = inner

    def update_contacts(self, updates):  # type: ignore[no-untyped-def]
        raise RetriesExhausted(3, Transient("503 from the update endpoint"), "")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_fault_mid_batch_logs_what_was_written_as_applied(app: App, tmp_path: Path) -> None:
    crm = crm_of(app)
    crm.create_contacts([Record(key="old@example.com", fields={"firstname": "Old"})])
    before = snapshot(crm)
    connect = app.runtime.connect
    app.runtime.connect = lambda name: UpdatesDown(connect(name))  # type: ignore[assignment,return-value]
    job = upload(app, write_csv(tmp_path / "l.csv",
                                "email,firstname\nnew@example.com,New\nold@example.com,Ny\n"))
    assert app.jobs.decide(job, "bob", "approve").state == "partially_failed"
    status = {(e.change.op, e.change.key): e.status for e in ledger.entries(app.store, job)
              if e.change.object == "contact"}
    assert status == {("create", "new@example.com"): "applied",     # it was written
                      ("update", "old@example.com"): "failed"}
    app.runtime.connect = connect
    undo = app.jobs.rollback(job, "alice")
    app.jobs.decide(undo.job, "bob", "approve")
    assert snapshot(crm) == before                                   # the create is undone
    crm.close()
