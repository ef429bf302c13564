"""The command line as scripts use it: JSON on stdout, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LEADS = "Email;First Name;Country\r\nann@example.com;Ann;Germany\r\nbad-address;Bo;DE\r\n"


def test_upload_approve_rollback_as_json(mops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8", newline="")
    job = json.loads(mops("upload", "leads.csv", "--list", "Expo", "--as", "alice", "--json"))
    assert job["state"] == "awaiting_approval" and job["requested_by"] == "alice"
    assert job["summary"]["create"] == 1 and job["summary"]["rejected"] == 1
    assert job["summary"]["add_member"] == 1 and job["summary"]["duplicate"] == 0
    assert job["rejects"][0]["row"] == 3 and "bad-address" in job["rejects"][0]["reason"]
    assert len(job["digest"]) == 64

    err = mops("approve", str(job["job"]), "--as", "alice", code=1)
    assert "alice requested job" in err and len(err.strip().splitlines()) == 1

    done = json.loads(mops("approve", str(job["job"]), "--as", "bob", "--json"))
    assert done["state"] == "succeeded"
    assert done["progress"] == {"applied": 3, "failed": 0, "total": 3}
    exported = [json.loads(line) for line in mops("crm", "export").splitlines()]
    assert exported == [{"email": "ann@example.com", "firstname": "Ann", "country": "DE"}]

    undo = json.loads(mops("rollback", str(job["job"]), "--as", "alice", "--json"))
    assert undo["kind"] == "rollback" and undo["state"] == "awaiting_approval"
    mops("approve", str(undo["job"]), "--as", "bob")
    assert mops("crm", "export") == ""
    listed = json.loads(mops("jobs", "--json"))
    assert [(j["job"], j["state"]) for j in listed] == [(2, "succeeded"), (1, "rolled_back")]
    verified = json.loads(mops("log", "--verify", "--json"))
    assert verified["ok"] and verified["entries"] == 6


def test_show_and_log_json(mops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8", newline="")
    mops("upload", "leads.csv", "--list", "Expo", "--as", "alice")
    shown = json.loads(mops("show", "1", "--json", "--limit", "2"))
    assert [c["op"] for c in shown["changes"]] == ["create", "create"]
    assert shown["changes"][1]["after"] == {"firstname": "Ann", "country": "DE"}
    mops("approve", "1", "--as", "bob", "--comment", "ok")
    events = json.loads(mops("log", "1", "--json"))
    kinds = {e["type"] for e in events}
    assert kinds == {"transition", "decision", "write"}
    decision = next(e for e in events if e["type"] == "decision")
    assert decision["actor"] == "bob" and decision["comment"] == "ok"


def test_errors_and_usage(mops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no job 42" in mops("approve", "42", "--as", "bob", code=1)
    assert "missing.csv" in mops("upload", "missing.csv", "--list", "X", code=1)
    mops("upload", "x.csv", code=2)                       # --list is required
    mops("frobnicate", code=2)
    mops("jobs", "--state", "bogus", code=2)
    mops("show", "1", "--limit", "-1", code=2)
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    assert "no CRM target named 'nope'" in mops("upload", "leads.csv", "--list", "X",
                                                "--target", "nope", code=1)
    assert "invalid request" in mops("upload", "leads.csv", "--list", "", code=2)


def test_unreachable_store_is_one_line(mops, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MOPS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    err = mops("jobs", code=1)
    assert "cannot reach the job store" in err and len(err.strip().splitlines()) == 1


def test_mops_user_names_the_actor(mops, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                   tmp_path: Path) -> None:
    monkeypatch.setenv("MOPS_USER", "carol")
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    job = json.loads(mops("upload", "leads.csv", "--list", "X", "--json"))
    assert job["requested_by"] == "carol"


def test_demo_runs_to_the_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOPS_")}
    result = subprocess.run([sys.executable, "-m", "mops", "demo"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exactly as it was before the upload" in result.stdout
    assert "cannot approve" in result.stderr
