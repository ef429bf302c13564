"""When an outside system stays down: the change fails with its error, the rest is kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from approvals import chain, ledger
from mops.app import App
from tests.helpers import crm_of, snapshot, upload, write_csv
from tools.crm import CRM
from tools.records import WriteResult
from tools.retry import RetryPolicy, Transient

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
