"""The REST API under `/api`: the pages' actions for scripts, with an OpenAPI document at
`/api/openapi.json`. Every call sends `Authorization: Bearer <token>`; cookies are never
read, so no CSRF token is needed (see `_auth`)."""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at
# run time, and some are aliases local to the function that builds the router.

from collections.abc import Iterator
from itertools import islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from approvals.states import State
from approvals.users import User
from mops.web._auth import Auth, allowed_to
from mops.web._door import Door
from mops.web._log import LogFilter, as_csv, as_jsonl, events

Page = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


class Approval(BaseModel):
    """An approval names the digest of the plan its author read: a changed plan is refused."""

    digest: str = Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")
    comment: str | None = Field(default=None, max_length=2000)


class Rejection(BaseModel):
    """A rejection says why."""

    comment: str = Field(min_length=1, max_length=2000)


def api(door: Door) -> APIRouter:
    """The `/api` routes."""
    auth = Auth(door.users)
    router = APIRouter(prefix="/api", tags=["api"])
    _job_routes(router, door, auth)
    _decision_routes(router, door, auth)
    _log_routes(router, door, auth)
    return router


def _job_routes(router: APIRouter, door: Door, auth: Auth) -> None:
    """Who the caller is, the jobs, one job, its plan and its changes."""
    Caller = Annotated[User, Depends(auth.bearer_user)]
    Viewer = Annotated[User, Depends(allowed_to(auth.bearer_user, "view"))]

    @router.get("/me")
    def me(user: Caller) -> dict[str, Any]:
        """Who the token belongs to, and their role."""
        return {"name": user.name, "role": user.role}

    @router.get("/jobs")
    def jobs(user: Viewer, state: State | None = None) -> list[dict[str, Any]]:
        """Jobs, newest first: state, counts, who asked, progress."""
        return [door.summary(j.job) for j in door.app.store.jobs(state=state)]

    @router.get("/jobs/{job}")
    def job(user: Viewer, job: int) -> dict[str, Any]:
        """One job's summary (poll it for progress while the job runs)."""
        return door.summary(job)

    @router.get("/jobs/{job}/plan")
    def plan(user: Viewer, job: int, rejects: Page = 100) -> dict[str, Any]:
        """The plan as a person reads it: summary, digest, notes, decisions, first rejects."""
        view = door.view(job, rejects)
        view["rejects_total"] = door.app.runtime.rows.count_rejects(job)
        return view

    @router.get("/jobs/{job}/changes")
    def changes(user: Viewer, job: int, limit: Page = 100, offset: Offset = 0,
                ) -> list[dict[str, Any]]:
        """The plan's changes in execution order (before → after), a page at a time."""
        door.app.store.get(job)      # 404 for an unknown job, not an empty list
        return [{"batch": b, "seq": s, **c.model_dump()}
                for b, s, c in door.app.runtime.rows.changes(job, limit, offset)]


def _decision_routes(router: APIRouter, door: Door, auth: Auth) -> None:
    """Approving or rejecting a plan, and asking for a rollback."""
    Caller = Annotated[User, Depends(auth.bearer_user)]

    @router.post("/jobs/{job}/approve")
    def approve(user: Caller, job: int, body: Approval) -> dict[str, Any]:
        """Approve the plan whose digest you read; an approved job starts running."""
        door.decide(user, job, "approve", body.digest, body.comment, "api")
        return door.summary(job)

    @router.post("/jobs/{job}/reject")
    def reject(user: Caller, job: int, body: Rejection) -> dict[str, Any]:
        """Reject the plan, saying why; nothing is written."""
        door.decide(user, job, "reject", None, body.comment, "api")
        return door.summary(job)

    @router.post("/jobs/{job}/rollback")
    def rollback(user: Caller, job: int) -> dict[str, Any]:
        """Plan the rollback of a finished job; the new job passes the gate like any other."""
        return door.summary(door.rollback(user, job, "api").job)


def _log_routes(router: APIRouter, door: Door, auth: Auth) -> None:
    """The action log, filtered and paged, and its export."""
    Viewer = Annotated[User, Depends(allowed_to(auth.bearer_user, "view"))]

    @router.get("/log")
    def log(user: Viewer, f: Annotated[LogFilter, Depends(LogFilter.parse)], limit: Page = 100,
            offset: Offset = 0) -> list[dict[str, Any]]:
        """The action log: state changes, decisions (who, door, digest, time), writes."""
        return list(islice(events(door.app, f), offset, offset + limit))

    @router.get("/log/export")
    def export(user: Viewer, f: Annotated[LogFilter, Depends(LogFilter.parse)],
               format: Literal["csv", "jsonl"] = "csv") -> StreamingResponse:
        """The whole filtered log as CSV (formula-like cells neutralised) or JSONL."""
        return export_log(events(door.app, f), format)


def export_log(entries: Iterator[dict[str, Any]], format: Literal["csv", "jsonl"],
               ) -> StreamingResponse:
    """A download of the log, streamed."""
    body = as_csv(entries) if format == "csv" else as_jsonl(entries)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="mops-log.{format}"'})

