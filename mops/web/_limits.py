"""How large a request body may be, checked before anything reads it.

FastAPI parses a whole form (spooling file parts to temporary files) before any dependency
runs, so without a limit anybody, logged in or not, could push any number of bytes at the
server before being refused. `BodyLimit` refuses a body over its route's cap with 413: from
``Content-Length`` at once, and while it streams when there is none. Only the list upload
page takes large bodies.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mops.slack.files import MAX_BYTES

DEFAULT = 1024 * 1024                       # forms, JSON, Slack events: small
LARGE = {"/jobs/new": MAX_BYTES + DEFAULT}   # a CSV and a few fields


class TooLarge(HTTPException):
    """The body went over its cap while streaming (an HTTPException, so a framework that
    reads the body answers it as 413 rather than as a body it could not parse)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request is larger than {cap:,} bytes")


class BodyLimit:
    """ASGI middleware: 413 for a request body over its path's cap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = LARGE.get(scope.get("path", ""), DEFAULT)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            await _refuse(send, cap)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise TooLarge(cap)
            return message

        async def noting(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, noting)
        except TooLarge:
            if not started:
                await _refuse(send, cap)


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"detail": f"the request is larger than {cap:,} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
