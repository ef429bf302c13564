"""The pages people use: the jobs, one job (plan, paged diff, rejects, decisions, actions),
the action log and its exports, and the login form (a new list upload: `_new_job`). Every
form posts its CSRF token."""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at
# run time, and some are aliases local to the function that builds the router.

from itertools import islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.requests import Request
from starlette.responses import Response

from approvals.states import STATES
from approvals.users import User, allowed
from mops.web._api import export_log
from mops.web._auth import Auth, allowed_to, check_csrf
from mops.web._door import Door
from mops.web._log import BadFilter, LogFilter, events
from tools.changes import Change

DIFF_PAGE = 50            # changes per page of the diff table
REJECTS = 100             # rejects listed on the job page
LOG_PAGE = 200            # log entries per page
LIVE = frozenset({"queued", "planning", "approved", "running"})    # the page refreshes itself
DONE = frozenset({"succeeded", "partially_failed", "failed"})      # may be rolled back
Offset = Annotated[int, Query(ge=0)]
Text = Annotated[str, Form(max_length=2000)]
CSRF = [Depends(check_csrf)]


def pages(door: Door) -> APIRouter:
    """The page routes (left out of the OpenAPI document)."""
    auth = Auth(door.users)
    router = APIRouter(include_in_schema=False)
    _session_routes(router, door, auth)
    _job_routes(router, door, auth)
    _log_routes(router, door, auth)
    return router


def _session_routes(router: APIRouter, door: Door, auth: Auth) -> None:
    """Logging in with a token, and out."""

    @router.get("/login")
    def login_form(request: Request) -> Response:
        return door.render(request, "login.html", error=None)

    @router.post("/login", dependencies=CSRF)
    def login(request: Request, token: Annotated[str, Form(max_length=500)] = "") -> Response:
        auth.login(request, token)
        return RedirectResponse("/", 303)

    @router.post("/logout", dependencies=CSRF)
    def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", 303)


def _job_routes(router: APIRouter, door: Door, auth: Auth) -> None:
    """The jobs, one job, and the decisions and rollbacks posted from its page."""
    Person = Annotated[User, Depends(auth.session_user)]
    Viewer = Annotated[User, Depends(allowed_to(auth.session_user, "view"))]

    @router.get("/")
    def jobs(request: Request, user: Viewer, state: str = "") -> Response:
        if state and state not in STATES:
            raise BadFilter(f"unknown state {state!r}")
        views = [door.view(j.job) for j in door.app.store.jobs(state=state or None)]
        return door.render(request, "jobs.html", user=user, jobs=views, states=STATES,
                           state=state)

    @router.get("/jobs/{job}")
    def job(request: Request, user: Viewer, job: int, offset: Offset = 0) -> Response:
        view = door.view(job, REJECTS)
        changes = list(door.app.runtime.rows.changes(job, DIFF_PAGE, offset))
        return door.render(
            request, "job.html", user=user, job=view, rows=diff_rows(changes),
            offset=offset, page=DIFF_PAGE, shown=len(changes),
            rejects_total=door.app.runtime.rows.count_rejects(job),
            live=view["state"] in LIVE, own=view["requested_by"] == user.name,
            may_decide=view["state"] == "awaiting_approval" and allowed(user, "approve"),
            may_rollback=view["state"] in DONE and allowed(user, "rollback"))

    @router.post("/jobs/{job}/approve", dependencies=CSRF)
    def approve(user: Person, job: int, digest: Text = "", comment: Text = "") -> Response:
        door.decide(user, job, "approve", digest, comment, "web")
        return RedirectResponse(f"/jobs/{job}", 303)

    @router.post("/jobs/{job}/reject", dependencies=CSRF)
    def reject(user: Person, job: int, comment: Text = "") -> Response:
        door.decide(user, job, "reject", None, comment, "web")
        return RedirectResponse(f"/jobs/{job}", 303)

    @router.post("/jobs/{job}/rollback", dependencies=CSRF)
    def rollback(user: Person, job: int) -> Response:
        return RedirectResponse(f"/jobs/{door.rollback(user, job, 'web').job}", 303)


def _log_routes(router: APIRouter, door: Door, auth: Auth) -> None:
    """The action log, filtered and paged, and its exports."""
    Viewer = Annotated[User, Depends(allowed_to(auth.session_user, "view"))]
    Filter = Annotated[LogFilter, Depends(LogFilter.parse)]

    @router.get("/log")
    def log(request: Request, user: Viewer, f: Filter, offset: Offset = 0) -> Response:
        found = list(islice(events(door.app, f), offset, offset + LOG_PAGE + 1))
        return door.render(request, "log.html", user=user, entries=found[:LOG_PAGE],
                           more=len(found) > LOG_PAGE, offset=offset, page=LOG_PAGE,
                           filter=f, query=f.query())

    @router.get("/log/export")
    def export(user: Viewer, f: Filter, format: Literal["csv", "jsonl"] = "csv",
               ) -> StreamingResponse:
        return export_log(events(door.app, f), format)


def diff_rows(changes: list[tuple[int, int, Change]]) -> list[dict[str, Any]]:
    """One row per changed field (record, field, before → after), as `mops show` prints."""
    rows = []
    for _, _, c in changes:
        record = c.key if not c.list_name else f"{c.key} in {c.list_name}"
        fields = sorted(set(c.after or {}) | set(c.before or {})) or [""]
        for i, field in enumerate(fields):
            rows.append({"first": i == 0, "span": len(fields), "op": c.op, "record": record,
                         "field": field, "before": (c.before or {}).get(field),
                         "after": (c.after or {}).get(field), "reason": c.reason})
    return rows
