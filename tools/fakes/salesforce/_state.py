"""The state of a fake Salesforce org: its records, access tokens, limits and what it saw.

    state = SalesforceState(limits=Limits(daily_requests=1000))
    token = state.token                  # an access token the fake accepts
    state.expire_token(token)            # from now on: 401 INVALID_SESSION_ID

Tests read and change it while the server runs; every access holds `lock`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from tools.fakes.salesforce._errors import ApiError
from tools.fakes.salesforce._org import Org, Row

_OPEN_CURSORS = 64  # query locators kept; the oldest is forgotten (Salesforce keeps ~15 min)


@dataclass
class Limits:
    """The org's limits. `daily_requests` counts every API request in a rolling window of
    `window_seconds` (Salesforce: 24 hours; None: unlimited)."""

    max_records: int = 200        # records per Collections call, ids per delete
    query_batch: int = 2000       # records per page of a query
    max_uri: int = 16384          # bytes of request target, as Salesforce's 414
    daily_requests: int | None = None
    window_seconds: float = 86400.0


class SalesforceState:
    """One org: records (`org`), tokens, limits, and counters tests can read."""

    def __init__(self, *, token: str | None = None, limits: Limits | None = None) -> None:
        self.lock = threading.RLock()
        self.limits = limits or Limits()
        self.token = token or _new_token()
        self._tokens = {self.token}
        self.org = Org()
        self.calls: Counter[str] = Counter()      # "POST /composite/sobjects" -> count
        self.refused: Counter[str] = Counter()    # errorCode -> count
        self.largest_batch = 0
        self._arrivals: deque[float] = deque()
        self._cursors: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def reset(self) -> None:
        """Empty the org and the counters (tokens and limits stay)."""
        with self.lock:
            self.org = Org()
            self.calls.clear()
            self.refused.clear()
            self.largest_batch = 0
            self._arrivals.clear()
            self._cursors.clear()

    # --- tokens and limits --------------------------------------------------------------

    def issue_token(self) -> str:
        """A new access token the fake accepts."""
        with self.lock:
            token = _new_token()
            self._tokens.add(token)
            return token

    def expire_token(self, token: str) -> None:
        """Stop accepting `token` (as when its session times out)."""
        with self.lock:
            self._tokens.discard(token)

    def admit(self, authorization: str | None, call: str) -> None:
        """Let a request in, or refuse it: 401 without a live token, 403 past the limit."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self._tokens:
            self._refuse(ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid"))
        now = time.monotonic()
        while self._arrivals and now - self._arrivals[0] > self.limits.window_seconds:
            self._arrivals.popleft()
        limit = self.limits.daily_requests
        if limit is not None and len(self._arrivals) >= limit:
            self._refuse(ApiError(403, "REQUEST_LIMIT_EXCEEDED",
                                  "TotalRequests Limit exceeded."))
        self._arrivals.append(now)
        self.calls[call] += 1

    def refuse(self, error: ApiError) -> ApiError:
        """Count a refusal; the error, to raise."""
        self.refused[error.code] += 1
        return error

    def _refuse(self, error: ApiError) -> None:
        raise self.refuse(error)

    def used(self) -> int:
        """Requests counted in the current window."""
        return len(self._arrivals)

    def usage(self) -> str:
        """The ``Sforce-Limit-Info`` header: requests used in the window, of the limit."""
        limit = self.limits.daily_requests
        return f"api-usage={self.used()}/{limit if limit is not None else 'unlimited'}"

    def note_batch(self, size: int) -> None:
        """Record the size of a Collections call (tests check the adapter's chunking)."""
        self.largest_batch = max(self.largest_batch, size)

    # --- query cursors ------------------------------------------------------------------

    def open_cursor(self, records: list[dict[str, Any]]) -> str:
        """Keep a query's records for paging; the locator id."""
        locator = "01g" + secrets.token_hex(8)[:15]
        self._cursors[locator] = records
        while len(self._cursors) > _OPEN_CURSORS:
            self._cursors.popitem(last=False)
        return locator

    def cursor(self, locator: str) -> list[dict[str, Any]]:
        """The records behind a locator."""
        records = self._cursors.get(locator)
        if records is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return records

    # --- reading the org in tests -------------------------------------------------------

    def records(self, sobject: str) -> list[Row]:
        """Copies of every live record of `sobject`, by id."""
        with self.lock:
            return [dict(row) for _, row in sorted(self.org.rows[sobject].items())]


def _new_token() -> str:
    # Shaped like a Salesforce access token: the org id, "!", then the session secret.
    return "00D000000000001!" + secrets.token_urlsafe(32)
