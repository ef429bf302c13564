"""The fake HubSpot as an ASGI app: routes, the token and rate-limit gate, and spec checks.

    state = HubSpotState(tokens=["pat-na1-test"])
    with FakeServer(hubspot_app(state, specs_dir)) as server:
        crm = HubSpotCRM(server.url, token=SecretStr("pat-na1-test"))

Every request passes, in order: the token (401 INVALID_AUTHENTICATION or
EXPIRED_AUTHENTICATION), the daily quota and the rolling window (429 with ``policyName``
DAILY or TEN_SECONDLY_ROLLING and HubSpot's ``X-HubSpot-RateLimit-*`` headers), then the
official spec: a request that is no operation of it, or whose JSON body does not validate,
is answered 400 VALIDATION_ERROR and kept in `state.violations`, so a test can fail on it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.fakes.hubspot import _contacts, _lists
from tools.fakes.hubspot._answers import Refusal, error_body
from tools.fakes.hubspot._state import HubSpotState
from tools.fakes.openapi import Body, OpenAPISpec, RequestChecker

log = logging.getLogger(__name__)
SPEC_FILES = ("contacts.json", "lists.json", "properties.json")
AUTH_MESSAGES = {
    "INVALID_AUTHENTICATION": "Authentication credentials not found. This API supports OAuth "
                              "2.0 authentication and private app access tokens.",
    "EXPIRED_AUTHENTICATION": "The access token used to make this call has expired.",
}


def load_spec(spec_dir: Path | None) -> OpenAPISpec | None:
    """HubSpot's specs from `spec_dir`/hubspot, or None (checking off, with a warning)."""
    if spec_dir is None:
        log.warning("fake HubSpot: no spec directory given; request bodies are not checked")
        return None
    paths = [spec_dir / "hubspot" / name for name in SPEC_FILES]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"HubSpot specs not found: {', '.join(missing)}")
    return OpenAPISpec.from_files(*paths)


def hubspot_app(state: HubSpotState, spec_dir: Path | None) -> FastAPI:
    """The fake HubSpot API over `state`, checking requests against the specs in `spec_dir`."""
    checker = RequestChecker(load_spec(spec_dir), state.violations)
    app = FastAPI(title="fake HubSpot", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(_Gate, state=state)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        with state.lock:
            state.refusals[str(exc.status)] += 1
        return JSONResponse(exc.body, status_code=exc.status)

    async def malformed(request: Request, exc: Exception) -> Response:
        # Reached only with checking off: a body the spec would have refused.
        with state.lock:
            state.refusals["400"] += 1
        body = error_body(f"Invalid input JSON: {type(exc).__name__}: {exc}", "VALIDATION_ERROR")
        return JSONResponse(body, status_code=400)

    app.add_exception_handler(Refusal, refused)
    for kind in (KeyError, TypeError, AttributeError):
        app.add_exception_handler(kind, malformed)

    async def parsed(request: Request) -> Any:
        """The request's JSON body, or `Body.NONE`."""
        raw = await request.body()
        try:
            return json.loads(raw) if raw else Body.NONE
        except ValueError:
            raise Refusal(400, "Invalid input JSON: the body is not JSON",
                          "VALIDATION_ERROR") from None

    def raw_path(request: Request) -> str:
        # Percent-encoded as sent: a list name may hold a "/" (%2F).
        return request.scope.get("raw_path", b"").decode("ascii") or request.url.path

    async def checked(request: Request) -> Any:
        """The request's JSON body (or `Body.NONE`), once the spec accepts the request."""
        body = await parsed(request)
        problems = checker(request.method, raw_path(request), body)
        if problems:
            raise Refusal(400, "Invalid input JSON: " + "; ".join(problems), "VALIDATION_ERROR",
                          errors=[{"message": p, "in": "body"} for p in problems])
        return body

    _contact_routes(app, state, checked)
    _list_routes(app, state, checked)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> Response:
        checker(request.method, raw_path(request), await parsed(request))  # recorded
        raise Refusal(404, f"No fake for {request.method} /{rest}", "OBJECT_NOT_FOUND")

    return app


def _contact_routes(app: FastAPI, state: HubSpotState, checked: Any) -> None:
    base = "/crm/v3/objects/contacts"

    @app.get("/crm/v3/properties/{object_type}")
    async def properties(request: Request, object_type: str) -> Response:
        await checked(request)
        if object_type not in ("contacts", "0-1"):
            raise Refusal(400, f"Unable to infer object type from: {object_type}",
                          "VALIDATION_ERROR")
        with state.lock:
            return _answer(200, {"results": [p.as_json() for p in state.properties.values()]})

    @app.get(base)
    async def page(request: Request) -> Response:
        await checked(request)
        return _answer(*_contacts.page(state, request.query_params))

    for verb, work in (("read", _contacts.read), ("create", _contacts.create),
                       ("upsert", _contacts.upsert),
                       ("update", _contacts.update), ("archive", _contacts.archive)):
        _post(app, f"{base}/batch/{verb}", state, checked, work)


def _post(app: FastAPI, path: str, state: HubSpotState, checked: Any, work: Any) -> None:
    async def route(request: Request) -> Response:
        return _answer(*work(state, await checked(request)))

    app.add_api_route(path, route, methods=["POST"])


def _list_routes(app: FastAPI, state: HubSpotState, checked: Any) -> None:
    base = "/crm/v3/lists"
    _post(app, base, state, checked, _lists.create)
    _post(app, f"{base}/search", state, checked, _lists.search)
    _post(app, f"{base}/records/memberships/batch/read", state, checked, _lists.of_records)

    @app.get(base + "/object-type-id/{object_type}/name/{name:path}")
    async def by_name(request: Request, object_type: str, name: str) -> Response:
        await checked(request)
        return _answer(*_lists.by_name(state, object_type, name))

    @app.get(base + "/{list_id}")
    async def by_id(request: Request, list_id: str) -> Response:
        await checked(request)
        return _answer(*_lists.by_id(state, list_id))

    @app.delete(base + "/{list_id}")
    async def delete(request: Request, list_id: str) -> Response:
        await checked(request)
        return _answer(*_lists.delete(state, list_id))

    @app.get(base + "/{list_id}/memberships")
    async def members(request: Request, list_id: str) -> Response:
        await checked(request)
        return _answer(*_lists.members(state, list_id, request.query_params))

    @app.put(base + "/{list_id}/memberships/{change}")
    async def change(request: Request, list_id: str, change: str) -> Response:
        ids = await checked(request)
        if change == "add":
            return _answer(*_lists.add(state, list_id, ids))
        if change == "remove":
            return _answer(*_lists.remove(state, list_id, ids))
        raise Refusal(404, f"No fake for memberships/{change}", "OBJECT_NOT_FOUND")


def _answer(status: int, body: Any) -> Response:
    if body is None:
        return Response(status_code=status)
    return JSONResponse(body, status_code=status)


class _Gate:
    """Tokens first, then the daily quota and the rolling window; rate headers on answers."""

    def __init__(self, app: ASGIApp, state: HubSpotState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        problem = state.auth_problem(_bearer(scope))
        if problem is not None:
            with state.lock:
                state.refusals["401"] += 1
            await _send(send, 401, error_body(AUTH_MESSAGES[problem], problem), [])
            return
        policy = state.admit()
        if policy is not None:
            with state.lock:
                state.refusals[policy] += 1
            body = {**error_body(_limit_message(policy), "RATE_LIMITS"),
                    "errorType": "RATE_LIMIT", "policyName": policy}
            await _send(send, 429, body, self._headers())
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  *self._headers()]}
            await send(message)

        await self.app(scope, receive, with_headers)

    def _headers(self) -> list[tuple[bytes, bytes]]:
        limits = self.state.limits
        window, day = self.state.remaining()
        values = {
            "x-hubspot-ratelimit-daily": limits.daily,
            "x-hubspot-ratelimit-daily-remaining": day,
            "x-hubspot-ratelimit-interval-milliseconds": round(limits.window_seconds * 1000),
            "x-hubspot-ratelimit-max": limits.per_window,
            "x-hubspot-ratelimit-remaining": window,
            "x-hubspot-ratelimit-secondly": limits.per_window,
            "x-hubspot-ratelimit-secondly-remaining": window,
        }
        return [(name.encode(), str(value).encode()) for name, value in values.items()]


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _limit_message(policy: str) -> str:
    if policy == "DAILY":
        return "You have reached your daily limit."
    return f"You have reached your {policy.lower()} limit."


async def _send(send: Send, status: int, body: Any,
                headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})
