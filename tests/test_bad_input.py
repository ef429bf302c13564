"""Bad input gets a clear error naming the file, row and field, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from approvals import schema as t
from mops.app import App
from tasks.lifecycle import PlanningFailed
from tests.helpers import crm_of, snapshot, upload
from tools.errors import InputError
from tools.records import Record

GOOD_START = "email,firstname\n" + "".join(f"ok{i}@example.com,Ok\n" for i in range(30))

CASES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    "latin-1 mid-file": ((GOOD_START + "jos\xe9@example.com,Jos\xe9\n").encode("latin-1"),
                         "row 32"),
    "empty": (b"", "empty"),
    "no email column": (b"name,company\nAda,Engines\n", "no email column"),
}


def _rows(app: App) -> dict[str, int]:
    with app.store.engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (t.jobs, t.transitions, t.batch_changes, t.rejects, t.ledger,
                              t.ledger_blocks)}


@pytest.mark.parametrize("case", list(CASES))
def test_unreadable_file_fails_clearly_and_touches_nothing(app: App, tmp_path: Path,
                                                           case: str) -> None:
    data, expected = CASES[case]
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    crm = crm_of(app)
    crm.create_contacts([Record(key="keep@example.com", fields={"firstname": "Keep"})])
    before, rows_before = snapshot(crm), _rows(app)
    with pytest.raises((InputError, PlanningFailed)) as info:
        upload(app, path)
    assert "leads.csv" in str(info.value) and expected in str(info.value)
    assert snapshot(crm) == before
    assert _rows(app) == rows_before
    crm.close()


def test_unknown_map_field_names_the_valid_ones(app: App, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Mail,Vorname\na@example.com,Ann\n")
    with pytest.raises((InputError, PlanningFailed), match="Vorname"):
        upload(app, path, mapping={"Mail": "email", "Vorname": "first_name"})
    assert _rows(app)["jobs"] == 0


def test_bad_rows_are_reported_not_dropped(app: App, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"email,country\ngood@example.com,DE\nnot-an-email,DE\n"
                     b"x@example.com,Narnia\nGOOD@example.com ,FR\n")
    job = upload(app, path)
    rejects = app.runtime.rows.rejects(job)
    assert [(r["row"], r["kind"], r["field"]) for r in rejects] == [
        (3, "rejected", "email"), (4, "rejected", "country"), (5, "duplicate", "email")]
    assert "not-an-email" in rejects[0]["reason"] and "Narnia" in rejects[1]["reason"]
    assert "row 2" in rejects[2]["reason"]
    summary = app.store.get(job).summary
    assert summary["create"] == 1 and summary["rejected"] == 2 and summary["duplicate"] == 1
