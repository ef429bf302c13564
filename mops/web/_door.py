"""What the pages and the API share: the app, the users, the job service, the templates, and
the actions themselves, so both doors refuse and record exactly the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import Response

from agents.requests import JobRequest, ListUploadParams
from approvals.errors import ApprovalRefused
from approvals.gate import Verdict
from approvals.store import Job
from approvals.users import AccessDenied, User, Users, require
from mops.app import App
from mops.output import show_value
from mops.views import job_view
from mops.web._auth import csrf_token
from tasks.jobs import Jobs

Via = Literal["web", "api"]
SUMMARY = ("job", "kind", "state", "requested_by", "source", "target", "digest", "summary",
           "progress", "created_at", "updated_at")


def templates(directory: Path) -> Jinja2Templates:
    """The page templates, with every value escaped (autoescape on for all of them)."""
    env = Environment(loader=FileSystemLoader(directory), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["value"] = show_value
    return Jinja2Templates(env=env)


@dataclass
class Door:
    """The web door's parts; one per `create_web`."""

    app: App
    users: Users
    jobs: Jobs
    templates: Jinja2Templates

    def render(self, request: Request, name: str, status: int = 200,
               user: User | None = None, **context: Any) -> Response:
        """A page, with the session's CSRF token for its forms."""
        return self.templates.TemplateResponse(
            request, name, {"user": user, "csrf": csrf_token(request), **context},
            status_code=status)

    def view(self, job: int, rejects: int | None = 0) -> dict[str, Any]:
        """A job as `mops show --json` shows it (`rejects`: at most that many)."""
        return job_view(self.app.store, self.app.runtime.gate, self.app.store.get(job),
                        rejects)

    def summary(self, job: int) -> dict[str, Any]:
        """A job's summary: states, counts, who asked; never contact data."""
        view = self.view(job)
        return {key: view[key] for key in SUMMARY}

    def decide(self, user: User, job: int, verdict: Verdict, digest: str | None,
               comment: str | None, via: Via) -> Job:
        """Approve or reject as `user`, from `via`; the gate records who, door, time, digest."""
        require(user, verdict)
        if verdict == "approve" and not digest:
            raise ApprovalRefused("an approval names the digest of the plan you read")
        current = self.app.store.get(job)
        if verdict == "approve" and current.requested_by == user.name:
            # The gate refuses this too; saying so here makes it a 403 at every door.
            raise AccessDenied(f"{user.name} requested job {job} and cannot approve it; "
                               "ask someone else")
        return self.jobs.decide(job, user.name, verdict, digest=digest,
                                comment=(comment or "").strip() or None, door=via)

    def request_upload(self, user: User, file: Path, list_name: str,
                       mapping: dict[str, str]) -> Job:
        """Plan a list upload of `file` (kept in the uploads folder), requested by `user`
        from the web page; it waits for approval like any job."""
        require(user, "request")
        params = ListUploadParams(file=str(file), list=list_name, mapping=mapping)
        return self.jobs.request(JobRequest(params=params, requested_by=user.name,
                                            source="web"))

    def rollback(self, user: User, job: int, via: Via) -> Job:
        """Plan the rollback of `job`, requested by `user`; it passes the gate like any job."""
        require(user, "rollback")
        return self.jobs.rollback(job, user.name, source=via)
