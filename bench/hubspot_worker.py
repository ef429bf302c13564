"""One worker of `bench/hubspot_bench.py`: creates its share of the contacts, then reports.

    python -m bench.hubspot_worker '{"url": ..., "first": 0, "last": 15000, ...}'

It builds everything first (records, adapter, limiter), prints ``ready``, waits for a line
on stdin (so every worker starts together and imports are not timed), then calls
`HubSpotCRM.create_contacts` a batch of 100 records at a time and prints one JSON line:
its start and end and when each batch was done (`time.monotonic`, one clock for every
process on the machine), the items that failed, and where its time went: blocked in the
shared limiter, asleep between retries (summed from `tools.retry`'s retry log), and the
rest (requests in flight, the adapter's own work).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import redis  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from tools.hubspot import HubSpotCRM  # noqa: E402
from tools.ratelimit import Held, Limiter, RateLimit, RedisLimiter  # noqa: E402
from tools.records import Record  # noqa: E402
from tools.retry import RetryPolicy  # noqa: E402

BATCH = 100
GRANTED = "x-bench-granted"


def key(n: int) -> str:
    """The e-mail of contact `n` (the bench checks the fake against the same names)."""
    return f"lead{n:07d}@bench.example"


def records(first: int, last: int) -> list[Record]:
    """Contacts `first` to `last` (excluded), made here: the data is never on disk."""
    return [Record(key=key(n), fields={"firstname": f"Lead{n}", "company": "Acme",
                                       "utm_source": "bench"}) for n in range(first, last)]


class TimedLimiter:
    """A limiter that counts its grants, the seconds spent blocked in it, and when it last
    granted (`time.monotonic`)."""

    def __init__(self, inner: Limiter) -> None:
        self.inner, self.grants, self.blocked, self.granted = inner, 0, 0.0, 0.0

    def hold(self) -> Held:
        """Hold a request on the inner limiter, timing the wait."""
        started = time.monotonic()
        held = self.inner.hold()
        self.granted = time.monotonic()
        self.blocked += self.granted - started
        self.grants += 1
        return held

    def acquire(self, n: int = 1) -> None:
        """Acquire from the inner limiter, timing the wait."""
        started = time.monotonic()
        self.inner.acquire(n)
        self.granted = time.monotonic()
        self.blocked += self.granted - started
        self.grants += n

    def try_acquire(self, n: int = 1) -> float:
        """Ask the inner limiter; count the grant if there is one."""
        wait = self.inner.try_acquire(n)
        if wait == 0:
            self.grants += n
        return wait


class GrantStamp(httpx.HTTPTransport):
    """Sends the time of the request's grant along (`GRANTED` header), so the bench can
    measure the delay from grant to arrival that the limiter's margin has to cover."""

    def __init__(self, limiter: TimedLimiter) -> None:
        super().__init__()
        self.limiter = limiter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Stamp, then send."""
        request.headers[GRANTED] = repr(self.limiter.granted)
        return super().handle_request(request)


class RetrySleeps(logging.Handler):
    """Sums the sleeps `tools.retry` announces ("attempt %d failed (%s); retrying in %.2f s")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count, self.seconds = 0, 0.0
        self.reasons: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Count one announced retry and its sleep."""
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 3 and isinstance(args[2], int | float):
            self.count += 1
            self.seconds += float(args[2])
            # "Transient: POST /path: HTTP 503" -> "HTTP 503"; "...: ReadError (no ...)".
            reason = str(args[1]).rsplit(": ", 1)[-1].split(" (", 1)[0]
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Build, say ready, wait for the go, create the contacts; the report."""
    todo = records(spec["first"], spec["last"])
    client = redis.Redis.from_url(spec["redis_url"])
    limiter = TimedLimiter(RedisLimiter(client, spec["target"], RateLimit(
        spec["limit"], spec["window"], margin=spec["margin"])))
    retry = RetryPolicy(max_attempts=10, initial=spec["retry_initial"],
                        jitter=spec["retry_jitter"], max_wait=spec["retry_max_wait"])
    crm = HubSpotCRM(spec["url"], token=SecretStr(spec["token"]), limiter=limiter,
                     retry=retry, timeout=10.0, transport=GrantStamp(limiter))
    sleeps = RetrySleeps()
    retry_log = logging.getLogger("tools.retry")
    retry_log.addHandler(sleeps)
    retry_log.propagate = False
    print("ready", flush=True)
    sys.stdin.readline()
    failed: list[str] = []
    done: list[float] = []
    started = time.monotonic()
    try:
        for start in range(0, len(todo), BATCH):
            results = crm.create_contacts(todo[start:start + BATCH])
            failed += [f"{r.key}: {r.error}" for r in results if not r.ok]
            done.append(time.monotonic())
    finally:
        ended = time.monotonic()
        crm.close()
    return {"started": started, "ended": ended, "records": len(todo), "done": done,
            "failed": len(failed), "failures": failed[:5], "grants": limiter.grants,
            "limiter_seconds": limiter.blocked, "retries": sleeps.count,
            "retry_seconds": sleeps.seconds, "retry_reasons": sleeps.reasons}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))), flush=True)
