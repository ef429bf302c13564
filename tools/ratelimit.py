"""Rate limits per target connection, shared by every worker that talks to the target.

Celery's `rate_limit` counts per worker; a vendor counts per API key. Ten workers each
allowed 100 requests / 10 s send 1000 to a HubSpot that allows 100. So the count lives in
one place all workers see: a Redis key per target (``mops:ratelimit:<target>``), or, for
the embedded default with no Redis, a counter in this process.

    limit = RateLimit(requests=100, per_seconds=10)          # HubSpot's burst limit
    limiter = RedisLimiter(redis_client, "hubspot", limit)
    limiter.acquire()                                         # blocks until allowed
    crm_call()

Why a sliding-window *log* and not a token bucket or a fixed window: the promise is "never
above the limit in ANY window of `per_seconds`", since that is how the target judges us.
A token bucket of capacity N refilling at N/T lets through N at once and then N/T per second
more, so a window of T seconds right after a full bucket can hold nearly 2N. A fixed window
lets N through at the end of one window and N more at the start of the next. The log keeps
the time of every grant inside the window and admits a request only while fewer than N are
there, so no window can hold more than N, by construction. It costs one sorted-set entry per
request in flight within the window (100 entries for HubSpot), which is nothing.

Both limiters count a grant against every request for `window` seconds *inclusive*: no
closed interval of that length holds more than `requests` grants. Times are integers
(microseconds from the Redis server's clock, nanoseconds from `time.monotonic_ns`) so the
comparisons are exact, with no float rounding at the edge of a window.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from tools.retry import RetryPolicy, Transient

KEY_PREFIX = "mops:ratelimit:"

# KEYS[1]: a sorted set of grants scored by server time (µs). ARGV: requests, window (µs),
# n, a token unique to this call (members must be unique, or two grants at the same
# microsecond would collapse into one entry and the log would under-count).
# The clock is the Redis server's TIME: workers on several machines then agree on one clock,
# whatever their own clocks say. Numbers are formatted with %.0f because Lua would otherwise
# turn them into strings with 14 significant digits, and µs since 1970 have 16.
_SLIDING_WINDOW_LOG = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%.0f', now - window))
local used = redis.call('ZCARD', KEYS[1])
if used + n <= limit then
  local score = string.format('%.0f', now)
  for i = 1, n do
    redis.call('ZADD', KEYS[1], score, ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
  return 0
end
local k = used + n - limit - 1
local oldest = redis.call('ZRANGE', KEYS[1], k, k, 'WITHSCORES')
return tonumber(oldest[2]) + window - now + 1
"""


class LimiterUnavailable(Transient):
    """The shared store of a rate limit (Redis) did not answer; no request was granted."""


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` requests in any `per_seconds` seconds, as the target counts them.

    `margin` (seconds) keeps each grant on the books that much longer than the target's own
    window. The limiter counts *grants*; the target counts *arrivals*, which lag the grants
    by a delay that varies (network, scheduling). Two grants exactly one window apart can
    arrive less than a window apart when the first is delayed more than the second; the
    margin absorbs a spread in that delay of up to `margin` seconds, at a cost in throughput
    of margin / per_seconds. Raise it for targets far away on the network.
    """

    requests: int
    per_seconds: float
    margin: float = 0.05

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError(f"a rate limit allows at least 1 request, not {self.requests}")
        if self.per_seconds <= 0 or self.margin < 0:
            raise ValueError("a rate limit needs per_seconds > 0 and margin >= 0")

    @property
    def window(self) -> float:
        """Seconds each grant counts against later ones: the target's window plus the margin."""
        return self.per_seconds + self.margin


class Limiter(Protocol):
    """Admits requests to one target at no more than its `RateLimit`."""

    def acquire(self, n: int = 1) -> None:
        """Block until `n` requests may be sent, and count them as sent."""
        ...

    def try_acquire(self, n: int = 1) -> float:
        """Count `n` requests and return 0 if allowed now; else count nothing and return
        the seconds to wait before asking again (always > 0)."""
        ...


class NoLimit:
    """A limiter that never waits: for targets without a rate limit, and for tests."""

    def acquire(self, n: int = 1) -> None:
        """Return at once."""

    def try_acquire(self, n: int = 1) -> float:
        """Always allowed."""
        return 0.0


class LocalLimiter:
    """A sliding-window log in this process: for the embedded default, where one process is
    the only worker. Thread-safe. `clock` (integer nanoseconds) and `sleep` are injectable."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], int] = time.monotonic_ns,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = limit
        self._window = round(limit.window * 1_000_000_000)
        self._clock, self._sleep = clock, sleep
        self._log: deque[int] = deque()
        self._lock = threading.Lock()

    def acquire(self, n: int = 1) -> None:
        """Block (with the injected sleep) until `n` requests are allowed."""
        _block(self.try_acquire, n, self._sleep)

    def try_acquire(self, n: int = 1) -> float:
        """0 if `n` requests are granted now, else the seconds until they would be."""
        _check(n, self.limit)
        with self._lock:
            now = self._clock()
            # Same rule as the Lua script: a grant at g still counts at `now` while
            # now - g <= window, i.e. it leaves only once strictly more than a window old.
            while self._log and now - self._log[0] > self._window:
                self._log.popleft()
            used = len(self._log)
            if used + n <= self.limit.requests:
                self._log.extend([now] * n)
                return 0.0
            oldest = self._log[used + n - self.limit.requests - 1]
            return (oldest + self._window - now + 1) / 1_000_000_000


class RedisLimiter:
    """A sliding-window log in Redis, shared by every process using the same `target`.

    One Lua script per request does the whole check-and-count atomically, so two workers can
    never both take the last place in a window. The key is ``mops:ratelimit:<target>`` and
    expires a window after the last grant, so idle targets leave nothing behind.
    """

    def __init__(self, client: redis.Redis, target: str, limit: RateLimit, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.target, self.limit = target, limit
        self.key = KEY_PREFIX + target
        self._window = round(limit.window * 1_000_000)
        self._script = client.register_script(_SLIDING_WINDOW_LOG)
        self._sleep = sleep

    def acquire(self, n: int = 1) -> None:
        """Block (with the injected sleep) until `n` requests are allowed."""
        _block(self.try_acquire, n, self._sleep)

    def try_acquire(self, n: int = 1) -> float:
        """0 if `n` requests are granted now, else the seconds until they would be."""
        _check(n, self.limit)
        args: list[int | str] = [self.limit.requests, self._window, n, uuid.uuid4().hex]
        try:
            wait = self._script(keys=[self.key], args=args)
        except redis.RedisError as exc:
            # Fail closed: without the shared count we cannot know the target's budget.
            raise LimiterUnavailable(
                f"rate limit store for {self.target!r} unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        return int(wait) / 1_000_000


def _check(n: int, limit: RateLimit) -> None:
    # More than `requests` at once would never fit in a window: waiting would be forever.
    if not 1 <= n <= limit.requests:
        raise ValueError(f"cannot acquire {n} requests under a limit of {limit.requests}")


def _block(try_acquire: Callable[[int], float], n: int,
           sleep: Callable[[float], None]) -> None:
    # The wait is exact (to the tick), so one sleep is usually enough; another worker may
    # take the place first, hence the loop.
    while (wait := try_acquire(n)) > 0:
        sleep(wait)


# About half a minute of patience for a shared limiter whose Redis restarts.
LIMITER_RETRY = RetryPolicy(retry_on=(LimiterUnavailable,), max_attempts=10, initial=0.5,
                            multiplier=2, max_wait=5, jitter=0.5)


def acquire_patiently(limiter: Limiter, n: int = 1) -> None:
    """Wait for `n` requests under `limiter`; a limiter whose Redis is briefly away is waited
    for too (no request has been made, so nothing is lost by waiting)."""
    LIMITER_RETRY.call(lambda: limiter.acquire(n))
