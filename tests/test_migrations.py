"""Migrations that convert data (plans stored a row per change become a value per batch),
and those that refuse to go back where the older version could not read what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from agents.plans import batch_digest
from agents.requests import JobRequest, ListUploadParams
from approvals.packing import pack
from approvals.plan_rows import PlanRows
from approvals.store import MIGRATIONS, Store, dumps
from tools.changes import Change

CHANGES = [
    Change(op="create", object="contact", key="a@example.com",
           after={"firstname": "Ann", "phone": None}, reason="row 2: new contact"),
    Change(op="update", object="contact", key="b@example.com", before={"lastname": None},
           after={"lastname": "Bé\n\"quoted\""}, reason="row 3: lastname differs"),
    Change(op="add_member", object="list_membership", key="a@example.com", list_name="Expo",
           before={"member": None}, after={"member": "true"}, reason="row 2: joins 'Expo'"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield made
    made.close()


def _migrate(store: Store, revision: str, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _old_plan(store: Store, digest: str) -> int:
    """A job planned by a version before 0009: a row per change."""
    job = store.create_job(JobRequest(params=ListUploadParams(file="l.csv", list="Expo"),
                                      requested_by="alice"))
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO batches (job, batch, stage, size, digest, state, "
                          "applied, failed) VALUES (:job, 1, 1, 3, :digest, 'pending', 0, 0)"),
                     {"job": job, "digest": digest})
        for seq, c in enumerate(CHANGES):
            conn.execute(text(
                'INSERT INTO changes (job, batch, seq, op, "object", "key", list_name, '
                '"before", "after", reason) VALUES (:job, 1, :seq, :op, :object, :key, '
                ':list_name, :before, :after, :reason)'),
                {"job": job, "seq": seq, "op": c.op, "object": c.object, "key": c.key,
                 "list_name": c.list_name, "before": dumps(c.before), "after": dumps(c.after),
                 "reason": c.reason})
    return job


def test_plans_of_row_per_change_are_converted_and_back(store: Store) -> None:
    _migrate(store, "0008")
    job = _old_plan(store, batch_digest(CHANGES))
    _migrate(store, "head")
    assert PlanRows(store).batch(job, 1) == CHANGES
    assert [c for _, _, c in PlanRows(store).changes(job, limit=2, offset=1)] == CHANGES[1:]
    _migrate(store, "0008", down=True)
    with store.engine.connect() as conn:
        rows = conn.execute(text('SELECT seq, "key", reason FROM changes ORDER BY seq')).all()
    assert [tuple(r) for r in rows] == [(i, c.key, c.reason) for i, c in enumerate(CHANGES)]


def test_a_plan_altered_in_the_store_is_not_converted(store: Store) -> None:
    _migrate(store, "0008")
    _old_plan(store, batch_digest(CHANGES[:2]))       # the digest of another plan
    with pytest.raises(RuntimeError, match="do not match its digest"):
        _migrate(store, "head")


def test_ledger_blocks_refuse_a_downgrade_that_could_not_read_them(store: Store) -> None:
    _migrate(store, "head")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO ledger_blocks (job, batch, entries, hash) "
                          "VALUES (1, 1, :entries, :hash)"), {"entries": b"{}", "hash": "0" * 64})
    _migrate(store, "0010", down=True)   # one step at a time: SQLite's DDL is not atomic here
    with pytest.raises(RuntimeError, match="1 batches keep their ledger entries as blocks"):
        _migrate(store, "0009", down=True)
    with store.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger_blocks")).scalar() == 1
        conn.execute(text("DELETE FROM ledger_blocks"))
    _migrate(store, "0009", down=True)
    with store.engine.connect() as conn:
        assert "ledger_blocks" not in inspect(conn).get_table_names()


def test_a_downgrade_past_compression_leaves_every_value_plain(store: Store) -> None:
    _migrate(store, "head")
    plain = b'{"after":{"firstname":"Ann"},"key":"a@example.com"}\n' * 50
    job = store.create_job(JobRequest(params=ListUploadParams(file="l.csv", list="Expo"),
                                      requested_by="alice"))
    with store.engine.begin() as conn:
        for batch, value in ((1, pack(plain)), (2, plain)):   # compressed, and from before
            conn.execute(text("INSERT INTO batches (job, batch, stage, size, digest, state,"
                              " applied, failed) VALUES (:job, :batch, 0, 50, 'd', 'pending',"
                              " 0, 0)"), {"job": job, "batch": batch})
            conn.execute(text("INSERT INTO batch_changes (job, batch, changes) VALUES "
                              "(:job, :batch, :value)"), {"job": job, "batch": batch,
                                                          "value": value})
            conn.execute(text("INSERT INTO ledger_blocks (job, batch, entries, hash) VALUES "
                              "(:job, :batch, :value, :hash)"),
                         {"job": job, "batch": batch, "value": value, "hash": "0" * 64})
    _migrate(store, "0011", down=True)
    with store.engine.connect() as conn:
        for query in ("SELECT changes FROM batch_changes", "SELECT entries FROM ledger_blocks"):
            assert [bytes(v) for v in conn.execute(text(query)).scalars()] == [plain, plain]
    _migrate(store, "head")
