"""UTM fix as a job: links files and contacts, through the gate, the ledger and rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.requests import JobRequest
from agents.utm_fix import UtmFixParams
from approvals import chain
from mops.app import App
from tasks.lifecycle import PlanningFailed
from tests.helpers import crm_of, snapshot, write_csv
from tests.test_utm_taxonomy import EXAMPLE as TAXONOMY
from tools.errors import InputError
from tools.records import Record

LINKS = (
    "name;link;note\r\n"
    '"spring";https://x.test/a?utm_source=FB&utm_medium=PPC&utm_campaign=Spring%20Sale&b=1#top;'
    '"keep ""this"""\r\n'
    "odd;https://x.test/b?utm_source=tiktok&utm_medium=cpc&utm_campaign=x;\r\n"
    "fine;https://x.test/c?utm_source=google&utm_medium=cpc&utm_campaign=y;\r\n"
    "untagged;https://x.test/d?page=2;\r\n"
)


def _run(app: App, params: UtmFixParams, target: str = "sandbox") -> int:
    """Request, approve (as someone else) and run a job; returns its id."""
    job = app.jobs.request(JobRequest(params=params, requested_by="alice",
                                      target=params.target(target)))
    if job.state == "awaiting_approval":
        app.jobs.decide(job.job, "bob", "approve")
    return job.job


def _undo(app: App, job: int) -> None:
    undo = app.jobs.rollback(job, "alice")
    if undo.state == "awaiting_approval":
        app.jobs.decide(undo.job, "bob", "approve")
    assert app.store.get(undo.job).state == "succeeded"


def test_a_links_file_is_fixed_into_a_copy_and_the_rollback_restores_it(
        app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", TAXONOMY)
    source = write_csv(tmp_path / "ads.csv", LINKS)
    original = source.read_bytes()
    params = UtmFixParams(taxonomy=str(taxonomy), links=str(source), column="link")
    job = _run(app, params)
    done = app.store.get(job)
    assert done.state == "succeeded"
    assert done.summary["update"] == 1 and done.summary["unchanged"] == 3
    fixed = (tmp_path / "ads.fixed.csv").read_text(encoding="utf-8")
    assert ("https://x.test/a?utm_source=facebook&utm_medium=cpc&utm_campaign=spring-sale"
            "&b=1#top") in fixed
    assert "utm_source=tiktok" in fixed            # needs a decision: left as it is
    assert fixed.splitlines()[2:] == LINKS.splitlines()[2:]
    assert source.read_bytes() == original         # the input is never written
    _undo(app, job)
    assert (tmp_path / "ads.fixed.csv").read_bytes() == original
    assert chain.verify(app.store).ok


def test_values_needing_a_decision_are_listed_and_the_rest_can_be_approved(
        app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", TAXONOMY)
    source = write_csv(tmp_path / "ads.csv", LINKS)
    params = UtmFixParams(taxonomy=str(taxonomy), links=str(source), column="link")
    job = app.jobs.request(JobRequest(params=params, requested_by="alice",
                                      target=params.target("sandbox")))
    assert job.summary["needs_decision"] == 1
    assert any("needs a decision: utm_source 'tiktok' in 1 row(s) (e.g. row 3)" in n
               for n in job.notes)
    assert app.jobs.decide(job.job, "bob", "approve").state == "succeeded"


def test_fixing_the_fixed_file_plans_no_changes(app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", TAXONOMY)
    source = write_csv(tmp_path / "ads.csv", LINKS)
    _run(app, UtmFixParams(taxonomy=str(taxonomy), links=str(source), column="link"))
    again = UtmFixParams(taxonomy=str(taxonomy), links=str(tmp_path / "ads.fixed.csv"),
                         column="link", out=str(tmp_path / "twice.csv"))
    job = app.jobs.request(JobRequest(params=again, requested_by="alice",
                                      target=again.target("sandbox")))
    assert job.total == 0


def test_an_output_over_the_input_or_someone_elses_file_is_refused(
        app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", TAXONOMY)
    source = write_csv(tmp_path / "ads.csv", LINKS)
    theirs = write_csv(tmp_path / "theirs.csv", "keep me\n")
    for out, message in ((source, "--out is the input file"),
                         (theirs, "exists and was not written by mops")):
        params = UtmFixParams(taxonomy=str(taxonomy), links=str(source), column="link",
                              out=str(out))
        with pytest.raises(PlanningFailed, match=message):
            app.jobs.request(JobRequest(params=params, requested_by="alice",
                                        target=params.target("sandbox")))
    assert theirs.read_text() == "keep me\n"
    assert app.store.jobs() == []


def test_contacts_utm_fields_are_fixed_in_place_and_rolled_back(
        app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", TAXONOMY)
    crm = crm_of(app)
    try:
        crm.create_contacts([
            Record(key="a@x.test", fields={"utm_source": "FB", "utm_medium": "E-Mail"}),
            Record(key="b@x.test", fields={"utm_source": "tiktok", "utm_campaign": "Q1 Push"}),
            Record(key="c@x.test", fields={"utm_source": "google"}),
            Record(key="d@x.test", fields={"firstname": "Dee"}),
        ])
        before = snapshot(crm)
        job = _run(app, UtmFixParams(taxonomy=str(taxonomy), object="contact"))
        assert app.store.get(job).state == "succeeded"
        fields = {r.key: r.fields for r in crm.iter_contacts()}
        assert fields["a@x.test"]["utm_source"] == "facebook"
        assert fields["a@x.test"]["utm_medium"] == "email"
        assert fields["b@x.test"]["utm_source"] == "tiktok"       # needs a decision
        assert fields["b@x.test"]["utm_campaign"] == "q1-push"    # the rest is fixed
        again = app.jobs.request(JobRequest(
            params=UtmFixParams(taxonomy=str(taxonomy), object="contact"),
            requested_by="alice"))
        assert again.total == 0                                    # idempotent
        _undo(app, job)
        assert snapshot(crm) == before
    finally:
        crm.close()


def test_a_bad_taxonomy_fails_the_request_and_leaves_no_job(app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", "[utm]\ncase = 'upper'\n")
    with pytest.raises(PlanningFailed, match="utm.toml, field 'utm.case'"):
        app.jobs.request(JobRequest(params=UtmFixParams(taxonomy=str(taxonomy),
                                                        object="contact"),
                                    requested_by="alice"))
    assert app.store.jobs() == []


def test_a_links_file_changed_after_the_plan_is_refused_before_any_write(
        app: App, tmp_path: Path) -> None:
    taxonomy = write_csv(tmp_path / "utm.toml", TAXONOMY)
    source = write_csv(tmp_path / "ads.csv", LINKS)
    params = UtmFixParams(taxonomy=str(taxonomy), links=str(source), column="link")
    job = app.jobs.request(JobRequest(params=params, requested_by="alice",
                                      target=params.target("sandbox")))
    write_csv(source, LINKS.replace("https://x.test/d?page=2", "https://evil.test/"))
    with pytest.raises(InputError, match="ads.csv: changed since the plan was made"):
        app.jobs.decide(job.job, "bob", "approve")
    assert not (tmp_path / "ads.fixed.csv").exists()
    assert app.store.get(job.job).state != "succeeded"
