"""Phones parsed in helper processes (`tools.phone_pool`): the same leads as parsing in-process,
in the same order, and helpers that die or cannot start fall back to parsing in-process."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from tests.helpers import make_app, upload
from tools.errors import CsvError
from tools.leads import LeadChunk, read_leads
from tools.phone_pool import MIN_FILE_BYTES, PhoneParser, helpers_for, parse_phones

PHONES = ["030 1234567", "(415) 555-0100", "+44 20 7946 0000", "n/a", "", "0176 12345678",
          "+1 212 555 0199 ext. 7", "12", "0044 20 7946 0000"]
COUNTRIES = ["Germany", "usa", "", "DE", "France", "Narnia", "GB", ""]


def _file(tmp_path: Path, rows: int) -> Path:
    lines = ["Email,Phone,Country,First Name"]
    for i in range(rows):
        email = f"lead{i % (rows - 3)}@example.com" if i % 11 else f"bad-{i}"
        lines.append(f"{email},{PHONES[i % len(PHONES)]},{COUNTRIES[i % len(COUNTRIES)]},N{i}")
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path: Path, helpers: int, size: int) -> list[LeadChunk]:
    with read_leads(path, None, helpers) as reader:
        return list(reader.chunks(size))


def test_helpers_give_the_same_chunks_in_the_same_order(tmp_path: Path) -> None:
    path = _file(tmp_path, 500)
    here = _read(path, 0, 17)
    assert len(here) == 30
    with read_leads(path, None, 2) as reader:
        assert list(reader.chunks(17)) == here
        assert reader._phones.processes == 2        # parsed in the helpers, to the end
    phones = {lead.fields.get("phone") for chunk in here for lead in chunk.leads}
    assert {"+49301234567", "+14155550100", "+442079460000", "n/a"} <= phones
    assert sum(len(c.rejects) for c in here) > 0


def test_phone_helpers_are_born_with_ctrl_c_held_and_ignore_it() -> None:
    parser = PhoneParser(1)
    try:
        assert parser.submit([("030 1234567", "DE")]).result() == ["+49301234567"]
        [helper] = multiprocessing.active_children()
        status = Path(f"/proc/{helper.pid}/status").read_text().splitlines()
        fields = {line.split(":")[0]: int(line.split()[1], 16) for line in status
                  if line.startswith(("SigBlk:", "SigIgn:"))}
        bit = 1 << (signal.SIGINT - 1)
        assert fields["SigBlk"] & bit and fields["SigIgn"] & bit
    finally:
        parser.close()


def test_a_helper_that_dies_leaves_the_parse_to_this_process() -> None:
    parser = PhoneParser(1)
    try:
        first = parser.submit([("030 1234567", "DE")])
        assert first.result() == ["+49301234567"]        # the helper is up
        for child in multiprocessing.active_children():
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join()
        pending = parser.submit([("(415) 555-0100", "US")])
        assert pending.result() == ["+14155550100"]
        later = parser.submit([("+44 20 7946 0000", "")])
        assert later.result() == ["+442079460000"]
        assert parser.processes == 0                     # no helpers from then on
    finally:
        parser.close()
    assert multiprocessing.active_children() == []


def test_closing_the_reader_stops_its_helpers_even_halfway(tmp_path: Path) -> None:
    path = _file(tmp_path, 300)
    with read_leads(path, None, 2) as reader:
        chunks = reader.chunks(10)
        assert next(chunks).leads
        assert multiprocessing.active_children()
    assert multiprocessing.active_children() == []


def test_a_file_unreadable_halfway_gives_the_chunks_before_the_error(tmp_path: Path) -> None:
    path = _file(tmp_path, 150)
    with path.open("a") as out:
        out.write('x@example.com,"never closed\ny@example.com,1,DE,N\n')
    given: list[list[LeadChunk]] = []
    for helpers in (0, 2):
        chunks: list[LeadChunk] = []
        given.append(chunks)
        with pytest.raises(CsvError, match="row 152"), read_leads(path, None, helpers) as r:
            for chunk in r.chunks(10):
                chunks.append(chunk)
    assert len(given[0]) == 15                      # rows 2-151, ten at a time
    assert given[1] == given[0]


def test_parse_phones_is_normalize_phone_per_key() -> None:
    assert parse_phones([("030 1234567", "DE"), ("030 1234567", ""), ("n/a", "US")]) == [
        "+49301234567", "030 1234567", "n/a"]


def test_how_many_helpers_a_file_gets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_text("email\n")
    with large.open("wb") as out:
        out.truncate(MIN_FILE_BYTES)
    assert helpers_for(str(small), 2) == 0              # too small to pay for them
    assert helpers_for(str(tmp_path / "missing.csv"), 2) == 0   # opening it says why
    assert helpers_for(str(large), 3) == 3
    assert helpers_for(str(large), 0) == 0
    monkeypatch.setattr("tools.spawning.usable_cores", lambda: 4)
    assert helpers_for(str(large), None) == 4
    monkeypatch.setattr("tools.spawning.usable_cores", lambda: 64)
    assert helpers_for(str(large), None) == 4           # at most four unless configured
    monkeypatch.setattr("tools.spawning.usable_cores", lambda: 1)
    assert helpers_for(str(large), None) == 0           # one core: nothing to gain


def test_an_upload_planned_with_helpers_is_the_same_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.phone_pool.MIN_FILE_BYTES", 0)   # helpers for any file
    started: list[int] = []

    class Counted(PhoneParser):
        def __init__(self, processes: int = 0) -> None:
            super().__init__(processes)
            started.append(processes)

    monkeypatch.setattr("tools.leads.PhoneParser", Counted)
    path = _file(tmp_path, 12_000)                             # three chunks of 5,000
    digests = []
    for helpers in (0, 2):
        app = make_app(tmp_path / f"home-{helpers}", helpers=helpers)
        job = app.store.get(upload(app, path))
        assert job.state == "awaiting_approval"
        digests.append((job.digest, job.summary))
    assert started == [0, 2]
    assert digests[0] == digests[1]
    assert digests[0][1]["rejected"] > 0 and digests[0][1]["create"] > 0
