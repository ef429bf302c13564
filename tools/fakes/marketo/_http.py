"""Small helpers the fake's routes share: Marketo's envelope, query lists, bodies."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from tools.fakes.marketo._gate import envelope_error, request_id
from tools.fakes.marketo._state import MarketoState, Refused
from tools.fakes.openapi import Violation


def ok(result: list[Any] | None = None, **extra: Any) -> JSONResponse:
    """A successful call: ``success: true`` and its records."""
    return JSONResponse({"requestId": request_id(), "success": True, "errors": [],
                         "warnings": [], "result": result or [], **extra})


def nothing_found() -> JSONResponse:
    """What the Asset API answers when a query finds no asset."""
    return JSONResponse({"requestId": request_id(), "success": True, "errors": [],
                         "warnings": ["No assets found for the given search criteria."]})


async def refused(request: Request, exc: Exception) -> JSONResponse:
    """A `Refused` raised by the state, as Marketo's call-level error."""
    assert isinstance(exc, Refused)
    return JSONResponse(envelope_error(exc.code, exc.message))


def values(request: Request, name: str) -> list[str]:
    """A list parameter: comma-separated, or repeated, or both."""
    return [part for raw in request.query_params.getlist(name)
            for part in raw.split(",") if part != ""]


def number(request: Request, name: str, default: int, high: int) -> int:
    """An integer parameter within [0, high]."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) > high:
        raise Refused("1003", f"Invalid value '{raw}' for {name}")
    return int(raw)


def ids(request: Request, body: Any) -> list[int]:
    """Lead ids of a list or delete call: the body's ``input`` or the ``id`` parameter."""
    if isinstance(body, dict) and isinstance(body.get("input"), list):
        return [int(item["id"]) for item in body["input"]]
    found = values(request, "id")
    if not all(v.isdigit() for v in found):
        raise Refused("1003", "Invalid id")
    return [int(v) for v in found]


async def json_body(request: Request) -> Any:
    """The JSON body (None if there is none); the gate has checked that it parses."""
    raw = await request.body()
    return json.loads(raw) if raw.strip() else None


def invalid(state: MarketoState, request: Request, error: ValidationError) -> Refused:
    """Record a request that does not fit its model (never the values it sent), and the
    refusal to answer with."""
    problems = tuple(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}"
                     for e in error.errors(include_input=False, include_url=False))
    with state.lock:
        state.checker.violations.append(Violation(request.method, request.url.path, problems))
    return Refused("1003", "; ".join(problems))
