"""A fake HTTP target with a rate limit of its own, for tests and benchmarks.

It measures what callers only assume: the arrival time (`time.monotonic`) of every request,
and `max_in_any_window(seconds)`, the most requests that arrived in any window of that
length. It answers 200, or 429 with Retry-After when a request makes more than `limit`
arrivals in the last `per_seconds` (every request counts, refused ones too, as at most
vendors). It can also inject a seeded share of faults (5xx, or 429 with Retry-After).

    with RatelimitedTarget(limit=20, per_seconds=1.0) as target:
        httpx.get(target.url)
        assert target.max_in_any_window(1.0) <= 20

Windows are closed intervals: ``t`` and ``t + seconds`` are in the same window. That is the
strictest reading, and the one the limiters in `tools.ratelimit` keep to.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most of `times` (sorted) within any closed window ``[t, t + seconds]``."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


class RatelimitedTarget:
    """A tiny HTTP server on 127.0.0.1 (ephemeral port), run in a thread while in `with`."""

    def __init__(self, limit: int, per_seconds: float, *, fault_rate: float = 0.0,
                 fault_statuses: Sequence[int] = (500, 503, 429), fault_retry_after: int = 1,
                 seed: int = 0) -> None:
        self.limit, self.per_seconds = limit, per_seconds
        self.fault_rate, self.fault_statuses = fault_rate, tuple(fault_statuses)
        self.fault_retry_after = fault_retry_after
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._times: list[float] = []
        self._statuses: list[int] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("the target is not running: use it in a `with` block")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[float]:
        """Arrival times (time.monotonic) of every request so far, in order."""
        with self._lock:
            return list(self._times)

    @property
    def statuses(self) -> list[int]:
        """The status answered to each request, in the order of `requests`."""
        with self._lock:
            return list(self._statuses)

    def count(self, status: int) -> int:
        """How many requests were answered with `status`."""
        return self.statuses.count(status)

    def max_in_any_window(self, seconds: float) -> int:
        """The most requests that arrived within any closed window of `seconds`."""
        return max_in_window(self.requests, seconds)

    def decide(self) -> tuple[int, int | None]:
        """Record an arrival now; return the status to answer and its Retry-After, if any."""
        with self._lock:
            # The time is taken under the lock so that `_times` stays sorted.
            now = time.monotonic()
            self._times.append(now)
            first = bisect.bisect_left(self._times, now - self.per_seconds)
            answer: tuple[int, int | None] = (200, None)
            if len(self._times) - first > self.limit:
                # Retry-After is whole seconds (RFC 9110): until the oldest arrival leaves.
                answer = (429, max(1, math.ceil(self._times[first] + self.per_seconds - now)))
            elif self.fault_rate and self._rng.random() < self.fault_rate:
                status = self._rng.choice(self.fault_statuses)
                answer = (status, self.fault_retry_after if status == 429 else None)
            self._statuses.append(answer[0])
            return answer

    def __enter__(self) -> RatelimitedTarget:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.target = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="ratelimited-target", daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive connections left open must not block shutdown
    target: RatelimitedTarget


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per client, as real SDKs do
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK holds
    # the body back ~40 ms, which would make every request look slow and smear arrivals.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:  # (names http.server dispatches to)
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)  # drain the body, or the next request on this connection breaks
        self._answer()

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _answer(self) -> None:
        status, retry_after = self.server.target.decide()
        body = json.dumps({"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a benchmark sends thousands of requests."""
