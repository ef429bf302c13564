"""The approval gate: bound to the digest, never self-approved, fails closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from agents.requests import JobRequest, ListUploadParams, RollbackParams
from approvals import schema as t
from approvals.errors import ApprovalRefused, ExecutionRefused, NothingToRollBack
from approvals.policy import Policy, Rule
from mops.app import App
from tasks.inprocess import InProcessRunner
from tasks.jobs import Jobs
from tasks.lifecycle import PlanningFailed, start_job
from tests.helpers import crm_of, make_app, snapshot, tamper_plan, upload, write_csv

LEADS = "email,firstname\na@example.com,Ann\nb@example.com,Ben\n"


def test_requester_cannot_approve_own_job(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS), user="alice")
    with pytest.raises(ApprovalRefused, match="alice requested job"):
        app.jobs.decide(job, "alice", "approve")
    assert app.store.get(job).state == "awaiting_approval"


def test_approval_on_another_digest_is_refused(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    with pytest.raises(ApprovalRefused, match="digest"):
        app.jobs.decide(job, "bob", "approve", digest="0" * 64)
    assert app.store.get(job).state == "awaiting_approval"
    digest = app.store.get(job).digest
    assert app.jobs.decide(job, "bob", "approve", digest=digest).state == "succeeded"


def test_plan_is_never_applied_without_approval(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    with pytest.raises(ExecutionRefused, match="not approved"):
        app.jobs.runner.execute(job)
    # forcing the state without a decision does not get past the gate either
    app.store.move(job, "approved", "intruder")
    with pytest.raises(ExecutionRefused, match="0 of 1 approvals"):
        start_job(app.runtime, job)
    crm = crm_of(app)
    assert snapshot(crm) == ([], [])
    crm.close()


def test_plan_changed_after_approval_is_not_applied(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.runtime.gate.decide(job, "bob", "approve")       # approve without running
    # then tamper with a planned change
    assert tamper_plan(app, job, key="a@example.com", after={"firstname": "Mallory"}) == 2
    with pytest.raises(ExecutionRefused, match="differ from the approved plan"):
        app.jobs.runner.execute(job)
    crm = crm_of(app)
    assert crm.read_contacts(["a@example.com"]) == {}
    crm.close()


def test_tampered_digest_on_the_job_is_refused(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.runtime.gate.decide(job, "bob", "approve")
    with app.store.begin() as conn:
        conn.execute(update(t.batches).where(t.batches.c.job == job).values(digest="f" * 64))
    with pytest.raises(ExecutionRefused, match="stored plan differs"):
        app.jobs.runner.execute(job)


def test_two_approvers_and_a_role(tmp_path: Path) -> None:
    policy = Policy(rules=[Rule(name="uploads", kinds=["list_upload"], approvals=2,
                                role="approver")],
                    roles={"approver": ["bob", "carol"]})
    app = make_app(tmp_path, policy=policy)
    try:
        job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
        with pytest.raises(ApprovalRefused, match="role approver"):
            app.jobs.decide(job, "dave", "approve")
        assert app.jobs.decide(job, "bob", "approve").state == "awaiting_approval"
        with pytest.raises(ApprovalRefused, match="already approved"):
            app.jobs.decide(job, "bob", "approve")
        assert app.jobs.decide(job, "carol", "approve").state == "succeeded"
        approvers = [d.actor for d in app.runtime.gate.decisions(job)]
        assert approvers == ["bob", "carol"]
    finally:
        app.close()


def test_auto_approve_rule_for_small_plans(tmp_path: Path) -> None:
    policy = Policy(rules=[Rule(name="small", action="auto_approve", max_changes=5,
                                ops=["create", "add_member"])])
    app = make_app(tmp_path, policy=policy)
    try:
        job = upload(app, write_csv(tmp_path / "l.csv", LEADS))  # list + 2 creates + 2 adds
        assert app.store.get(job).state == "succeeded"
        assert [d.actor for d in app.runtime.gate.decisions(job)] == ["policy:small"]
        big = "email\n" + "".join(f"p{i}@example.com\n" for i in range(10))
        job2 = upload(app, write_csv(tmp_path / "big.csv", big))
        assert app.store.get(job2).state == "awaiting_approval"
    finally:
        app.close()


def test_requirement_edited_on_the_job_row_is_refused(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    with app.store.begin() as conn:          # no decision at all, but "auto" and "approved"
        conn.execute(update(t.jobs).where(t.jobs.c.id == job).values(
            state="approved", requirement={"auto": True, "approvals": 0, "role": None,
                                           "rule": "forged"}))
    with pytest.raises(ExecutionRefused):
        app.jobs.runner.execute(job)
    crm = crm_of(app)
    assert snapshot(crm) == ([], [])
    crm.close()


def test_target_edited_after_approval_is_refused(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    with app.store.begin() as conn:
        conn.execute(update(t.jobs).where(t.jobs.c.id == job).values(target="prod"))
    app.runtime.gate.decide(job, "bob", "approve")
    with pytest.raises(ExecutionRefused, match="stored plan differs"):
        app.jobs.runner.execute(job)


def test_a_rollback_must_target_what_the_job_wrote_to(app: App, tmp_path: Path) -> None:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.jobs.decide(job, "bob", "approve")
    request = JobRequest(params=RollbackParams(of_job=job), requested_by="alice",
                         target="prod")
    with pytest.raises(NothingToRollBack, match="cannot target 'prod'"):
        app.jobs.request(request)


class _FailsAfterRunning:
    """A runner that plans (and, auto-approved, runs) a job, then fails: a worker that
    wrote and then lost its way, as seen by the door that asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def plan(self, job: int) -> Any:
        self.inner.plan(job)
        raise RuntimeError("lost after running")


def test_a_job_that_ran_before_an_error_is_kept_for_rollback(tmp_path: Path) -> None:
    policy = Policy(rules=[Rule(name="small", action="auto_approve", max_changes=5,
                                ops=["create", "add_member"])])
    app = make_app(tmp_path, policy=policy)
    try:
        failing = Jobs(app.runtime, _FailsAfterRunning(InProcessRunner(app.runtime)))
        params = ListUploadParams(file=str(write_csv(tmp_path / "l.csv", LEADS)), list="Q")
        with pytest.raises(RuntimeError, match="lost after running"):
            failing.request(JobRequest(params=params, requested_by="alice"))
        [job] = app.store.jobs()
        assert job.state == "succeeded" and job.digest is not None   # kept, with its ledger
        assert app.jobs.rollback(job.job, "alice").kind == "rollback"
        bad = ListUploadParams(file=str(write_csv(tmp_path / "bad.csv", "name\nAda\n")),
                               list="Q")
        with pytest.raises(PlanningFailed):      # bad input: planned nothing, so forgotten
            failing.request(JobRequest(params=bad, requested_by="alice"))
        assert sorted(j.kind for j in app.store.jobs()) == ["list_upload", "rollback"]
    finally:
        app.close()
