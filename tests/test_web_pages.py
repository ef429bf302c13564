"""The web door's pages: log in, the jobs, a job's plan and paged diff, deciding, rolling back,
live progress, the action log and its exports, escaping and security headers."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agents.requests import JobRequest, ListUploadParams
from approvals.users import Users
from mops.app import App
from mops.web import create_web
from tests.helpers import crm_of, snapshot, upload, write_csv
from tools.records import Record

LEADS = (
    "Email,First Name,Last Name,Country\n"
    "new@example.com,New,<script>alert(1)</script>,Germany\n"
    "old@example.com,Olga,Oldman,FR\n"
    "=cmd@example.com,Evil,Formula,\n"
    "not-an-email,Bad,Row,\n"
)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found[1]


def login(client: TestClient, token: str) -> str:
    """Log in through the form; return the session's CSRF token."""
    form = client.get("/login")
    assert form.status_code == 200
    done = client.post("/login", data={"token": token, "csrf": csrf_of(form.text)},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def seeded(app: App, tmp_path: Path) -> tuple[App, int, dict[str, str]]:
    """alice (approver) has asked for an upload; bob approves; carol only requests."""
    crm = crm_of(app)
    crm.create_contacts([Record(key="old@example.com", fields={"firstname": "Olga",
                                                               "lastname": "Old"})])
    crm.close()
    users = Users(app.store)
    tokens = {name: users.add(name, role)[1] for name, role in
              (("alice", "approver"), ("bob", "approver"), ("carol", "requester"))}
    return app, upload(app, write_csv(tmp_path / "leads.csv", LEADS), user="alice"), tokens


def client_for(app: App, token: str | None = None, background: bool = False,
               ) -> tuple[TestClient, str]:
    client = TestClient(create_web(app, background=background))
    return client, login(client, token) if token else ""


def test_login_logout_and_a_bad_token(seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    client = TestClient(create_web(app))
    assert client.get("/").status_code == 401                  # the login form, as a 401
    form = client.get("/login")
    refused = client.post("/login", data={"token": "mops_nope", "csrf": csrf_of(form.text)})
    assert refused.status_code == 401 and "does not belong" in refused.text
    csrf = login(client, tokens["bob"])
    page = client.get("/")
    assert page.status_code == 200 and "bob · approver" in page.text
    assert f'href="/jobs/{job}"' in page.text
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and client.get("/").status_code == 401


def test_jobs_list_filters_by_state(seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    client, _ = client_for(app, tokens["carol"])
    listed = client.get("/", params={"state": "awaiting_approval"}).text
    assert f'href="/jobs/{job}"' in listed and "list_upload" in listed and "alice" in listed
    assert f'href="/jobs/{job}"' not in client.get("/", params={"state": "succeeded"}).text
    assert client.get("/", params={"state": "nope"}).status_code == 422


def test_job_page_shows_plan_diff_rejects_and_escapes(
        seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    client, _ = client_for(app, tokens["bob"])
    page = client.get(f"/jobs/{job}").text
    digest = app.store.get(job).digest
    assert digest and f'name="digest" value="{digest}"' in page
    assert "old@example.com" in page and "Old</td>" in page and "Oldman</td>" in page
    assert "not-an-email" in page and "Rejects (1)" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'action="/jobs/{job}/approve"' in page and 'http-equiv="refresh"' not in page
    # a requester reads the plan but gets no approve or reject buttons
    carol, _ = client_for(app, tokens["carol"])
    assert "/approve" not in carol.get(f"/jobs/{job}").text


def test_diff_table_is_paged(app: App, tmp_path: Path) -> None:
    rows = "".join(f"p{i:03}@example.com,P{i}\n" for i in range(120))
    job = upload(app, write_csv(tmp_path / "many.csv", "email,firstname\n" + rows))
    client, _ = client_for(app, Users(app.store).add("bob", "approver")[1])
    first = client.get(f"/jobs/{job}").text
    assert "Changes 1–50 of" in first and f"/jobs/{job}?offset=50" in first
    second = client.get(f"/jobs/{job}", params={"offset": 50}).text
    assert "Changes 51–100 of" in second and f"/jobs/{job}?offset=0" in second
    assert client.get(f"/jobs/{job}", params={"offset": -1}).status_code == 422


def test_approve_records_web_door_digest_and_runs(
        seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    client, csrf = client_for(app, tokens["bob"])
    digest = app.store.get(job).digest
    done = client.post(f"/jobs/{job}/approve", follow_redirects=False,
                       data={"csrf": csrf, "digest": digest, "comment": "read it"})
    assert done.status_code == 303 and done.headers["location"] == f"/jobs/{job}"
    assert app.store.get(job).state == "succeeded"
    (decision,) = app.runtime.gate.decisions(job)
    assert (decision.actor, decision.verdict, decision.door, decision.digest,
            decision.comment) == ("bob", "approve", "web", digest, "read it")
    page = client.get(f"/jobs/{job}").text
    assert "succeeded" in page and "Plan a rollback" in page and "read it" in page


def test_stale_digest_and_reject_without_comment_are_refused(
        seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    client, csrf = client_for(app, tokens["bob"])
    stale = client.post(f"/jobs/{job}/approve", data={"csrf": csrf, "digest": "0" * 64})
    assert stale.status_code == 409 and "read the plan again" in stale.text
    empty = client.post(f"/jobs/{job}/approve", data={"csrf": csrf})
    assert empty.status_code == 409 and "digest" in empty.text
    bare = client.post(f"/jobs/{job}/reject", data={"csrf": csrf, "comment": "  "})
    assert bare.status_code == 409 and "needs a comment" in bare.text
    assert app.store.get(job).state == "awaiting_approval"
    assert app.runtime.gate.decisions(job) == []
    rejected = client.post(f"/jobs/{job}/reject", data={"csrf": csrf, "comment": "wrong list"},
                           follow_redirects=False)
    assert rejected.status_code == 303 and app.store.get(job).state == "rejected"
    assert app.runtime.gate.decisions(job)[0].door == "web"


def test_rollback_from_the_page_is_a_new_job(seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    app.jobs.decide(job, "bob", "approve")
    client, csrf = client_for(app, tokens["carol"])
    made = client.post(f"/jobs/{job}/rollback", data={"csrf": csrf}, follow_redirects=False)
    assert made.status_code == 303
    undo = int(made.headers["location"].rsplit("/", 1)[1])
    rollback = app.store.get(undo)
    assert (rollback.kind, rollback.state, rollback.requested_by, rollback.source) == (
        "rollback", "awaiting_approval", "carol", "web")
    again = client.post(f"/jobs/{job}/rollback", data={"csrf": csrf})
    assert again.status_code == 409 and "already rolling back" in again.text


def test_live_progress_while_a_job_runs(seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    queued = app.store.create_job(JobRequest(params=ListUploadParams(file="x.csv", list="L"),
                                             requested_by="alice"))
    client, csrf = client_for(app, tokens["bob"], background=True)
    assert '<meta http-equiv="refresh" content="2">' in client.get(f"/jobs/{queued}").text
    # approving returns at once; the job runs on a thread of the web process
    client.post(f"/jobs/{job}/approve", data={"csrf": csrf,
                                              "digest": app.store.get(job).digest})
    client.app.state.door.jobs.runner.join(timeout=30)   # type: ignore[attr-defined]
    page = client.get(f"/jobs/{job}").text
    assert app.store.get(job).state == "succeeded" and 'http-equiv="refresh"' not in page
    total = app.store.get(job).total
    assert f"{total} applied, 0 failed of {total}" in page


def test_log_page_filters_and_exports(seeded: tuple[App, int, dict[str, str]]) -> None:
    app, job, tokens = seeded
    client, csrf = client_for(app, tokens["bob"])
    client.post(f"/jobs/{job}/approve", data={"csrf": csrf, "digest": app.store.get(job).digest})
    page = client.get("/log", params={"job": job}).text
    assert "approved via web" in page and "create new@example.com" in page
    by_bob = client.get("/log", params={"user": "Bob"}).text
    assert "approved via web" in by_bob and "create new@example.com" not in by_bob
    by_record = client.get("/log", params={"record": "old@example.com"}).text
    assert "update old@example.com" in by_record and "new@example.com" not in by_record
    assert "Nothing logged" in client.get("/log", params={"until": "2000-01-01"}).text
    assert client.get("/log", params={"since": "yesterday"}).status_code == 422
    assert client.get("/log", params={"job": 999}).status_code == 404

    exported = client.get("/log/export", params={"job": job, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    keys = {r["key"] for r in rows if r["type"] == "write"}
    assert "'=cmd@example.com" in keys and "=cmd@example.com" not in keys
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    lines = client.get("/log/export", params={"job": job, "format": "jsonl"}).text.splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == len(rows)
    assert "=cmd@example.com" in {e.get("key") for e in entries}   # JSONL keeps data as is


def test_health_and_security_headers(seeded: tuple[App, int, dict[str, str]]) -> None:
    app, _, tokens = seeded
    client, _ = client_for(app, tokens["bob"])
    assert client.get("/health").json() == {"status": "ok", "queue": "in-process"}
    page = client.get("/")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.request.headers["cookie"]
    assert cookie.startswith("mops_session=")
    assert client.get("/static/style.css").status_code == 200


def test_rotating_a_token_ends_the_sessions_opened_with_it(
        seeded: tuple[App, int, dict[str, str]]) -> None:
    app, _, tokens = seeded
    client, _ = client_for(app, tokens["bob"])
    assert client.get("/").status_code == 200
    Users(app.store).rotate("bob")
    assert client.get("/").status_code == 401


# --- a list upload requested from the page ---------------------------------------------------

def _upload_form(client: TestClient, csrf: str, content: bytes, name: str = "expo leads.csv",
                 **fields: str) -> Any:
    return client.post("/jobs/new", data={"csrf": csrf, "list": "Expo 2026", **fields},
                       files={"file": (name, content, "text/csv")}, follow_redirects=False)


def test_a_list_upload_requested_from_the_page_waits_for_approval(
        seeded: tuple[App, int, dict[str, str]]) -> None:
    app, _, tokens = seeded
    client, csrf = client_for(app, tokens["carol"])
    form = client.get("/jobs/new")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    made = _upload_form(client, csrf, b"Mail,First Name\nnew2@example.com,Neo\n",
                        map="Mail=email")
    assert made.status_code == 303, made.text
    job = app.store.get(int(made.headers["location"].rsplit("/", 1)[1]))
    assert (job.state, job.requested_by, job.source) == ("awaiting_approval", "carol", "web")
    kept = Path(job.params["file"])
    assert kept.name == "expo leads.csv"
    assert kept.parent.parent == app.settings.home / "uploads" / "web"
    page = client.get(made.headers["location"])
    assert "new2@example.com" in page.text and "Expo 2026" in page.text
    # carol requested it: she cannot approve it, and nothing was written yet.
    assert client.post(f"/jobs/{job.job}/approve",
                       data={"csrf": csrf, "digest": job.digest}).status_code == 403
    crm = crm_of(app)
    assert "new2@example.com" not in {key for key, _ in snapshot(crm)[0]}
    crm.close()


@pytest.mark.parametrize(("name", "content", "fields", "error"), [
    ("leads.txt", b"email\na@example.com\n", {}, "only .csv files"),
    ("leads.csv", b"", {}, "is empty"),
    ("leads.csv", b"\x00\x01\x02binary", {}, "leads.csv"),
    ("leads.csv", b"name\nAda\n", {}, "leads.csv: no email column"),
    ("leads.csv", b"email\na@example.com\n", {"map": "no equals sign"}, "line 1"),
    ("leads.csv", b"email\na@example.com\n", {"list": "  "}, "static list"),
])
def test_a_refused_upload_says_why_and_keeps_nothing(
        seeded: tuple[App, int, dict[str, str]], name: str, content: bytes,
        fields: dict[str, str], error: str) -> None:
    app, _, tokens = seeded
    client, csrf = client_for(app, tokens["carol"])
    before = len(app.store.jobs())
    refused = _upload_form(client, csrf, content, name, **fields)
    assert refused.status_code == 422 and error.lower() in refused.text.lower(), refused.text
    assert str(app.settings.home) not in refused.text          # never the server's folders
    assert len(app.store.jobs()) == before
    folder = app.settings.home / "uploads" / "web"
    assert not folder.exists() or not any(folder.iterdir())


def test_the_upload_form_needs_a_session_and_its_token(
        seeded: tuple[App, int, dict[str, str]]) -> None:
    app, _, tokens = seeded
    anonymous = TestClient(create_web(app))
    assert anonymous.get("/jobs/new").status_code == 401
    stranger = anonymous.post("/jobs/new", data={"csrf": "x", "list": "Q"},
                              files={"file": ("a.csv", b"email\na@example.com\n", "text/csv")})
    assert stranger.status_code in (401, 403)
    client, _ = client_for(app, tokens["carol"])
    forged = _upload_form(client, "forged", b"email\na@example.com\n")
    assert forged.status_code == 403 and len(app.store.jobs()) == 1
    assert not (app.settings.home / "uploads" / "web").exists()    # nothing was kept


def test_a_body_over_the_cap_is_refused_before_it_is_read(
        seeded: tuple[App, int, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from mops.web import _limits

    monkeypatch.setitem(_limits.LARGE, "/jobs/new", 10_000)
    app, _, tokens = seeded
    client, csrf = client_for(app, tokens["carol"])
    big = _upload_form(client, csrf, b"email\n" + b"a@example.com\n" * 2_000)
    assert big.status_code == 413 and len(app.store.jobs()) == 1
    assert client.post("/login", content=b"x" * (_limits.DEFAULT + 1),
                       headers={"content-type": "application/x-www-form-urlencoded"},
                       ).status_code == 413
    assert not (app.settings.home / "uploads" / "web").exists()


@pytest.mark.parametrize(("name", "kept"), [
    ("../../etc/leads.csv", "leads.csv"), ("..\\..\\evil.csv", "evil.csv"),
    ("/etc/passwd.csv", "passwd.csv"), ("März (1).csv", "März 1.csv"), (".csv", "upload.csv"),
    ("x" * 300 + ".csv", "x" * 116 + ".csv"), ("a\x00b.csv", "ab.csv"),
])
def test_an_uploaded_name_becomes_a_plain_one(name: str, kept: str) -> None:
    from mops.web._uploads import plain

    assert plain(name) == kept
