"""The store keeps plans' batches and the ledger's blocks compressed; digests and chain hashes
cover the uncompressed bytes; values an earlier version stored uncompressed still work."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Table, select, update

from approvals import chain
from approvals import schema as t
from approvals.packing import MAGIC, pack, unpack
from approvals.plan_rows import PlanRows
from mops.app import App
from tests.helpers import SMALL_LEADS as LEADS
from tests.helpers import crm_of, snapshot, upload, write_csv


def _stored(app: App, table: Table, column: str, job: int) -> dict[int, bytes]:
    with app.store.engine.connect() as conn:
        rows = conn.execute(select(table.c.batch, table.c[column]).where(table.c.job == job))
        return {batch: bytes(value) for batch, value in rows}


def _store_plain(app: App, table: Table, column: str, job: int) -> None:
    """Store a job's values uncompressed, as versions before compression did."""
    with app.store.begin() as conn:
        for batch, value in _stored(app, table, column, job).items():
            conn.execute(update(table).where(table.c.job == job, table.c.batch == batch)
                         .values({column: unpack(value)}))


def test_pack_round_trips_and_plain_values_pass_through() -> None:
    data = b'{"key":"a@example.com"}\n' * 500
    packed = pack(data)
    assert packed.startswith(MAGIC) and len(packed) < len(data) // 10
    assert unpack(packed) == data
    assert unpack(data) == data          # stored uncompressed by an earlier version
    assert unpack(b"") == b""


def test_batches_and_blocks_are_stored_compressed_and_hashed_as_json(
        small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    assert app.jobs.decide(job, "bob", "approve").state == "succeeded"
    digests = {h.batch: h.digest for h in PlanRows(app.store).headers(job)}
    batches = _stored(app, t.batch_changes, "changes", job)
    assert batches.keys() == digests.keys()
    for batch, stored in batches.items():
        assert stored.startswith(MAGIC)
        # The digest the approval covers is over the JSON lines, not what is stored.
        assert hashlib.sha256(unpack(stored)).hexdigest() == digests[batch]
        assert unpack(stored).startswith(b'{"after":')
    with app.store.engine.connect() as conn:
        hashes = dict(conn.execute(select(t.ledger_blocks.c.batch, t.ledger_blocks.c.hash)
                                   .where(t.ledger_blocks.c.job == job)).all())
    blocks = _stored(app, t.ledger_blocks, "entries", job)
    assert blocks.keys() == hashes.keys() and blocks
    for batch, stored in blocks.items():
        assert stored.startswith(MAGIC)
        assert chain.block_hash(unpack(stored)) == hashes[batch]
    assert chain.verify(app.store, job).ok


def test_uncompressed_batches_and_blocks_are_applied_verified_and_rolled_back(
        small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    crm = crm_of(app)
    before = snapshot(crm)
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    _store_plain(app, t.batch_changes, "changes", job)
    assert not any(v.startswith(MAGIC)
                   for v in _stored(app, t.batch_changes, "changes", job).values())
    assert app.jobs.decide(job, "bob", "approve").state == "succeeded"
    _store_plain(app, t.ledger_blocks, "entries", job)
    assert chain.verify(app.store, job).ok
    undo = app.jobs.rollback(job, "alice")
    assert undo.summary.get("delete") == 25
    assert app.jobs.decide(undo.job, "bob", "approve").state == "succeeded"
    assert snapshot(crm) == before
    crm.close()
