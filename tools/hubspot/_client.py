"""HTTP to HubSpot: a `VendorHttp` with HubSpot's bearer token and its way of saying no.

429 comes in two kinds, told apart by ``policyName`` in the body: TEN_SECONDLY_ROLLING (the
rolling window is full: retry once it has rolled, after Retry-After or the window that
``X-HubSpot-RateLimit-Interval-Milliseconds`` gives) and DAILY (the day's quota is spent:
`DailyLimitReached`, which asks for a day's wait, beyond any retry cap, so the job stops
instead of spinning). A 429 without a policy (from a proxy, say) is retried like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from tools.http import AuthFailed, VendorHttp, default_classify
from tools.hubspot._errors import DailyLimitReached, UnexpectedAnswer
from tools.ratelimit import Limiter
from tools.retry import RetryPolicy, Transient, parse_retry_after

# HubSpot resets the daily quota at midnight in the portal's time zone, which we do not know.
DAILY_WAIT = 24 * 3600.0
_MAX_DETAIL = 300


def classify(response: httpx.Response) -> None:
    """Raise for answers to retry or stop on; return for the rest (the caller decides)."""
    status = response.status_code
    where = f"{response.request.method} {response.request.url.path}"
    if status == 429:
        policy = str(_json(response).get("policyName") or "")
        if policy == "DAILY":
            raise DailyLimitReached(f"{where}: HTTP 429: HubSpot's daily API limit for this "
                                    "portal is spent", retry_after=DAILY_WAIT)
        raise Transient(f"{where}: HTTP 429 ({policy or 'rate limited'})",
                        retry_after=_window_wait(response))
    if status in (401, 403):
        category = str(_json(response).get("category") or "refused")
        raise AuthFailed(f"{where}: HTTP {status} {category}: the private app token was "
                         "refused (unknown, expired or revoked) or lacks a scope")
    default_classify(response)


class Client:
    """JSON calls to one HubSpot portal with a private app token."""

    def __init__(self, base_url: str, token: SecretStr, *, limiter: Limiter | None,
                 retry: RetryPolicy | None, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        def auth() -> Mapping[str, str]:
            return {"Authorization": f"Bearer {token.get_secret_value()}"}

        self._http = VendorHttp(base_url, auth=auth, limiter=limiter, retry=retry,
                                timeout=timeout, transport=transport)

    def call(self, method: str, path: str, *, json: Any = None,
             params: Mapping[str, Any] | None = None, ok: tuple[int, ...] = (200,),
             idempotent: bool = True) -> tuple[int, Any]:
        """The status and JSON body (None if empty) of a call answered with one of `ok`;
        `idempotent` as in `VendorHttp.call`."""
        response = self._http.call(method, path, json=json, params=params, classify=classify,
                                   idempotent=idempotent)
        if response.status_code not in ok:
            body = _json(response)
            detail = f"{body.get('category', 'ERROR')}: {body.get('message', '')}"[:_MAX_DETAIL]
            raise UnexpectedAnswer(f"{method} {path}: HTTP {response.status_code}: {detail}",
                                   status=response.status_code, detail=detail)
        if not response.content:
            return response.status_code, None
        try:
            return response.status_code, response.json()
        except ValueError:
            raise UnexpectedAnswer(f"{method} {path}: HTTP {response.status_code}: the body "
                                   "is not JSON", status=response.status_code,
                                   detail="not JSON") from None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _window_wait(response: httpx.Response) -> float | None:
    """How long until the rolling window has room: Retry-After, else the window's length."""
    asked = parse_retry_after(response.headers.get("retry-after"))
    if asked is not None:
        return asked
    interval = response.headers.get("x-hubspot-ratelimit-interval-milliseconds", "")
    return int(interval) / 1000 if interval.isdigit() else None
