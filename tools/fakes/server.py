"""Run a fake vendor API (an ASGI app) on 127.0.0.1 in a thread, with faults on demand.

    with FakeServer(hubspot_app(state)) as server:
        server.faults.set(rate=0.05)          # 5% of requests fail, chosen by a seeded RNG
        HubSpotCRM(base_url=server.url, ...)

`Faults` are decided per request, before or after the app has handled it:

- ``429`` / ``503`` / ``500``: answered instead of the app (the request is not processed);
- ``drop``: the app processes the request, then the connection is closed without a complete
  response — the worst case for a client, which cannot know whether its write happened;
- ``slow``: the response is delayed by `slow_seconds`.

The fakes in this package are usable outside the tests, for dry runs: ``python -m
tools.fakes.<vendor> --port 8001``.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KINDS = ("429", "503", "500", "drop", "slow")


@dataclass
class Faults:
    """What share of requests fail, and how. Changed by tests while the server runs."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "503", "drop")
    slow_seconds: float = 0.5
    retry_after: int = 1
    seed: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    # The faults by kind and request path, e.g. ("drop", "/crm/v3/objects/contacts/batch/create").
    where: dict[tuple[str, str], int] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def set(self, rate: float, kinds: tuple[str, ...] | None = None, seed: int | None = None,
            ) -> None:
        """Fail `rate` of the requests from now on, with one of `kinds` each."""
        unknown = set(kinds or ()) - set(KINDS)
        if unknown or not 0 <= rate <= 1:
            raise ValueError(f"faults: rate in [0, 1], kinds among {KINDS}")
        with self._lock:
            self.rate = rate
            self.kinds = kinds or self.kinds
            if seed is not None:
                self._rng.seed(seed)

    def draw(self, path: str = "") -> str | None:
        """The fault for the next request (to `path`), if any (counted in `injected` and
        `where`)."""
        with self._lock:
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            self.where[kind, path] = self.where.get((kind, path), 0) + 1
            return kind


class _Dropped(Exception):
    """Close the connection without completing the response (a `drop` fault)."""


def with_faults(app: ASGIApp, faults: Faults) -> ASGIApp:
    """`app` behind fault injection (HTTP requests only)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        fault = faults.draw(scope.get("path", ""))
        if fault in ("429", "503", "500"):
            headers = [(b"content-type", b"application/json")]
            if fault == "429":
                headers.append((b"retry-after", str(faults.retry_after).encode()))
            await send({"type": "http.response.start", "status": int(fault or 500),
                        "headers": headers})
            await send({"type": "http.response.body", "body": b'{"status":"error",'
                        b'"message":"injected fault"}'})
            return
        if fault == "slow":
            await asyncio.sleep(faults.slow_seconds)
        if fault != "drop":
            await app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":   # processed: now drop the line
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"content-length"]
                await send({**message, "headers": [*headers, (b"content-length", b"100000")]})
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise _Dropped

        try:
            await app(scope, receive, swallow)
        except _Dropped:
            raise RuntimeError("injected fault: connection dropped") from None

    return wrapped


class FakeServer:
    """An ASGI app served by uvicorn on 127.0.0.1 (an ephemeral port) while in `with`."""

    def __init__(self, app: ASGIApp, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        # IPPROTO_TCP: asyncio then sets TCP_NODELAY (else Nagle holds each reply ~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(with_faults(app, self.faults), log_level="critical",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [sock]}, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
