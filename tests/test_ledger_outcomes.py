"""Ledger entries are written once; a batch's outcome is recorded, and chained, on the batch.

Batches sealed before migration 0008 (outcome in their entries) and batches run before
migration 0010 (an entry a row) still verify and roll back.
"""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, update

from approvals import chain, ledger
from approvals import schema as t
from approvals.packing import unpack
from approvals.store import dumps, executemany
from mops.app import App
from tasks.lifecycle import finish_job, run_batch, start_job
from tests.helpers import SMALL_LEADS as LEADS
from tests.helpers import as_rows, crm_of, snapshot, upload, write_csv
from tools.records import Record


def _run(app: App, tmp_path: Path) -> int:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    assert app.jobs.decide(job, "bob", "approve").state in ("succeeded", "failed")
    return job


def _contact_batch(app: App, job: int) -> int:
    return next(e.batch for e in ledger.entries(app.store, job)
                if e.change.op == "create" and e.change.object == "contact")


def test_entries_stay_as_written_and_read_with_their_batchs_outcome(
        small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    crm = crm_of(app)
    crm.create_contacts([Record(key="u3@example.com", fields={"firstname": "Taken"})])
    crm.close()
    job = _run(app, tmp_path)
    with app.store.engine.connect() as conn:
        blocks = conn.execute(select(t.ledger_blocks.c.batch, t.ledger_blocks.c.entries,
                                     t.ledger_blocks.c.hash).where(
            t.ledger_blocks.c.job == job)).all()
        assert conn.execute(select(t.ledger).where(t.ledger.c.job == job)).first() is None
    # Every batch's entries are one block, as written ahead: intended, under their hash.
    assert len(blocks) == 7
    for batch, stored, hash in blocks:
        encoded = unpack(stored)
        assert chain.block_hash(encoded) == hash
        of_job, of_batch, rows = ledger.decode_block(encoded)
        assert (of_job, of_batch) == (job, batch) and {r["status"] for r in rows} == {"intended"}
    entries = {(e.change.op, e.change.key): e for e in ledger.entries(app.store, job)}
    # u3 existed, so it was planned as an update; every write was made.
    assert {e.status for e in entries.values()} == {"applied"}
    assert chain.verify(app.store, job).ok


def test_a_failed_entry_is_read_failed_with_its_error(small_batches: App,
                                                      tmp_path: Path) -> None:
    app = small_batches
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    crm = crm_of(app)
    # Created by someone else after the plan: the job's create of u4 fails.
    crm.create_contacts([Record(key="u4@example.com", fields={"firstname": "Else"})])
    crm.close()
    app.jobs.decide(job, "bob", "approve")
    failed = [e for e in ledger.entries(app.store, job) if e.status == "failed"]
    assert [(e.change.key, e.error) for e in failed] == [
        ("u4@example.com", "the record changed after the plan was made")]
    batch = failed[0].batch
    assert ledger.statuses(app.store, job, batch)[failed[0].seq] == "failed"
    with app.store.engine.connect() as conn:
        row = conn.execute(select(t.batches.c.applied, t.batches.c.failed).where(
            t.batches.c.job == job, t.batches.c.batch == batch)).one()
    assert (row.applied, row.failed) == (9, 1)
    assert chain.verify(app.store, job).ok


def test_an_edited_outcome_breaks_the_chain(small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    crm = crm_of(app)
    crm.create_contacts([Record(key="u4@example.com", fields={"firstname": "Else"})])
    crm.close()
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    crm = crm_of(app)
    crm.update_contacts([("u4@example.com", {"firstname": "Changed"})])
    crm.close()
    app.jobs.decide(job, "bob", "approve")
    failed = next(e for e in ledger.entries(app.store, job) if e.status == "failed")
    with app.store.begin() as conn:       # claim the failed write was made
        conn.execute(update(t.batches).where(
            t.batches.c.job == job, t.batches.c.batch == failed.batch).values(
            outcome=dumps({"sealed_at": "2026-01-01T00:00:00+00:00", "failed": []})))
    problems = chain.verify(app.store, job).problems
    assert any(f"batch {failed.batch}: " in p and "outcome edited" in p for p in problems)


def _as_before_0008(app: App, job: int, batch: int) -> None:
    """Rewrite a sealed batch as versions before migration 0008 sealed it: the outcome in
    each entry, the entries chained with it, the head the last entry's hash."""
    as_rows(app, job, batch)
    with app.store.begin() as conn:
        failures = ledger.failures_of(conn.execute(select(t.batches.c.outcome).where(
            t.batches.c.job == job, t.batches.c.batch == batch)).scalar_one())
        rows = [ledger.settle(row, failures)
                for row, _, _ in ledger.chained_rows(conn, job, batch)]
        links = chain.links(rows)
        executemany(conn, "UPDATE ledger SET status = ?, error = ?, prev_hash = ?, hash = ?"
                    " WHERE job = ? AND batch = ? AND seq = ?",
                    [(r["status"], r["error"], prev, hash, job, batch, r["seq"])
                     for r, (prev, hash) in zip(rows, links, strict=True)])
        conn.execute(update(t.batches).where(t.batches.c.job == job, t.batches.c.batch == batch)
                     .values(outcome=None, head=links[-1][1]))
        conn.execute(t.seals.delete().where(t.seals.c.job == job))
        chain.seal_job(conn, job)


def test_a_batch_sealed_before_0008_verifies_and_rolls_back(small_batches: App,
                                                            tmp_path: Path) -> None:
    app = small_batches
    crm = crm_of(app)
    before = snapshot(crm)
    job = _run(app, tmp_path)
    batch = _contact_batch(app, job)
    _as_before_0008(app, job, batch)
    assert chain.verify(app.store, job).ok
    assert {e.status for e in ledger.entries(app.store, job, batch)} == {"applied"}
    with app.store.begin() as conn:                     # and tampering still shows
        conn.execute(update(t.ledger).where(t.ledger.c.job == job, t.ledger.c.batch == batch,
                                            t.ledger.c.seq == 0).values(status="failed"))
    assert not chain.verify(app.store, job).ok
    with app.store.begin() as conn:
        conn.execute(update(t.ledger).where(t.ledger.c.job == job, t.ledger.c.batch == batch,
                                            t.ledger.c.seq == 0).values(status="applied"))
    undo = app.jobs.rollback(job, "alice")
    assert app.jobs.decide(undo.job, "bob", "approve").state == "succeeded"
    assert snapshot(crm) == before
    crm.close()


def test_entries_written_before_0008_are_chained_when_their_batch_is_sealed(
        small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.runtime.gate.decide(job, "bob", "approve")
    stages = start_job(app.runtime, job)
    first = stages[1][0] if len(stages) > 1 else stages[0][0]
    run_batch(app.runtime, job, first)
    as_rows(app, job, first)
    with app.store.begin() as conn:
        # As an older version left a batch it stopped in: written ahead, unchained, unsealed.
        conn.execute(update(t.ledger).where(t.ledger.c.job == job, t.ledger.c.batch == first)
                     .values(prev_hash=None, hash=None))
        conn.execute(update(t.batches).where(t.batches.c.job == job,
                                             t.batches.c.batch == first)
                     .values(state="queued", head=None, outcome=None, lease_until=None,
                             lease_token=None))
    for stage in stages:
        for batch in stage:
            run_batch(app.runtime, job, batch)
    finish_job(app.runtime, job)
    assert chain.verify(app.store, job).ok
    assert {e.status for e in ledger.entries(app.store, job, first)} == {"applied"}


def test_the_migrations_make_the_schema_the_code_declares(app: App) -> None:
    with app.store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
