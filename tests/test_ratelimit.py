"""Rate limits: exact sliding-window logs, local and on the real Redis, measured at a fake target.

The Redis tests use database 11 and keys under ``mops:ratelimit:test:<pid>:<uuid>:`` so that
parallel runs never share a key; each test deletes its keys. A Redis that does not answer
fails the test with how to start it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from tools.fakes import RatelimitedTarget, max_in_window
from tools.ratelimit import (
    HOLD,
    KEY_PREFIX,
    POLL,
    Held,
    LimiterUnavailable,
    LocalLimiter,
    NoLimit,
    RateLimit,
    RedisLimiter,
)
from tools.retry import Transient

REDIS_URL = os.environ.get("MOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
START_HINT = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def connect_redis() -> redis.Redis:
    """A client on the test database, or a test failure saying how to start Redis."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        return client
    except redis.RedisError as exc:
        reason = f"{type(exc).__name__}: {exc}"
    client.close()
    pytest.fail(f"Redis is not answering at {REDIS_URL}: {reason}\nStart it with: {START_HINT}",
                pytrace=False)


@pytest.fixture
def rds() -> Iterator[redis.Redis]:
    client = connect_redis()
    yield client
    client.close()


@pytest.fixture
def target_name(rds: redis.Redis) -> Iterator[str]:
    """A target name no other run uses; its keys are deleted afterwards."""
    name = f"test:{os.getpid()}:{uuid.uuid4().hex}"
    yield name
    keys = list(rds.scan_iter(match=f"{KEY_PREFIX}{name}*"))
    if keys:
        rds.delete(*keys)


class FakeClock:
    """Integer nanoseconds that move only when told to (or when `sleep` is called)."""

    def __init__(self) -> None:
        self.now = 1_000_000_000
        self.sleeps: list[float] = []

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += round(seconds * 1_000_000_000)


LimiterFactory = Callable[[RateLimit], LocalLimiter | RedisLimiter]


@pytest.fixture(params=["local", "redis"])
def make_limiter(request: pytest.FixtureRequest) -> LimiterFactory:
    """Build a limiter of either kind: they must behave the same."""
    if request.param == "local":
        return LocalLimiter
    client: redis.Redis = request.getfixturevalue("rds")
    name: str = request.getfixturevalue("target_name")
    return lambda limit: RedisLimiter(client, name, limit)


# --- the limiters, one process -----------------------------------------------------------

def test_grants_exactly_the_limit_then_refuses_with_a_positive_wait(
        make_limiter: LimiterFactory) -> None:
    limiter = make_limiter(RateLimit(requests=5, per_seconds=10, margin=0))
    assert [limiter.try_acquire() for _ in range(5)] == [0.0] * 5
    wait = limiter.try_acquire()
    assert 9.0 < wait <= 10.0
    assert limiter.try_acquire() > 0  # a refusal counts nothing, and changes nothing


def test_a_refusal_of_n_counts_none_of_them(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter(RateLimit(requests=5, per_seconds=10, margin=0))
    assert limiter.try_acquire(3) == 0
    assert limiter.try_acquire(3) > 0
    assert limiter.try_acquire(2) == 0
    assert limiter.try_acquire(1) > 0


def test_the_wait_returned_is_enough(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter(RateLimit(requests=3, per_seconds=0.2, margin=0))
    for _ in range(3):
        limiter.acquire()
    wait = limiter.try_acquire()
    assert 0 < wait <= 0.2
    time.sleep(wait)
    assert limiter.try_acquire() == 0


@pytest.mark.parametrize("n", [0, 6])
def test_impossible_requests_are_refused_at_once(make_limiter: LimiterFactory, n: int) -> None:
    limiter = make_limiter(RateLimit(requests=5, per_seconds=1))
    with pytest.raises(ValueError, match="cannot acquire"):
        limiter.acquire(n)


@pytest.mark.parametrize("bad", [(0, 1.0, 0.0), (1, 0.0, 0.0), (1, 1.0, -0.1)])
def test_a_rate_limit_must_make_sense(bad: tuple[int, float, float]) -> None:
    with pytest.raises(ValueError):
        RateLimit(*bad)


def test_the_margin_lengthens_the_window() -> None:
    assert RateLimit(100, 10).window == pytest.approx(10.05)
    assert RateLimit(100, 10, margin=0).window == 10


def test_acquire_sleeps_exactly_until_the_oldest_grant_leaves() -> None:
    clock = FakeClock()
    limiter = LocalLimiter(RateLimit(2, 1.0, margin=0), clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 300_000_000
    limiter.acquire()
    limiter.acquire()  # the first grant leaves once strictly more than 1 s old
    assert clock.sleeps == [pytest.approx(0.700000001, abs=1e-12)]


def test_no_limit_never_waits() -> None:
    limiter = NoLimit()
    limiter.acquire(10**6)
    assert limiter.try_acquire(10**6) == 0


@given(
    limit=st.integers(1, 6),
    window_ms=st.integers(1, 2000),
    steps=st.lists(st.tuples(st.integers(0, 700_000_000), st.integers(1, 3)), max_size=60),
)
def test_local_limiter_never_exceeds_in_any_window_and_waits_no_longer_than_needed(
        limit: int, window_ms: int, steps: list[tuple[int, int]]) -> None:
    rate = RateLimit(limit, window_ms / 1000, margin=0)
    window = round(rate.window * 1_000_000_000)
    clock = FakeClock()
    limiter = LocalLimiter(rate, clock=clock)
    grants: list[int] = []
    for gap, size in steps:
        clock.now += gap
        n = min(size, limit)
        wait = limiter.try_acquire(n)
        if wait == 0:
            grants += [clock.now] * n
            continue
        later = clock.now + round(wait * 1_000_000_000)
        # Granting n at `later` would keep to the limit; one nanosecond earlier it would not.
        assert _in_window(grants, later, window) + n <= limit
        assert _in_window(grants, later - 1, window) + n > limit
    assert max_in_window(grants, window) <= limit


def _in_window(grants: list[int], at: int, window: int) -> int:
    return sum(1 for g in grants if at - window <= g <= at)


@given(st.lists(st.integers(0, 5000), max_size=40).map(sorted), st.integers(0, 2000))
def test_max_in_window_is_exact(times: list[int], seconds: int) -> None:
    brute = max((sum(1 for u in times if t <= u <= t + seconds) for t in times), default=0)
    assert max_in_window(times, seconds) == brute


# --- held requests: counted from the grant until the answer, then one window more ----------

def test_a_held_request_counts_while_in_flight_and_a_window_after_its_answer() -> None:
    clock = FakeClock()
    limiter = LocalLimiter(RateLimit(1, 1.0, margin=0), clock=clock, sleep=clock.sleep)
    held = limiter.hold()
    clock.now += 5_000_000_000           # five windows in flight: still counted
    assert limiter.try_acquire() == POLL
    held.release()
    assert limiter.try_acquire() == pytest.approx(1.000000001, abs=1e-12)
    clock.now += 1_000_000_001
    assert limiter.try_acquire() == 0


def test_a_refused_request_gives_its_place_back_at_once() -> None:
    clock = FakeClock()
    limiter = LocalLimiter(RateLimit(1, 10.0), clock=clock, sleep=clock.sleep)
    limiter.hold().release(counted=False)
    limiter.hold().release(counted=False)
    assert clock.sleeps == [] and limiter.try_acquire() == 0


@given(
    limit=st.integers(1, 5),
    window_ms=st.integers(1, 2000),
    steps=st.lists(st.tuples(st.integers(0, 900_000_000), st.booleans(), st.floats(0, 1),
                             st.booleans()), max_size=60),
)
def test_held_requests_never_put_more_than_the_limit_in_a_window_however_late_they_arrive(
        limit: int, window_ms: int, steps: list[tuple[int, bool, float, bool]]) -> None:
    """Each request arrives anywhere between its grant and its answer; the target counts
    every arrival except those it refused."""
    rate = RateLimit(limit, window_ms / 1000, margin=0)
    clock = FakeClock()
    limiter = LocalLimiter(rate, clock=clock, sleep=clock.sleep)
    in_flight: list[tuple[Held, int]] = []
    arrivals: list[int] = []

    def answer(held: Held, granted: int, when: float, refused: bool) -> None:
        held.release(counted=not refused)
        if not refused:
            arrivals.append(granted + round(when * (clock.now - granted)))

    for gap, start, when, refused in steps:
        clock.now += gap
        if (start or not in_flight) and len(in_flight) < limit:
            held = limiter.hold()           # sleeps (moves the clock) until allowed
            in_flight.append((held, clock.now))
        elif in_flight:
            answer(*in_flight.pop(0), when, refused)
    for held, granted in in_flight:
        answer(held, granted, 1.0, False)
    assert max_in_window(sorted(arrivals), round(rate.window * 1_000_000_000)) <= limit


def test_held_requests_on_redis_are_in_flight_then_answered_or_dropped(
        rds: redis.Redis, target_name: str) -> None:
    limiter = RedisLimiter(rds, target_name, RateLimit(2, 1.0, margin=0))
    first, second = limiter.hold(), limiter.hold()
    seconds, micros = rds.time()
    now = seconds * 1_000_000 + micros
    scores = [score for _, score in
              cast(list[tuple[bytes, float]], rds.zrange(limiter.key, 0, -1, withscores=True))]
    assert all(score > now + (HOLD - 5) * 1_000_000 for score in scores)   # in flight
    assert limiter.try_acquire() == POLL          # full of requests in flight: look soon
    assert rds.pttl(limiter.key) > (HOLD - 5) * 1000
    first.release()
    second.release(counted=False)
    entries = cast(list[tuple[bytes, float]], rds.zrange(limiter.key, 0, -1, withscores=True))
    assert len(entries) == 1 and abs(entries[0][1] - now) < 1_000_000   # answered just now
    assert limiter.try_acquire() == 0             # the refused one's place is free
    assert 0 < limiter.try_acquire() <= 1.0       # the answered one counts a window more
    first.release(counted=False)                  # a handle releases once: no effect
    assert rds.zcard(limiter.key) == 2


# --- Redis specifics ---------------------------------------------------------------------

def test_limiters_on_one_target_share_one_count(rds: redis.Redis, target_name: str) -> None:
    limit = RateLimit(4, 10)
    first, second = RedisLimiter(rds, target_name, limit), RedisLimiter(rds, target_name, limit)
    other = RedisLimiter(rds, target_name + ":other", limit)
    assert [first.try_acquire(), second.try_acquire(), first.try_acquire(2)] == [0, 0, 0]
    assert second.try_acquire() > 0
    assert other.try_acquire(4) == 0


def test_the_log_is_a_namespaced_expiring_key_on_the_server_clock(
        rds: redis.Redis, target_name: str) -> None:
    limiter = RedisLimiter(rds, target_name, RateLimit(3, 2.0, margin=0))
    limiter.acquire(2)
    assert limiter.key == f"mops:ratelimit:{target_name}"
    entries = cast(list[tuple[bytes, float]], rds.zrange(limiter.key, 0, -1, withscores=True))
    seconds, micros = rds.time()
    assert len(entries) == 2 and len({member for member, _ in entries}) == 2
    assert all(abs(seconds * 1_000_000 + micros - score) < 1_000_000 for _, score in entries)
    assert 0 < rds.pttl(limiter.key) <= 2001


def test_a_redis_that_is_down_refuses_to_grant() -> None:
    # No retries inside redis-py, so the test is quick; the error is the same either way.
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5,
                       retry=Retry(NoBackoff(), 0))
    limiter = RedisLimiter(down, "nowhere", RateLimit(5, 1))
    with pytest.raises(LimiterUnavailable, match="'nowhere' unavailable") as caught:
        limiter.acquire()
    assert isinstance(caught.value, Transient)  # a retry policy may wait for it to return
    down.close()


# --- the fake target ---------------------------------------------------------------------

def test_the_fake_target_refuses_beyond_its_limit_with_retry_after() -> None:
    with RatelimitedTarget(limit=3, per_seconds=10) as target, httpx.Client() as http:
        answers = [http.get(target.url) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 10
    assert len(target.requests) == 5 and target.max_in_any_window(10) == 5


def test_the_fake_target_injects_the_same_faults_for_the_same_seed() -> None:
    runs = []
    for _ in range(2):
        with RatelimitedTarget(1000, 1, fault_rate=0.4, seed=7) as target, httpx.Client() as h:
            runs.append([h.post(target.url, json={"n": i}).status_code for i in range(100)])
    assert runs[0] == runs[1]
    assert {500, 503, 429} <= set(runs[0]) and 200 in runs[0]


# --- THE test: two OS processes, one shared limit, measured at the target -----------------

LIMIT, PER = 20, 1.0


def _hammer(kind: str, url: str, name: str, start: Any, seconds: float) -> None:
    """In a child process: send requests to `url` as fast as the limiter lets us."""
    rate = RateLimit(LIMIT, PER)
    limiter: LocalLimiter | RedisLimiter = LocalLimiter(rate)
    if kind == "redis":
        limiter = RedisLimiter(redis.Redis.from_url(REDIS_URL), name, rate)
    with httpx.Client(timeout=10) as http:
        start.wait(timeout=60)
        end = time.monotonic() + seconds
        while (now := time.monotonic()) < end:
            wait = limiter.try_acquire()
            if wait:
                time.sleep(min(wait, end - now))
            else:
                http.get(url)


def _run_two_workers(kind: str, name: str, seconds: float) -> RatelimitedTarget:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(3)
    with RatelimitedTarget(LIMIT, PER) as target:
        workers = [ctx.Process(target=_hammer, args=(kind, target.url, name, start, seconds))
                   for _ in range(2)]
        for w in workers:
            w.start()
        try:
            start.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass  # a worker died before starting: its exit code says so below
        for w in workers:
            w.join(timeout=seconds + 30)
    assert [w.exitcode for w in workers] == [0, 0]
    return target


def test_two_processes_sharing_a_redis_limit_never_exceed_it_at_the_target(
        target_name: str) -> None:
    seconds = 3.0
    target = _run_two_workers("redis", target_name, seconds)
    sent, worst = len(target.requests), target.max_in_any_window(PER)
    print(f"\nshared limit: {sent} requests in {seconds} s, max in any {PER} s window: {worst}, "
          f"throughput {sent / (LIMIT * seconds / PER):.2f} of the ceiling")
    assert target.count(429) == 0
    assert worst <= LIMIT
    assert sent >= 0.8 * LIMIT * seconds / PER


def test_the_target_catches_processes_that_do_not_share_their_limit() -> None:
    """The control: the same measurement does see the excess of per-process limits."""
    target = _run_two_workers("local", "unused", 0.5)
    assert target.max_in_any_window(PER) > LIMIT
    assert target.count(429) > 0


def test_a_hold_asked_again_after_a_lost_answer_is_granted_once(
        rds: redis.Redis, target_name: str) -> None:
    limiter = RedisLimiter(rds, target_name, RateLimit(5, 1.0, margin=0))
    token = uuid.uuid4().hex
    assert limiter._try(1, token, hold=10_000_000) == 0
    assert limiter._try(1, token, hold=10_000_000) == 0     # the retry finds its grant
    assert rds.zcard(limiter.key) == 1
