"""Retry policy: backoff, jitter, cap, Retry-After, giving up; and against the fake target."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tools.errors import InputError, SystemFault
from tools.fakes import RatelimitedTarget
from tools.retry import (
    RetriesExhausted,
    RetryPolicy,
    Transient,
    describe,
    parse_retry_after,
    retry_after_of,
)


class Flaky:
    """A callable that raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def always(error: Callable[[], BaseException]) -> Flaky:
    return Flaky(*(error() for _ in range(100)))


def test_backoff_grows_and_is_capped() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=6, initial=1, multiplier=2, max_wait=5, jitter=0)
    fn = always(lambda: Transient("503 from the CRM"))
    with pytest.raises(RetriesExhausted) as caught:
        policy.call(fn, sleep=sleeps.append)
    assert sleeps == [1, 2, 4, 5, 5]
    assert fn.calls == 6 and caught.value.attempts == 6
    assert str(caught.value) == "gave up after 6 attempts: Transient: 503 from the CRM"
    assert isinstance(caught.value, SystemFault)  # so the apply loop marks the change failed
    assert caught.value.__cause__ is caught.value.last


def test_jitter_stays_within_its_bounds() -> None:
    policy = RetryPolicy(max_attempts=5, initial=0.5, multiplier=3, max_wait=6, jitter=0.4)
    seen: list[list[float]] = []
    for _ in range(200):
        sleeps: list[float] = []
        with pytest.raises(RetriesExhausted):
            policy.call(always(lambda: Transient("timeout")), sleep=sleeps.append)
        seen.append(sleeps)
    for k, base in enumerate([0.5, 1.5, 4.5, 13.5]):
        waits = [s[k] for s in seen]
        assert all(min(base, 6) <= w <= min(base + 0.4, 6) for w in waits)
        assert len(set(waits)) > (1 if base < 6 else 0)  # jitter is there below the cap
    assert {s[3] for s in seen} == {6}                   # at the cap, the cap


def test_retry_after_is_a_floor_on_the_wait() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(initial=0.1, max_wait=10, jitter=0)
    fn = Flaky(Transient("429", retry_after=3), Transient("429", retry_after=0.05))
    assert policy.call(fn, sleep=sleeps.append) == "ok"
    assert sleeps == [3, pytest.approx(0.2)]  # 3 s as asked; then backoff, longer than asked


def test_retry_after_beyond_the_cap_stops_at_once() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=8, max_wait=60)
    fn = always(lambda: Transient("429 daily limit reached", retry_after=86_400))
    with pytest.raises(RetriesExhausted) as caught:
        policy.call(fn, sleep=sleeps.append)
    assert fn.calls == 1 and sleeps == []
    assert str(caught.value) == ("gave up after 1 attempt (the target asked to wait 86400 s, "
                                 "beyond the 60 s cap): Transient: 429 daily limit reached")


@pytest.mark.parametrize("error", [ValueError("bug"), InputError("bad field", field="x"),
                                   SystemFault("not declared retryable")])
def test_errors_not_in_retry_on_raise_at_once(error: BaseException) -> None:
    sleeps: list[float] = []
    fn = Flaky(error)
    with pytest.raises(type(error)) as caught:
        RetryPolicy().call(fn, sleep=sleeps.append)
    assert caught.value is error and fn.calls == 1 and sleeps == []


def test_success_after_failures_returns_the_value() -> None:
    sleeps: list[float] = []
    fn = Flaky(Transient("a"), ConnectionError("b"))
    policy = RetryPolicy(retry_on=(Transient, ConnectionError), initial=0.01, jitter=0)
    assert policy.call(fn, sleep=sleeps.append) == "ok"
    assert fn.calls == 3 and sleeps == [0.01, 0.02]


def test_give_up_raise_surfaces_the_last_error_itself() -> None:
    last = Transient("still down")
    fn = Flaky(Transient("down"), last)
    with pytest.raises(Transient) as caught:
        RetryPolicy(max_attempts=2, give_up="raise").call(fn, sleep=lambda _: None)
    assert caught.value is last
    assert caught.value.__notes__ == ["mops: gave up after 2 attempts"]
    assert caught.value.__context__ is None  # tenacity's RetryError is not chained in


def test_errors_cross_processes_intact() -> None:
    error = pickle.loads(pickle.dumps(RetriesExhausted(3, Transient("down", retry_after=2))))
    assert str(error) == "gave up after 3 attempts: Transient: down"
    assert error.attempts == 3 and retry_after_of(error.last) == 2


def test_messages_never_carry_secrets() -> None:
    error = Transient("401 for https://api.hubapi.com/x?hapikey=abc123&n=1, "
                      "Authorization: Bearer sk-live-xyz, password=hunter2")
    text = str(RetriesExhausted(3, error))
    for secret in ("abc123", "sk-live-xyz", "hunter2"):
        assert secret not in text
    assert "hapikey=***" in text and "n=1" in text
    assert len(describe(Transient("x" * 5000))) < 400


@pytest.mark.parametrize("bad", [
    {"retry_on": ()}, {"retry_on": (int,)}, {"max_attempts": 0}, {"initial": -1},
    {"multiplier": 0.5}, {"initial": 5, "max_wait": 1}, {"give_up": "ignore"},
])
def test_a_policy_must_make_sense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_retry_after_headers_and_attributes_are_read() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True),
                             now=now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True),
                             now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert retry_after_of(Transient("x", retry_after=2)) == 2
    assert retry_after_of(Transient("x")) is None and retry_after_of(ValueError()) is None


# --- against the fake target: what the target saw, not what we assumed ------------------

def fetch(http: httpx.Client, url: str) -> int:
    """What an adapter does: 429 and 5xx become Transient, with the target's Retry-After."""
    answer = http.get(url)
    if answer.status_code == 429 or answer.status_code >= 500:
        raise Transient(f"HTTP {answer.status_code}",
                        retry_after=parse_retry_after(answer.headers.get("Retry-After")))
    return answer.status_code


def test_faults_at_the_target_are_retried_and_nothing_is_lost() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=10, initial=0.01, max_wait=5)
    with RatelimitedTarget(10_000, 1, fault_rate=0.3, seed=3) as target, httpx.Client() as http:
        results = [policy.call(lambda: fetch(http, target.url), sleep=sleeps.append)
                   for _ in range(40)]
    faults = len(target.requests) - 40
    assert results == [200] * 40 and target.count(200) == 40
    assert faults > 0 and len(sleeps) == faults
    assert 1 in sleeps  # the fake's 429s ask for 1 s, and were waited for


def test_a_target_that_stays_down_is_tried_exactly_max_attempts_times() -> None:
    policy = RetryPolicy(max_attempts=4, initial=0.01)
    with RatelimitedTarget(10_000, 1, fault_rate=1.0, fault_statuses=(503,)) as target, \
            httpx.Client() as http:
        with pytest.raises(RetriesExhausted, match="gave up after 4 attempts: Transient: HTTP 503"):
            policy.call(lambda: fetch(http, target.url), sleep=lambda _: None)
    assert target.statuses == [503] * 4
