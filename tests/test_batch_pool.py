"""A stage's batches run in helper processes (`tasks.batch_pool`): the same job, the same
CRM, the same ledger as running them here; the gate still stops a batch; only targets that
need no shared rate limit are shared."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from approvals import chain
from approvals import schema as t
from approvals.errors import ExecutionRefused
from approvals.execute import BatchResult
from mops.app import App, _helpers, runtime_of
from mops.settings import Limit, Settings, Target
from tasks.batch_pool import BatchPool
from tasks.inprocess import InProcessRunner
from tasks.runtime import Runtime
from tests.helpers import crm_of, make_app, snapshot, tamper_plan, upload, write_csv
from tools.records import Record

# 40 leads, half of them already contacts: with batches of 5, the list, 8 batches of creates
# and updates, and 8 of memberships.
LEADS = "email,firstname,country\n" + "".join(
    f"p{i}@example.com,P{i},{'DE' if i % 3 else 'France'}\n" for i in range(40))


def _app(home: Path, store_url: str | None, helpers: int) -> App:
    app = make_app(home, store_url, batch_size=5, helpers=helpers)
    crm = crm_of(app)
    crm.create_contacts([Record(key=f"p{i}@example.com", fields={"firstname": f"Old{i}"})
                         for i in range(0, 40, 2)])
    crm.close()
    return app


def _state(app: App) -> object:
    crm = crm_of(app)
    try:
        return snapshot(crm)
    finally:
        crm.close()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The stages run in helpers, by size."""
    stages: list[int] = []

    class Counted(BatchPool):
        def run(self, job: int, target: str, batches: list[int]) -> Iterator[BatchResult]:
            stages.append(len(batches))
            return super().run(job, target, batches)

    monkeypatch.setattr("tasks.inprocess.BatchPool", Counted)
    return stages


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch, counted: list[int]) -> list[int]:
    """Helpers for any job, handed one batch at a time (so that the two run side by side);
    the stages they ran, by size."""
    monkeypatch.setattr("tasks.inprocess.MIN_CHANGES", 2)
    monkeypatch.setattr("tasks.batch_pool.RUN", 1)
    return counted


def _sigint(pid: int, field: str) -> bool:
    """Whether SIGINT is in the process's `field` set (SigBlk: blocked, SigIgn: ignored)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError(f"no {field} for {pid}")


def _upload_and_roll_back(app: App, leads: Path) -> tuple[object, ...]:
    """Upload, approve, roll back, approve; what a person would compare of the two jobs."""
    initial = _state(app)
    progress: dict[int, list[tuple[int, int]]] = {}
    app.jobs.runner.progress = (  # type: ignore[attr-defined]
        lambda job, done, total: progress.setdefault(job, []).append((done, total)))
    job = upload(app, leads)
    done = app.jobs.decide(job, "bob", "approve")
    applied = _state(app)
    undo = app.jobs.rollback(job, "alice")
    undone = app.jobs.decide(undo.job, "bob", "approve")
    verified = [chain.verify(app.store, j) for j in (job, undo.job)]
    assert all(v.ok for v in verified), [v.problems for v in verified]
    assert _state(app) == initial
    for steps in progress.values():     # told after each batch, in order, to the end
        assert steps == sorted(steps) and steps[-1][0] == steps[-1][1]
    assert [len(steps) for steps in progress.values()] == [17, 17]
    return (done.state, done.summary, undone.state, undone.summary, applied,
            [(v.entries, v.batches) for v in verified])


def test_a_job_run_in_helpers_is_the_job_run_here(tmp_path: Path, store_url: str | None,
                                                  pooled: list[int]) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEADS)
    results = []
    for helpers in (0, 2):
        app = _app(tmp_path / f"home-{helpers}", store_url, helpers)
        try:
            results.append(_upload_and_roll_back(app, leads))
        finally:
            app.close()
    assert results[0] == results[1]
    assert results[1][0] == results[1][2] == "succeeded"
    assert pooled == [8, 8, 8, 8]    # the job's contacts and members, then the rollback's


def test_a_batch_the_gate_refuses_in_a_helper_halts_the_job(tmp_path: Path,
                                                            pooled: list[int]) -> None:
    app = _app(tmp_path / "home", None, 2)
    try:
        job = upload(app, write_csv(tmp_path / "leads.csv", LEADS))
        app.runtime.gate.decide(job, "bob", "approve")        # approved, not yet run
        assert tamper_plan(app, job, key="p1@example.com", after={"firstname": "Mallory"})
        with pytest.raises(ExecutionRefused, match="differ from the approved plan"):
            app.jobs.runner.execute(job)
        assert pooled == [8]           # refused in a helper, in the contacts' stage
        assert app.store.get(job).state == "failed"
        crm = crm_of(app)
        assert crm.read_contacts(["p1@example.com"]) == {}
        crm.close()
        assert chain.verify(app.store).ok
    finally:
        app.close()


def test_only_a_sandbox_without_a_rate_limit_is_shared(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, helpers=2, targets={
        "limited": Target(rate_limit=Limit(requests=10, per_seconds=1)),
        "recorded": Target(record_calls=True),
        "hubspot": Target(kind="hubspot", url="http://127.0.0.1:9")})
    helpers = _helpers(settings)
    assert helpers is not None and helpers.processes == 2
    assert helpers.take("sandbox", 1_000_000)
    assert not helpers.take("sandbox", 10_000)             # too few changes to pay for it
    for name in ("limited", "recorded", "hubspot", "unknown"):
        assert not helpers.take(name, 1_000_000), name
    assert _helpers(Settings(home=tmp_path, helpers=0)) is None


def _no_runtime() -> Runtime:
    raise RuntimeError("this helper cannot start")


def test_helpers_that_cannot_start_leave_the_job_to_this_process(
        tmp_path: Path, pooled: list[int]) -> None:
    app = _app(tmp_path / "home", None, 2)
    try:
        runner = app.jobs.runner
        assert isinstance(runner, InProcessRunner) and runner.helpers is not None
        runner.helpers = replace(runner.helpers, make_runtime=_no_runtime)
        initial = _state(app)
        progress: list[tuple[int, int]] = []
        runner.progress = lambda _job, done, total: progress.append((done, total))
        job = upload(app, write_csv(tmp_path / "leads.csv", LEADS))
        done = app.jobs.decide(job, "bob", "approve")
        assert done.state == "succeeded"
        assert done.summary == {"create_list": 1, "create": 20, "update": 20,
                                "add_member": 40}
        assert pooled == [8]           # tried once; the rest of the job ran here
        assert progress == sorted(progress) and len(progress) == 17
        assert progress[-1] == (81, 81)
        assert _state(app) != initial and chain.verify(app.store).ok
        assert multiprocessing.active_children() == []
    finally:
        app.close()


def test_ctrl_c_stops_the_helpers_after_their_batch_and_resume_finishes_the_job(
        tmp_path: Path, pooled: list[int]) -> None:
    app = make_app(tmp_path / "home", None, batch_size=1, helpers=2)
    try:
        job = upload(app, write_csv(tmp_path / "leads.csv", LEADS))    # 40 creates

        def interrupt(_job: int, done: int, _total: int) -> None:
            if done > 1:                # past the list: as Ctrl-C would, at the contacts'
                raise KeyboardInterrupt  # first result

        runner = app.jobs.runner
        assert isinstance(runner, InProcessRunner)
        runner.progress = interrupt
        with pytest.raises(KeyboardInterrupt):
            app.jobs.decide(job, "bob", "approve")
        assert multiprocessing.active_children() == []
        with app.store.engine.connect() as conn:
            sealed = conn.execute(select(func.count()).where(
                t.batches.c.job == job, t.batches.c.state == "sealed")).scalar_one()
            leased = conn.execute(select(func.count()).where(
                t.batches.c.job == job, t.batches.c.lease_until.is_not(None),
                t.batches.c.state != "sealed")).scalar_one()
        assert 2 <= sealed < 20         # the list, a batch or a few: not the 81 batches
        assert leased == 0              # every batch stopped let go of its lease
        runner.progress = None
        assert app.jobs.resume(job).state == "succeeded"
        crm = crm_of(app)
        assert len(crm.read_contacts([f"p{i}@example.com" for i in range(40)])) == 40
        crm.close()
        assert chain.verify(app.store).ok
    finally:
        app.close()


def test_a_helper_process_ignores_ctrl_c(tmp_path: Path) -> None:
    app = make_app(tmp_path / "home", None, helpers=2)
    try:
        pool = BatchPool(partial(runtime_of, app.settings), 1)
        try:
            with pytest.raises(ExecutionRefused, match="no job 999"):
                list(pool.run(999, "sandbox", [1]))   # starts the helper, which says so
            [helper] = multiprocessing.active_children()
            assert _sigint(helper.pid or 0, "SigBlk")     # born with Ctrl-C held
            assert _sigint(helper.pid or 0, "SigIgn")     # then ignoring it
            os.kill(helper.pid or 0, signal.SIGINT)
            time.sleep(0.2)
            assert helper.is_alive()
        finally:
            pool.close()
    finally:
        app.close()


def test_a_job_of_few_changes_runs_here(tmp_path: Path, counted: list[int]) -> None:
    app = _app(tmp_path / "home", None, 2)     # helpers allowed, a job of 81 changes
    try:
        job = upload(app, write_csv(tmp_path / "leads.csv", LEADS))
        assert app.jobs.decide(job, "bob", "approve").state == "succeeded"
        assert counted == []
        assert multiprocessing.active_children() == []
    finally:
        app.close()


def test_a_short_stage_is_shared_by_every_helper(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[int] = []

    class Recorded(ProcessPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            handed.append(len(args[2]))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr("tools.spawning.ProcessPoolExecutor", Recorded)
    app = make_app(tmp_path / "home", None, helpers=2)
    try:
        pool = BatchPool(partial(runtime_of, app.settings), 2)
        try:
            with pytest.raises(ExecutionRefused, match="no job 999"):
                list(pool.run(999, "sandbox", list(range(1, 8))))
        finally:
            pool.close()
    finally:
        app.close()
    assert handed == [4, 3]          # seven batches: both helpers get some (RUN is 8)
