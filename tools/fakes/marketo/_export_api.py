"""Bulk lead export routes: create, enqueue, status, file (``/bulk/v1/leads/export``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tools.fakes.marketo._fields import FIELDS
from tools.fakes.marketo._http import json_body, ok
from tools.fakes.marketo._state import MarketoState, Refused

EXPORTS = "/bulk/v1/leads/export"
MAX_RANGE = timedelta(days=31)


def routes(api: FastAPI, state: MarketoState) -> None:
    """Add the export routes to `api`."""

    @api.post(f"{EXPORTS}/create.json")
    async def create(request: Request) -> JSONResponse:
        body = await json_body(request) or {}
        fields = body.get("fields") or []
        unknown = [name for name in fields if name not in FIELDS]
        if unknown or not fields:
            raise Refused("1003", f"Invalid fields: {unknown or 'none given'}")
        if body.get("format", "CSV") != "CSV":
            raise Refused("1003", "this fake exports CSV only")
        window = (body.get("filter") or {}).get("createdAt")
        if not window or set(body["filter"]) != {"createdAt"}:
            raise Refused("1035", "this fake filters exports on createdAt only")
        start, end = _moment(window.get("startAt")), _moment(window.get("endAt"))
        if not start < end or end - start > MAX_RANGE:
            raise Refused("1003", "createdAt must span at most 31 days")
        return ok([state.create_export(list(fields), start, end).shown()])

    @api.post(f"{EXPORTS}/{{export_id}}/enqueue.json")
    async def enqueue(export_id: str) -> JSONResponse:
        job = state.enqueue(export_id)
        return ok([{**job.shown(), "status": "Queued"}])

    @api.get(f"{EXPORTS}/{{export_id}}/status.json")
    async def status(export_id: str) -> JSONResponse:
        return ok([state.export(export_id).shown()])

    @api.get(f"{EXPORTS}/{{export_id}}/file.json", response_model=None)
    async def file(export_id: str) -> Response:
        job = state.export(export_id)
        if job.status != "Completed":
            raise Refused("1029", f"Export job {export_id} is not completed")
        return PlainTextResponse(job.file, media_type="text/csv")


def _moment(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Refused("1003", f"Invalid date '{value}'") from None
    if moment.tzinfo is None:
        raise Refused("1003", f"Date '{value}' has no time zone")
    return moment
