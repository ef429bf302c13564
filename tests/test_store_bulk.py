"""The store's bulk paths (driver executemany / COPY, keyed pages) keep what they replaced:
the same digest bytes, the same rows read back, the same chain."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from agents.plans import batch_digest, decode_batch, encode_batch
from approvals import chain, ledger
from mops.app import App
from tests.helpers import SMALL_LEADS as LEADS
from tests.helpers import as_rows, crm_of, upload, write_csv
from tools.changes import Change, canonical_json
from tools.records import Record


def _finished(app: App, tmp_path: Path) -> int:
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    app.jobs.decide(job, "bob", "approve")
    return job


def test_canonical_bytes_are_those_of_the_model_dump() -> None:
    changes = [
        Change(op="update", object="contact", key="a@b.com", before={"phone": None, "city": "x"},
               after={"phone": "+4930", "city": "ÿ"}, reason="row 2: phone, city differ"),
        Change(op="add_member", object="list_membership", key="a@b.com", list_name="Expo",
               before={"member": None}, after={"member": "true"}),
        Change(op="create", object="list", key="Expo", after={"name": "Expo"}),
    ]
    for change in changes:
        assert change.canonical() == canonical_json(change.model_dump())
    # Pinned: stored plans were approved on these bytes; a change here breaks every digest.
    assert changes[2].canonical() == (
        b'{"after":{"name":"Expo"},"before":null,"key":"Expo","list_name":null,'
        b'"object":"list","op":"create","reason":""}')


@pytest.mark.parametrize("line", [
    b'{"op":"upsert","object":"contact","key":"a@b.com"}',            # no such operation
    b'{"op":"create","object":"deal","key":"a@b.com"}',               # no such object
    b'{"op":"create","object":"contact","key":"a@b.com","sql":"x"}',  # an extra field
    b'{"op":"create","object":"contact","key":"a@b.com","after":{"city":1}}',  # not text
])
def test_changes_read_from_storage_are_validated(line: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_batch(line + b"\n")


def test_a_change_made_in_code_needs_a_known_op_object_and_a_text_key() -> None:
    with pytest.raises(ValueError, match="not 'upsert' on 'contact'"):
        Change(op="upsert", object="contact", key="a@b.com")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key must be text"):
        Change(op="create", object="contact", key=12345)  # type: ignore[arg-type]
    # A value other than text is refused where the stored plan is read back.
    odd = Change(op="create", object="contact", key="a@b.com", after={"zip": 12345})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        decode_batch(encode_batch([odd]))
    made = Change(op="create", object="contact", key="a@b.com", after={"city": "x"})
    assert made.model_copy(update={"key": "c@d.com"}).key == "c@d.com" and made.key == "a@b.com"
    with pytest.raises(FrozenInstanceError):   # made through the slots' setters, yet frozen
        made.key = "c@d.com"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del made.after
    assert made == Change("create", "contact", "a@b.com", None, {"city": "x"})


def test_plan_rows_read_back_as_written(small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    headers = app.runtime.rows.headers(job)
    for header in headers:
        assert batch_digest(app.runtime.rows.batch(job, header.batch)) == header.digest
    paged = [c for _, _, c in app.runtime.rows.changes(job)]
    assert len(paged) == sum(h.size for h in headers) == 1 + 25 + 25


def test_ledger_entries_stream_in_chain_order(small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    job = _finished(app, tmp_path)
    as_rows(app, job, 3)                          # one batch as versions before 0010 wrote it
    whole = list(ledger.entries(app.store, job))
    assert [(e.batch, e.seq) for e in whole] == sorted((e.batch, e.seq) for e in whole)
    assert len(whole) == 1 + 25 + 25 and {e.status for e in whole} == {"applied"}
    assert all(e.hash for e in whole)
    assert {e.prev_hash is None for e in whole if e.batch != 3} == {True}
    assert list(ledger.entries(app.store, job, 3)) == [e for e in whole if e.batch == 3]
    in_rows = next(e.change.key for e in whole if e.batch == 3)
    in_block = next(e.change.key for e in whole if e.batch == 4)
    for key in (in_block, in_rows):
        one = list(ledger.entries(app.store, job, key=key))
        assert {e.change.op for e in one} == {"create", "add_member"}
        assert one == [e for e in whole if e.change.key == key]
    assert list(ledger.entries(app.store, job, key="Expo")) == [
        e for e in whole if e.change.key == "Expo"]   # the list: its name is in every block


def test_applied_batches_yield_each_applied_entry_once_and_verify(small_batches: App,
                                                                  tmp_path: Path) -> None:
    app = small_batches
    job = _finished(app, tmp_path)
    result = chain.Verification()
    got = [e for batch in chain.applied_batches(app.store, job, result) for e in batch]
    assert result.ok and result.jobs == 1 and result.entries == len(got) == 51
    read = [e for e in ledger.entries(app.store, job) if e.status == "applied"]
    assert [tuple(e) for e in got] == [
        (e.seq, e.change.op, e.change.object, e.change.key, e.change.list_name,
         e.change.before, e.change.after) for e in read]


def test_applied_batches_leave_out_failed_entries(small_batches: App, tmp_path: Path) -> None:
    app = small_batches
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS))
    crm = crm_of(app)    # created by someone else after the plan: the job's create fails
    crm.create_contacts([Record(key="u4@example.com", fields={"firstname": "Else"})])
    crm.close()
    app.jobs.decide(job, "bob", "approve")
    result = chain.Verification()
    got = [e for batch in chain.applied_batches(app.store, job, result) for e in batch]
    statuses = {(e.batch, e.seq): e.status for e in ledger.entries(app.store, job)}
    assert result.ok and "failed" in statuses.values()
    assert len(got) == list(statuses.values()).count("applied") < result.entries


def test_the_ledger_has_no_index_on_key(small_batches: App) -> None:
    indexes = inspect(small_batches.store.engine).get_indexes("ledger")
    assert "ix_ledger_key" not in {i["name"] for i in indexes}
