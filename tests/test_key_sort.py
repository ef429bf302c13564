"""Key order: `tools.key_sort` in memory and spilled to disk, and list uploads planned by it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mops.app import App
from tests.helpers import make_app, upload, write_csv
from tools import key_sort
from tools.key_sort import KeySort

Item = tuple[str, int]


def _sort(spill: int) -> KeySort[Item]:
    return KeySort(lambda item: orjson.dumps(item),
                   lambda blob: tuple(orjson.loads(blob)),  # type: ignore[arg-type]
                   spill=spill)


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.text(max_size=4), max_size=60), spill=st.integers(1, 70),
       page=st.integers(1, 9))
def test_items_come_back_in_code_point_order_stable_in_memory_and_spilled(
        keys: list[str], spill: int, page: int) -> None:
    sort = _sort(spill)
    for n, key in enumerate(keys):
        sort.add(key, (key, n))
    pages = list(sort.pages(page))
    assert all(0 < len(p) <= page for p in pages)
    # Python's sort is by code point and stable: what the spilled SQLite sort must match.
    assert [item for p in pages for item in p] == sorted(
        ((key, n) for n, key in enumerate(keys)), key=lambda item: item[0])


def test_a_sort_left_half_read_can_be_closed(tmp_path: Path) -> None:
    sort = _sort(spill=2)
    for n, key in enumerate("dcba"):
        sort.add(key, (key, n))
    pages = sort.pages(1)
    assert next(pages) == [("a", 3)]
    sort.close()
    sort.close()                                   # twice is fine


LEADS = ("Email,First Name\n"
         "zed@example.com,Zed\n"
         "Amy@example.com,Amy\n"
         "mia@example.com,Mia\n"
         "amy@example.com,Second Amy\n"
         "not-an-email,Bad\n"
         "bob@example.com,Bob\n"
         " ZED@example.com ,Second Zed\n")


@pytest.mark.parametrize("spill", [2, key_sort.SPILL])
def test_a_list_upload_is_planned_in_email_order_keeping_the_first_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill: int) -> None:
    monkeypatch.setattr(key_sort, "SPILL", spill)
    app: App = make_app(tmp_path, batch_size=2)
    try:
        job = upload(app, write_csv(tmp_path / "leads.csv", LEADS))
        changes = [(batch, c.op, c.key, c.after) for batch, _, c in app.runtime.rows.changes(job)]
        creates = [(key, after) for _, op, key, after in changes if op == "create" and after
                   and "firstname" in after]
        assert creates == [("amy@example.com", {"firstname": "Amy"}),
                           ("bob@example.com", {"firstname": "Bob"}),
                           ("mia@example.com", {"firstname": "Mia"}),
                           ("zed@example.com", {"firstname": "Zed"})]
        members = [key for _, op, key, _ in changes if op == "add_member"]
        assert members == sorted(members) and len(members) == 4
        # Batches of two: each batch holds neighbouring keys.
        batches = [b for b, op, _, _ in changes if op == "create" and b != changes[0][0]]
        assert batches == sorted(batches)
        rejects = app.runtime.rows.rejects(job)
        assert [(r["row"], r["kind"], r["reason"]) for r in rejects] == [
            (5, "duplicate", "duplicate of row 3 (same email); the first row is used"),
            (6, "rejected", rejects[1]["reason"]),
            (8, "duplicate", "duplicate of row 2 (same email); the first row is used")]
    finally:
        app.close()


def test_the_upload_spills_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          ) -> None:
    spilled: list[int] = []
    write_out = KeySort._write_out

    def counting(self: KeySort[object]) -> None:
        spilled.append(len(self._held))
        write_out(self)

    monkeypatch.setattr(KeySort, "_write_out", counting)
    monkeypatch.setattr(key_sort, "SPILL", 2)
    app: App = make_app(tmp_path)
    try:
        upload(app, write_csv(tmp_path / "leads.csv", LEADS))
    finally:
        app.close()
    assert spilled[:3] == [2, 2, 2]
