"""The web door's read-only API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from mops.app import App
from mops.web import create_web
from tests.helpers import upload, write_csv


def test_health_and_job_list(app: App, tmp_path: Path) -> None:
    client = TestClient(create_web(app))
    assert client.get("/health").json() == {"status": "ok", "queue": "in-process"}
    job = upload(app, write_csv(tmp_path / "l.csv", "email\na@example.com\n"))
    listed = client.get("/api/jobs", params={"state": "awaiting_approval"}).json()
    assert [(j["job"], j["state"], j["requested_by"]) for j in listed] == [
        (job, "awaiting_approval", "alice")]
    assert "rejects" not in listed[0] and "params" not in listed[0]   # no contact data
    assert client.get(f"/api/jobs/{job}").json()["summary"]["create"] == 1
    assert client.get("/api/jobs/999").status_code == 404
    assert client.get("/api/jobs", params={"state": "nope"}).status_code == 422
