"""The page to request a list upload: choose a CSV, name the list, map unknown headers.

The file is kept by `_uploads`; the job is planned as the logged-in user and waits for
approval like any other. A refused upload re-shows the form with the reason (never the
server's folders; an unexpected error only in the server's log) and keeps nothing of it.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at
# run time, and some are aliases local to the function that builds the router.

import logging
import shutil
from pathlib import Path
from typing import Annotated

import pydantic
from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from approvals.errors import ApprovalsError
from approvals.users import User
from mops.web._auth import Auth, allowed_to, check_csrf
from mops.web._door import Door
from mops.web._uploads import BadUpload, mapping, save
from tasks.lifecycle import PlanningFailed
from tools.errors import InputError, ToolError

log = logging.getLogger(__name__)
CSRF = [Depends(check_csrf)]
REFUSED = (BadUpload, ToolError, PlanningFailed, pydantic.ValidationError)


def new_job_pages(door: Door) -> APIRouter:
    """GET and POST /jobs/new (included before /jobs/{job}, which would take "new")."""
    auth = Auth(door.users)
    router = APIRouter(include_in_schema=False)
    Requester = Annotated[User, Depends(allowed_to(auth.session_user, "request"))]

    @router.get("/jobs/new")
    def new_form(request: Request, user: Requester) -> Response:
        return door.render(request, "new.html", user=user, error=None, list_name="",
                           map_text="")

    @router.post("/jobs/new", dependencies=CSRF)
    def new(request: Request, user: Requester, file: Annotated[UploadFile, File()],
            list_name: Annotated[str, Form(alias="list", max_length=200)] = "",
            map_text: Annotated[str, Form(alias="map", max_length=2000)] = "") -> Response:
        saved = None
        try:
            if not list_name.strip():
                raise BadUpload("name the static list the rows go to")
            columns = mapping(map_text)
            saved = save(file.file, file.filename or "", door.app.settings.home)
            made = door.request_upload(user, saved, list_name.strip(), columns)
        except BaseException as exc:
            if saved is not None:       # nothing of a refused upload is kept
                shutil.rmtree(saved.parent, ignore_errors=True)
            if not isinstance(exc, REFUSED):
                raise
            return door.render(request, "new.html", 422, user=user,
                               error=upload_error(exc, saved, door.app.settings.home),
                               list_name=list_name, map_text=map_text)
        return RedirectResponse(f"/jobs/{made.job}", 303)

    return router


def upload_error(exc: BaseException, saved: Path | None, home: Path) -> str:
    """What to tell the person whose upload was refused: the reason when it is about their
    input, else a generic line (the details, which may name the server's files, are in the
    server's log); never the server's folders."""
    cause = exc.__cause__ if isinstance(exc, PlanningFailed) else exc
    if not isinstance(cause, (BadUpload, InputError, ApprovalsError, pydantic.ValidationError)):
        log.warning("a web upload could not be planned: %s", exc)
        return "the upload could not be planned; the server's log says why"
    error = str(exc)
    if saved is not None:
        error = error.replace(str(saved), saved.name)
    return error.replace(str(home), "MOPS_HOME")
