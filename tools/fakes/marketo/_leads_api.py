"""Lead Database routes: leads by filter, sync, delete, describe."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tools.fakes.marketo._fields import DEFAULT_FIELDS, FIELDS, describe
from tools.fakes.marketo._http import ids, json_body, number, ok, values
from tools.fakes.marketo._state import Lead, MarketoState, Refused, page_offset, page_token


def shown(leads: list[Lead], request: Request) -> JSONResponse:
    """A page of leads with the fields asked for (``fields``), null where empty."""
    fields = values(request, "fields") or list(DEFAULT_FIELDS)
    unknown = [name for name in fields if name not in FIELDS]
    if unknown:
        raise Refused("1006", f"Field '{unknown[0]}' not found")
    size = number(request, "batchSize", 300, 300) or 300
    start = page_offset(request.query_params.get("nextPageToken"))
    page = leads[start:start + size]
    extra = {"nextPageToken": page_token(start + size)} if start + size < len(leads) else {}
    return ok([{"id": lead["id"], **{name: lead.get(name) for name in fields if name != "id"}}
               for lead in page], moreResult=bool(extra), **extra)


def routes(api: FastAPI, state: MarketoState) -> None:
    """Add the lead routes to `api`."""

    @api.get("/rest/v1/leads.json")
    async def get_leads(request: Request) -> JSONResponse:
        kind = request.query_params.get("filterType")
        if not kind:
            raise Refused("701", "'filterType' cannot be blank")
        return shown(state.find(kind, values(request, "filterValues")), request)

    @api.post("/rest/v1/leads.json")
    async def sync_leads(request: Request) -> JSONResponse:
        body = await json_body(request) or {}
        action = body.get("action", "createOrUpdate")
        return ok(state.sync(action, body.get("lookupField", "email"), body.get("input", [])))

    @api.post("/rest/v1/leads/delete.json")
    async def delete_leads(request: Request) -> JSONResponse:
        return ok(state.delete(ids(request, await json_body(request))))

    @api.get("/rest/v1/leads/describe.json")
    async def describe_leads() -> JSONResponse:
        return ok(describe())
