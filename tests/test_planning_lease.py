"""Planning under a lease: a planner that died is replaced, and one that was only slow can no
longer write (approvals/plan_lease.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from agents.list_upload import ListUploadKind
from agents.plans import BatchHeader, PlanBuilder, Reject
from agents.requests import JobRequest, ListUploadParams
from approvals import plan_lease
from approvals import schema as t
from approvals.plan_lease import FencedSink, PlanningBusy, PlanningLost
from approvals.store import aware, now
from mops.app import App
from tasks.lifecycle import SYSTEM, PlanningFailed, plan_job
from tasks.steps import Steps
from tests.helpers import SMALL_LEADS, write_csv
from tools.errors import InputError, SystemFault

PARTIAL = BatchHeader(batch=1, stage=1, size=1, digest="0" * 64)


def _queued(app: App, tmp_path: Path) -> int:
    """A list upload stored and queued, not planned yet."""
    file = write_csv(tmp_path / "leads.csv", SMALL_LEADS)
    return app.store.create_job(JobRequest(
        params=ListUploadParams(file=str(file), list="Expo"), requested_by="alice"))


def _died_planning(app: App, job: int) -> str:
    """The job as a planner killed half-way leaves it: planning, one batch written, and a
    lease that has run out. Returns that planner's token."""
    token = plan_lease.claim(app.store, job, SYSTEM, lease=-1)
    FencedSink(app.store, token, lease=-1).write_batch(job, PARTIAL, [], b"{}\n")
    return token


def _batches(app: App, job: int) -> int:
    with app.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.batches).where(
            t.batches.c.job == job)).scalar_one())


def test_a_job_whose_planner_died_is_planned_again(app: App, tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    _died_planning(app, job)
    assert plan_lease.stalled(app.store) == [job]
    planned = plan_job(app.runtime, job)
    assert planned.state == "awaiting_approval"
    assert planned.summary == {"create_list": 1, "create": 25, "add_member": 25}
    headers = app.runtime.rows.headers(job)
    assert sum(h.size for h in headers) == planned.total == 51       # the dead one's is gone
    moves = [(h["from_state"], h["to_state"], h["note"]) for h in app.store.history(job)]
    assert ("planning", "planning", "planned again: its planner stopped before finishing "
            "(its lease ran out)") in moves
    assert plan_lease.stalled(app.store) == []


def test_a_planner_that_was_only_slow_can_no_longer_write(app: App, tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    slow = _died_planning(app, job)
    planned = plan_job(app.runtime, job)
    headers = app.runtime.rows.headers(job)
    late = FencedSink(app.store, slow)
    with pytest.raises(PlanningLost):
        late.write_batch(job, PARTIAL.model_copy(update={"batch": 99}), [], b"{}\n")
    with pytest.raises(PlanningLost):
        late.write_rejects(job, [Reject(row=2, reason="late", kind="rejected")])
    assert app.runtime.rows.headers(job) == headers and _batches(app, job) == len(headers)
    assert app.store.get(job).digest == planned.digest
    # The approved plan is the new planner's, and runs.
    assert app.jobs.decide(job, "bob", "approve").state == "succeeded"


def test_a_live_planner_is_not_joined(app: App, tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    token = plan_lease.claim(app.store, job, SYSTEM, lease=600)
    with pytest.raises(PlanningBusy, match=f"job {job} is being planned by another worker"):
        plan_job(app.runtime, job)
    assert app.store.get(job).state == "planning" and plan_lease.stalled(app.store) == []
    FencedSink(app.store, token).write_batch(job, PARTIAL, [], b"{}\n")   # still its own
    assert _batches(app, job) == 1


def test_a_planner_that_lost_its_job_does_not_fail_it(app: App, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    job = _queued(app, tmp_path)
    taken: list[str] = []

    def overtaken(self: ListUploadKind, params: Any, ctx: Any) -> None:
        with app.store.begin() as conn:   # stalls past its lease; another planner takes over
            conn.execute(update(t.jobs).where(t.jobs.c.id == job)
                         .values(plan_lease_until=t.jobs.c.created_at))
        taken.append(plan_lease.claim(app.store, job, SYSTEM))
        raise InputError("the file changed under the first planner")

    monkeypatch.setattr(ListUploadKind, "plan", overtaken)
    with pytest.raises(PlanningLost):
        plan_job(app.runtime, job)
    current = app.store.get(job)
    assert current.state == "planning" and current.error is None and taken


def test_the_sweep_sends_a_job_whose_planner_stopped_to_be_planned(app: App,
                                                                   tmp_path: Path) -> None:
    stopped, live = _queued(app, tmp_path), _queued(app, tmp_path)
    _died_planning(app, stopped)
    plan_lease.claim(app.store, live, SYSTEM, lease=600)
    sent: list[tuple[Any, ...]] = []
    Steps(app.runtime, lambda *task: sent.append(task), lease=600).sweep(stall_after=3600)
    assert sent == [("plan", stopped)]


def test_resume_plans_a_job_whose_planner_stopped(app: App, tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    _died_planning(app, job)
    assert app.jobs.resume(job).state == "awaiting_approval"


def test_ctrl_c_while_planning_leaves_no_job(app: App, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: ListUploadKind, params: Any, ctx: Any) -> None:
        ctx.plan.reject([Reject(row=2, reason="bad", kind="rejected")])
        raise KeyboardInterrupt

    monkeypatch.setattr(ListUploadKind, "plan", interrupted)
    file = write_csv(tmp_path / "leads.csv", SMALL_LEADS)
    with pytest.raises(KeyboardInterrupt):
        app.jobs.request(JobRequest(params=ListUploadParams(file=str(file), list="Expo"),
                                    requested_by="alice"))
    assert app.store.jobs() == []
    with app.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.rejects)).scalar_one() == 0


def test_a_planner_renews_its_lease_as_it_goes(app: App, tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    sink = FencedSink(app.store, plan_lease.claim(app.store, job, SYSTEM, lease=30), lease=30)
    until = _lease_until(app, job)
    sink.touch(job)                                      # renewed a moment ago: no write
    assert _lease_until(app, job) == until
    sink._renewed -= 11                                  # a third of the lease has passed
    sink.touch(job)
    assert _lease_until(app, job) > until
    beats: list[int] = []
    builder = PlanBuilder(job, "list_upload", sink, heartbeat=lambda: beats.append(1))
    builder.count("unchanged")
    builder.reject([])                                   # reading, nothing to reject yet
    assert len(beats) == 2


def test_a_target_that_cannot_be_reached_fails_the_job(app: App, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(name: str) -> Any:
        raise SystemFault("the sandbox database is unavailable")

    job = _queued(app, tmp_path)
    monkeypatch.setattr(app.runtime, "connect", unreachable)
    with pytest.raises(PlanningFailed, match="unavailable"):
        plan_job(app.runtime, job)
    failed = app.store.get(job)
    assert failed.state == "failed" and "unavailable" in (failed.error or "")
    assert plan_lease.stalled(app.store) == []


def test_a_job_whose_planners_keep_stopping_is_failed(app: App, tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    for _ in range(plan_lease.ATTEMPTS):
        _died_planning(app, job)
    with pytest.raises(PlanningLost, match=f"planner stopped {plan_lease.ATTEMPTS} times"):
        plan_job(app.runtime, job)
    failed = app.store.get(job)
    assert failed.state == "failed" and "stopped 3 times" in (failed.error or "")
    assert _batches(app, job) == 0 and plan_lease.stalled(app.store) == []


def test_a_job_planned_by_an_older_version_is_left_to_it_for_a_lease(app: App,
                                                                    tmp_path: Path) -> None:
    job = _queued(app, tmp_path)
    app.store.move(job, "planning", SYSTEM)         # as before migration 0011: no lease
    assert plan_lease.stalled(app.store) == []
    with pytest.raises(PlanningBusy):
        plan_job(app.runtime, job)
    with app.store.begin() as conn:                  # it has not moved for a whole lease
        conn.execute(update(t.jobs).where(t.jobs.c.id == job).values(
            updated_at=now() - timedelta(seconds=plan_lease.LEASE + 1)))
    assert plan_lease.stalled(app.store) == [job]
    assert plan_job(app.runtime, job).state == "awaiting_approval"


def _lease_until(app: App, job: int) -> datetime:
    with app.store.engine.connect() as conn:
        until = conn.execute(select(t.jobs.c.plan_lease_until).where(
            t.jobs.c.id == job)).scalar_one()
    return aware(until)
