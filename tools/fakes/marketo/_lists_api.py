"""Static list routes: the assets (``/rest/asset/v1``, not in the Lead Database spec, so
checked by the models here) and their members (``/rest/v1/lists/{listId}/…``)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError

from tools.fakes.marketo._http import ids, invalid, json_body, nothing_found, ok
from tools.fakes.marketo._leads_api import shown
from tools.fakes.marketo._state import MarketoState, Refused

ASSETS = "/rest/asset/v1"


class FolderRef(BaseModel):
    """The ``folder`` parameter: a JSON object naming a folder or a program."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: int
    type: Literal["Folder", "Program"]


class CreateStaticList(BaseModel):
    """The form of ``POST /rest/asset/v1/staticLists.json``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    folder: Json[FolderRef]
    description: str = ""


class Browse(BaseModel):
    """The query of ``GET /rest/asset/v1/staticLists.json`` (the parts the fake reads)."""

    model_config = ConfigDict(extra="ignore")

    offset: int = Field(default=0, ge=0)
    maxReturn: int = Field(default=20, ge=1, le=200)


class ByName(BaseModel):
    """The query of ``GET /rest/asset/v1/staticList/byName.json``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)


def routes(api: FastAPI, state: MarketoState) -> None:
    """Add the static list routes to `api`."""

    def model(kind: type[Any], request: Request, data: dict[str, Any]) -> Any:
        try:
            return kind.model_validate(data)
        except ValidationError as error:
            raise invalid(state, request, error) from None

    @api.get(f"{ASSETS}/staticList/byName.json")
    async def by_name(request: Request) -> JSONResponse:
        query: ByName = model(ByName, request, dict(request.query_params))
        found = state.list_named(query.name)
        return ok([found.asset()]) if found else nothing_found()

    @api.get(f"{ASSETS}/staticList/{{list_id}}.json")
    async def by_id(list_id: int) -> JSONResponse:
        found = state.lists.get(list_id)
        return ok([found.asset()]) if found else nothing_found()

    @api.get(f"{ASSETS}/staticLists.json")
    async def browse(request: Request) -> JSONResponse:
        query: Browse = model(Browse, request, dict(request.query_params))
        with state.lock:
            found = [state.lists[i].asset() for i in sorted(state.lists)]
        page = found[query.offset:query.offset + query.maxReturn]
        return ok(page) if page else nothing_found()

    @api.post(f"{ASSETS}/staticLists.json")
    async def create(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0] != (
                "application/x-www-form-urlencoded"):
            raise Refused("612", "Invalid Content Type")
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        if any(len(v) > 1 for v in form.values()):
            raise Refused("1003", "a parameter is given twice")
        asked: CreateStaticList = model(CreateStaticList, request,
                                        {k: v[0] for k, v in form.items()})
        made = state.create_list(asked.name, asked.folder.model_dump(), asked.description)
        return ok([made.asset()])

    @api.post(f"{ASSETS}/staticList/{{list_id}}/delete.json")
    async def delete(list_id: int) -> JSONResponse:
        state.delete_list(list_id)
        return ok([{"id": list_id}])

    @api.post("/rest/v1/lists/{list_id}/leads.json")
    async def add(request: Request, list_id: int) -> JSONResponse:
        return ok(state.change_members(list_id, ids(request, await json_body(request)), True))

    @api.delete("/rest/v1/lists/{list_id}/leads.json")
    async def remove(request: Request, list_id: int) -> JSONResponse:
        return ok(state.change_members(list_id, ids(request, await json_body(request)), False))

    @api.get("/rest/v1/lists/{list_id}/leads/ismember.json")
    async def is_member(request: Request, list_id: int) -> JSONResponse:
        return ok(state.is_member(list_id, ids(request, await json_body(request))))

    @api.get("/rest/v1/lists/{list_id}/leads.json")
    async def members(request: Request, list_id: int) -> JSONResponse:
        return shown(state.list_leads(list_id), request)
