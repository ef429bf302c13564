"""The HTTP side of Marketo: access tokens, call-level errors, and the response envelope.

Every REST answer is HTTP 200 with ``{"success": bool, "errors": [...], "result": [...]}``;
a limit or an expired token is an error code inside it. `MarketoClient.call` turns those
codes into what they mean for the caller:

- 601/602 (token invalid/expired): the token is dropped, a new one fetched from the identity
  endpoint, and the call made once more;
- 606 (rate), 615 (concurrency) and the other passing faults: `Transient`, retried by the
  `RetryPolicy` after its backoff;
- 607 (daily quota): `Transient` with the seconds until the quota resets (midnight US
  Central), beyond the policy's cap, so retrying stops at once with a clear reason;
- anything else: `MarketoError`, unless the caller said it expects that code.

The client secret goes in a form body (the identity endpoint takes POST as well as GET), so
it is in no URL that a log line could show (httpx logs each request's URL at INFO); the
token goes in the Authorization header. Neither is kept anywhere but here, as `SecretStr`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from tools.http import AuthFailed, VendorHttp, default_classify
from tools.marketo._errors import MarketoError, TokenRejected
from tools.ratelimit import Limiter
from tools.retry import RetryPolicy, Transient

# Up to about a minute of backoff: a 606 waits out most of Marketo's 20-second window.
DEFAULT_RETRY = RetryPolicy(max_attempts=8, initial=0.5, max_wait=30.0)
TOKEN_CODES = frozenset({"601", "602"})
QUOTA_CODE = "607"
PASSING_CODES = frozenset({"604", "606", "608", "611", "614", "615", "713"})
_CENTRAL = timezone(timedelta(hours=-6))   # Marketo resets daily quotas at 12:00 AM CST


class Problem(BaseModel):
    """One entry of ``errors`` (or a record's ``reasons``): a code and a message."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    code: str
    message: str = ""


class Envelope(BaseModel):
    """The JSON every Marketo REST call answers with."""

    model_config = ConfigDict(extra="ignore")

    success: bool = True
    result: list[dict[str, Any]] = []
    errors: list[Problem] = []
    warnings: list[Any] = []
    nextPageToken: str | None = None

    @property
    def problem(self) -> Problem:
        """The first error (an empty one if there is none)."""
        return self.errors[0] if self.errors else Problem(code="", message="no error given")


class _TokenAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: SecretStr
    expires_in: float


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    expires: float          # on the client's monotonic clock


def seconds_to_quota_reset(now: datetime | None = None) -> float:
    """Seconds until the next midnight, US Central Standard Time."""
    now = (now or datetime.now(_CENTRAL)).astimezone(_CENTRAL)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


class MarketoClient:
    """One Marketo instance over HTTP: REST calls with a valid token, retried as they need."""

    def __init__(self, base_url: str, client_id: str, client_secret: SecretStr, *,
                 identity_url: str | None = None, limiter: Limiter | None = None,
                 retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        retry = retry or DEFAULT_RETRY
        self._rest = VendorHttp(base_url, auth=self._auth, limiter=limiter, retry=retry,
                                transport=transport)
        self._identity = VendorHttp(identity_url or base_url.rstrip("/") + "/identity",
                                    retry=retry, transport=transport)
        self._credentials = {"grant_type": "client_credentials", "client_id": client_id}
        self._secret = client_secret
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, data: Mapping[str, str] | None = None,
             accept: Collection[str] = ()) -> Envelope:
        """One REST call; its envelope. An error not in `accept` raises `MarketoError`."""
        response = self.send(method, path, params=params, json=json, data=data)
        where = f"{method} {path}"
        try:
            envelope = Envelope.model_validate_json(response.content)
        except ValidationError:
            raise MarketoError(where, "-", "the answer is not a Marketo envelope") from None
        if not envelope.success and envelope.problem.code not in accept:
            raise MarketoError(where, envelope.problem.code, envelope.problem.message)
        return envelope

    def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, data: Mapping[str, str] | None = None) -> httpx.Response:
        """One REST call, retried, with a fresh token once if the first is refused."""
        for attempt in (1, 2):
            try:
                return self._rest.call(method, path, params=params, json=json, data=data,
                                       classify=self._classify)
            except TokenRejected:
                if attempt == 2:
                    raise AuthFailed(f"{method} {path}: Marketo refused a fresh access "
                                     "token") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close both connection pools."""
        self._rest.close()
        self._identity.close()

    # --- tokens ---------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._current().get_secret_value()}"}

    def _current(self) -> SecretStr:
        with self._lock:
            if self._token is None or self._clock() >= self._token.expires:
                self._token = self._fetch()
            return self._token.value

    def _fetch(self) -> _Token:
        asked = self._clock()
        form = {**self._credentials, "client_secret": self._secret.get_secret_value()}
        response = self._identity.call("POST", "/oauth/token", data=form)
        try:
            answer = _TokenAnswer.model_validate_json(response.content)
        except ValidationError:   # its message would quote the answer: a token, maybe
            raise MarketoError("POST /identity/oauth/token", "-",
                               "the answer holds no access token") from None
        return _Token(answer.access_token, asked + answer.expires_in)

    def _forget(self, sent: str | None) -> None:
        """Drop the token if it is the one a refused call sent (another thread may have
        fetched a new one meanwhile)."""
        with self._lock:
            if self._token is not None and sent == (
                    f"Bearer {self._token.value.get_secret_value()}"):
                self._token = None

    # --- what an answer means -------------------------------------------------------------

    def _classify(self, response: httpx.Response) -> None:
        default_classify(response)
        where = f"{response.request.method} {response.request.url.path}"
        if response.status_code >= 400:
            raise MarketoError(where, str(response.status_code), "refused at the HTTP level")
        if "json" not in response.headers.get("content-type", ""):
            return          # a file (a bulk export): no envelope
        try:
            envelope = Envelope.model_validate_json(response.content)
        except ValidationError:
            raise Transient(f"{where}: an unreadable answer") from None
        if envelope.success:
            return
        problem = envelope.problem
        if problem.code in TOKEN_CODES:
            self._forget(response.request.headers.get("authorization"))
            raise TokenRejected(f"{where}: Marketo error {problem.code} (access token)")
        if problem.code == QUOTA_CODE:
            raise Transient(f"{where}: Marketo error 607: the daily quota is spent",
                            retry_after=seconds_to_quota_reset())
        if problem.code in PASSING_CODES:
            raise Transient(f"{where}: Marketo error {problem.code}: {problem.message}")
