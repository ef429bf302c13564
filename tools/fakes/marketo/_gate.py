"""What every REST call passes before it is served: Marketo's URI limit, its token check,
its limits (concurrency 615, daily quota 607, rate 606), and the spec's request shapes.

A refusal is HTTP 200 with ``success: false``, as Marketo answers, and the call is not
served. Calls of the Lead Database and Bulk APIs (``/rest/v1``, ``/bulk/v1``) have their
path, method and JSON body checked against the Swagger spec, when the app has one.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from tools.fakes.marketo._state import MarketoState
from tools.fakes.openapi import Body
from tools.fakes.server import ASGIApp, Message, Receive, Scope, Send

MESSAGES = {
    "600": "Access token not specified",
    "601": "Access token invalid",
    "602": "Access token expired",
    "606": "Max rate limit exceeded",
    "607": "Max daily quota reached",
    "609": "Invalid JSON",
    "615": "Concurrent access limit reached",
}
_CHECKED = ("/rest/v1/", "/bulk/v1/")


def request_id() -> str:
    """A Marketo-looking request id."""
    return f"{secrets.token_hex(2)}#{secrets.token_hex(6)}"


def envelope_error(code: str, message: str) -> dict[str, Any]:
    """The body of a call-level error."""
    return {"requestId": request_id(), "success": False,
            "errors": [{"code": code, "message": message}]}


class Gate:
    """ASGI middleware in front of the fake's routes (see the module docstring)."""

    def __init__(self, app: ASGIApp, state: MarketoState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(("/rest/", "/bulk/")):
            await self.app(scope, receive, send)
            return
        uri = len(scope.get("raw_path") or path.encode()) + 1 + len(scope["query_string"])
        if uri > self.state.limits.max_uri:
            await _send(send, 414, b"Request-URI Too Long", b"text/plain")
            return
        headers = dict(scope["headers"])
        code = self.state.admit(headers.get(b"authorization", b"").decode("latin-1") or None)
        if code:
            await _send_json(send, envelope_error(code, MESSAGES[code]))
            return
        try:
            body = await _read(receive)
            problems = self._check(scope, path, headers, body) if path.startswith(_CHECKED) \
                else []
            if problems:
                await _send_json(send, envelope_error("609", "; ".join(problems)))
                return
            if self.state.limits.latency:
                await asyncio.sleep(self.state.limits.latency)
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.state.leave()

    def _check(self, scope: Scope, path: str, headers: dict[bytes, bytes],
               body: bytes) -> list[str]:
        parsed: Any = Body.NONE
        if body.strip():
            if b"json" not in headers.get(b"content-type", b""):
                return [f"{scope['method']} {path}: the body is not JSON"]
            try:
                parsed = json.loads(body)
            except ValueError:
                return [MESSAGES["609"]]
        return self.state.checker(str(scope["method"]), path, parsed)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


async def _send_json(send: Send, content: dict[str, Any]) -> None:
    await _send(send, 200, json.dumps(content).encode(), b"application/json")


async def _send(send: Send, status: int, body: bytes, kind: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
