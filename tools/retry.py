"""Retry policy as data: which errors retry, how long to wait, the cap, and how to give up.

    policy = RetryPolicy(retry_on=(Transient,), max_attempts=5, initial=0.5, max_wait=30)
    records = policy.call(lambda: crm.read_contacts(keys))

Waits. Before retry k (k = 1 after the first failure) the wait is
``min(initial * multiplier ** (k - 1) + uniform(0, jitter), max_wait)``: exponential, with
jitter so that workers failing together do not retry together, and capped.

Retry-After. An error with a `retry_after` attribute (seconds; `Transient` has one) is the
target telling us when to come back: the wait is at least that long. A Retry-After beyond
`max_wait` ends the retries at once and surfaces the error: a target that asks for an hour
(a daily quota spent, say) will not be ready after our capped waits, and spinning through
the remaining attempts would only spend them, and more of its quota, for nothing.

Giving up, when attempts run out or the target asks for more than the cap:

- ``"fail"``: raise `RetriesExhausted`, a `SystemFault`. The apply loop marks the change
  failed in the ledger with this message and carries on with the rest; the job ends
  `partially_failed`.
- ``"raise"``: re-raise the last error itself, unchanged (with a note of the attempts), for a
  caller that handles it its own way.

Errors not in `retry_on` are raised at once, on the first attempt.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, TypeVar

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from tools.errors import SystemFault

T = TypeVar("T")
log = logging.getLogger(__name__)

# Defence in depth: adapters must not put credentials in error messages, but an outside
# library might (an URL with ?hapikey=..., an echoed header). Mask what looks like one.
_SECRET = re.compile(
    r"(?i)(bearer\s+|basic\s+|(?:api[_-]?key|hapikey|token|secret|password|access_token)"
    r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]+"
)
_MAX_MESSAGE = 300


class Transient(SystemFault):
    """A failure worth retrying (429, 5xx, timeout); `retry_after` is the target's
    Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(SystemFault):
    """Retrying stopped without success; `attempts` made, `last` error seen."""

    def __init__(self, attempts: int, last: BaseException, reason: str = "") -> None:
        self.attempts, self.last, self.reason = attempts, last, reason
        super().__init__(f"gave up after {_attempts(attempts)}{reason}: {describe(last)}")

    def __reduce__(self) -> tuple[type[RetriesExhausted], tuple[int, BaseException, str]]:
        # Exceptions are rebuilt from their args when they cross processes (a Celery result);
        # ours are not (message,), so say how.
        return type(self), (self.attempts, self.last, self.reason)


def describe(exc: BaseException) -> str:
    """``Type: message`` of an error, fit for logs and the ledger: secrets masked, cut short."""
    text = _SECRET.sub(r"\1***", str(exc))
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def retry_after_of(exc: BaseException | None) -> float | None:
    """The `retry_after` seconds an error carries, if any (non-numbers are ignored)."""
    value = getattr(exc, "retry_after", None)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(0.0, float(value))
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an obsolete form may lack the zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Which errors retry, the backoff (initial, multiplier, jitter), its cap, the number of
    attempts (the first one included), and what giving up does (see the module docstring)."""

    retry_on: tuple[type[BaseException], ...] = (Transient,)
    max_attempts: int = 5
    initial: float = 0.5
    multiplier: float = 2.0
    max_wait: float = 30.0
    jitter: float = 0.5
    give_up: Literal["fail", "raise"] = "fail"

    def __post_init__(self) -> None:
        if not self.retry_on or not all(
            isinstance(e, type) and issubclass(e, BaseException) for e in self.retry_on
        ):
            raise ValueError("retry_on must name at least one exception class")
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first attempt: at least 1")
        if self.initial < 0 or self.jitter < 0 or self.multiplier < 1:
            raise ValueError("backoff needs initial >= 0, jitter >= 0, multiplier >= 1")
        if self.max_wait < self.initial:
            raise ValueError("max_wait (the cap) must be at least initial")
        if self.give_up not in ("fail", "raise"):
            raise ValueError(f"give_up is 'fail' or 'raise', not {self.give_up!r}")

    def call(self, fn: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
        """Run `fn` until it succeeds, retrying errors in `retry_on` under this policy."""
        try:
            return self._retrying(sleep)(fn)
        except RetryError as stopped:
            attempts, last = stopped.last_attempt.attempt_number, stopped.last_attempt.exception()
        assert last is not None  # tenacity stops after failed attempts only
        # Raised outside the except block, so tenacity's RetryError is not chained in.
        if self.give_up == "raise":
            last.add_note(f"mops: gave up after {_attempts(attempts)}{self._reason(last)}")
            raise last
        raise RetriesExhausted(attempts, last, self._reason(last)) from last

    def _retrying(self, sleep: Callable[[float], None]) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(self.retry_on),
            stop=stop_after_attempt(self.max_attempts) | _AskedBeyondCap(self.max_wait),
            wait=self._wait,
            sleep=sleep,
            before_sleep=_log_retry,
        )

    def _wait(self, state: RetryCallState) -> float:
        # tenacity's `multiplier` is our `initial`, its `exp_base` our `multiplier`.
        backoff = wait_exponential_jitter(
            multiplier=self.initial, exp_base=self.multiplier, max=self.max_wait,
            jitter=self.jitter,
        )(state)
        asked = retry_after_of(_error(state))
        return backoff if asked is None else max(backoff, asked)

    def _reason(self, last: BaseException) -> str:
        asked = retry_after_of(last)
        if asked is None or asked <= self.max_wait:
            return ""
        return f" (the target asked to wait {asked:g} s, beyond the {self.max_wait:g} s cap)"


class _AskedBeyondCap(stop_base):
    """Stop when the last error asks for a wait (Retry-After) longer than the cap."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> bool:
        asked = retry_after_of(_error(retry_state))
        return asked is not None and asked > self.cap


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


def _error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _log_retry(state: RetryCallState) -> None:
    error = _error(state)
    log.warning("attempt %d failed (%s); retrying in %.2f s", state.attempt_number,
                describe(error) if error else "no error", state.upcoming_sleep)
