"""Properties: apply then roll back leaves the CRM exactly as before, whatever the CSV."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals import chain
from tests.helpers import crm_of, make_app, snapshot, upload
from tools.records import Record

POOL = [f"user{i}@example.com" for i in range(12)]
NAMES = st.sampled_from(["", "Ann", "Bob", "Ça", "Dee", "  Eve  "])
COUNTRIES = st.sampled_from(["", "DE", "France", "us", "United Kingdom"])
EMAILS = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL).map(str.upper),
                   st.just("broken-address"))
ROW = st.tuples(EMAILS, NAMES, NAMES, COUNTRIES)
EXISTING = st.dictionaries(st.sampled_from(POOL), st.tuples(NAMES, COUNTRIES), max_size=8)


def _csv(rows: list[tuple[str, str, str, str]], delimiter: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["E-mail", "First Name", "Last Name", "Country"])
    writer.writerows(rows)
    return buf.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(existing=EXISTING, rows=st.lists(ROW, max_size=20), delimiter=st.sampled_from(",;\t"),
       members=st.lists(st.sampled_from(POOL), max_size=4), batch_size=st.integers(1, 7))
def test_apply_then_rollback_restores_the_crm(
    existing: dict[str, tuple[str, str]], rows: list[tuple[str, str, str, str]],
    delimiter: str, members: list[str], batch_size: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        app = make_app(home, batch_size=batch_size)
        crm = crm_of(app)
        try:
            crm.create_contacts([Record(key=k, fields={"firstname": n.strip() or None,
                                                       "country": c or None})
                                 for k, (n, c) in existing.items()])
            crm.create_list("Expo")
            crm.add_members("Expo", [m for m in members if m in existing])
            before = snapshot(crm)
            (home / "leads.csv").write_text(_csv(rows, delimiter), encoding="utf-8")
            job = upload(app, home / "leads.csv")
            if app.store.get(job).state == "awaiting_approval":
                app.jobs.decide(job, "bob", "approve")
            if app.store.get(job).total:
                undo = app.jobs.rollback(job, "alice")
                if undo.state == "awaiting_approval":
                    app.jobs.decide(undo.job, "bob", "approve")
            assert snapshot(crm) == before
            assert chain.verify(app.store).ok
        finally:
            crm.close()
            app.close()
