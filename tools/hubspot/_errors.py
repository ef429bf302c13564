"""Errors of the HubSpot adapter.

    ToolError
    ├── AuthFailed (tools.http)        HTTP 401/403: the token is unknown, expired, revoked or
    │                                  lacks a scope; not retried
    └── SystemFault
        ├── Transient (tools.retry)    HTTP 429 TEN_SECONDLY_ROLLING, 5xx, a dropped
        │   │                          connection: retried after the window or a backoff
        │   └── DailyLimitReached      HTTP 429 DAILY: the portal's quota for the day is
        │                              spent; asks for a wait beyond any retry cap, so the
        │                              retries stop at once and the job stops cleanly
        └── UnexpectedAnswer           an answer mops does not expect (say, a 400 for a
                                       whole batch); batch writers turn it into item errors

Messages name the method, the path, the status and HubSpot's own category and message;
never the token.
"""

from __future__ import annotations

from tools.errors import SystemFault
from tools.retry import Transient


class DailyLimitReached(Transient):
    """HubSpot's daily API limit for the portal is spent (429, policyName DAILY)."""


class UnexpectedAnswer(SystemFault):
    """HubSpot answered with a status the caller did not expect; `status` and `detail`."""

    def __init__(self, message: str, *, status: int, detail: str) -> None:
        super().__init__(message)
        self.status, self.detail = status, detail
