"""The rollback log: write-ahead, idempotent batches, and a chain that shows tampering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from approvals import chain, leases, ledger
from approvals import schema as t
from approvals.errors import ExecutionRefused
from approvals.execute import BatchBusy, execute_batch
from mops.app import App
from tasks.lifecycle import PlanningFailed, finish_job, run_batch, start_job
from tests.helpers import SMALL_LEADS as LEADS
from tests.helpers import as_rows, crm_of, edit_block, snapshot, tamper_plan, upload, write_csv
from tools.crm import CRM

KEY, BEFORE = 3, 5          # columns of a block's entry (ledger.Entry)


def _approved(app: App, tmp_path: Path) -> int:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.runtime.gate.decide(job, "bob", "approve")
    return job


def test_a_batch_run_twice_changes_nothing_the_second_time(small_batches: App,
                                                           tmp_path: Path) -> None:
    app = small_batches
    job = _approved(app, tmp_path)
    stages = start_job(app.runtime, job)
    for stage in stages:
        for batch in stage:
            run_batch(app.runtime, job, batch)
    crm = crm_of(app)
    after_once = snapshot(crm)
    entries_once = list(ledger.entries(app.store, job))
    for stage in stages:                       # a redelivered message runs every batch again
        for batch in stage:
            run_batch(app.runtime, job, batch)
    assert snapshot(crm) == after_once
    assert list(ledger.entries(app.store, job)) == entries_once
    assert finish_job(app.runtime, job).state == "succeeded"
    crm.close()


class CrashingCRM:
    """Wraps a CRM and dies after the first `allowed` contact creations, like a killed worker."""

    def __init__(self, inner: CRM, allowed: int) -> None:
        self.inner, self.allowed = inner, allowed

    def create_contacts(self, records):  # type: ignore[no-untyped-def]
        self.inner.create_contacts(records[: self.allowed])
        raise KeyboardInterrupt("worker killed")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_an_interrupted_batch_is_settled_and_applied_once(small_batches: App,
                                                          tmp_path: Path) -> None:
    app = small_batches
    job = _approved(app, tmp_path)
    stages = start_job(app.runtime, job)
    run_batch(app.runtime, job, stages[0][0])           # the list
    first = stages[1][0]
    crm = crm_of(app)
    with pytest.raises(KeyboardInterrupt):
        execute_batch(app.store, app.runtime.gate, CrashingCRM(crm, 4),  # type: ignore[arg-type]
                      app.store.get(job), first)   # the interrupted run frees its lease
    statuses = ledger.statuses(app.store, job, first)
    assert set(statuses.values()) == {"intended"} and len(statuses) == 10  # before-images first
    for stage in stages:
        for batch in stage:
            run_batch(app.runtime, job, batch)
    assert finish_job(app.runtime, job).state == "succeeded"
    contacts, members = snapshot(crm)
    assert len(contacts) == 25 and len(members) == 25
    applied = [e for e in ledger.entries(app.store, job) if e.status == "applied"]
    assert len(applied) == 1 + 25 + 25                   # each change exactly once
    crm.close()


def _finished(app: App, tmp_path: Path) -> int:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.jobs.decide(job, "bob", "approve")
    assert chain.verify(app.store).ok
    return job


def _set(index: int, column: int, value: object) -> Callable[[dict[str, Any]], None]:
    """An edit of a block: entry `index`'s `column` (of ledger.Entry) set to `value`."""
    def edit(block: dict[str, Any]) -> None:
        block["entries"][index][column] = value
    return edit


def _drop_last(block: dict[str, Any]) -> None:
    block["entries"].pop()


@pytest.mark.parametrize("rehash", [False, True], ids=["as_stored", "rehashed"])
def test_chain_detects_an_edited_entry(small_batches: App, tmp_path: Path,
                                       rehash: bool) -> None:
    job = _finished(small_batches, tmp_path)
    edit_block(small_batches, job, 2, _set(3, BEFORE, {"firstname": "forged"}), rehash)
    result = chain.verify(small_batches.store)
    shown = "chain head differs" if rehash else "do not match their hash"
    assert not result.ok and "batch 2: " in result.problems[0]
    assert shown in result.problems[0]


@pytest.mark.parametrize("rehash", [False, True], ids=["as_stored", "rehashed"])
def test_chain_detects_a_deleted_entry(small_batches: App, tmp_path: Path,
                                       rehash: bool) -> None:
    job = _finished(small_batches, tmp_path)
    edit_block(small_batches, job, 3, _drop_last, rehash)     # the last of a batch
    result = chain.verify(small_batches.store)
    assert not result.ok and "batch 3" in result.problems[0]
    assert ("9 of 10 entries" if rehash else "do not match") in result.problems[0]


def test_chain_detects_a_block_moved_to_another_batch(small_batches: App,
                                                      tmp_path: Path) -> None:
    job = _finished(small_batches, tmp_path)
    b = t.ledger_blocks.c
    with small_batches.store.begin() as conn:
        third = conn.execute(select(b.entries, b.hash).where(b.job == job, b.batch == 3)).one()
        conn.execute(update(t.ledger_blocks).where(b.job == job, b.batch == 2)
                     .values(entries=third.entries, hash=third.hash))
    problems = chain.verify(small_batches.store).problems
    assert f"job {job} batch 2: it holds the entries of job {job} batch 3" in problems


def test_chain_detects_rows_inserted_beside_a_block(small_batches: App,
                                                    tmp_path: Path) -> None:
    job = _finished(small_batches, tmp_path)
    with small_batches.store.begin() as conn:
        conn.execute(insert(t.ledger).values(
            job=job, batch=2, seq=0, op="delete", object="contact", key="vip@victim.com",
            status="applied", recorded_at="2026-01-01T00:00:00+00:00"))
    problems = chain.verify(small_batches.store).problems
    assert f"job {job} batch 2: ledger rows beside its block (inserted)" in problems


def test_chain_detects_edits_of_entries_written_as_rows(small_batches: App,
                                                        tmp_path: Path) -> None:
    """Batches run before migration 0010 keep an entry a row, each chained on its own."""
    app = small_batches
    job = _finished(app, tmp_path)
    for batch in (2, 3):
        as_rows(app, job, batch)
    assert chain.verify(app.store).ok
    with app.store.begin() as conn:
        conn.execute(update(t.ledger).where(t.ledger.c.job == job, t.ledger.c.seq == 3,
                                            t.ledger.c.batch == 2)
                     .values(before={"firstname": "forged"}))
        conn.execute(delete(t.ledger).where(t.ledger.c.job == job, t.ledger.c.batch == 3,
                                            t.ledger.c.seq == 9))   # the last of a batch
    problems = chain.verify(app.store).problems
    assert any("batch 2 entry 3" in p for p in problems)
    assert any("batch 3: 9 of 10 entries" in p for p in problems)


def test_chain_detects_a_deleted_batch(small_batches: App, tmp_path: Path) -> None:
    job = _finished(small_batches, tmp_path)
    with small_batches.store.begin() as conn:
        conn.execute(delete(t.ledger_blocks).where(t.ledger_blocks.c.job == job,
                                                   t.ledger_blocks.c.batch == 2))
        conn.execute(delete(t.batches).where(t.batches.c.job == job, t.batches.c.batch == 2))
    result = chain.verify(small_batches.store)
    assert not result.ok and f"job {job}" in result.problems[0]


def test_chain_detects_a_deleted_job(small_batches: App, tmp_path: Path) -> None:
    first = _finished(small_batches, tmp_path)
    undo = small_batches.jobs.rollback(first, "alice")
    small_batches.jobs.decide(undo.job, "bob", "approve")
    with small_batches.store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(t.seals)).scalar_one() == 2
        conn.execute(delete(t.seals).where(t.seals.c.job == first))
    assert not chain.verify(small_batches.store).ok


def test_a_leased_batch_is_not_run_by_a_second_worker(small_batches: App,
                                                      tmp_path: Path) -> None:
    app = small_batches
    job = _approved(app, tmp_path)
    stages = start_job(app.runtime, job)
    batch = stages[1][0]
    assert leases.claim_batch(app.store, job, batch, lease=60)     # a live worker holds it
    with pytest.raises(BatchBusy):
        run_batch(app.runtime, job, batch)
    assert ledger.statuses(app.store, job, batch) == {}            # nothing was done twice


def test_an_interrupted_in_process_run_is_resumed(small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    connect = app.runtime.connect
    app.runtime.connect = lambda name: CrashingCRM(connect(name), 4)  # type: ignore[assignment,return-value]
    with pytest.raises(KeyboardInterrupt):                 # Ctrl-C during mops approve
        app.jobs.decide(job, "bob", "approve")
    assert app.store.get(job).state == "running"
    app.runtime.connect = connect
    assert app.jobs.resume(job).state == "succeeded"
    crm = crm_of(app)
    contacts, members = snapshot(crm)
    assert len(contacts) == 25 and len(members) == 25
    crm.close()


def test_the_gate_halts_a_running_job_whose_plan_changed(small_batches: App,
                                                         tmp_path: Path) -> None:
    app = small_batches
    job = _approved(app, tmp_path)
    stages = start_job(app.runtime, job)
    run_batch(app.runtime, job, stages[0][0])
    # tampered with mid-run
    assert tamper_plan(app, job, batch=stages[1][1], after={"firstname": "Mallory"})
    with pytest.raises(ExecutionRefused):
        app.jobs.resume(job)
    halted = app.store.get(job)
    assert halted.state == "failed" and "differ from the approved plan" in (halted.error or "")
    undo = app.jobs.rollback(job, "alice")                 # what it wrote can be undone
    app.jobs.decide(undo.job, "bob", "approve")
    crm = crm_of(app)
    assert snapshot(crm) == ([], [])
    crm.close()


def test_a_worker_past_its_lease_cannot_seal_over_another(small_batches: App,
                                                           tmp_path: Path) -> None:
    app = small_batches
    job = _approved(app, tmp_path)
    stages = start_job(app.runtime, job)
    batch = stages[0][0]
    stale = leases.claim_batch(app.store, job, batch, lease=0)   # A: its lease runs out
    assert stale is not None
    run_batch(app.runtime, job, batch)                          # B takes over and seals
    sealed = list(ledger.entries(app.store, job, batch))
    with app.store.begin() as conn, pytest.raises(chain.LeaseLost):
        chain.seal_batch(conn, job, batch, {0: ("failed", "contact already exists")},
                         token=stale)                           # A, late, tries to seal
    assert list(ledger.entries(app.store, job, batch)) == sealed
    assert chain.verify(app.store, job).ok


def test_chain_detects_an_unsealed_flag_and_orphan_entries(small_batches: App,
                                                           tmp_path: Path) -> None:
    job = _finished(small_batches, tmp_path)
    with small_batches.store.begin() as conn:       # hide a batch from verification…
        conn.execute(update(t.batches).where(t.batches.c.job == job, t.batches.c.batch == 2)
                     .values(state="pending"))
    edit_block(small_batches, job, 2, _set(0, KEY, "vip@victim.com"))
    with small_batches.store.begin() as conn:       # …and move entries out of any batch
        conn.execute(update(t.ledger_blocks).where(t.ledger_blocks.c.job == job,
                                                   t.ledger_blocks.c.batch == 3)
                     .values(batch=99))
    problems = " ".join(chain.verify(small_batches.store).problems)
    assert "batch 2: the job is sealed but the batch says pending" in problems
    assert "batch 2: its entries do not match" in problems
    assert "batch 99: ledger entries of no batch" in problems


def test_no_rollback_is_planned_from_a_tampered_ledger(small_batches: App,
                                                       tmp_path: Path) -> None:
    job = _finished(small_batches, tmp_path)
    edit_block(small_batches, job, 2, _set(0, KEY, "vip@victim.com"), rehash=True)
    with pytest.raises(PlanningFailed, match="fails verification"):
        small_batches.jobs.rollback(job, "alice")
