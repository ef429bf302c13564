"""Domain errors become HTTP answers here, at the door: JSON under `/api`, a page elsewhere.

    401  NotAuthenticated            no user, a bad token, a disabled user (the login page)
    403  CsrfRefused, AccessDenied   a form without its token; a role or self-approval refused
    404  UnknownJob
    409  ApprovalsError              the gate refused (stale digest, wrong state), nothing to undo
    422  BadFilter, bad input        a log filter, a rollback that cannot be planned
"""

from __future__ import annotations

from collections.abc import Callable

import pydantic
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from approvals.errors import ApprovalsError, UnknownJob
from approvals.users import AccessDenied
from mops.app import UnknownTarget
from mops.web._auth import CsrfRefused, NotAuthenticated
from mops.web._door import Door
from mops.web._log import BadFilter
from tasks.lifecycle import PlanningFailed
from tools.errors import ToolError

STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotAuthenticated, 401), (CsrfRefused, 403), (AccessDenied, 403), (UnknownJob, 404),
    (ApprovalsError, 409), (BadFilter, 422), (PlanningFailed, 422), (ToolError, 422),
    (UnknownTarget, 422), (pydantic.ValidationError, 422),
)


def install_handlers(web: FastAPI, door: Door) -> None:
    """Answer each domain error with its status, for the API and for the pages."""
    for error, status in STATUS:
        web.add_exception_handler(error, _handler(door, status))


def _handler(door: Door, status: int) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        message = str(exc) or type(exc).__name__
        if request.url.path.startswith("/api/"):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse({"detail": message}, status, headers=headers)
        if status == 401:
            return door.render(request, "login.html", status, error=message)
        return door.render(request, "error.html", status, error=message, code=status)

    return handle
