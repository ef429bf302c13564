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

Held requests. The limiter sees grants; the target counts arrivals, which come later, by a
delay that varies. A request over HTTP is therefore *held* (`Limiter.hold`): it counts as
in flight from its grant until its answer comes back, and then for one more window from the
answer. That is exact, not a margin: a request arrives between its grant and its answer, so
if a new grant at t finds fewer than N requests that are in flight or were answered within
the last window, then no window of the target's can hold more than N arrivals, however the
delays fall. (Take any window (s, s + W] with its arrivals; the last of them to be granted,
at t <= s + W, found every other one either in flight or answered after it arrived, after s,
so after t - W: all counted, so at most N - 1 others.) A request the target *refused* (HTTP
429: the target did not count it either) is taken off the books at once (`Held.release`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from tools.retry import RetryPolicy, Transient

KEY_PREFIX = "mops:ratelimit:"
log = logging.getLogger(__name__)

# KEYS[1]: a sorted set of grants scored by server time (µs): the time the grant stops
# counting, less a window (the grant's time; for a held request, "in flight": now + HOLD,
# until its answer sets it). ARGV: requests, window (µs), n, a token unique to this call
# (members must be unique, or two grants at the same microsecond would collapse into one
# entry and the log would under-count), the hold (µs, 0 for a plain grant), the longest
# wait to report when the place to free is in flight (µs).
# The clock is the Redis server's TIME: workers on several machines then agree on one clock,
# whatever their own clocks say. Numbers are formatted with %.0f because Lua would otherwise
# turn them into strings with 14 significant digits, and µs since 1970 have 16.
_SLIDING_WINDOW_LOG = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local hold, poll = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('ZSCORE', KEYS[1], ARGV[4] .. ':1') then
  return 0    -- granted already: this is a retry of a call whose answer was lost
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%.0f', now - window))
local used = redis.call('ZCARD', KEYS[1])
if used + n <= limit then
  local score = string.format('%.0f', now + hold)
  for i = 1, n do
    redis.call('ZADD', KEYS[1], score, ARGV[4] .. ':' .. i)
  end
  local ttl = math.ceil((window + hold) / 1000) + 1
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
  return 0
end
local k = used + n - limit - 1
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], k, k, 'WITHSCORES')[2])
local wait = oldest + window - now + 1
if oldest > now then
  return math.min(wait, poll)    -- still in flight: its answer may come at any moment
end
return wait
"""

# KEYS[1] as above. ARGV: the member, the window (µs), and 1 if the target counted the
# request (its answer came: it counts one more window from now) or 0 if it refused it (off
# the books). A member already gone (the key expired) is left gone.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
if ARGV[3] == '0' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now), ARGV[1])
local ttl = math.ceil(tonumber(ARGV[2]) / 1000) + 1
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 0
"""

# How long a held request may stay in flight in Redis before the limiter stops counting it
# so: longer than any request's timeout (VendorHttp's is 30 s a phase). A worker that dies
# mid-request leaves its place taken this long (and a window more), never less.
HOLD = 120.0
# How soon a limiter full of requests in flight looks again (their answers free places);
# the wait doubles while it stays full, up to a tenth of the window.
POLL = 0.002


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


class Held(Protocol):
    """One request held on a limiter's books from its grant until its answer."""

    def release(self, *, counted: bool = True) -> None:
        """The answer came: the request counts one window more (`counted`), or, if the
        target refused it without counting it (HTTP 429), not at all. Idempotent."""
        ...


class Limiter(Protocol):
    """Admits requests to one target at no more than its `RateLimit`."""

    def hold(self) -> Held:
        """Block until one request may be sent (waiting out a limiter store that is briefly
        away); it counts as in flight until released."""
        ...

    def acquire(self, n: int = 1) -> None:
        """Block until `n` requests may be sent, and count them as sent."""
        ...

    def try_acquire(self, n: int = 1) -> float:
        """Count `n` requests and return 0 if allowed now; else count nothing and return
        the seconds to wait before asking again (always > 0)."""
        ...


class _Released:
    """A `Held` with nothing to release."""

    def release(self, *, counted: bool = True) -> None:
        """Nothing to do."""


class NoLimit:
    """A limiter that never waits: for targets without a rate limit, and for tests."""

    def hold(self) -> Held:
        """Return at once."""
        return _Released()

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
        # Each grant's time; None for a held one in flight, then its answer's time.
        self._log: dict[int, int | None] = {}
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self, n: int = 1) -> None:
        """Block (with the injected sleep) until `n` requests are allowed."""
        _block(self.try_acquire, n, self._sleep)

    def try_acquire(self, n: int = 1) -> float:
        """0 if `n` requests are granted now, else the seconds until they would be."""
        return self._try(n, held=False)[0]

    def hold(self) -> Held:
        """Block until one request is allowed; it counts as in flight until released (in
        this process there is no `HOLD` deadline: a `Held` never released stays counted)."""
        poll = _Poll(self.limit)
        while True:
            wait, entry = self._try(1, held=True)
            if entry is not None:
                return _LocalHeld(self, entry)
            self._sleep(poll.next(wait))

    def _try(self, n: int, *, held: bool) -> tuple[float, int | None]:
        _check(n, self.limit)
        with self._lock:
            now = self._clock()
            # Same rule as the Lua script: a grant at g still counts at `now` while
            # now - g <= window, i.e. it leaves only once strictly more than a window old.
            gone = [entry for entry, score in self._log.items()
                    if score is not None and now - score > self._window]
            for entry in gone:
                del self._log[entry]
            used = len(self._log)
            if used + n <= self.limit.requests:
                first = self._next
                self._next += n
                for entry in range(first, self._next):
                    self._log[entry] = None if held else now
                return 0.0, first
            finished = sorted(score for score in self._log.values() if score is not None)
            k = used + n - self.limit.requests - 1
            if k >= len(finished):
                return POLL, None        # the place to free is in flight: look again soon
            oldest = finished[k]
            return (oldest + self._window - now + 1) / 1_000_000_000, None

    def _release(self, entry: int, counted: bool) -> None:
        with self._lock:
            if entry not in self._log:
                return
            if counted:
                self._log[entry] = self._clock()
            else:
                del self._log[entry]


class _LocalHeld:
    def __init__(self, limiter: LocalLimiter, entry: int) -> None:
        self._limiter, self._entry, self._done = limiter, entry, False

    def release(self, *, counted: bool = True) -> None:
        """Count the request from now (answered), or drop it (refused); once."""
        if not self._done:
            self._done = True
            self._limiter._release(self._entry, counted)


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
        self._release_script = client.register_script(_RELEASE)
        self._sleep = sleep

    def acquire(self, n: int = 1) -> None:
        """Block (with the injected sleep) until `n` requests are allowed."""
        _block(self.try_acquire, n, self._sleep)

    def try_acquire(self, n: int = 1) -> float:
        """0 if `n` requests are granted now, else the seconds until they would be."""
        return self._try(n, uuid.uuid4().hex, hold=0)

    def hold(self) -> Held:
        """Block until one request is allowed; it counts as in flight (for at most `HOLD`
        seconds, should this process die with it) until released. A Redis that is briefly
        away is waited for, asking again under the same token, so a grant whose answer was
        lost is found, not granted twice."""
        token, poll = uuid.uuid4().hex, _Poll(self.limit)
        while (wait := LIMITER_RETRY.call(
                lambda: self._try(1, token, hold=round(HOLD * 1_000_000)))) > 0:
            self._sleep(poll.next(wait))
        return _RedisHeld(self, token + ":1")

    def _try(self, n: int, token: str, *, hold: int) -> float:
        _check(n, self.limit)
        args: list[int | str] = [self.limit.requests, self._window, n, token, hold,
                                 round(POLL * 1_000_000)]
        return int(self._run(self._script, args)) / 1_000_000

    def _release(self, member: str, counted: bool) -> None:
        self._run(self._release_script, [member, self._window, int(counted)])

    def _run(self, script: Any, args: list[int | str]) -> Any:
        try:
            return script(keys=[self.key], args=args)
        except redis.RedisError as exc:
            # Fail closed: without the shared count we cannot know the target's budget.
            raise LimiterUnavailable(
                f"rate limit store for {self.target!r} unavailable: {type(exc).__name__}: {exc}"
            ) from exc


class _RedisHeld:
    def __init__(self, limiter: RedisLimiter, member: str) -> None:
        self._limiter, self._member, self._done = limiter, member, False

    def release(self, *, counted: bool = True) -> None:
        """Count the request from now (answered), or drop it (refused); once. If Redis is
        away, the request stays in flight on the books until `HOLD` runs out: late, never
        early."""
        if self._done:
            return
        self._done = True
        try:
            RELEASE_RETRY.call(lambda: self._limiter._release(self._member, counted))
        except LimiterUnavailable as exc:
            log.warning("%s; a request stays counted as in flight", exc)


class _Poll:
    """The waits of one blocked caller: exact ones as given; `POLL` (all places in flight)
    doubling while it repeats, up to a tenth of the window."""

    def __init__(self, limit: RateLimit) -> None:
        self._cap, self._next = max(POLL, limit.window / 10), POLL

    def next(self, wait: float) -> float:
        """How long to sleep for a limiter's answer `wait`."""
        if wait != POLL:
            self._next = POLL
            return wait
        current, self._next = self._next, min(self._next * 2, self._cap)
        return current


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
# Releasing a held request when Redis blinks: a few quick tries.
RELEASE_RETRY = RetryPolicy(retry_on=(LimiterUnavailable,), max_attempts=4, initial=0.05,
                            multiplier=2, max_wait=0.5, jitter=0.05)


def acquire_patiently(limiter: Limiter, n: int = 1) -> None:
    """Wait for `n` requests under `limiter`; a limiter whose Redis is briefly away is waited
    for too (no request has been made, so nothing is lost by waiting)."""
    LIMITER_RETRY.call(lambda: limiter.acquire(n))
