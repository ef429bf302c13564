"""A replayed Slack request is refused by every process of the web app: the signatures taken
are kept in the job store (SQLite and PostgreSQL), not in one process's memory."""

from __future__ import annotations

import hashlib
import hmac
import time
from concurrent.futures import ThreadPoolExecutor

from approvals import schema as t
from mops.app import App
from mops.slack.verify import WINDOW, RequestGuard, SeenInStore

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed(body: bytes, stamp: int, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), b"v0:%d:" % stamp + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": "v0=" + digest}


def test_a_request_taken_by_one_process_is_refused_by_another(app: App) -> None:
    first = RequestGuard(SECRET, seen=SeenInStore(app.store))
    second = RequestGuard(SECRET, seen=SeenInStore(app.store))     # another web process
    now = int(time.time())
    body = b"command=%2Fmops&text=status"
    assert first.admit(body, signed(body, now))
    assert not second.admit(body, signed(body, now))
    assert not first.admit(body, signed(body, now))
    assert second.admit(b"other", signed(b"other", now))
    assert not first.admit(body, signed(body, now, "not-the-secret"))


def test_racing_replays_are_admitted_once(app: App) -> None:
    guards = [RequestGuard(SECRET, seen=SeenInStore(app.store)) for _ in range(8)]
    now = int(time.time())
    body = b"payload=%7B%7D"
    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(lambda g: g.admit(body, signed(body, now)), guards))
    assert admitted.count(True) == 1


def test_signatures_too_old_to_be_admitted_are_forgotten(app: App) -> None:
    clock = [1_000_000.0]
    guard = RequestGuard(SECRET, clock=lambda: clock[0], seen=SeenInStore(app.store))
    assert guard.admit(b"a", signed(b"a", 1_000_000))
    clock[0] += 2 * WINDOW + 1       # kept a window longer than needed: clocks differ
    assert guard.admit(b"b", signed(b"b", int(clock[0])))
    with app.store.engine.connect() as conn:
        kept = [row.stamp for row in conn.execute(t.slack_requests.select())]
    assert kept == [int(clock[0])]       # the first one is gone: it is stale anyway
