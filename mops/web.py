"""`mops serve`: the web door. For now: health, and a read-only list of jobs.

Only job summaries are served (states, counts, who asked), never contact data: logins,
roles and approving from the browser come with the users-and-roles work. Bind it to
localhost (the default) until then.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from fastapi import FastAPI, HTTPException
from sqlalchemy import text

from approvals.errors import UnknownJob
from approvals.states import STATES
from mops.app import App
from mops.views import job_view

SUMMARY = ("job", "kind", "state", "requested_by", "source", "target", "digest", "summary",
           "progress", "created_at", "updated_at")


def create_web(app: App) -> FastAPI:
    """The web application over an assembled mops App."""
    web = FastAPI(title="mops", summary="Marketing-operations jobs: plan, approve, roll back.")

    @web.get("/health")
    def health() -> dict[str, str]:
        """Whether the job store answers."""
        with app.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "queue": "redis" if app.queued else "in-process"}

    @web.get("/api/jobs")
    def jobs(state: str | None = None) -> list[dict[str, Any]]:
        """Jobs, newest first: state, counts, progress."""
        if state is not None and state not in STATES:
            raise HTTPException(422, f"unknown state {state!r}")
        return [_summary(app, j.job) for j in app.store.jobs(state=state)]

    @web.get("/api/jobs/{job}")
    def job(job: int) -> dict[str, Any]:
        """One job's summary."""
        try:
            return _summary(app, job)
        except UnknownJob as exc:
            raise HTTPException(404, str(exc)) from exc

    return web


def _summary(app: App, job: int) -> dict[str, Any]:
    view = job_view(app.store, app.runtime.gate, app.store.get(job), rejects=0)
    return {key: view[key] for key in SUMMARY}


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app and its API (health and a read-only job list, for now).

    Example: mops serve --port 8000
    """
    import uvicorn

    from mops.common import opened

    with opened() as app:
        uvicorn.run(create_web(app), host=host, port=port, log_level="info")
