"""A list upload's whole life: plan, gate, apply with a ledger, roll back."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals import chain
from approvals.errors import ApprovalRefused, NothingToRollBack
from mops.app import App
from tests.helpers import crm_of, snapshot, upload, write_csv
from tools.records import Record

LEADS = (
    "Email,First Name,Last Name,Country,Phone\n"
    "new@example.com,New,Person,Germany,030 1234567\n"
    "old@example.com,Olga,Oldman,FR,\n"
    "same@example.com,Sam,Same,,\n"
)


@pytest.fixture
def seeded(app: App) -> App:
    crm = crm_of(app)
    crm.create_contacts([
        Record(key="old@example.com", fields={"firstname": "Olga", "lastname": "Old",
                                              "phone": "+33123456789"}),
        Record(key="same@example.com", fields={"firstname": "Sam", "lastname": "Same"}),
    ])
    crm.close()
    return app


def test_upload_plans_then_waits_for_approval(seeded: App, tmp_path: Path) -> None:
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    view = seeded.store.get(job)
    assert view.state == "awaiting_approval"
    assert view.summary == {"create_list": 1, "create": 1, "update": 1, "unchanged": 1,
                            "add_member": 3}
    changes = {(c.op, c.key): c for _, _, c in seeded.runtime.rows.changes(job)}
    update = changes[("update", "old@example.com")]
    # only the fields that differ; an empty phone cell never blanks the stored phone
    assert update.before == {"lastname": "Old", "country": None}
    assert update.after == {"lastname": "Oldman", "country": "FR"}
    assert changes[("create", "new@example.com")].after == {
        "firstname": "New", "lastname": "Person", "country": "DE", "phone": "+49301234567"}
    crm = crm_of(seeded)
    assert crm.read_contacts(["new@example.com"]) == {}  # nothing written before approval
    crm.close()


def test_approve_applies_and_rollback_restores(seeded: App, tmp_path: Path) -> None:
    crm = crm_of(seeded)
    before = snapshot(crm)
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    done = seeded.jobs.decide(job, "bob", "approve")
    assert done.state == "succeeded"
    assert crm.read_contacts(["old@example.com"])["old@example.com"].fields["lastname"] == (
        "Oldman")
    assert crm.list_members("Expo", ["new@example.com", "old@example.com",
                                     "same@example.com"]) == {
        "new@example.com", "old@example.com", "same@example.com"}
    assert chain.verify(seeded.store).ok

    undo = seeded.jobs.rollback(job, "alice")
    assert undo.state == "awaiting_approval" and undo.kind == "rollback"
    assert seeded.jobs.decide(undo.job, "bob", "approve").state == "succeeded"
    assert snapshot(crm) == before
    assert seeded.store.get(job).state == "rolled_back"
    assert chain.verify(seeded.store).ok
    crm.close()


def test_rollback_does_not_overwrite_a_later_change(seeded: App, tmp_path: Path) -> None:
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    seeded.jobs.decide(job, "bob", "approve")
    crm = crm_of(seeded)
    crm.update_contacts([("old@example.com", {"lastname": "Married-Name"})])
    undo = seeded.jobs.rollback(job, "alice")
    rejects = seeded.runtime.rows.rejects(undo.job)
    assert [r["kind"] for r in rejects] == ["conflict"]
    assert "old@example.com" in rejects[0]["reason"] and rejects[0]["field"] == "lastname"
    seeded.jobs.decide(undo.job, "bob", "approve")
    fields = crm.read_contacts(["old@example.com"])["old@example.com"].fields
    assert fields["lastname"] == "Married-Name"     # kept: someone changed it after us
    assert fields.get("country") is None             # restored: still what we wrote
    crm.close()


def test_unfinished_job_cannot_be_rolled_back(seeded: App, tmp_path: Path) -> None:
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    with pytest.raises(NothingToRollBack):
        seeded.jobs.rollback(job, "alice")


def test_rollback_of_the_same_job_twice_is_refused(seeded: App, tmp_path: Path) -> None:
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    seeded.jobs.decide(job, "bob", "approve")
    seeded.jobs.rollback(job, "alice")
    with pytest.raises(NothingToRollBack, match="already rolling back"):
        seeded.jobs.rollback(job, "alice")


def test_rejected_job_writes_nothing(seeded: App, tmp_path: Path) -> None:
    crm = crm_of(seeded)
    before = snapshot(crm)
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    with pytest.raises(ApprovalRefused, match="needs a comment"):
        seeded.jobs.decide(job, "bob", "reject")
    assert seeded.jobs.decide(job, "bob", "reject", comment="wrong list").state == "rejected"
    with pytest.raises(ApprovalRefused, match="rejected"):
        seeded.jobs.decide(job, "carol", "approve")
    assert snapshot(crm) == before
    crm.close()


def test_rollback_keeps_a_created_list_that_others_joined(seeded: App, tmp_path: Path) -> None:
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    seeded.jobs.decide(job, "bob", "approve")
    crm = crm_of(seeded)
    crm.create_contacts([Record(key="later@example.com")])
    crm.add_members("Expo", ["later@example.com"])          # joined after the upload
    undo = seeded.jobs.rollback(job, "alice")
    [conflict] = seeded.runtime.rows.rejects(undo.job)
    assert conflict["kind"] == "conflict" and "1 member(s) added after" in conflict["reason"]
    seeded.jobs.decide(undo.job, "bob", "approve")
    assert crm.list_exists("Expo")
    assert list(crm.iter_memberships()) == [("Expo", "later@example.com")]
    crm.close()


def test_rollback_keeps_a_created_contact_that_others_filled_in(seeded: App,
                                                                tmp_path: Path) -> None:
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    seeded.jobs.decide(job, "bob", "approve")
    crm = crm_of(seeded)
    crm.update_contacts([("new@example.com", {"company": "Acme", "jobtitle": "CMO"})])
    undo = seeded.jobs.rollback(job, "alice")
    [conflict] = [r for r in seeded.runtime.rows.rejects(undo.job) if r["kind"] == "conflict"]
    assert "new@example.com" in conflict["reason"] and conflict["field"] == "company,jobtitle"
    seeded.jobs.decide(undo.job, "bob", "approve")
    kept = crm.read_contacts(["new@example.com"])["new@example.com"].fields
    assert kept["company"] == "Acme" and kept["firstname"] == "New"   # nothing lost
    crm.close()


def test_rollback_counts_memberships_already_undone_and_its_own_rollback_restores_them(
        seeded: App, tmp_path: Path) -> None:
    crm = crm_of(seeded)
    before = snapshot(crm)
    job = upload(seeded, write_csv(tmp_path / "leads.csv", LEADS))
    seeded.jobs.decide(job, "bob", "approve")
    crm.remove_members("Expo", ["same@example.com"])        # someone took one off already
    undo = seeded.jobs.rollback(job, "alice")
    assert undo.summary["remove_member"] == 2 and undo.summary["already_undone"] == 1
    seeded.jobs.decide(undo.job, "bob", "approve")
    assert snapshot(crm) == before
    # Undoing the rollback adds back the two members it removed, not the third.
    redo = seeded.jobs.rollback(undo.job, "alice")
    assert redo.summary.get("add_member") == 2
    assert redo.summary.get("already_undone") is None
    crm.close()
