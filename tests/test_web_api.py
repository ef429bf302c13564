"""The REST API under /api: bearer tokens, the same actions as the pages, the OpenAPI
document; what the old read-only API did (job list, state filter, 404) still holds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from approvals.users import Users
from mops.app import App
from mops.web import create_web
from tests.helpers import upload, write_csv
from tests.test_web_pages import login

Api = tuple[TestClient, App, int, dict[str, dict[str, str]]]
LEADS = "email,firstname\na@example.com,Ann\n+1@example.com,=HYPERLINK(\"x\")\nbad,Row\n"


@pytest.fixture
def api(app: App, tmp_path: Path) -> Api:
    """A client, the app, alice's job awaiting approval, and bearer headers per user."""
    users = Users(app.store)
    headers = {name: {"Authorization": f"Bearer {users.add(name, role)[1]}"} for name, role in
               (("alice", "requester"), ("bob", "approver"))}
    job = upload(app, write_csv(tmp_path / "l.csv", LEADS), user="alice")
    return TestClient(create_web(app, background=False)), app, job, headers


def test_job_list_state_filter_and_404(api: Api) -> None:
    client, _, job, as_ = api
    assert client.get("/api/me", headers=as_["bob"]).json() == {"name": "bob",
                                                                 "role": "approver"}
    listed = client.get("/api/jobs", params={"state": "awaiting_approval"},
                        headers=as_["alice"]).json()
    assert [(j["job"], j["state"], j["requested_by"]) for j in listed] == [
        (job, "awaiting_approval", "alice")]
    assert "rejects" not in listed[0] and "params" not in listed[0]   # no contact data
    assert client.get(f"/api/jobs/{job}", headers=as_["alice"]).json()["summary"]["create"] == 2
    assert client.get("/api/jobs", params={"state": "succeeded"}, headers=as_["bob"]).json() == []
    assert client.get("/api/jobs/999", headers=as_["bob"]).status_code == 404
    assert client.get("/api/jobs", params={"state": "nope"}, headers=as_["bob"]).status_code == 422


def test_plan_and_paged_changes(api: Api) -> None:
    client, app, job, as_ = api
    plan = client.get(f"/api/jobs/{job}/plan", headers=as_["bob"]).json()
    assert plan["digest"] == app.store.get(job).digest and plan["rejects_total"] == 1
    assert plan["rejects"][0]["value"] == "bad"
    every = client.get(f"/api/jobs/{job}/changes", headers=as_["bob"]).json()
    page = client.get(f"/api/jobs/{job}/changes", params={"limit": 2, "offset": 1},
                      headers=as_["bob"]).json()
    assert page == every[1:3] and len(every) == app.store.get(job).total
    assert {c["key"] for c in every} >= {"a@example.com", "+1@example.com"}
    assert client.get("/api/jobs/999/changes", headers=as_["bob"]).status_code == 404
    assert client.get(f"/api/jobs/{job}/changes", params={"limit": 0},
                      headers=as_["bob"]).status_code == 422


def test_approve_with_the_digest_records_the_api_door(api: Api) -> None:
    client, app, job, as_ = api
    digest = app.store.get(job).digest
    stale = client.post(f"/api/jobs/{job}/approve", json={"digest": "f" * 64},
                        headers=as_["bob"])
    assert stale.status_code == 409 and "read the plan again" in stale.json()["detail"]
    assert client.post(f"/api/jobs/{job}/approve", json={},
                       headers=as_["bob"]).status_code == 422           # the digest is required
    done = client.post(f"/api/jobs/{job}/approve", json={"digest": digest, "comment": "ok"},
                       headers=as_["bob"])
    assert done.status_code == 200 and done.json()["state"] == "succeeded"
    (decision,) = app.runtime.gate.decisions(job)
    assert (decision.actor, decision.door, decision.digest) == ("bob", "api", digest)
    again = client.post(f"/api/jobs/{job}/approve", json={"digest": digest}, headers=as_["bob"])
    assert again.status_code == 409


def test_reject_needs_a_comment(api: Api) -> None:
    client, app, job, as_ = api
    assert client.post(f"/api/jobs/{job}/reject", json={},
                       headers=as_["bob"]).status_code == 422
    done = client.post(f"/api/jobs/{job}/reject", json={"comment": "wrong list"},
                       headers=as_["bob"])
    assert done.status_code == 200 and done.json()["state"] == "rejected"
    assert app.runtime.gate.decisions(job)[0].door == "api"


def test_rollback_is_a_new_job_through_the_gate(api: Api) -> None:
    client, app, job, as_ = api
    early = client.post(f"/api/jobs/{job}/rollback", headers=as_["alice"])
    assert early.status_code == 409                    # nothing written yet: nothing to undo
    app.jobs.decide(job, "bob", "approve")
    made = client.post(f"/api/jobs/{job}/rollback", headers=as_["alice"]).json()
    assert (made["kind"], made["state"], made["requested_by"], made["source"]) == (
        "rollback", "awaiting_approval", "alice", "api")


def test_log_and_exports(api: Api) -> None:
    client, app, job, as_ = api
    app.jobs.decide(job, "bob", "approve", door="api")
    log = client.get("/api/log", params={"job": job}, headers=as_["alice"]).json()
    assert {e["type"] for e in log} == {"transition", "decision", "write"}
    assert client.get("/api/log", params={"job": job, "limit": 2, "offset": 1},
                      headers=as_["alice"]).json() == log[1:3]
    decisions = client.get("/api/log", params={"user": "bob"}, headers=as_["alice"]).json()
    assert [e["verdict"] for e in decisions if e["type"] == "decision"] == ["approve"]
    text = client.get("/api/log/export", params={"format": "csv", "record": "+1@example.com"},
                      headers=as_["alice"]).text
    (row,) = [r for r in csv.DictReader(io.StringIO(text)) if r["op"] == "create"]
    assert row["key"] == "'+1@example.com"
    assert row["after"].startswith('{"firstname":"=HYPERLINK')   # inside JSON: inert
    lines = client.get("/api/log/export", params={"format": "jsonl", "job": job},
                       headers=as_["alice"]).text.splitlines()
    assert [json.loads(line) for line in lines] == log
    assert client.get("/api/log/export", params={"format": "xlsx"},
                      headers=as_["alice"]).status_code == 422


def test_cookies_do_not_authenticate_the_api(app: App) -> None:
    client = TestClient(create_web(app))
    login(client, Users(app.store).add("bob", "approver")[1])
    assert client.get("/").status_code == 200                  # the pages know bob …
    refused = client.get("/api/jobs")                           # … the API does not
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


def test_openapi_document(app: App) -> None:
    client = TestClient(create_web(app))
    doc = client.get("/api/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    paths = set(doc["paths"])
    assert {"/api/jobs", "/api/jobs/{job}", "/api/jobs/{job}/plan", "/api/jobs/{job}/changes",
            "/api/jobs/{job}/approve", "/api/jobs/{job}/reject", "/api/jobs/{job}/rollback",
            "/api/log", "/api/log/export", "/api/me", "/health"} == paths
    approve = doc["paths"]["/api/jobs/{job}/approve"]["post"]
    assert approve["security"] == [{"HTTPBearer": []}]
    assert "digest" in doc["components"]["schemas"]["Approval"]["required"]
