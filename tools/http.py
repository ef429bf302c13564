"""The HTTP client under every SaaS adapter: rate-limited, retried, and quiet about secrets.

    http = VendorHttp("https://api.hubapi.com", auth=lambda: {"Authorization": f"Bearer {t}"},
                      limiter=limiter, retry=RetryPolicy(max_attempts=6, max_wait=30))
    response = http.call("POST", "/crm/v3/objects/contacts/batch/read", json=body)

Every attempt first takes one request from the target's shared limiter (`tools.ratelimit`),
so all workers together stay under the vendor's limit, and holds it until the answer comes
(so the spread in network delay can never push more than the limit into one of the
vendor's windows); an answer of HTTP 429, a refusal the vendor did not count, gives it back.
An attempt that fails in a way worth retrying raises `Transient` and is retried by the
`RetryPolicy` (backoff with jitter, Retry-After honoured, capped): a transport error
(refused, reset, dropped mid-response, timed out), HTTP 429 and 5xx by default; a vendor
adds its own cases with `classify` (say, Marketo's error 606 inside an HTTP 200). A limit
that will not reset within the policy's cap (a daily quota) stops at once: raise `Transient`
with a long `retry_after`.

Credentials come from `auth`, called per attempt (a token may be refreshed in between), and
never appear in an error: messages name the method, the path and the status only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tools.errors import SystemFault, ToolError
from tools.ratelimit import Limiter, NoLimit
from tools.retry import RetryPolicy, Transient, parse_retry_after

Classify = Callable[[httpx.Response], None]


# Transport errors raised before any byte of the request went out.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Unanswered(SystemFault):
    """A request that must not be resent may have been carried out, but its answer was lost
    (the connection dropped or timed out after it was sent)."""


class AuthFailed(ToolError):
    """The target refused the credentials or their scopes (HTTP 401/403): not retried."""


def default_classify(response: httpx.Response) -> None:
    """Raise `Transient` for 429 and 5xx, `AuthFailed` for 401 and 403; return otherwise."""
    status = response.status_code
    where = f"{response.request.method} {response.request.url.path}"
    if status == 429:
        raise Transient(f"{where}: HTTP 429 (rate limited)",
                        retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status >= 500:
        raise Transient(f"{where}: HTTP {status}",
                        retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status in (401, 403):
        raise AuthFailed(f"{where}: HTTP {status}: the credentials or their scopes were "
                         "refused")


class VendorHttp:
    """JSON over HTTP to one vendor: one `httpx.Client`, one limiter, one retry policy."""

    def __init__(self, base_url: str, *, auth: Callable[[], Mapping[str, str]] | None = None,
                 limiter: Limiter | None = None, retry: RetryPolicy | None = None,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._auth = auth or (lambda: {})
        self._limiter: Limiter = limiter or NoLimit()
        self.retry = retry or RetryPolicy(max_attempts=6, initial=0.5, max_wait=30.0)

    def call(self, method: str, path: str, *, json: Any = None,
             params: Mapping[str, Any] | None = None, data: Mapping[str, str] | None = None,
             classify: Classify = default_classify, idempotent: bool = True,
             ) -> httpx.Response:
        """One request, retried under the policy; the response once `classify` accepts it.

        A request that is not `idempotent` (sending it twice could do its work twice) is not
        resent once it may have been carried out: a lost answer, or a 5xx other than 503,
        raises `Unanswered`, for the caller to find out what happened. One that never left
        (the connection was refused), or that was refused unhandled (429, and 503: "unable
        to handle the request", RFC 9110), is retried all the same."""
        def attempt() -> httpx.Response:
            headers = dict(self._auth())      # before the grant: a token fetch holds no place
            held = self._limiter.hold()
            counted = True
            try:
                response = self._client.request(method, path, json=json, params=params,
                                                data=data, headers=headers)
                counted = response.status_code != 429
            except httpx.RequestError as exc:
                if isinstance(exc, _UNSENT) or (idempotent and
                                                 isinstance(exc, httpx.TransportError)):
                    raise Transient(f"{method} {path}: {type(exc).__name__} (no complete "
                                    "answer)") from None
                if idempotent:
                    raise
                raise Unanswered(f"{method} {path}: {type(exc).__name__}: the request may "
                                 "have been carried out; its answer was lost") from None
            finally:
                held.release(counted=counted)
            if not idempotent and response.status_code >= 500 and response.status_code != 503:
                raise Unanswered(f"{method} {path}: HTTP {response.status_code}: the request "
                                 "may have been carried out")
            classify(response)
            return response

        return self.retry.call(attempt)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
