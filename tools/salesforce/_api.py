"""The Salesforce REST API as the adapter uses it: SOQL queries, sObject Collections, describe.

Every call goes through `tools.http.VendorHttp` (shared rate limiter, retry policy) with
`classify`, which reads Salesforce's error array ``[{"message", "errorCode"}]``:

- 401 (INVALID_SESSION_ID): `AuthFailed`, not retried: the access token expired or is wrong.
- 403 REQUEST_LIMIT_EXCEEDED: the org's API requests for the rolling 24 hours are spent.
  It raises `Transient` with a `retry_after` of an hour, beyond any sane retry cap, so the
  policy stops at once instead of spending attempts (a concurrency limit, whose message
  names "Concurrent", retries as usual).
- any other 403: `AuthFailed` (the user lacks a permission).
- 429, 5xx, dropped connections: `Transient`, retried.
- other 4xx: `SalesforceRejected`, not retried: the request itself is wrong (a custom field
  missing from the org, say).

Collections calls are cut into requests of at most 200 records, always with
``allOrNone: false``; their results come back one per record, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, TypeAdapter, ValidationError

from tools.errors import SystemFault, ToolError
from tools.http import AuthFailed, VendorHttp, default_classify
from tools.ratelimit import Limiter
from tools.retry import RetryPolicy, Transient

T = TypeVar("T")

MAX_RECORDS = 200
# The daily limit is a rolling 24-hour window: no retry within minutes will find it reset.
DAILY_LIMIT_WAIT = 3600.0


class SalesforceRejected(ToolError):
    """Salesforce refused a whole request (HTTP 4xx): retrying the same request is useless."""


class ItemError(BaseModel):
    """One error of one record in a Collections answer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    statusCode: str
    message: str = ""


class SaveResult(BaseModel):
    """What Salesforce did with one record of a Collections call."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = None
    success: bool
    errors: list[ItemError] = []
    created: bool | None = None

    def failed_with(self, code: str) -> bool:
        """Whether the record failed with errorCode `code`."""
        return not self.success and any(e.statusCode == code for e in self.errors)

    def error(self) -> str:
        """The errors as one line: ``CODE: message; ...``."""
        return "; ".join(f"{e.statusCode}: {e.message}" for e in self.errors) or "failed"


_RESULTS = TypeAdapter(list[SaveResult])


def classify(response: httpx.Response) -> None:
    """Raise for an answer that is not a success (see the module docstring)."""
    status = response.status_code
    if status < 400:
        return
    where = f"{response.request.method} {response.request.url.path}"
    code, message = _first_error(response)
    if status == 401:
        raise AuthFailed(f"{where}: HTTP 401 {code or 'Unauthorized'}: the access token is "
                         "expired or invalid; get a new one")
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        if "concurrent" in message.lower():
            raise Transient(f"{where}: HTTP 403 REQUEST_LIMIT_EXCEEDED: too many concurrent "
                            "requests")
        raise Transient(f"{where}: HTTP 403 REQUEST_LIMIT_EXCEEDED: the org's API request "
                        "limit for the last 24 hours is spent", retry_after=DAILY_LIMIT_WAIT)
    if status == 403:
        raise AuthFailed(f"{where}: HTTP 403 {code}: the user lacks a permission this needs")
    default_classify(response)  # 429 and 5xx: Transient
    raise SalesforceRejected(f"{where}: HTTP {status} {code}: {message[:200]}")


def _first_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
        first = body[0] if isinstance(body, list) and body else {}
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, TypeError):
        return "", ""


class SalesforceApi:
    """The REST resources of one org (`instance_url`), authorised with `token`."""

    def __init__(self, instance_url: str, token: SecretStr, *, api_version: str,
                 limiter: Limiter | None, retry: RetryPolicy | None) -> None:
        self._http = VendorHttp(instance_url.rstrip("/"), limiter=limiter, retry=retry,
                                auth=lambda: {"Authorization": "Bearer "
                                              + token.get_secret_value()})
        self._base = f"/services/data/{api_version}"

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record `soql` selects, following ``nextRecordsUrl`` page by page."""
        page = self._json("GET", f"{self._base}/query", params={"q": soql})
        yield from page["records"]
        while not page.get("done", True):
            page = self._json("GET", str(page["nextRecordsUrl"]))
            yield from page["records"]

    def count(self, soql: str) -> int:
        """The ``totalSize`` of a ``SELECT COUNT()`` query."""
        return int(self._json("GET", f"{self._base}/query", params={"q": soql})["totalSize"])

    def describe(self, sobject: str) -> list[dict[str, Any]]:
        """The fields of `sobject`, as describe lists them."""
        return list(self._json("GET", f"{self._base}/sobjects/{sobject}/describe")["fields"])

    def create(self, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Create records (each with ``attributes.type``)."""
        return self._collections("POST", f"{self._base}/composite/sobjects", records)

    def update(self, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Update records by their ``id``."""
        return self._collections("PATCH", f"{self._base}/composite/sobjects", records)

    def upsert(self, sobject: str, field: str,
               records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Create or update records matched on the external id `field`."""
        path = f"{self._base}/composite/sobjects/{sobject}/{field}"
        return self._collections("PATCH", path, records)

    def delete(self, ids: Sequence[str]) -> list[SaveResult]:
        """Delete records by id."""
        def send(chunk: Sequence[str]) -> Any:
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            return self._json("DELETE", f"{self._base}/composite/sobjects", params=params)
        return _chunked(ids, send)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _collections(self, method: str, path: str,
                     records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        return _chunked(records, lambda chunk: self._json(
            method, path, json={"allOrNone": False, "records": list(chunk)}))

    def _json(self, method: str, path: str, *, json: Any = None,
              params: Mapping[str, str] | None = None) -> Any:
        response = self._http.call(method, path, json=json, params=params, classify=classify)
        try:
            return response.json()
        except ValueError:
            raise SystemFault(f"{method} {path}: HTTP {response.status_code}: the answer is "
                              "not JSON") from None


def _chunked(items: Sequence[T], send: Callable[[Sequence[T]], Any]) -> list[SaveResult]:
    """`send` items 200 at a time; one result per item, in order."""
    results: list[SaveResult] = []
    for start in range(0, len(items), MAX_RECORDS):
        chunk = items[start:start + MAX_RECORDS]
        try:
            answered = _RESULTS.validate_python(send(chunk))
        except ValidationError:
            raise SystemFault("sObject Collections answered in an unexpected shape") from None
        if len(answered) != len(chunk):
            raise SystemFault(f"sObject Collections answered {len(answered)} results for "
                              f"{len(chunk)} records")
        results.extend(answered)
    return results
