"""Assembles the web door: settings, middleware, the pages, the API and error translation."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from approvals.users import Users
from mops.app import App
from mops.slack import mount as mount_slack
from mops.web._api import api
from mops.web._door import Door, templates
from mops.web._errors import install_handlers
from mops.web._limits import BodyLimit
from mops.web._new_job import new_job_pages
from mops.web._pages import pages
from mops.web._runner import BackgroundRunner
from tasks.jobs import Jobs

HERE = Path(__file__).parent
SESSION_HOURS = 12
# No script anywhere: live progress is a <meta refresh>, so the policy forbids all scripts.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_web(app: App, *, background: bool = True) -> FastAPI:
    """The web application over an assembled mops App.

    With the in-process runner and `background` (the default), an approved job runs on a
    thread of this process so its page can show progress while it runs; with a broker it
    runs on the workers either way.
    """
    web = FastAPI(title="mops", summary="Marketing-operations jobs: plan, approve, roll back.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    door = Door(app=app, users=Users(app.store), jobs=_jobs(app, background),
                templates=templates(HERE / "templates"))
    web.state.door = door

    @web.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Whether the job store answers (no login needed)."""
        with app.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "queue": "redis" if app.queued else "in-process"}

    @web.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    web.include_router(api(door))
    web.include_router(new_job_pages(door))    # before pages: /jobs/new is not a job
    web.include_router(pages(door))
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    mount_slack(web, app)      # POST /slack/events, when MOPS_SLACK__* is configured
    install_handlers(web, door)
    secret = app.settings.web.secret_key
    web.add_middleware(
        SessionMiddleware, session_cookie="mops_session", max_age=SESSION_HOURS * 3600,
        secret_key=secret.get_secret_value() if secret else secrets.token_urlsafe(32),
        same_site="lax", https_only=app.settings.web.public_url.startswith("https://"))
    web.add_middleware(BodyLimit)      # outermost: before anything reads a body
    return web


def _jobs(app: App, background: bool) -> Jobs:
    if app.queued or not background:
        return app.jobs
    return Jobs(app.runtime, BackgroundRunner(app.runtime, app.jobs.runner))


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app (jobs, approvals, the action log) and its REST API under /api.

    People log in with the token `mops users add` gave them. Before exposing it, put it
    behind HTTPS and set MOPS_WEB__PUBLIC_URL=https://… and MOPS_WEB__SECRET_KEY.

    Example: mops serve --port 8000
    """
    import uvicorn

    from mops.common import opened

    with opened() as app:
        web = create_web(app)
        try:
            uvicorn.run(web, host=host, port=port, log_level="info")
        finally:       # let jobs running on this process's threads finish their batches
            door: Door = web.state.door
            if isinstance(door.jobs.runner, BackgroundRunner):
                door.jobs.runner.join()
