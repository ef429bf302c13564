"""Backfill as a job: fills only what is empty (unless told), counts what it cannot decide,
and rolls back to the empty values."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.backfill import BackfillParams
from agents.requests import JobRequest
from approvals import chain
from mops.app import App
from tasks.lifecycle import PlanningFailed
from tests.helpers import crm_of, make_app, snapshot, write_csv
from tools.records import Record

POOL = [f"p{i}@{d}" for i, d in enumerate(["acme.de", "gmail.com", "shop.co.uk", "x.fr"] * 3)]
VALUES = st.sampled_from([None, "", "DE", "FR", "Acme", "+49 30 1234567", "+33 1 23 45 67 89"])
CONTACTS = st.dictionaries(
    st.sampled_from(POOL),
    st.fixed_dictionaries({"country": VALUES, "company": VALUES, "phone": VALUES,
                           "city": VALUES}),
    max_size=10)
SOURCES = st.sampled_from([
    {"value": "NL"}, {"from_field": "city"}, {"derive": "country_from_phone"},
    {"derive": "country_from_email_tld"},
])


def _request(app: App, params: BackfillParams) -> int:
    job = app.jobs.request(JobRequest(params=params, requested_by="alice"))
    if job.state == "awaiting_approval":
        app.jobs.decide(job.job, "bob", "approve")
    return job.job


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contacts=CONTACTS, source=SOURCES, overwrite=st.booleans(),
       batch_size=st.integers(1, 5))
def test_backfill_then_rollback_restores_the_values_and_keeps_what_was_filled(
        contacts: dict[str, dict[str, str | None]], source: dict[str, str], overwrite: bool,
        batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), batch_size=batch_size)
        crm = crm_of(app)
        try:
            crm.create_contacts([Record(key=k, fields={f: v or None for f, v in c.items()})
                                 for k, c in contacts.items()])
            before = snapshot(crm)
            filled_before = {r.key: r.fields.get("country") for r in crm.iter_contacts()}
            job = _request(app, BackfillParams(field="country", overwrite=overwrite,
                                               **source))  # type: ignore[arg-type]
            after = {r.key: r.fields.get("country") for r in crm.iter_contacts()}
            if not overwrite:   # a value that was there is never touched
                for key, value in filled_before.items():
                    if value:
                        assert after[key] == value
            if app.store.get(job).total:
                undo = app.jobs.rollback(job, "alice")
                if undo.state == "awaiting_approval":
                    app.jobs.decide(undo.job, "bob", "approve")
            assert snapshot(crm) == before
            assert chain.verify(app.store).ok
        finally:
            crm.close()
            app.close()


def _seed(app: App) -> None:
    crm = crm_of(app)
    try:
        crm.create_contacts([
            Record(key="ann@acme-corp.de", fields={"phone": "+49 30 1234567"}),
            Record(key="bob@gmail.com", fields={"phone": "030 1234567"}),
            Record(key="cy@shop.co.uk", fields={"country": "GB", "company": "Shop Ltd",
                                                "website": "shop.co.uk"}),
            Record(key="di@x.test", fields={"website": "x.test", "lead_source": "Expo"}),
        ])
    finally:
        crm.close()


def _fields(app: App) -> dict[str, dict[str, str | None]]:
    crm = crm_of(app)
    try:
        return {r.key: r.fields for r in crm.iter_contacts()}
    finally:
        crm.close()


def test_a_derivation_fills_what_it_can_decide_and_counts_the_rest(app: App) -> None:
    _seed(app)
    job = _request(app, BackfillParams(field="country", derive="country_from_phone"))
    done = app.store.get(job)
    assert done.state == "succeeded"
    assert done.summary["update"] == 1          # ann: +49
    assert done.summary["undecided"] == 2       # bob: no country code; di: no phone
    assert done.summary["kept"] == 1            # cy has a country
    assert _fields(app)["ann@acme-corp.de"]["country"] == "DE"


def test_free_mail_never_gives_a_company(app: App) -> None:
    _seed(app)
    _request(app, BackfillParams(field="company", derive="company_from_email_domain"))
    fields = _fields(app)
    assert fields["ann@acme-corp.de"]["company"] == "Acme Corp"
    assert not fields["bob@gmail.com"].get("company")
    assert fields["cy@shop.co.uk"]["company"] == "Shop Ltd"   # not empty: kept


def test_where_narrows_the_records_and_overwrite_replaces(app: App) -> None:
    _seed(app)
    job = _request(app, BackfillParams(field="lead_source", value="Web", overwrite=True,
                                       where="website is not empty and country != 'GB'"))
    done = app.store.get(job)
    assert done.summary["update"] == 1 and done.summary["not_matching"] == 3
    assert any("only contacts where" in n for n in done.notes)
    assert _fields(app)["di@x.test"]["lead_source"] == "Web"


def test_a_map_file_fills_by_key(app: App, tmp_path: Path) -> None:
    _seed(app)
    mapping = write_csv(tmp_path / "sites.csv", "Website,Company\nX.TEST ,Ex Inc\nnope,No\n")
    job = _request(app, BackfillParams(field="company", map_file=str(mapping),
                                       key="website"))
    assert app.store.get(job).summary["update"] == 1
    assert _fields(app)["di@x.test"]["company"] == "Ex Inc"


@pytest.mark.parametrize(("params", "message"), [
    ({"field": "country", "derive": "company_from_email_domain"},
     "company_from_email_domain fills company, not country"),
    ({"field": "email", "value": "x"}, "'email' is not a contact field mops can write"),
    ({"field": "country", "value": "Atlantis"}, "'Atlantis' is not a valid country"),
    ({"field": "country", "from_field": "shoe_size"}, "--from 'shoe_size' is not a contact"),
    ({"field": "country", "value": "DE", "where": "country = 'x'; DROP TABLE contacts"},
     "--where"),
    ({"field": "country", "derive": "lead_source_from_utm"}, "needs the UTM taxonomy"),
])
def test_bad_parameters_fail_the_request_with_a_clear_error_and_write_nothing(
        app: App, params: dict[str, str], message: str) -> None:
    _seed(app)
    before = _fields(app)
    with pytest.raises(PlanningFailed, match=message):
        app.jobs.request(JobRequest(params=BackfillParams(**params),  # type: ignore[arg-type]
                                    requested_by="alice"))
    assert app.store.jobs() == [] and _fields(app) == before


def test_a_map_with_two_values_for_one_key_names_both_rows(app: App, tmp_path: Path) -> None:
    _seed(app)
    mapping = write_csv(tmp_path / "sites.csv", "website,company\nx.test,A\n\nX.test,B\n")
    with pytest.raises(PlanningFailed, match=r"sites.csv, row 4: .*'A' in row 2 and to 'B'"):
        app.jobs.request(JobRequest(params=BackfillParams(
            field="company", map_file=str(mapping), key="website"), requested_by="alice"))


def test_exactly_one_source_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one of --from, --value, --derive, --map"):
        BackfillParams(field="country", value="DE", derive="country_from_phone")
    with pytest.raises(ValueError, match="--map FILE and --key FIELD go together"):
        BackfillParams(field="company", map_file="m.csv")
