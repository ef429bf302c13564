"""`VendorHttp` over real HTTP: a 429 gives its limiter place back, a lost answer to a request
that must not be resent is not resent, and one to a request that may be, is."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tools.fakes.server import FakeServer, Faults
from tools.http import Unanswered, VendorHttp
from tools.ratelimit import LocalLimiter, RateLimit
from tools.retry import RetriesExhausted, RetryPolicy

FAST = RetryPolicy(max_attempts=5, initial=0.001, max_wait=0.01, jitter=0.0)


class Counting:
    """An ASGI app answering 200 {"n": <how many requests so far>}."""

    def __init__(self) -> None:
        self.seen = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen += 1
        body = b'{"n": %d}' % self.seen
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def test_a_429_gives_its_place_back_and_an_answer_keeps_it() -> None:
    app = Counting()
    faults = Faults(retry_after=0)
    limiter = LocalLimiter(RateLimit(1, 30.0))    # one request in 30 s
    with FakeServer(app, faults) as server:
        http = VendorHttp(server.url, limiter=limiter, retry=FAST)
        faults.set(1.0, ("429",))
        with pytest.raises(RetriesExhausted, match="429"):
            http.call("GET", "/")                 # five refusals, none counted ...
        faults.set(0.0)
        started = time.monotonic()
        assert http.call("GET", "/").json() == {"n": 1}    # ... so this one is not held back
        assert time.monotonic() - started < 5
        assert limiter.try_acquire() > 25         # and it, answered, counts a window
        http.close()
    assert faults.injected == {"429": 5}


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_lost_answer_is_resent_only_if_resending_is_harmless(idempotent: bool) -> None:
    app = Counting()
    faults = Faults()
    with FakeServer(app, faults) as server:
        http = VendorHttp(server.url, retry=FAST)
        faults.set(1.0, ("drop",))
        if idempotent:
            with pytest.raises(RetriesExhausted, match="no complete answer"):
                http.call("POST", "/", json={}, idempotent=True)
            assert app.seen == FAST.max_attempts          # carried out every time
        else:
            with pytest.raises(Unanswered, match="may have been carried out"):
                http.call("POST", "/", json={}, idempotent=False)
            assert app.seen == 1                          # once, never again
        http.close()


@pytest.mark.parametrize(("status", "resent"), [("500", False), ("503", True)])
def test_a_5xx_to_a_request_that_must_not_be_resent(status: str, resent: bool) -> None:
    """A 503 says the request was not handled (RFC 9110): resent. Any other 5xx may come
    after the work was done (a gateway's 502, say): not resent, the caller finds out."""
    faults = Faults()
    with FakeServer(Counting(), faults) as server:
        http = VendorHttp(server.url, retry=FAST)
        faults.set(1.0, (status,))
        expected = RetriesExhausted if resent else Unanswered
        with pytest.raises(expected):
            http.call("POST", "/", json={}, idempotent=False)
        http.close()
    assert faults.injected == {status: FAST.max_attempts if resent else 1}
